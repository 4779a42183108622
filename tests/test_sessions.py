"""Server-side sessions (issue 15): revocable, idle expiry, the cookie only an id (webforms.accounts.sessions)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select

from tests.conftest import PASSWORD, Clock, WebClient
from tests.test_accounts import NEW_PASSWORD
from tests.test_web import example_form
from webforms import db
from webforms.accounts.services import end_sessions
from webforms.models import Document, KeptForm, Notification, WebSession
from webforms.models.base import utcnow

COOKIE = "session"






def cookie_of(web: WebClient) -> str | None:
    found = web.client.get_cookie(COOKIE)
    return found.value if found is not None else None


def signed_in(web: WebClient) -> bool:
    return web.get("/").status_code == 200


def rows(app: Flask) -> list[WebSession]:
    with app.app_context():
        return list(db.session().scalars(select(WebSession).order_by(WebSession.id)))


def test_a_cookie_replayed_after_sign_out_gets_the_sign_in_page(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    stolen = cookie_of(web)
    assert stolen and signed_in(web)
    assert web.post("/deconnexion").status_code == 302
    thief = WebClient(app.test_client())
    thief.client.set_cookie(COOKIE, stolen)
    response = thief.get("/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/connexion")
    # Nor does the thief's cookie come back to life: it is replaced (the flash of the sign-in page).
    assert cookie_of(thief) != stolen


def test_the_cookie_carries_only_a_random_id_stored_hashed(app: Flask, login_as: Any) -> None:
    web, account = login_as("redacteur")
    token = cookie_of(web)
    assert token and re.fullmatch(r"[A-Za-z0-9_-]{43}", token)  # 32 random bytes, not a signed payload
    stored = [r for r in rows(app) if r.user_id == account.id and r.ended_at is None]
    assert [r.token_hash for r in stored] == [hashlib.sha256(token.encode()).hexdigest()]
    assert all(token not in str(r.data) for r in rows(app))


def test_signing_in_gives_a_new_session_id(app: Flask, make_user: Any) -> None:
    account = make_user("redacteur")
    web = WebClient(app.test_client())
    web.get("/connexion")
    before = cookie_of(web)
    web.login(account)
    assert before and cookie_of(web) != before
    # The visitor's session (its id perhaps planted by another) is ended, not upgraded.
    thief = WebClient(app.test_client())
    thief.client.set_cookie(COOKIE, before)
    assert not signed_in(thief)


@pytest.mark.parametrize(("idle_minutes", "signed_in_after"), [(30, True), (30.02, False)])
def test_a_session_unused_for_its_idle_time_ends(app: Flask, login_as: Any, session_clock: Clock, idle_minutes: float, signed_in_after: bool) -> None:
    web, _ = login_as("redacteur")
    session_clock.advance(minutes=idle_minutes)
    assert signed_in(web) is signed_in_after


@pytest.mark.parametrize(("minutes", "signed_in_after"), [(5, True), (5.02, False)])
def test_the_idle_time_is_configurable(app: Flask, login_as: Any, session_clock: Clock, minutes: float, signed_in_after: bool) -> None:
    app.config["SESSION_IDLE_MINUTES"] = 5
    web, _ = login_as("redacteur")
    session_clock.advance(minutes=minutes)
    assert signed_in(web) is signed_in_after


def test_a_user_typing_on_a_page_stays_signed_in(app: Flask, login_as: Any, session_clock: Clock) -> None:
    web, _ = login_as("redacteur")
    for _ in range(12):  # three hours on one page, the page's keep-alive every quarter of an hour
        session_clock.advance(minutes=15)
        assert web.get("/session/maintien").json == {"connecte": True}
    assert signed_in(web)
    session_clock.advance(minutes=31)
    assert web.get("/session/maintien").json == {"connecte": False}  # the page is told; it says so


def test_the_keep_alive_of_a_visitor_says_signed_out(web: WebClient) -> None:
    assert web.get("/session/maintien").json == {"connecte": False}


def test_a_deactivated_account_loses_every_session(app: Flask, login_as: Any) -> None:
    web, account = login_as("redacteur")
    other = WebClient(app.test_client())
    other.login(account)
    admin, _ = login_as("admin")
    admin.get("/admin/utilisateurs")
    assert admin.post(f"/admin/utilisateurs/{account.id}/desactiver").status_code == 302
    assert not signed_in(web) and not signed_in(other)
    assert {r.ended_reason for r in rows(app) if r.user_id == account.id} == {"desactivation"}


# --- What was typed survives the session's end (issue 16, point 1) ---------------------------

NEW_SAISINE = "/documents/nouveau/fiche_saisine"


def kept_rows(app: Flask) -> list[KeptForm]:
    with app.app_context():
        return list(db.session().scalars(select(KeptForm)))


def documents(app: Flask) -> int:
    with app.app_context():
        return len(db.session().scalars(select(Document)).all())


def offered(page: str) -> Any:
    """The kept form a page offers back (read by static/session.js)."""
    match = re.search(r'<script type="application/json" id="formulaire-conserve">(.*?)</script>', page, re.S)
    assert match, "no kept form in the page"
    return json.loads(match.group(1))


def test_a_form_posted_after_the_session_ended_is_kept_and_offered_back_after_sign_in(app: Flask, login_as: Any, session_clock: Clock) -> None:
    web, account = login_as("redacteur")
    web.get(NEW_SAISINE)
    session_clock.advance(minutes=45)  # the user typed for 45 minutes without saving
    form = {**example_form("fiche_saisine"), "prescripteur-nom": "Texte tapé pendant trois quarts d'heure", "action": "save"}
    response = web.post(NEW_SAISINE, form, headers={"Referer": f"http://localhost{NEW_SAISINE}"})
    assert response.status_code == 302
    assert response.headers["Location"] == "/connexion?next=" + NEW_SAISINE
    assert documents(app) == 0  # nothing saved: the user has to see it first
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "Votre session avait pris fin : rien n&#39;a été enregistré, mais ce que vous aviez saisi est conservé." in page
    (row,) = kept_rows(app)
    assert (row.user_id, row.page, row.action) == (account.id, NEW_SAISINE, NEW_SAISINE)
    assert row.fields["prescripteur-nom"] == ["Texte tapé pendant trois quarts d'heure"] and "csrf_token" not in row.fields
    # Signed in again, the user lands on the page; what was typed is offered back.
    signed = web.post(response.headers["Location"], {"email": account.email, "password": PASSWORD})
    assert signed.headers["Location"] == NEW_SAISINE
    page = web.get(NEW_SAISINE).get_data(as_text=True)
    assert 'id="formulaire-conserve-message"' in page
    assert offered(page) == {"action": NEW_SAISINE, "fields": row.fields}
    # Saved now: it is no longer offered.
    assert web.post(NEW_SAISINE, form).status_code == 302
    assert kept_rows(app) == [] and documents(app) == 1


def test_a_form_posted_by_a_visitor_or_with_a_forged_token_keeps_nothing(app: Flask, web: WebClient, login_as: Any, session_clock: Clock) -> None:
    web.get("/connexion")
    assert web.post(NEW_SAISINE, {"prescripteur-nom": "x"}).status_code == 302  # a visitor's: sent to sign in
    user, _ = login_as("redacteur")
    session_clock.advance(minutes=45)
    assert user.post(NEW_SAISINE, {"prescripteur-nom": "x", "csrf_token": "fabrique"}).status_code == 400
    assert kept_rows(app) == []


@pytest.mark.parametrize("how", ["deconnexion", "mot_de_passe"])
def test_a_post_after_signing_out_or_a_password_change_in_another_tab_is_kept(app: Flask, login_as: Any, how: str) -> None:
    """Issue 16, point 1: the page's token still says whose it was; offered back once signed in again."""
    web, account = login_as("redacteur")
    web.get(NEW_SAISINE)
    stale = web.token
    if how == "deconnexion":
        web.post("/deconnexion")
    else:
        other = WebClient(app.test_client())  # the password changed from another browser
        other.login(account)
        other.get("/compte/mot-de-passe")
        assert other.post("/compte/mot-de-passe", {"current": PASSWORD, "new": NEW_PASSWORD, "confirm": NEW_PASSWORD}).status_code == 302
    form = {"prescripteur-nom": "Tapé avant la fin de la session", "csrf_token": stale, "action": "save"}
    response = web.post(NEW_SAISINE, form, headers={"Referer": f"http://localhost{NEW_SAISINE}"})
    assert response.status_code == 302 and response.headers["Location"] == "/connexion?next=" + NEW_SAISINE
    (row,) = kept_rows(app)
    assert row.user_id == account.id and row.fields["prescripteur-nom"] == ["Tapé avant la fin de la session"]
    assert documents(app) == 0
    assert "rien n&#39;a été enregistré, mais ce que vous aviez saisi est conservé" in web.get(response.headers["Location"]).get_data(as_text=True)
    signed = web.post(response.headers["Location"], {"email": account.email, "password": PASSWORD if how == "deconnexion" else NEW_PASSWORD})
    assert signed.headers["Location"] == NEW_SAISINE
    assert offered(web.get(NEW_SAISINE).get_data(as_text=True))["fields"]["prescripteur-nom"] == ["Tapé avant la fin de la session"]


def test_a_deactivated_account_s_later_post_is_not_kept(app: Flask, login_as: Any) -> None:
    """The other side: an account ended by its deactivation keeps nothing of a later post."""
    web, account = login_as("redacteur")
    web.get(NEW_SAISINE)
    with app.app_context():
        end_sessions(db.session(), account.id, "desactivation", utcnow())
        db.session().commit()
    assert web.post(NEW_SAISINE, {"prescripteur-nom": "x", "action": "save"}).status_code == 400
    assert kept_rows(app) == []


def test_a_form_from_a_previous_session_of_the_signed_in_user_is_offered_back_on_its_page(app: Flask, login_as: Any, session_clock: Clock) -> None:
    web, account = login_as("redacteur")
    web.get(NEW_SAISINE)
    stale = web.token
    session_clock.advance(minutes=45)
    web.login(account)  # signed in again (another tab), the first tab's token no longer matches
    response = web.post(NEW_SAISINE, {"prescripteur-nom": "Tapé dans le premier onglet", "csrf_token": stale}, headers={"Referer": f"http://localhost{NEW_SAISINE}"})
    assert response.status_code == 302 and response.headers["Location"] == NEW_SAISINE
    page = web.get(NEW_SAISINE).get_data(as_text=True)
    assert "Ce formulaire venait d&#39;une session précédente" in page
    assert offered(page)["fields"]["prescripteur-nom"] == ["Tapé dans le premier onglet"]


@pytest.mark.parametrize(("idle_minutes", "seconds"), [(30, 300), (15, 300), (6, 120), (1, 20)])
def test_a_page_asks_to_stay_alive_well_within_the_idle_time(app: Flask, login_as: Any, idle_minutes: int, seconds: int) -> None:
    app.config["SESSION_IDLE_MINUTES"] = idle_minutes
    web, _ = login_as("redacteur")
    page = web.get(NEW_SAISINE).get_data(as_text=True)
    assert f'data-keepalive-url="/session/maintien" data-keepalive-seconds="{seconds}"' in page


def test_a_visitors_page_does_not_ask(web: WebClient) -> None:
    assert "data-keepalive-url" not in web.get("/connexion").get_data(as_text=True)


@contextmanager
def statements(app: Flask) -> Iterator[list[str]]:
    """Collect the SQL statements the app runs, and count its connection checkouts (appended as "checkout")."""
    engine = app.extensions["webforms.engine"]
    seen: list[str] = []

    def executed(conn: Any, cursor: Any, statement: str, *rest: Any) -> None:
        seen.append(statement)

    def checked_out(*args: Any) -> None:
        seen.append("checkout")

    event.listen(engine, "before_cursor_execute", executed)
    event.listen(engine.pool, "checkout", checked_out)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", executed)
        event.remove(engine.pool, "checkout", checked_out)


def test_a_signed_in_form_page_reads_the_database_once(app: Flask, login_as: Any) -> None:
    """Session, user, header count and kept form: one statement on one connection (issue 11, the form page's speed)."""
    client, _ = login_as("redacteur")
    client.get("/")
    with statements(app) as seen:
        assert client.get("/documents/nouveau/fiche_saisine").status_code == 200
    assert seen.count("checkout") == 1
    assert len([s for s in seen if s != "checkout"]) == 1


def test_the_one_read_still_sees_a_kept_form_and_an_unread_notification(app: Flask, login_as: Any) -> None:
    """When the read says something is kept or unread, the page looks it up: the header counts, the form is offered."""
    client, account = login_as("redacteur")
    client.get("/")
    with app.app_context():
        s = db.session()
        doc = Document(kind="fiche_saisine", organisation_id=account.organisation_id, author_id=account.id, statut="brouillon", data={})
        s.add(doc)
        s.flush()
        s.add(Notification(user_id=account.id, document_id=doc.id, evenement="soumis", message="Un document est soumis.", created_at=utcnow()))
        s.add(KeptForm(user_id=account.id, page="/documents/nouveau/fiche_saisine", action="/documents/nouveau/fiche_saisine", fields={"prescripteur-nom": ["Martin-Conservé"]}, files_dropped=False, kept_at=utcnow()))
        s.commit()
    page = client.get("/documents/nouveau/fiche_saisine").get_data(as_text=True)
    assert offered(page)["fields"]["prescripteur-nom"] == ["Martin-Conservé"]
    assert '<span class="badge">1<span class="visually-hidden"> non lue</span>' in page
