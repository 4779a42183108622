"""The optional second factor (TOTP) of administrators and archivistes (issue 15)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pyotp
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from tests.conftest import PASSWORD, Account, Clock, WebClient
from webforms import db
from webforms.commands.accounts import account as account_cli
from webforms.models import AccountSecurity, Event

ENROL = "/compte/double-authentification"






def code_at(secret: str, moment: dt.datetime) -> str:
    return pyotp.TOTP(secret).at(moment)


def enrolled(web: WebClient, session_clock: Clock) -> str:
    """Enrol the signed-in user; return the secret the page showed."""
    page = web.get(ENROL).get_data(as_text=True)
    secret = re.search(r'<code class="secret">([A-Z2-7]{32})</code>', page).group(1)  # type: ignore[union-attr]
    assert web.post(ENROL, {"code": code_at(secret, session_clock.now)}).status_code == 302
    return secret


def events(app: Flask, action: str) -> list[Any]:
    with app.app_context():
        return [(e.user_id, e.detail) for e in db.session().scalars(select(Event).where(Event.action == action))]


def security(app: Flask, account: Account) -> AccountSecurity | None:
    with app.app_context():
        return db.session().get(AccountSecurity, account.id)


def sign_in(app: Flask, account: Account, next_url: str = "") -> tuple[WebClient, Any]:
    web = WebClient(app.test_client())
    web.get("/connexion")
    return web, web.post("/connexion" + (f"?next={next_url}" if next_url else ""), {"email": account.email, "password": PASSWORD})


def test_only_administrators_and_archivistes_enrol(login_as: Any) -> None:
    for role, status in (("redacteur", 403), ("coordinateur", 403), ("instructeur", 403), ("archiviste", 200), ("admin", 200)):
        web, _ = login_as(role)
        assert web.get(ENROL).status_code == status, role


def test_enrolment_shows_the_secret_once_and_needs_a_code(app: Flask, login_as: Any, session_clock: Clock) -> None:
    web, account = login_as("archiviste")
    page = web.get(ENROL).get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page and "otpauth://totp/webforms:" in page
    secret = re.search(r'<code class="secret">([A-Z2-7]{32})</code>', page).group(1)  # type: ignore[union-attr]
    assert secret in web.get(ENROL).get_data(as_text=True)  # the same until confirmed
    wrong = web.post(ENROL, {"code": code_at(secret, session_clock.now - dt.timedelta(seconds=60))})  # two steps old
    assert wrong.status_code == 422 and "Code incorrect" in wrong.get_data(as_text=True)
    assert security(app, account) is None and events(app, "totp_enabled") == []
    assert web.post(ENROL, {"code": code_at(secret, session_clock.now - dt.timedelta(seconds=30))}).status_code == 302  # one step: a clock a little off
    stored = security(app, account)
    assert stored is not None and stored.totp_confirmed and stored.totp_secret == secret
    assert events(app, "totp_enabled") == [(account.id, {"email": account.email})]
    page = web.get(ENROL).get_data(as_text=True)
    assert "est activée" in page and secret not in page  # never shown again


def test_an_enrolled_account_is_asked_a_code_at_each_sign_in(app: Flask, login_as: Any, session_clock: Clock) -> None:
    web, account = login_as("admin")
    secret = enrolled(web, session_clock)
    other, response = sign_in(app, account, "/admin/organisations")
    assert response.headers["Location"] == "/connexion/code"
    assert other.get("/").status_code == 302  # not signed in by the password alone
    other.get("/connexion/code")
    assert other.post("/connexion/code", {"code": "123 45"}).status_code == 401
    session_clock.advance(seconds=30)  # the enrolment's code is spent: the next one signs in
    response = other.post("/connexion/code", {"code": code_at(secret, session_clock.now)})
    assert response.status_code == 302 and response.headers["Location"] == "/admin/organisations"
    assert other.get("/").status_code == 200


def test_wrong_codes_are_counted_like_wrong_passwords(app: Flask, login_as: Any, session_clock: Clock) -> None:
    web, account = login_as("admin")
    secret = enrolled(web, session_clock)
    other, _ = sign_in(app, account)
    other.get("/connexion/code")
    for _ in range(5):
        other.post("/connexion/code", {"code": "000001" if code_at(secret, session_clock.now) != "000001" else "000002"})
    locked = other.post("/connexion/code", {"code": code_at(secret, session_clock.now)})
    assert locked.status_code == 429 and "Réessayez à partir de" in locked.get_data(as_text=True)


def test_the_code_step_without_a_password_sends_to_sign_in(web: WebClient) -> None:
    web.get("/connexion")
    assert web.get("/connexion/code").headers["Location"] == "/connexion"


def test_an_administrator_removes_a_second_factor(app: Flask, login_as: Any, session_clock: Clock) -> None:
    web, account = login_as("archiviste")
    enrolled(web, session_clock)
    admin, admin_account = login_as("admin")
    admin.get("/admin/utilisateurs")
    assert admin.post(f"/admin/utilisateurs/{account.id}/double-authentification").status_code == 302
    assert sign_in(app, account)[1].headers["Location"] == "/"  # the password alone again
    assert events(app, "totp_reset") == [(admin_account.id, {"email": account.email})]
    admin.post(f"/admin/utilisateurs/{account.id}/double-authentification")
    assert "n&#39;a pas de double authentification" in admin.get("/admin/utilisateurs").get_data(as_text=True)
    assert len(events(app, "totp_reset")) == 1


def test_the_command_line_removes_a_second_factor(app: Flask, login_as: Any, session_clock: Clock) -> None:
    web, account = login_as("admin")
    enrolled(web, session_clock)
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "WEBFORMS_INSTANCE_PATH": app.instance_path, "WEBFORMS_SECRET_KEY": "tests-only-secret"}
    result = CliRunner().invoke(account_cli, ["reset-totp", account.email], env=env)
    assert result.exit_code == 0 and "retirée" in result.output
    assert security(app, account).totp_secret is None  # type: ignore[union-attr]


def _code_sign_in(app: Flask, account: Account, code: str) -> Any:
    other, _ = sign_in(app, account)
    other.get("/connexion/code")
    return other.post("/connexion/code", {"code": code})


def test_a_code_signs_in_once_within_its_window(app: Flask, login_as: Any, session_clock: Clock) -> None:
    # RFC 6238 §5.2: a code accepted once is not accepted again, even while still valid (30 s,
    # plus one step either side for a clock a little off): a code seen over a shoulder or
    # captured by a phishing page is spent.
    web, account = login_as("admin")
    secret = enrolled(web, session_clock)
    # The enrolment's code is spent too.
    replayed = _code_sign_in(app, account, code_at(secret, session_clock.now))
    assert replayed.status_code == 401 and "Code incorrect ou déjà utilisé" in replayed.get_data(as_text=True)
    session_clock.advance(seconds=30)
    code = code_at(secret, session_clock.now)
    assert _code_sign_in(app, account, code).status_code == 302
    again = _code_sign_in(app, account, code)
    assert again.status_code == 401 and "Code incorrect ou déjà utilisé" in again.get_data(as_text=True)
    # An older code still inside the window is refused once a later one was used...
    assert _code_sign_in(app, account, code_at(secret, session_clock.now - dt.timedelta(seconds=30))).status_code == 401
    # ...and the next step's code is accepted.
    session_clock.advance(seconds=30)
    assert _code_sign_in(app, account, code_at(secret, session_clock.now)).status_code == 302
    with app.app_context():
        stored = db.session().get(AccountSecurity, account.id)
    assert stored is not None and stored.totp_last_step == pyotp.TOTP(secret).timecode(session_clock.now)
