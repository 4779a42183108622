"""The page of one's own API tokens (issue 17): created for oneself and shown once, listed, revoked."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.api_client import ApiClient, token_for
from tests.conftest import Clock
from webforms import db
from webforms.models import ApiToken

TOKEN = re.compile(r"wf_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def form(**changes: Any) -> dict[str, Any]:
    return {"nom": "Logiciel du SIAO", "types": ["fiche_saisine"], "portee": "lecture", "jours": "90"} | changes


def tokens(app: Flask) -> list[tuple[str, list[str], str, int | None]]:
    with app.app_context():
        return [(t.name, t.kinds, t.scope, t.user_id) for t in db.session().scalars(select(ApiToken).order_by(ApiToken.id))]


def test_a_user_creates_a_token_for_themselves_shown_once_and_usable(app: Flask, login_as: Any) -> None:
    web, account = login_as("redacteur")
    response = web.post("/compte/jetons", form(types=["fiche_saisine", "fiche_incident"], portee="ecriture"))
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    (value,) = TOKEN.findall(response.get_data(as_text=True))
    assert tokens(app) == [("Logiciel du SIAO", ["fiche_incident", "fiche_saisine"], "ecriture", account.id)]
    # It acts for its user at once; the list shows its prefix, never its value again.
    assert ApiClient(app, value).get("/api/v1/kinds").status_code == 200
    listing = web.get("/compte/jetons").get_data(as_text=True)
    assert TOKEN.search(listing) is None and value[:15] in listing and "Lecture et écriture" in listing


def test_a_user_revokes_their_own_token_and_no_one_else_s(app: Flask, login_as: Any, clock: Clock) -> None:
    web, account = login_as("redacteur")
    other, other_account = login_as("redacteur", "Autre association")
    value = token_for(app, clock, account)
    theirs = token_for(app, clock, other_account)
    with app.app_context():
        mine_id, theirs_id = db.session().scalars(select(ApiToken.id).order_by(ApiToken.id)).all()
    # Another user's token is not found, and stays valid.
    assert other.post(f"/compte/jetons/{mine_id}/revoquer", {}).status_code == 404
    assert ApiClient(app, value).get("/api/v1/kinds").status_code == 200
    revoked = web.post(f"/compte/jetons/{mine_id}/revoquer", {})
    assert revoked.status_code == 302 and revoked.location.endswith("/compte/jetons")
    assert "révoqué" in html.unescape(web.get("/compte/jetons").get_data(as_text=True))
    assert ApiClient(app, value).get("/api/v1/kinds").status_code == 401
    assert ApiClient(app, theirs).get("/api/v1/kinds").status_code == 200 and theirs_id != mine_id


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"jours": "0"}, "Durée de validité de 1 à 366 jours."),
        ({"jours": "367"}, "Durée de validité de 1 à 366 jours."),
        ({"jours": "quatre-vingt-dix"}, "La durée de validité doit être un nombre entier"),
        ({"jours": "2147483648"}, "La durée de validité ne peut pas dépasser"),
        ({"jours": "9" * 30}, "La durée de validité doit être un nombre entier"),
        ({"types": []}, "Types de document inconnus ou absents"),
        ({"types": ["inconnu"]}, "Types de document inconnus ou absents : inconnu"),
        ({"portee": "tout"}, "Portée inconnue"),
        ({"nom": "  "}, "Le nom du jeton"),
        ({"nom": "x" * 101}, "Le nom du jeton"),
    ],
)
def test_a_refused_token_is_said_in_french_and_creates_nothing(app: Flask, login_as: Any, changes: dict[str, Any], message: str) -> None:
    web, _ = login_as("coordinateur")
    response = web.post("/compte/jetons", form(**changes))
    body = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422 and message in body and TOKEN.search(body) is None
    assert tokens(app) == []


@pytest.mark.parametrize("days", ["1", "366"])
def test_the_longest_and_shortest_validity_are_accepted(app: Flask, login_as: Any, days: str) -> None:
    web, _ = login_as("instructeur")
    assert web.post("/compte/jetons", form(jours=days)).status_code == 200
    assert len(tokens(app)) == 1


def test_the_page_needs_a_signed_in_user_and_its_form_a_csrf_token(app: Flask, login_as: Any) -> None:
    assert app.test_client().get("/compte/jetons").status_code == 302
    web, _ = login_as("archiviste")
    assert web.post("/compte/jetons", form(), csrf=False).status_code == 400
    assert tokens(app) == []
