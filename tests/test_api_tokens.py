"""API tokens (issue 17): shown once, stored hashed, scoped, expiring, revocable; the command line."""

from __future__ import annotations

import datetime as dt
import getpass
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask, current_app
from sqlalchemy import select

from tests.conftest import Account, Clock
from webforms import cli, db
from webforms.api.tokens import TokenError, create_token, made_by, recognise, revoke_token, token_by_prefix, tokens_of
from webforms.models import ApiToken, ArchiveLog, User


def _issue(session: Any, clock: Clock, account: Account, *, actor: Account | None = None, **kwargs: Any) -> tuple[ApiToken, str]:
    options = {"name": "Logiciel du SIAO", "kinds": ["fiche_saisine"], "scope": "lecture", "days": 30} | kwargs
    user = session.get(User, account.id)
    by = session.get(User, actor.id) if actor else user
    return create_token(session, current_app.extensions["webforms.archive"], actor=by, user=user, now=clock(), **options)


def test_a_token_is_shown_once_and_only_its_digest_is_kept(session: Any, clock: Clock, make_user: Callable[..., Account]) -> None:
    token, value = _issue(session, clock, make_user("redacteur"))
    prefix, secret = value.removeprefix("wf_").split("_", 1)
    assert token.prefix == prefix and len(secret) >= 43
    assert token.secret_sha256 == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in repr(session.execute(select(ApiToken.__table__)).all())
    assert recognise(session, f"Bearer {value}", clock()).id == token.id


@pytest.mark.parametrize(
    ("header", "message"),
    [
        (None, "Authentification requise"),
        ("Basic dXNlcjpwYXNz", "Authentification requise"),
        ("Bearer ", "Authentification requise"),
        ("Bearer wf_000000000000_" + "A" * 43, "inconnu"),
        ("Bearer n'importe quoi", "inconnu"),
    ],
)
def test_a_missing_or_unknown_token_is_refused(session: Any, clock: Clock, header: str | None, message: str) -> None:
    with pytest.raises(TokenError, match=message):
        recognise(session, header, clock())


def test_a_wrong_secret_with_a_real_prefix_is_refused(session: Any, clock: Clock, make_user: Callable[..., Account]) -> None:
    _, value = _issue(session, clock, make_user("redacteur"))
    forged = value[:-1] + ("A" if value[-1] != "A" else "B")
    with pytest.raises(TokenError, match="inconnu"):
        recognise(session, f"Bearer {forged}", clock())


def test_a_token_expires_on_its_day_not_before(session: Any, clock: Clock, make_user: Callable[..., Account]) -> None:
    token, value = _issue(session, clock, make_user("redacteur"), days=1)
    clock.now = token.expires_at - dt.timedelta(seconds=1)
    assert recognise(session, f"Bearer {value}", clock()).id == token.id
    clock.now = token.expires_at
    with pytest.raises(TokenError, match="expiré"):
        recognise(session, f"Bearer {value}", clock())


def test_a_revoked_token_is_refused_at_once(session: Any, clock: Clock, make_user: Callable[..., Account]) -> None:
    account = make_user("redacteur")
    token, value = _issue(session, clock, account)
    revoke_token(session, token, actor=session.get(User, account.id), now=clock())
    with pytest.raises(TokenError, match="révoqué"):
        recognise(session, f"Bearer {value}", clock())


def test_a_token_stops_when_its_user_leaves_the_organisation_or_is_deactivated(session: Any, clock: Clock, make_user: Callable[..., Account]) -> None:
    account, elsewhere = make_user("redacteur"), make_user("redacteur", org="Autre association")
    _, value = _issue(session, clock, account)
    user = session.get(User, account.id)
    user.organisation_id = elsewhere.organisation_id
    session.commit()
    with pytest.raises(TokenError, match="organisation"):
        recognise(session, f"Bearer {value}", clock())
    user.organisation_id, user.active = account.organisation_id, False
    session.commit()
    with pytest.raises(TokenError, match="désactivé"):
        recognise(session, f"Bearer {value}", clock())


def test_only_an_administrator_issues_or_revokes_a_token_for_someone_else(session: Any, clock: Clock, make_user: Callable[..., Account]) -> None:
    owner, colleague, admin = make_user("redacteur"), make_user("redacteur"), make_user("admin")
    with pytest.raises(TokenError, match="administrateur"):
        _issue(session, clock, owner, actor=colleague)
    token, _ = _issue(session, clock, owner, actor=admin)
    assert token.created_by_id == admin.id and token.user_id == owner.id
    with pytest.raises(TokenError, match="administrateur"):
        revoke_token(session, token, actor=session.get(User, colleague.id), now=clock())
    assert token.revoked_at is None


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"kinds": []}, "Types"),
        ({"kinds": ["inconnu"]}, "inconnu"),
        ({"scope": "admin"}, "Portée"),
        ({"days": 0}, "Durée"),
        ({"days": 367}, "Durée"),
        ({"name": " "}, "nom"),
    ],
)
def test_a_token_request_out_of_bounds_is_refused(session: Any, clock: Clock, make_user: Callable[..., Account], options: dict[str, Any], message: str) -> None:
    with pytest.raises(TokenError, match=message):
        _issue(session, clock, make_user("redacteur"), **options)
    assert session.scalars(select(ApiToken)).all() == []


def test_the_longest_allowed_validity_is_accepted(session: Any, clock: Clock, make_user: Callable[..., Account]) -> None:
    token, _ = _issue(session, clock, make_user("redacteur"), days=366)
    assert token.expires_at == clock() + dt.timedelta(days=366)


def test_the_command_line_creates_lists_and_revokes(app: Flask, make_user: Callable[..., Account], tmp_path: Path) -> None:
    account = make_user("redacteur")
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "WEBFORMS_INSTANCE_PATH": str(tmp_path / "cli")}
    runner = CliRunner()
    created = runner.invoke(cli.main, ["api-token", "create", "--email", account.email, "--name", "SIAO", "--kind", "fiche_saisine", "--scope", "ecriture"], env=env)
    assert created.exit_code == 0, created.output
    value = created.stdout.strip().splitlines()[-1]
    assert value.startswith("wf_")
    listed = runner.invoke(cli.main, ["api-token", "list"], env=env)
    # wf_<prefix>_<secret>: the secret (URL-safe base64) may itself hold "_".
    scheme, prefix_hex, secret = value.split("_", 2)
    prefix = f"{scheme}_{prefix_hex}"
    assert listed.exit_code == 0 and prefix in listed.stdout and "actif" in listed.stdout
    assert secret not in listed.stdout  # the secret is never shown again
    revoked = runner.invoke(cli.main, ["api-token", "revoke", prefix], env=env)
    assert revoked.exit_code == 0, revoked.output
    with app.app_context():
        assert token_by_prefix(db.session(), prefix).revoked_at is not None
    assert "révoqué" in runner.invoke(cli.main, ["api-token", "list"], env=env).stdout
    refused = runner.invoke(cli.main, ["api-token", "create", "--email", account.email, "--name", "x", "--kind", "nope"], env=env)
    assert refused.exit_code == 1 and "inconnu" in refused.output


def _command_line(session: Any, clock: Clock, account: Account, operator: str | None) -> tuple[ApiToken, str]:
    """Create a token as the command line does: no account acts, an operator is named."""
    user = session.get(User, account.id)
    return create_token(
        session, current_app.extensions["webforms.archive"], actor=None, user=user, name="Outil financier", kinds=["fiche_saisine"],
        scope="lecture", days=30, now=clock(), operator=operator,
    )


@pytest.mark.parametrize("operator", [None, "", "   ", "x" * 101])
def test_a_token_made_on_the_command_line_without_its_operator_is_refused(session: Any, clock: Clock, make_user: Callable[..., Account], operator: str | None) -> None:
    with pytest.raises(TokenError, match="--par"):
        _command_line(session, clock, make_user("redacteur"), operator)
    assert session.scalars(select(ApiToken)).all() == [] and session.scalars(select(ArchiveLog)).all() == []


@pytest.mark.parametrize("operator", ["j", "x" * 100])
def test_the_operator_of_the_command_line_is_recorded_and_logged(session: Any, clock: Clock, make_user: Callable[..., Account], operator: str) -> None:
    account = make_user("redacteur")
    token, _ = _command_line(session, clock, account, f" {operator} ")
    assert (token.created_by_id, token.created_by_operator) == (None, operator)
    assert made_by(token) == f"ligne de commande ({operator})"
    (row,) = session.scalars(select(ArchiveLog)).all()
    assert (row.action, row.user_id) == ("jeton_cree", None)
    assert row.detail == {"jeton": token.id, "prefixe": token.prefix, "compte": account.id, "par": operator}


def test_a_token_made_on_the_pages_names_its_account_and_is_logged(session: Any, clock: Clock, make_user: Callable[..., Account]) -> None:
    owner, admin = make_user("redacteur"), make_user("admin")
    token, _ = _issue(session, clock, owner, actor=admin)
    assert (token.created_by_operator, made_by(token)) == (None, admin.email)
    (row,) = session.scalars(select(ArchiveLog)).all()
    assert (row.action, row.user_id, row.detail["compte"], row.detail["par"]) == ("jeton_cree", admin.id, owner.id, None)


def test_the_command_line_records_its_operator_given_or_the_system_user(app: Flask, make_user: Callable[..., Account], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    account = make_user("redacteur")
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "WEBFORMS_INSTANCE_PATH": str(tmp_path / "cli")}
    runner = CliRunner()
    create = ["api-token", "create", "--email", account.email, "--name", "SIAO", "--kind", "fiche_saisine"]
    monkeypatch.setattr(getpass, "getuser", lambda: "exploitant")
    assert runner.invoke(cli.main, [*create, "--par", "jdupont"], env=env).exit_code == 0
    assert runner.invoke(cli.main, create, env=env).exit_code == 0
    with app.app_context():
        session = db.session()
        assert [t.created_by_operator for t in tokens_of(session)] == ["exploitant", "jdupont"]
        assert [r.detail["par"] for r in session.scalars(select(ArchiveLog).order_by(ArchiveLog.id))] == ["jdupont", "exploitant"]
    listed = runner.invoke(cli.main, ["api-token", "list"], env=env).stdout
    assert "créé par : ligne de commande (jdupont)" in listed and "créé par : ligne de commande (exploitant)" in listed

    def unknown() -> str:
        raise OSError("No username set in the environment")

    monkeypatch.setattr(getpass, "getuser", unknown)
    refused = runner.invoke(cli.main, create, env=env)
    assert refused.exit_code == 1 and "--par" in refused.output
    with app.app_context():
        assert len(tokens_of(db.session())) == 2  # nothing made


def test_the_tokens_page_names_who_made_each_token(app: Flask, session: Any, clock: Clock, login_as: Any) -> None:
    web, account = login_as("redacteur")
    _command_line(session, clock, account, "jdupont")
    _issue(session, clock, account)
    page = web.get("/compte/jetons").get_data(as_text=True)
    assert "Créé par" in page and "ligne de commande (jdupont)" in page and account.email in page


@pytest.mark.parametrize("name", ["Logiciel\x00", "SIAO\x0b", "\u202eOAIS", "Ligne\nsuivante"])
def test_a_token_name_with_a_control_character_is_refused(session: Any, clock: Clock, make_user: Callable[..., Account], name: str) -> None:
    account = make_user("redacteur")
    with pytest.raises(TokenError, match="Le nom du jeton contient un caractère invisible ou de contrôle"):
        _issue(session, clock, account, name=name)
    assert session.scalar(select(ApiToken).where(ApiToken.user_id == account.id)) is None
    # The same name without it: created.
    assert _issue(session, clock, account, name="Logiciel du SIAO – Artois")[0].name == "Logiciel du SIAO – Artois"
