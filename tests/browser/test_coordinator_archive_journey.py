"""The coordinator's waiting referrals and the archive searched by name and words, in Debian's Chromium (issue 16, point 9).

"The coordinator's home page does not list referrals waiting for a decision; archive search needs
a measure code (search by household name and free text for those allowed)."
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from schemas import get_kind
from tests.browser.test_journey import check_accessibility, sign_in
from tests.conftest import Account, WebClient, pdf_titled
from tests.test_web import doc_id_from, example_form

pytestmark = pytest.mark.browser

LENS_HENIN = "Plateforme Logement d'abord Lens-Hénin"


def referral(web: WebClient, household: str) -> int:
    """Submit the example fiche saisine for the household ``household``; return its id."""
    form = {**example_form("fiche_saisine"), "menage-demandeur-nom": household, "action": "submit"}
    response = web.post("/documents/nouveau/fiche_saisine", form)
    assert response.status_code == 302, response.get_data(as_text=True)
    return doc_id_from(response)


@pytest.fixture
def prescriber(app: Flask, make_user: Callable[..., Account], page: Page) -> WebClient:
    """A CCAS's writer, signed in on a test client, who files the referrals; the browser waits up to 15 s for the live server."""
    page.set_default_timeout(15_000)
    web = WebClient(app.test_client())
    web.login(make_user("redacteur", org="CCAS de Liévin"))
    return web


def test_the_coordinators_home_lists_the_referrals_waiting_for_a_decision(
    app: Flask, live_server: str, make_user: Callable[..., Account], page: Page, prescriber: WebClient
) -> None:
    base = live_server
    referral(prescriber, "Durand")
    lefebvre = referral(prescriber, "Lefebvre")
    sign_in(page, base, make_user("coordinateur", org=LENS_HENIN))
    waiting = page.get_by_role("region", name=re.compile("^En attente de votre décision"))
    expect(waiting.get_by_role("heading")).to_have_text("En attente de votre décision (2)")
    for household in ("Durand", "Lefebvre"):
        expect(waiting.get_by_role("listitem").filter(has_text=household)).to_contain_text("CCAS de Liévin – soumis le 14 octobre 2019")
    check_accessibility(page, "l'accueil du coordinateur, deux saisines à décider")
    # From the list to the decision, as the coordinator goes.
    waiting.get_by_role("listitem").filter(has_text="Lefebvre").get_by_role("link").click()
    expect(page).to_have_url(f"{base}/documents/{lefebvre}")
    page.get_by_role("link", name=re.compile("^Décision du coordinateur")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Décision du coordinateur"))

    # A referral decided leaves the list; the one still waiting stays.
    coordinator = WebClient(app.test_client())
    coordinator.login(make_user("coordinateur", org=LENS_HENIN))
    operator = make_user("redacteur", org="Association Habitat Solidaire", territoires=("aml-lens-henin",))
    decision = {k: v for k, v in get_kind("fiche_saisine").review.example.items() if v}  # type: ignore[union-attr]
    decided = coordinator.post(f"/documents/{lefebvre}/decision", {**decision, "operateur_id": operator.organisation_id, "referent_id": operator.id})
    assert decided.status_code == 302, decided.get_data(as_text=True)
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Documents").click()
    expect(waiting.get_by_role("heading")).to_have_text("En attente de votre décision (1)")
    expect(waiting.get_by_role("link")).to_have_count(1)
    expect(waiting).to_contain_text("Durand")
    expect(waiting).not_to_contain_text("Lefebvre")


def test_the_archive_is_searched_by_household_name_and_by_words(
    app: Flask, live_server: str, make_user: Callable[..., Account], page: Page, prescriber: WebClient
) -> None:
    base = live_server
    archivist = make_user("archiviste", "Département du Pas-de-Calais")
    depositor = WebClient(app.test_client())
    depositor.login(archivist)
    for household in ("Durand", "Lefèvre"):
        doc_id = referral(prescriber, household)
        signed = {"fichier": (io.BytesIO(pdf_titled(f"Fiche saisine signée {household}")), "signee.pdf"), "signature": "scan"}
        assert depositor.post(f"/documents/{doc_id}/archiver", signed, content_type="multipart/form-data").status_code == 302

    sign_in(page, base, archivist)
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Archives").click()
    found = page.get_by_role("status").filter(has_text="enregistrement")

    def search(**typed: str) -> None:
        for label_text in ("Nom du ménage", "Texte libre"):
            page.get_by_label(label_text, exact=True).fill(typed.get(label_text, ""))
        page.get_by_role("button", name="Rechercher").click()

    # By the household's name, in part, without its accent or capitals; not by another person's name.
    search(**{"Nom du ménage": "lefev"})
    expect(found).to_have_text("1 enregistrement – page 1 sur 1.")
    check_accessibility(page, "la recherche dans les archives par nom du ménage")
    search(**{"Nom du ménage": "Martin"})  # the prescriber, not the household
    expect(found).to_have_text("0 enregistrement.")
    expect(page.get_by_text("Aucun enregistrement ne correspond.")).to_be_visible()
    # By words of the document: every word present.
    search(**{"Texte libre": "domicile conjugal"})
    expect(found).to_have_text("2 enregistrements – page 1 sur 1.")
    search(**{"Texte libre": "domicile Arras"})
    expect(found).to_have_text("0 enregistrement.")
    search(**{"Nom du ménage": "durand", "Texte libre": "conjugal"})
    expect(found).to_have_text("1 enregistrement – page 1 sur 1.")
    check_accessibility(page, "la recherche dans les archives par nom et texte libre")
