"""The complete dossier: one PDF with cover, contents and page numbers, one verifiable ZIP (AML §6b)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

from flask import Flask
from PIL import Image
from pypdf import PdfReader

from tests.conftest import Clock
from tests.test_candidatures import BEFORE_DEADLINE, example, fill_steps, open_dossier, pdf_bytes, upload
from webforms import db
from webforms.dossier import verify_zip, write_zip
from webforms.models import Document


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (1240, 1754), "white").save(out, "PNG")
    return out.getvalue()


def test_submitted_dossier_comes_as_one_pdf_and_one_zip(app: Flask, login_as: Any, clock: Clock, tmp_path: Path) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    fill_steps(web, doc_id, example())
    upload(web, doc_id, "courrier", png_bytes(), "courrier-signe.png")  # a scan: becomes a page
    upload(web, doc_id, "deliberation", pdf_bytes(3), "deliberation.pdf")
    upload(web, doc_id, "fiches_poste", pdf_bytes(2), "fiche-poste-pair.pdf")
    assert web.post(f"/documents/{doc_id}/soumettre").status_code == 302
    with app.app_context():
        doc = db.session().get(Document, doc_id)
        outputs = {(r.output, r.format) for r in doc.renditions}
    assert {("document", "pdf"), ("document", "docx"), ("courrier", "docx"), ("organigramme", "pdf"), ("budget", "pdf"), ("dossier", "pdf"), ("dossier", "zip")} <= outputs

    pdf = web.get(f"/documents/{doc_id}/telecharger/pdf?sortie=dossier")
    assert pdf.status_code == 200
    reader = PdfReader(io.BytesIO(pdf.data))
    texts = [page.extract_text() for page in reader.pages]
    total = len(reader.pages)
    assert "Dossier de candidature complet" in texts[0] and "CA-2019-000001" in texts[0]
    assert "Sommaire" in texts[1]
    assert all(f"Page {i} / {total}" in text for i, text in enumerate(texts, start=1))
    # The contents' page numbers point at the pieces, in the order of AML §6b.
    contents = texts[1]
    for title in ("Courrier d'acte de candidature", "Délibération du conseil", "Fiche descriptive", "Organigramme", "Budget prévisionnel", "Fiche de poste n° 1"):
        assert title in contents, title
    assert total >= 2 + 1 + 3 + 2  # front pages, the scan, the deliberation, the job description

    archive = web.get(f"/documents/{doc_id}/telecharger/zip?sortie=dossier")
    assert archive.mimetype == "application/zip"
    path = tmp_path / "dossier.zip"
    path.write_bytes(archive.data)
    assert verify_zip(path) == []
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        manifest = json.loads(z.read("manifest.json"))
    assert names[:2] == ["01-courrier-acte-de-candidature-signe.png", "02-deliberation-conseil-administration.pdf"]
    assert {"03-fiche-descriptive.pdf", "03-fiche-descriptive.docx", "06-fiche-de-poste-1.pdf", "dossier-complet.pdf"} <= set(names)
    assert {f["role"] for f in manifest["fichiers"]} >= {"courrier", "deliberation", "fiche_descriptive", "budget", "fiches_poste", "dossier_complet"}


def test_verify_zip_names_each_tampering(tmp_path: Path) -> None:
    files = []
    for name, content in (("a.pdf", b"%PDF-a"), ("b.pdf", b"%PDF-b")):
        (tmp_path / name).write_bytes(content)
        files.append((name, "piece", tmp_path / name))
    good = tmp_path / "good.zip"
    write_zip(good, files)
    assert verify_zip(good) == []
    with zipfile.ZipFile(good) as src:
        entries = {n: src.read(n) for n in src.namelist()}
    tampered = tmp_path / "tampered.zip"
    with zipfile.ZipFile(tampered, "w") as dst:
        dst.writestr("a.pdf", b"%PDF-changed")  # altered
        dst.writestr("intrus.exe", b"MZ")  # added
        dst.writestr("manifest.json", entries["manifest.json"])  # b.pdf removed
    problems = verify_zip(tampered)
    assert any(p.startswith("a.pdf") and "empreinte" in p for p in problems)
    assert any(p.startswith("b.pdf") and "absent" in p for p in problems)
    assert any(p.startswith("intrus.exe") for p in problems)
    cli = subprocess.run([sys.executable, "-m", "webforms", "verify-zip", str(tampered)], capture_output=True, text=True, cwd=tmp_path)
    assert cli.returncode == 1 and "a.pdf" in cli.stdout
    cli = subprocess.run([sys.executable, "-m", "webforms", "verify-zip", str(good)], capture_output=True, text=True, cwd=tmp_path)
    assert cli.returncode == 0 and "intacte" in cli.stdout


def word_bytes(text: str) -> bytes:
    import docx

    document = docx.Document()
    document.add_heading("Délibération du conseil d'administration", level=1)
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_a_word_piece_is_converted_and_shown_in_the_complete_pdf(app: Flask, login_as: Any, clock: Clock, tmp_path: Path) -> None:
    """AML §6b: every piece in the one PDF. A Word délibération is converted to PDF at upload
    (LibreOffice, webforms/office.py); the ZIP keeps the Word file as deposited."""
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    fill_steps(web, doc_id, example())
    deliberation = word_bytes("Le conseil approuve à l'unanimité la candidature Quetzalcoatl-42.")
    upload(web, doc_id, "courrier", pdf_bytes(1), "courrier.pdf")
    assert upload(web, doc_id, "deliberation", deliberation, "deliberation.docx").status_code == 302
    upload(web, doc_id, "fiches_poste", pdf_bytes(1), "fiche.pdf")
    with app.app_context():
        piece = next(p for p in db.session().get(Document, doc_id).pieces if p.code == "deliberation")
        assert piece.mime.endswith("wordprocessingml.document") and piece.pdf_sha256 is not None
    assert web.post(f"/documents/{doc_id}/soumettre").status_code == 302
    pdf = web.get(f"/documents/{doc_id}/telecharger/pdf?sortie=dossier")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Quetzalcoatl-42" in text
    archive = web.get(f"/documents/{doc_id}/telecharger/zip?sortie=dossier")
    with zipfile.ZipFile(io.BytesIO(archive.data)) as z:
        assert z.read("02-deliberation-conseil-administration.docx") == deliberation
