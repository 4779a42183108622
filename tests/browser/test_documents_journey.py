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

from tests.browser.test_journey import check_accessibility, download, sign_in
from tests.conftest import Account, Clock, WebClient
from tests.test_candidatures import BEFORE_DEADLINE, example
from tests.test_identity import ADRESSE, NOM
from tests.test_jury_work import deposit
from tests.test_web import submitted

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


def test_a_document_downloaded_carries_the_departements_identity_in_pdf_and_word(
    app: Flask, live_server: str, make_user: Callable[..., Account], page: Page
) -> None:
    page.set_default_timeout(15_000)
    writer = make_user("redacteur", org="Association Habitat Solidaire")
    web = WebClient(app.test_client())
    web.login(writer)
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
    page.emulate_media(media="print")
    expect(page.get_by_role("navigation", name="Navigation principale")).to_be_hidden()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    page.emulate_media(media="screen")
    expect(page.get_by_role("navigation", name="Navigation principale")).to_be_visible()


def test_the_dossiers_zip_is_dated_when_it_was_deposited(
    app: Flask, live_server: str, make_user: Callable[..., Account], page: Page, clock: Clock
) -> None:
    page.set_default_timeout(15_000)
    writer = make_user("redacteur", org="Association Habitat Solidaire")
    web = WebClient(app.test_client())
    web.login(writer)
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
