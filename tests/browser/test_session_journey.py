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
