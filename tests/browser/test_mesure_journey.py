"""The referent's journey in a real headless Chromium: a measure, its meetings, a late bilan, its PDF.

A referent opens an AML Logement d'abord measure, records meetings, sees the intermediate bilan
due (and late: the clock says 14 October 2019), writes it from the prefilled form, submits it,
downloads the PDF and exports the measures as CSV. The same features as tests/test_mesures_web.py,
through what a user sees; axe-core checks every form and page of the journey.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.browser.test_journey import check_accessibility, download, label, sign_in
from tests.conftest import Account

pytestmark = pytest.mark.browser

HOUSEHOLD = {"nom": "Durand", "prenom": "Julie", "commune": "Liévin"}
FIRST_MEETING = "2019-06-03"
MEETINGS = [("2019-06-05", "Visite à domicile", "Visite du logement"), ("2019-06-12", "Entretien au bureau", "")]
DUE = "Bilan intermédiaire (3 mois) : 3 septembre 2019"
BILAN = "Bilan d'accompagnement – AML Logement d'abord"


def test_referent_follows_a_measure_and_writes_its_late_bilan(
    live_server: str, make_user: Callable[..., Account], page: Page, tmp_path: Path
) -> None:
    base = live_server
    page.set_default_timeout(15_000)
    sign_in(page, base, make_user("redacteur"))
    nav = page.get_by_role("navigation", name="Navigation principale")

    # --- the worklist, empty ---------------------------------------------------------------
    nav.get_by_role("link", name="Mesures").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Mesures d'accompagnement")
    expect(page.get_by_text("Aucune mesure pour l'instant.")).to_be_visible()
    annee = page.get_by_label("Bilan annuel de l'opérateur (ASLL §10), année")
    expect(annee).to_have_value("2019")
    expect(annee).to_have_accessible_description(re.compile("au plus tard le 31 janvier de l'année suivante"))
    check_accessibility(page, "la liste des mesures (vide)")

    # --- open a measure: a refused attempt first ---------------------------------------------
    page.get_by_role("link", name="Ouvrir une mesure").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ouvrir une mesure")
    check_accessibility(page, "le formulaire de mesure vide")
    type_mesure = page.get_by_role("group", name=label("Type de mesure"))
    type_mesure.get_by_role("radio", name="ASLL Installation", exact=True).check()
    page.get_by_label(label("Nom du ménage")).fill(HOUSEHOLD["nom"])
    page.get_by_label(label("Prénom du demandeur")).fill(HOUSEHOLD["prenom"])
    page.get_by_label(label("Commune")).fill(HOUSEHOLD["commune"])
    page.get_by_label(label("Date de réception du bon de commande")).fill("2019-10-01")
    duree = page.get_by_label(label("Durée décidée (mois)"))
    duree.fill("6")
    page.get_by_label(label("Travailleur social référent du ménage")).fill("Paul Leroy")
    page.get_by_role("button", name="Ouvrir la mesure").click()

    summary = page.locator(".error-summary[role=alert]")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text(re.compile("^La mesure ne peut pas être ouverte : 1 point à corriger"))
    expect(summary.get_by_role("link")).to_have_text(re.compile(r"3 mois \(ASLL §2\.1, §8\)"))
    # The rule's message stands next to the field it concerns, and the summary links to it.
    rule = re.compile(r"L'ASLL Installation est décidée pour 3 mois \(ASLL §2\.1, §8\)")
    expect(summary.get_by_role("link")).to_have_attribute("href", "#duree_mois")
    expect(duree).to_have_attribute("aria-invalid", "true")
    expect(duree).to_have_accessible_description(rule)
    expect(page.locator("[id=top]")).to_have_count(1)
    # What was typed survives the refusal.
    expect(page.get_by_label(label("Nom du ménage"))).to_have_value(HOUSEHOLD["nom"])
    check_accessibility(page, "le formulaire de mesure refusé")

    # Corrected into the AML measure: no bon de commande, the first meeting on 3 June 2019, 12 months.
    type_mesure.get_by_role("radio", name="AML Logement d'abord", exact=True).check()
    page.get_by_label(label("Date de réception du bon de commande")).fill("")
    page.get_by_label(label("Date de la première rencontre")).fill(FIRST_MEETING)
    page.get_by_label(label("Nature de la première rencontre")).select_option(label="Entretien au bureau")
    duree.fill("12")
    page.get_by_role("button", name="Ouvrir la mesure").click()
    expect(page.get_by_role("status").filter(has_text=re.compile(r"Mesure ME-2019-\d{6} ouverte\."))).to_be_visible()
    expect(page).to_have_url(re.compile(r"/mesures/\d+$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("AML Logement d'abord – Durand Julie")
    reference = page.locator("dl.meta div").filter(has_text="Référence").locator("dd").inner_text()
    assert re.fullmatch(r"ME-2019-\d{6}", reference), reference
    measure_url = page.url

    # --- two meetings, recorded through the form ---------------------------------------------
    rencontres = page.get_by_role("region", name="Rencontres")
    table = rencontres.get_by_role("table", name="Rencontres enregistrées")
    # The first meeting typed when opening the measure is a meeting (issue 16, point 5).
    expect(table.get_by_role("row")).to_have_count(2)
    expect(table.get_by_role("row").nth(1)).to_contain_text("3 juin 2019")
    expect(table.get_by_role("row").nth(1)).to_contain_text("Première rencontre")
    # Both typed at once (issue 16, point 5): the second row is added in the page, the focus in it.
    form = rencontres.get_by_role("group", name="Enregistrer une ou plusieurs rencontres")
    for index, (day, nature, note) in enumerate(MEETINGS):
        if index:
            form.get_by_role("button", name="Ajouter une rencontre").click()
        row = form.get_by_role("group", name=f"Rencontre {index + 1}", exact=True)
        if index:
            expect(row.get_by_label(label("Date de la rencontre"))).to_be_focused()
        row.get_by_label(label("Date de la rencontre")).fill(day)
        row.get_by_label(label("Nature")).select_option(label=nature)
        row.get_by_label(label("Objet (sans donnée sensible)")).fill(note)
    rencontres.get_by_role("button", name="Enregistrer les rencontres").click()
    expect(page.get_by_role("status").filter(has_text=f"{len(MEETINGS)} rencontres enregistrées.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/mesures/\d+#rencontres$"))
    expect(table.get_by_role("row")).to_have_count(2 + len(MEETINGS))  # the header, the first meeting, one row a meeting
    # The newest first; the form to record one comes before the list, which grows.
    expect(table.get_by_role("row").nth(1)).to_contain_text("12 juin 2019")
    expect(table.get_by_role("row").nth(2)).to_contain_text("5 juin 2019")
    expect(table.get_by_role("row").nth(2)).to_contain_text("Visite à domicile")
    expect(table.get_by_role("row").nth(3)).to_contain_text("3 juin 2019")
    form_box = rencontres.get_by_role("group", name="Enregistrer une ou plusieurs rencontres").bounding_box()
    table_box = table.bounding_box()
    assert form_box and table_box and form_box["y"] < table_box["y"]
    # "Clore la mesure" comes after what is done every week: the dues, the meetings, the documents.
    headings = page.get_by_role("heading", level=2).all_inner_texts()
    assert headings.index("Clore la mesure") > max(headings.index(h) for h in ("Échéances", "Rencontres", "Documents de la mesure"))

    # The intermediate bilan was due on 3 September 2019: late on 14 October.
    due = page.get_by_role("region", name="Échéances").get_by_role("listitem").filter(has_text=DUE)
    expect(due).to_have_count(1)
    expect(due.locator(".badge-late")).to_have_text("en retard")
    check_accessibility(page, "la page de la mesure")

    # --- the home page lists what is due on my measures -----------------------------------
    nav.get_by_role("link", name="Documents").click()
    dues = page.get_by_role("region", name="Échéances de mes mesures")
    item = dues.get_by_role("listitem").filter(has=page.get_by_role("link", name="Durand Julie"))
    expect(item).to_contain_text(DUE)
    expect(item).to_contain_text("en retard")
    check_accessibility(page, "l'accueil avec les échéances")
    item.get_by_role("link", name="Durand Julie").click()
    expect(page).to_have_url(measure_url)

    # --- the bilan, started from the measure and prefilled -----------------------------------
    page.get_by_role("button", name=f"Rédiger : {BILAN}").click()
    expect(page.get_by_role("status").filter(has_text="Brouillon créé et prérempli depuis la mesure.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/documents/\d+/modifier$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile(f"^{re.escape(BILAN)}"))
    expect(page.get_by_role("radio", name="Bilan intermédiaire (3 mois)")).to_be_checked()
    mesure = page.locator("fieldset#mesure")
    expect(mesure.get_by_label(label("Référence de la mesure"))).to_have_value(reference)
    expect(mesure.get_by_label(label("Nom du ménage"))).to_have_value(HOUSEHOLD["nom"])
    expect(mesure.get_by_label(label("Prénom du demandeur"))).to_have_value(HOUSEHOLD["prenom"])
    expect(mesure.get_by_label(label("Début de la période"))).to_have_value(FIRST_MEETING)
    expect(mesure.get_by_label(label("Fin de la période"))).to_have_value("2019-09-03")
    # The first meeting counts: 3 June, then the two recorded.
    expect(page.get_by_label(label("Nombre de rencontres tenues"))).to_have_value("3")
    check_accessibility(page, "le bilan prérempli")

    prestations = page.get_by_role("group", name=label("Prestations délivrées"))
    for text in ("Évaluation des besoins", "Accompagnement dans les démarches administratives"):
        prestations.get_by_label(text, exact=True).check()
    page.get_by_label(label("Évolution de la situation et des besoins")).fill("Installation dans un T3 ; droits CAF ouverts.")
    page.get_by_label(label("Relations de voisinage")).fill("Bonnes relations avec les voisins de palier.")
    # "Point de vue du ménage" left empty on purpose.
    page.get_by_role("radio", name="Poursuite de l'accompagnement (bilan intermédiaire)").check()
    page.get_by_role("button", name="Soumettre le document").click()

    summary = page.locator(".error-summary[role=alert]")
    expect(summary).to_be_visible()
    expect(summary.get_by_role("heading")).to_have_text("Ce document ne peut pas encore être soumis : 1 point à corriger")
    expect(summary.get_by_role("link")).to_have_text(re.compile("^Point de vue du ménage : Ce champ est obligatoire"))
    avis = page.get_by_label(label("Point de vue du ménage"))
    expect(avis).to_have_attribute("aria-invalid", "true")
    expect(avis).to_have_accessible_description(re.compile("Ce champ est obligatoire"))
    # The rest was kept.
    expect(page.get_by_label(label("Relations de voisinage"))).to_have_value("Bonnes relations avec les voisins de palier.")
    expect(prestations.get_by_label("Évaluation des besoins", exact=True)).to_be_checked()
    check_accessibility(page, "le bilan refusé")

    summary.get_by_role("link").click()
    expect(avis).to_be_focused()
    avis.fill("Mme Durand se sent en sécurité et souhaite rester dans le logement.")
    page.get_by_role("button", name="Soumettre le document").click()

    # --- submitted: numbered, late, its due date shown -----------------------------------
    expect(page.get_by_role("status").filter(has_text=re.compile(r"Document soumis sous la référence BA-2019-\d{6}"))).to_be_visible()
    expect(page).to_have_url(re.compile(r"/documents/\d+$"))
    meta = page.locator("dl.meta")
    bilan_ref = meta.locator("div").filter(has_text="Référence").locator("dd").inner_text()
    assert re.fullmatch(r"BA-2019-\d{6}", bilan_ref), bilan_ref
    echeance = meta.locator("div").filter(has_text="Échéance").locator("dd")
    expect(echeance).to_contain_text("3 septembre 2019")
    expect(echeance.locator(".badge-late")).to_have_text("transmis en retard")
    expect(meta.get_by_role("link", name=reference)).to_be_visible()
    check_accessibility(page, "le bilan soumis")

    pdf = download(page, page.get_by_role("link", name="Bilan d'accompagnement – AML Logement d'abord – PDF", exact=True), f"{bilan_ref}-v1.pdf")
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    flat = re.sub(r"\s+", " ", text)
    assert bilan_ref in flat
    assert "Durand" in flat and "Julie" in flat
    assert "Document transmis après son échéance du 3 septembre 2019" in flat

    # --- the measure shows its bilan; the worklist exports as CSV --------------------------
    meta.get_by_role("link", name=reference).click()
    expect(page).to_have_url(measure_url)
    documents = page.get_by_role("region", name="Documents de la mesure")
    expect(documents.get_by_role("listitem").filter(has_text=bilan_ref)).to_contain_text(BILAN)
    expect(page.get_by_role("region", name="Échéances").get_by_role("listitem").filter(has_text=DUE)).to_contain_text("fait")

    nav.get_by_role("link", name="Mesures").click()
    row = page.get_by_role("row").filter(has_text=reference)
    expect(row).to_contain_text("Durand Julie – Liévin")
    check_accessibility(page, "la liste des mesures")
    body = download(page, page.get_by_role("link", name="Exporter la liste (CSV)"), "mesures-2019-10-14.csv").decode("utf-8")
    assert body.startswith("\ufeff")  # so that a French Excel reads it as UTF-8
    rows = list(csv.reader(io.StringIO(body[1:]), delimiter=";"))
    assert rows[0] == [
        "Référence", "Type", "Ménage", "Commune", "Opérateur", "Référent", "Bon de commande", "Date limite de démarrage",
        "Démarrage", "Démarrage dans les délais", "Fin", "Prochaine échéance", "Date de l'échéance", "En retard",
        "Quinzaines ou semaines sans rencontre",
    ]
    assert len(rows) == 2
    line = dict(zip(rows[0], rows[1], strict=True))
    assert line["Référence"] == reference
    assert line["Type"] == "AML Logement d'abord"
    assert (line["Ménage"], line["Commune"]) == ("Durand Julie", "Liévin")
    assert line["Opérateur"] == "Association Habitat Solidaire"
    assert (line["Bon de commande"], line["Démarrage"]) == ("", "03/06/2019")
    assert (line["Fin"], line["Démarrage dans les délais"]) == ("03/06/2020", "")  # AML: 12 months, no start deadline
    # The intermediate bilan transmitted, what comes next is the bilan at term: nothing late any more.
    assert (line["Prochaine échéance"], line["Date de l'échéance"], line["En retard"]) == ("Bilan à échéance (12 mois)", "03/06/2020", "non")
    # Weeks without a meeting since mid-June: the count shown in the worklist.
    expect(row).to_contain_text(f"{line['Quinzaines ou semaines sans rencontre']} périodes sans rencontre")
