"""Documents as a user downloads and prints them, in Debian's Chromium (issue 16, point 10).

"No print stylesheet (menus and buttons print); no Département identity (name, logo, address:
configuration, on every PDF and DOCX); […] ZIP entries are dated 1980 (use the submission
time)." The files are the ones the browser downloads from the document's page; the bilan
Maintien's signature block is checked for every kind by tests/test_catalogue.py.
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Callable
from typing import Any

import docx
import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.browser.test_journey import check_accessibility, download, label, sign_in
from tests.conftest import Account, Clock, WebClient
from tests.test_candidatures import BEFORE_DEADLINE, example, open_dossier
from tests.test_identity import ADRESSE, NOM
from tests.test_jury_work import deposit
from tests.test_web import doc_id_from, example_form, submitted

pytestmark = pytest.mark.browser


@pytest.fixture
def app_config() -> dict[str, Any]:
    """The Département's identity, as its administrator configures it (docs/running.md)."""
    return {"DEPARTEMENT_NOM": NOM, "DEPARTEMENT_ADRESSE": ADRESSE}


def files_of(page: Page) -> Any:
    """The page's list of produced files, once the worker has made them (the page reloads itself)."""
    produced = page.get_by_role("region", name=re.compile("^(Documents produits|Versions déposées)"))
    expect(produced).to_be_visible(timeout=60_000)
    return produced


def _writer(app: Flask, make_user: Callable[..., Account], page: Page) -> tuple[Account, WebClient]:
    """The association's writer, and a test client signed in as them (to prepare what the page shows)."""
    page.set_default_timeout(15_000)
    writer = make_user("redacteur", org="Association Habitat Solidaire")
    web = WebClient(app.test_client())
    web.login(writer)
    return writer, web


def test_a_document_downloaded_carries_the_departements_identity_in_pdf_and_word(
    app: Flask, live_server: str, make_user: Callable[..., Account], page: Page
) -> None:
    writer, web = _writer(app, make_user, page)
    doc_id = submitted(web, "fiche_saisine")
    sign_in(page, live_server, writer)
    page.goto(f"{live_server}/documents/{doc_id}")
    produced = files_of(page)
    pdf = download(page, produced.get_by_role("link", name=re.compile("– PDF$")).first)
    first = " ".join(PdfReader(io.BytesIO(pdf)).pages[0].extract_text().split())
    assert NOM in first and "62018 Arras Cedex 9" in first
    word = docx.Document(io.BytesIO(download(page, produced.get_by_role("link", name=re.compile("Word \\(DOCX\\)$")).first)))
    header = " ".join(p.text for section in word.sections for p in section.header.paragraphs)
    assert NOM in header and "62018 Arras Cedex 9" in header
    check_accessibility(page, "la page du document et ses fichiers")

    # Printed, the page keeps the document and drops the menus and the buttons.
    printed_without_controls(page, "la page du document soumis", page.locator("dl.meta"), produced)


# What only works on a screen: every button, the forms' action bars, the menus (every <nav>: the main one,
# the form's steps), the site's header, the links drawn as buttons. None of it may print.
SCREEN_ONLY = "button, .actions-bar, .form-actions, nav, .site-header, a.button"
_SHOWN = "sel => [...document.querySelectorAll(sel)].filter(e => e.checkVisibility()).map(e => e.outerHTML.slice(0, 100))"


def printed_without_controls(page: Page, where: str, *content: Any) -> None:
    """Print media: nothing of ``SCREEN_ONLY`` shows, the heading and ``content`` do; back on screen, the controls are there again."""
    on_screen = page.evaluate(_SHOWN, SCREEN_ONLY)
    assert any(html.startswith("<button") for html in on_screen), f"{where} : aucun bouton à l'écran, le test ne prouverait rien"
    page.emulate_media(media="print")
    try:
        assert page.evaluate(_SHOWN, SCREEN_ONLY) == [], f"{where} : imprimé avec ses commandes"
        expect(page.get_by_role("heading", level=1)).to_be_visible()
        for locator in content:
            expect(locator).to_be_visible()
    finally:
        page.emulate_media(media="screen")
    assert page.evaluate(_SHOWN, SCREEN_ONLY) == on_screen


def test_printed_pages_show_their_content_without_buttons_action_bars_or_menus(
    app: Flask, live_server: str, make_user: Callable[..., Account], page: Page, clock: Clock
) -> None:
    """Issue 16, point 10 ("menus and buttons print"): a draft's page, its form, a step of a dossier, the measures and the home page."""
    writer, web = _writer(app, make_user, page)
    clock.now = BEFORE_DEADLINE  # the call is open: its dossier's steps can be typed
    draft = doc_id_from(web.post("/documents/nouveau/fiche_saisine", example_form("fiche_saisine") | {"action": "save"}))
    dossier = open_dossier(app, web)
    sign_in(page, live_server, writer)

    page.goto(f"{live_server}/documents/{draft}")
    expect(page.get_by_role("button", name="Soumettre le document")).to_be_visible()  # in the action bar, with its form
    printed_without_controls(page, "la page du brouillon complet", page.locator("dl.meta"))
    page.goto(f"{live_server}/documents/{draft}/modifier")
    printed_without_controls(page, "le formulaire du brouillon", page.get_by_label(label("Nom et prénom du prescripteur")), page.locator("fieldset#menage-enfants"))
    page.goto(f"{live_server}/documents/{dossier}/modifier?etape=4")
    printed_without_controls(page, "une étape du dossier", page.get_by_label(label("Vision de l'accompagnement et mise en œuvre opérationnelle")))
    page.goto(f"{live_server}/mesures")
    printed_without_controls(page, "la liste des mesures", page.get_by_text("Aucune mesure pour l'instant."))
    page.goto(f"{live_server}/")
    printed_without_controls(page, "l'accueil", page.get_by_role("heading", level=2).first)


def test_the_dossiers_zip_is_dated_when_it_was_deposited(
    app: Flask, live_server: str, make_user: Callable[..., Account], page: Page, clock: Clock
) -> None:
    writer, web = _writer(app, make_user, page)
    now, clock.now = clock.now, BEFORE_DEADLINE  # deposited on 2 September 2019 at 11 h, Paris
    doc_id = deposit(app, web, example())
    clock.now = now
    sign_in(page, live_server, writer)
    page.goto(f"{live_server}/documents/{doc_id}")
    produced = files_of(page)
    archive = download(page, produced.get_by_role("link", name=re.compile("archive ZIP$")).first)
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        dates = {info.date_time for info in z.infolist()}
    assert dates == {(2019, 9, 2, 11, 0, 0)}, dates  # not 1980, not the time of the download
