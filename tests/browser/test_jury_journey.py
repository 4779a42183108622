"""The seed call from its deposits to its letters in a real headless Chromium (issue 12, Tests).

One journey, every step through the pages as its users take it: three associations deposit on
the 2019 call (A first types 27 Artois measures and meets the dossier's cap, 26, AML §1, §5); the
instructeur declares A and B recevable and C irrecevable (AML §6a); the four members of the jury
(the Département and the three EPCI, AML §6d) each score both dossiers on the grid and sign,
reaching them from the dossier's page, never from its checklist; the instructeur records the
jury's avis and the examinations, retains A with its 26 Artois measures – the whole of the call's
Artois count (AML §1: "26 mesures pour l'Artois") – and meets the call-wide cap on B, whose one
Artois measure would be the 27th ("il n'en reste que 0"), so B is not retained; the Commission
Permanente's decision is recorded and the letters established. Every kind produced is read back,
DOCX and PDF: the three letters (retenu, non retenu, irrecevable), the draft convention (read by
the association), the procès-verbal, and the spreadsheet opens with openpyxl and holds the scores.
Only the jury's composition is set through the test client (the administrator's configuration).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from tests.browser.test_candidature_journey import (
    COURRIER,
    DELIBERATION,
    FICHE_POSTE,
    GOOD_SIRET,
    STEPS,
    continue_to,
    deposit,
    fill_budget,
    fill_fonctionnement,
    fill_mesures,
    fill_moyens,
    fill_partenariat,
    fill_porteur,
    fill_projet,
    piece,
    step_state,
    text_pdf,
)
from tests.browser.test_journey import check_accessibility, download, sign_in
from tests.conftest import Account, Clock, WebClient
from tests.test_candidatures import BEFORE_DEADLINE
from tests.test_instruction import AT_DEADLINE, DEPARTEMENT
from tests.test_jury import members_form
from tests.test_jury_work import GRID, requesting
from tests.test_web import docx_text
from webforms import db
from webforms.models import Document

pytestmark = pytest.mark.browser

AFTER_CP = dt.datetime(2019, 11, 5, 9, 0, tzinfo=dt.UTC)
ARTOIS_CAP = "Au plus 26 mesures sur le territoire Artois (AML §1, §5)."


def flat(text: str) -> str:
    """Text on one line, French narrow and non-breaking spaces as plain spaces."""
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


def switch_to(page: Page, base: str, account: Account) -> None:
    """Sign out, then in as ``account``."""
    page.get_by_role("button", name="Se déconnecter").click()
    sign_in(page, base, account)


def deposit_through_pages(page: Page, data: dict[str, Any], *, first_artois: int | None = None) -> int:
    """Prepare the signed-in association's dossier step by step, deposit its three pieces and the dossier; return its id.

    ``first_artois``: a number of Artois measures typed first, over the call's count, then corrected.
    """
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Appels à candidatures").click()
    appel = page.get_by_role("region", name=re.compile(r"Logement d'abord \(Pas-de-Calais, 2019\)$"))
    appel.get_by_role("button", name="Préparer un dossier de candidature").click()
    page.get_by_role("region", name="Formulaire").get_by_role("link", name=STEPS[0], exact=True).click()
    fill_porteur(page, data["porteur"], GOOD_SIRET)
    continue_to(page, 2)
    if first_artois is not None:
        # The dossier's own cap, where the association meets it: 27 is saved as typed, flagged in French.
        fill_mesures(page, [{**data["mesures"][0], "nombre": first_artois}, *data["mesures"][1:]])
        continue_to(page, 3)
        expect(step_state(page, 2)).to_contain_text("(à compléter)")
        step_state(page, 2).get_by_role("link").click()
        expect(page.get_by_text(ARTOIS_CAP)).not_to_have_count(0)
    fill_mesures(page, data["mesures"])
    continue_to(page, 3)
    expect(step_state(page, 2)).to_contain_text("(complète)")
    for step, fill, part in ((4, fill_projet, "projet"), (5, fill_fonctionnement, "fonctionnement"), (6, fill_partenariat, "partenariat"), (7, fill_moyens, "moyens")):
        fill(page, data[part])
        continue_to(page, step)
    fill_budget(page, data["budget"])
    page.get_by_role("button", name="Enregistrer et voir la liste de contrôle").click()
    expect(page).to_have_url(re.compile(r"/documents/\d+/liste$"))
    for title, name in ((COURRIER, "courrier-signe.pdf"), (DELIBERATION, "deliberation-ca.pdf"), (FICHE_POSTE, "fiche-de-poste.pdf")):
        deposit(page, title, name, text_pdf(name.upper().replace(".", "-")))
        expect(piece(page, title)).to_contain_text(f"déposée : {name}")
    next_step = page.get_by_role("status").filter(has=page.get_by_role("heading", name="Prochaine étape"))
    next_step.get_by_role("button", name="Déposer le dossier").click()
    expect(page.get_by_role("status").filter(has_text="Document soumis sous la référence")).to_be_visible(timeout=20_000)
    found = re.search(r"/documents/(\d+)$", page.url)
    assert found, page.url
    return int(found.group(1))


def rendered(page: Page, url: str) -> bytes:
    """The file at ``url`` once the live server's worker has produced it."""
    for _ in range(120):
        got = page.request.get(url)
        if got.ok and got.body()[:4] in (b"%PDF", b"PK\x03\x04"):
            return got.body()
        page.wait_for_timeout(500)
    raise AssertionError(f"never produced: {url}")


def pdf_text(data: bytes) -> str:
    return flat("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages))


def read_letter(page: Page, base: str, reference: str) -> tuple[str, str]:
    """The text of the DOCX and of the PDF of the letter listed beside dossier ``reference`` on the summary."""
    link = page.locator("li", has_text=reference).get_by_role("link", name=re.compile(r"^lettre NA-2019-"))
    url = f"{base}{link.get_attribute('href')}"
    return flat(docx_text(rendered(page, f"{url}/telecharger/docx"))), pdf_text(rendered(page, f"{url}/telecharger/pdf"))


def score_both(page: Page, base: str, docs: list[int], value: str) -> None:
    """A jury member scores each dossier, reached from its page (never its checklist), and signs (AML §6c)."""
    for doc_id in docs:
        page.goto(f"{base}/documents/{doc_id}")
        expect(page.get_by_role("link", name="Liste de contrôle du dossier")).to_have_count(0)
        page.get_by_role("link", name="Mon évaluation de ce dossier").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Évaluation du dossier")
        for code, count in GRID.items():
            for n in range(1, count + 1):
                page.locator(f"#note-{code}-{n}").fill(value)
                if (code, n) != ("moyens", 3):
                    page.locator(f"#commentaire-{code}-{n}").fill(f"Commentaire du membre {value} ({code} {n})")
        # Each score needs its comment to sign (issue 12, AML §6c): refused, the one missing named,
        # everything typed kept on the page.
        page.get_by_role("button", name="Signer mon évaluation").click()
        expect(page.locator(".flashes")).to_contain_text("Commentez chaque note avant de signer votre évaluation ; sans commentaire : « Les moyens », sous-critère 3")
        expect(page.locator("#note-moyens-3")).to_have_value(value)
        expect(page.locator("#commentaire-fonctionnement-2")).to_have_value(f"Commentaire du membre {value} (fonctionnement 2)")
        page.locator("#commentaire-moyens-3").fill(f"Commentaire du membre {value} (moyens 3)")
        page.get_by_role("button", name="Signer mon évaluation").click()
        expect(page.locator(".flashes")).to_contain_text("Évaluation signée")


def test_the_seed_call_goes_from_its_deposits_to_its_letters(live_server: str, app: Flask, make_user: Callable[..., Account], page: Page, clock: Clock) -> None:
    base = live_server
    page.set_default_timeout(15_000)
    clock.now = BEFORE_DEADLINE
    docs: dict[str, int] = {}
    writers: dict[str, Account] = {}
    # --- three associations deposit through the pages (AML §6b) ------------------------------
    for name, artois, lens, over in (("A", 26, 6, 27), ("B", 1, 4, None), ("C", 2, 2, None)):
        data = requesting(artois, lens)
        data["porteur"]["raison_sociale"] = f"Association {name}"  # prefilled from the organisation
        writers[name] = make_user("redacteur", org=f"Association {name}")
        if name == "A":
            sign_in(page, base, writers[name])
        else:
            switch_to(page, base, writers[name])
        docs[name] = deposit_through_pages(page, data, first_artois=over)
    with app.app_context():
        refs = {n: db.session().get_one(Document, i).reference for n, i in docs.items()}
        appel_id = db.session().get_one(Document, docs["A"]).appel_id
    seated = [make_user("jury", org=org) for org in (DEPARTEMENT, "CALL", "CAHC", "CABBALR")]
    admin = WebClient(app.test_client())
    admin.login(make_user("admin", org="Administration"))
    assert admin.post(f"/admin/appels/{appel_id}/jury", members_form(seated)).status_code == 302
    instructeur = make_user("instructeur", org=DEPARTEMENT)

    # --- the instructeur: A and B recevable, C irrecevable (AML §6a, §6b) --------------------
    switch_to(page, base, instructeur)
    for name in ("A", "B", "C"):
        page.goto(f"{base}/documents/{docs[name]}/liste")
        page.get_by_role("button", name="Commencer l'instruction").click()
        expect(page.locator(".flashes")).to_contain_text("maintenant « en instruction »")
    clock.now = AT_DEADLINE
    for name in ("A", "B"):
        page.goto(f"{base}/documents/{docs[name]}/liste")
        page.get_by_role("button", name="Déclarer recevable").click()
        expect(page.locator(".flashes")).to_contain_text("maintenant « recevable »")
    page.goto(f"{base}/documents/{docs['C']}/liste")
    page.get_by_label("Motif de l'irrecevabilité").select_option(label="Organisme non éligible (AML §6a)")
    page.get_by_role("button", name="Déclarer irrecevable").click()
    expect(page.locator(".flashes")).to_contain_text("maintenant « irrecevable »")

    # --- the four members score both dossiers and sign (AML §6c, §6d) -------------------------
    for account, value in zip(seated, ("4", "2", "3", "3"), strict=True):
        switch_to(page, base, account)
        score_both(page, base, [docs["A"], docs["B"]], value)
    # The checklist is the association's working page, not the jury's (issue 12).
    assert page.request.get(f"{base}/documents/{docs['A']}/liste").status == 403
    check_accessibility(page, "l'évaluation signée d'un membre du jury")

    # --- the avis, the examinations, the allocation against the call's count (AML §5) --------
    switch_to(page, base, instructeur)
    for name, avis in (("A", "Favorable"), ("B", "Réservé")):
        page.goto(f"{base}/documents/{docs[name]}/liste")
        page.get_by_label("Avis du jury").select_option(label=avis)
        page.get_by_label("Texte de l'avis").fill(f"Avis du jury sur le dossier {name}")
        page.get_by_role("button", name="Enregistrer l'avis").click()
        expect(page.locator(".flashes")).to_contain_text("Avis du jury enregistré")
        page.get_by_role("button", name="Enregistrer l'examen par le jury").click()
        expect(page.locator(".flashes")).to_contain_text("maintenant « examiné par le jury »")

    def retain(name: str, artois: str, lens: str) -> None:
        page.goto(f"{base}/documents/{docs[name]}/liste")
        page.get_by_label(re.compile("^Mesures accordées – Artois")).fill(artois)
        page.get_by_label(re.compile("^Mesures accordées – Lens-Hénin")).fill(lens)
        page.get_by_role("button", name="Retenir le projet", exact=True).click()

    # A: over its own request first (27 > 26 asked), then the whole Artois count: accepted.
    retain("A", "27", "6")
    expect(page.locator(".flashes")).to_contain_text("Territoire Artois : entre 0 et 26 mesures (demandées : 26, appel : 26, AML §5).")
    retain("A", "26", "6")
    expect(page.locator(".flashes")).to_contain_text("maintenant « retenu »")
    # B: its form shows what remains on the call (nothing on the Artois) and the amounts (AML §5).
    page.goto(f"{base}/documents/{docs['B']}/liste")
    remains = page.get_by_role("table", name="Reste à allouer sur l'appel (AML §5)")
    expect(remains.get_by_role("row", name=re.compile(r"^Artois 26 26 0 1$"))).to_be_visible()
    expect(remains.get_by_role("row", name=re.compile(r"^Lens-Hénin 32 6 26 4$"))).to_be_visible()
    expect(page.locator("#montants")).to_contain_text("5 000,00 € par mesure (AML §5)")
    check_accessibility(page, "le formulaire d'allocation des mesures")
    # B: one Artois measure more would be the call's 27th: refused, nothing granted.
    retain("B", "1", "4")
    expect(page.locator(".flashes")).to_contain_text(
        "Territoire Artois : 1 mesures demandées à l'allocation, il n'en reste que 0 (26 pour l'appel, 26 déjà accordées, AML §5)"
    )
    expect(page.locator("#instruction .statut")).to_have_text("Examiné par le jury")  # nothing granted
    page.get_by_label("Raisons (l'association les lira)").fill("Plus aucune mesure disponible sur l'Artois")
    page.get_by_role("button", name="Ne pas retenir le projet").click()
    expect(page.locator(".flashes")).to_contain_text("maintenant « non retenu »")

    # --- the summary, the decision, the letters ---------------------------------------------
    page.get_by_role("link", name="Synthèse et classement du jury").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Synthèse du jury")
    allocation = page.get_by_role("table", name=re.compile("^Mesures par territoire"))
    expect(allocation.get_by_role("row", name=re.compile(r"^Artois 26 26 0 "))).to_be_visible()  # nothing left to allocate
    check_accessibility(page, "la synthèse du jury")
    clock.now = AFTER_CP
    page.get_by_label("Date de la Commission Permanente").fill("2019-11-04")
    page.get_by_role("button", name="Enregistrer la décision").click()
    expect(page.locator(".flashes")).to_contain_text("Décision de la Commission Permanente enregistrée")
    page.get_by_role("button", name="Établir les lettres de notification").click()
    # C, irrecevable, gets its letter too: "Le porteur de projet sera informé par courrier" (AML §6d).
    expect(page.locator(".flashes")).to_contain_text("Lettres de notification établies : 3")
    expected = {
        "A": ("Projet retenu", "Artois 26 130 000,00 €", "Lens-Hénin 6 30 000,00 €", "convention de financement"),
        "B": ("Projet non retenu", "Plus aucune mesure disponible sur l'Artois"),
        "C": ("Dossier irrecevable, non présenté au jury", "non éligible"),
    }
    for name, phrases in expected.items():
        for text in read_letter(page, base, refs[name]):  # the DOCX, then the PDF
            for phrase in (refs[name], "4 novembre 2019", f"Association {name}", *phrases):
                assert phrase in text, (name, phrase, text)

    # --- the procès-verbal and the spreadsheet, from the summary -----------------------------
    verbal = pdf_text(download(page, page.get_by_role("link", name="Procès-verbal du jury (PDF)")))
    for phrase in ("Procès-verbal du jury de sélection", "25 septembre 2019", refs["A"], refs["B"], "Favorable – Avis du jury sur le dossier A", "Artois 26 26 0"):
        assert phrase in verbal, (phrase, verbal)
    data = download(page, page.get_by_role("link", name="Grille et allocation (tableur XLSX)"))
    rows: list[Any] = list(load_workbook(io.BytesIO(data))["Notes"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == 2 * 4 * sum(GRID.values()) and {r[6] for r in rows} == {4, 2, 3}
    assert "Commentaire du membre 4 (moyens 3)" in {r[7] for r in rows} and all(r[7] for r in rows)  # every signed score commented

    # --- the association reads its state and its draft convention (AML §6d, §7) --------------
    switch_to(page, base, writers["A"])
    page.goto(f"{base}/documents/{docs['A']}/liste")
    expect(page.get_by_text("Artois : 26 mesures accordées")).to_be_visible()
    section = page.get_by_role("region", name="Instruction du dossier")
    word = flat(docx_text(download(page, section.get_by_role("link", name="Word", exact=True))))
    pdf = pdf_text(download(page, section.get_by_role("link", name="PDF", exact=True)))
    for text in (word, pdf):
        for phrase in (refs["A"], "Association A", "160 000,00 €", "compte-rendu financier"):
            assert phrase in text, (phrase, text)
