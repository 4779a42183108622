"""Measures past their retention term (issue 15): 2 years after the last contact, erased under a visa by a second archivist."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.conftest import Clock
from tests.test_mesures_web import open_mesure
from webforms import db
from webforms.archive.mesure_retention import ERASED
from webforms.archive.retention import MESURE, rule_for
from webforms.archive.verify import verify
from webforms.models import ArchiveLog, Mesure, MesureElimination, Rencontre, Renouvellement

END = dt.date(2019, 10, 10)
LAST_MEETING = dt.date(2019, 11, 5)  # after the end: the last contact
TERM = dt.date(2021, 11, 5)  # 2 years after the last contact (CNIL 2023-095)


def closed_measure(app: Flask, login_as: Any) -> tuple[int, str]:
    writer, _ = login_as("redacteur")
    mesure_id = open_mesure(writer)
    with app.app_context():
        s = db.session()
        mesure = s.get_one(Mesure, mesure_id)
        # Closed, then met once more: set directly (closing and meetings are tested with the measures).
        mesure.date_fin_effective, mesure.motif_fin, mesure.commentaire_fin, mesure.statut = END, "fin_anticipee", "Départ chez sa sœur Julie Morel", "close"
        s.add(Rencontre(mesure_id=mesure_id, date=LAST_MEETING, nature="visite_domicile", note="Rencontre chez Mme Morel", created_by_id=mesure.referent_id))
        s.add(Renouvellement(mesure_id=mesure_id, date_decision=END, duree_mois=3, motif="Motif nommant Karim Morel", created_by_id=mesure.referent_id))
        s.commit()
        return mesure_id, mesure.reference


def at(clock: Clock, day: dt.date) -> None:
    clock.now = dt.datetime.combine(day, dt.time(10, 0), tzinfo=dt.UTC)


def visa_form(mesure_id: int, numero: str = "2021-12") -> dict[str, str]:
    return {"mesure": str(mesure_id), "numero": numero, "date_visa": "2021-11-01", "signataire": "Directrice des Archives"}


def household(app: Flask, mesure_id: int) -> tuple[Any, ...]:
    with app.app_context():
        s = db.session()
        m = s.get_one(Mesure, mesure_id)
        return (m.menage_nom, m.menage_prenom, m.travailleur_social, m.commentaire_fin,
                [r.note for r in s.scalars(select(Rencontre).where(Rencontre.mesure_id == mesure_id))],
                [r.motif for r in s.scalars(select(Renouvellement).where(Renouvellement.mesure_id == mesure_id))])


def test_the_measures_rule_is_two_years_and_destruction_by_default(app: Flask) -> None:
    with app.app_context():
        rule = rule_for(db.session(), MESURE)
    assert (rule.years, rule.fate, rule.by_admin) == (2, "destruction", False)


def test_a_measure_is_listed_and_erased_only_from_its_term(app: Flask, login_as: Any, clock: Clock) -> None:
    mesure_id, reference = closed_measure(app, login_as)
    archivist, _ = login_as("archiviste", "Département du Pas-de-Calais")
    second, _ = login_as("archiviste", "Département du Pas-de-Calais")
    before = household(app, mesure_id)
    # The day before the term: not listed, and a visa naming it is refused, nothing recorded.
    at(clock, TERM - dt.timedelta(days=1))
    assert f'name="mesure" value="{mesure_id}"' not in archivist.get("/archives/conservation").get_data(as_text=True)
    early = archivist.post("/archives/conservation/visa", visa_form(mesure_id))
    assert early.status_code == 422 and "n'a pas atteint le terme" in early.get_data(as_text=True).replace("&#39;", "'")
    with app.app_context():
        assert db.session().scalars(select(MesureElimination)).all() == []
    # On the term: listed with its term, put on a visa, nothing erased yet.
    at(clock, TERM)
    page = archivist.get("/archives/conservation").get_data(as_text=True)
    assert f'name="mesure" value="{mesure_id}"' in page and "5 novembre 2021" in page and reference in page
    assert "Morel" not in page  # the list names no household
    assert archivist.post("/archives/conservation/visa", visa_form(mesure_id)).status_code == 302
    assert household(app, mesure_id) == before
    again = archivist.post("/archives/conservation/visa", visa_form(mesure_id, "2021-13"))
    assert again.status_code == 422 and "figure déjà sur le visa n° 2021-12" in again.get_data(as_text=True)
    with app.app_context():
        visa_id = db.session().scalars(select(MesureElimination.visa_id)).one()
    # Not by the archivist who recorded the visa; by a second one.
    archivist.post(f"/archives/visas/{visa_id}/eliminer")
    assert household(app, mesure_id) == before
    assert second.post(f"/archives/visas/{visa_id}/eliminer").status_code == 302
    assert household(app, mesure_id) == (ERASED, ERASED, None, None, [None], [ERASED])
    with app.app_context():
        s = db.session()
        mesure = s.get_one(Mesure, mesure_id)
        assert (mesure.reference, mesure.type_mesure, mesure.menage_commune, mesure.date_fin_effective) == (reference, "asll_installation", "Annemasse", END)
        (row,) = s.scalars(select(ArchiveLog).where(ArchiveLog.action == "mesure_eliminee"))
        assert row.detail == {"mesure": mesure_id, "visa_id": visa_id} and row.seal is not None
        assert verify(s, app.extensions["webforms.archive"]).problems == []
    page = second.get("/archives/conservation").get_data(as_text=True)
    assert f'name="mesure" value="{mesure_id}"' not in page and "Effectuée" in page and f"mesure {reference}" in page


def test_a_running_measure_has_no_term(app: Flask, login_as: Any, clock: Clock) -> None:
    writer, _ = login_as("redacteur")
    mesure_id = open_mesure(writer, duree_mois="3")
    archivist, _ = login_as("archiviste", "Département du Pas-de-Calais")
    at(clock, dt.date(2019, 11, 30))  # its 3 months (from 2 September) still running
    assert f'name="mesure" value="{mesure_id}"' not in archivist.get("/archives/conservation").get_data(as_text=True)


def test_the_administrator_may_shorten_the_term_but_not_send_measures_to_the_archives(app: Flask, login_as: Any, clock: Clock) -> None:
    mesure_id, _ = closed_measure(app, login_as)
    admin, _ = login_as("admin", "Département du Pas-de-Calais")
    archivist, _ = login_as("archiviste", "Département du Pas-de-Calais")
    refused = admin.post("/admin/conservation", {"type": MESURE, "annees": "1", "sort": "transfert", "note": ""})
    assert refused.status_code == 422 and "son sort final est la destruction" in refused.get_data(as_text=True).replace("&#39;", "'")
    assert admin.post("/admin/conservation", {"type": MESURE, "annees": "1", "sort": "destruction", "note": "Délibération CNIL 2023-095"}).status_code == 302
    assert "Mesure d'accompagnement" in admin.get("/admin/conservation").get_data(as_text=True).replace("&#39;", "'")
    at(clock, dt.date(2020, 11, 4))
    assert f'name="mesure" value="{mesure_id}"' not in archivist.get("/archives/conservation").get_data(as_text=True)
    at(clock, dt.date(2020, 11, 5))
    assert f'name="mesure" value="{mesure_id}"' in archivist.get("/archives/conservation").get_data(as_text=True)
