"""A session that ends while the user types loses nothing, in a real headless Chromium (issue 16, point 1)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.test_journey import check_accessibility, sign_in
from tests.conftest import PASSWORD, Account, Clock
from webforms import db
from webforms.models import Document

pytestmark = pytest.mark.browser

TYPED = "Texte tapé pendant que la session se terminait — rien ne doit se perdre"


def test_what_was_typed_comes_back_after_the_session_ended(live_server: str, app: Flask, make_user: Callable[..., Account], page: Page) -> None:
    clock = Clock()
    clock.now = dt.datetime.now(dt.UTC)
    app.config["SESSION_CLOCK"] = clock
    account = make_user("redacteur")
    sign_in(page, live_server, account)
    page.goto(f"{live_server}/documents/nouveau/fiche_saisine")
    page.locator("#prescripteur-nom").fill(TYPED)
    clock.now += dt.timedelta(minutes=45)  # the user typed, without saving, past the idle time
    page.get_by_role("button", name="Enregistrer le brouillon").click()

    # Sent to sign in, told that what was typed is kept; nothing was saved.
    expect(page).to_have_title(re.compile("^Connexion"))
    expect(page.get_by_text("Votre session avait pris fin : rien n'a été enregistré, mais ce que vous aviez saisi est conservé.")).to_be_visible()
    with app.app_context():
        assert db.session().scalars(select(Document)).all() == []
    page.get_by_label("Adresse électronique").fill(account.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()

    # Back on the form, the text offered back, with a message.
    expect(page).to_have_url(f"{live_server}/documents/nouveau/fiche_saisine")
    expect(page.locator("#formulaire-conserve-message")).to_contain_text("ce que vous aviez saisi")
    expect(page.locator("#prescripteur-nom")).to_have_value(TYPED)
    check_accessibility(page, "le formulaire rendu après la fin de session")
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.locator("#prescripteur-nom")).to_have_value(TYPED)
    with app.app_context():
        (doc,) = db.session().scalars(select(Document)).all()
        assert doc.data["prescripteur"]["nom"] == TYPED
    # Saved: it is no longer offered.
    page.reload()
    expect(page.locator("#formulaire-conserve-message")).to_have_count(0)


def test_typing_keeps_the_session_alive_past_its_idle_time(live_server: str, app: Flask, make_user: Callable[..., Account], page: Page) -> None:
    """The other side of the test above: while the user types, the page keeps the session alive (session.js).

    The server's clock and the page's (Playwright's clock) move together, five minutes a step,
    ten steps: fifty minutes, past the thirty an unused session lasts. At each step a few words
    typed make the page ask the server (``/session/maintien``); the save at the end is accepted.
    """
    clock = Clock()
    clock.now = dt.datetime.now(dt.UTC)
    app.config["SESSION_CLOCK"] = clock
    idle = dt.timedelta(minutes=int(app.config["SESSION_IDLE_MINUTES"]))
    account = make_user("redacteur")
    page.clock.install()
    sign_in(page, live_server, account)
    page.goto(f"{live_server}/documents/nouveau/fiche_saisine")
    field = page.locator("#prescripteur-nom")
    words = TYPED.split()[:10]
    for word in words:
        clock.now += dt.timedelta(minutes=5)
        page.clock.fast_forward("05:00")
        with page.expect_response(lambda r: "/session/maintien" in r.url and r.ok):
            field.press_sequentially(f"{word} ")
    assert dt.timedelta(minutes=5) * len(words) > idle
    page.get_by_role("button", name="Enregistrer le brouillon").click()

    # Saved, not sent to sign in; nothing typed lost.
    expect(page).not_to_have_title(re.compile("^Connexion"))
    expect(page.locator("#prescripteur-nom")).to_have_value(" ".join(words))
    with app.app_context():
        (doc,) = db.session().scalars(select(Document)).all()
        assert doc.data["prescripteur"]["nom"] == " ".join(words)
