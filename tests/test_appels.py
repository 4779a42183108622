"""Calls for applications: configuration, not code (AML §1, §5, §6; DESIGN §2.2)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from webforms import db
from webforms.candidatures.appels import is_open, time_left_text
from webforms.models import Appel

SEED = Path(__file__).resolve().parent.parent / "webforms" / "data" / "appel_aml_2019.json"


def form_of(data: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in data.items() if not isinstance(v, list)}
    for i, t in enumerate(data["territoires"]):
        out.update({f"territoires-{i}-{k}": v for k, v in t.items()})
    out["pieces"] = data["pieces"]
    return out


def test_the_2019_call_ships_as_data(app: Flask) -> None:
    with app.app_context():
        appel = db.session().query(Appel).one()
        assert [(t["nom"], t["mesures"]) for t in appel.data["territoires"]] == [("Artois", 26), ("Lens-Hénin", 32)]
        assert appel.data["montant_par_mesure"] == "5000.00"
        # 6 September 2019 at 16:00 in Paris (summer time) is 14:00 UTC (AML §6d).
        assert appel.deadline == dt.datetime(2019, 9, 6, 14, 0, tzinfo=dt.UTC)
        assert is_open(appel, dt.datetime(2019, 9, 6, 13, 59, 59, tzinfo=dt.UTC))
        assert not is_open(appel, dt.datetime(2019, 9, 6, 14, 0, tzinfo=dt.UTC))


def test_admin_creates_and_edits_a_call(app: Flask, login_as: Any) -> None:
    web, _ = login_as("admin", org="Administration webforms")
    data = json.loads(SEED.read_text(encoding="utf-8"))
    data.update(code="aml-2021", titre="Appel AML 2021", date_limite="2021-02-01", heure_limite="12:00")
    response = web.post("/admin/appels", form_of(data))
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        appel = db.session().query(Appel).filter_by(code="aml-2021").one()
        assert appel.deadline == dt.datetime(2021, 2, 1, 11, 0, tzinfo=dt.UTC)  # winter time: UTC+1
        appel_id = appel.id
    edited = form_of({**data, "territoires": [{"code": "artois", "nom": "Artois", "mesures": 30}]})
    assert web.post(f"/admin/appels/{appel_id}", edited).status_code == 302
    with app.app_context():
        assert db.session().get(Appel, appel_id).data["territoires"] == [{"code": "artois", "nom": "Artois", "mesures": 30}]


def test_call_form_refuses_with_french_messages_and_keeps_input(app: Flask, login_as: Any) -> None:
    web, _ = login_as("admin", org="Administration webforms")
    data = json.loads(SEED.read_text(encoding="utf-8"))
    bad = form_of({**data, "heure_limite": "16h75", "periode_fin": "2019-01-01"})
    response = web.post("/admin/appels", bad)
    body = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Heure invalide" in body and "La fin de la période précède son début." in body and 'value="16h75"' in body
    assert "existe déjà" in web.post("/admin/appels", form_of(data)).get_data(as_text=True)  # the seed's code
    # Two territories of one name would leave a dossier's cap ambiguous; a call funds something.
    twins = {**data, "code": "aml-jumeaux", "montant_par_mesure": "0", "territoires": [{"code": "a", "nom": "Artois", "mesures": 3}, {"code": "b", "nom": " artois ", "mesures": 5}]}
    body = web.post("/admin/appels", form_of(twins)).get_data(as_text=True)
    assert "Deux territoires portent le même nom." in body and "Le financement par mesure doit être supérieur à 0 €." in body
    page = web.post("/admin/appels", {**form_of(data), "action": "add:territoires"}).get_data(as_text=True)
    assert 'id="territoires-2"' in page  # a third row, nothing saved
    with app.app_context():
        assert db.session().query(Appel).count() == 1


def test_a_territory_named_by_dossiers_is_neither_renamed_nor_removed(app: Flask, login_as: Any, clock: Any) -> None:
    from tests.test_candidatures import BEFORE_DEADLINE, appel_id_of, open_dossier

    clock.now = BEFORE_DEADLINE
    association, _ = login_as("redacteur")
    open_dossier(app, association)  # prefilled with the call's two territories
    web, _ = login_as("admin", org="Administration webforms")
    data = json.loads(SEED.read_text(encoding="utf-8"))
    appel_id = appel_id_of(app)
    renamed = {**data, "territoires": [{"code": "artois", "nom": "Artois-Ternois", "mesures": 26}, data["territoires"][1]]}
    response = web.post(f"/admin/appels/{appel_id}", form_of(renamed))
    assert response.status_code == 422
    assert "Le territoire « Artois » figure dans 1 dossier : il ne peut plus être renommé ni retiré." in response.get_data(as_text=True).replace("&#34;", '"')
    with app.app_context():
        assert [t["nom"] for t in db.session().get(Appel, appel_id).data["territoires"]] == ["Artois", "Lens-Hénin"]
    more = {**data, "territoires": [{**data["territoires"][0], "mesures": 30}, data["territoires"][1]]}
    assert web.post(f"/admin/appels/{appel_id}", form_of(more)).status_code == 302  # its count may change


def test_the_calls_page_shows_what_an_association_needs_to_know(login_as: Any) -> None:
    web, _ = login_as("redacteur")
    page = web.get("/appels").get_data(as_text=True)
    for expected in ("6 septembre 2019 à 16:00", "Artois : 26 mesures", "Lens-Hénin : 32 mesures", "5\u202f000,00\xa0€ par mesure", "du 1er septembre 2019 au 31 décembre 2020"):
        assert expected in page, expected


def test_only_admins_manage_calls(login_as: Any) -> None:
    web, _ = login_as("instructeur", org="Département")
    assert web.get("/admin/appels").status_code == 403


DEADLINE = dt.datetime(2019, 9, 6, 14, 0, tzinfo=dt.UTC)  # 6 September 2019, 16:00 in Paris (AML §6d)


@pytest.mark.parametrize(
    ("left", "said"),
    [
        (dt.timedelta(days=2), "2 jours"),
        (dt.timedelta(days=1, hours=1, minutes=59), "1 jour et 1 heure"),
        (dt.timedelta(hours=23, minutes=59, seconds=59), "23 heures et 59 minutes"),
        (dt.timedelta(hours=1, minutes=1), "1 heure et 1 minute"),
        (dt.timedelta(minutes=1), "1 minute"),
        (dt.timedelta(seconds=59), "moins d'une minute"),
    ],
)
def test_the_time_left_is_said_as_people_say_it(left: dt.timedelta, said: str) -> None:
    assert time_left_text(left) == said


def _near_warning(page: str) -> bool:
    return "La date limite de dépôt approche" in page


def test_an_open_call_shows_the_time_left_and_warns_two_days_before(login_as: Any, clock: Any) -> None:
    web, _ = login_as("redacteur")
    clock.now = DEADLINE - dt.timedelta(days=2, minutes=1)
    page = web.get("/appels").get_data(as_text=True)
    assert "(il reste 2 jours)" in page and not _near_warning(page)
    assert "Préparer un dossier de candidature" in page
    clock.now = DEADLINE - dt.timedelta(days=2)
    page = web.get("/appels").get_data(as_text=True)
    assert "(il reste 2 jours)" in page and _near_warning(page)


def test_a_closed_call_says_since_when_and_what_can_still_be_done(app: Flask, login_as: Any, clock: Any) -> None:
    from tests.test_candidatures import open_dossier

    newcomer, _ = login_as("redacteur", org="Association Nouvelle")
    late, _ = login_as("redacteur", org="Association En Retard")
    clock.now = DEADLINE - dt.timedelta(hours=3)
    open_dossier(app, late)  # a draft never deposited
    clock.now = DEADLINE
    page = newcomer.get("/appels").get_data(as_text=True).replace("&#39;", "'")
    assert "6 septembre 2019 à 16:00 – <strong class=\"badge-late\">clos</strong> depuis cette date" in page
    assert "Cet appel est clos depuis le 6 septembre 2019 à 16:00 : il n'accepte plus de nouveau dossier (AML §6d)." in page
    assert "Préparer un dossier de candidature" not in page and "il reste" not in page
    page = late.get("/appels").get_data(as_text=True).replace("&#39;", "'")
    assert "Votre dossier n'a pas été déposé avant la date limite : il ne peut plus l'être (AML §6b, §6d), mais il reste consultable." in page
    instructeur, _ = login_as("instructeur", org="Département")
    assert "Clos depuis le 6 septembre 2019 à 16:00 : les dossiers déposés restent consultables." in instructeur.get("/appels").get_data(as_text=True)


def test_the_dossier_and_its_form_warn_when_the_deadline_is_near(app: Flask, login_as: Any, clock: Any) -> None:
    from tests.test_candidatures import open_dossier

    web, _ = login_as("redacteur")
    clock.now = DEADLINE - dt.timedelta(days=5)
    doc_id = open_dossier(app, web)
    pages = (f"/documents/{doc_id}/liste", f"/documents/{doc_id}/modifier?etape=1")
    assert "(il reste 5 jours)" in web.get(pages[0]).get_data(as_text=True)
    for url in pages:
        assert not _near_warning(web.get(url).get_data(as_text=True)), url
    clock.now = DEADLINE - dt.timedelta(hours=5)
    for url in pages:
        assert _near_warning(web.get(url).get_data(as_text=True)), url


@pytest.mark.parametrize(
    ("deadline", "warned"),
    [("2019-08-31", "avant le début"), ("2019-09-01", None), ("2020-12-31", None), ("2021-01-01", "après la fin")],
)
def test_an_administrator_is_warned_of_a_deadline_outside_the_funding_period(login_as: Any, deadline: str, warned: str | None) -> None:
    web, _ = login_as("admin", org="Administration webforms")
    data = json.loads(SEED.read_text(encoding="utf-8"))
    data.update(code="aml-2021", titre="Appel à candidature « AML » 2021", date_limite=deadline)
    response = web.post("/admin/appels", form_of(data))
    assert response.status_code == 302
    page = web.get(response.location).get_data(as_text=True).replace("&#39;", "'")
    assert "L'appel est enregistré : Appel à candidature « AML » 2021." in page  # its own quotes, not quoted again
    if warned:
        assert f"tombe {warned} de la période de financement (du 1er septembre 2019 au 31 décembre 2020)" in page
    else:
        assert "période de financement (du" not in page
