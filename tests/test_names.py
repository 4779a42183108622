"""Names typed by a user (organisations, accounts, calls) refuse control characters, in French (issue 15)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.test_appels import SEED, form_of
from webforms import db
from webforms.accounts.services import AccountError, create_organisation, create_user
from webforms.errors import DocumentError, check_name, name_problem
from webforms.models import Appel, Organisation, User

HIDDEN = ["\x00\x0b", "Habitat\x00", "A\x07B", "Tab\tulé", "ligne\nsuivante", "\x7f", "C1\x85", "\u202egpj.exe", "fin\u2028"]
SHOWN = ["Habitat & Cie – Lille", "Œuvre d'Artois (62)", "Émile Zoé-Noël", "签名 مرحبا"]


@pytest.mark.parametrize("name", HIDDEN)
def test_a_name_with_a_control_character_is_refused_naming_it(name: str) -> None:
    problem = name_problem(name, "Le nom")
    assert problem is not None and problem.startswith("Le nom contient un caractère invisible ou de contrôle (U+")
    with pytest.raises(DocumentError, match="U\\+"):
        check_name(name, "Le nom")


@pytest.mark.parametrize("name", SHOWN)
def test_a_printable_name_is_kept_as_typed(name: str) -> None:
    assert name_problem(name, "Le nom") is None and check_name(name, "Le nom") == name


def test_an_organisation_named_with_control_characters_is_not_created(app: Flask, login_as: Any) -> None:
    web, _ = login_as("admin")
    web.get("/admin/organisations")
    response = web.post("/admin/organisations", {"name": "\x00\x0b"})
    assert response.status_code == 422 and "U+0000" in response.get_data(as_text=True)
    assert web.post("/admin/organisations", {"name": "Habitat & Cie – Lille"}).status_code == 200
    with app.app_context():
        names = set(db.session().scalars(select(Organisation.name)))
        assert "Habitat & Cie – Lille" in names and not any(name_problem(n, "x") for n in names)
        with pytest.raises(AccountError, match="U\\+000B"):
            create_organisation(db.session(), "Asso\x0bciation")


def test_an_account_named_with_control_characters_is_not_created(app: Flask, make_user: Any) -> None:
    org = make_user("admin").organisation_id
    with app.app_context():
        session = db.session()
        common = {"role": "redacteur", "organisation_id": org, "password": "un-mot-de-passe-solide"}
        with pytest.raises(AccountError, match=r"Le nom complet .*U\+0007"):
            create_user(session, email="a@example.fr", full_name="A\x07B", **common)
        with pytest.raises(AccountError, match=r"L'adresse électronique .*U\+0000"):
            create_user(session, email="a\x00@example.fr", full_name="A B", **common)
        assert session.scalar(select(User).where(User.email == "a@example.fr")) is None
        assert create_user(session, email="a@example.fr", full_name="Émile Zoé-Noël", **common).full_name == "Émile Zoé-Noël"


@pytest.mark.parametrize(("field", "value"), [("titre", "Appel\x0c2021"), ("code", "aml\x00x"), ("territoires-0-nom", "Art\x1bois")])
def test_a_call_named_with_control_characters_is_not_saved(app: Flask, login_as: Any, field: str, value: str) -> None:
    web, _ = login_as("admin", org="Administration webforms")
    data = json.loads(SEED.read_text(encoding="utf-8"))
    data.update(code="aml-2021", titre="Appel AML 2021")
    response = web.post("/admin/appels", {**form_of(data), field: value})
    assert response.status_code == 422 and "caractère invisible ou de contrôle" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalar(select(Appel).where(Appel.code.like("aml%x") | (Appel.code == "aml-2021"))) is None
    assert web.post("/admin/appels", form_of(data)).status_code == 302
