"""What the pages say, as an association, an archiviste and an administrator read them, in Debian's Chromium (issue 16, point 8).

"Jargon and slips: SHA-256 tables on every document page (keep them under "Détails techniques"),
"jeton CSRF", a command-line instruction shown to archivistes, "ASLL §8" cited on an AML measure,
"Ménage : Association Habitat Solidaire" on a dossier, "Documents de Association…", "5000,00 €"
on the calls page […], "point(s)", nested quotes in "Appel « Appel à candidature « … » … »
enregistré"." Each slip is looked for in the text the browser shows, on the page where it was.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.test_journey import check_accessibility, sign_in
from tests.conftest import Account, Clock, WebClient
from tests.test_candidatures import BEFORE_DEADLINE, open_dossier
from tests.test_permissions import MESURES
from tests.test_web import submitted

pytestmark = pytest.mark.browser

ORG = "Association Habitat Solidaire"
# Slips no page may show, whatever it is (point 8).
NEVER = ("point(s)", "CSRF", "Documents de Association", "Ménage : Association")


def shown(page: Page) -> str:
    """The text the page shows (its main content), spaces as typed."""
    text = page.locator("main").inner_text()
    for slip in NEVER:
        assert slip not in text, f"« {slip} » sur {page.url}"
    return text


def test_an_association_reads_plain_french_without_jargon(
    app: Flask, live_server: str, make_user: Callable[..., Account], page: Page, clock: Clock
) -> None:
    base = live_server
    page.set_default_timeout(15_000)
    writer = make_user("redacteur", org=ORG)
    web = WebClient(app.test_client())
    web.login(writer)
    doc_id = submitted(web, "fiche_saisine")
    opened = web.post("/mesures/nouvelle", MESURES["mesure_aml"])
    assert opened.status_code == 302, opened.get_data(as_text=True)
    now, clock.now = clock.now, BEFORE_DEADLINE
    dossier_id = open_dossier(app, web)
    clock.now = now

    sign_in(page, base, writer)
    expect(page.get_by_role("heading", name=f"Documents de votre organisation ({ORG})")).to_be_visible()
    shown(page)

    # The document's page: the files' SHA-256 kept under "Détails techniques", closed.
    page.goto(f"{base}/documents/{doc_id}")
    details = page.locator("details").filter(has=page.get_by_text("Détails techniques"))
    digest = details.get_by_text(re.compile(r"^[0-9a-f]{64}$")).first
    expect(digest).to_be_hidden()
    assert not re.search(r"[0-9a-f]{64}", shown(page))  # no digest in the text read
    details.get_by_text("Détails techniques").click()
    expect(digest).to_be_visible()
    check_accessibility(page, "la page d'un document, détails techniques ouverts")

    # An AML measure cites no ASLL article.
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Mesures").click()
    page.get_by_role("row").filter(has_text="Garnier").get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("AML")
    assert "ASLL §" not in shown(page)

    # The calls' page writes its amount as the PDFs do: "5 000,00 €".
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Appels à candidatures").click()
    text = shown(page)
    assert "5\u202f000,00\xa0€ par mesure et par an" in text and "5000,00" not in text

    # The dossier names its association as the association, never as a household.
    page.goto(f"{base}/documents/{dossier_id}/liste")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Dossier de candidature")
    assert "Ménage" not in shown(page)

    # A form sent with a token that is no longer valid: plain words, no "jeton CSRF".
    page.goto(f"{base}/compte/mot-de-passe")
    page.locator("main form input[name=csrf_token]").evaluate("el => el.remove()")
    page.locator("main form button[type=submit]").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Formulaire expiré")
    assert "jeton" not in shown(page).lower()


def test_an_archiviste_is_shown_no_command_line(live_server: str, make_user: Callable[..., Account], page: Page) -> None:
    page.set_default_timeout(15_000)
    sign_in(page, live_server, make_user("archiviste", "Département du Pas-de-Calais"))
    for url in ("/archives", "/archives/conservation", "/compte/double-authentification"):
        page.goto(live_server + url)
        text = shown(page)
        assert not re.search(r"\bwebforms [a-z-]+", text), f"une commande sur {url}"
        assert "flask " not in text and "$ " not in text


def test_saving_a_call_quotes_its_title_once(live_server: str, make_user: Callable[..., Account], page: Page) -> None:
    page.set_default_timeout(15_000)
    sign_in(page, live_server, make_user("admin", org="Administration"))
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Appels", exact=True).click()
    page.get_by_role("link", name=re.compile("Aide à la Médiation Locative")).click()
    page.get_by_role("button", name="Enregistrer l'appel").click()
    saved = page.get_by_text(re.compile("^L'appel est enregistré"))
    expect(saved).to_have_text("L'appel est enregistré : Appel à candidature « Aide à la Médiation Locative » – Logement d'abord (Pas-de-Calais, 2019).")
    assert "« Appel" not in saved.inner_text()
