"""One thread per household (issue 13): a validated referral opens its AML measure (AML §4)."""

from __future__ import annotations

import datetime as dt
import html
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from schemas import bilan_annuel_operateur as annual
from schemas import get_kind
from tests.conftest import Account, WebClient
from tests.test_mesures_web import AML, INSTALLATION, meeting, open_mesure, start, started_doc
from tests.test_web import flatten, submitted
from webforms import db
from webforms.archive import audit
from webforms.archive.services import ArchiveError
from webforms.documents import services as svc_docs
from webforms.mesures import lots, rules, thread
from webforms.mesures.services import annual_figures
from webforms.models import ArchiveLog, DiplomeReferent, Document, Event, Message, Mesure, MesureOrigine, Territoire, User
from webforms.rendering import Renderer
from webforms.rendering.checks import example_context

PLATFORM = "Plateforme Logement d'abord Lens-Hénin"
LENS, ARTOIS = ("aml-lens-henin",), ("aml-artois",)  # the platform of the example referral (Liévin, CALL), and the other


def _decision(operator: Account | None, referent: Account | None, **changes: Any) -> dict[str, Any]:
    review = get_kind("fiche_saisine").review.example  # type: ignore[union-attr]
    decision = {k: v for k, v in review.items() if v and k not in ("operateur", "referent", "operateur_id", "referent_id")}
    if operator is not None:
        decision["operateur_id"] = operator.organisation_id
    if referent is not None:
        decision["referent_id"] = referent.id
    return decision | changes


def _referral(login_as: Any) -> tuple[int, WebClient, Account]:
    """A referral submitted by a partner, the platform's coordinator signed in, an operator's référent."""
    prescriber, _ = login_as("redacteur", org="CCAS de Liévin")
    doc_id = submitted(prescriber, "fiche_saisine")
    coordinator, _ = login_as("coordinateur", org=PLATFORM)
    referent = login_as("redacteur", org="Association Habitat Solidaire", territoires=LENS)[1]
    return doc_id, coordinator, referent


def _thread(app: Flask, doc_id: int) -> tuple[str, list[Mesure]]:
    with app.app_context():
        s = db.session()
        origins = s.scalars(select(MesureOrigine).where(MesureOrigine.saisine_id == doc_id)).all()
        mesures = [o.mesure for o in origins]
        for m in mesures:
            _ = (m.referent.full_name, m.organisation.name)
        return s.get(Document, doc_id).statut, mesures


def test_a_validated_aml_referral_creates_the_measure_of_the_operator_and_referent_chosen(app: Flask, login_as: Any) -> None:
    doc_id, coordinator, referent = _referral(login_as)
    page = coordinator.get(f"/documents/{doc_id}/decision").get_data(as_text=True)
    # The lists: the operators' writers, not the prescriber's CCAS coordinator nor the platform.
    assert f'<option value="{referent.id}">' in page and f'<option value="{referent.organisation_id}">Association Habitat Solidaire' in page
    assert "Coordinateur" not in page.split('id="referent_id"')[1].split("</select>")[0]

    response = coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, referent))
    assert response.status_code == 302, response.get_data(as_text=True)
    statut, mesures = _thread(app, doc_id)
    assert statut == "decide" and len(mesures) == 1
    mesure = mesures[0]
    assert (mesure.type_mesure, mesure.organisation_id, mesure.referent_id, mesure.duree_mois) == ("aml", referent.organisation_id, referent.id, 12)
    assert (mesure.menage_nom, mesure.menage_prenom, mesure.menage_commune) == ("Durand", "Julie", "Liévin")
    with app.app_context():
        review = db.session().get(Document, doc_id).review
    # The names are recorded beside the ids, as they were on the day of the decision.
    assert (review["operateur"], review["referent"]) == ("Association Habitat Solidaire", mesure.referent.full_name)

    # The référent finds it in their worklist and attaches the contract to it (AML §4).
    writer = WebClient(app.test_client())
    writer.login(referent)
    assert mesure.reference in writer.get("/mesures/").get_data(as_text=True)
    started = writer.post(f"/mesures/{mesure.id}/documents/contrat_tripartite", {})
    assert started.status_code == 302 and "/documents/" in started.location
    with app.app_context():
        contract = db.session().scalar(select(Document).where(Document.kind == "contrat_tripartite"))
        assert contract.mesure_id == mesure.id


def test_a_referent_of_another_operator_is_refused_and_nothing_changes(app: Flask, login_as: Any, make_user: Any) -> None:
    doc_id, coordinator, referent = _referral(login_as)
    other = make_user("redacteur", org="Association Autre", territoires=LENS)
    response = coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, other))
    assert response.status_code == 422
    assert "n&#39;est pas un référent de Association Habitat Solidaire" in response.get_data(as_text=True)
    assert _thread(app, doc_id) == ("soumis", [])
    # The same account with its own operator: accepted.
    assert coordinator.post(f"/documents/{doc_id}/decision", _decision(other, other)).status_code == 302
    assert [m.organisation.name for m in _thread(app, doc_id)[1]] == ["Association Autre"]


def test_only_the_operators_of_the_referral_s_platform_are_offered_and_accepted(app: Flask, login_as: Any, make_user: Any) -> None:
    """AML §1: a Lens-Hénin referral names a Lens-Hénin operator; Artois's, and a prescriber, are neither listed nor accepted."""
    doc_id, coordinator, referent = _referral(login_as)
    artois = make_user("redacteur", org="Association d'Artois", territoires=ARTOIS)
    prescriber = make_user("redacteur", org="CCAS de Liévin")  # a partner sending referrals, attached to no platform
    page = coordinator.get(f"/documents/{doc_id}/decision").get_data(as_text=True)
    lists = page.split('id="operateur_id"')[1]
    assert f'<option value="{referent.id}">' in lists and f'<option value="{referent.organisation_id}">' in lists
    for outside in (artois, prescriber):
        assert f'<option value="{outside.id}">' not in lists and f'<option value="{outside.organisation_id}">' not in lists

    for outside in (artois, prescriber):
        response = coordinator.post(f"/documents/{doc_id}/decision", _decision(outside, outside))
        assert response.status_code == 422
        assert f"{outside.organisation} ne travaille pas sur la plateforme de cette orientation" in response.get_data(as_text=True).replace("&#39;", "'")
        assert _thread(app, doc_id) == ("soumis", [])
    # The Artois operator's own référent with a Lens-Hénin operator: refused as before.
    assert coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, artois)).status_code == 422
    assert coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, referent)).status_code == 302
    assert [m.organisation_id for m in _thread(app, doc_id)[1]] == [referent.organisation_id]


def test_only_an_active_writer_can_be_named(app: Flask, login_as: Any, make_user: Any) -> None:
    doc_id, coordinator, referent = _referral(login_as)
    archivist = make_user("archiviste", org="Association Habitat Solidaire")
    assert coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, archivist)).status_code == 422
    with app.app_context():
        db.session().get(User, referent.id).active = False
        db.session().commit()
    assert coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, referent)).status_code == 422
    assert _thread(app, doc_id) == ("soumis", [])


def test_only_a_validated_aml_orientation_opens_a_measure(app: Flask, login_as: Any) -> None:
    doc_id, coordinator, referent = _referral(login_as)
    response = coordinator.post(f"/documents/{doc_id}/decision", _decision(None, None))
    assert response.status_code == 422 and "Choisissez l&#39;opérateur désigné" in response.get_data(as_text=True)
    # ASRL, or an orientation not validated: a decision, no measure of the service.
    assert coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, referent, mesure="asrl")).status_code == 302
    assert _thread(app, doc_id) == ("decide", [])
    refused = _decision(None, None, orientation_validee="non_validee", motif="Hors public prioritaire.")
    assert coordinator.post(f"/documents/{doc_id}/decision", refused).status_code == 302
    assert _thread(app, doc_id) == ("decide", [])


def test_a_new_decision_may_change_the_referent_not_the_operator_once_the_measure_is_open(app: Flask, login_as: Any, make_user: Any) -> None:
    doc_id, coordinator, referent = _referral(login_as)
    assert coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, referent)).status_code == 302
    colleague = make_user("redacteur", org="Association Habitat Solidaire")
    assert coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, colleague)).status_code == 302
    mesures = _thread(app, doc_id)[1]
    assert [m.referent_id for m in mesures] == [colleague.id]  # the same measure, its référent changed

    other = make_user("redacteur", org="Association Autre", territoires=LENS)
    response = coordinator.post(f"/documents/{doc_id}/decision", _decision(other, other))
    assert response.status_code == 422 and "a déjà été ouverte" in response.get_data(as_text=True)
    withdrawn = _decision(None, None, orientation_validee="non_validee", motif="Erreur.")
    assert coordinator.post(f"/documents/{doc_id}/decision", withdrawn).status_code == 422
    assert [(m.organisation_id, m.referent_id) for m in _thread(app, doc_id)[1]] == [(referent.organisation_id, colleague.id)]


def test_a_decision_typed_before_the_lists_stays_readable(app: Flask, login_as: Any) -> None:
    doc_id, coordinator, _ = _referral(login_as)
    legacy = {
        "orientation_validee": "validee", "mesure": "aml", "operateur": "Association d'avant", "referent": "Mme Ancienne",
        "date_decision": "2019-10-28", "motif": None,
    }
    with app.app_context():
        doc = db.session().get(Document, doc_id)
        doc.review, doc.statut = legacy, "decide"
        db.session().commit()
        ctx = svc_docs.context_for(doc)
        assert (ctx["revue"]["operateur"], ctx["revue"]["referent"]) == ("Association d'avant", "Mme Ancienne")
        assert db.session().scalar(select(func.count()).select_from(Mesure)) == 0
    page = coordinator.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Association d&#39;avant" in page and "Mme Ancienne" in page


def test_a_measure_that_never_started_is_not_counted_terminee(app: Flask, login_as: Any) -> None:
    """ASLL §10 / §8: support starts on the first meeting; an order never met is not a measure ended."""
    web, _ = login_as("redacteur")
    # Both ordered in February 2019, so both would end in May 2019 from the order (§2.1 reading).
    open_mesure(web, date_bon_commande="2019-02-01", date_premiere_rencontre="2019-02-05")
    open_mesure(web, date_bon_commande="2019-02-01")  # never met: no first meeting
    with app.app_context():
        account = db.session().scalar(select(User).where(User.role == "redacteur"))
        figures = annual_figures(db.session(), account.organisation_id, 2019, dt.date(2019, 10, 14))
    assert figures["par_type"] == [{"type_mesure": "asll_installation", "suivies": 2, "commencees": 1, "terminees": 1, "renouvelees": 0}]


def _submit_installation_bilan(app: Flask, web: WebClient, mesure_id: int, proposition: dict[str, Any]) -> int:
    """Fill the Installation bilan started from the measure (prefilled), with ``proposition``, and submit it."""
    doc = started_doc(app, start(web, mesure_id, "bilan_asll_installation"))
    data = dict(doc.data)
    data["objectifs"] = [{**row, "statut": "non_travaille"} for row in data["objectifs"]]
    data |= {"avis_menage": "Souhaite être aidé pour la dette.", "evaluation": "Dette locative naissante.", "proposition": proposition}
    response = web.post(f"/documents/{doc.id}/modifier", {**flatten(data), "action": "submit"})
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        assert db.session().get(Document, doc.id).statut == "soumis"
    return doc.id


def test_an_installation_bilan_asking_for_a_maintien_opens_the_request(app: Flask, login_as: Any) -> None:
    """ASLL §2.1, §9.1: the Maintien is asked by the bilan; it waits for the DPDS's order (§8, §6.3)."""
    web, _ = login_as("redacteur")
    installation = open_mesure(web, date_bon_commande="2019-06-28", date_premiere_rencontre="2019-07-01")
    bilan_id = _submit_installation_bilan(app, web, installation, {"proposition": "demande_maintien", "motifs": "Dette de loyer naissante."})
    with app.app_context():
        s = db.session()
        origin = s.scalar(select(MesureOrigine).where(MesureOrigine.bilan_id == bilan_id))
        maintien, previous = origin.mesure, origin.precedente
        assert (maintien.type_mesure, maintien.duree_mois, maintien.date_bon_commande) == ("asll_maintien", 6, None)
        assert previous.id == installation
        assert [(m.menage_nom, m.menage_prenom, m.menage_commune, m.travailleur_social, m.organisation_id, m.referent_id) for m in (maintien,)] == [
            (previous.menage_nom, previous.menage_prenom, previous.menage_commune, previous.travailleur_social, previous.organisation_id, previous.referent_id)
        ]
        maintien_id, reference = maintien.id, maintien.reference
    page = web.get(f"/mesures/{maintien_id}").get_data(as_text=True)
    assert "Demandée, en attente du bon de commande" in page and "Service Logement de la DPDS" in page
    assert f'href="/mesures/{installation}"' in page
    assert reference in web.get(f"/mesures/{installation}").get_data(as_text=True)

    # The order: not before the bilan that asked for it, not in the future; then the 15 days run (§6.3).
    assert web.post(f"/mesures/{maintien_id}/bon-de-commande", {"date_bon_commande": "2019-10-13"}).status_code == 422
    assert web.post(f"/mesures/{maintien_id}/bon-de-commande", {"date_bon_commande": "2019-10-15"}).status_code == 422
    assert web.post(f"/mesures/{maintien_id}/bon-de-commande", {"date_bon_commande": "2019-10-14"}).status_code == 302
    page = web.get(f"/mesures/{maintien_id}").get_data(as_text=True)
    assert "29 octobre 2019" in page and "en attente du bon de commande" not in page
    assert web.post(f"/mesures/{maintien_id}/bon-de-commande", {"date_bon_commande": "2019-10-14"}).status_code == 422  # once only


def test_asll_4_the_order_of_a_maintien_waits_for_its_referent_s_diploma(app: Flask, login_as: Any) -> None:
    """ASLL §4: the Maintien request copies the Installation's referent; its order (which gives the
    measure) is refused while that referent's Diplôme d'État is not recorded, and nothing changes."""
    web, account = login_as("redacteur")
    installation = open_mesure(web, date_bon_commande="2019-06-28", date_premiere_rencontre="2019-07-01")
    with app.app_context():  # the diploma withdrawn after the Installation was given (recorded in error)
        db.session().delete(db.session().get_one(DiplomeReferent, account.id))
        db.session().commit()
    bilan_id = _submit_installation_bilan(app, web, installation, {"proposition": "demande_maintien", "motifs": "Dette de loyer naissante."})
    with app.app_context():
        maintien_id = db.session().scalar(select(MesureOrigine).where(MesureOrigine.bilan_id == bilan_id)).mesure_id
    refused = web.post(f"/mesures/{maintien_id}/bon-de-commande", {"date_bon_commande": "2019-10-14"})
    assert refused.status_code == 422 and "ASLL §4" in refused.get_data(as_text=True)
    with app.app_context():
        assert db.session().get_one(Mesure, maintien_id).date_bon_commande is None
        assert db.session().scalar(select(func.count()).select_from(Event).where(Event.action == "record_order")) == 0
    assert web.post("/mesures/referents", {"referent_id": str(account.id), "diplome": "es"}).status_code == 302
    assert web.post(f"/mesures/{maintien_id}/bon-de-commande", {"date_bon_commande": "2019-10-14"}).status_code == 302
    with app.app_context():
        assert db.session().get_one(Mesure, maintien_id).date_bon_commande == dt.date(2019, 10, 14)


def _correct(app: Flask, web: WebClient, dpds: WebClient, bilan_id: int, proposition: dict[str, Any]) -> None:
    """The DPDS asks for a correction (the bilan reopened), the writer transmits it again with ``proposition``."""
    asked = dpds.post(f"/documents/{bilan_id}/messages", {"texte": "Précisez la proposition.", "nature": "demande_correction"})
    assert asked.status_code == 302, asked.get_data(as_text=True)
    with app.app_context():
        doc = db.session().get_one(Document, bilan_id)
        assert doc.statut == "brouillon"
        data = dict(doc.data)
    data["proposition"] = proposition
    response = web.post(f"/documents/{bilan_id}/modifier", {**flatten(data), "action": "submit"})
    assert response.status_code == 302, response.get_data(as_text=True)


def _requests(app: Flask, bilan_id: int) -> list[tuple[str | None, str | None]]:
    """The Maintien requests a bilan opened: (closure date, reason) of each."""
    with app.app_context():
        origins = db.session().scalars(select(MesureOrigine).where(MesureOrigine.bilan_id == bilan_id)).all()
        return [(str(o.mesure.date_fin_effective) if o.mesure.date_fin_effective else None, o.mesure.commentaire_fin) for o in origins]


def test_a_corrected_installation_bilan_opens_one_maintien_and_a_withdrawal_closes_it(app: Flask, login_as: Any) -> None:
    """ASLL §2.1, §9.1: one request per bilan however often corrected; withdrawn by the correction while
    it waits for its order, it is closed with its reason logged; asked again, reopened (docs/decisions.md)."""
    web, _ = login_as("redacteur")
    dpds, _ = login_as("instructeur")
    installation = open_mesure(web, date_bon_commande="2019-06-28", date_premiere_rencontre="2019-07-01")
    asking = {"proposition": "demande_maintien", "motifs": "Dette de loyer naissante."}
    bilan_id = _submit_installation_bilan(app, web, installation, asking)
    _correct(app, web, dpds, bilan_id, {**asking, "motifs": "Dette de loyer naissante, plan à tenir."})
    assert _requests(app, bilan_id) == [(None, None)]  # still one, still open

    _correct(app, web, dpds, bilan_id, {"proposition": "fin"})
    assert _requests(app, bilan_id) == [("2019-10-14", thread.WITHDRAWN)]
    with app.app_context():
        s = db.session()
        (event,) = s.scalars(select(Event).where(Event.action == "withdraw_maintien")).all()
        maintien = s.scalar(select(MesureOrigine).where(MesureOrigine.bilan_id == bilan_id)).mesure_id
        assert event.detail == {"mesure": maintien, "bilan": bilan_id, "motif": thread.WITHDRAWN}
    assert web.post(f"/mesures/{maintien}/bon-de-commande", {"date_bon_commande": "2019-10-14"}).status_code == 422  # closed

    _correct(app, web, dpds, bilan_id, asking)  # asked again: the same request, open again
    assert _requests(app, bilan_id) == [(None, None)]
    assert web.post(f"/mesures/{maintien}/bon-de-commande", {"date_bon_commande": "2019-10-14"}).status_code == 302
    # Once ordered, the DPDS's order stands: a correction dropping the request changes nothing.
    _correct(app, web, dpds, bilan_id, {"proposition": "fin"})
    assert _requests(app, bilan_id) == [(None, None)]


def test_a_withdrawn_then_reopened_maintien_request_shows_both_steps_on_the_household_timeline(app: Flask, login_as: Any) -> None:
    """Issue 13 (ASLL §9.1): the request a corrected Installation bilan withdraws, then asks again, is the
    same measure; the household's file tells both steps, in order, after the request's opening."""
    web, _ = login_as("redacteur")
    dpds, _ = login_as("instructeur")
    installation = open_mesure(web, date_bon_commande="2019-06-28", date_premiere_rencontre="2019-07-01")
    asking = {"proposition": "demande_maintien", "motifs": "Dette de loyer naissante."}
    bilan_id = _submit_installation_bilan(app, web, installation, asking)
    steps = web.get(f"/menages/{installation}").get_data(as_text=True).split("Chronologie")[1]
    assert "Mesure ASLL Maintien ouverte" in steps and "Demande de Maintien retirée" not in steps and "Demande de Maintien demandée de nouveau" not in steps
    _correct(app, web, dpds, bilan_id, {"proposition": "fin"})
    steps = web.get(f"/menages/{installation}").get_data(as_text=True).split("Chronologie")[1]
    assert "Demande de Maintien retirée par le bilan d&#39;Installation corrigé (ASLL §9.1)" in steps and "demandée de nouveau" not in steps
    _correct(app, web, dpds, bilan_id, asking)
    steps = web.get(f"/menages/{installation}").get_data(as_text=True).split("Chronologie")[1]
    order = [steps.find(s) for s in ("Mesure ASLL Maintien ouverte", "Demande de Maintien retirée", "Demande de Maintien demandée de nouveau")]
    assert -1 not in order and order == sorted(order), order
    assert steps.count("Demande de Maintien") == 2  # each step once, the first opening being the measure's own line


def test_the_maintien_inherits_the_installation_s_territory_not_its_commune_s(app: Flask, login_as: Any) -> None:
    """ASLL §11: the same household stays in the same lot; the Maintien takes the Installation's lot,
    even where the commune alone would tell another (here the Installation was placed in lot 2, its
    commune, Annemasse, is lot 3's)."""
    web, _ = login_as("redacteur")
    installation = open_mesure(web, date_bon_commande="2019-06-28", date_premiere_rencontre="2019-07-01")
    with app.app_context():
        s = db.session()
        lots_by_code = {t.code: t.id for t in s.scalars(select(Territoire))}
        assert s.get(Mesure, installation).territoire_id == lots_by_code["asll-lot-3"]
        s.get(Mesure, installation).territoire_id = lots_by_code["asll-lot-2"]
        s.commit()
    bilan_id = _submit_installation_bilan(app, web, installation, {"proposition": "demande_maintien", "motifs": "Dette de loyer naissante."})
    with app.app_context():
        maintien = db.session().scalar(select(MesureOrigine).where(MesureOrigine.bilan_id == bilan_id)).mesure
        assert maintien.territoire_id == lots_by_code["asll-lot-2"]
        maintien_id = maintien.id
    faucigny, _ = login_as("instructeur", territoires=("asll-lot-2",))
    genevois, _ = login_as("instructeur", territoires=("asll-lot-3",))
    assert faucigny.get(f"/mesures/{maintien_id}").status_code == 200
    assert genevois.get(f"/mesures/{maintien_id}").status_code == 404


def test_an_installation_bilan_ending_the_support_opens_nothing(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    installation = open_mesure(web, date_bon_commande="2019-06-28", date_premiere_rencontre="2019-07-01")
    _submit_installation_bilan(app, web, installation, {"proposition": "fin"})
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Mesure)) == 1
        assert db.session().scalar(select(func.count()).select_from(MesureOrigine)) == 0


def doc_reference(app: Flask, doc_id: int) -> str | None:
    with app.app_context():
        return db.session().get_one(Document, doc_id).reference


def decisions_told(app: Flask, writer: Any) -> list[str]:
    """What the operator's writers were told of the DPDS's decisions on renewals: the notifications
    their centre lists, as a user reads them (the page only), oldest first, without the reference."""
    page = writer.get("/notifications").get_data(as_text=True)
    links = re.findall(r'<td><a href="[^"]*">([^<]*)</a></td>', page)
    told = [html.unescape(m).split(" : ", 1)[-1] for m in links]
    return [m for m in reversed(told) if "par le Service Logement de la DPDS" in m]


def test_a_renewal_asked_by_a_maintien_bilan_is_prefilled_and_starts_on_the_dpds_decision(app: Flask, login_as: Any) -> None:
    """ASLL §8: "quand il s'agit d'un renouvellement, l'intervention commence le jour de la décision de la DPDS";
    the operator asks in the bilan (§9: "Si un renouvellement est demandé, il doit être motivé"), the
    Service Logement of the DPDS decides (§8: it instructs the Maintien; §9.2: "sur la base de ce bilan")."""
    web, _ = login_as("redacteur")
    mesure_id = open_mesure(web, type_mesure="asll_maintien", duree_mois="3", date_bon_commande="2019-06-01", date_premiere_rencontre="2019-06-05")
    doc = started_doc(app, start(web, mesure_id, "bilan_asll_maintien"))
    page = web.get(f"/mesures/{mesure_id}").get_data(as_text=True)
    assert "demande un renouvellement" not in page  # a draft asks nothing yet
    data = dict(doc.data)
    example = get_kind("bilan_asll_maintien").example
    data |= {k: v for k, v in example.items() if k not in ("mesure", "rencontres", "proposition")}
    data["objectifs"] = [{**row, "statut": "non_travaille"} for row in data["objectifs"]]
    data["proposition"] = {**data["proposition"], "proposition": "renouvellement", "motifs": "Plan d'apurement à tenir.", "duree_demandee_mois": 3}
    decision = {"date_decision": "2019-10-14", "duree_mois": "3", "motif": "Plan d'apurement à tenir."}  # the day the bilan is transmitted (the clock's)
    dpds, dpds_account = login_as("instructeur")  # the Service Logement of the DPDS, which instructs the Maintien (§8)
    # No request yet: the DPDS has nothing to decide (§9.2: "sur la base de ce bilan").
    refused = dpds.post(f"/mesures/{mesure_id}/renouvellements", decision)
    assert refused.status_code == 422 and "Aucun renouvellement n&#39;est demandé" in refused.get_data(as_text=True)
    response = web.post(f"/documents/{doc.id}/modifier", {**flatten(data), "action": "submit"})
    assert response.status_code == 302, response.get_data(as_text=True)
    page = web.get(f"/mesures/{mesure_id}").get_data(as_text=True)
    assert "demande un renouvellement de 3 mois" in page
    assert "en attente de la décision du Service Logement de la DPDS" in page and "Accorder le renouvellement" not in page
    # The operator asks; it does not decide (403); another lot's instructeur does not see the measure (404).
    assert web.post(f"/mesures/{mesure_id}/renouvellements", decision).status_code == 403
    other, _ = login_as("instructeur", territoires=("asll-lot-2",))
    assert other.post(f"/mesures/{mesure_id}/renouvellements", decision).status_code == 404
    with app.app_context():
        assert db.session().get(Mesure, mesure_id).renouvellements == []
    deciding = dpds.get(f"/mesures/{mesure_id}").get_data(as_text=True)
    assert "Accorder le renouvellement" in deciding and "Plan d&#39;apurement à tenir." in deciding  # prefilled from the request
    # §9.2, "sur la base de ce bilan": not the day before it was transmitted; nor a day to come.
    for day, said in (("2019-10-13", "La décision ne peut précéder la demande"), ("2019-10-15", "Une décision à venir ne s&#39;enregistre pas encore")):
        refused = dpds.post(f"/mesures/{mesure_id}/renouvellements", {**decision, "date_decision": day})
        assert refused.status_code == 422 and said in refused.get_data(as_text=True), day
    with app.app_context():
        assert db.session().get(Mesure, mesure_id).renouvellements == []
    assert decisions_told(app, web) == []
    assert dpds.post(f"/mesures/{mesure_id}/renouvellements", decision).status_code == 302
    assert decisions_told(app, web) == ["renouvellement accordé par le Service Logement de la DPDS (CCTP ASLL §9.2)"]  # the operator is told
    with app.app_context():
        s = db.session()
        (event,) = s.scalars(select(Event).where(Event.action == "add_renouvellement")).all()
        assert event.user_id == dpds_account.id and event.detail == {"mesure": mesure_id, "demande": doc_reference(app, doc.id)}
    assert dpds.post(f"/mesures/{mesure_id}/renouvellements", decision).status_code == 422  # the request is answered
    page = web.get(f"/mesures/{mesure_id}").get_data(as_text=True)
    assert "demande un renouvellement" not in page
    assert "<td>Renouvellement 1</td><td>14 octobre 2019</td><td>14 janvier 2020</td>" in page  # the renewal runs from the DPDS decision (14 October) for 3 months


def test_the_household_file_shows_the_thread_to_those_allowed_and_logs_each_opening(app: Flask, login_as: Any, make_user: Any) -> None:
    doc_id, coordinator, referent = _referral(login_as)
    assert coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, referent)).status_code == 302
    mesure = _thread(app, doc_id)[1][0]
    writer = WebClient(app.test_client())
    writer.login(referent)
    assert writer.post(f"/mesures/{mesure.id}/rencontres", meeting("2019-10-14", "visite_domicile")).status_code == 302
    contract = started_doc(app, writer.post(f"/mesures/{mesure.id}/documents/contrat_tripartite", {}))

    page = writer.get(f"/menages/{mesure.id}").get_data(as_text=True)
    assert "Parcours du ménage Durand Julie" in page
    steps = page.split("Chronologie")[1]
    # Oldest first: the referral, the decision, the measure, the meeting, the contract's draft.
    order = [steps.index(s) for s in ("Fiche saisine FS-2019-000001 déposée", "Décision du coordinateur", "Mesure AML Logement d&#39;abord ouverte", "Rencontre", "Contrat tripartite")]
    assert order == sorted(order)
    assert f'href="/documents/{contract.id}"' in steps
    assert f'href="/documents/{doc_id}"' not in steps  # the referral is the prescriber's and the platform's to read
    with app.app_context():
        rows = db.session().scalars(select(ArchiveLog).where(ArchiveLog.action == "household_view")).all()
        assert [(r.user_id, r.detail) for r in rows] == [(referent.id, {"mesure": mesure.id})]

    # The coordinator of the platform reads the AML thread; the contract draft is not theirs to see.
    page = coordinator.get(f"/menages/{mesure.id}").get_data(as_text=True)
    assert "Décision du coordinateur" in page and "Contrat tripartite" not in page and f'href="/documents/{doc_id}"' in page
    # Another operator's writer, the archivist: not found, and nothing logged.
    for role, org in (("redacteur", "Association Autre"), ("archiviste", "Archives")):
        other = WebClient(app.test_client())
        other.login(make_user(role, org))
        assert other.get(f"/menages/{mesure.id}").status_code == 404
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(ArchiveLog).where(ArchiveLog.action == "household_view")) == 2


def test_a_household_file_whose_opening_cannot_be_logged_is_not_shown(app: Flask, login_as: Any, monkeypatch: Any) -> None:
    """Like an archived record's view: no audit line, no file (503, the timeline not in the body)."""
    doc_id, coordinator, referent = _referral(login_as)
    assert coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, referent)).status_code == 302
    mesure = _thread(app, doc_id)[1][0]
    real_commit = audit.commit

    def refused(*args: Any, **kwargs: Any) -> None:
        raise ArchiveError("Journal d'audit indisponible.")

    monkeypatch.setattr(audit, "commit", refused)
    response = coordinator.get(f"/menages/{mesure.id}")
    body = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "Chronologie" not in body and "Durand" not in body and "Décision du coordinateur" not in body
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(ArchiveLog).where(ArchiveLog.action == "household_view")) == 0
    # The audit trail back: the file is shown, its opening logged once.
    monkeypatch.setattr(audit, "commit", real_commit)
    response = coordinator.get(f"/menages/{mesure.id}")
    assert response.status_code == 200 and "Chronologie" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(ArchiveLog).where(ArchiveLog.action == "household_view")) == 1


def test_household_search_by_name_and_reference_within_what_the_user_reads(app: Flask, login_as: Any, make_user: Any) -> None:
    doc_id, coordinator, referent = _referral(login_as)
    assert coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, referent)).status_code == 302
    mesure = _thread(app, doc_id)[1][0]
    writer = WebClient(app.test_client())
    writer.login(referent)
    for text in ("durand", "DUR", mesure.reference):
        page = writer.get("/menages/", query_string={"q": text}).get_data(as_text=True)
        assert f'href="/menages/{mesure.id}"' in page, text
    # The referral found by the coordinator leads to the household's file.
    assert f'href="/menages/{mesure.id}"' in coordinator.get("/menages/", query_string={"q": "FS-2019"}).get_data(as_text=True)
    # Wildcards are taken literally; one character is too little; another operator finds nothing.
    assert "0 résultat" in writer.get("/menages/", query_string={"q": "%"}).get_data(as_text=True)
    assert "0 résultat" in writer.get("/menages/", query_string={"q": "%%"}).get_data(as_text=True)
    other = WebClient(app.test_client())
    other.login(make_user("redacteur", "Association Autre"))
    assert "0 résultat" in other.get("/menages/", query_string={"q": "Durand"}).get_data(as_text=True)
    archivist = WebClient(app.test_client())
    archivist.login(make_user("archiviste", "Archives"))
    assert archivist.get("/menages/", query_string={"q": "Durand"}).status_code == 403


def test_household_search_finds_only_the_households_of_the_coordinator_s_platform(app: Flask, login_as: Any) -> None:
    """Issue 13: searched by name, the Lens-Hénin household is found by the Lens-Hénin coordinator, not by Artois's."""
    doc_id, coordinator, referent = _referral(login_as)
    assert coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, referent)).status_code == 302
    mesure = _thread(app, doc_id)[1][0]
    lens, _ = login_as("coordinateur", org=PLATFORM, territoires=LENS)
    artois, _ = login_as("coordinateur", org="Plateforme Logement d'abord Artois", territoires=ARTOIS)
    for text in ("Durand", "FS-2019"):
        assert f'href="/menages/{mesure.id}"' in lens.get("/menages/", query_string={"q": text}).get_data(as_text=True), text
        found = artois.get("/menages/", query_string={"q": text}).get_data(as_text=True)
        assert "0 résultat" in found and f'href="/menages/{mesure.id}"' not in found and "Durand" not in found.split("</form>")[-1], text


# --- ASLL §9: a measure ended for another measure ------------------------------------------------

def _last_bilan(relay: dt.date | None, ended: dt.date = dt.date(2019, 10, 10)) -> tuple[dt.date, str]:
    cal = rules.compute("asll_maintien", order_date=dt.date(2019, 6, 1), first_meeting=dt.date(2019, 6, 5), months=6, ended=ended, relay_start=relay)
    (due,) = [d for d in cal.dues if d.slot]
    return due.due, due.source


def test_asll_9_the_bilan_is_due_before_the_measure_taking_over_starts() -> None:
    """ASLL §9: "il convient d'anticiper la production du bilan afin de ne pas créer de rupture"."""
    assert _last_bilan(None) == (dt.date(2019, 10, 25), "ASLL §9.2")  # 15 days after the end
    assert _last_bilan(dt.date(2019, 10, 20)) == (dt.date(2019, 10, 19), "ASLL §9")  # the day before the MASP starts
    # The edge: a relay starting the 26th leaves the 15 days (25th); the 25th, one day less.
    assert _last_bilan(dt.date(2019, 10, 26)) == (dt.date(2019, 10, 25), "ASLL §9.2")
    assert _last_bilan(dt.date(2019, 10, 25)) == (dt.date(2019, 10, 24), "ASLL §9")
    # Never before the end itself: a measure taking over on the very day of the end.
    assert _last_bilan(dt.date(2019, 10, 10)) == (dt.date(2019, 10, 10), "ASLL §9")


def test_closing_for_another_measure_asks_when_it_starts(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    mesure_id = open_mesure(web, type_mesure="asll_maintien", duree_mois="6", date_bon_commande="2019-06-01", date_premiere_rencontre="2019-06-05")
    closing = {"date_fin": "2019-10-10", "motif": "autre_mesure", "commentaire": "MASP accordée"}
    response = web.post(f"/mesures/{mesure_id}/cloture", closing)
    assert response.status_code == 422 and "Indiquez le début de la nouvelle mesure" in response.get_data(as_text=True)
    refused = web.post(f"/mesures/{mesure_id}/cloture", {**closing, "motif": "demenagement", "date_debut_relais": "2019-10-20"})
    assert refused.status_code == 422
    with app.app_context():
        assert db.session().get(Mesure, mesure_id).date_fin_effective is None
    assert web.post(f"/mesures/{mesure_id}/cloture", {**closing, "date_debut_relais": "2019-10-20"}).status_code == 302
    page = web.get(f"/mesures/{mesure_id}").get_data(as_text=True)
    assert "19 octobre 2019 (ASLL §9)" in page


# --- ASLL §7.1, §7.3, §8: the liaisons recorded on the ASLL bilans -----------------------------------

def _liaison_errors(kind_name: str, **liaisons: Any) -> dict[str, Any]:
    kind = get_kind(kind_name)
    data = {**kind.example, "liaisons": {**kind.example["liaisons"], **liaisons}}
    return kind.validate(data).get("liaisons", {})


def test_asll_7_3_the_bailleur_is_informed_only_with_the_tenants_agreement() -> None:
    for kind_name in ("bilan_asll_installation", "bilan_asll_maintien"):
        assert _liaison_errors(kind_name, accord_locataire_bailleur=True, bailleur_informe=True) == {}
        assert "ASLL §7.3" in _liaison_errors(kind_name, accord_locataire_bailleur=False, bailleur_informe=True)["bailleur_informe"][0]
        assert _liaison_errors(kind_name, accord_locataire_bailleur=False, bailleur_informe=False) == {}


@pytest.mark.parametrize("kind_name", ["bilan_asll_installation", "bilan_asll_maintien"])
def test_asll_7_1_and_8_the_liaison_with_the_social_worker_is_recorded_and_reminded(kind_name: str) -> None:
    """ASLL §7.1: at the intermediate and final bilans, of the Installation and of the Maintien alike."""
    kind = get_kind(kind_name)
    assert "ASLL §7.1" in _liaison_errors(kind.name, date_liaison=None, avec_locataire=True)["date_liaison"][0]
    assert _liaison_errors(kind.name, date_liaison=None, avec_locataire=False) == {}
    assert kind.alerts_for(kind.example) == []
    undated = {**kind.example, "liaisons": {**kind.example["liaisons"], "date_liaison": None, "avec_locataire": False}}
    assert any("ASLL §7.1" in a for a in kind.alerts_for(undated))
    # A bilan frozen before these fields still loads (they are optional), and is reminded.
    before = {k: v for k, v in kind.example.items() if k != "liaisons"}
    assert kind.load(before)["liaisons"]["bailleur_informe"] is False
    assert any("ASLL §7.1" in a for a in kind.alerts_for(before))


ATTENDED = "Le travailleur social à l&#39;origine de la demande a assisté à la première rencontre</th><td>"


def test_asll_8_whether_the_social_worker_attended_the_first_meeting_is_recorded_and_printed() -> None:
    """ASLL §8: the operator "associe si possible à ce rendez-vous le travailleur social à l'origine de
    la demande": each ASLL bilan records whether they came, keeps the answer as given (yes stays yes,
    no stays no) and prints it; the answer is the tenant's worker's presence, never inferred."""
    renderer = Renderer()
    for kind_name in ("bilan_asll_installation", "bilan_asll_maintien"):
        kind = get_kind(kind_name)
        for attended, printed in ((True, "Oui"), (False, "Non")):
            data = {**kind.example, "liaisons": {**kind.example["liaisons"], "ts_premiere_rencontre": attended}}
            assert kind.validate(data) == {}
            loaded = kind.load(data)
            assert loaded["liaisons"]["ts_premiere_rencontre"] is attended
            page = renderer.html(kind.output("pdf"), {**example_context(kind), "liaisons": loaded["liaisons"]})
            assert ATTENDED + printed + "</td>" in page, (kind_name, attended)
        # Not answered (a bilan frozen before the field): printed as not attended, never as attended.
        unanswered = {k: v for k, v in kind.example["liaisons"].items() if k != "ts_premiere_rencontre"}
        loaded = kind.load({**kind.example, "liaisons": unanswered})
        assert not loaded["liaisons"].get("ts_premiere_rencontre")
        page = renderer.html(kind.output("pdf"), {**example_context(kind), "liaisons": loaded["liaisons"]})
        assert ATTENDED + "Oui</td>" not in page


# --- ASLL §4: an ASLL referent holds a Diplôme d'État in social work ---------------------------------

def test_asll_4_an_asll_measure_is_not_given_to_a_referent_without_a_diploma(app: Flask, make_user: Any) -> None:
    account = make_user("redacteur", diplome=None)
    web = WebClient(app.test_client())
    web.login(account)
    response = web.post("/mesures/nouvelle", {**INSTALLATION})
    assert response.status_code == 422 and "ASLL §4" in response.get_data(as_text=True)
    assert open_mesure(web, **AML)  # an AML measure: the rule is the ASLL's
    with app.app_context():
        assert [m.type_mesure for m in db.session().scalars(select(Mesure))] == ["aml"]

    page = web.get("/mesures/referents").get_data(as_text=True)
    assert "Non enregistré" in page
    assert web.post("/mesures/referents", {"referent_id": str(account.id), "diplome": "docteur"}).status_code == 422
    assert web.post("/mesures/referents", {"referent_id": str(account.id), "diplome": "ass"}).status_code == 302
    assert "assistant de service social (ASS)" in web.get("/mesures/referents").get_data(as_text=True)
    assert open_mesure(web)  # now an ASLL Installation


def test_a_diploma_is_recorded_only_for_the_organisations_writers(app: Flask, login_as: Any, make_user: Any) -> None:
    web, _ = login_as("redacteur")
    outsider = make_user("redacteur", org="Association Autre", diplome=None)
    colleague_archivist = make_user("archiviste", org="Association Habitat Solidaire")
    for person in (outsider, colleague_archivist):
        response = web.post("/mesures/referents", {"referent_id": str(person.id), "diplome": "es"})
        assert response.status_code == 422 and "votre organisation" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session().get(DiplomeReferent, outsider.id) is None


# --- ASLL §11: the year's counts per lot and type, against the lot's bounds -------------------------

def _ordered(kind: str, day: str, commune: str) -> Mesure:
    return Mesure(type_mesure=kind, date_bon_commande=dt.date.fromisoformat(day), menage_commune=commune)


def test_asll_11_counts_per_lot_and_type_against_the_lots_bounds() -> None:
    lots_ = [lots.Lot("lot1", "Lot 1 – Annecy", 2, 3), lots.Lot("lot3", "Lot 3 – Genevois, Chablais", 1, 1)]
    lot_of = {"Annecy": "lot1", "Annemasse": "lot3"}.get
    mesures = [
        _ordered("asll_installation", "2019-01-01", "Annecy"),  # the year's first day counts
        _ordered("asll_maintien", "2019-12-31", "Annecy"),  # and its last
        _ordered("asll_maintien", "2018-12-31", "Annecy"),  # the year before: not counted
        _ordered("aml", "2019-05-01", "Annecy"),  # not an ASLL measure
        _ordered("asll_maintien", "2019-03-01", "Annemasse"),
        _ordered("asll_installation", "2019-04-01", "Annemasse"),
        _ordered("asll_installation", "2019-04-01", "Chamonix"),  # no lot known yet
    ]
    rows = {r["lot"]: r for r in lots.counts_by_lot(mesures, 2019, lots_, lambda m: lot_of(m.menage_commune or ""))}
    assert (rows["Lot 1 – Annecy"]["asll_installation"], rows["Lot 1 – Annecy"]["asll_maintien"], rows["Lot 1 – Annecy"]["etat"]) == (1, 1, "dans la fourchette")
    assert (rows["Lot 3 – Genevois, Chablais"]["total"], rows["Lot 3 – Genevois, Chablais"]["etat"]) == (2, "au-delà du maximum")
    assert (rows[lots.UNKNOWN]["total"], rows[lots.UNKNOWN]["etat"]) == (1, "")
    # One measure fewer in lot 1: under its minimum; one more than its maximum: above.
    assert lots.counts_by_lot(mesures[1:2], 2019, lots_[:1], lambda m: "lot1")[0]["etat"] == "sous le minimum"
    four = [_ordered("asll_maintien", "2019-06-01", "Annecy") for _ in range(4)]
    assert lots.counts_by_lot(four[:3], 2019, lots_[:1], lambda m: "lot1")[0]["etat"] == "dans la fourchette"
    assert lots.counts_by_lot(four, 2019, lots_[:1], lambda m: "lot1")[0]["etat"] == "au-delà du maximum"



# --- ASLL §10: the yearly bilan's qualitative elements, per type of measure -------------------------

def test_asll_10_each_qualitative_element_is_written_for_each_type_followed() -> None:
    kind = get_kind("bilan_annuel_operateur")
    example = dict(kind.example)
    assert kind.validate(example) == {}
    rows = example["qualitatif"]
    one_missing = [r for r in rows if (r["type_mesure"], r["element"]) != ("asll_maintien", "partenariat")]
    message = kind.validate({**example, "qualitatif": one_missing})["qualitatif"][0]
    assert "ASLL §10" in message and "ASLL Maintien : Partenariat développé" in message
    # A type not followed in the year asks for nothing.
    installation_only = {**example["chiffres"], "par_type": [r for r in example["chiffres"]["par_type"] if r["type_mesure"] == "asll_installation"]}
    assert kind.validate({**example, "chiffres": installation_only, "qualitatif": [r for r in rows if r["type_mesure"] == "asll_installation"]}) == {}
    # A yearly bilan frozen before, with texts common to every type, still loads.
    legacy = {k: v for k, v in example.items() if k != "qualitatif"} | {name: "Texte commun." for name, _ in annual.ELEMENTS_QUALITATIFS}
    assert kind.validate(legacy) == {}


def test_asll_10_the_yearly_bilan_is_prefilled_with_a_row_per_type_and_element(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    open_mesure(web, date_bon_commande="2019-01-02", date_premiere_rencontre="2019-01-04")
    doc = started_doc(app, web.post("/mesures/bilan-annuel", {"annee": "2019"}))
    assert [(r["type_mesure"], r["element"]) for r in doc.data["qualitatif"]] == [("asll_installation", e) for e, _ in annual.ELEMENTS_QUALITATIFS]


def test_the_measure_of_a_referral_belongs_to_the_referral_s_platform_issue_13(app: Flask, login_as: Any) -> None:
    """Created from a Lens-Hénin referral, the AML measure is Lens-Hénin's: its coordinator reads it, Artois's does not."""
    doc_id, coordinator, referent = _referral(login_as)
    assert coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, referent)).status_code == 302
    _, mesures = _thread(app, doc_id)
    with app.app_context():
        territoire = db.session().get(Territoire, db.session().get(Mesure, mesures[0].id).territoire_id)
        assert territoire is not None and territoire.code == "aml-lens-henin"
    lens, _ = login_as("coordinateur", org=PLATFORM, territoires=("aml-lens-henin",))
    artois, _ = login_as("coordinateur", org="Plateforme Logement d'abord Artois", territoires=("aml-artois",))
    assert lens.get(f"/mesures/{mesures[0].id}").status_code == 200
    assert artois.get(f"/mesures/{mesures[0].id}").status_code == 404


def _ask_renewal(app: Flask, web: WebClient) -> int:
    """A Maintien whose submitted bilan asks for a motivated renewal of 3 months (ASLL §9, §9.2); return the measure."""
    mesure_id = open_mesure(web, type_mesure="asll_maintien", duree_mois="3", date_bon_commande="2019-06-01", date_premiere_rencontre="2019-06-05")
    doc = started_doc(app, start(web, mesure_id, "bilan_asll_maintien"))
    example = get_kind("bilan_asll_maintien").example
    data = dict(doc.data) | {k: v for k, v in example.items() if k not in ("mesure", "rencontres", "proposition")}
    data["objectifs"] = [{**row, "statut": "non_travaille"} for row in data["objectifs"]]
    data["proposition"] = {**data["proposition"], "proposition": "renouvellement", "motifs": "Plan d'apurement à tenir.", "duree_demandee_mois": 3}
    assert web.post(f"/documents/{doc.id}/modifier", {**flatten(data), "action": "submit"}).status_code == 302
    return mesure_id


def test_the_dpds_may_refuse_a_renewal_with_its_reasons_and_the_request_is_answered(app: Flask, login_as: Any) -> None:
    """ASLL §9.2: a renewal "peut être accordé" on the bilan: the DPDS may also refuse it, motivated; the operator reads why."""
    web, _ = login_as("redacteur")
    mesure_id = _ask_renewal(app, web)
    dpds, dpds_account = login_as("instructeur")
    refusal = {"motif": "Dette soldée : le maintien n'est plus menacé."}
    assert web.post(f"/mesures/{mesure_id}/renouvellements/refus", refusal).status_code == 403  # the operator asks, never decides
    unmotivated = dpds.post(f"/mesures/{mesure_id}/renouvellements/refus", {"motif": "  "})
    assert unmotivated.status_code == 422 and "Motivez le refus" in unmotivated.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalars(select(Event).where(Event.action == "renouvellement_refuse")).all() == []
    assert dpds.post(f"/mesures/{mesure_id}/renouvellements/refus", refusal).status_code == 302
    with app.app_context():
        (event,) = db.session().scalars(select(Event).where(Event.action == "renouvellement_refuse")).all()
        assert (event.user_id, event.detail) == (dpds_account.id, {"mesure": mesure_id, "motif": refusal["motif"]})
    page = web.get(f"/mesures/{mesure_id}").get_data(as_text=True)
    assert "Renouvellement refusé par la DPDS" in page and "Dette soldée" in page and "demande un renouvellement" not in page
    # The operator is told (issue 14, "a decision recorded"), without the reasons (no household data in a notification).
    assert decisions_told(app, web) == ["renouvellement refusé par le Service Logement de la DPDS (CCTP ASLL §9.2)"]
    with app.app_context():
        bilan = db.session().scalars(select(Event.document_id).where(Event.action == "renouvellement_refuse")).one()
    assert "Renouvellement refusé par la DPDS par Instructeur" in web.get(f"/documents/{bilan}").get_data(as_text=True)  # in the bilan's history
    # The request is answered: neither a second refusal nor a grant.
    assert dpds.post(f"/mesures/{mesure_id}/renouvellements/refus", refusal).status_code == 422
    assert dpds.post(f"/mesures/{mesure_id}/renouvellements", {"date_decision": "2019-10-01", "duree_mois": "3", "motif": "x"}).status_code == 422
    with app.app_context():
        assert db.session().get_one(Mesure, mesure_id).renouvellements == []


def test_a_bilan_whose_renewal_is_decided_is_not_reopened_by_a_correction_request(app: Flask, login_as: Any) -> None:
    """ASLL §9.2: once the DPDS granted or refused the renewal a bilan asked for (the bilan stays "soumis"), it is not reopened."""
    web, _ = login_as("redacteur")
    dpds, _ = login_as("instructeur")
    ask = {"texte": "Précisez les motifs.", "nature": "demande_correction"}

    def bilan_of(mesure_id: int) -> Document:
        with app.app_context():
            return db.session().scalars(select(Document).where(Document.mesure_id == mesure_id, Document.kind == "bilan_asll_maintien")).one()

    def messages_of(bilan_id: int) -> int:
        with app.app_context():
            return len(db.session().scalars(select(Message).where(Message.document_id == bilan_id)).all())

    # Refused, then granted: refused in French, nothing changed.
    refused = _ask_renewal(app, web)
    assert dpds.post(f"/mesures/{refused}/renouvellements/refus", {"motif": "Dette soldée."}).status_code == 302
    granted = _ask_renewal(app, web)
    assert dpds.post(f"/mesures/{granted}/renouvellements", {"date_decision": "2019-10-14", "duree_mois": "3", "motif": "Plan d'apurement à tenir."}).status_code == 302
    for mesure_id in (refused, granted):
        bilan = bilan_of(mesure_id)
        response = dpds.post(f"/documents/{bilan.id}/messages", ask)
        assert response.status_code == 422, mesure_id
        assert "a déjà statué sur le renouvellement demandé par ce bilan" in html.unescape(response.get_data(as_text=True))
        assert (bilan_of(mesure_id).statut, messages_of(bilan.id)) == ("soumis", 0)
    # Not decided yet: the request reopens the bilan.
    waiting = _ask_renewal(app, web)
    bilan = bilan_of(waiting)
    assert dpds.post(f"/documents/{bilan.id}/messages", ask).status_code == 302
    assert (bilan_of(waiting).statut, messages_of(bilan.id)) == ("brouillon", 1)
