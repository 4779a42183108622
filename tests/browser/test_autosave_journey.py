"""A draft saves itself while it is typed, in Debian's Chromium (issue 16, point 1)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.test_journey import check_accessibility, label, sign_in
from tests.conftest import Account, WebClient
from tests.test_web import doc_id_from, example_form
from webforms import db
from webforms.models import Document


def test_typing_in_a_draft_saves_it_without_a_click(app: Flask, live_server: str, make_user: Callable[..., Account], page: Page, clock: Any) -> None:
    """Typed, then left alone: the page says when it was saved, and a reload finds the text."""
    account = make_user("redacteur")
    web = WebClient(app.test_client())
    web.login(account)
    doc_id = doc_id_from(web.post("/documents/nouveau/fiche_saisine", example_form("fiche_saisine") | {"action": "save"}))
    page.set_default_timeout(15_000)
    sign_in(page, live_server, account)
    page.goto(f"{live_server}/documents/{doc_id}/modifier")
    page.get_by_label(label("Nom et prénom du prescripteur")).fill("Saisi sans cliquer")
    status = page.locator("#autosave-status")
    expect(status).to_have_text(re.compile(r"^Brouillon enregistré à \d\d h \d\d\.$"))
    check_accessibility(page, "le brouillon enregistré automatiquement")
    with app.app_context():
        assert db.session().get(Document, doc_id).data["prescripteur"]["nom"] == "Saisi sans cliquer"
    page.reload()
    expect(page.get_by_label(label("Nom et prénom du prescripteur"))).to_have_value("Saisi sans cliquer")
