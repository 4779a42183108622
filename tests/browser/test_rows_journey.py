"""Rows of a table added and removed in the page, in Debian's Chromium (issue 16, point 6).

With JavaScript (static/rows.js) the page is not reloaded: what was typed elsewhere stays, the
focus goes to the new row's first field, or after a removal to the row that took its place.
Without JavaScript, the same button reloads the page with the row added (the form still works).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from playwright.sync_api import Browser, Page, expect

from schemas import get_kind
from tests.browser.test_journey import SCREENS, check_accessibility, label, sign_in
from tests.conftest import PASSWORD, Account, WebClient
from tests.test_candidatures import BEFORE_DEADLINE, open_dossier
from tests.test_web import doc_id_from, example_form
from webforms import db
from webforms.models import Document

ENFANTS = len(get_kind("fiche_saisine").example["menage"]["enfants"])
_ROWS = "fieldset#menage-enfants > fieldset.row"
# Set on the window before a click: still there afterwards only if the page was not reloaded.
_MARK = "() => { window.__pasRecharge = true; }"
_MARKED = "() => window.__pasRecharge === true"


def _draft(app: Flask, account: Account) -> int:
    web = WebClient(app.test_client())
    web.login(account)
    return doc_id_from(web.post("/documents/nouveau/fiche_saisine", example_form("fiche_saisine") | {"action": "save"}))


def _png_width(path: Path) -> int:
    return int.from_bytes(path.read_bytes()[16:20], "big")  # the IHDR chunk's width


def _focused_is_first_field_of(page: Page, row_id: str) -> bool:
    return page.evaluate(
        "id => document.activeElement === document.getElementById(id).querySelector('input:not([type=hidden]), select, textarea')", row_id
    )


def test_a_row_is_added_and_removed_without_reloading_the_page(app: Flask, live_server: str, make_user: Callable[..., Account], page: Page) -> None:
    account = make_user("redacteur")
    doc_id = _draft(app, account)
    page.set_default_timeout(10_000)
    sign_in(page, live_server, account)
    page.goto(f"{live_server}/documents/{doc_id}/modifier")
    expect(page.locator(_ROWS)).to_have_count(ENFANTS)
    nom = page.get_by_label(label("Nom et prénom du prescripteur"))
    nom.fill("Tapé avant l'ajout")
    page.evaluate(_MARK)

    page.get_by_role("button", name="Ajouter un enfant", exact=True).click()
    new_row = f"menage-enfants-{ENFANTS}"
    expect(page.locator(_ROWS)).to_have_count(ENFANTS + 1)
    assert page.evaluate(_MARKED), "adding a row reloaded the page"
    expect(page.locator(f"fieldset#{new_row}").get_by_label(label("Prénom"))).to_be_focused()
    expect(nom).to_have_value("Tapé avant l'ajout")
    expect(page.get_by_role("status").filter(has_text=f"Ligne {ENFANTS + 1} ajoutée.")).to_have_count(1)
    page.keyboard.type("Zoé")  # the focus is in the new row's first field
    check_accessibility(page, "le brouillon après l'ajout d'une ligne en place")
    # Every page a journey checks is kept as a screenshot at both widths (issue 16), then shown
    # again at the width it had: still focused where it was.
    kept = sorted(SCREENS.glob("test-rows-journey/*added-and-removed*/*-ligne-en-place-*.png"))
    assert [(p.name.rsplit("-", 1)[1], _png_width(p)) for p in kept] == [("360px.png", 360), ("bureau.png", 1280)]
    assert page.viewport_size == {"width": 1280, "height": 720}

    page.get_by_role("button", name="Supprimer : enfant 1", exact=True).click()
    expect(page.locator(_ROWS)).to_have_count(ENFANTS)
    assert page.evaluate(_MARKED), "removing a row reloaded the page"
    assert _focused_is_first_field_of(page, "menage-enfants-0"), "the focus goes to the row that took the removed one's place"
    expect(page.locator(f"fieldset#menage-enfants-{ENFANTS - 1}").get_by_label(label("Prénom"))).to_have_value("Zoé")
    expect(nom).to_have_value("Tapé avant l'ajout")

    # Each change was saved as the no-JavaScript button saves it: a reload finds the same rows.
    with app.app_context():
        data = db.session().get(Document, doc_id).data
    assert [e.get("prenom") for e in data["menage"]["enfants"]][-1] == "Zoé"
    assert data["prescripteur"]["nom"] == "Tapé avant l'ajout"
    page.reload()
    expect(page.locator(_ROWS)).to_have_count(ENFANTS)


def test_removing_the_last_row_puts_the_focus_on_the_add_button(app: Flask, live_server: str, make_user: Callable[..., Account], page: Page) -> None:
    account = make_user("redacteur")
    doc_id = _draft(app, account)
    page.set_default_timeout(10_000)
    sign_in(page, live_server, account)
    page.goto(f"{live_server}/documents/{doc_id}/modifier")
    for index in range(ENFANTS):
        page.get_by_role("button", name="Supprimer : enfant 1", exact=True).click()
        expect(page.locator(_ROWS)).to_have_count(ENFANTS - index - 1)
    expect(page.get_by_role("button", name="Ajouter un enfant", exact=True)).to_be_focused()


def test_a_new_document_gets_its_draft_at_the_first_row_added(app: Flask, live_server: str, make_user: Callable[..., Account], page: Page) -> None:
    """The first add saves the new document as a draft: the page then saves that draft, not a second one."""
    account = make_user("redacteur")
    page.set_default_timeout(10_000)
    sign_in(page, live_server, account)
    page.goto(f"{live_server}/documents/nouveau/fiche_saisine")
    page.evaluate(_MARK)
    page.get_by_role("button", name="Ajouter un enfant", exact=True).click()
    expect(page.locator(_ROWS)).to_have_count(1)
    assert page.evaluate(_MARKED)
    expect(page).to_have_url(re.compile(r"/documents/\d+/modifier$"))
    page.keyboard.type("Léo")  # a blank row is not kept (forms.payload_of): this one is filled
    page.get_by_role("button", name="Ajouter un enfant", exact=True).click()
    expect(page.locator(_ROWS)).to_have_count(2)
    expect(page.locator("fieldset#menage-enfants-0").get_by_label(label("Prénom"))).to_have_value("Léo")
    with app.app_context():
        drafts = db.session().query(Document).filter_by(kind="fiche_saisine").all()
    assert len(drafts) == 1 and len(drafts[0].data["menage"]["enfants"]) == 2


def test_without_javascript_the_add_button_reloads_the_page_with_the_row(
    app: Flask, live_server: str, make_user: Callable[..., Account], browser: Browser, browser_context_args: dict[str, Any]
) -> None:
    account = make_user("redacteur")
    doc_id = _draft(app, account)
    context = browser.new_context(**{**browser_context_args, "java_script_enabled": False})
    try:
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{live_server}/connexion")
        page.get_by_label("Adresse électronique").fill(account.email)
        page.get_by_label("Mot de passe").fill(PASSWORD)
        page.get_by_role("button", name="Se connecter").click()
        page.goto(f"{live_server}/documents/{doc_id}/modifier")
        page.get_by_label(label("Nom et prénom du prescripteur")).fill("Sans JavaScript")
        with page.expect_navigation():
            page.get_by_role("button", name="Ajouter un enfant", exact=True).click()
        expect(page.locator(_ROWS)).to_have_count(ENFANTS + 1)
        expect(page.get_by_label(label("Nom et prénom du prescripteur"))).to_have_value("Sans JavaScript")
    finally:
        context.close()


def test_a_row_refused_by_the_passed_deadline_changes_nothing_and_keeps_what_was_typed(
    app: Flask, live_server: str, make_user: Callable[..., Account], page: Page, clock: Any
) -> None:
    """The call closed while the page was open: the row is not added, the page says why, nothing typed is lost."""
    account = make_user("redacteur")
    web = WebClient(app.test_client())
    web.login(account)
    now, clock.now = clock.now, BEFORE_DEADLINE
    dossier_id = open_dossier(app, web)
    page.set_default_timeout(10_000)
    sign_in(page, live_server, account)
    page.goto(f"{live_server}/documents/{dossier_id}/modifier?etape=4")
    horaires = page.locator("fieldset#fonctionnement-horaires > fieldset.row")
    before = horaires.count()
    vision = page.get_by_label(label("Vision de l'accompagnement et mise en œuvre opérationnelle"))
    vision.fill("Tapé juste avant la date limite")
    clock.now = now  # 14 October 2019: the deadline (6 September) has passed
    page.evaluate(_MARK)
    page.get_by_role("button", name="Ajouter une plage horaire", exact=True).click()
    status = page.locator("#rows-status")
    expect(status).to_contain_text("Ce que vous avez saisi reste dans la page.")
    expect(status).to_contain_text("date limite")
    assert page.evaluate(_MARKED)
    expect(horaires).to_have_count(before)
    expect(vision).to_have_value("Tapé juste avant la date limite")
    expect(page).to_have_url(re.compile(rf"/documents/{dossier_id}/modifier\?etape=4$"))
    with app.app_context():
        assert "Tapé" not in str(db.session().get(Document, dossier_id).data)  # refused: nothing saved
