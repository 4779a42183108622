"""A forgotten password reset by e-mail (issue 15): a real SMTP server receives the link.

Single use, one hour, the same answer for an unknown address, throttled like a sign-in, the
password rule, every session ended, the second factor still asked, the sealed audit trail.
"""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.conftest import PASSWORD, Account, Clock, WebClient
from tests.test_notifications_mail import BASE_URL, relay, smtp_server  # noqa: F401 (a fixture)
from tests.test_second_factor import code_at, enrolled
from webforms import db
from webforms.accounts.reset import INVALID, SENT
from webforms.archive.verify import verify
from webforms.models import ArchiveLog, PasswordReset, Travail, User, WebSession

FORGOT = "/connexion/mot-de-passe-oublie"
NEW_PASSWORD = "une phrase facile à retenir"


def visitor(app: Flask) -> WebClient:
    web = WebClient(app.test_client())
    web.get("/connexion")
    return web


def text(response: Any) -> str:
    return str(response.get_data(as_text=True)).replace("&#39;", "'")


def ask_link(app: Flask, email: str) -> Any:
    """Post the forgotten-password form as a visitor; return the page it leads to."""
    web = visitor(app)
    response = web.post(FORGOT, {"email": email})
    assert response.status_code == 302 and response.headers["Location"] == "/connexion"
    return web.get("/connexion")


def link_of(inbox: Any) -> str:
    found = re.search(rf"{re.escape(BASE_URL)}(/connexion/reinitialisation/[0-9a-f]{{64}})", inbox.messages[-1].get_content())
    assert found, inbox.messages[-1].get_content()
    return found.group(1)


def mailed_link(app: Flask, account: Account, smtp_server: Any) -> tuple[Any, str]:  # noqa: F811
    inbox, port = smtp_server()
    relay(app, port)
    page = ask_link(app, account.email)
    assert SENT in text(page)
    (mail,) = inbox.messages
    assert mail["To"] == account.email and mail["Subject"] == "[webforms] Réinitialisation de votre mot de passe"
    return inbox, link_of(inbox)


def choose(app: Flask, path: str, password: str = NEW_PASSWORD, confirm: str | None = None) -> Any:
    web = visitor(app)
    return web.post(path, {"new": password, "confirm": password if confirm is None else confirm})


def signs_in(app: Flask, account: Account, password: str) -> Any:
    return visitor(app).post("/connexion", {"email": account.email, "password": password})


def test_the_link_sets_a_new_password_once_and_ends_every_session(app: Flask, login_as: Any, smtp_server: Any) -> None:  # noqa: F811
    web, account = login_as("redacteur")
    assert "Mot de passe oublié ?" in text(visitor(app).get("/connexion"))
    _, path = mailed_link(app, account, smtp_server)
    page = visitor(app).get(path)
    assert page.status_code == 200 and "Choisir un nouveau mot de passe" in text(page)
    response = choose(app, path)
    assert response.status_code == 302 and response.headers["Location"] == "/connexion"
    # The session open before the reset has ended; the new password works, the old one no more.
    assert web.get("/").status_code == 302
    assert signs_in(app, account, PASSWORD).status_code == 401
    assert signs_in(app, account, NEW_PASSWORD).status_code == 302
    # Used twice: refused, and the password stays the one chosen the first time.
    again = choose(app, path, "une autre phrase assez longue")
    assert again.status_code == 404 and INVALID in text(again)
    assert visitor(app).get(path).status_code == 404
    assert signs_in(app, account, NEW_PASSWORD).status_code == 302
    with app.app_context():
        s = db.session()
        (row,) = s.scalars(select(ArchiveLog).where(ArchiveLog.action == "mot_de_passe_reinitialise"))
        assert row.user_id == account.id and row.seal is not None and row.detail["compte"] == account.id
        assert s.scalars(select(WebSession.ended_reason).where(WebSession.user_id == account.id, WebSession.ended_reason == "mot_de_passe")).first()
        # The row is chained, sealed and witnessed: the archive's verification finds nothing wrong.
        report = verify(s, app.extensions["webforms.archive"])
        assert report.problems == [] and report.log_rows == 1


def test_the_token_is_kept_nowhere_in_clear(app: Flask, make_user: Any, smtp_server: Any) -> None:  # noqa: F811
    account = make_user("redacteur")
    _, path = mailed_link(app, account, smtp_server)
    token = path.rsplit("/", 1)[1]
    with app.app_context():
        s = db.session()
        (reset,) = s.scalars(select(PasswordReset))
        assert reset.jeton_sha256 != token and len(reset.jeton_sha256) == 64
        # The worker's sealed copy is forgotten once the e-mail is sent.
        (work,) = s.scalars(select(Travail).where(Travail.nature == "courriel"))
        assert work.statut == "termine" and work.parametres == {"reinitialisation": reset.id}
        assert token not in str(work.parametres) and token not in str(work.resultat)


def test_a_link_is_valid_one_hour(app: Flask, make_user: Any, smtp_server: Any, session_clock: Clock) -> None:  # noqa: F811
    account = make_user("redacteur")
    _, path = mailed_link(app, account, smtp_server)
    session_clock.advance(minutes=60)
    expired = choose(app, path)
    assert expired.status_code == 404 and INVALID in text(expired)
    assert signs_in(app, account, NEW_PASSWORD).status_code == 401
    # A new link, used a second before its hour ends: accepted.
    _, path = mailed_link(app, account, smtp_server)
    session_clock.advance(minutes=59, seconds=59)
    assert choose(app, path).status_code == 302
    assert signs_in(app, account, NEW_PASSWORD).status_code == 302


def test_an_unknown_or_inactive_address_gets_the_same_page_and_no_mail(app: Flask, make_user: Any, smtp_server: Any) -> None:  # noqa: F811
    inbox, port = smtp_server()
    relay(app, port)
    known = ask_link(app, make_user("redacteur").email)
    unknown = ask_link(app, "personne@nulle-part.fr")
    assert SENT in text(unknown) and SENT in text(known) and unknown.status_code == known.status_code == 200
    assert len(inbox.messages) == 1
    inactive = make_user("redacteur")
    with app.app_context():
        db.session().get_one(User, inactive.id).active = False
        db.session().commit()
    assert SENT in text(ask_link(app, inactive.email))
    assert len(inbox.messages) == 1
    with app.app_context():
        assert db.session().scalars(select(PasswordReset.user_id)).all() != [inactive.id]


def test_a_new_link_ends_the_earlier_one_and_at_most_three_are_mailed_an_hour(app: Flask, make_user: Any, smtp_server: Any) -> None:  # noqa: F811
    account = make_user("redacteur")
    inbox, first = mailed_link(app, account, smtp_server)
    ask_link(app, account.email)
    second = link_of(inbox)
    assert choose(app, first).status_code == 404
    ask_link(app, account.email)
    assert len(inbox.messages) == 3
    assert SENT in text(ask_link(app, account.email))  # the fourth within the hour: same answer, no e-mail
    assert len(inbox.messages) == 3
    # The second link ended with the third one.
    assert choose(app, second).status_code == 404


def test_the_password_rule_applies_and_the_link_stays_usable(app: Flask, make_user: Any, smtp_server: Any) -> None:  # noqa: F811
    account = make_user("redacteur")
    _, path = mailed_link(app, account, smtp_server)
    weak = choose(app, path, "aaaaaaaaaaaa")
    assert weak.status_code == 422 and "Au moins 12 caractères" in text(weak)
    differ = choose(app, path, NEW_PASSWORD, "autre chose encore")
    assert differ.status_code == 422 and "diffèrent" in text(differ)
    assert signs_in(app, account, PASSWORD).status_code == 302
    assert choose(app, path).status_code == 302


def test_a_locked_account_cannot_be_reset_until_its_lock_ends(app: Flask, make_user: Any, smtp_server: Any, session_clock: Clock) -> None:  # noqa: F811
    account = make_user("redacteur")
    _, path = mailed_link(app, account, smtp_server)
    for _ in range(5):
        signs_in(app, account, "pas le bon mot de passe")
    locked = choose(app, path)
    assert locked.status_code == 429 and "Trop de tentatives" in text(locked)
    assert signs_in(app, account, NEW_PASSWORD).status_code in (401, 429)
    session_clock.advance(minutes=1)
    assert choose(app, path).status_code == 302


def test_wrong_links_are_throttled_like_wrong_passwords(app: Flask, make_user: Any, smtp_server: Any) -> None:  # noqa: F811
    account = make_user("redacteur")
    _, path = mailed_link(app, account, smtp_server)
    for n in range(5):
        assert choose(app, f"/connexion/reinitialisation/{n:064x}").status_code == 404
    # Links that name no account are counted together, like a sign-in's unknown account: the sixth waits.
    locked = choose(app, f"/connexion/reinitialisation/{5:064x}")
    assert locked.status_code == 429 and "Trop de tentatives" in text(locked)
    # The owner's own link is counted on the owner's account: it still works.
    assert choose(app, path).status_code == 302


def test_the_second_factor_is_still_asked_after_a_reset(app: Flask, login_as: Any, smtp_server: Any, session_clock: Clock) -> None:  # noqa: F811
    web, account = login_as("archiviste")
    secret = enrolled(web, session_clock)
    _, path = mailed_link(app, account, smtp_server)
    assert choose(app, path).status_code == 302
    guest = visitor(app)
    response = guest.post("/connexion", {"email": account.email, "password": NEW_PASSWORD})
    assert response.status_code == 302 and response.headers["Location"] == "/connexion/code"
    assert guest.get("/").status_code == 302  # not signed in before the code
    session_clock.advance(seconds=30)
    assert guest.post("/connexion/code", {"code": code_at(secret, session_clock.now)}).status_code == 302
    assert guest.get("/").status_code == 200


def test_without_a_relay_the_page_says_to_ask_an_administrator(app: Flask, make_user: Any) -> None:
    account = make_user("redacteur")
    page = text(visitor(app).get(FORGOT))
    assert "demandez à un administrateur" in page
    assert "demandez à un administrateur" in text(ask_link(app, account.email))
    with app.app_context():
        assert db.session().scalars(select(PasswordReset)).all() == []


def test_links_expired_for_a_week_are_forgotten_at_the_next_request(app: Flask, make_user: Any, smtp_server: Any, session_clock: Clock) -> None:  # noqa: F811
    account, other = make_user("redacteur"), make_user("redacteur")
    mailed_link(app, account, smtp_server)
    session_clock.advance(days=7, hours=1)  # its hour ended exactly 7 days ago: kept
    ask_link(app, other.email)
    with app.app_context():
        assert sorted(db.session().scalars(select(PasswordReset.user_id))) == sorted([account.id, other.id])
    session_clock.advance(seconds=1)
    ask_link(app, other.email)
    with app.app_context():
        assert db.session().scalars(select(PasswordReset.user_id)).all() == [other.id, other.id]
