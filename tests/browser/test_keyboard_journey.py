"""A candidature from sign-in to deposit with the keyboard only, in Debian's Chromium (issue 16, point 11).

RGAA 4.1 (criteria 12.8, 10.7): every control is reached with Tab in an order that follows the
page, and the element that has the focus is visibly marked. Nothing here clicks: Tab moves
forward only, Enter follows a link or presses a button, Space ticks a box or opens the file
chooser, the arrow keys choose an option. A row of a table is added with its "Ajouter" button
(in the page, static/rows.js) and the focus lands in it. Each element reached must show the
focus (outline or shadow) and be on screen.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect

from schemas import get_kind
from tests.browser.test_candidature_journey import COURRIER, DELIBERATION, FICHE_POSTE, REFERENCE, text_pdf
from tests.browser.test_journey import check_accessibility
from tests.conftest import PASSWORD, Account, Clock
from tests.test_candidatures import BEFORE_DEADLINE, example
from tests.test_web import flatten

pytestmark = pytest.mark.browser

SECTIONS = list(get_kind("candidature_aml").schema().fields)
# Is the focused element marked (outline or box-shadow) and on screen?
_FOCUS_SHOWN = """el => { const s = getComputedStyle(el), r = el.getBoundingClientRect();
  const marked = (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
  return [marked, r.bottom > 0 && r.right > 0 && r.top < window.innerHeight && r.left < window.innerWidth]; }"""
# The form's controls and row buttons, in document order: [name, value, type, readOnly||disabled].
_CONTROLS = """form => [...form.elements].map(e => [e.name || '', e.value || '', (e.type || '').toLowerCase(), !!(e.readOnly || e.disabled)])"""


class Keyboard:
    """Drive a page with the keyboard only, checking that every element reached shows its focus."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.presses = 0
        # Keep the page's file choosers intercepted for the whole journey: Playwright turns the
        # interception on when a "filechooser" listener appears and off when the last one goes,
        # and turning it back on races with the key press that follows (the chooser then opens
        # outside Playwright's reach: a 10 s timeout seen once in the fresh-clone CI).
        page.on("filechooser", lambda chooser: None)

    def reach(self, target: Locator, *, limit: int = 120) -> None:
        """Press Tab until ``target`` has the focus; check it is visibly marked."""
        target.wait_for(state="attached")
        for _ in range(limit):
            if target.evaluate("el => el === document.activeElement"):
                break
            self.page.keyboard.press("Tab")
            self.presses += 1
        else:
            raise AssertionError(f"{target} never received the focus after {limit} Tab presses")
        marked, on_screen = target.evaluate(_FOCUS_SHOWN)
        assert marked, f"the focus on {target} is not visible (no outline, no shadow)"
        assert on_screen, f"{target} has the focus but is off screen"

    def press(self, target: Locator, key: str = "Enter") -> None:
        self.reach(target)
        self.page.keyboard.press(key)

    def type(self, target: Locator, text: str) -> None:
        """Replace the field's text with ``text``, as typed."""
        self.reach(target)
        self.page.keyboard.press("Control+A")
        self.page.keyboard.type(text)

    def choose(self, target: Locator, value: str) -> None:
        """Choose an option of a closed <select> with the arrow keys."""
        self.reach(target)
        self.page.keyboard.press("Home")
        for _ in range(80):
            if target.input_value() == value:
                return
            self.page.keyboard.press("ArrowDown")
        raise AssertionError(f"no option {value!r} in {target}")

    def date(self, target: Locator, iso: str) -> None:
        """Type a date in a date field, day first as in France; month first if the browser's format is American."""
        # The order of the field's segments follows the browser's own locale data (Debian's
        # headless Chromium may show mm/jj/aaaa whatever the page's language): typed, then checked.
        self.reach(target)
        year, month, day = iso.split("-")
        self.page.keyboard.type(f"{day}{month}{year}")
        if target.input_value() != iso:
            for _ in range(2):
                self.page.keyboard.press("ArrowLeft")  # back to the first segment
            self.page.keyboard.type(f"{month}{day}{year}")
        expect(target).to_have_value(iso)

    def tick(self, target: Locator, checked: bool = True) -> None:
        self.reach(target)
        if target.is_checked() != checked:
            self.page.keyboard.press("Space")
        expect(target).to_be_checked(checked=checked)

    def attach(self, target: Locator, name: str, content: bytes) -> None:
        """Open the file chooser of a file field with Space and give it a file."""
        self.reach(target)
        with self.page.expect_file_chooser() as chooser:
            self.page.keyboard.press("Space")
        chooser.value.set_files({"name": name, "mimeType": "application/pdf", "buffer": content})


def _table_of(key: str) -> str:
    """The table of a row's field: ``moyens-equipe`` for ``moyens-equipe-1-poste``."""
    return re.sub(r"-\d+-[^-]+$", "", key)


def fill_step(kb: Keyboard, form: Locator, values: dict[str, Any]) -> None:
    """Fill one step's fields in the order of the page, adding the table rows it needs on the way."""
    pending = dict(values)
    while pending:
        controls = form.evaluate(_CONTROLS)
        names = [c[0] for c in controls]
        adds = {c[1].removeprefix("add:"): i for i, c in enumerate(controls) if c[1].startswith("add:")}
        # A field of a row not there yet is where its table's "Ajouter" button is.
        positions = {k: names.index(k) if k in names else adds[_table_of(k)] for k in pending}
        key = min(pending, key=positions.__getitem__)
        if key not in names:
            rows = form.locator(f"fieldset#{_table_of(key)} > fieldset.row")
            count = rows.count()
            kb.press(form.locator(f"button[value='add:{_table_of(key)}']"))
            expect(rows).to_have_count(count + 1)
            continue
        value = pending.pop(key)
        _, _, kind, fixed = controls[names.index(key)]
        if fixed:
            continue  # fixed by the call (its territories, its amount per measure)
        if isinstance(value, list):  # boxes to tick
            for code in value:
                kb.tick(form.locator(f"[name='{key}'][value='{code}']"))
        elif kind == "checkbox":
            kb.tick(form.locator(f"[name='{key}']"))
        elif kind == "radio":
            kb.reach(form.locator(f"[name='{key}']").first)
            target = form.locator(f"[name='{key}'][value='{value}']")
            for _ in range(20):
                if target.is_checked():
                    break
                kb.page.keyboard.press("ArrowDown")
            expect(target).to_be_checked()
        elif kind.startswith("select"):
            kb.choose(form.locator(f"[name='{key}']"), value)
        elif kind == "date":
            kb.date(form.locator(f"[name='{key}']"), value)
        else:
            field = form.locator(f"[name='{key}']")
            if field.input_value() != value:
                kb.type(field, value)
                expect(field).to_have_value(value)


def test_a_candidature_from_sign_in_to_deposit_with_the_keyboard_only(live_server: str, make_user: Callable[..., Account], page: Page, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE  # the call is open
    page.set_default_timeout(10_000)
    account = make_user("redacteur")
    data = example()
    kb = Keyboard(page)

    # --- sign in: the skip link first, then the fields, Enter sends ------------------------
    page.goto(f"{live_server}/connexion")
    kb.reach(page.get_by_role("link", name="Aller au contenu"))
    kb.type(page.get_by_label("Adresse électronique"), account.email)
    kb.type(page.get_by_label("Mot de passe"), PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1, name="Documents")).to_be_visible()

    # --- the calls, then the dossier's checklist ----------------------------------------------
    kb.press(page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Appels à candidatures"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Appels à candidatures")
    kb.press(page.get_by_role("button", name="Préparer un dossier de candidature"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Dossier de candidature"))
    kb.press(page.get_by_role("region", name="Formulaire").get_by_role("link", name=get_kind("candidature_aml").schema().fields["porteur"].metadata["label"], exact=True))

    # --- the seven steps, each saved with "Enregistrer et continuer" ---------------------------
    for number, section in enumerate(SECTIONS, start=1):
        expect(page.get_by_text(f"Étape {number} sur {len(SECTIONS)}", exact=True)).to_be_visible()
        form = page.locator("form.document-form")
        fill_step(kb, form, flatten({section: data[section]}))
        last = number == len(SECTIONS)
        kb.press(page.get_by_role("button", name="Enregistrer et voir la liste de contrôle" if last else "Enregistrer et continuer", exact=True))
        if not last:
            # The step just left is complete: nothing was lost on the way.
            expect(page.get_by_role("navigation", name="Étapes du formulaire").get_by_role("listitem").nth(number - 1)).to_contain_text("(complète)")
    expect(page).to_have_url(re.compile(r"/documents/\d+/liste$"))
    check_accessibility(page, "la liste de contrôle atteinte au clavier")

    # --- the pieces: the file chooser opened with Space, sent with the piece's own button -------
    for title, name in ((COURRIER, "courrier.pdf"), (DELIBERATION, "deliberation.pdf"), (FICHE_POSTE, "fiche-de-poste.pdf")):
        kb.attach(page.get_by_label(re.compile(rf"^(Ajouter|Remplacer) : {re.escape(title)} \(")), name, text_pdf(name))
        kb.press(page.get_by_role("button", name=f"Envoyer : {title}", exact=True))
        expect(page.get_by_role("status").filter(has_text="Pièce ajoutée.")).to_be_visible()

    # --- deposited ----------------------------------------------------------------------------
    kb.press(page.get_by_role("button", name="Déposer le dossier"))
    expect(page.get_by_role("status").filter(has_text=f"Document soumis sous la référence {REFERENCE}")).to_be_visible(timeout=20_000)
    check_accessibility(page, "le dossier déposé au clavier")
    assert kb.presses > 0
