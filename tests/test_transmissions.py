"""A submitted document reaches the recipients its territory names (issue 13), through a real SMTP server.

ASLL §9.1: the Installation's bilan "est transmis au RAST du territoire concerné"; §9.2: the
Maintien's "est adressé [...] au Service Logement de la DPDS"; AML §7: "les évaluations/bilans
[...] devront être envoyés aux coordinateurs". The RAST and the DPDS have no account: each gets a
personal link (issue 14's sharing); a coordinator gets the usual notification. Each is logged and
shown on the document's page; another territory's recipients receive nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from flask import Flask
from sqlalchemy import select

from schemas import get_kind
from tests.test_mesures_web import AML, open_mesure, start, started_doc
from tests.test_notifications_mail import relay, smtp_server  # noqa: F401 (a fixture)
from tests.test_territoires import _update, lot_form
from tests.test_thread import _submit_installation_bilan
from tests.test_web import flatten
from tests.workers import run_jobs
from webforms import db
from webforms.commands.territories import SHIPPED
from webforms.models import Event, Partage, TerritoireZone
from webforms.territoires import services as svc

RAST = {"Faucigny": "rast.faucigny@hautesavoie.fr", "Genevois": "rast.genevois@hautesavoie.fr", "Chablais": "rast.chablais@hautesavoie.fr"}
DPDS = "logement.dpds@hautesavoie.fr"


def configure_addresses(app: Flask, *, rast: dict[str, str], dpds: str | None) -> None:
    """Load the shipped territories with the RAST's and the DPDS's addresses, as a deployment's file gives them."""
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    for t in data["territoires"]:
        cams = t.get("zones", {}).get("cams", [])
        t.get("zones", {})["cams"] = [{"nom": name, "adresse": rast[name]} if name in rast else name for name in cams]
    for d in data["departements"]:
        if d["nom"] == "Haute-Savoie":
            d["service_logement_adresse"] = dpds
    with app.app_context():
        svc.load(db.session(), data, now=dt.datetime(2019, 9, 1, tzinfo=dt.UTC))


def sent_to(inbox: Any) -> list[str]:
    return sorted(m["To"] for m in inbox.messages if " : document transmis par " in m["Subject"])


def logged(app: Flask, doc_id: int) -> list[tuple[str, str | None, str]]:
    with app.app_context():
        events = db.session().scalars(select(Event).where(Event.document_id == doc_id, Event.action == "transmission").order_by(Event.id))
        return [(e.detail["nom"], e.detail.get("adresse"), e.detail["issue"]) for e in events]


def test_an_installation_bilan_reaches_the_rast_of_its_commune_s_cams_and_no_other(app: Flask, login_as: Any, smtp_server: Any) -> None:  # noqa: F811
    """ASLL §9.1, §11: Cluses is a PMS of the Faucigny (lot 2): its RAST gets a link; Genevois and Chablais (lot 3) nothing."""
    inbox, port = smtp_server()
    relay(app, port)
    configure_addresses(app, rast=RAST, dpds=DPDS)
    web, _ = login_as("redacteur")
    mesure = open_mesure(web, menage_commune="Cluses", date_bon_commande="2019-06-28", date_premiere_rencontre="2019-07-01")
    doc_id = _submit_installation_bilan(app, web, mesure, {"proposition": "fin"})
    run_jobs(app)
    assert sent_to(inbox) == [RAST["Faucigny"]]
    assert logged(app, doc_id) == [("Faucigny – Cluses", RAST["Faucigny"], "lien")]
    with app.app_context():
        assert [(p.adresse, p.qualite) for p in db.session().scalars(select(Partage))] == [(RAST["Faucigny"], "rast")]
    page = web.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Transmis aux destinataires du territoire" in page
    assert f"RAST de la CAMS : Faucigny – Cluses ({RAST['Faucigny']}) – lien personnel envoyé par courriel" in page
    # The e-mail names the kind, the reference and the sender, never the CAMS nor the commune (CNIL).
    for mail in inbox.messages:
        text = f"{mail['Subject']}\n{mail.get_content()}"
        assert "Faucigny" not in text and "Cluses" not in text and "BI-2019-000001" in text, text


def test_an_installation_bilan_asking_for_a_maintien_reaches_the_service_logement_too(app: Flask, login_as: Any, smtp_server: Any) -> None:  # noqa: F811
    """ASLL §9.1: the bilan may solicit an ASLL Maintien, which the Service Logement of the DPDS instructs (§8): the
    request reaches it beside the RAST (the bilan ending the support, above, reaches the RAST only)."""
    inbox, port = smtp_server()
    relay(app, port)
    configure_addresses(app, rast=RAST, dpds=DPDS)
    web, _ = login_as("redacteur")
    mesure = open_mesure(web, menage_commune="Cluses", date_bon_commande="2019-06-28", date_premiere_rencontre="2019-07-01")
    doc_id = _submit_installation_bilan(app, web, mesure, {"proposition": "demande_maintien", "motifs": "Dette de loyer naissante."})
    run_jobs(app)
    assert sent_to(inbox) == sorted([RAST["Faucigny"], DPDS])
    assert logged(app, doc_id) == [("Faucigny – Cluses", RAST["Faucigny"], "lien"), ("Service Logement de la DPDS", DPDS, "lien")]


def test_a_cams_without_an_address_receives_nothing_and_the_page_says_so(app: Flask, login_as: Any, smtp_server: Any) -> None:  # noqa: F811
    """The other side of the edge: the RAST's address not configured, nothing leaves, the page tells why."""
    inbox, port = smtp_server()
    relay(app, port)
    configure_addresses(app, rast={"Genevois": RAST["Genevois"]}, dpds=None)
    web, _ = login_as("redacteur")
    mesure = open_mesure(web, menage_commune="Cluses", date_bon_commande="2019-06-28", date_premiere_rencontre="2019-07-01")
    doc_id = _submit_installation_bilan(app, web, mesure, {"proposition": "fin"})
    run_jobs(app)
    assert sent_to(inbox) == []
    assert logged(app, doc_id) == [("Faucigny – Cluses", None, "sans_adresse")]
    assert "aucune adresse n&#39;est renseignée pour ce destinataire" in web.get(f"/documents/{doc_id}").get_data(as_text=True)


def test_a_maintien_bilan_reaches_the_service_logement_of_the_dpds(app: Flask, login_as: Any, smtp_server: Any) -> None:  # noqa: F811
    """ASLL §9.2: the Maintien's bilan goes to the Service Logement of the DPDS, not to a RAST."""
    inbox, port = smtp_server()
    relay(app, port)
    configure_addresses(app, rast=RAST, dpds=DPDS)
    web, _ = login_as("redacteur")
    mesure = open_mesure(web, type_mesure="asll_maintien", menage_commune="Cluses", duree_mois="6", date_bon_commande="2019-06-01", date_premiere_rencontre="2019-06-05")
    doc = started_doc(app, start(web, mesure, "bilan_asll_maintien"))
    data = dict(doc.data)
    example = get_kind("bilan_asll_maintien").example
    data |= {k: v for k, v in example.items() if k not in ("mesure", "rencontres", "proposition")}
    data["objectifs"] = [{**row, "statut": "non_travaille"} for row in data["objectifs"]]
    data["proposition"] = {**data["proposition"], "proposition": "fin"}
    response = web.post(f"/documents/{doc.id}/modifier", {**flatten(data), "action": "submit"})
    assert response.status_code == 302, response.get_data(as_text=True)
    run_jobs(app)
    assert sent_to(inbox) == [DPDS]
    assert logged(app, doc.id) == [("Service Logement de la DPDS", DPDS, "lien")]


def test_an_aml_bilan_reaches_its_platform_s_coordinator_not_the_other_platform_s(app: Flask, login_as: Any, make_user: Any, smtp_server: Any) -> None:  # noqa: F811
    """AML §7: the platform's coordinator (an account) is told, by notification and e-mail; Artois's is not."""
    inbox, port = smtp_server()
    relay(app, port)
    web, _ = login_as("redacteur", territoires=("aml-lens-henin",))
    lens = make_user("coordinateur", territoires=("aml-lens-henin",))
    artois = make_user("coordinateur", territoires=("aml-artois",))
    mesure = open_mesure(web, **AML)
    doc = started_doc(app, start(web, mesure, "bilan_aml"))
    data = {**get_kind("bilan_aml").example, **{k: v for k, v in doc.data.items() if v}}
    response = web.post(f"/documents/{doc.id}/modifier", {**flatten(data), "action": "submit"})
    assert response.status_code == 302, response.get_data(as_text=True)
    run_jobs(app)
    recipients = {m["To"] for m in inbox.messages}
    assert lens.email in recipients and artois.email not in recipients
    with app.app_context():
        events = db.session().scalars(select(Event).where(Event.document_id == doc.id, Event.action == "transmission")).all()
        assert [(e.detail["compte"], e.detail["issue"]) for e in events] == [(lens.id, "deja_prevenu")]
    assert "Coordinateur Logement d&#39;abord : Plateforme Lens-Hénin (Coordinateur" in web.get(f"/documents/{doc.id}").get_data(as_text=True)


def test_a_cams_kept_by_the_administration_page_keeps_its_rast_s_address(app: Flask, make_user: Any) -> None:
    """The page edits names, not addresses: a CAMS kept keeps its address; one renamed has none until the file gives it."""
    configure_addresses(app, rast=RAST, dpds=DPDS)
    admin = make_user("admin")
    for cams, address in (("faucigny", RAST["Faucigny"]), ("Faucigny-Mont-Blanc", None)):
        assert _update(app, admin, lot_form(zones_cams=cams))[0] is None
        with app.app_context():
            zones = db.session().scalars(select(TerritoireZone).where(TerritoireZone.nature == "cams", TerritoireZone.nom == cams)).all()
            assert [z.adresse for z in zones] == [address], cams


def test_an_address_of_an_account_gets_no_link_and_without_a_relay_nothing_leaves(app: Flask, login_as: Any, make_user: Any) -> None:
    """The Service Logement's address is an instructeur's account: told by the application, no link; an
    address without an account and no relay configured: nothing leaves, and the page says so."""
    dpds = make_user("instructeur", territoires=("asll-lot-2",))
    configure_addresses(app, rast=RAST, dpds=dpds.email)
    web, _ = login_as("redacteur")
    mesure = open_mesure(web, type_mesure="asll_maintien", menage_commune="Cluses", duree_mois="6", date_bon_commande="2019-06-01", date_premiere_rencontre="2019-06-05")
    doc = started_doc(app, start(web, mesure, "bilan_asll_maintien"))
    data = dict(doc.data) | {k: v for k, v in get_kind("bilan_asll_maintien").example.items() if k not in ("mesure", "rencontres", "proposition")}
    data["objectifs"] = [{**row, "statut": "non_travaille"} for row in data["objectifs"]]
    data["proposition"] = {**data["proposition"], "proposition": "fin"}
    assert web.post(f"/documents/{doc.id}/modifier", {**flatten(data), "action": "submit"}).status_code == 302
    assert logged(app, doc.id) == [("Service Logement de la DPDS", dpds.email, "deja_prevenu")]  # its deposit notification
    installation = open_mesure(web, menage_commune="Cluses", date_bon_commande="2019-06-28", date_premiere_rencontre="2019-07-01")
    bilan = _submit_installation_bilan(app, web, installation, {"proposition": "fin"})  # no relay in this test
    assert logged(app, bilan) == [("Faucigny – Cluses", RAST["Faucigny"], "sans_relais")]
    with app.app_context():
        assert db.session().scalars(select(Partage)).all() == []
    assert "aucun relais de courriel n&#39;est configuré" in web.get(f"/documents/{bilan}").get_data(as_text=True)
