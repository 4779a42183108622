"""The complete dossier: one PDF with cover, contents and page numbers, one verifiable ZIP (AML §6b)."""

from __future__ import annotations

import hashlib
import io
import json
import struct
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from flask import Flask
from PIL import Image
from pypdf import PdfReader

from tests.conftest import Clock
from tests.test_candidatures import BEFORE_DEADLINE, example, fill_steps, open_dossier, pdf_bytes, upload
from webforms import cli, db
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


# --- verify_zip on damaged, malformed or hostile archives ---------------------------------------
PIECES = {"04-organigramme.pdf": b"%PDF-1.4 organigramme " * 500, "05-budget.pdf": b"%PDF-1.4 budget " * 500}


def dossier_zip(tmp_path: Path) -> Path:
    """A ZIP as the service writes it: pieces stored as they are, manifest.json deflated."""
    files = []
    for name, content in PIECES.items():
        (tmp_path / name).write_bytes(content)
        files.append((name, "piece", tmp_path / name))
    path = tmp_path / "dossier.zip"
    write_zip(path, files)
    assert verify_zip(path) == []
    return path


def flip_byte(path: Path, member: str) -> None:
    """Flip one byte in the middle of ``member``'s data, in the bytes of the ZIP file itself."""
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo(member)
    data = bytearray(path.read_bytes())
    name_length, extra_length = struct.unpack("<HH", data[info.header_offset + 26 : info.header_offset + 30])
    start = info.header_offset + 30 + name_length + extra_length
    data[start + info.compress_size // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def zip_of(tmp_path: Path, members: dict[str, bytes], manifest: Any = None) -> Path:
    """A ZIP of ``members`` plus a manifest.json: bytes as they are, else dumped as JSON (None: no manifest)."""
    path = tmp_path / "dossier.zip"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
        if manifest is not None:
            archive.writestr("manifest.json", manifest if isinstance(manifest, bytes) else json.dumps(manifest))
    return path


def entry(name: str, content: bytes) -> dict[str, Any]:
    return {"nom": name, "role": "piece", "sha256": hashlib.sha256(content).hexdigest(), "taille": len(content)}


def verify_cli(path: Path | str) -> Result:
    """Run ``webforms verify-zip`` in-process; an exception other than the exit is a failure."""
    result = CliRunner().invoke(cli.main, ["verify-zip", str(path)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    assert "Traceback" not in result.output and "Error" not in result.output
    return result


def test_a_flipped_byte_in_a_stored_piece_is_named_and_the_others_still_checked(tmp_path: Path) -> None:
    path = dossier_zip(tmp_path)
    flip_byte(path, "04-organigramme.pdf")
    assert verify_zip(path) == ["04-organigramme.pdf : contenu altéré (somme de contrôle du ZIP incorrecte)."]
    result = verify_cli(path)
    assert result.exit_code == 1
    assert result.output == "04-organigramme.pdf : contenu altéré (somme de contrôle du ZIP incorrecte).\n"


def test_a_flipped_byte_in_a_deflated_manifest_is_a_finding_and_the_pieces_still_checked(tmp_path: Path) -> None:
    path = dossier_zip(tmp_path)
    flip_byte(path, "manifest.json")
    flip_byte(path, "05-budget.pdf")
    problems = verify_zip(path)
    assert len(problems) == 2, problems
    assert problems[0].startswith("manifest.json : contenu altéré (")
    assert problems[1] == "05-budget.pdf : contenu altéré (somme de contrôle du ZIP incorrecte)."
    result = verify_cli(path)
    assert result.exit_code == 1 and "manifest.json : contenu altéré" in result.output


@pytest.mark.parametrize(
    ("manifest", "expected"),
    [
        (None, "L'archive ne contient pas de manifest.json."),
        (b"{pas du json", "manifest.json : illisible (ce n'est pas du JSON valide)."),
        (b"\xff\xfe\x00", "manifest.json : illisible (ce n'est pas du JSON valide)."),
        (b"[" * 100_000, "manifest.json : illisible (ce n'est pas du JSON valide)."),
        ([1, 2], "manifest.json : un objet JSON avec la liste « fichiers » est attendu."),
        ({"fichier": []}, "manifest.json : un objet JSON avec la liste « fichiers » est attendu."),
        ({"fichiers": "a.pdf"}, "manifest.json : un objet JSON avec la liste « fichiers » est attendu."),
        ({"fichiers": ["x"]}, "manifest.json, entrée n° 1 : un objet est attendu (nom, role, sha256, taille)."),
        ({"fichiers": [entry("a.pdf", b"A"), None]}, "manifest.json, entrée n° 2 : un objet est attendu (nom, role, sha256, taille)."),
        ({"fichiers": [{**entry("a.pdf", b"A"), "nom": ["a.pdf"]}]}, "manifest.json, entrée n° 1 : « nom » manquant ou qui n'est pas un texte."),
        ({"fichiers": [{"role": "piece"}]}, "manifest.json, entrée n° 1 : « nom » manquant ou qui n'est pas un texte."),
        ({"fichiers": [{"nom": "a.pdf"}]}, "a.pdf : « taille » manquante ou invalide dans le manifeste (un nombre entier d'octets est attendu)."),
        ({"fichiers": [{"nom": "a.pdf"}]}, "a.pdf : « sha256 » manquante ou invalide dans le manifeste (64 chiffres hexadécimaux attendus)."),
        ({"fichiers": [{"nom": "a.pdf"}]}, "a.pdf : « role » manquant ou qui n'est pas un texte dans le manifeste."),
        ({"fichiers": [{**entry("a.pdf", b"A"), "taille": "1"}]}, "a.pdf : « taille » manquante ou invalide dans le manifeste (un nombre entier d'octets est attendu)."),
        ({"fichiers": [{**entry("a.pdf", b"A"), "taille": 1.0}]}, "a.pdf : « taille » manquante ou invalide dans le manifeste (un nombre entier d'octets est attendu)."),
        ({"fichiers": [{**entry("a.pdf", b"A"), "taille": True}]}, "a.pdf : « taille » manquante ou invalide dans le manifeste (un nombre entier d'octets est attendu)."),
        ({"fichiers": [{**entry("a.pdf", b"A"), "sha256": "abc"}]}, "a.pdf : « sha256 » manquante ou invalide dans le manifeste (64 chiffres hexadécimaux attendus)."),
        ({"fichiers": [{**entry("a.pdf", b"A"), "sha256": "g" * 64}]}, "a.pdf : « sha256 » manquante ou invalide dans le manifeste (64 chiffres hexadécimaux attendus)."),
        ({"fichiers": [{**entry("a.pdf", b"A"), "sha256": hashlib.sha256(b"A").hexdigest() + "\n"}]}, "a.pdf : « sha256 » manquante ou invalide dans le manifeste (64 chiffres hexadécimaux attendus)."),
    ],
)
def test_a_malformed_manifest_is_said_in_french_never_a_traceback(tmp_path: Path, manifest: Any, expected: str) -> None:
    path = zip_of(tmp_path, {"a.pdf": b"A"}, manifest)
    assert expected in verify_zip(path)
    result = verify_cli(path)
    assert result.exit_code == 1 and expected in result.output


def test_a_manifest_entry_with_a_bad_value_still_has_its_file_checked(tmp_path: Path) -> None:
    path = zip_of(tmp_path, {"a.pdf": b"A"}, {"fichiers": [{**entry("a.pdf", b"autre"), "sha256": "0" * 63}]})
    assert verify_zip(path) == [
        "a.pdf : « sha256 » manquante ou invalide dans le manifeste (64 chiffres hexadécimaux attendus).",
        "a.pdf : taille 1 au lieu de 5.",
    ]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../x", "remontée « .. » hors du dossier"),
        ("a/../../b", "remontée « .. » hors du dossier"),
        ("/etc/abs", "chemin absolu"),
        ("\\\\serveur\\partage\\x.pdf", "chemin absolu"),
        ("pieces\\..\\x.pdf", "barre oblique inverse"),
        ("C:/Windows/x.pdf", "lettre de lecteur"),
        ("c:x.pdf", "lettre de lecteur"),
        ("a.pdf\x07.exe", "caractère invisible ou de contrôle"),
        ("facture\u202efdp.exe", "caractère invisible ou de contrôle"),
    ],
)
def test_a_dangerous_name_listed_with_its_right_digest_is_reported_and_nothing_is_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, reason: str) -> None:
    path = zip_of(tmp_path, {name: b"contenu"}, {"fichiers": [entry(name, b"contenu")]})
    with zipfile.ZipFile(path) as archive:
        assert [i.orig_filename for i in archive.infolist()] == [name, "manifest.json"]
    work = tmp_path / "travail"
    work.mkdir()
    monkeypatch.chdir(work)
    before = sorted(tmp_path.rglob("*"))
    shown = name.replace("\x07", "\\x07").replace("\u202e", "\\u202e")
    assert verify_zip(path) == [f"{shown} : nom de fichier dangereux ({reason})."]
    result = verify_cli(path)
    assert result.exit_code == 1 and f"nom de fichier dangereux ({reason})" in result.output and "intacte" not in result.output
    assert sorted(tmp_path.rglob("*")) == before


def test_a_name_cut_short_by_a_nul_byte_is_reported_whole(tmp_path: Path) -> None:
    path = zip_of(tmp_path, {"a.pdf\x01.exe": b"contenu"}, {"fichiers": [entry("a.pdf", b"contenu")]})
    path.write_bytes(path.read_bytes().replace(b"a.pdf\x01.exe", b"a.pdf\x00.exe"))
    with zipfile.ZipFile(path) as archive:
        assert archive.namelist()[0] == "a.pdf"  # zipfile, like extractors, stops at the NUL
    assert verify_zip(path) == [
        "a.pdf\\x00.exe : nom de fichier dangereux (caractère invisible ou de contrôle).",
        "a.pdf : absent de l'archive.",
        "a.pdf\\x00.exe : présent dans l'archive mais absent du manifeste.",
    ]


def test_a_dangerous_name_only_in_the_manifest_is_reported(tmp_path: Path) -> None:
    path = zip_of(tmp_path, {"a.pdf": b"A"}, {"fichiers": [entry("a.pdf", b"A"), entry("../../etc/passwd", b"x")]})
    assert verify_zip(path) == [
        "../../etc/passwd : nom de fichier dangereux (remontée « .. » hors du dossier).",
        "../../etc/passwd : absent de l'archive.",
    ]


def test_duplicate_names_in_the_zip_or_in_the_manifest_are_reported(tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="Duplicate name"):
        path = zip_of(tmp_path, {"a.pdf": b"A"}, {"fichiers": [entry("a.pdf", b"A")]})
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr("a.pdf", b"A")
    assert verify_zip(path) == ["a.pdf : présent 2 fois dans l'archive."]
    path.unlink()
    path = zip_of(tmp_path, {"a.pdf": b"A"}, {"fichiers": [entry("a.pdf", b"A"), entry("a.pdf", b"A")]})
    assert verify_zip(path) == ["a.pdf : listé 2 fois dans le manifeste."]
    assert verify_cli(path).exit_code == 1


def test_what_is_not_a_zip_is_said_in_french(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("pas une archive")
    (tmp_path / "coupee.zip").write_bytes(dossier_zip(tmp_path).read_bytes()[:-30])
    cases = {
        tmp_path / "absent.zip": f"Fichier introuvable : {tmp_path / 'absent.zip'}",
        tmp_path: f"{tmp_path} est un dossier, pas une archive ZIP.",
        tmp_path / "notes.txt": f"{tmp_path / 'notes.txt'} n'est pas une archive ZIP (ou elle est tronquée ou endommagée).",
        tmp_path / "coupee.zip": f"{tmp_path / 'coupee.zip'} n'est pas une archive ZIP (ou elle est tronquée ou endommagée).",
    }
    for path, expected in cases.items():
        assert verify_zip(path) == [expected]
        result = verify_cli(path)
        assert (result.exit_code, result.output) == (1, expected + "\n")


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
