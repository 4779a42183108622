"""The archivist's journey in a real headless Chromium (DESIGN §3).

An archivist finds a submitted fiche saisine, uploads its signed scan (a refused file first),
searches for it, opens its record, downloads the signed copy, and exports it as SEDA 2.2 and
BagIt; axe-core checks every page visited.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import bagit
import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from tests.browser.test_journey import check_accessibility, download, sign_in
from tests.conftest import pdf_titled
from tests.test_web import submitted
from webforms import db
from webforms.archive.export import validate_seda
from webforms.models import Document

pytestmark = pytest.mark.browser


def test_archivist_deposits_finds_downloads_and_exports_a_signed_copy(page: Page, live_server: str, app: Flask, login_as: Any, make_user: Any, tmp_path: Path) -> None:
    writer_web, _ = login_as("redacteur")
    doc_id = submitted(writer_web, "fiche_saisine")
    with app.app_context():
        reference = db.session().get(Document, doc_id).reference
    archivist = make_user("archiviste", "Département du Pas-de-Calais")
    scan = pdf_titled("Fiche saisine signée par le ménage")
    (tmp_path / "fiche-signee.pdf").write_bytes(scan)
    (tmp_path / "faux.pdf").write_bytes(b"<html>pas un PDF</html>")

    sign_in(page, live_server, archivist)
    # Find the submitted document from the document list.
    page.get_by_role("row").filter(has_text=reference).get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Fiche saisine")
    page.get_by_role("link", name="Archiver la copie signée").click()
    expect(page.get_by_role("heading", level=1, name="Archiver la copie signée")).to_be_visible()
    check_accessibility(page, "le dépôt de la copie signée")

    # A disguised file is refused in French, and the page says nothing changed.
    page.get_by_label(re.compile("^Copie signée")).set_input_files(str(tmp_path / "faux.pdf"))
    page.get_by_role("button", name="Archiver", exact=True).click()
    # Said beside the file field (issue 16, point 7), which names it.
    expect(page.get_by_label(re.compile("^Copie signée"))).to_have_attribute("aria-invalid", "true")
    refusal = page.locator("#fichier-error")
    expect(refusal).to_contain_text("Copie signée refusée")
    expect(refusal).to_contain_text("Rien n'a été modifié dans l'archive.")
    expect(page.get_by_label(re.compile("^Copie signée"))).to_have_attribute("aria-describedby", re.compile(r"\bfichier-error\b"))
    check_accessibility(page, "le dépôt refusé")

    page.get_by_label(re.compile("^Copie signée")).set_input_files(str(tmp_path / "fiche-signee.pdf"))
    page.get_by_label("Signature manuscrite numérisée").check()
    page.get_by_role("button", name="Archiver", exact=True).click()
    expect(page.get_by_text("Copie signée archivée.")).to_be_visible()
    expect(page.get_by_text(hashlib.sha512(scan).hexdigest())).to_be_visible()
    check_accessibility(page, "la fiche d'archive")

    # Search for it by its reference.
    page.get_by_role("navigation", name="Navigation principale").get_by_role("link", name="Archives").click()
    page.get_by_label("Référence du document").fill(reference)
    page.get_by_role("button", name="Rechercher").click()
    expect(page.get_by_text("1 enregistrement – page 1 sur 1.")).to_be_visible()
    check_accessibility(page, "la recherche dans les archives")
    page.get_by_role("link", name=re.compile(reference)).click()

    # Download the signed copy: the very bytes deposited.
    assert download(page, page.get_by_role("link", name="Copie signée")) == scan

    # Export it: SEDA 2.2, valid against the schemas; then BagIt, a valid bag. A worker builds
    # each export; its page shows the progress, then offers the file by itself.
    def export(label: str) -> bytes:
        page.get_by_role("link", name="Archives", exact=True).first.click()
        page.get_by_label("Référence du document").fill(reference)
        page.get_by_role("button", name="Rechercher").click()
        page.get_by_role("checkbox", name=re.compile(f"Sélectionner {reference}")).check()
        page.get_by_label(label).check()
        page.get_by_role("button", name="Exporter (ZIP)").click()
        ready = page.get_by_role("link", name=re.compile("^Télécharger WEBFORMS-"))
        expect(ready).to_be_visible(timeout=30_000)
        return download(page, ready)

    with zipfile.ZipFile(io.BytesIO(export("Paquet de transfert SEDA 2.2"))) as seda:
        manifest = seda.read("manifest.xml")
        assert validate_seda(manifest) == []
        assert hashlib.sha512(scan).hexdigest().encode() in manifest
    check_accessibility(page, "la page d'un export prêt")
    with zipfile.ZipFile(io.BytesIO(export("Paquet BagIt"))) as bag_zip:
        bag_zip.extractall(tmp_path / "bag")
    (bag_dir,) = (tmp_path / "bag").iterdir()
    bagit.Bag(str(bag_dir)).validate()
    page.get_by_role("link", name="Archives", exact=True).first.click()
    page.get_by_label("Référence du document").fill(reference)
    page.get_by_role("button", name="Rechercher").click()

    # The record's history shows each step, in order.
    page.get_by_role("link", name=re.compile(reference)).click()
    history = page.get_by_role("region", name="Historique (journal d'audit scellé)")
    for action in ("Dépôt de la copie signée", "Consultation", "Téléchargement", "Export"):
        expect(history.get_by_text(action).first).to_be_visible()
