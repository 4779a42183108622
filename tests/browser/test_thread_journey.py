"""One household's thread in a real headless Chromium (issue 13), as one journey of one référent.

referral → coordinator's decision (operator and référent chosen from lists) → the AML measure
opened by it → meetings → the household's file and its search; then the référent's ASLL
Installation (opened, met) → its bilan proposing a Maintien → the Maintien request opened,
waiting for its order → the order recorded → the household's file. A referral opens an AML only
(AML §4) and a Maintien is asked by an Installation bilan only (ASLL §9.1), so the journey passes
from one to the other through the référent, not through one measure. The referral and the
bilan's long content are typed through the test client (their forms have their own journeys);
every step of the thread is clicked. axe-core checks each new page.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from schemas import get_kind
from tests.browser.test_journey import check_accessibility, label, sign_in
from tests.conftest import Account, WebClient
from tests.test_web import flatten, submitted
from webforms import db
from webforms.models import Document, User

pytestmark = pytest.mark.browser

OPERATOR = "Association Habitat Solidaire"


def _fill_bilan(app: Flask, web: WebClient, doc_id: int) -> None:
    """Type the Installation bilan's long content (its form has its own journey), all but the proposal."""
    with app.app_context():
        data = dict(db.session().get_one(Document, doc_id).data)
    data["objectifs"] = [{**row, "statut": "non_travaille"} for row in data["objectifs"]]
    data |= {
        "avis_menage": "M. Morel s'inquiète de sa dette de loyer.",
        "evaluation": "Installation faite ; dette locative naissante.",
        "liaisons": {"date_liaison": "2019-10-01", "avec_locataire": True},
    }
    assert web.post(f"/documents/{doc_id}/modifier", {**flatten(data), "action": "save"}).status_code == 302


def record_home_visit(page: Page, day: str) -> None:
    """Record a home visit on ``day`` (AAAA-MM-JJ) from the measure's page, and see it confirmed."""
    rencontres = page.get_by_role("region", name="Rencontres")
    form = rencontres.get_by_role("group", name="Enregistrer une ou plusieurs rencontres")
    form.get_by_label(label("Date de la rencontre")).fill(day)
    form.get_by_label(label("Nature")).select_option(label="Visite à domicile")
    rencontres.get_by_role("button", name="Enregistrer les rencontres").click()
    expect(page.get_by_role("status").filter(has_text="Rencontre enregistrée.")).to_be_visible()


def test_the_thread_from_referral_to_maintien(app: Flask, live_server: str, make_user: Callable[..., Account], page: Page) -> None:
    base = live_server
    page.set_default_timeout(15_000)
    prescriber = WebClient(app.test_client())
    prescriber.login(make_user("redacteur", org="CCAS de Liévin"))
    referral_id = submitted(prescriber, "fiche_saisine")
    referent = make_user("redacteur", org=OPERATOR, territoires=("aml-lens-henin",))
    coordinator = make_user("coordinateur", org="Plateforme Logement d'abord Lens-Hénin")
    with app.app_context():
        referent_name = db.session().get(User, referent.id).full_name  # type: ignore[union-attr]

    # --- the coordinator's decision: the operator and the référent from lists ---------------
    sign_in(page, base, coordinator)
    page.goto(f"{base}/documents/{referral_id}/decision")
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("^Décision du coordinateur"))
    page.get_by_role("radio", name="Orientation validée", exact=True).check()
    page.get_by_label(label("Mesure décidée")).select_option(label="AML Logement d'abord")
    page.get_by_label(label("Opérateur désigné")).select_option(label=OPERATOR)
    page.get_by_label(label("Référent nommé")).select_option(label=f"{referent_name} ({OPERATOR})")
    page.get_by_label(label("Date de la décision")).fill("2019-10-14")
    check_accessibility(page, "la décision du coordinateur")
    page.get_by_role("button", name="Enregistrer la décision").click()
    expect(page.get_by_role("status").filter(has_text="Décision enregistrée")).to_be_visible()
    expect(page.get_by_text(referent_name, exact=False).first).to_be_visible()
    page.context.clear_cookies()

    # --- the référent finds the measure, records a meeting ------------------------------------
    sign_in(page, base, referent)
    nav = page.get_by_role("navigation", name="Navigation principale")
    nav.get_by_role("link", name="Mesures").click()
    page.get_by_role("row").filter(has_text="Durand Julie").get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("AML Logement d'abord – Durand Julie")
    expect(page.get_by_role("region", name="Parcours du ménage")).to_contain_text(re.compile(r"fiche saisine FS-2019-\d{6}"))
    record_home_visit(page, "2019-10-14")
    check_accessibility(page, "la mesure ouverte par la décision")

    # --- the household's file -------------------------------------------------------------------
    page.get_by_role("link", name="Parcours du ménage").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Parcours du ménage Durand Julie")
    timeline = page.get_by_role("table", name=re.compile("Étapes du parcours"))
    for step in ("déposée", "Décision du coordinateur", "Mesure AML Logement d'abord ouverte", "Rencontre : Visite à domicile"):
        expect(timeline).to_contain_text(step)
    check_accessibility(page, "le dossier du ménage")
    nav.get_by_role("link", name="Ménages").click()
    page.get_by_label(re.compile("^Nom du ménage ou référence")).fill("durand")
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_role("link", name="Durand Julie")).to_be_visible()
    check_accessibility(page, "la recherche des ménages")

    # --- the same référent opens the household's ASLL Installation, records its meetings ------------
    # A referral opens an AML only (AML §4); a Maintien is asked by an Installation bilan (ASLL §9.1):
    # the journey goes on with the référent's Installation, ordered by the lot (docs/household.md).
    nav.get_by_role("link", name="Mesures").click()
    page.get_by_role("link", name="Ouvrir une mesure").click()
    page.get_by_role("group", name=label("Type de mesure")).get_by_role("radio", name="ASLL Installation", exact=True).check()
    page.get_by_label(label("Nom du ménage")).fill("Morel")
    page.get_by_label(label("Prénom du demandeur")).fill("Karim")
    page.get_by_label(label("Commune")).fill("Annecy")
    page.get_by_label(label("Date de réception du bon de commande")).fill("2019-06-28")
    page.get_by_label(label("Date de la première rencontre")).fill("2019-07-01")
    page.get_by_label(label("Nature de la première rencontre")).select_option(label="Visite à domicile")
    page.get_by_label(label("Durée décidée (mois)")).fill("3")
    page.get_by_label(label("Travailleur social référent du ménage")).fill("Paul Leroy")
    page.get_by_role("button", name="Ouvrir la mesure").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ASLL Installation – Morel Karim")
    installation_url = page.url
    record_home_visit(page, "2019-07-08")
    check_accessibility(page, "la mesure d'Installation")

    # --- its bilan proposes a Maintien: the request is opened ------------------------------------
    page.get_by_role("button", name=f"Rédiger : {get_kind('bilan_asll_installation').title}").click()
    expect(page).to_have_url(re.compile(r"/documents/\d+/modifier$"))
    bilan_id = int(re.search(r"/documents/(\d+)/modifier", page.url).group(1))  # type: ignore[union-attr]
    writer = WebClient(app.test_client())
    writer.login(referent)
    _fill_bilan(app, writer, bilan_id)
    page.reload()
    page.get_by_role("radio", name="Demande d'ASLL Maintien").check()
    page.get_by_label(label("Motifs")).fill("Dette de loyer naissante : risque pour le maintien dans les lieux.")
    check_accessibility(page, "le bilan d'Installation proposant un Maintien")
    page.get_by_role("button", name="Soumettre le document").click()
    expect(page.get_by_role("status").filter(has_text=re.compile(r"Document soumis sous la référence BI-2019-\d{6}"))).to_be_visible()
    page.goto(installation_url)
    thread = page.get_by_role("region", name="Parcours du ménage")
    expect(thread).to_contain_text("ASLL Maintien")
    thread.get_by_role("link", name=re.compile(r"^ME-2019-\d{6}$")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("ASLL Maintien – Morel Karim")
    expect(page.locator("dl.meta")).to_contain_text("Demandée, en attente du bon de commande")
    check_accessibility(page, "la demande de Maintien")
    order = page.get_by_role("region", name="En attente du bon de commande")
    order.get_by_label(label("Date de réception du bon de commande")).fill("2019-10-14")
    order.get_by_role("button", name="Enregistrer le bon de commande").click()
    expect(page.get_by_role("status").filter(has_text="Bon de commande enregistré.")).to_be_visible()
    expect(page.get_by_role("region", name="Dates")).to_contain_text("29 octobre 2019")  # 15 days to start (ASLL §6.3)
    # The household's file holds the whole step: Installation, its meetings, the bilan, the Maintien.
    page.get_by_role("link", name="Parcours du ménage").first.click()
    timeline = page.get_by_role("table", name=re.compile("Étapes du parcours"))
    for step in ("Mesure ASLL Installation ouverte", "Rencontre : Visite à domicile", "transmis", "Mesure ASLL Maintien ouverte", "Bon de commande reçu"):
        expect(timeline).to_contain_text(step)
