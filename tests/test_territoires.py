"""Territories (issue 13): shipped as data, attachments, Département-wide grants, scoping, recipients."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from schemas import get_kind
from tests.api_client import ApiClient, token_for
from tests.conftest import Account, Clock, WebClient
from tests.test_web import example_form
from tests.workers import run_jobs
from webforms import db, policy
from webforms.commands.accounts import account as account_cli
from webforms.commands.territories import SHIPPED, territories_group
from webforms.errors import ValidationFailed
from webforms.models import ArchiveLog, Document, Mesure, PorteeDepartement, Territoire, User, UserTerritoire
from webforms.territoires import services as svc
from webforms.territoires.scope import territory_for_mesure

ARTOIS, LENS = "aml-artois", "aml-lens-henin"
DECISION = {k: v for k, v in get_kind("fiche_saisine").review.example.items() if v}  # type: ignore[union-attr]


def referral(web: WebClient, epci: str) -> int:
    """Submit a fiche saisine for a household of ``epci`` (CALL, CAHC: Lens-Hénin; CABBALR: Artois)."""
    form = {**example_form("fiche_saisine"), "territoire-epci": epci, "action": "submit"}
    response = web.post("/documents/nouveau/fiche_saisine", form)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return int(response.headers["Location"].rsplit("/", 1)[1])


def test_the_artois_coordinator_neither_reads_nor_decides_a_lens_henin_referral(app: Flask, login_as: Any) -> None:
    """The issue's reproduction: the Artois coordinator read and decided a Lens-Hénin referral."""
    writer, _ = login_as("redacteur", territoires=(LENS,))  # also the operator named by DECISION (account 1), on Lens-Hénin
    doc_id = referral(writer, "CALL")
    artois, _ = login_as("coordinateur", org="Plateforme Logement d'abord Artois", territoires=(ARTOIS,))
    assert artois.get(f"/documents/{doc_id}").status_code == 404
    assert artois.get(f"/documents/{doc_id}/telecharger/pdf").status_code == 404
    assert artois.post(f"/documents/{doc_id}/decision", DECISION).status_code == 404
    assert "Durand" not in artois.get("/").get_data(as_text=True)
    with app.app_context():
        doc = db.session().get(Document, doc_id)
        assert (doc.statut, doc.review) == ("soumis", None)
    # The Lens-Hénin coordinator reads and decides it.
    lens, _ = login_as("coordinateur", org="Plateforme Logement d'abord Lens-Hénin", territoires=(LENS,))
    assert lens.get(f"/documents/{doc_id}").status_code == 200
    assert lens.post(f"/documents/{doc_id}/decision", DECISION).status_code == 302
    with app.app_context():
        assert db.session().get(Document, doc_id).statut == "decide"


def test_both_sources_territories_ship_as_data(app: Flask) -> None:
    """AML §1: Artois (CABBALR), Lens-Hénin (CALL, CAHC); ASLL §11: three lots with their bounds and counts."""
    with app.app_context():
        rows = {t.code: t for t in svc.territories(db.session())}
        assert {c: [z.nom for z in rows[c].zones if z.nature == "epci"] for c in (ARTOIS, LENS)} == {ARTOIS: ["CABBALR"], LENS: ["CAHC", "CALL"]}
        lots = {c: (t.mesures_min, t.mesures_max, t.indicatifs) for c, t in rows.items() if t.nature == "lot_asll"}
        assert lots == {
            "asll-lot-1": (140, 230, {"asll_installation": 40, "asll_maintien": 100}),
            "asll-lot-2": (95, 160, {"asll_installation": 13, "asll_maintien": 85}),
            "asll-lot-3": (110, 200, {"asll_installation": 20, "asll_maintien": 90}),
        }
        assert {z.nom for z in rows["asll-lot-2"].zones if z.nature == "cams"} == {"Faucigny"}
        assert {t.departement for t in rows.values()} == {"Pas-de-Calais", "Haute-Savoie"}


def lot_form(**changes: str) -> dict[str, str]:
    """The lot 2 form as shipped (ASLL §11: 95–160, 13 Installation and 85 Maintien), with ``changes``."""
    form = {
        "nom": "Lot 2 – Faucigny", "mesures_min": "95", "mesures_max": "160", "annee_indicative": "2011",
        "indicatif_asll_installation": "13", "indicatif_asll_maintien": "85", "zones_cams": "Faucigny", "zones_pms": "Cluses\nSallanches",
    }
    return {**form, **changes}


def _update(app: Flask, admin: Account, form: dict[str, str]) -> tuple[str | None, dict[str, Any]]:
    """Save lot 2 with ``form``; return the refusal (None if saved) and the lot's bounds as stored."""
    with app.app_context():
        s = db.session()
        lot = s.scalars(select(Territoire).where(Territoire.code == "asll-lot-2")).one()
        try:
            svc.update_territory(s, lot, user=s.get(User, admin.id), payload=form, now=dt.datetime(2026, 1, 5, tzinfo=dt.UTC))
            refusal = None
        except ValidationFailed as exc:
            s.rollback()
            refusal = " ".join(m for msgs in exc.errors.values() for m in msgs)
        lot = s.scalars(select(Territoire).where(Territoire.code == "asll-lot-2")).one()
        return refusal, {"min": lot.mesures_min, "max": lot.mesures_max, "indicatifs": lot.indicatifs}


@pytest.mark.parametrize(
    ("changes", "refused"),
    [
        ({"mesures_min": "160", "indicatif_asll_maintien": "147"}, None),  # min = max: allowed
        ({"mesures_min": "161", "indicatif_asll_maintien": "148"}, "ne peut être inférieur au minimum"),  # min = max + 1
        ({"indicatif_asll_maintien": "82"}, None),  # total 95 = min
        ({"indicatif_asll_maintien": "81"}, "moins que le minimum"),  # total 94
        ({"indicatif_asll_maintien": "147"}, None),  # total 160 = max
        ({"indicatif_asll_maintien": "148"}, "plus que le maximum"),  # total 161
        ({"mesures_min": "0", "indicatif_asll_installation": "0", "indicatif_asll_maintien": "0"}, None),
        ({"mesures_min": "-1"}, "Le minimum de mesures"),
        ({"mesures_max": "dix"}, "Le maximum de mesures"),
        ({"annee_indicative": "1999"}, "entre 2000 et 2100"),
        ({"annee_indicative": "2000"}, None),
        ({"nom": ""}, "Le nom est requis"),
        ({"nom": "Artois"}, "s'appelle déjà"),
        ({"zones_pms": "Cluses\nThônes"}, "déjà dans « Lot 1 – Annecy Est et Ouest »"),
        ({"zones_epci": "CALL"}, "déjà dans « Lens-Hénin »"),
        # Control characters (issue 15): refused in the name and the zones, before spaces are folded.
        ({"nom": "Lot 2\x00"}, "Le nom du territoire contient un caractère invisible ou de contrôle (U+0000)"),
        ({"nom": "Lot\x0b2"}, "(U+000B)"),
        ({"nom": "Lot 2 \u202eFaucigny"}, "(U+202E)"),
        ({"nom": "Lot 2 – Faucigny  "}, None),
        ({"zones_pms": "Cluses\nSall\x00anches"}, "La liste « Pôle Médico-Social » contient un caractère invisible ou de contrôle (U+0000)"),
        ({"zones_pms": "Cluses\r\nSallanches\n"}, None),
    ],
)
def test_a_lot_s_bounds_are_checked_on_both_sides_of_each_edge(app: Flask, make_user: Any, changes: dict[str, str], refused: str | None) -> None:
    """ASLL §11: min ≤ max, and the indicative counts within them; a refusal changes nothing."""
    admin = make_user("admin")
    refusal, stored = _update(app, admin, lot_form(**changes))
    if refused is None:
        assert refusal is None
        assert stored["min"] == int(changes.get("mesures_min", "95"))
    else:
        assert refusal is not None and refused in refusal, refusal
        assert stored == {"min": 95, "max": 160, "indicatifs": {"asll_installation": 13, "asll_maintien": 85}}


def test_the_admin_page_saves_a_lot_and_shows_a_refusal_in_french(app: Flask, login_as: Any) -> None:
    web, _ = login_as("admin")
    with app.app_context():
        lot_id = db.session().scalars(select(Territoire.id).where(Territoire.code == "asll-lot-2")).one()
    refused = web.post(f"/admin/territoires/{lot_id}", lot_form(mesures_min="200"))
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "Le maximum (160) ne peut être inférieur au minimum (200)." in body and 'value="200"' in body
    saved = web.post(f"/admin/territoires/{lot_id}", lot_form(mesures_max="170"))
    assert saved.status_code == 302
    assert "170" in web.get(f"/admin/territoires/{lot_id}").get_data(as_text=True)
    assert web.post("/admin/territoires/99999999", lot_form()).status_code == 404


def test_a_departement_wide_grant_sees_both_platforms_and_is_logged(app: Flask, login_as: Any, make_user: Any) -> None:
    writer, _ = login_as("redacteur")
    lens_doc, artois_doc = referral(writer, "CAHC"), referral(writer, "CABBALR")
    instructeur, account = login_as("instructeur", org="Département du Pas-de-Calais", territoires=(ARTOIS,))
    assert instructeur.get(f"/documents/{artois_doc}").status_code == 200
    assert instructeur.get(f"/documents/{lens_doc}").status_code == 404
    admin, admin_account = login_as("admin")
    assert admin.post("/admin/territoires/portees", {"compte": str(account.id), "departement": "Pas-de-Calais"}).status_code == 302
    assert instructeur.get(f"/documents/{lens_doc}").status_code == 200
    with app.app_context():
        s = db.session()
        grant = s.scalars(select(PorteeDepartement).where(PorteeDepartement.user_id == account.id)).one()
        assert grant.accordee_par_id == admin_account.id and grant.accordee_le is not None
        (log,) = s.scalars(select(ArchiveLog).where(ArchiveLog.action == "portee_accordee")).all()
        assert (log.user_id, log.detail) == (admin_account.id, {"compte": account.id, "departement": "Pas-de-Calais", "portee": grant.id})
        grant_id = grant.id
    # A second grant of the same Département is refused, in French; a writer gets none.
    again = admin.post("/admin/territoires/portees", {"compte": str(account.id), "departement": "Pas-de-Calais"})
    assert "a déjà la portée départementale" in admin.get(again.headers["Location"]).get_data(as_text=True).replace("&#39;", "'")
    with app.app_context():
        s = db.session()
        with pytest.raises(svc.TerritoireError, match="ne s'accorde qu'à"):
            svc.grant_departement(s, app.extensions["webforms.archive"], s.get(User, make_user("redacteur").id), "Pas-de-Calais", by=None, now=dt.datetime.now(dt.UTC))
    assert admin.post(f"/admin/territoires/portees/{grant_id}/retirer").status_code == 302
    assert instructeur.get(f"/documents/{lens_doc}").status_code == 404
    with app.app_context():
        assert db.session().scalars(select(ArchiveLog.action).where(ArchiveLog.action.like("portee_%")).order_by(ArchiveLog.id)).all() == ["portee_accordee", "portee_retiree"]


def test_a_user_without_territory_sees_nothing_beyond_their_organisation(app: Flask, login_as: Any) -> None:
    writer, _ = login_as("redacteur")
    doc_id = referral(writer, "CALL")
    for role in ("coordinateur", "instructeur", "archiviste"):
        web, _ = login_as(role, org="Sans territoire", territoires=())
        assert web.get(f"/documents/{doc_id}").status_code == 404, role
        assert "Durand" not in web.get("/").get_data(as_text=True)


def test_measures_take_their_territory_from_the_commune_or_the_operator(app: Flask, make_user: Any) -> None:
    """A household of a lot's PMS commune is that lot's; otherwise the operator's only territory of the kind; else none."""
    operator = make_user("redacteur", org="Opérateur du Faucigny", territoires=("asll-lot-2", LENS))
    with app.app_context():
        s = db.session()
        ids = {t.code: t.id for t in svc.territories(s)}
        found = [
            territory_for_mesure(s, organisation_id=operator.organisation_id, type_mesure=t, commune=c)
            for t, c in (("asll_maintien", "thones"), ("asll_maintien", "Une commune inconnue"), ("aml", None), ("asll_installation", "ANNEMASSE"), ("autre", "Cluses"))
        ]
        assert found == [ids["asll-lot-1"], ids["asll-lot-2"], ids[LENS], ids["asll-lot-3"], None]
        lone = make_user("redacteur", org="Opérateur sans territoire")
        assert territory_for_mesure(s, organisation_id=lone.organisation_id, type_mesure="aml", commune="Lens") is None


def test_measures_are_read_within_the_territory(app: Flask, login_as: Any) -> None:
    writer, _ = login_as("redacteur", org="Opérateur Lens", territoires=(LENS,))
    form = {"type_mesure": "aml", "menage_nom": "Garnier", "menage_prenom": "Anatole", "menage_commune": "Avion", "date_premiere_rencontre": "2019-09-16", "nature_premiere_rencontre": "entretien_bureau", "duree_mois": "12"}
    opened = writer.post("/mesures/nouvelle", form)
    assert opened.status_code == 302, opened.get_data(as_text=True)[:300]
    path = opened.headers["Location"]
    lens, _ = login_as("coordinateur", territoires=(LENS,))
    artois, _ = login_as("coordinateur", territoires=(ARTOIS,))
    assert lens.get(path).status_code == 200 and "Garnier" in lens.get("/mesures/").get_data(as_text=True)
    assert artois.get(path).status_code == 404 and "Garnier" not in artois.get("/mesures/").get_data(as_text=True)


def test_recipients_are_resolved_from_the_territory(app: Flask, make_user: Any, login_as: Any) -> None:
    """ASLL §8: the CAMS of the household's commune for an Installation, the Service Logement DPDS
    for a Maintien; AML §7: the platform's coordinator."""
    writer, _ = login_as("redacteur")
    doc_id = referral(writer, "CABBALR")
    make_user("coordinateur", territoires=(ARTOIS,))
    make_user("coordinateur", territoires=(LENS,))
    operator = make_user("redacteur", org="Opérateur Annecy", territoires=("asll-lot-1",))
    with app.app_context():
        s = db.session()
        aml = svc.recipients_for(s, s.get(Document, doc_id))
        assert [(r.role, r.nom, len(r.comptes)) for r in aml] == [("Coordinateur Logement d'abord", "Plateforme Artois", 1)]
        recipients = {}
        for type_mesure in ("asll_installation", "asll_maintien"):
            mesure = Mesure(reference=f"ME-T-{type_mesure}", organisation_id=operator.organisation_id, referent_id=operator.id, type_mesure=type_mesure,
                            menage_nom="Martin", menage_prenom="Léa", menage_commune="Seynod", duree_mois=3,
                            territoire_id=territory_for_mesure(s, organisation_id=operator.organisation_id, type_mesure=type_mesure, commune="Seynod"))
            doc = Document(kind="fiche_incident", organisation_id=operator.organisation_id, author_id=operator.id, mesure=mesure, data={})
            s.add(doc)
            s.flush()
            recipients[type_mesure] = [(r.role, r.nom) for r in svc.recipients_for(s, doc)]
        assert recipients == {
            "asll_installation": [("RAST de la CAMS", "Annecy Est – Seynod"), ("RAST de la CAMS", "Annecy Ouest – Seynod")],
            "asll_maintien": [("Service Logement", "Service Logement de la DPDS")],
        }
        s.rollback()


def test_the_command_line_loads_territories_and_attaches_an_account(app: Flask, make_user: Any, tmp_path: Path) -> None:
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "WEBFORMS_INSTANCE_PATH": app.instance_path, "WEBFORMS_SECRET_KEY": "tests-only-secret"}
    runner = CliRunner()
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    data["territoires"].append({"code": "aml-ternois", "nature": "plateforme_aml", "nom": "Ternois", "departement": "Pas-de-Calais", "zones": {"epci": ["CCTER"]}})
    source = tmp_path / "territoires.json"
    source.write_text(json.dumps(data), encoding="utf-8")
    loaded = runner.invoke(territories_group, ["load", str(source)], env=env)
    assert loaded.exit_code == 0 and "1 créé(s), 5 mis à jour" in loaded.output, loaded.output
    bad = tmp_path / "faux.json"
    bad.write_text("{", encoding="utf-8")
    refused = runner.invoke(territories_group, ["load", str(bad)], env=env)
    assert refused.exit_code == 1 and "Fichier illisible" in refused.output
    account = make_user("archiviste", territoires=())
    attached = runner.invoke(account_cli, ["territories", account.email, "--territoire", "aml-ternois", "--departement", "Haute-Savoie"], env=env)
    assert attached.exit_code == 0 and "rattaché à : Ternois" in attached.output and "inscrite au journal d'audit" in attached.output, attached.output
    unknown = runner.invoke(account_cli, ["territories", account.email, "--territoire", "nulle-part"], env=env)
    assert unknown.exit_code == 1 and "Territoire inconnu : nulle-part." in unknown.output
    withdrawn = runner.invoke(account_cli, ["territories", account.email, "--retirer-departement", "Haute-Savoie"], env=env)
    assert withdrawn.exit_code == 0 and "retirée" in withdrawn.output
    with app.app_context():
        s = db.session()
        assert s.scalars(select(UserTerritoire.territoire_id).where(UserTerritoire.user_id == account.id)).all() == [
            s.scalars(select(Territoire.id).where(Territoire.code == "aml-ternois")).one()
        ]
        assert s.scalars(select(ArchiveLog.user_id).where(ArchiveLog.action.like("portee_%"))).all() == [None, None]


def test_the_api_shows_a_user_only_their_territories_documents(app: Flask, clock: Clock, login_as: Any, make_user: Any) -> None:
    writer, _ = login_as("redacteur")
    lens_doc, artois_doc = referral(writer, "CALL"), referral(writer, "CABBALR")
    api = ApiClient(app, token_for(app, clock, make_user("coordinateur", territoires=(ARTOIS,)), scope="lecture"))
    assert [d["id"] for d in api.get("/api/v1/documents").get_json()["items"]] == [artois_doc]
    assert api.get(f"/api/v1/documents/{artois_doc}").status_code == 200
    assert api.get(f"/api/v1/documents/{lens_doc}").status_code == 404


@pytest.mark.parametrize("role", ["coordinateur", "instructeur", "archiviste"])
def test_through_the_api_another_platform_s_referral_is_neither_read_nor_decided(app: Flask, clock: Clock, login_as: Any, make_user: Any, role: str) -> None:
    """An Artois token × every document route × a Lens-Hénin referral: 404, nothing changed; its own platform's answers (issue 13 × issue 17)."""
    writer, _ = login_as("redacteur")
    lens_doc, artois_doc = referral(writer, "CALL"), referral(writer, "CABBALR")
    run_jobs(app)
    api = ApiClient(app, token_for(app, clock, make_user(role, territoires=(ARTOIS,))))
    with app.app_context():
        rendition = db.session().get(Document, lens_doc).renditions[0].id
        before = db.session().get(Document, lens_doc).review
    for path in (f"/api/v1/documents/{lens_doc}", f"/api/v1/documents/{lens_doc}/renditions/{rendition}", f"/api/v1/documents/{lens_doc}/pieces"):
        assert api.get(path).status_code == 404, path
    assert api.post(f"/api/v1/documents/{lens_doc}/validation", json={}).status_code == 404
    assert api.post(f"/api/v1/kinds/fiche_saisine/documents/{lens_doc}/decision", json=DECISION).status_code == 404
    assert lens_doc not in [d["id"] for d in api.get("/api/v1/documents").get_json()["items"]]
    assert api.get(f"/api/v1/documents/{artois_doc}").status_code == 200
    with app.app_context():
        assert db.session().get(Document, lens_doc).review == before


def test_the_sending_page_names_the_recipients_of_the_document_s_territory(app: Flask, login_as: Any) -> None:
    """recipients_for on the page of the links for recipients without an account: the platform of the referral's EPCI."""
    writer, _ = login_as("redacteur")
    login_as("coordinateur", org="Plateforme Logement d'abord Lens-Hénin", territoires=(LENS,))
    for epci, platform, other in (("CALL", "Plateforme Lens-Hénin", "Plateforme Artois"), ("CABBALR", "Plateforme Artois", "Plateforme Lens-Hénin")):
        html = writer.get(f"/documents/{referral(writer, epci)}/destinataires").get_data(as_text=True).replace("&#39;", "'")
        assert f"Coordinateur Logement d'abord : {platform}" in html and other not in html
        assert ("Coordinateur 2, prévenu par l'application" in html) == (epci == "CALL")  # the Lens-Hénin coordinator's account


def test_a_measure_without_territory_is_listed_then_assigned_by_the_admin_sealed_in_the_audit_log(app: Flask, login_as: Any, make_user: Any) -> None:
    """Issue 13: the measures none of whose data tells a territory are listed; the admin (page or CLI) gives each one of its nature."""
    writer = make_user("redacteur", org="Opérateur sans territoire")
    with app.app_context():
        s = db.session()
        for ref, kind in (("ME-SANS-1", "asll_installation"), ("ME-SANS-2", "aml")):
            s.add(Mesure(reference=ref, organisation_id=writer.organisation_id, referent_id=writer.id, type_mesure=kind, menage_nom="Nom", menage_prenom="P",
                         duree_mois=3, date_bon_commande=dt.date(2019, 9, 2)))
        s.commit()
        first = s.scalar(select(Mesure.id).where(Mesure.reference == "ME-SANS-1"))
    admin, _ = login_as("admin")
    page = admin.get("/admin/territoires/mesures").get_data(as_text=True)
    assert "ME-SANS-1" in page and "ME-SANS-2" in page and "<td>ASLL Installation</td>" in page
    # A territory of the other nature (a platform for an ASLL measure) is refused, nothing changes.
    refused = admin.post("/admin/territoires/mesures", {"mesure": str(first), "territoire": ARTOIS})
    assert refused.status_code == 302 and "un territoire de sa nature" in admin.get("/admin/territoires/mesures").get_data(as_text=True).replace("&#39;", "'")
    assert admin.post("/admin/territoires/mesures", {"mesure": str(first), "territoire": "asll-lot-2"}).status_code == 302
    page = admin.get("/admin/territoires/mesures").get_data(as_text=True)
    assert '<th scope="row">ME-SANS-1' not in page and '<th scope="row">ME-SANS-2' in page
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "WEBFORMS_INSTANCE_PATH": app.instance_path, "WEBFORMS_SECRET_KEY": "tests-only-secret"}
    listed = CliRunner().invoke(territories_group, ["unassigned"], env=env)
    assert listed.exit_code == 0 and "ME-SANS-2 : aml" in listed.output and "ME-SANS-1" not in listed.output, listed.output
    result = CliRunner().invoke(territories_group, ["assign", "ME-SANS-2", LENS], env=env)
    assert result.exit_code == 0 and "rattachée à « Lens-Hénin »" in result.output, result.output
    assert CliRunner().invoke(territories_group, ["assign", "ME-SANS-2", LENS], env=env).exit_code == 1  # already assigned
    with app.app_context():
        s = db.session()
        assert s.scalar(select(Territoire.code).join(Mesure, Mesure.territoire_id == Territoire.id).where(Mesure.id == first)) == "asll-lot-2"
        log = s.scalars(select(ArchiveLog).where(ArchiveLog.action == "territoire_mesure")).all()
        assert [e.detail["territoire"] for e in log] == ["asll-lot-2", LENS]
    again = admin.post("/admin/territoires/mesures", {"mesure": str(first), "territoire": "asll-lot-1"})
    assert again.status_code == 302 and "a déjà un territoire" in admin.get("/admin/territoires/mesures").get_data(as_text=True)
    assert admin.post("/admin/territoires/mesures", {"mesure": "99999", "territoire": "asll-lot-1"}).status_code == 404


def test_a_departement_s_grant_reads_only_its_own_departement_s_objects_without_territory(app: Flask, make_user: Any) -> None:
    """A Pas-de-Calais grant reads the no-territory measures and documents of Pas-de-Calais (an AML
    measure; an operator working there), not Haute-Savoie's (an ASLL measure; an operator of a lot)."""
    artois = make_user("redacteur", org="Opérateur d'Artois", territoires=(ARTOIS,))
    annecy = make_user("redacteur", org="Opérateur d'Annecy", territoires=("asll-lot-1",))
    reader = make_user("instructeur", territoires=())
    ids: dict[str, tuple[int, int]] = {}
    with app.app_context():
        s = db.session()
        s.add(PorteeDepartement(user_id=reader.id, departement="Pas-de-Calais"))
        for name, writer, kind in (("pdc", artois, "aml"), ("hs", annecy, "asll_installation")):
            mesure = Mesure(reference=f"ME-NT-{name}", organisation_id=writer.organisation_id, referent_id=writer.id, type_mesure=kind,
                            menage_nom="Nom", menage_prenom="P", duree_mois=3)
            # An operator's annual bilan has no territory (docs/decisions.md): its organisation's Département.
            annual = Document(kind="bilan_annuel_operateur", organisation_id=writer.organisation_id, author_id=writer.id, statut="soumis",
                              data={}, submitted_data={}, submitted_at=dt.datetime(2019, 12, 1, tzinfo=dt.UTC))
            s.add_all([mesure, annual])
            s.flush()
            ids[name] = (mesure.id, annual.id)
        s.commit()
        user = s.get(User, reader.id)
        measures = set(s.scalars(policy.visible_mesures(user).with_only_columns(Mesure.id)))
        documents = set(s.scalars(policy.visible_documents(user).with_only_columns(Document.id)))
        assert (ids["pdc"][0] in measures, ids["hs"][0] in measures) == (True, False)
        assert (ids["pdc"][1] in documents, ids["hs"][1] in documents) == (True, False)
        assert policy.can_view_mesure(user, s.get(Mesure, ids["pdc"][0])) and not policy.can_view_mesure(user, s.get(Mesure, ids["hs"][0]))
        assert policy.can_view(user, s.get(Document, ids["pdc"][1])) and not policy.can_view(user, s.get(Document, ids["hs"][1]))
        # The Haute-Savoie grant added: both read.
        s.add(PorteeDepartement(user_id=reader.id, departement="Haute-Savoie"))
        s.commit()
        assert policy.can_view_mesure(user, s.get(Mesure, ids["hs"][0])) and policy.can_view(user, s.get(Document, ids["hs"][1]))


@pytest.mark.parametrize(("commune", "filed_under", "cams"), [
    # Two neighbours across the border of lots 2 and 3 (ASLL §11), each filed under the other lot.
    ("La Roche-sur-Foron", "asll-lot-3", ["Faucigny – La Roche-sur-Foron"]),
    ("Reignier", "asll-lot-2", ["Chablais – Reignier", "Genevois – Reignier"]),
    # A commune no lot names: the measure's own lot, as before.
    ("Une commune inconnue", "asll-lot-2", ["Faucigny"]),
])
def test_the_cams_of_an_installation_is_the_household_commune_s(app: Flask, make_user: Any, commune: str, filed_under: str, cams: list[str]) -> None:
    """ASLL §9.1: the bilan goes to "le RAST du territoire concerné"; §11 draws each CAMS by its PMS:
    the commune tells the CAMS, not the lot the measure was filed under."""
    operator = make_user("redacteur", org="Opérateur de deux lots", territoires=("asll-lot-2", "asll-lot-3"))
    with app.app_context():
        s = db.session()
        lot = s.scalars(select(Territoire.id).where(Territoire.code == filed_under)).one()
        mesure = Mesure(reference="ME-CAMS", organisation_id=operator.organisation_id, referent_id=operator.id, type_mesure="asll_installation",
                        menage_nom="Martin", menage_prenom="Léa", menage_commune=commune, duree_mois=3, territoire_id=lot)
        doc = Document(kind="bilan_asll_installation", organisation_id=operator.organisation_id, author_id=operator.id, mesure=mesure, data={})
        s.add(doc)
        s.flush()
        assert [(r.role, r.nom) for r in svc.recipients_for(s, doc)] == [("RAST de la CAMS", name) for name in cams]
        s.rollback()
