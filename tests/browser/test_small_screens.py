"""A day's work on a phone (issue 16, point 4): every page at 360 px wide, in Debian's Chromium.

Nothing makes the page scroll sideways, lists of documents become cards (each value under its
column's name), a status never wraps inside itself, and axe-core finds nothing serious. The
screenshots, at 360 px and at desktop width, are kept by ``check_accessibility`` under
``test-results/ecrans/`` (ignored by git) for a person to look at.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from playwright.sync_api import Page

from tests.browser.test_journey import check_accessibility, sign_in
from tests.conftest import Account, WebClient
from tests.test_candidatures import BEFORE_DEADLINE, open_dossier
from tests.test_mesures_web import open_mesure
from tests.test_web import submitted

PHONE = {"width": 360, "height": 740}

_OVERFLOW = "() => document.documentElement.scrollWidth - window.innerWidth"
# The number of lines each status badge's text takes (a Range's rectangles: one per line).
# What sticks out on the right: the deepest elements wider than the window (for the failure's message).
_WIDEST = """() => [...document.querySelectorAll('body *')].filter(el => el.getBoundingClientRect().right > window.innerWidth + 1
  && ![...el.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 1)).slice(0, 5)
  .map(el => el.tagName + '.' + el.className + ' « ' + el.textContent.trim().slice(0, 40) + ' » ' + Math.round(el.getBoundingClientRect().right) + ' px')"""
_BADGE_LINES = """() => [...document.querySelectorAll('.statut, .badge-late')].map(el => {
  const range = document.createRange(); range.selectNodeContents(el);
  return [el.textContent.trim(), new Set([...range.getClientRects()].map(r => Math.round(r.top))).size];
})"""
# The words broken inside themselves ("Dossie r", "candid ature"): a Range over each word of a
# heading, a column name, a label, a value or a badge gives one rectangle per line it spans.
# A space, a hyphen, a dash or a slash is where a line may break, so words are taken between
# them. Code (an API path, a schema's name), an e-mail address, an identifier or a path (a token
# holding "@", "_", "{" or "://") is no word: wider than a phone's line, it must break somewhere,
# and CSS breaks it anywhere.
_BROKEN_WORDS = """() => [...document.querySelectorAll('h1, h2, h3, th, label, dd, .badge, .statut')].flatMap(el => {
  const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT); const broken = [];
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (node.parentElement.closest('code, pre, kbd, samp')) { continue; }
    for (const token of node.textContent.matchAll(/\\S+/g)) {
      if (/[@_{]|:\\/\\//.test(token[0])) { continue; }
      for (const m of token[0].matchAll(/[^\\-\\/\u2010\u2011\u2013\u2014]+/g)) {
        const start = token.index + m.index;
        const range = document.createRange(); range.setStart(node, start); range.setEnd(node, start + m[0].length);
        const tops = new Set([...range.getClientRects()].filter(r => r.width > 0).map(r => Math.round(r.top)));
        if (tops.size > 1) { broken.push(m[0]); }
      }
    }
  }
  return broken;
})"""
_CARD_CELLS = "() => [...document.querySelectorAll('table.list.cards td')].map(td => td.getBoundingClientRect().width)"


def _look(page: Page, url: str, name: str) -> None:
    page.goto(url)
    check_small_screen(page, name)
    check_accessibility(page, f"{name} à 360 px")


def check_small_screen(page: Page, name: str) -> None:
    """At the page's current width: nothing scrolls sideways, no badge wraps, cards are not crushed."""
    assert page.evaluate(_OVERFLOW) <= 0, f"{name} : la page défile de côté à 360 px : " + "; ".join(page.evaluate(_WIDEST))
    for text, lines in page.evaluate(_BADGE_LINES):
        assert lines == 1, f"{name} : « {text} » est coupé sur {lines} lignes"
    broken = page.evaluate(_BROKEN_WORDS)
    assert not broken, f"{name} : mots coupés en deux à 360 px : {broken[:5]}"
    widths = page.evaluate(_CARD_CELLS)
    # A card's cell spans the card (the phone's width less the margins), not a crushed column.
    assert all(width > 250 for width in widths), f"{name} : colonnes écrasées ({sorted(widths)[:3]} px)"


def test_the_writers_pages_work_on_a_phone(
    app: Flask, live_server: str, make_user: Callable[..., Account], page: Page, clock: Any
) -> None:
    account = make_user("redacteur")
    web = WebClient(app.test_client())
    web.login(account)
    doc_id = submitted(web, "fiche_saisine")
    mesure_id = open_mesure(web)
    now, clock.now = clock.now, BEFORE_DEADLINE
    dossier_id = open_dossier(app, web)
    clock.now = now
    page.set_viewport_size(PHONE)
    page.set_default_timeout(10_000)
    sign_in(page, live_server, account)
    for url, name in (
        ("/", "accueil"),
        (f"/documents/{doc_id}", "document"),
        ("/documents/nouveau/fiche_saisine", "formulaire"),
        ("/appels", "appels"),
        (f"/documents/{dossier_id}/liste", "liste-de-controle"),
        ("/mesures", "mesures"),
        (f"/mesures/{mesure_id}", "mesure"),
        ("/accessibilite", "accessibilite"),
    ):
        _look(page, live_server + url, name)


def test_the_recipients_pages_work_on_a_phone(
    app: Flask, live_server: str, make_user: Callable[..., Account], page: Page
) -> None:
    writer = WebClient(app.test_client())
    writer.login(make_user("redacteur"))
    submitted(writer, "fiche_saisine")
    page.set_viewport_size(PHONE)
    page.set_default_timeout(10_000)
    sign_in(page, live_server, make_user("coordinateur", org="Plateforme Logement d'abord Lens-Hénin"))
    _look(page, live_server + "/", "accueil-coordinateur")
    page.goto(live_server + "/")
    assert page.evaluate(_CARD_CELLS), "the received documents are shown as cards"


def test_the_staff_pages_work_on_a_phone(app: Flask, live_server: str, make_user: Callable[..., Account], page: Page, clock: Any) -> None:
    """Administrator, archiviste and instructeur: their pages at 360 px, axe-core on each (issue 16, points 4 and 11)."""
    writer = WebClient(app.test_client())
    writer.login(make_user("redacteur"))
    submitted(writer, "fiche_saisine")
    now, clock.now = clock.now, BEFORE_DEADLINE
    open_dossier(app, writer)
    clock.now = now
    page.set_viewport_size(PHONE)
    page.set_default_timeout(10_000)
    pages = {
        "admin": ["/admin/utilisateurs", "/admin/organisations", "/admin/appels", "/admin/modeles", "/admin/travaux", "/admin/conservation", "/admin/certificats", "/notifications/preferences"],
        "archiviste": ["/archives", "/archives/conservation", "/notifications"],
        "instructeur": ["/appels", "/mesures/", "/compte/mot-de-passe"],
    }
    for role, urls in pages.items():
        page.context.clear_cookies()
        sign_in(page, live_server, make_user(role))
        for url in urls:
            _look(page, live_server + url, f"{role}{url.replace('/', '-').rstrip('-')}")


def test_the_broken_word_check_sees_a_word_broken_inside_itself(page: Page) -> None:
    """Both sides of the check above: a word broken letter by letter is found; whole words, and a break at a hyphen, are not."""
    page.set_viewport_size(PHONE)
    page.set_content(
        '<h1 style="width: 60px; overflow-wrap: anywhere">Candidature</h1>'
        '<h2 style="width: 90px">Dossier de candidature</h2><dd style="width: 90px">Hénin-Beaumont</dd>'
        '<th style="display: block; width: 60px">(min.–max.)</th>'
        '<dd style="width: 90px; overflow-wrap: anywhere">archiviste_artois@matrice.example.fr</dd>'
        '<dd style="width: 90px; overflow-wrap: anywhere">/api/v1/documents/{doc_id}/rendus</dd>'
        '<dd style="width: 60px; overflow-wrap: anywhere">Instruction</dd>'
        '<h3 style="width: 60px; overflow-wrap: anywhere"><code>common.MesureIdentiteBrouillon</code></h3>'
    )
    assert page.evaluate(_BROKEN_WORDS) == ["Candidature", "Instruction"]
