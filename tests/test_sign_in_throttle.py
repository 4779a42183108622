"""Sign-in throttling by account and by address, counted in the database (issue 15)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import PASSWORD, Account, Clock, WebClient
from webforms import create_app, db
from webforms.accounts.throttle import ACCOUNT, ADDRESS
from webforms.models import SignInCounter


def client(app: Flask, address: str = "203.0.113.7") -> WebClient:
    web = WebClient(app.test_client())
    web.client.environ_base["REMOTE_ADDR"] = address
    web.get("/connexion")
    return web


def attempt(web: WebClient, email: str, password: str) -> Any:
    return web.post("/connexion", {"email": email, "password": password})


def fail(web: WebClient, email: str, times: int) -> None:
    for _ in range(times):
        assert attempt(web, email, "pas-le-bon-mot-de-passe").status_code in (401, 429)


@pytest.mark.parametrize(("failures", "locked"), [(4, False), (5, True)])
def test_the_account_is_locked_after_five_failures_even_for_the_right_password(app: Flask, make_user: Any, session_clock: Clock, failures: int, locked: bool) -> None:
    account: Account = make_user("redacteur")
    web = client(app)
    fail(web, account.email, failures)
    response = attempt(web, account.email, PASSWORD)
    page = response.get_data(as_text=True)
    if locked:
        assert response.status_code == 429
        # 8:30 UTC = 10 h 30 in Paris; locked 1 minute.
        assert "Trop de tentatives de connexion infructueuses pour ce compte" in page and "Réessayez à partir de 10 h 31 (dans 1 minute)" in page
        assert web.get("/").status_code == 302  # not signed in
    else:
        assert response.status_code == 302


@pytest.mark.parametrize(("wait_seconds", "locked"), [(59, True), (60, False)])
def test_the_lock_ends_after_its_delay(app: Flask, make_user: Any, session_clock: Clock, wait_seconds: int, locked: bool) -> None:
    account: Account = make_user("redacteur")
    web = client(app)
    fail(web, account.email, 5)
    session_clock.advance(seconds=wait_seconds)
    assert attempt(web, account.email, PASSWORD).status_code == (429 if locked else 302)


@pytest.mark.parametrize(("wait_seconds", "locked"), [(119, True), (120, False)])
def test_the_delay_doubles_with_each_further_failure(app: Flask, make_user: Any, session_clock: Clock, wait_seconds: int, locked: bool) -> None:
    account: Account = make_user("redacteur")
    web = client(app)
    fail(web, account.email, 5)
    session_clock.advance(minutes=1)
    response = attempt(web, account.email, "encore-un-mauvais-mot")  # the 6th: 2 minutes
    assert response.status_code == 401 and "dans 2 minutes" in response.get_data(as_text=True)
    session_clock.advance(seconds=wait_seconds)
    assert attempt(web, account.email, PASSWORD).status_code == (429 if locked else 302)


def test_a_success_resets_the_account_counter(app: Flask, make_user: Any, session_clock: Clock) -> None:
    account: Account = make_user("redacteur")
    web = client(app)
    fail(web, account.email, 4)
    assert attempt(web, account.email, PASSWORD).status_code == 302
    web.post("/deconnexion")
    web.get("/connexion")
    fail(web, account.email, 4)
    assert attempt(web, account.email, PASSWORD).status_code == 302


@pytest.mark.parametrize(("failures", "locked"), [(19, False), (20, True)])
def test_an_address_is_locked_after_twenty_failures_on_any_accounts(app: Flask, make_user: Any, session_clock: Clock, failures: int, locked: bool) -> None:
    account: Account = make_user("redacteur")
    web = client(app, "198.51.100.9")
    for n in range(failures):
        fail(web, f"inconnu{n}@example.fr", 1)
    response = attempt(web, account.email, PASSWORD)
    if locked:
        assert response.status_code == 429 and "depuis cette adresse" in response.get_data(as_text=True)
        # Another address is not locked.
        assert attempt(client(app, "198.51.100.10"), account.email, PASSWORD).status_code == 302
    else:
        assert response.status_code == 302


def test_the_counters_are_shared_by_every_worker(app: Flask, make_user: Any, session_clock: Clock, tmp_path: Any) -> None:
    """Two app processes on one database (two workers, two hosts) count the same failures."""
    account: Account = make_user("redacteur")
    other = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "other"), "DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": "tests-only-secret", "SESSION_CLOCK": session_clock})
    try:
        fail(client(app), account.email, 3)
        fail(client(other), account.email, 2)
        assert attempt(client(app), account.email, PASSWORD).status_code == 429
    finally:
        other.extensions["webforms.engine"].dispose()




@pytest.mark.parametrize(("proxies", "counted_as"), [(0, "127.0.0.1"), (1, "192.0.2.44")])
def test_behind_a_declared_proxy_the_forwarded_address_is_counted(app: Flask, session_clock: Clock, proxies: int, counted_as: str, tmp_path: Path) -> None:
    proxied = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "proxied"), "DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": "tests-only-secret", "SESSION_CLOCK": session_clock, "TRUSTED_PROXIES": proxies})
    try:
        web = client(proxied, "127.0.0.1")
        web.post("/connexion", {"email": "x@example.fr", "password": "faux"}, headers={"X-Forwarded-For": "198.51.100.1, 192.0.2.44"})
        with proxied.app_context():
            keys = set(db.session().scalars(select(SignInCounter.key)))
    finally:
        proxied.extensions["webforms.engine"].dispose()
    assert keys == {"compte:x@example.fr", f"adresse:{counted_as}"}


@pytest.mark.parametrize(("wait", "locked"), [({"hours": 24}, True), ({"hours": 24, "seconds": 1}, False)])
def test_failures_older_than_a_day_are_forgotten(app: Flask, make_user: Any, session_clock: Clock, wait: dict[str, int], locked: bool) -> None:
    """Four failures, then one more a day later: the fifth locks the account if the four still count (FORGET_AFTER, 24 h)."""
    account: Account = make_user("redacteur")
    web = client(app)
    fail(web, account.email, 4)
    session_clock.advance(**wait)
    web = client(app)  # the sign-in page opened again (a day-old form has expired)
    fail(web, account.email, 1)
    assert attempt(web, account.email, PASSWORD).status_code == (429 if locked else 302)


def test_the_lock_doubles_up_to_one_hour_and_no_further() -> None:
    """1 min at the 5th failure, doubled at each further one: 32 min at the 10th, then 1 h (not 64 min), and 1 h whatever follows."""
    assert ACCOUNT.delay(4) is None and ACCOUNT.delay(5) == dt.timedelta(minutes=1)
    assert ACCOUNT.delay(10) == dt.timedelta(minutes=32)
    assert ACCOUNT.delay(11) == ACCOUNT.delay(1000) == dt.timedelta(hours=1)
    assert ADDRESS.delay(19) is None and ADDRESS.delay(20) == dt.timedelta(minutes=1) and ADDRESS.delay(26) == dt.timedelta(hours=1)
