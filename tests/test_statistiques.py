"""The statistics page (issue 13): figures per territory and type, in SQL, on both sides of each edge.

The world: measures of Lens-Hénin and Artois (AML) and of lot 1 (ASLL), each placed just inside or
just outside the period 1 January – 30 June 2019 (today: 14 October 2019, the tests' clock). The
same numbers are read back in the page's HTML, in the PDF's text and in the XLSX's cells.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from tests.conftest import Account
from webforms import db
from webforms.mesures.services import overview
from webforms.models import Document, Mesure, Renouvellement, Territoire, User
from webforms.statistiques.services import Period, figures, measure_end, unsent_late

LENS, ARTOIS, LOT1 = "aml-lens-henin", "aml-artois", "asll-lot-1"
PERIOD = "du=2019-01-01&au=2019-06-30"
UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def build(app: Flask, writer: Account) -> dict[str, int]:
    """The measures, renewals, bilans and incidents of the module's docstring; return the measures' ids."""
    with app.app_context():
        s = db.session()
        code = {t.code: t.id for t in s.scalars(select(Territoire))}
        made: dict[str, int] = {}

        def mesure(name: str, kind: str, territoire: str | None, created: str, **values: Any) -> Mesure:
            m = Mesure(reference=f"ME-T-{name}", organisation_id=writer.organisation_id, referent_id=writer.id, type_mesure=kind,
                       menage_nom=f"Ménage {name}", menage_prenom="X", duree_mois={"aml": 12, "asll_installation": 3, "asll_maintien": 6}[kind],
                       territoire_id=code[territoire] if territoire else None, created_at=at(created), **values)
            s.add(m)
            s.flush()
            made[name] = m.id
            return m

        d = dt.date
        m1 = mesure("m1", "aml", LENS, "2019-06-30T21:59", date_premiere_rencontre=d(2019, 1, 1))  # 30 June 23:59 in Paris: ordered in
        mesure("m2", "aml", LENS, "2019-06-30T22:00", date_premiere_rencontre=d(2018, 12, 31),  # 1 July 00:00 in Paris: out
               date_fin_effective=d(2019, 6, 30), motif_fin="demenagement")  # closed on the last day: ended in, 181 days
        mesure("m3", "aml", LENS, "2018-07-01T10:00", date_premiere_rencontre=d(2018, 7, 1))  # its term, 1 July 2019: out
        mesure("m4", "aml", LENS, "2018-06-30T10:00", date_premiere_rencontre=d(2018, 6, 30))  # its term, 30 June 2019: in, 365 days
        mesure("m5", "aml", LENS, "2018-12-01T10:00", date_fin_effective=d(2019, 3, 1), motif_fin="adhesion_retiree")  # never started
        m6 = mesure("m6", "aml", ARTOIS, "2019-03-01T10:00", date_premiere_rencontre=d(2019, 3, 1))
        m7 = mesure("m7", "asll_maintien", LOT1, "2019-01-01T10:00", date_bon_commande=d(2019, 1, 1), date_premiere_rencontre=d(2019, 1, 5))
        mesure("m8", "asll_installation", LOT1, "2018-12-31T10:00", date_bon_commande=d(2018, 12, 31), date_premiere_rencontre=d(2019, 1, 2))  # ends 2 April
        mesure("m9", "asll_installation", None, "2019-02-01T10:00", date_bon_commande=d(2019, 2, 1))  # no territory: the grant's
        s.add_all([
            Renouvellement(mesure_id=m7.id, date_decision=d(2019, 6, 30), duree_mois=3, motif="Dette", created_by_id=writer.id),
            Renouvellement(mesure_id=m7.id, date_decision=d(2019, 7, 1), duree_mois=3, motif="Dette", created_by_id=writer.id),
        ])

        def sent(kind: str, m: Mesure, when: str, due: dt.date | None = None, data: dict[str, Any] | None = None) -> None:
            s.add(Document(kind=kind, organisation_id=writer.organisation_id, author_id=writer.id, statut="soumis", data={}, submitted_data=data or {},
                           submitted_at=at(when), mesure_id=m.id, echeance="periode-0" if due else None, echeance_date=due))

        sent("bilan_aml", m1, "2019-04-01T20:00", d(2019, 4, 1))  # sent on its due day: on time
        sent("bilan_aml", m1, "2019-04-01T22:00", d(2019, 4, 1))  # 2 April in Paris: late
        sent("bilan_aml", m1, "2019-06-30T22:30", d(2019, 4, 1))  # 1 July in Paris: out of the period
        sent("bilan_asll_maintien", m7, "2019-06-30T08:00", d(2019, 7, 20))
        sent("fiche_incident", m1, "2019-05-01T10:00", data={"incident": {"type_incident": "injoignable"}})
        sent("fiche_incident", m1, "2018-12-31T22:59", data={"incident": {"type_incident": "injoignable"}})  # 31 December in Paris: out
        sent("fiche_incident", m6, "2019-05-02T10:00", data={"incident": {"type_incident": "procedure_expulsion"}})
        s.commit()
        return made


# Late: m1's bilan sent on 2 April, and four never sent though due and past in the period (AML §4):
# the intermediate ones of m1 (1 April) and m2 (31 March), m2's final one (30 June, the last day),
# m4's term (30 June). m3's (1 July) is after the period; m5 never started.
LENS_AML = {"commandees": 1, "commencees": 1, "terminees": 2, "duree_moyenne": 273.0, "renouvellements": 0,
            "bilans_a_temps": 1, "bilans_en_retard": 5, "closes_sans_debut": 1}


@pytest.fixture
def world(app: Flask, make_user: Any) -> dict[str, Any]:
    writer = make_user("redacteur", org="Opérateur des chiffres")
    return {"writer": writer, "mesures": build(app, writer)}


def _user(app: Flask, account: Account) -> User:
    return db.session().get(User, account.id)


def test_each_figure_counts_what_falls_inside_the_period_and_not_just_outside(app: Flask, world: dict[str, Any], make_user: Any) -> None:
    everyone = make_user("instructeur")  # a grant of every Département
    with app.app_context():
        found = figures(db.session(), _user(app, everyone), Period(dt.date(2019, 1, 1), dt.date(2019, 6, 30)), today=dt.date(2019, 10, 14))
        rows = {(r["territoire"], r["type_mesure"]): r for r in found.rows}
        assert {k: rows[("Lens-Hénin", "AML Logement d'abord")][k] for k in LENS_AML} == LENS_AML
        assert rows[("Artois", "AML Logement d'abord")]["commandees"] == 1 and rows[("Artois", "AML Logement d'abord")]["terminees"] == 0
        maintien = rows[("Lot 1 – Annecy Est et Ouest", "ASLL Maintien")]
        assert (maintien["commandees"], maintien["renouvellements"], maintien["terminees"], maintien["bilans_a_temps"]) == (1, 1, 0, 1)
        installation = rows[("Lot 1 – Annecy Est et Ouest", "ASLL Installation")]
        assert (installation["commandees"], installation["commencees"], installation["terminees"], installation["duree_moyenne"]) == (0, 1, 1, 90.0)
        assert rows[("Sans territoire (Département)", "ASLL Installation")]["commandees"] == 1
        assert found.total["commandees"] == 4 and found.total["terminees"] == 3
        assert found.total["duree_moyenne"] == pytest.approx((181 + 365 + 90) / 3)
        assert [(r["territoire"], r["nature"], r["nombre"]) for r in found.incidents] == [("Artois", "Procédure d'expulsion", 1), ("Lens-Hénin", "Ménage injoignable ou absent aux rendez-vous", 1)]
        assert {(r["territoire"], r["issue"], r["nombre"]) for r in found.outcomes} == {
            ("Lens-Hénin", "Départ du logement", 1), ("Lens-Hénin", "Terme de la mesure", 1), ("Lot 1 – Annecy Est et Ouest", "Terme de la mesure", 1)}
        # The day after the period: m3 reaches its term (1 July 2019) and is counted, m2 no longer.
        later = figures(db.session(), _user(app, everyone), Period(dt.date(2019, 7, 1), dt.date(2019, 7, 1)), today=dt.date(2019, 10, 14))
        assert {(r["territoire"], r["type_mesure"]): r["terminees"] for r in later.rows}[("Lens-Hénin", "AML Logement d'abord")] == 1
        # A term not yet come is not an end: on 30 June 2019, m4 (its term that day) ends, but not seen from the day before.
        before = figures(db.session(), _user(app, everyone), Period(dt.date(2019, 1, 1), dt.date(2019, 6, 30)), today=dt.date(2019, 6, 29))
        assert {(r["territoire"], r["type_mesure"]): r["terminees"] for r in before.rows}[("Lens-Hénin", "AML Logement d'abord")] == 0


def test_the_sql_end_of_a_measure_is_the_calendar_s(app: Flask, world: dict[str, Any]) -> None:
    """measure_end() in PostgreSQL gives the day the rules compute (renewals, early ends, 31 January + 1 month)."""
    with app.app_context():
        s = db.session()
        odd = s.get(Mesure, world["mesures"]["m7"])
        odd.date_premiere_rencontre, odd.date_bon_commande = dt.date(2019, 1, 31), dt.date(2019, 1, 31)
        s.flush()
        for m in s.scalars(select(Mesure).where(Mesure.id.in_(world["mesures"].values()))):
            sql = s.scalar(select(measure_end()).where(Mesure.id == m.id))
            expected = overview(m, dt.date(2019, 10, 14)).calendar.end if m.date_premiere_rencontre else None
            assert sql == expected, m.reference
        s.rollback()


def _cells(html: str, row: str) -> dict[str, str]:
    found = re.search(rf'<tr data-ligne="{re.escape(row)}">(.*?)</tr>', html, re.S)
    assert found, row
    return dict(re.findall(r'<td data-chiffre="(\w+)">([^<]*)</td>', found.group(1)))


def test_the_page_shows_the_numbers_of_the_user_s_territory_only(app: Flask, world: dict[str, Any], login_as: Any) -> None:
    lens, _ = login_as("coordinateur", org="Plateforme Lens", territoires=(LENS,))
    page = lens.get(f"/statistiques/?{PERIOD}")
    html = page.get_data(as_text=True).replace("&#39;", "'")
    assert page.status_code == 200
    cells = _cells(html, "Lens-Hénin|AML Logement d'abord")
    assert cells == {**{k: str(v) for k, v in LENS_AML.items()}, "duree_moyenne": "273,0"}
    assert "Artois" not in html and "Lot 1" not in html and "Ménage m" not in html
    assert 'href="/statistiques/rapport.pdf?du=2019-01-01&amp;au=2019-06-30"' in html
    # Other parameters are not carried into the links (a name of url_for's own made a 500).
    assert lens.get(f"/statistiques/?{PERIOD}&endpoint=x&_external=1").status_code == 200
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img"') == 3 and "<title id=" in html and "<desc id=" in html
    artois, _ = login_as("coordinateur", org="Plateforme Artois", territoires=(ARTOIS,))
    html = artois.get(f"/statistiques/?{PERIOD}").get_data(as_text=True).replace("&#39;", "'")
    assert "Lens-Hénin" not in html and _cells(html, "Artois|AML Logement d'abord")["commandees"] == "1"
    # Asking for a territory one does not read is refused, in French, without its figures.
    refused = artois.get(f"/statistiques/?{PERIOD}&territoire={LENS}")
    assert refused.status_code == 422 and "vous ne lisez pas" in refused.get_data(as_text=True)


def test_the_asll_lots_are_counted_against_their_bounds(app: Flask, world: dict[str, Any], login_as: Any) -> None:
    """ASLL §11: lot 1 (140–230 a year) has the Maintien ordered on 1 January 2019, not the Installation of 31 December 2018."""
    lot1, _ = login_as("instructeur", org="Département de la Haute-Savoie", territoires=(LOT1,))
    html = lot1.get(f"/statistiques/?{PERIOD}").get_data(as_text=True)
    row = re.search(r'<tr data-lot="Lot 1 – Annecy Est et Ouest">(.*?)</tr>', html, re.S)
    assert row and re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1)) == ["0", "1", "1", "140", "230", "sous le minimum"]
    assert "Lot 2" not in html and "Lens-Hénin" not in html
    coordinator, _ = login_as("coordinateur")  # reads AML only: no lot
    assert "data-lot=" not in coordinator.get(f"/statistiques/?{PERIOD}").get_data(as_text=True)


@pytest.mark.parametrize(("installations", "state"), [
    (0, "sous le minimum"), (1, "dans la fourchette"), (2, "dans la fourchette"), (3, "au-delà du maximum"),
])
def test_a_lots_count_is_set_against_its_minimum_and_maximum_on_each_side(
    app: Flask, world: dict[str, Any], login_as: Any, installations: int, state: str
) -> None:
    """ASLL §11 ("dans la fourchette d'un mini et d'un maxi"), counted in PostgreSQL for the page: lot 1
    bounded 2–3 for the test holds m7 (Maintien, 2019) and ``installations`` more: 1 is below the
    minimum, 2 at it, 3 at the maximum, 4 above it; the bounds are the lot's as configured."""
    writer = world["writer"]
    with app.app_context():
        s = db.session()
        lot = s.scalars(select(Territoire).where(Territoire.code == LOT1)).one()
        lot.mesures_min, lot.mesures_max = 2, 3
        for n in range(installations):
            s.add(Mesure(reference=f"ME-B-{n}", organisation_id=writer.organisation_id, referent_id=writer.id, type_mesure="asll_installation",
                         menage_nom=f"Ménage b{n}", menage_prenom="X", duree_mois=3, territoire_id=lot.id, created_at=at("2019-05-01T10:00"),
                         date_bon_commande=dt.date(2019, 5, 1)))
        s.commit()
    reader, _ = login_as("instructeur", org="Département de la Haute-Savoie", territoires=(LOT1,))
    html = reader.get(f"/statistiques/?{PERIOD}").get_data(as_text=True)
    row = re.search(r'<tr data-lot="Lot 1 – Annecy Est et Ouest">(.*?)</tr>', html, re.S)
    assert row and re.findall(r"<td[^>]*>([^<]*)</td>", row.group(1)) == [str(installations), "1", str(installations + 1), "2", "3", state]


def test_the_pdf_report_and_the_spreadsheet_hold_the_same_numbers(app: Flask, world: dict[str, Any], login_as: Any) -> None:
    lens, _ = login_as("coordinateur", org="Plateforme Lens", territoires=(LENS,))
    pdf = lens.get(f"/statistiques/rapport.pdf?{PERIOD}")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages).split())
    assert "Lens-Hénin AML Logement d'abord 1 1 2 273,0 0 1 5 1" in text and "Artois" not in text
    # The chart, drawn in the PDF: its legend, its bar's label and its values.
    assert "Mesures commandées Mesures commencées Mesures terminées Lens-Hénin – AML Logement d'abord 1 1 2" in text
    xlsx = lens.get(f"/statistiques/chiffres.xlsx?{PERIOD}")
    assert xlsx.status_code == 200
    book = load_workbook(io.BytesIO(xlsx.data))
    sheet = book["Chiffres"]
    header = [c.value for c in sheet[2]]
    values = {row[0].value: dict(zip(header, (c.value for c in row), strict=True)) for row in sheet.iter_rows(min_row=3)}
    lens_row = values["Lens-Hénin"]
    assert (lens_row["Mesures commandées"], lens_row["Mesures terminées"], lens_row["Durée moyenne (jours)"], lens_row["Bilans en retard"]) == (1, 2, 273.0, 5)
    assert set(values) == {"Lens-Hénin", "Total"}
    assert [[c.value for c in r] for r in book["Incidents"].iter_rows(min_row=2)] == [["Lens-Hénin", "AML Logement d'abord", "Ménage injoignable ou absent aux rendez-vous", 1]]


@pytest.mark.parametrize(("query", "message"), [
    ("du=2019-13-01", "AAAA-MM-JJ"), ("du=2019-07-01&au=2019-06-30", "la fin précède le début"), ("du=1900-01-01&au=2019-01-01", "vingt ans"),
    ("territoire=inconnu", "Territoire inconnu"),
])
def test_a_wrong_period_or_territory_is_refused_in_french(app: Flask, world: dict[str, Any], login_as: Any, query: str, message: str) -> None:
    web, _ = login_as("instructeur")
    for path in ("/statistiques/", "/statistiques/rapport.pdf", "/statistiques/chiffres.xlsx"):
        response = web.get(f"{path}?{query}")
        assert response.status_code == 422 and message in response.get_data(as_text=True), path


@pytest.mark.parametrize("role", ["redacteur", "archiviste", "admin"])
def test_only_the_departement_s_readers_of_measures_open_the_figures(app: Flask, world: dict[str, Any], login_as: Any, role: str) -> None:
    web, _ = login_as(role)
    for path in ("/statistiques/", "/statistiques/rapport.pdf", "/statistiques/chiffres.xlsx"):
        assert web.get(path).status_code == 403


def test_a_bilan_due_in_the_period_and_not_sent_by_its_end_is_late(app: Flask, make_user: Any) -> None:
    """A bilan never sent is late once its due date has passed within the period; sent in time, it is not."""
    writer = make_user("redacteur", org="Opérateur silencieux")
    reader = make_user("instructeur")
    with app.app_context():
        s = db.session()
        m = Mesure(reference="ME-T-silence", organisation_id=writer.organisation_id, referent_id=writer.id, type_mesure="asll_installation",
                   menage_nom="Silence", menage_prenom="X", duree_mois=3, date_bon_commande=dt.date(2019, 1, 2), date_premiere_rencontre=dt.date(2019, 1, 2))
        s.add(m)
        s.flush()
        (due,) = [d for d in overview(m, dt.date(2019, 10, 14)).calendar.dues if d.slot]
        day = dt.timedelta(days=1)
        first = dt.date(2019, 1, 1)
        # Never sent: late if due on the period's last day or before, and already past; not if due after it, nor today.
        assert unsent_late(m, first, due.due, today=dt.date(2019, 10, 14)) == 1
        assert unsent_late(m, first, due.due - day, today=dt.date(2019, 10, 14)) == 0
        assert unsent_late(m, first, due.due, today=due.due) == 0
        assert unsent_late(m, first, due.due, today=due.due + day) == 1
        assert unsent_late(m, due.due + day, due.due + 30 * day, today=dt.date(2019, 10, 14)) == 0  # due before the period
        # Sent on the period's last day: not unsent; sent the day after the period: still late for it.
        bilan = Document(kind="bilan_asll_installation", organisation_id=writer.organisation_id, author_id=writer.id, statut="soumis", data={},
                         submitted_data={}, mesure_id=m.id, echeance=due.slot, echeance_date=due.due,
                         submitted_at=dt.datetime.combine(due.due, dt.time(10), tzinfo=UTC))
        s.add(bilan)
        s.flush()
        s.refresh(m)
        assert unsent_late(m, first, due.due, today=dt.date(2019, 10, 14)) == 0
        assert unsent_late(m, first, due.due - day, today=dt.date(2019, 10, 14)) == 0
        bilan.submitted_at = dt.datetime.combine(due.due + day, dt.time(10), tzinfo=UTC)
        s.flush()
        assert unsent_late(m, first, due.due, today=dt.date(2019, 10, 14)) == 1
        # In the figures: the same count, beside the bilans sent.
        found = figures(s, _user(app, reader), Period(first, due.due), today=dt.date(2019, 10, 14))
        rows = {(r["territoire"], r["type_mesure"]): r for r in found.rows if r["bilans_en_retard"] or r["bilans_a_temps"]}
        assert [(r["bilans_a_temps"], r["bilans_en_retard"]) for r in rows.values()] == [(0, 1)]
        s.rollback()
