"""The candidature journey in a real headless Chromium: steps, checklist, pieces, deposit, PDF.

An association's redacteur opens its dossier on the 2019 AML call (the clock says 2 September
2019, before the deadline of 6 September 16:00), fills the seven steps by label with the schema's
example data (one wrong SIRET on the way, then corrected), sees the checklist, deposits two pieces
of three, is refused for the missing "Fiche de poste n° 1", sees a disguised file refused, deposits
the last piece, submits, and downloads the complete PDF and the ZIP. The same features as
tests/test_candidatures.py and tests/test_dossier.py, through what a user sees; axe-core checks the
calls page, a step with an error, the checklist with a refused upload and the document page.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, expect
from pypdf import PdfReader, PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from schemas import get_kind
from schemas.candidature_aml import BESOINS, JOURS
from tests.browser.test_journey import add_row, check_accessibility, download, download_preview, label, sign_in
from tests.conftest import Account, Clock
from tests.test_candidatures import BEFORE_DEADLINE, example
from tests.test_web import docx_text
from webforms.candidatures.dossier import verify_zip

pytestmark = pytest.mark.browser

EXAMPLE: dict[str, Any] = example()
STEPS = [f.metadata["label"] for f in get_kind("candidature_aml").schema().fields.values()]
REFERENCE = "CA-2019-000001"
COURRIER = "Courrier d'acte de candidature signé par le représentant légal"
DELIBERATION = "Délibération du conseil d'administration autorisant la participation au projet"
FICHE_POSTE = "Fiche de poste n° 1 – Travailleur pair"  # titled by its recruitment
BAD_SIRET = "732 829 320 00075"  # the example's SIRET with a wrong check digit
GOOD_SIRET = "732 829 320 00074"
BESOIN = dict(BESOINS)
JOUR = dict(JOURS)
STATUT_PARTENAIRE = {"existant": "Existant", "identifie": "Identifié"}
STATUT_MEMBRE = {"interne": "Interne", "externe": "Externe"}


# --- helpers -------------------------------------------------------------------------------


def text_pdf(marker: str, pages: int = 1) -> bytes:
    """A small real PDF (pypdf, Helvetica) whose every page says ``marker`` and its number."""
    writer = PdfWriter()
    for number in range(1, pages + 1):
        page = writer.add_blank_page(width=595, height=842)
        font = DictionaryObject(
            {
                NameObject("/Type"): NameObject("/Font"),
                NameObject("/Subtype"): NameObject("/Type1"),
                NameObject("/BaseFont"): NameObject("/Helvetica"),
            }
        )
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})})
        content = DecodedStreamObject()
        content.set_data(f"BT /F1 24 Tf 72 720 Td ({marker} {number}/{pages}) Tj ET".encode("ascii"))
        page.replace_contents(content)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def continue_to(page: Page, step: int) -> None:
    """Press "Enregistrer et continuer" and land on the next step."""
    page.get_by_role("button", name="Enregistrer et continuer", exact=True).click()
    expect(page.get_by_text(f"Étape {step} sur {len(STEPS)}", exact=True)).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/modifier\?etape={step}(#.*)?$"))


def step_state(page: Page, step: int) -> Locator:
    """The line of the steps' navigation for ``step`` (its link, then "(complète)" or "(à compléter)")."""
    nav = page.get_by_role("navigation", name="Étapes du formulaire")
    return nav.get_by_role("listitem").filter(has_text=f"{step}. {STEPS[step - 1]}")


def row_of(page: Page, rows: str, index: int, button: str) -> Locator:
    """Row ``index`` of a table: the first one is offered empty, the others are added."""
    if index == 0:
        row = page.locator(f"fieldset#{rows}-0")
        expect(row).to_be_visible()
        return row
    return add_row(page, button, rows, index + 1)


def piece(page: Page, title: str) -> Locator:
    """The checklist's line of a piece."""
    pieces = page.get_by_role("region", name="Pièces du dossier (AML §6b)")
    return pieces.get_by_role("listitem").filter(has=page.locator("strong", has_text=re.compile(rf"^{re.escape(title)}$")))


def deposit(page: Page, title: str, name: str, content: bytes, mime: str = "application/pdf") -> None:
    """Choose a file for a piece, by its label, and send it with that piece's own button."""
    field = page.get_by_label(re.compile(rf"^(Ajouter|Remplacer) : {re.escape(title)} \("))
    field.set_input_files({"name": name, "mimeType": mime, "buffer": content})
    # Each "Envoyer" button names its piece for screen readers (a list of identical buttons otherwise).
    page.get_by_role("button", name=f"Envoyer : {title}", exact=True).click()


def computed(page: Page, term: str) -> Locator:
    """The value the service computed for ``term`` (the "Calculé automatiquement" panel)."""
    panel = page.get_by_role("complementary", name="Calculé automatiquement")
    return panel.locator("div").filter(has=page.locator("dt", has_text=re.compile(rf"^{re.escape(term)}$"))).locator("dd")


def progress(page: Page, done: int, total: int) -> None:
    expect(page.locator("dl.meta")).to_contain_text(f"{done} sur {total} éléments prêts")
    bar = page.get_by_role("progressbar", name="Avancement du dossier")
    expect(bar).to_have_attribute("value", str(done))
    expect(bar).to_have_attribute("max", str(total))


# --- the seven steps -----------------------------------------------------------------------


def fill_porteur(page: Page, porteur: dict[str, Any], siret: str) -> None:
    p = page.get_by_role("group", name="Porteur du projet", exact=True)
    # Prefilled from the organisation.
    expect(p.get_by_label(label("Raison sociale"))).to_have_value(porteur["raison_sociale"])
    p.get_by_label(label("SIRET")).fill(siret)
    p.get_by_label(label("Adresse du siège")).fill(porteur["adresse"])
    p.get_by_label(label("Représentant légal (nom et prénom)")).fill(porteur["representant_nom"])
    p.get_by_label(label("Qualité du représentant légal")).fill(porteur["representant_qualite"])
    p.get_by_label(label("Personne à contacter")).fill(porteur["contact_nom"])
    p.get_by_label(label("Téléphone")).fill(porteur["contact_telephone"])
    p.get_by_label(label("Adresse électronique")).fill(porteur["contact_email"])
    p.get_by_label(re.compile("^L'organisme exerce déjà des mesures d'Aide à la Médiation Locative")).set_checked(
        porteur["eligibilite"]
    )


def fill_mesures(page: Page, mesures: list[dict[str, Any]]) -> None:
    # The call's territories are already there, one row each; only the numbers are typed.
    for index, mesure in enumerate(mesures):
        row = page.get_by_role("group", name=f"Territoire {index + 1}", exact=True)
        expect(row.get_by_label(label("Territoire"))).to_have_value(mesure["territoire"])
        row.get_by_label(label("Mesures sollicitées")).fill(str(mesure["nombre"]))


def fill_projet(page: Page, projet: dict[str, Any]) -> None:
    page.get_by_label(label("Besoins non couverts identifiés sur le territoire")).fill(projet["besoins_non_couverts"])
    reponse = page.get_by_label(label("En quoi l'AML Logement d'abord y répond"))
    expect(reponse).to_have_accessible_description(re.compile("principes du Logement d'abord"))
    reponse.fill(projet["reponse_aml"])


def fill_fonctionnement(page: Page, fonctionnement: dict[str, Any]) -> None:
    page.get_by_label(label("Vision de l'accompagnement et mise en œuvre opérationnelle")).fill(fonctionnement["vision"])
    page.get_by_label(label("Modularité de l'accompagnement")).fill(fonctionnement["modularite"])
    page.get_by_label(label("Place de l'usager")).fill(fonctionnement["place_usager"])
    for index, slot in enumerate(fonctionnement["horaires"]):
        row = row_of(page, "fonctionnement-horaires", index, "Ajouter une plage horaire")
        row.get_by_label(label("Jour")).select_option(label=JOUR[slot["jour"]])
        row.get_by_label(label("De")).fill(slot["debut"])
        row.get_by_label(label("À")).fill(slot["fin"])
    # What was typed in the first rows survived the round trips that added the others.
    expect(page.locator("fieldset#fonctionnement-horaires-0").get_by_label(label("Jour"))).to_have_value("lundi")
    expect(page.get_by_label(label("Vision de l'accompagnement"))).to_have_value(fonctionnement["vision"])


def fill_partenariat(page: Page, partenariat: dict[str, Any]) -> None:
    for index, partner in enumerate(partenariat["partenaires"]):
        row = row_of(page, "partenariat-partenaires", index, "Ajouter un partenaire")
        row.get_by_label(label("Partenaire")).fill(partner["nom"])
        row.get_by_label(label("Type de structure")).fill(partner["type"])
        besoins = row.get_by_role("group", name="Besoins couverts", exact=True)
        for code in partner["domaines"]:
            besoins.get_by_label(BESOIN[code], exact=True).check()
        row.get_by_label(label("Partenariat")).select_option(label=STATUT_PARTENAIRE[partner["statut"]])
        row.get_by_label(label("Implication dans le projet")).fill(partner["implication"])
    page.get_by_label(label("Ancrage territorial de la structure")).fill(partenariat["ancrage"])


def fill_moyens(page: Page, moyens: dict[str, Any]) -> None:
    for index, membre in enumerate(moyens["equipe"]):
        row = row_of(page, "moyens-equipe", index, "Ajouter un membre de l'équipe")
        row.get_by_label(label("Poste")).fill(membre["poste"])
        row.get_by_label(label("Compétences et diplôme")).fill(membre["competences"])
        row.get_by_label(label("ETP")).fill(membre["etp"])  # "1", then "0,5" with a French comma
        row.get_by_label(label("Interne ou externe")).select_option(label=STATUT_MEMBRE[membre["statut"]])
        besoins = row.get_by_role("group", name="Besoins couverts", exact=True)
        for code in membre["besoins"]:
            besoins.get_by_label(BESOIN[code], exact=True).check()
    recrutements = page.get_by_role("group", name="Recrutements prévus", exact=True)
    expect(recrutements).to_have_accessible_description(re.compile("Chaque recrutement appelle sa fiche de poste"))
    expect(recrutements.get_by_text("Aucune ligne pour l'instant.")).to_be_visible()
    for index, recrutement in enumerate(moyens["recrutements"]):
        row = add_row(page, "Ajouter un recrutement", "moyens-recrutements", index + 1)
        row.get_by_label(label("Poste à recruter")).fill(recrutement["poste"])
        row.get_by_label(label("Échéance du recrutement")).fill(recrutement["date_prevue"])
    expect(page.locator("fieldset#moyens-equipe-1").get_by_label(label("ETP"))).to_have_value("0,5")
    page.get_by_label(label("Formations envisagées")).fill(moyens["formations"])
    page.get_by_label(label("Projet de pair-aidance")).fill(moyens["pair_aidance"])


def french_amount(value: str) -> str:
    """ "43000.00" as a French user types it: "43 000,00"."""
    units, cents = value.split(".")
    return f"{int(units):,}".replace(",", " ") + "," + cents


def fill_budget(page: Page, budget: dict[str, Any]) -> None:
    for rows, key, button in (
        ("budget-charges", "charges", "Ajouter une charge"),
        ("budget-produits", "produits", "Ajouter un produit"),
    ):
        for index, line in enumerate(budget[key]):
            row = row_of(page, rows, index, button)
            row.get_by_label(label("Libellé")).fill(line["libelle"])
            row.get_by_label(label("Montant")).fill(french_amount(line["montant"]))
    page.get_by_label(label("Subvention sollicitée auprès de la DDCS")).fill(french_amount(budget["subvention_ddcs"]))
    # Taken from the call, already there.
    expect(page.get_by_label(label("Financement par mesure fixé par l'appel"))).to_have_value(re.compile(r"^5 ?000[.,]00$"))


# --- the journey ---------------------------------------------------------------------------


def test_association_prepares_and_deposits_its_candidature_dossier(
    live_server: str, make_user: Callable[..., Account], page: Page, clock: Clock, tmp_path: Path
) -> None:
    clock.now = BEFORE_DEADLINE  # 2 September 2019, 11:00 in Paris: the call is open
    base = live_server
    page.set_default_timeout(15_000)
    data = EXAMPLE
    sign_in(page, base, make_user("redacteur"))

    # --- the calls -------------------------------------------------------------------------
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Appels à candidatures").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Appels à candidatures")
    appel = page.get_by_role("region", name=re.compile(r"Logement d'abord \(Pas-de-Calais, 2019\)$"))
    expect(appel).to_contain_text("6 septembre 2019 à 16:00")
    expect(appel).to_contain_text("Artois : 26 mesures ; Lens-Hénin : 32 mesures")
    check_accessibility(page, "la page des appels")
    appel.get_by_role("button", name="Préparer un dossier de candidature").click()

    # --- the checklist, empty --------------------------------------------------------------
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Dossier de candidature – {data['porteur']['raison_sociale']}")
    progress(page, 0, 12)  # 7 sections, 5 pieces (no recruitment yet: no job description)
    expect(piece(page, COURRIER)).to_contain_text("manquante")
    expect(piece(page, DELIBERATION)).to_contain_text("manquante")
    expect(piece(page, FICHE_POSTE)).to_have_count(0)
    expect(page.get_by_role("button", name="Déposer le dossier")).to_have_count(0)
    formulaire = page.get_by_role("region", name="Formulaire")
    formulaire.get_by_role("link", name=STEPS[0], exact=True).click()

    # --- step 1, with a SIRET whose check digit is wrong -----------------------------------
    expect(page.get_by_text("Étape 1 sur 7", exact=True)).to_be_visible()
    expect(page.get_by_role("navigation", name="Étapes du formulaire").locator("[aria-current=step]")).to_have_text(
        f"1. {STEPS[0]}"
    )
    fill_porteur(page, data["porteur"], BAD_SIRET)
    continue_to(page, 2)  # a draft is saved as typed, even wrong
    expect(step_state(page, 1)).to_contain_text("(à compléter)")
    step_state(page, 1).get_by_role("link").click()
    expect(page.get_by_text("Étape 1 sur 7", exact=True)).to_be_visible()
    siret = page.get_by_label(label("SIRET"))
    expect(siret).to_have_value(BAD_SIRET)  # what was typed is kept
    message = "Ce SIRET n'existe pas : sa clé de contrôle est fausse. Vérifiez-le sur l'avis de situation SIRENE."
    expect(page.locator("#porteur-siret-error")).to_have_text(f"Erreur : {message}")
    expect(siret).to_have_attribute("aria-invalid", "true")
    expect(siret).to_have_accessible_description(re.compile(re.escape(message)))
    summary = page.locator(".error-summary[role=alert]")
    expect(summary.get_by_role("heading")).to_have_text(re.compile(": 1 point à corriger$"))
    expect(summary.get_by_role("link")).to_have_attribute("href", "#porteur-siret")
    expect(page.get_by_label(label("Adresse du siège"))).not_to_have_attribute("aria-invalid", "true")
    check_accessibility(page, "l'étape 1 avec une erreur")
    summary.get_by_role("link").click()
    expect(siret).to_be_focused()
    siret.fill(GOOD_SIRET)
    continue_to(page, 2)
    expect(step_state(page, 1)).to_contain_text("(complète)")

    # --- steps 2 to 7 ----------------------------------------------------------------------
    # A step made of a table has its heading at the same level as a step made of a section.
    expect(page.get_by_role("heading", level=2, name=STEPS[1], exact=True)).to_be_visible()
    fill_mesures(page, data["mesures"])
    continue_to(page, 3)
    expect(step_state(page, 2)).to_contain_text("(complète)")
    expect(computed(page, "Mesures sollicitées (total)")).to_have_text("10")
    fill_projet(page, data["projet"])
    continue_to(page, 4)
    fill_fonctionnement(page, data["fonctionnement"])
    continue_to(page, 5)
    expect(computed(page, "Amplitude hebdomadaire de disponibilité des référents")).to_have_text("53 h 00")
    fill_partenariat(page, data["partenariat"])
    continue_to(page, 6)
    fill_moyens(page, data["moyens"])
    continue_to(page, 7)
    expect(computed(page, "ETP total de l'équipe")).to_have_text("1,5")  # 1 + 0,5
    fill_budget(page, data["budget"])
    page.get_by_role("button", name="Enregistrer et voir la liste de contrôle").click()

    # --- the checklist, the form complete, two pieces to deposit ---------------------------
    expect(page.get_by_role("status").filter(has_text="Brouillon enregistré : voici où en est votre dossier.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/documents/\d+/liste$"))
    for title in STEPS:
        expect(formulaire.get_by_role("listitem").filter(has_text=title)).to_contain_text("complet")
    progress(page, 10, 13)  # the recruitment calls for a job description
    expect(piece(page, FICHE_POSTE)).to_contain_text("manquante")
    expect(piece(page, "Budget prévisionnel et montant de la subvention sollicitée")).to_contain_text("Produite par le service.")
    next_step = page.get_by_role("status").filter(has=page.get_by_role("heading", name="Prochaine étape"))
    expect(next_step).to_contain_text(f"Pièce manquante : {COURRIER}.")

    # The letter to sign, downloaded from the checklist: the letter itself, not a draft (AML §6b).
    letter = docx_text(download_preview(page, page.get_by_role("link", name="Télécharger le courrier à signer (DOCX)")))
    assert data["porteur"]["representant_nom"] in letter and "s'engage à mettre en œuvre" in letter
    assert "BROUILLON" not in letter

    courrier_pdf = text_pdf("COURRIER-TEST")
    deposit(page, COURRIER, "courrier-signe.pdf", courrier_pdf)
    expect(page.get_by_role("status").filter(has_text="Pièce ajoutée.")).to_be_visible()
    expect(piece(page, COURRIER)).to_contain_text("déposée : courrier-signe.pdf")
    deposit(page, DELIBERATION, "deliberation-ca.pdf", text_pdf("DELIBERATION-TEST", pages=2))
    expect(piece(page, DELIBERATION)).to_contain_text(re.compile(r"déposée : deliberation-ca\.pdf \([\d.,]+ Ko, 2 pages\)"))
    progress(page, 12, 13)
    expect(next_step).to_contain_text(f"Pièce manquante : {FICHE_POSTE}.")

    # --- a submission without the job description: refused, the missing piece named ---------
    page.get_by_role("link", name=re.compile(r"^Dossier n° \d+$")).click()
    page.get_by_role("button", name="Soumettre le document").click()
    expect(page).to_have_url(re.compile(r"/documents/\d+/liste\?verifier=1$"))  # a deposit tried: errors in red
    alerts = page.get_by_role("alert")
    expect(alerts.filter(has_text="ne peut pas être soumis")).to_have_count(1)
    expect(alerts.filter(has_text=f"Pièce manquante : {FICHE_POSTE}.")).to_have_count(1)
    expect(page.locator("dl.meta")).to_contain_text("Brouillon")

    # --- a disguised file (HTML named .pdf): refused, nothing changed ----------------------
    disguised = b"<!DOCTYPE html><html><body><script>alert(1)</script>Fiche de poste</body></html>"
    deposit(page, FICHE_POSTE, "fiche-de-poste.pdf", disguised)
    refusal = page.get_by_role("alert").filter(has_text="Pièce refusée")
    expect(refusal).to_contain_text("pas un vrai PDF")
    # Beside its own file field, which it describes (issue 16, point 7), not at the top of the page.
    field = page.get_by_label(re.compile(rf"^Ajouter : {re.escape(FICHE_POSTE)} \("))
    expect(field).to_have_accessible_description(re.compile("pas un vrai PDF"))
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator(".flashes").filter(has_text="Pièce refusée")).to_have_count(0)
    expect(piece(page, FICHE_POSTE)).to_contain_text("manquante")
    expect(piece(page, FICHE_POSTE)).not_to_contain_text("fiche-de-poste.pdf")
    progress(page, 12, 13)
    check_accessibility(page, "la liste de contrôle avec une pièce refusée")

    deposit(page, FICHE_POSTE, "fiche-de-poste.pdf", text_pdf("FICHE-POSTE-TEST"))
    expect(piece(page, FICHE_POSTE)).to_contain_text("déposée : fiche-de-poste.pdf")
    progress(page, 13, 13)
    expect(next_step).to_contain_text("Le dossier est complet : vous pouvez le déposer.")

    # --- deposited -------------------------------------------------------------------------
    next_step.get_by_role("button", name="Déposer le dossier").click()
    expect(page.get_by_role("status").filter(has_text=f"Document soumis sous la référence {REFERENCE}")).to_be_visible(
        timeout=20_000
    )
    expect(page).to_have_url(re.compile(r"/documents/\d+$"))
    expect(page.locator("dl.meta")).to_contain_text(REFERENCE)
    check_accessibility(page, "la page du dossier déposé")

    # The files are a worker's: the page shows them by itself once produced (static/progress.js).
    dossier_link = page.get_by_role("link", name="Dossier complet – PDF", exact=True)
    expect(dossier_link).to_be_visible(timeout=60_000)
    # The complete PDF, downloaded as a user does and read back.
    reader = PdfReader(io.BytesIO(download(page, dossier_link, f"{REFERENCE}-v1-dossier.pdf")))
    texts = [p.extract_text() for p in reader.pages]
    total = len(texts)
    assert "Dossier de candidature complet" in texts[0] and REFERENCE in texts[0]
    assert "Sommaire" in texts[1]
    missing_numbers = [i for i, text in enumerate(texts, start=1) if f"Page {i} / {total}" not in text]
    assert not missing_numbers, f"pages without 'Page i / {total}': {missing_numbers}"
    marked = {
        m: [i for i, text in enumerate(texts, start=1) if m in text]
        for m in ("COURRIER-TEST", "DELIBERATION-TEST", "FICHE-POSTE-TEST")
    }
    assert {m: len(pages) for m, pages in marked.items()} == {
        "COURRIER-TEST": 1,
        "DELIBERATION-TEST": 2,
        "FICHE-POSTE-TEST": 1,
    }, marked
    # In the order of AML §6b: courrier, délibération, (generated pieces), fiche de poste last.
    assert marked["COURRIER-TEST"][0] < marked["DELIBERATION-TEST"][0] < marked["FICHE-POSTE-TEST"][0] == total
    # The contents name each piece, its file and its first page (long titles wrap, so the
    # file's line carries the page number).
    contents = texts[1]
    for title in (
        "Courrier d'acte de candidature",
        "Délibération du conseil",
        "Fiche descriptive du projet",
        "Organigramme du service",
        FICHE_POSTE,
    ):
        assert title in contents, (title, contents.splitlines())
    for file, marker in (
        (r"01-courrier-[\w-]+\.pdf", "COURRIER-TEST"),
        (r"02-deliberation-[\w-]+\.pdf", "DELIBERATION-TEST"),
        (r"06-fiche-de-poste-1\.pdf", "FICHE-POSTE-TEST"),
    ):
        found = re.search(rf"(?:^|\s){file} (\d+)$", contents, re.MULTILINE)
        assert found and int(found.group(1)) == marked[marker][0], (file, marked, contents.splitlines())

    # The ZIP: every file with its digest in manifest.json, intact.
    archive = tmp_path / f"{REFERENCE}-v1-dossier.zip"
    archive.write_bytes(download(page, page.get_by_role("link", name="Dossier complet – archive ZIP", exact=True), archive.name))
    assert verify_zip(archive) == []
    with zipfile.ZipFile(archive) as z:
        manifest = json.loads(z.read("manifest.json"))
        names = z.namelist()
        courrier = z.read(names[0])
    roles = [f["role"] for f in manifest["fichiers"]]
    assert roles[:2] == ["courrier", "deliberation"]
    assert {"fiche_descriptive", "organigramme", "budget", "fiches_poste", "dossier_complet"} <= set(roles)
    assert courrier == courrier_pdf  # the piece as it was deposited
    assert {f["nom"] for f in manifest["fichiers"]} == set(names) - {"manifest.json"}

    # Back to the calls: the dossier is there, deposited, with its reference.
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Appels à candidatures").click()
    appel = page.get_by_role("region", name=re.compile(r"Logement d'abord \(Pas-de-Calais, 2019\)$"))
    expect(appel.get_by_role("link", name="Votre dossier", exact=True)).to_be_visible()
    expect(appel).to_contain_text(re.compile(rf"Votre dossier : \w.* – {REFERENCE}"))
    expect(appel.get_by_role("button", name="Préparer un dossier de candidature")).to_have_count(0)
