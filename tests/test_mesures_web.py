"""The referent's workbench through the web: measures, meetings, renewals, worklist, CSV."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from flask import Flask
from sqlalchemy import func, select, update

from tests.conftest import PASSWORD, WebClient
from webforms import db
from webforms.accounts.services import create_organisation, create_user
from webforms.errors import ValidationFailed
from webforms.mesures.services import add_renouvellement
from webforms.models import Document, Event, Mesure, User
from webforms.web import services_of

INSTALLATION = {
    "type_mesure": "asll_installation",
    "menage_nom": "Morel",
    "menage_prenom": "Karim",
    "menage_commune": "Annemasse",
    "date_bon_commande": "2019-09-02",
    "duree_mois": "3",
    "travailleur_social": "Hélène Vidal",
}


def meetings(*rows: dict[str, str]) -> dict[str, str]:
    """The measure page's meeting form with these rows (it records one or several meetings at once)."""
    return {f"saisie-{index}-{key}": value for index, row in enumerate(rows) for key, value in row.items()}


def meeting(date: str, nature: str, note: str | None = None) -> dict[str, str]:
    """The meeting form with one row."""
    return meetings({"date": date, "nature": nature, **({"note": note} if note is not None else {})})


def open_mesure(web: WebClient, **changes: str) -> int:
    payload = {**INSTALLATION, **changes}
    if payload.get("date_premiere_rencontre"):  # the first meeting is recorded with its nature
        payload.setdefault("nature_premiere_rencontre", "visite_domicile")
    response = web.post("/mesures/nouvelle", payload)
    assert response.status_code == 302, response.get_data(as_text=True)
    match = re.search(r"/mesures/(\d+)$", response.headers["Location"])
    assert match
    return int(match.group(1))


def test_open_a_measure_and_follow_its_dates(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    mesure_id = open_mesure(web)
    page = web.get(f"/mesures/{mesure_id}").get_data(as_text=True)
    assert "ME-2019-000001" in page
    assert "12 septembre 2019" in page  # start deadline: bon de commande + 10 days (ASLL §6.3)
    assert "pas encore de rencontre" in page
    # The clock says 14 October 2019: the start deadline has passed without a meeting.
    assert "en retard" in page

    response = web.post(f"/mesures/{mesure_id}/rencontres", meeting("2019-09-10", "visite_domicile"))
    assert response.status_code == 302
    page = web.get(f"/mesures/{mesure_id}").get_data(as_text=True)
    assert "10 septembre 2019" in page and "tenu" in page
    assert "10 décembre 2019" in page  # the end: three months from the first meeting (ASLL §8)
    assert "2 décembre 2019" in page  # the ASLL §2.1 reading, shown for information
    assert "25 décembre 2019" in page  # bilan due 15 days after the end (ASLL §9.1)
    # Weekly meetings in the first month: only one was held, so weeks fall short.
    assert "Périodes écoulées sans rencontre" in page


def test_measure_rules_refuse_with_a_clear_message(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    response = web.post("/mesures/nouvelle", {**INSTALLATION, "duree_mois": "6"})
    assert response.status_code == 422
    assert "3 mois (ASLL §2.1, §8)" in response.get_data(as_text=True)
    response = web.post("/mesures/nouvelle", {**INSTALLATION, "date_bon_commande": ""})
    assert response.status_code == 422 and "bon de commande" in response.get_data(as_text=True)
    response = web.post("/mesures/nouvelle", {**INSTALLATION, "date_premiere_rencontre": "2019-08-30", "nature_premiere_rencontre": "telephone"})
    assert response.status_code == 422 and "précéder la réception du bon de commande" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session().query(Mesure).count() == 0

    mesure_id = open_mesure(web)
    response = web.post(f"/mesures/{mesure_id}/rencontres", meeting("2019-08-01", "telephone"))
    assert response.status_code == 422 and "précéder la réception du bon de commande" in response.get_data(as_text=True)
    response = web.post(f"/mesures/{mesure_id}/rencontres", meeting("2019-12-01", "telephone"))
    assert response.status_code == 422 and "futur" in response.get_data(as_text=True)
    # The operator does not record a renewal: it asks in its bilan, the DPDS decides (ASLL §8, §9.2).
    assert web.post(f"/mesures/{mesure_id}/renouvellements", {"date_decision": "2019-10-01", "duree_mois": "3", "motif": "x"}).status_code == 403
    assert "n'est pas renouvelable" in str(renew(app, mesure_id, "2019-10-01", 3, "x"))


def renew(app: Flask, mesure_id: int, day: str, months: int, motif: str) -> str | None:
    """Record a renewal decided by the DPDS (its rules; the request and the permission: tests/test_thread.py); return the refusal, if any."""
    with app.test_request_context():
        s = db.session()
        dpds = s.scalars(select(User).where(User.role == "instructeur")).first()
        if dpds is None:
            dpds = create_user(s, email="dpds@hautesavoie.fr", full_name="Service Logement de la DPDS", role="instructeur",
                               organisation_id=create_organisation(s, "Département de la Haute-Savoie").id, password=PASSWORD)
        try:
            add_renouvellement(s, services_of(app).documents, s.get_one(Mesure, mesure_id), user=dpds,
                               payload={"date_decision": day, "duree_mois": str(months), "motif": motif})
        except ValidationFailed as refused:
            s.rollback()
            return f"{refused} {refused.errors}"
        return None


def test_maintien_renewals_up_to_twelve_months(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    mesure_id = open_mesure(web, type_mesure="asll_maintien", duree_mois="6", date_bon_commande="2019-01-07", date_premiere_rencontre="2019-01-15")
    assert "{'motif': ['Ce champ est obligatoire.']}" in str(renew(app, mesure_id, "2019-07-20", 4, ""))  # ASLL §9: motivé
    assert renew(app, mesure_id, "2019-07-20", 4, "Plan d'apurement") is None
    assert "13 mois demandés" in str(renew(app, mesure_id, "2019-11-20", 3, "Relogement"))
    assert renew(app, mesure_id, "2019-11-20", 2, "Relogement") is None
    page = web.get(f"/mesures/{mesure_id}").get_data(as_text=True)
    assert "Renouvellement 2" in page and "20 janvier 2020" in page


def test_worklist_soonest_first_and_csv(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    open_mesure(web, menage_nom="Later", date_bon_commande="2019-10-10")
    open_mesure(web, menage_nom="Sooner", date_bon_commande="2019-10-01")
    page = web.get("/mesures/").get_data(as_text=True)
    assert page.index("Sooner") < page.index("Later")
    assert "En retard" in page  # Sooner: start deadline 11 October passed on 14 October
    response = web.get("/mesures/export.csv")
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff")), delimiter=";"))
    assert rows[0][0] == "Référence" and [r[2] for r in rows[1:]] == ["Sooner Karim", "Later Karim"]
    assert rows[1][13] == "oui" and rows[2][13] == "non"



def test_csv_cells_cannot_become_formulas(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    open_mesure(web, menage_nom="=HYPERLINK(\"http://x\")")
    body = web.get("/mesures/export.csv").get_data(as_text=True)
    assert "'=HYPERLINK" in body


def test_incident_sheet_started_from_a_measure_is_prefilled(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    mesure_id = open_mesure(web, type_mesure="asll_maintien", duree_mois="6")
    response = web.post(f"/mesures/{mesure_id}/documents/fiche_incident")
    assert response.status_code == 302
    doc_id = int(re.search(r"/documents/(\d+)/modifier", response.headers["Location"]).group(1))  # type: ignore[union-attr]
    with app.app_context():
        doc = db.session().get(Document, doc_id)
        assert doc.mesure_id == mesure_id
        assert doc.data["mesure"]["menage_nom"] == "Morel"
        assert doc.data["mesure"]["type_mesure"] == "asll_maintien"
        assert doc.data["travailleur_social"]["nom"] == "Hélène Vidal"
    page = web.get(f"/documents/{doc_id}/modifier").get_data(as_text=True)
    assert "Service Logement de la DPDS" in page  # its recipient follows the measure's type (ASLL §8)
    assert "Fiche d&#39;incident de mise en œuvre" in web.get(f"/mesures/{mesure_id}").get_data(as_text=True)


def test_other_organisations_do_not_see_the_measure(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    mesure_id = open_mesure(web)
    other, _ = login_as("redacteur", org="Autre association")
    assert other.get(f"/mesures/{mesure_id}").status_code == 404
    assert other.post(f"/mesures/{mesure_id}/rencontres", meeting("2019-09-10", "telephone")).status_code == 404
    assert "Morel" not in other.get("/mesures/?toutes=1").get_data(as_text=True)
    instructeur, _ = login_as("instructeur", org="Département")
    assert instructeur.get(f"/mesures/{mesure_id}").status_code == 200
    assert instructeur.post(f"/mesures/{mesure_id}/rencontres", meeting("2019-09-10", "telephone")).status_code == 403
    coordinateur, _ = login_as("coordinateur", org="Plateforme")
    assert coordinateur.get(f"/mesures/{mesure_id}").status_code == 404  # ASLL, not AML
    archiviste, _ = login_as("archiviste", org="Archives")
    assert archiviste.get(f"/mesures/{mesure_id}").status_code == 404



def test_home_page_lists_what_is_due_on_my_measures(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    open_mesure(web, menage_nom="Premier")
    page = web.get("/").get_data(as_text=True)
    assert "Échéances de mes mesures" in page and "Premier" in page and "en retard" in page
    colleague, _ = login_as("redacteur")  # same organisation, not the referent
    assert "Échéances de mes mesures" not in colleague.get("/").get_data(as_text=True)


# --- bilans started from a measure (AML §4; ASLL §9) ------------------------------------------

AML = {
    "type_mesure": "aml",
    "menage_nom": "Durand",
    "menage_prenom": "Julie",
    "menage_commune": "Liévin",
    "date_bon_commande": "",
    "date_premiere_rencontre": "2019-06-03",
    "duree_mois": "12",
    "travailleur_social": "Paul Leroy",
}


def start(web: WebClient, mesure_id: int, kind: str) -> Any:
    return web.post(f"/mesures/{mesure_id}/documents/{kind}")


def started_doc(app: Flask, response: Any) -> Document:
    assert response.status_code == 302, response.get_data(as_text=True)
    doc_id = int(re.search(r"/documents/(\d+)/modifier", response.headers["Location"]).group(1))  # type: ignore[union-attr]
    with app.app_context():
        doc = db.session().get(Document, doc_id)
        db.session().expunge(doc)
        return doc


def test_aml_bilans_are_prefilled_due_and_late_when_submitted_after(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    mesure_id = open_mesure(web, **AML)
    for day in ("2019-06-03", "2019-06-05", "2019-06-12"):
        web.post(f"/mesures/{mesure_id}/rencontres", meeting(day, "visite_domicile"))
    page = web.get(f"/mesures/{mesure_id}").get_data(as_text=True)
    assert "Bilan intermédiaire (3 mois) : 3 septembre 2019" in page and "en retard" in page

    doc = started_doc(app, start(web, mesure_id, "bilan_aml"))
    assert (doc.echeance, doc.echeance_date.isoformat()) == ("intermediaire", "2019-09-03")  # type: ignore[union-attr]
    assert doc.data["type_bilan"] == "intermediaire"
    assert doc.data["mesure"]["date_debut"] == "2019-06-03" and doc.data["mesure"]["date_fin"] == "2019-09-03"
    assert doc.data["rencontres"]["nombre"] == 3
    # Starting it again returns the same draft rather than a second one.
    assert started_doc(app, start(web, mesure_id, "bilan_aml")).id == doc.id
    listing = web.get("/").get_data(as_text=True)
    assert "En retard (échéance du 3 septembre 2019)" in listing


def test_installation_bilan_covers_the_period_and_its_meetings(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    mesure_id = open_mesure(web, date_bon_commande="2019-06-28", date_premiere_rencontre="2019-07-01")
    web.post(f"/mesures/{mesure_id}/rencontres", meeting("2019-07-08", "visite_domicile"))
    doc = started_doc(app, start(web, mesure_id, "bilan_asll_installation"))
    assert (doc.echeance, doc.echeance_date.isoformat()) == ("periode-0", "2019-10-16")  # type: ignore[union-attr]
    assert doc.data["mesure"]["date_fin"] == "2019-10-01"
    assert doc.data["rencontres"]["nombre"] == 2
    assert len(doc.data["objectifs"]) == 17  # every objective of the §5 Installation column
    assert start(web, mesure_id, "bilan_asll_maintien").status_code == 302  # refused: flash, back to the measure
    with app.app_context():
        assert db.session().query(Document).filter_by(kind="bilan_asll_maintien").count() == 0


def test_maintien_bilan_knows_the_months_already_granted(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    mesure_id = open_mesure(web, type_mesure="asll_maintien", duree_mois="6", date_bon_commande="2019-01-07", date_premiere_rencontre="2019-01-15")
    assert renew(app, mesure_id, "2019-07-20", 4, "Plan d'apurement") is None
    doc = started_doc(app, start(web, mesure_id, "bilan_asll_maintien"))
    assert doc.echeance == "periode-0" and doc.data["proposition"]["duree_deja_accordee_mois"] == 10


def test_no_bilan_before_the_measure_starts(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    mesure_id = open_mesure(web, **{**AML, "date_premiere_rencontre": ""})
    response = start(web, mesure_id, "bilan_aml")
    assert response.status_code == 302 and f"/mesures/{mesure_id}" in response.headers["Location"]
    assert "Aucun bilan n&#39;est attendu" in web.get(f"/mesures/{mesure_id}").get_data(as_text=True)


# --- the operator's yearly bilan (ASLL §10) ---------------------------------------------------


def test_annual_bilan_is_generated_from_the_records(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    open_mesure(web, date_bon_commande="2019-01-02", date_premiere_rencontre="2019-01-04")  # ended 4 April 2019
    maintien = open_mesure(web, type_mesure="asll_maintien", duree_mois="6", date_bon_commande="2019-03-01", date_premiere_rencontre="2019-03-05")
    assert renew(app, maintien, "2019-09-06", 3, "Apurement") is None
    open_mesure(web, date_bon_commande="2018-01-02", date_premiere_rencontre="2018-01-04")  # over before 2019
    other, _ = login_as("redacteur", org="Autre opérateur")
    open_mesure(other, date_bon_commande="2019-02-01", date_premiere_rencontre="2019-02-04")

    assert "Préparer le bilan annuel" in web.get("/mesures/").get_data(as_text=True)
    doc = started_doc(app, web.post("/mesures/bilan-annuel", {"annee": "2019"}))
    assert doc.kind == "bilan_annuel_operateur" and doc.echeance_date.isoformat() == "2020-01-31"  # type: ignore[union-attr]
    figures = doc.data["chiffres"]
    assert figures["par_type"] == [
        {"type_mesure": "asll_installation", "suivies": 1, "commencees": 1, "terminees": 1, "renouvelees": 0},
        {"type_mesure": "asll_maintien", "suivies": 1, "commencees": 1, "terminees": 0, "renouvelees": 1},
    ]
    assert doc.data["annee"] == 2019 and doc.data["operateur"] == "Association Habitat Solidaire"
    # Asking again returns the same draft; a future year is refused.
    assert started_doc(app, web.post("/mesures/bilan-annuel", {"annee": "2019"})).id == doc.id
    response = web.post("/mesures/bilan-annuel", {"annee": "2031"})
    assert response.status_code == 302 and "Année invalide" in web.get("/mesures/").get_data(as_text=True)


def test_measure_status_follows_its_dates(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    waiting = open_mesure(web)
    over = open_mesure(web, date_bon_commande="2019-01-02", date_premiere_rencontre="2019-01-04")
    running = open_mesure(web, date_bon_commande="2019-10-01", date_premiere_rencontre="2019-10-03")
    assert "À démarrer" in web.get(f"/mesures/{waiting}").get_data(as_text=True)
    assert "Terminée, bilan à transmettre" in web.get(f"/mesures/{over}").get_data(as_text=True)
    assert "<dd>En cours</dd>" in web.get(f"/mesures/{running}").get_data(as_text=True)


def test_today_is_the_paris_day_not_the_utc_one(app: Flask, login_as: Any, clock: Any) -> None:
    import datetime as dt

    web, _ = login_as("redacteur")
    mesure_id = open_mesure(web, date_bon_commande="2019-10-03")  # start deadline 13 October (ASLL §6.3)
    clock.now = dt.datetime(2019, 10, 13, 21, 30, tzinfo=dt.UTC)  # 23:30 in Paris (summer time)
    assert "en retard" not in web.get(f"/mesures/{mesure_id}").get_data(as_text=True)
    clock.now = dt.datetime(2019, 10, 13, 22, 30, tzinfo=dt.UTC)  # 00:30 on the 14th in Paris
    assert "en retard" in web.get(f"/mesures/{mesure_id}").get_data(as_text=True)


def test_closing_a_measure_early_brings_its_bilan_forward(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    mesure_id = open_mesure(web, date_bon_commande="2019-09-02", date_premiere_rencontre="2019-09-05")
    response = web.post(f"/mesures/{mesure_id}/cloture", {"date_fin": "2019-09-01", "motif": "demenagement"})
    assert response.status_code == 422 and "précéder son début" in response.get_data(as_text=True)
    response = web.post(f"/mesures/{mesure_id}/cloture", {"date_fin": "2019-11-01", "motif": "demenagement"})
    assert response.status_code == 422 and "futur" in response.get_data(as_text=True)
    assert web.post(f"/mesures/{mesure_id}/cloture", {"date_fin": "2019-10-01", "motif": "demenagement"}).status_code == 302
    page = web.get(f"/mesures/{mesure_id}").get_data(as_text=True)
    assert "Close le 01/10/2019, bilan à transmettre" in page and "Départ du logement" in page
    assert "16 octobre 2019" in page  # the bilan: 15 days after the early end (ASLL §9.1)
    response = web.post(f"/mesures/{mesure_id}/cloture", {"date_fin": "2019-10-02", "motif": "autre"})
    assert response.status_code == 422 and "déjà close" in response.get_data(as_text=True)


def test_a_draft_opens_to_its_form_from_the_measure_page(app: Flask, login_as: Any) -> None:
    """Its writer opens a draft from the measure to its form; a submitted document opens to its page (issue 16, point 7)."""
    web, _ = login_as("redacteur")
    mesure_id = open_mesure(web, type_mesure="asll_maintien", duree_mois="6")
    doc = started_doc(app, start(web, mesure_id, "fiche_incident"))
    assert f'href="/documents/{doc.id}/modifier"' in web.get(f"/mesures/{mesure_id}").get_data(as_text=True)
    with app.app_context():
        db.session().execute(update(Document).where(Document.id == doc.id).values(statut="soumis"))
        db.session().commit()
    page = web.get(f"/mesures/{mesure_id}").get_data(as_text=True)
    assert f'href="/documents/{doc.id}"' in page and f"/documents/{doc.id}/modifier" not in page


def test_several_meetings_are_recorded_at_once_or_none(app: Flask, login_as: Any) -> None:
    """Issue 16, point 5: a referent back from days away types every meeting, then records them together."""
    web, _ = login_as("redacteur")
    mesure_id = open_mesure(web)

    def recorded() -> tuple[list[tuple[str, str]], str | None, int]:
        with app.app_context():
            mesure = db.session().get(Mesure, mesure_id)
            first = mesure.date_premiere_rencontre.isoformat() if mesure.date_premiere_rencontre else None
            events = db.session().scalar(select(func.count()).select_from(Event).where(Event.action == "add_rencontre"))
            return sorted((r.date.isoformat(), r.nature) for r in mesure.rencontres), first, events

    # One row refused (the second, in the future): nothing is recorded, the error is beside its date.
    rows = [{"date": "2019-09-12", "nature": "visite_domicile"}, {"date": "2019-11-02", "nature": "telephone"}, {"date": "2019-09-10", "nature": "telephone"}]
    response = web.post(f"/mesures/{mesure_id}/rencontres", meetings(*rows))
    body = response.get_data(as_text=True)
    assert response.status_code == 422 and "Rencontre 2 : Une rencontre à venir ne se saisit pas encore." in body
    assert 'id="saisie-1-date-error"' in body and 'id="saisie-0-date-error"' not in body
    assert 'value="2019-09-12"' in body  # what was typed is shown again
    assert recorded() == ([], None, 0)
    # Corrected: the three are recorded, one event each; the earliest is the start of support (ASLL §8).
    rows[1]["date"] = "2019-10-01"
    response = web.post(f"/mesures/{mesure_id}/rencontres", meetings(*rows))
    assert response.status_code == 302 and response.headers["Location"].endswith("#rencontres")
    assert "3 rencontres enregistrées." in web.get(f"/mesures/{mesure_id}").get_data(as_text=True)
    assert recorded() == ([("2019-09-10", "telephone"), ("2019-09-12", "visite_domicile"), ("2019-10-01", "telephone")], "2019-09-10", 3)
    # One row is said in the singular.
    assert web.post(f"/mesures/{mesure_id}/rencontres", meeting("2019-10-08", "telephone")).status_code == 302
    assert "Rencontre enregistrée." in web.get(f"/mesures/{mesure_id}").get_data(as_text=True)
    assert recorded()[2] == 4


def test_meeting_rows_at_least_one_and_at_most_a_month(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    mesure_id = open_mesure(web, date_bon_commande="2019-09-02")
    days = [f"2019-09-{day:02d}" for day in range(2, 30)] + ["2019-10-01", "2019-10-02", "2019-10-03", "2019-10-04"]
    too_many = meetings(*({"date": day, "nature": "telephone"} for day in days))  # 32 rows
    response = web.post(f"/mesures/{mesure_id}/rencontres", too_many)
    assert response.status_code == 422 and "31 rencontres au plus à la fois" in response.get_data(as_text=True)
    response = web.post(f"/mesures/{mesure_id}/rencontres", {"saisie-0-note": ""} | {"action": "save"})
    assert response.status_code == 422 and "Saisissez au moins une rencontre." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session().get(Mesure, mesure_id).rencontres == []
    assert web.post(f"/mesures/{mesure_id}/rencontres", meetings(*({"date": day, "nature": "telephone"} for day in days[:31]))).status_code == 302
    with app.app_context():
        assert len(db.session().get(Mesure, mesure_id).rencontres) == 31


def test_meeting_rows_are_added_and_removed_without_javascript_nothing_recorded(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    mesure_id = open_mesure(web)
    page = web.get(f"/mesures/{mesure_id}").get_data(as_text=True)
    assert 'id="saisie-0-date"' in page and 'id="saisie-1-date"' not in page and "Ajouter une rencontre" in page
    typed = meeting("2019-09-12", "visite_domicile", "Visite")
    response = web.post(f"/mesures/{mesure_id}/rencontres", typed | {"action": "add:saisie"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="saisie-1-date"' in body and 'value="Visite"' in body
    response = web.post(f"/mesures/{mesure_id}/rencontres", meetings({"date": "2019-09-12", "nature": "telephone"}, {"date": "2019-09-13", "nature": "telephone"}) | {"action": "remove:saisie:0"})
    body = response.get_data(as_text=True)
    assert response.status_code == 200 and 'id="saisie-1-date"' not in body and 'value="2019-09-13"' in body
    with app.app_context():
        assert db.session().get(Mesure, mesure_id).rencontres == []
