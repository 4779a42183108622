"""The fiche saisine journey in a real headless Chromium: sign in, fill by label, errors, PDF.

The same journey as tests/test_web.py, but through what a user sees: labels, buttons, the
keyboard, the error summary, a downloaded file; axe-core checks every page visited.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Locator, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from pypdf import PdfReader

from schemas import get_kind
from schemas.fiche_saisine import BESOINS, ORIENTATIONS
from tests.conftest import PASSWORD, Account

pytestmark = pytest.mark.browser

EXAMPLE: dict[str, Any] = dict(get_kind("fiche_saisine").example)
_AXE = Axe()
BLOCKING = ("serious", "critical")
SCREENS = Path(__file__).resolve().parents[2] / "test-results" / "ecrans"
# The two widths every page is checked at: a desktop screen and a small phone (issue 16, point 4).
WIDTHS = {"bureau": {"width": 1280, "height": 800}, "360px": {"width": 360, "height": 740}}
_PAGES_SEEN: dict[str, int] = {}  # per test (its pytest id): the pages already looked at


# --- helpers -------------------------------------------------------------------------------


def check_accessibility(page: Page, where: str) -> None:
    """Check the page at desktop width and at 360 px: axe-core at each, and a screenshot of each kept.

    Every journey calls this on every page it visits, so every page of every journey is looked
    at both widths (issue 16, points 5 and 11); the screenshots go to ``test-results/ecrans/<test>/``
    (ignored by git), numbered in the order of the journey, for a person to look through.
    """
    _wait_for_the_queue(page)
    shown = page.viewport_size
    folder, number = _screens_of_current_test()
    for name, size in WIDTHS.items():
        page.set_viewport_size(size)
        for attempt in range(3):
            try:
                page.screenshot(path=str(folder / f"{number:02d}-{_slug(where)}-{name}.png"), full_page=True)
                _axe(page, f"{where}, {name}")
                break
            except PlaywrightError as exc:
                # A page waiting for a worker reloads itself once the work is done (static/progress.js):
                # looked at again once reloaded.
                if "context was destroyed" not in str(exc) or attempt == 2:
                    raise
                page.wait_for_load_state()
    if shown:
        page.set_viewport_size(shown)


def _wait_for_the_queue(page: Page) -> None:
    """Let a page waiting for a worker reload itself before it is looked at.

    Such a page (static/progress.js) reloads once the worker is done; a full-page screenshot taken
    across that reload hung for 15 s in a loaded CI run (the submitted bilan of the measure
    journey, twice). A server without a worker keeps the panel: the page is then looked at as it is.
    """
    panel = page.locator("[data-progress-url]")
    if not panel.count():
        return
    try:
        panel.first.wait_for(state="detached", timeout=60_000)
        page.wait_for_load_state()
    except PlaywrightTimeoutError:
        pass


def _slug(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")[:90]


def _screens_of_current_test() -> tuple[Path, int]:
    """The current test's screenshot folder (emptied at its first page) and the next page's number."""
    test = os.environ.get("PYTEST_CURRENT_TEST", "hors-test").split(" ")[0]
    folder = SCREENS / _slug(test.split("::")[0].rsplit("/", 1)[-1].removesuffix(".py")) / _slug(test.split("::")[-1])
    if test not in _PAGES_SEEN:
        shutil.rmtree(folder, ignore_errors=True)  # the screenshots of this test's previous run
        folder.mkdir(parents=True, exist_ok=True)
    _PAGES_SEEN[test] = _PAGES_SEEN.get(test, 0) + 1
    return folder, _PAGES_SEEN[test]


def _axe(page: Page, where: str) -> None:
    """Run axe-core (bundled, offline) on the page; fail on any serious or critical violation."""
    results = _AXE.run(page)
    blocking = [v for v in results.response["violations"] if v.get("impact") in BLOCKING]
    report = []
    for v in blocking:
        report.append(f"[{v['impact']}] {v['id']}: {v['help']} ({v['helpUrl']})")
        for node in v["nodes"]:
            report.append(f"    {', '.join(map(str, node['target']))}: {node['html'][:200]}")
            report.append(f"      {node.get('failureSummary', '').replace(chr(10), ' / ')}")
    assert not blocking, f"axe-core on {where} ({page.url}):\n" + "\n".join(report)


def tab_until(page: Page, target: Locator, *, limit: int = 150) -> int:
    """Press Tab until ``target`` has the focus; return the number of presses (fail past ``limit``)."""
    for presses in range(1, limit + 1):
        page.keyboard.press("Tab")
        if target.evaluate("el => el === document.activeElement"):
            return presses
    raise AssertionError(f"{target} never received the focus after {limit} Tab presses")


def label(text: str) -> re.Pattern[str]:
    """A label starting with ``text`` (labels of required fields end with "(obligatoire)")."""
    return re.compile(rf"^{re.escape(text)}(\s|$)")


def sign_in(page: Page, base: str, account: Account) -> None:
    page.goto(f"{base}/connexion")
    expect(page).to_have_title(re.compile("^Connexion"))
    check_accessibility(page, "la page de connexion")
    # The skip link is the first thing the keyboard reaches.
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Aller au contenu")).to_be_focused()
    page.get_by_label("Adresse électronique").fill(account.email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    page.get_by_role("button", name="Se connecter").click()
    expect(page.get_by_role("heading", level=1, name="Documents")).to_be_visible()


def download(page: Page, link: Locator, filename: str | None = None) -> bytes:
    """Click ``link`` as a user does and return the file the browser downloads.

    ``filename``: the name the browser must propose for it (the download's suggested name).
    """
    with page.expect_download() as info:
        link.click()
    if filename is not None:
        assert info.value.suggested_filename == filename
    return Path(info.value.path()).read_bytes()


def download_preview(page: Page, link: Locator) -> bytes:
    """Click a draft's preview ``link`` as a user does and return the file the browser downloads.

    Saved a moment ago, the preview is still being rendered by the worker: the click opens its
    page, which turns into its link by itself (issue 11, point 4); saved earlier, it downloads. The user
    ends where the link was.
    """
    with page.expect_download(timeout=60_000) as info:
        link.click()
        opened = "/apercu/" in page.url
        if opened:
            expect(page.get_by_role("heading", level=1)).to_contain_text("Aperçu")
            page.get_by_role("link", name=re.compile("^Télécharger l'aperçu")).click(timeout=60_000)
    if opened:
        page.go_back()  # back where the link was
    return Path(info.value.path()).read_bytes()


def add_row(page: Page, button: str, rows: str, count: int) -> Locator:
    """Press a server-side "Ajouter …" button; return the new row (a fieldset)."""
    page.get_by_role("button", name=button, exact=True).click()
    row = page.locator(f"fieldset#{rows}-{count - 1}")
    expect(row).to_be_visible()
    expect(page.locator(f"fieldset#{rows}-{count}")).to_have_count(0)
    return row


# --- the journey ---------------------------------------------------------------------------


def test_fiche_saisine_journey_in_a_real_browser(
    live_server: str, make_user: Callable[..., Account], page: Page, tmp_path: Path
) -> None:
    base = live_server
    page.set_default_timeout(15_000)
    account = make_user("redacteur")
    example = EXAMPLE
    pres, terr, menage = example["prescripteur"], example["territoire"], example["menage"]
    public, situation = example["public_prioritaire"], example["situation"]

    sign_in(page, base, account)
    check_accessibility(page, "la liste des documents")

    nouveau = page.get_by_role("region", name="Nouveau document")
    nouveau.get_by_role("link", name="Fiche saisine").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Fiche saisine"))

    # Keyboard only: the skip link comes first and leads to the content; a field is reached
    # with Tab and typed; Enter in a field saves the draft (the form's hidden default button),
    # which creates it. (Dates are filled by label below: typing into <input type="date">
    # depends on the browser's locale data.)
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Aller au contenu")
    expect(skip).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator("main#contenu")).to_be_focused()
    organisme = page.locator("fieldset#prescripteur").get_by_label(label("Organisme"))
    tab_until(page, organisme, limit=10)  # breadcrumb, the date's segments, then the organisme
    page.keyboard.type(pres["organisme"])
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Brouillon enregistré.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/documents/\d+/modifier$"))
    expect(organisme).to_have_value(pres["organisme"])

    # Everything else by label, with the schema's example data except the prescripteur's name.
    page.get_by_label(label("Date de la saisine")).fill(example["date_saisine"])
    p = page.locator("fieldset#prescripteur")
    p.get_by_label(label("Type de partenaire")).select_option(pres["type_partenaire"])
    # prescripteur-nom left empty on purpose
    p.get_by_label(label("Fonction")).fill(pres["fonction"])
    p.get_by_label(label("Téléphone")).fill(pres["telephone"])
    p.get_by_label(label("Adresse électronique")).fill(pres["email"])
    page.get_by_label(label("Commune de résidence du ménage")).fill(terr["commune"])
    page.get_by_label(label("EPCI")).select_option(terr["epci"])

    d = page.locator("fieldset#menage-demandeur")
    d.get_by_label(label("Nom")).fill(menage["demandeur"]["nom"])
    d.get_by_label(label("Prénom")).fill(menage["demandeur"]["prenom"])
    d.get_by_label(label("Date de naissance")).fill(menage["demandeur"]["date_naissance"])
    page.get_by_label(label("Situation familiale")).select_option(menage["situation_familiale"])

    for key, text in (
        ("famille_monoparentale", "Famille monoparentale sans domicile ou hébergée"),
        ("victime_violences", "Notamment victime de violences familiales"),
        ("parcours_institutionnel", "Jeune ayant eu un parcours institutionnel"),
        ("expulsion", "Ménage récemment expulsé ou menacé d'expulsion"),
    ):
        page.get_by_label(text).set_checked(bool(public[key]))

    page.get_by_label(label("Situation de logement actuelle")).select_option(situation["logement_actuel"])
    page.get_by_label(label("Description de la situation")).fill(situation["description"])
    besoins = page.get_by_role("group", name="Besoins identifiés")
    for value in situation["besoins"]:
        besoins.get_by_label(dict(BESOINS)[value], exact=True).check()
    page.get_by_label(label("Précisions sur les besoins")).fill(situation["precisions_besoins"])
    orientation = dict(ORIENTATIONS)[example["orientation"]["orientation"]]
    page.get_by_role("group", name=re.compile("^Orientation demandée")).get_by_role("radio", name=orientation).check()
    page.get_by_label(label("Motif de la demande")).fill(example["orientation"]["motif"])
    page.get_by_label("Le ménage adhère à la démarche et a été informé de la saisine").check()
    page.get_by_label(label("Date de recueil de l'adhésion")).fill(example["adhesion"]["date_adhesion"])

    # Table rows are added by the server (no JavaScript); what was typed survives each round trip.
    for index, enfant in enumerate(menage["enfants"]):
        row = add_row(page, "Ajouter un enfant", "menage-enfants", index + 1)
        expect(page.get_by_role("group", name=f"Enfant {index + 1}", exact=True)).to_be_visible()
        row.get_by_label(label("Prénom")).fill(enfant["prenom"])
        row.get_by_label(label("Date de naissance")).fill(enfant["date_naissance"])
    # A new form offers one empty resource row, shown again as long as it is not filled.
    expect(page.locator("fieldset#menage-ressources fieldset.row")).to_have_count(1)
    for index, ressource in enumerate(menage["ressources"]):
        row = page.locator("fieldset#menage-ressources-0") if index == 0 else add_row(page, "Ajouter une ressource", "menage-ressources", index + 1)
        row.get_by_label(label("Type de ressource")).select_option(ressource["type"])
        row.get_by_label(label("Montant mensuel")).fill(ressource["montant_mensuel"])
    for index, acc in enumerate(situation["accompagnements"]):
        row = add_row(page, "Ajouter un accompagnement", "situation-accompagnements", index + 1)
        row.get_by_label(label("Type d'accompagnement")).fill(acc["type"])
        row.get_by_label(label("Référent")).fill(acc["referent"])
        row.get_by_label(label("Structure")).fill(acc["structure"])
        row.get_by_label(label("Téléphone")).fill(acc["telephone"])
    expect(page.get_by_label(label("Commune de résidence du ménage"))).to_have_value(terr["commune"])
    expect(page.locator("fieldset#menage-enfants-0").get_by_label(label("Prénom"))).to_have_value("Léo")
    ressources = page.get_by_role("group", name="Ressources mensuelles", exact=True)
    expect(ressources).to_have_accessible_description("Une ligne par type de ressource ; le total est calculé.")
    check_accessibility(page, "le brouillon avec ses lignes")

    # Submitting with the name missing: refused, the summary lists it, the field says why.
    page.get_by_role("button", name="Soumettre le document").click()
    summary = page.locator(".error-summary[role=alert]")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("Ce document ne peut pas encore être soumis : 1 point à corriger")
    expect(page.get_by_role("alert").filter(has_text="ne peut pas être soumis")).to_have_count(1)  # the flash
    nom = page.get_by_label(label("Nom et prénom du prescripteur"))
    message = page.locator("#prescripteur-nom-error")
    expect(message).to_have_text("Erreur : Ce champ est obligatoire.")
    expect(nom).to_have_attribute("aria-invalid", "true")
    expect(nom).to_have_attribute("aria-describedby", re.compile(r"(^|\s)prescripteur-nom-error(\s|$)"))
    expect(nom).to_have_accessible_description(re.compile("Ce champ est obligatoire"))
    expect(page.get_by_label(label("Fonction"))).not_to_have_attribute("aria-invalid", "true")
    check_accessibility(page, "le formulaire avec erreurs")

    # The summary's link, reached and followed with the keyboard, puts the focus in the field.
    link = summary.get_by_role("link", name=re.compile("Nom et prénom du prescripteur : Ce champ est obligatoire"))
    expect(link).to_have_attribute("href", "#prescripteur-nom")
    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Aller au contenu")).to_be_focused()
    tab_until(page, link, limit=20)
    page.keyboard.press("Enter")
    expect(nom).to_be_focused()
    page.keyboard.type(pres["nom"])
    # ... then Tab down to "Enregistrer le brouillon" and Enter.
    tab_until(page, page.get_by_role("button", name="Enregistrer le brouillon"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("status").filter(has_text="Brouillon enregistré.")).to_be_visible()
    expect(nom).to_have_value(pres["nom"])
    expect(page.locator(".error-summary")).to_have_count(0)
    expect(nom).not_to_have_attribute("aria-invalid", "true")

    # Corrected: submitted, numbered, locked.
    page.get_by_role("button", name="Soumettre le document").click()
    expect(page.get_by_role("status").filter(has_text="Document soumis sous la référence FS-2019-000001")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/documents/\d+$"))
    expect(page.locator("dl.meta")).to_contain_text("FS-2019-000001")
    expect(page.locator("dl.meta")).to_contain_text("Durand Julie – Liévin")
    # Back, after the refused then corrected submission: a page, never the browser's "confirm
    # form resubmission" (the refusal was a redirect; issue 16, point 7).
    page.go_back()
    expect(page.get_by_role("status").filter(has_text="Ce document a été soumis : il est verrouillé.")).to_be_visible()
    page.go_back()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Fiche saisine"))
    page.go_forward()
    page.go_forward()
    expect(page.get_by_role("complementary", name="Calculé automatiquement")).to_contain_text("Lens-Hénin")
    check_accessibility(page, "la page du document soumis")

    # The frozen PDF, downloaded as a user does and read back.
    pdf = download(page, page.get_by_role("link", name="Fiche saisine – plateforme Logement d'abord – PDF", exact=True), "FS-2019-000001-v1.pdf")
    reader = PdfReader(io.BytesIO(pdf))
    text = "\n".join(page_.extract_text() for page_ in reader.pages)
    assert "FS-2019-000001" in text
    assert "Durand" in text and "Julie" in text
    assert "Lens-Hénin" in text
    assert "Léo" in text and "Inès" in text

    # Back to the list: the submitted document is there, with its reference and status.
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Documents").click()
    row = page.get_by_role("row").filter(has_text="FS-2019-000001")
    expect(row).to_contain_text("Durand Julie – Liévin")
    check_accessibility(page, "la liste avec un document")


def test_a_section_level_error_is_announced_and_reachable(
    live_server: str, make_user: Callable[..., Account], page: Page
) -> None:
    """A rule over a whole section (no priority public) is tied to the section and reachable by keyboard."""
    page.set_default_timeout(15_000)
    sign_in(page, live_server, make_user("redacteur"))
    page.get_by_role("link", name=re.compile("^Fiche saisine")).click()
    check_accessibility(page, "un formulaire vide")
    page.get_by_label(label("Date de la saisine")).fill("2019-10-14")
    page.locator("fieldset#menage-demandeur").get_by_label(label("Date de naissance")).fill("1980-01-01")  # 39 years old
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_role("status").filter(has_text="Brouillon enregistré.")).to_be_visible()

    summary = page.locator(".error-summary[role=alert]")
    expect(summary).to_be_visible()
    link = summary.get_by_role(
        "link", name=re.compile("^Public prioritaire : Le ménage doit relever d'au moins un public prioritaire")
    )
    expect(link).to_have_attribute("href", "#public_prioritaire")
    section = page.get_by_role("group", name="Public prioritaire", exact=True)
    expect(section).to_have_accessible_description(re.compile("Le ménage doit relever d'au moins un public prioritaire"))
    check_accessibility(page, "un brouillon incomplet")

    # Following the link moves the keyboard into the section: the next Tab is its first checkbox.
    tab_until(page, link, limit=60)  # past the summary's links to the empty required fields
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile("#public_prioritaire$"))
    page.keyboard.press("Tab")
    expect(page.get_by_label("Famille monoparentale sans domicile ou hébergée")).to_be_focused()


def test_a_printed_page_shows_the_content_without_menus_or_buttons(
    live_server: str, make_user: Callable[..., Account], page: Page
) -> None:
    """Issue 16, point 10: the print stylesheet keeps the document's content, drops what only works on screen."""
    page.set_default_timeout(15_000)
    sign_in(page, live_server, make_user("redacteur"))
    page.get_by_role("link", name=re.compile("^Fiche saisine")).click()
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    heading, menu = page.get_by_role("heading", level=1), page.get_by_role("navigation", name="Navigation principale")
    save = page.get_by_role("button", name="Enregistrer le brouillon")
    expect(menu).to_be_visible()
    expect(save).to_be_visible()
    page.emulate_media(media="print")
    expect(heading).to_be_visible()
    expect(page.get_by_label(label("Date de la saisine"))).to_be_visible()
    expect(menu).to_be_hidden()
    expect(save).to_be_hidden()
    page.emulate_media(media="screen")
    expect(menu).to_be_visible()
