"""Accounts (issue 15): the password rule, changing one's password, an administrator's reset, deactivation; each logged."""

from __future__ import annotations

from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from tests.conftest import PASSWORD, Account, WebClient, user_of
from webforms import db
from webforms.accounts.passwords import RULE, password_problem
from webforms.accounts.services import AccountError, create_user
from webforms.commands.accounts import account as account_cli
from webforms.models import Event, Organisation

NEW_PASSWORD = "un nouveau mot de passe bien long"
LONG = " ".join(f"ligne{i}" for i in range(40))  # 279 characters, no pattern


@pytest.mark.parametrize(
    ("password", "refused"),
    [
        ("aaaaaaaaaaaa", "répétition"),
        ("abcdabcdabcd", "répétition"),
        ("aaaabbbbcccc", "répétition"),  # 3 different characters
        ("aabbccddeeff", None),  # 6 different, no pattern repeated whole: the rule's other side
        ("aabbccddaabd", "répétition"),  # 4 different characters
        ("aabbccddeeaa", None),  # 5 different (MIN_DISTINCT)
        ("zqvkwjzqvkwj", "répétition"),  # 6 different, one pattern said twice: refused by the pattern alone
        ("zqvkwjzqvkwx", None),  # the same, its last character changed
        ("123456789012", "suite"),
        ("987654321098", "suite"),
        ("azertyuiopqs", "suite"),
        ("abcdefghijkm", None),  # one step off the alphabet
        ("Azerty2024!!", "courants"),
        ("motdepasse2024", "courants"),
        ("Soleil123456", "courants"),
        ("Soleil du matin 2024", None),
        ("jean.dupont2024", "nom"),
        ("Dupont-Arras-62!", "nom"),
        ("Durand-Arras-62!", None),
        ("onze-caract", "12 caractères"),  # 11
        ("douze-caract", None),  # 12
        (LONG[:200], None),
        (LONG[:201], "dépasser"),
    ],
)
def test_the_password_rule(password: str, refused: str | None) -> None:
    problem = password_problem(password, email="jean.dupont@example.fr", full_name="Jean Dupont")
    if refused is None:
        assert problem is None
    else:
        assert problem is not None and refused in problem


def test_an_account_is_not_created_with_a_weak_password(app: Flask) -> None:
    with app.app_context():
        s = db.session()
        org = Organisation(name="Asso")
        s.add(org)
        s.commit()
        with pytest.raises(AccountError, match="répétition"):
            create_user(s, email="a@example.fr", full_name="A B", role="redacteur", organisation_id=org.id, password="aaaaaaaaaaaa")


def events(app: Flask, action: str) -> list[dict[str, Any]]:
    with app.app_context():
        return [dict(e.detail, by=e.user_id) for e in db.session().scalars(select(Event).where(Event.action == action))]


def sign_in(app: Flask, account: Account, password: str = PASSWORD) -> tuple[WebClient, Any]:
    web = WebClient(app.test_client())
    web.get("/connexion")
    return web, web.post("/connexion", {"email": account.email, "password": password})


def test_the_rule_is_shown_where_a_password_is_set(login_as: Any) -> None:
    web, _ = login_as("redacteur")
    page = web.get("/compte/mot-de-passe").get_data(as_text=True)
    assert RULE.replace("'", "&#39;") in page and 'aria-describedby="regle-mot-de-passe"' in page


@pytest.mark.parametrize(
    ("current", "new", "confirm", "message"),
    [
        ("pas-le-mot-de-passe", NEW_PASSWORD, NEW_PASSWORD, "Le mot de passe actuel est incorrect."),
        (PASSWORD, NEW_PASSWORD, NEW_PASSWORD + "x", "Les deux saisies du nouveau mot de passe diffèrent."),
        (PASSWORD, "aaaaaaaaaaaa", "aaaaaaaaaaaa", "répétition"),
        (PASSWORD, PASSWORD, PASSWORD, "doit être différent"),
    ],
)
def test_a_refused_password_change_changes_nothing(app: Flask, login_as: Any, current: str, new: str, confirm: str, message: str) -> None:
    web, account = login_as("redacteur")
    web.get("/compte/mot-de-passe")
    before = user_of(app, account).password_hash
    response = web.post("/compte/mot-de-passe", {"current": current, "new": new, "confirm": confirm})
    assert response.status_code == 422 and message in response.get_data(as_text=True).replace("&#39;", "'")
    assert user_of(app, account).password_hash == before and events(app, "password_changed") == []
    assert web.get("/").status_code == 200


def test_changing_ones_password_ends_the_other_sessions(app: Flask, login_as: Any) -> None:
    web, account = login_as("redacteur")
    other, _ = sign_in(app, account)
    web.get("/compte/mot-de-passe")
    response = web.post("/compte/mot-de-passe", {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302
    assert web.get("/").status_code == 200  # this one goes on (under a new id)
    assert other.get("/").status_code == 302  # the other ended
    assert sign_in(app, account)[1].status_code == 401
    assert sign_in(app, account, NEW_PASSWORD)[1].status_code == 302
    assert events(app, "password_changed") == [{"email": account.email, "by": account.id}]


def test_an_administrators_reset_forces_a_change_at_next_sign_in(app: Flask, login_as: Any) -> None:
    user_web, account = login_as("redacteur")
    admin, admin_account = login_as("admin")
    admin.get("/admin/utilisateurs")
    page = admin.post(f"/admin/utilisateurs/{account.id}/mot-de-passe").get_data(as_text=True)
    assert "réinitialisé" in page
    given = page.split('<code class="secret">')[1].split("</code>")[0]
    assert user_web.get("/").status_code == 302  # the user's sessions ended
    assert events(app, "password_reset") == [{"email": account.email, "by": admin_account.id}]
    web, response = sign_in(app, account, given)
    assert response.status_code == 302
    # Wherever they go, they are sent to change it first.
    for url in ("/", "/mesures", "/documents/nouveau/fiche_saisine"):
        assert web.get(url).headers.get("Location") == "/compte/mot-de-passe", url
    page = web.get("/compte/mot-de-passe").get_data(as_text=True)
    assert "réinitialisé par un administrateur" in page
    assert web.post("/compte/mot-de-passe", {"current": given, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    assert web.get("/").status_code == 200


def test_deactivation_and_reactivation_from_the_web(app: Flask, login_as: Any) -> None:
    _, account = login_as("redacteur")
    admin, admin_account = login_as("admin")
    admin.get("/admin/utilisateurs")
    admin.post(f"/admin/utilisateurs/{account.id}/desactiver")
    assert "désactivé" in admin.get("/admin/utilisateurs").get_data(as_text=True)
    assert not user_of(app, account).active
    assert sign_in(app, account)[1].status_code == 401
    again = admin.post(f"/admin/utilisateurs/{account.id}/desactiver")  # already: refused, nothing logged twice
    assert again.status_code == 302 and "déjà désactivé" in admin.get("/admin/utilisateurs").get_data(as_text=True)
    admin.post(f"/admin/utilisateurs/{account.id}/reactiver")
    assert sign_in(app, account)[1].status_code == 302
    assert events(app, "account_deactivated") == events(app, "account_reactivated") == [{"email": account.email, "by": admin_account.id}]


def test_an_administrator_cannot_deactivate_their_own_account(app: Flask, login_as: Any) -> None:
    admin, admin_account = login_as("admin")
    admin.get("/admin/utilisateurs")
    admin.post(f"/admin/utilisateurs/{admin_account.id}/desactiver")
    assert "propre compte" in admin.get("/admin/utilisateurs").get_data(as_text=True)
    assert user_of(app, admin_account).active and events(app, "account_deactivated") == []


def test_deactivation_reactivation_and_reset_from_the_command_line(app: Flask, make_user: Any) -> None:
    account = make_user("redacteur")
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "WEBFORMS_INSTANCE_PATH": app.instance_path, "WEBFORMS_SECRET_KEY": "tests-only-secret"}
    runner = CliRunner()
    off = runner.invoke(account_cli, ["deactivate", account.email], env=env)
    assert off.exit_code == 0 and "Compte désactivé" in off.output
    assert not user_of(app, account).active
    twice = runner.invoke(account_cli, ["deactivate", account.email], env=env)
    assert twice.exit_code == 1 and "déjà désactivé" in twice.output
    assert runner.invoke(account_cli, ["reactivate", account.email], env=env).exit_code == 0
    reset = runner.invoke(account_cli, ["reset-password", account.email], env=env)
    given = reset.output.rsplit(": ", 1)[1].strip()
    assert reset.exit_code == 0 and sign_in(app, account, given)[1].status_code == 302
    unknown = runner.invoke(account_cli, ["deactivate", "personne@example.fr"], env=env)
    assert unknown.exit_code == 1 and "Aucun compte" in unknown.output
    assert [e["by"] for e in events(app, "account_deactivated") + events(app, "password_reset")] == [None, None]
