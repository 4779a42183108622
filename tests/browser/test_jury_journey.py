"""The seed call to its decision in a real headless Chromium (issue 12, Tests): instruction, jury, allocation, letters, spreadsheet.

Two associations deposit on the 2019 call (through the test client: the deposit's own journey is
tests/browser/test_candidature_journey.py); in the browser, the instructeur declares one dossier
recevable and the other irrecevable, two jury members score the recevable one on the grid and
sign (the other two sign through the service: every member signs), the instructeur records the
jury's avis and the examination, the allocation is refused at 27 Artois measures then accepted at 26 (AML §5), the Commission Permanente's decision is recorded,
the letters are generated and read back (text checked), and the spreadsheet opens with openpyxl
and holds the scores.
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

from tests.browser.test_journey import check_accessibility, download, sign_in
from tests.conftest import Account, Clock, WebClient
from tests.test_candidatures import BEFORE_DEADLINE
from tests.test_instruction import AT_DEADLINE, DEPARTEMENT
from tests.test_jury import members_form
from tests.test_jury_work import GRID, deposit, requesting, sign_all
from webforms import db
from webforms.models import Document

pytestmark = pytest.mark.browser

AFTER_CP = dt.datetime(2019, 11, 5, 9, 0, tzinfo=dt.UTC)


def flash(page: Page) -> str:
    return " ".join(page.locator(".flashes").inner_text().split())


def switch_to(page: Page, base: str, account: Account) -> None:
    """Sign out, then in as ``account``."""
    page.get_by_role("button", name="Se déconnecter").click()
    sign_in(page, base, account)


def test_the_seed_call_goes_from_instruction_to_its_letters(live_server: str, app: Flask, make_user: Callable[..., Account], page: Page, clock: Clock) -> None:
    base = live_server
    page.set_default_timeout(15_000)
    clock.now = BEFORE_DEADLINE
    docs: dict[str, int] = {}
    for name, artois, lens in (("A", 26, 6), ("B", 4, 4)):
        web = WebClient(app.test_client())
        web.login(make_user("redacteur", org=f"Association {name}"))
        docs[name] = deposit(app, web, requesting(artois, lens))
    seated = [make_user("jury", org=org) for org in (DEPARTEMENT, "CALL", "CAHC", "CABBALR")]
    admin = WebClient(app.test_client())
    admin.login(make_user("admin", org="Administration"))
    with app.app_context():
        appel_id = db.session().get(Document, docs["A"]).appel_id
    assert admin.post(f"/admin/appels/{appel_id}/jury", members_form(seated)).status_code == 302
    instructeur = make_user("instructeur", org=DEPARTEMENT)

    # --- the instructeur: one recevable, one irrecevable (after the deadline, AML §6b) -------
    sign_in(page, base, instructeur)
    for name in ("A", "B"):
        page.goto(f"{base}/documents/{docs[name]}/liste")
        page.get_by_role("button", name="Commencer l'instruction").click()
        expect(page.locator(".flashes")).to_contain_text("maintenant « en instruction »")
    clock.now = AT_DEADLINE
    page.goto(f"{base}/documents/{docs['A']}/liste")
    page.get_by_role("button", name="Déclarer recevable").click()
    expect(page.locator(".flashes")).to_contain_text("maintenant « recevable »")
    page.goto(f"{base}/documents/{docs['B']}/liste")
    page.get_by_label("Motif de l'irrecevabilité").select_option(label="Organisme non éligible (AML §6a)")
    page.get_by_role("button", name="Déclarer irrecevable").click()
    expect(page.locator(".flashes")).to_contain_text("maintenant « irrecevable »")

    # --- two jury members score the recevable dossier and sign (AML §6c) --------------------
    for account, value in ((seated[0], "4"), (seated[1], "2")):
        switch_to(page, base, account)
        page.goto(f"{base}/documents/{docs['A']}/liste")
        page.get_by_role("link", name="Mon évaluation de ce dossier").click()
        expect(page.get_by_role("heading", level=1)).to_contain_text("Évaluation du dossier")
        check_accessibility(page, "l'évaluation d'un membre du jury")
        # The browser itself keeps a score within the scale (min, max); the server's refusal of
        # a score outside it is tested in tests/test_jury_work.py.
        expect(page.locator("#note-moyens-1")).to_have_attribute("max", "5")
        page.locator("#note-moyens-1").fill("3")
        page.get_by_role("button", name="Enregistrer le brouillon").click()
        expect(page.locator(".flashes")).to_contain_text("Brouillon de l'évaluation enregistré")
        for code, count in GRID.items():
            for n in range(1, count + 1):
                page.locator(f"#note-{code}-{n}").fill(value)
        page.locator("#commentaire-projet_territoire-1").fill(f"Commentaire du membre {value}")
        page.get_by_role("button", name="Signer mon évaluation").click()
        expect(page.locator(".flashes")).to_contain_text("Évaluation signée")
    # The jury has signed off only once every member has (AML §6c, §6d): the other two sign 3
    # through the service (their pages are the two above).
    sign_all(app, {"accounts": seated[2:]}, docs["A"])

    # --- the avis, the examination, the allocation refused at 27 then accepted at 26 --------
    switch_to(page, base, instructeur)
    page.goto(f"{base}/documents/{docs['A']}/liste")
    page.get_by_label("Avis du jury").select_option(label="Favorable")
    page.get_by_label("Texte de l'avis").fill("Projet solide et bien ancré")
    page.get_by_role("button", name="Enregistrer l'avis").click()
    expect(page.locator(".flashes")).to_contain_text("Avis du jury enregistré")
    page.get_by_role("button", name="Enregistrer l'examen par le jury").click()
    expect(page.locator(".flashes")).to_contain_text("maintenant « examiné par le jury »")
    page.get_by_label(re.compile("^Mesures accordées – Artois")).fill("27")
    page.get_by_label(re.compile("^Mesures accordées – Lens-Hénin")).fill("6")
    page.get_by_role("button", name="Retenir le projet", exact=True).click()
    expect(page.locator(".flashes")).to_contain_text("Territoire Artois : entre 0 et 26 mesures")
    page.get_by_label(re.compile("^Mesures accordées – Artois")).fill("26")
    page.get_by_label(re.compile("^Mesures accordées – Lens-Hénin")).fill("6")
    page.get_by_role("button", name="Retenir le projet", exact=True).click()
    expect(page.locator(".flashes")).to_contain_text("maintenant « retenu »")

    # --- the summary, the decision, the letters ------------------------------------------------
    page.get_by_role("link", name="Synthèse et classement du jury").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Synthèse du jury")
    check_accessibility(page, "la synthèse du jury")
    clock.now = AFTER_CP
    page.get_by_label("Date de la Commission Permanente").fill("2019-11-04")
    page.get_by_role("button", name="Enregistrer la décision").click()
    expect(page.locator(".flashes")).to_contain_text("Décision de la Commission Permanente enregistrée")
    page.get_by_role("button", name="Établir les lettres de notification").click()
    # B, irrecevable, gets its letter too: "Le porteur de projet sera informé par courrier" (AML §6d).
    expect(page.locator(".flashes")).to_contain_text("Lettres de notification établies : 2")
    with app.app_context():
        reference_a = db.session().get(Document, docs["A"]).reference
    letter = page.locator("li", has_text=reference_a).get_by_role("link", name=re.compile(r"^lettre NA-2019-"))
    letter_url = letter.get_attribute("href") or ""
    got = page.request.get(f"{base}{letter_url}/telecharger/pdf")
    for _ in range(60):  # rendered by the live server's worker
        if got.ok and got.body().startswith(b"%PDF"):
            break
        page.wait_for_timeout(500)
        got = page.request.get(f"{base}{letter_url}/telecharger/pdf")
    text = " ".join("\n".join(p.extract_text() for p in PdfReader(io.BytesIO(got.body())).pages).replace("\u202f", " ").replace("\xa0", " ").split())
    for expected in ("Projet retenu", "Artois 26 130 000,00 €", "Lens-Hénin 6 30 000,00 €", "4 novembre 2019", "convention de financement"):
        assert expected in text, (expected, text)

    # --- the spreadsheet opens with the library and holds the scores ------------------------
    page.goto(f"{base}/appels/{appel_id}/synthese")
    data = download(page, page.get_by_role("link", name="Grille et allocation (tableur XLSX)"))
    rows: list[Any] = list(load_workbook(io.BytesIO(data))["Notes"].iter_rows(min_row=2, values_only=True))
    assert len(rows) == 4 * sum(GRID.values()) and {r[6] for r in rows} == {4, 2, 3}
    assert "Commentaire du membre 4" in {r[7] for r in rows}
