"""What a form shows before anything is typed, and how it reads what is typed, in Debian's Chromium (issue 16, points 2 and 6).

Point 2, "walls of red before anything is typed": a prefilled bilan, a new dossier's section
open with no error shown, what is left to fill said in neutral terms; errors appear once the
user tries to move on (a dossier's next step) or to submit.
Point 6, "time fields refuse 9h and 9h30 […] accept the ways people write times and amounts":
"9h", "9h30", "9 h 30", "09:30" saved and shown as 09:00 / 09:30, "25h" refused beside its field
in French with what was typed kept; "5 000 €" and "5000,50" accepted. The rows are added in place.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from schemas import get_kind
from schemas.candidature_aml import JOURS
from tests.browser.test_journey import check_accessibility, label, sign_in
from tests.conftest import Account, Clock, WebClient
from tests.test_candidatures import BEFORE_DEADLINE, open_dossier
from tests.test_mesures_web import AML, meeting, open_mesure
from webforms import db
from webforms.models import Document

pytestmark = pytest.mark.browser

BILAN = "Bilan d'accompagnement – AML Logement d'abord"
TIME_ERROR = "Heure invalide : écrivez par exemple 9h, 9h30 ou 09:30."
# Set on the window before a click: still there afterwards only if the page was not reloaded.
_MARK = "() => { window.__pasRecharge = true; }"
_MARKED = "() => window.__pasRecharge === true"


def no_error_shown(page: Page) -> None:
    """Nothing red: no error summary, no field marked invalid, no message beside a field, no « à corriger »."""
    expect(page.locator(".error-summary")).to_have_count(0)
    expect(page.locator("[aria-invalid=true]")).to_have_count(0)
    expect(page.locator(".error-message")).to_have_count(0)
    expect(page.locator("main")).not_to_contain_text("à corriger")


def test_a_prefilled_bilan_opens_without_errors_until_it_is_submitted(
    app: Flask, live_server: str, make_user: Callable[..., Account], page: Page
) -> None:
    account = make_user("redacteur")
    web = WebClient(app.test_client())
    web.login(account)
    mesure_id = open_mesure(web, **AML)
    for day in ("2019-06-05", "2019-06-12"):
        web.post(f"/mesures/{mesure_id}/rencontres", meeting(day, "visite_domicile"))
    page.set_default_timeout(10_000)
    sign_in(page, live_server, account)
    page.goto(f"{live_server}/mesures/{mesure_id}")
    page.get_by_role("button", name=f"Rédiger : {BILAN}").click()
    expect(page).to_have_url(re.compile(r"/documents/\d+/modifier$"))
    expect(page.locator("fieldset#mesure").get_by_label(label("Nom du ménage"))).to_have_value("Durand")  # prefilled

    no_error_shown(page)
    to_fill = page.locator(".panel.to-fill")
    expect(to_fill.get_by_role("heading")).to_have_text(re.compile(r"^Avant de soumettre : \d+ champs obligatoires à remplir$"))
    left = int(re.search(r"\d+", to_fill.get_by_role("heading").inner_text()).group())  # type: ignore[union-attr]
    check_accessibility(page, "le bilan prérempli, rien de saisi")

    # Saved as it is: still nothing red (a field only left empty is not an error yet).
    page.get_by_role("button", name="Enregistrer le brouillon").click()
    expect(page.get_by_role("status").filter(has_text="Brouillon enregistré")).to_have_count(1)
    no_error_shown(page)

    # Submitted: now each field left empty is an error, beside it and in the summary.
    page.get_by_role("button", name="Soumettre le document").click()
    summary = page.locator(".error-summary[role=alert]")
    expect(summary.get_by_role("heading")).to_have_text(re.compile(r"^Ce document ne peut pas encore être soumis : \d+ points à corriger$"))
    assert int(re.search(r": (\d+) points", summary.get_by_role("heading").inner_text()).group(1)) >= left  # type: ignore[union-attr]
    avis = page.get_by_label(label("Point de vue du ménage"))
    expect(avis).to_have_attribute("aria-invalid", "true")
    expect(avis).to_have_accessible_description(re.compile("Ce champ est obligatoire"))
    expect(page.locator(".panel.to-fill")).to_have_count(0)
    check_accessibility(page, "le bilan prérempli après la tentative de soumission")


@pytest.fixture
def dossier_id(app: Flask, live_server: str, make_user: Callable[..., Account], page: Page, clock: Clock) -> int:
    """A new dossier of the 2019 call, before its deadline, its writer signed in in the browser; its id."""
    account = make_user("redacteur")
    web = WebClient(app.test_client())
    web.login(account)
    clock.now = BEFORE_DEADLINE
    opened = open_dossier(app, web)
    page.set_default_timeout(10_000)
    sign_in(page, live_server, account)
    return opened


def test_a_new_dossier_s_section_opens_without_errors_until_the_user_moves_on(
    app: Flask, live_server: str, page: Page, dossier_id: int
) -> None:

    # The checklist of the new dossier: what is left, in neutral terms.
    page.goto(f"{live_server}/documents/{dossier_id}/liste")
    expect(page.locator("main")).not_to_contain_text("à corriger")
    expect(page.locator("main .badge-late")).to_have_count(0)
    page.get_by_role("region", name="Formulaire").get_by_role("link", name="Porteur du projet", exact=True).click()

    expect(page.get_by_text("Étape 1 sur 7", exact=True)).to_be_visible()
    no_error_shown(page)
    expect(page.locator(".panel.to-fill").get_by_role("heading")).to_have_text(re.compile(r"^Avant de soumettre : \d+ champs obligatoires à remplir$"))
    check_accessibility(page, "la première étape d'un nouveau dossier")
    siret = page.get_by_label(label("SIRET"))
    expect(siret).not_to_have_attribute("aria-invalid", "true")

    # Moving on is a try: back to the step, the fields left empty are errors beside them.
    page.get_by_role("button", name="Enregistrer et continuer", exact=True).click()
    expect(page.get_by_text("Étape 2 sur 7", exact=True)).to_be_visible()
    nav = page.get_by_role("navigation", name="Étapes du formulaire")
    step_one = nav.get_by_role("listitem").filter(has_text="1. Porteur du projet")
    expect(step_one).to_contain_text("(à compléter)")
    step_one.get_by_role("link").click()
    expect(page.get_by_text("Étape 1 sur 7", exact=True)).to_be_visible()
    expect(page.locator(".error-summary[role=alert]").get_by_role("heading")).to_have_text(re.compile(r": \d+ points à corriger$"))
    expect(siret).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#porteur-siret-error")).to_have_text("Erreur : Ce champ est obligatoire.")
    # A step not yet left stays neutral.
    nav.get_by_role("link", name=re.compile("^3\\. ")).click()
    expect(page.get_by_text("Étape 3 sur 7", exact=True)).to_be_visible()
    no_error_shown(page)


def _hours(app: Flask, doc_id: int) -> list[dict[str, Any]]:
    with app.app_context():
        return list(db.session().get(Document, doc_id).data["fonctionnement"]["horaires"])


def test_times_are_read_as_people_write_them_and_an_impossible_one_is_refused_beside_its_field(
    app: Flask, live_server: str, page: Page, dossier_id: int
) -> None:
    page.goto(f"{live_server}/documents/{dossier_id}/modifier?etape=4")
    rows = page.locator("fieldset#fonctionnement-horaires > fieldset.row")
    typed = [("lundi", "9h", "12h30"), ("mardi", "9h30", "17h"), ("mercredi", "9 h 30", "12:00"), ("jeudi", "09:30", "25h")]
    page.evaluate(_MARK)
    while rows.count() < len(typed):  # added in place, without reloading the page
        count = rows.count()
        page.get_by_role("button", name="Ajouter une plage horaire", exact=True).click()
        expect(rows).to_have_count(count + 1)
    assert page.evaluate(_MARKED), "adding a row reloaded the page"
    for index, (jour, debut, fin) in enumerate(typed):
        row = page.locator(f"fieldset#fonctionnement-horaires-{index}")
        row.get_by_label(label("Jour")).select_option(label=dict(JOURS)[jour])
        row.get_by_label(label("De")).fill(debut)
        row.get_by_label(label("À")).fill(fin)
    page.get_by_role("button", name="Enregistrer", exact=True).click()

    expect(page.get_by_role("status").filter(has_text="Brouillon enregistré")).to_have_count(1)
    shown = [
        (page.locator(f"fieldset#fonctionnement-horaires-{i}").get_by_label(label("De")), page.locator(f"fieldset#fonctionnement-horaires-{i}").get_by_label(label("À")))
        for i in range(len(typed))
    ]
    for (debut, fin), expected in zip(shown, [("09:00", "12:30"), ("09:30", "17:00"), ("09:30", "12:00"), ("09:30", "25h")], strict=True):
        expect(debut).to_have_value(expected[0])
        expect(fin).to_have_value(expected[1])
    # "25h" is refused beside its own field, in French, what was typed kept; the others are not marked.
    impossible = shown[3][1]
    expect(impossible).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#fonctionnement-horaires-3-fin-error")).to_have_text(f"Erreur : {TIME_ERROR}")
    expect(impossible).to_have_accessible_description(re.compile(re.escape(TIME_ERROR)))
    # (The step was saved: its text fields left empty are errors now; none of the other times is.)
    expect(page.locator("fieldset#fonctionnement-horaires [aria-invalid=true]")).to_have_count(1)
    check_accessibility(page, "les plages horaires saisies à la française")
    hours = _hours(app, dossier_id)
    assert [(h["debut"], h["fin"]) for h in hours[:3]] == [("09:00", "12:30"), ("09:30", "17:00"), ("09:30", "12:00")]
    assert (hours[3]["debut"], hours[3]["fin"]) == ("09:30", "25h")  # a draft keeps what was typed

    # Corrected, the refusal goes away.
    impossible.fill("18h")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    expect(page.locator("fieldset#fonctionnement-horaires-3").get_by_label(label("À"))).to_have_value("18:00")
    expect(page.locator("fieldset#fonctionnement-horaires [aria-invalid=true]")).to_have_count(0)


def test_amounts_are_read_with_spaces_euro_signs_and_commas(
    app: Flask, live_server: str, page: Page, dossier_id: int
) -> None:
    page.goto(f"{live_server}/documents/{dossier_id}/modifier?etape=7")
    charge = page.locator("fieldset#budget-charges-0")
    charge.get_by_label(label("Libellé")).fill("Salaires")
    charge.get_by_label(label("Montant")).fill("5 000 €")
    page.get_by_role("button", name="Ajouter une charge", exact=True).click()  # in place
    frais = page.locator("fieldset#budget-charges-1")
    expect(frais.get_by_label(label("Libellé"))).to_be_focused()
    frais.get_by_label(label("Libellé")).fill("Frais de déplacement")
    frais.get_by_label(label("Montant")).fill("0,5")
    produit = page.locator("fieldset#budget-produits-0")
    produit.get_by_label(label("Libellé")).fill("Subvention DDCS")
    produit.get_by_label(label("Montant")).fill("5000,50")
    page.get_by_label(label("Subvention sollicitée auprès de la DDCS")).fill("5\u202f000,50\xa0€")  # as a spreadsheet copies it
    page.get_by_role("button", name="Enregistrer", exact=True).click()

    expect(page.get_by_role("status").filter(has_text="Brouillon enregistré")).to_have_count(1)
    expect(page.locator("[aria-invalid=true]")).to_have_count(0)
    expect(page.locator(".error-message")).to_have_count(0)
    with app.app_context():
        budget = db.session().get(Document, dossier_id).data["budget"]
    # The draft keeps them as typed (shown back so); the schema reads them to the cent: the budget balances.
    expect(charge.get_by_label(label("Montant"))).to_have_value("5 000 €")
    valid, errors = get_kind("candidature_aml").load_partial({"budget": budget})
    assert "budget" not in errors, errors
    read = [line["montant"] for line in valid["budget"]["charges"]], valid["budget"]["produits"][0]["montant"], valid["budget"]["subvention_ddcs"]
    assert read == ([Decimal("5000.00"), Decimal("0.50")], Decimal("5000.50"), Decimal("5000.50"))
    check_accessibility(page, "le budget saisi à la française")

    # An amount that is not one is refused beside its field, what was typed kept.
    charge.get_by_label(label("Montant")).fill("cinq mille")
    page.get_by_role("button", name="Enregistrer", exact=True).click()
    montant = page.locator("fieldset#budget-charges-0").get_by_label(label("Montant"))
    expect(montant).to_have_value("cinq mille")
    expect(montant).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#budget-charges-0-montant-error")).to_have_text("Erreur : Montant invalide (exemple : 1 234,50).")
