"""The complete dossier: one PDF with cover, contents and page numbers, one verifiable ZIP (AML §6b)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
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
from tests.test_uploads import GREY, TEAL, png_chunks, raw_png
from webforms import cli, db
from webforms.candidatures.dossier import Part, complete_pdf_file, verify_zip, write_zip
from webforms.candidatures.page_numbers import write_page_numbers
from webforms.models import Document
from webforms.rendering import Renderer

MM = 72 / 25.4
SUBMITTED = dt.datetime(2019, 9, 2, 9, 0, tzinfo=dt.UTC)
Matrix = list[float]


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
    # The cover says which call, who, when (Paris time) and under which reference.
    cover = " ".join(texts[0].split())
    for expected in (
        "Calais, 2019)",  # the call's title (wrapped)
        "Porteur du projet Association Habitat Solidaire",
        "Représentant légal Jean Petit, Président",
        "Déposé le 2 septembre 2019 à 11:00",
        "Date limite de dépôt 6 septembre 2019 à 16:00",
    ):
        assert expected in cover, expected
    # Each contents line points at the first page of its piece, generated ones included.
    starts = {name: int(page) for name, page in re.findall(r"(0\d-[\w.-]+\.(?:pdf|png)) (\d+)", contents)}
    assert list(starts) == [
        "01-courrier-acte-de-candidature-signe.png", "02-deliberation-conseil-administration.pdf", "03-fiche-descriptive.pdf",
        "04-organigramme.pdf", "05-budget-previsionnel.pdf", "06-fiche-de-poste-1.pdf",
    ]
    assert starts["01-courrier-acte-de-candidature-signe.png"] == 3 and starts["02-deliberation-conseil-administration.pdf"] == 4  # the scan is one page
    assert starts["03-fiche-descriptive.pdf"] == 4 + 3
    assert "1. Porteur du projet" in texts[starts["03-fiche-descriptive.pdf"] - 1]
    assert "Organigramme du service" in texts[starts["04-organigramme.pdf"] - 1]
    assert "Budget prévisionnel de l'action" in texts[starts["05-budget-previsionnel.pdf"] - 1]
    assert starts["06-fiche-de-poste-1.pdf"] == total - 1  # the two blank pages of the job description end it
    budget = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(web.get(f"/documents/{doc_id}/telecharger/pdf?sortie=budget").data)).pages).split())
    assert "50 000,00 €" in budget and "Salaires et charges 43 000,00 €" in budget

    archive = web.get(f"/documents/{doc_id}/telecharger/zip?sortie=dossier")
    assert archive.mimetype == "application/zip"
    path = tmp_path / "dossier.zip"
    path.write_bytes(archive.data)
    assert verify_zip(path) == []
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        manifest = json.loads(z.read("manifest.json"))
        dates = {info.date_time for info in z.infolist()}
    # Each entry is dated when the dossier was deposited, in Paris time (2 September 2019, 11:00).
    assert dates == {(2019, 9, 2, 11, 0, 0)}
    assert names[:2] == ["01-courrier-acte-de-candidature-signe.png", "02-deliberation-conseil-administration.pdf"]
    assert {"03-fiche-descriptive.pdf", "03-fiche-descriptive.docx", "06-fiche-de-poste-1.pdf", "dossier-complet.pdf"} <= set(names)
    assert {f["role"] for f in manifest["fichiers"]} >= {"courrier", "deliberation", "fiche_descriptive", "budget", "fiches_poste", "dossier_complet"}


def test_verify_zip_names_each_tampering(tmp_path: Path) -> None:
    files = []
    for name, content in (("a.pdf", b"%PDF-a"), ("b.pdf", b"%PDF-b")):
        (tmp_path / name).write_bytes(content)
        files.append((name, "piece", tmp_path / name))
    good = tmp_path / "good.zip"
    write_zip(good, files, moment=SUBMITTED)
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


def test_a_stored_file_s_known_digest_goes_in_the_manifest_so_a_file_altered_since_its_deposit_is_caught(tmp_path: Path) -> None:
    """The service gives write_zip the digests its store names its files by: they are not
    computed again, and a stored file altered since is reported, not vouched for."""
    intact, altered = tmp_path / "intact.pdf", tmp_path / "altered.pdf"
    intact.write_bytes(b"%PDF-intact")
    altered.write_bytes(b"%PDF-altered")
    deposited = hashlib.sha256(b"%PDF-as-deposited").hexdigest()
    files = [("intact.pdf", "piece", intact), ("altered.pdf", "piece", altered)]
    path = tmp_path / "dossier.zip"
    manifest = write_zip(path, files, {intact: hashlib.sha256(b"%PDF-intact").hexdigest(), altered: deposited}, moment=SUBMITTED)
    assert [f["sha256"] for f in manifest["fichiers"]] == [hashlib.sha256(b"%PDF-intact").hexdigest(), deposited]
    assert verify_zip(path) == ["altered.pdf : empreinte SHA-256 différente du manifeste (fichier modifié)."]
    # Without a known digest, the file's own.
    assert write_zip(path, files, moment=SUBMITTED)["fichiers"][1]["sha256"] == hashlib.sha256(b"%PDF-altered").hexdigest()
    assert verify_zip(path) == []


# --- verify_zip on damaged, malformed or hostile archives ---------------------------------------
PIECES = {"04-organigramme.pdf": b"%PDF-1.4 organigramme " * 500, "05-budget.pdf": b"%PDF-1.4 budget " * 500}


def dossier_zip(tmp_path: Path) -> Path:
    """A ZIP as the service writes it: pieces stored as they are, manifest.json deflated."""
    files = []
    for name, content in PIECES.items():
        (tmp_path / name).write_bytes(content)
        files.append((name, "piece", tmp_path / name))
    path = tmp_path / "dossier.zip"
    write_zip(path, files, moment=SUBMITTED)
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


# --- Where the page numbers are, read back from the PDF -----------------------------------------
def _times(a: Matrix, b: Matrix) -> Matrix:
    """``a`` then ``b``: PDF matrices ``[a b c d e f]`` compose as in the PDF reference."""
    return [
        a[0] * b[0] + a[1] * b[2],
        a[0] * b[1] + a[1] * b[3],
        a[2] * b[0] + a[3] * b[2],
        a[2] * b[1] + a[3] * b[3],
        a[4] * b[0] + a[5] * b[2] + b[4],
        a[4] * b[1] + a[5] * b[3] + b[5],
    ]


def _point(m: Matrix, x: float, y: float) -> tuple[float, float]:
    return x * m[0] + y * m[2] + m[4], x * m[1] + y * m[3] + m[5]


def shown(page: Any) -> dict[str, Any]:
    """The page as a reader shows it: its size, and its texts, filled boxes and images placed on it.

    Coordinates are in points from the bottom-left corner of the visible page (the crop box),
    with the page's /Rotate (clockwise) and /UserUnit applied; form XObjects (qpdf wraps the
    page and the overlay in them) are followed with their /Matrix.
    """
    x0, y0, x1, y1 = (float(v) for v in page.cropbox)
    unit = float(page.get("/UserUnit", 1))
    rotate = int(page.get("/Rotate", 0)) % 360
    width, height = ((y1 - y0) * unit, (x1 - x0) * unit) if rotate % 180 else ((x1 - x0) * unit, (y1 - y0) * unit)
    turn = {0: [1, 0, 0, 1, -x0, -y0], 90: [0, -1, 1, 0, -y0, x1], 180: [-1, 0, 0, -1, x1, y1], 270: [0, 1, -1, 0, y1, -x0]}[rotate]
    view = _times(turn, [unit, 0, 0, unit, 0, 0])
    stack: list[tuple[Matrix, Any]] = [([1, 0, 0, 1, 0, 0], page["/Resources"])]
    pushed: list[bool] = []
    found: dict[str, list[Any]] = {"texts": [], "boxes": [], "images": []}
    rectangle: list[Any] = []

    def to_view(cm: Matrix) -> Matrix:
        return _times(_times([float(v) for v in cm], stack[-1][0]), view)

    def corners(m: Matrix, x: float, y: float, w: float, h: float) -> tuple[float, float, float, float]:
        (ax, ay), (bx, by) = _point(m, x, y), _point(m, x + w, y + h)
        return min(ax, bx), min(ay, by), max(ax, bx), max(ay, by)

    def before(op: bytes, args: list[Any], cm: Matrix, tm: Matrix) -> None:
        if op == b"Do":
            xobject = stack[-1][1]["/XObject"][args[0]].get_object()
            if xobject["/Subtype"] == "/Form":
                matrix = [float(v) for v in xobject.get("/Matrix", [1, 0, 0, 1, 0, 0])]
                stack.append((_times(_times(matrix, [float(v) for v in cm]), stack[-1][0]), xobject.get("/Resources", stack[-1][1])))
            else:
                found["images"].append((xobject, corners(to_view(cm), 0, 0, 1, 1)))
            pushed.append(xobject["/Subtype"] == "/Form")
        elif op == b"re":
            rectangle[:] = [to_view(cm), *(float(v) for v in args)]
        elif op == b"f" and rectangle:
            found["boxes"].append(corners(*rectangle))

    def after(op: bytes, args: list[Any], cm: Matrix, tm: Matrix) -> None:
        if op == b"Do" and pushed.pop():
            stack.pop()

    def text(chunk: str, cm: Matrix, tm: Matrix, font: Any, size: float) -> None:
        if chunk.strip():
            m = _times([float(v) for v in tm], to_view(cm))
            upright = m[0] > 0 and abs(m[1]) < 1e-6 and abs(m[2]) < 1e-6
            found["texts"].append({"text": chunk.strip(), "x": m[4], "y": m[5], "size": size * abs(m[0] * m[3] - m[1] * m[2]) ** 0.5, "upright": upright})

    page.extract_text(visitor_operand_before=before, visitor_operand_after=after, visitor_text=text)
    return {"width": width, "height": height, **found}


def number_of(page: Any) -> tuple[dict[str, Any], dict[str, Any], tuple[float, float, float, float]]:
    """The page as shown, its "Page N / M" text and the white box under that text."""
    view = shown(page)
    number = next(t for t in view["texts"] if t["text"].startswith("Page "))
    box = next(b for b in view["boxes"] if b[0] <= number["x"] <= b[2] and b[1] <= number["y"] <= b[3])
    return view, number, box


def dossier_context() -> dict[str, Any]:
    return {
        "document": {"reference": "CA-2019-000001", "organisme_emetteur": "Association Habitat Solidaire", "version": 1, "horodatage": "2 septembre 2019, 11:00"},
        "porteur": {"raison_sociale": "Association Habitat Solidaire", "siret": "73282932000074", "representant_nom": "Claire Martin", "representant_qualite": "Présidente"},
        "dossier": {"appel": "AML – Logement d'abord 2019", "date_limite": "6 septembre 2019, 16:00"},
    }


def piece(path: Path, mime: str = "application/pdf") -> Part:
    return Part("deliberation", "Délibération du conseil", path.name, path, mime, "0" * 64, path.stat().st_size)


A4 = (595.28, 841.89)
PAGES: list[tuple[str, dict[str, Any]]] = [
    ("A4 portrait", {"/MediaBox": [0, 0, *A4]}),
    ("A3 portrait", {"/MediaBox": [0, 0, 841.89, 1190.55]}),
    ("A0 portrait", {"/MediaBox": [0, 0, 2383.94, 3370.39]}),
    ("A4 landscape", {"/MediaBox": [0, 0, 841.89, 595.28]}),
    ("A4 turned 90°", {"/MediaBox": [0, 0, *A4], "/Rotate": 90}),
    ("A4 turned 180°", {"/MediaBox": [0, 0, *A4], "/Rotate": 180}),
    ("crop box off the origin, turned 270°", {"/MediaBox": [0, 0, 700, 1000], "/CropBox": [50, 60, 645.28, 901.89], "/Rotate": 270}),
    ("media box off the origin", {"/MediaBox": [-300, 200, 295.28, 1041.89]}),
    ("A3 in user units of 2 pt", {"/MediaBox": [0, 0, 420.94, 595.28], "/UserUnit": 2}),
    ("letter, turned -90°", {"/MediaBox": [0, 0, 612, 792], "/Rotate": -90}),
]


def odd_pages_pdf(path: Path) -> Path:
    """A PDF of pages of every size, rotation and origin, each with a line of text."""
    import pikepdf

    pdf = pikepdf.new()
    for label, boxes in PAGES:
        page = pdf.add_blank_page()
        for key, value in boxes.items():
            page.obj[key] = pikepdf.Array(value) if isinstance(value, list) else value
        x, y = (float(v) for v in page.mediabox[:2])
        font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica))
        page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        page.obj.Contents = pdf.make_stream(f"BT /F1 12 Tf {x + 100} {y + 300} Td ({label}) Tj ET".encode())
    # Pages whose box and rotation come from the page tree (inherited attributes).
    parent = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Pages, Kids=pikepdf.Array(), Count=0, Parent=pdf.Root.Pages, MediaBox=pikepdf.Array([0, 0, 841.89, 1190.55]), Rotate=90))
    for _ in range(2):
        child = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Page, Parent=parent, Resources=pikepdf.Dictionary(), Contents=pdf.make_stream(b"")))
        parent.Kids.append(child)
        parent.Count += 1
    pdf.Root.Pages.Kids.append(parent)
    pdf.Root.Pages.Count += 2
    pdf.save(path)
    return path


def test_page_numbers_keep_their_corner_and_size_on_pages_of_any_size_rotation_and_origin(tmp_path: Path) -> None:
    """The overlay page is of each page's shown size: no shrinking, no number in mid-page."""
    source = odd_pages_pdf(tmp_path / "plans.pdf")
    assert len(PdfReader(source).pages) == len(PAGES) + 2
    target = tmp_path / "dossier.pdf"
    total = complete_pdf_file(Renderer(), [piece(source)], dossier_context(), target)

    reader = PdfReader(target)
    assert len(reader.pages) == total == 2 + len(PAGES) + 2
    cover, *_ = number_of(reader.pages[0])
    assert (round(cover["width"]), round(cover["height"])) == (595, 842)
    sizes = []
    for index, page in enumerate(reader.pages, start=1):
        view, number, box = number_of(page)
        where = f"page {index} ({PAGES[index - 3][0] if 2 < index <= 2 + len(PAGES) else 'A3 inherited, turned 90°'})"
        sizes.append((round(view["width"]), round(view["height"])))
        assert number["text"] == f"Page {index} / {total}", where
        assert number["upright"] and abs(number["size"] - 8) < 0.05, (where, number)
        # The box's bottom-right corner is 12 mm from the right edge and 6 mm from the bottom.
        assert abs(view["width"] - box[2] - 12 * MM) < 0.3 and abs(box[1] - 6 * MM) < 0.3, (where, view["width"] - box[2], box[1])
        # As small as the text: one line of 8 pt, not a band over the page's content.
        assert box[3] - box[1] < 10 and box[2] - box[0] < 60, (where, box)
        reference = min((t for t in view["texts"] if t["text"] == "CA-2019-000001"), key=lambda t: t["y"])
        assert reference["upright"] and abs(reference["x"] - 12 * MM) < 3 and abs(reference["y"] - number["y"]) < 0.01, where
    assert sizes[2:] == [(595, 842), (842, 1191), (2384, 3370), (842, 595), (842, 595), (595, 842), (842, 595), (595, 842), (842, 1191), (792, 612), (1191, 842), (1191, 842)]
    # The pieces' own text is still there, under the numbers.
    assert "A0 portrait" in reader.pages[4].extract_text()


def image_file(path: Path, size: tuple[int, int], mode: str = "RGB", colour: Any = "teal", **save: Any) -> Path:
    Image.new(mode, size, colour).save(path, **save)
    return path


def test_an_image_becomes_an_a4_page_of_its_orientation_fitted_within_the_margins(tmp_path: Path) -> None:
    """docs/decisions.md: images "converties en pages A4", landscape ones on a landscape A4."""
    images = [
        (image_file(tmp_path / "paysage.jpg", (1600, 1000)), "image/jpeg", (842, 595)),
        (image_file(tmp_path / "portrait.png", (1000, 1600)), "image/png", (595, 842)),
        (image_file(tmp_path / "carre.png", (800, 800), mode="L", colour=90), "image/png", (595, 842)),
        (image_file(tmp_path / "bandeau.png", (3000, 400), mode="P", colour=3), "image/png", (842, 595)),
        # An RGBA PNG stored before uploads were flattened: decoded, then laid out the same way.
        (image_file(tmp_path / "plan.png", (1200, 900), mode="RGBA", colour=(0, 128, 128, 255)), "image/png", (842, 595)),
    ]
    target = tmp_path / "dossier.pdf"
    complete_pdf_file(Renderer(), [piece(path, mime) for path, mime, _ in images], dossier_context(), target)

    pages = PdfReader(target).pages[2:]
    assert len(pages) == len(images)
    for page, (path, _, size) in zip(pages, images, strict=True):
        view = shown(page)
        assert (round(view["width"]), round(view["height"])) == size, path.name
        [(xobject, (left, bottom, right, top))] = view["images"]
        with Image.open(path) as original:
            assert (xobject["/Width"], xobject["/Height"]) == original.size
            ratio = original.width / original.height
        gaps = (left, bottom, view["width"] - right, view["height"] - top)
        assert min(gaps) > 12 * MM - 0.01, (path.name, gaps)  # within the margins
        assert abs(gaps[0] - gaps[2]) < 0.01 and abs(gaps[1] - gaps[3]) < 0.01, (path.name, gaps)  # centred
        assert min(gaps[0], gaps[1]) < 12 * MM + 0.01, (path.name, gaps)  # as large as the margins allow
        assert abs((right - left) / (top - bottom) - ratio) < 0.001, path.name
        _, _, box = number_of(page)
        assert box[3] < bottom, path.name  # the page number's box does not cover the image


def page_images(path: Path) -> list[dict[str, Any]]:
    """The image of each page, found through qpdf's form XObjects: its entries, raw stream, pixels."""
    import pikepdf

    found = []
    with pikepdf.open(path) as pdf:
        for number, page in enumerate(pdf.pages):
            resources, images = [page.obj.Resources], []
            while resources:
                for xobject in resources.pop().get("/XObject", {}).values():
                    if xobject.Subtype == "/Form":
                        resources.append(xobject.get("/Resources", pikepdf.Dictionary()))
                    else:
                        images.append(xobject)
            for image in images:
                pixels = pikepdf.PdfImage(image).as_pil_image()
                if pixels.mode.startswith("I"):  # 16-bit grey: Pillow's conversions would clip it
                    pixels = pixels.convert("I").point(lambda v: v * (1 / 257)).convert("L")
                entries = {str(k): v for k, v in image.items()}
                found.append({"page": number, "entries": entries, "raw": image.read_raw_bytes(), "pixels": pixels.convert("RGB")})
    return found


def idat(path: Path) -> bytes:
    """A PNG's compressed rows: what the PDF holds when the PNG was not decoded."""
    _, chunks = png_chunks(path)
    data, at, rows = path.read_bytes(), 8, b""
    for name in chunks:
        size = int.from_bytes(data[at : at + 4], "big")
        rows += data[at + 8 : at + 8 + size] if name == b"IDAT" else b""
        at += 12 + size
    return rows


def test_a_transparent_png_upload_is_shown_on_white_from_its_rows_as_stored(app: Flask, login_as: Any, clock: Clock, tmp_path: Path) -> None:
    """The upload check flattens the PNG on white: the dossier copies its rows without decoding
    them (a decoded 6000 × 8000 RGBA PNG took 252 MB in the web process)."""
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    fill_steps(web, doc_id, example())
    plan = Image.new("RGBA", (1600, 1000), (0, 0, 0, 0))  # transparent black, as drawing tools save it
    plan.paste((0, 128, 128, 255), (0, 0, 800, 1000))
    out = io.BytesIO()
    plan.save(out, "PNG")
    upload(web, doc_id, "courrier", pdf_bytes(1), "courrier.pdf")
    assert upload(web, doc_id, "deliberation", out.getvalue(), "plan.png").status_code == 302
    upload(web, doc_id, "fiches_poste", pdf_bytes(1), "fiche.pdf")
    with app.app_context():
        piece = next(p for p in db.session().get(Document, doc_id).pieces if p.code == "deliberation")
        stored = app.extensions["webforms.services"].store.path(piece.sha256)
    header, chunks = png_chunks(stored)
    assert (header["colour"], header["interlace"], b"tRNS" in chunks) == (2, 0, False)  # RGB, no alpha
    assert web.post(f"/documents/{doc_id}/soumettre").status_code == 302

    target = tmp_path / "dossier.pdf"
    target.write_bytes(web.get(f"/documents/{doc_id}/telecharger/pdf?sortie=dossier").data)
    [image] = [i for i in page_images(target) if i["entries"]["/Width"] == 1600]
    assert image["entries"]["/Height"] == 1000
    assert image["raw"] == idat(stored)  # the stored rows, copied as they are
    assert image["pixels"].getpixel((400, 500)) == (0, 128, 128)
    assert image["pixels"].getpixel((1200, 500)) == (255, 255, 255)  # transparent: white, not black
    page = PdfReader(target).pages[image["page"]]
    assert (round(shown(page)["width"]), round(shown(page)["height"])) == (842, 595)


def test_pngs_stored_before_flattening_still_show_on_white(tmp_path: Path) -> None:
    """Pieces stored as they were uploaded before: palette and colour-key transparency stay on
    the streaming path; an alpha channel or interlaced rows are decoded (Pillow), on white."""
    samples = {
        "palette-trns": (raw_png((40, 20), 3, 8, lambda x, y: bytes([1 if x < 20 else 0]), plte=bytes([0, 0, 0, *TEAL]), trns=b"\0"), True),
        "grey-trns": (raw_png((40, 20), 0, 8, lambda x, y: bytes([100 if x < 20 else 0]), trns=b"\0\0"), True),
        "grey-16-bit": (raw_png((40, 20), 0, 16, lambda x, y: struct.pack(">H", 100 * 257 if x < 20 else 65535)), True),
        "rgba": (raw_png((40, 20), 6, 8, lambda x, y: bytes([*TEAL, 255] if x < 20 else [0, 0, 0, 0])), False),
        "interlaced-rgb": (raw_png((40, 20), 2, 8, lambda x, y: bytes(TEAL if x < 20 else (255, 255, 255)), interlace=True), False),
    }
    parts = []
    for name, (data, _) in samples.items():
        (tmp_path / f"{name}.png").write_bytes(data)
        parts.append(piece(tmp_path / f"{name}.png", "image/png"))
    target = tmp_path / "dossier.pdf"
    complete_pdf_file(Renderer(), parts, dossier_context(), target)

    images = page_images(target)
    assert len(images) == len(samples)
    for image, (name, (_, streamed)) in zip(images, samples.items(), strict=True):
        assert (image["raw"] == idat(tmp_path / f"{name}.png")) is streamed, name
        opaque = GREY if name.startswith("grey") else TEAL
        assert image["pixels"].getpixel((5, 5)) == opaque, name
        if name == "grey-trns":  # a colour-key mask: the reader leaves those pixels unpainted
            assert list(image["entries"]["/Mask"]) == [0, 0]
        else:
            assert image["pixels"].getpixel((35, 5)) == (255, 255, 255), name


def labelled_pdf(path: Path, label: str, pages: int) -> Path:
    """A PDF of ``pages`` A4 pages, each saying ``label`` and its page in the piece."""
    import pikepdf

    pdf = pikepdf.new()
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica))
    for number in range(1, pages + 1):
        page = pdf.add_blank_page(page_size=A4)
        page.obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        page.obj.Contents = pdf.make_stream(f"BT /F1 12 Tf 100 700 Td ({label} p{number}) Tj ET".encode())
    pdf.save(path)
    return path


class CountingRenderer(Renderer):
    """A renderer that counts its renders."""

    renders = 0

    def render(self, output: Any, context: dict[str, Any]) -> bytes:
        self.renders += 1
        return super().render(output, context)


@pytest.mark.parametrize(("count", "renders"), [(4, 1), (60, 2)])
def test_the_contents_point_at_each_piece_whether_they_fill_one_page_or_more(tmp_path: Path, count: int, renders: int) -> None:
    """The cover and contents are laid out once when they take two pages, as a dossier of a few
    tens of pieces does; a longer contents is laid out again, its own pages counted."""
    parts = [
        Part("fiches_poste", f"Fiche de poste n° {i}", f"piece-{i:03d}.pdf", labelled_pdf(tmp_path / f"{i}.pdf", f"Piece-{i:03d}", 1 + i % 2), "application/pdf", "0" * 64, 1)
        for i in range(count)
    ]
    renderer = CountingRenderer()
    target = tmp_path / "dossier.pdf"
    total = complete_pdf_file(renderer, parts, dossier_context(), target)

    assert renderer.renders == renders
    texts = [page.extract_text() for page in PdfReader(target).pages]
    assert len(texts) == total
    front = sum(1 for text in texts if "Piece-" not in text)
    assert (front > 2) is (renders > 1)
    starts = dict(re.findall(r"(piece-\d{3}\.pdf) (\d+)", "\n".join(texts[:front])))
    assert list(starts) == [part.filename for part in parts]
    for i, (name, start) in enumerate(starts.items()):
        assert f"Piece-{i:03d} p1" in texts[int(start) - 1], name
    assert all(f"Page {i} / {total}" in text for i, text in enumerate(texts, start=1))


def test_the_numbers_overlay_shows_the_reference_as_given_and_none_when_there_is_none(tmp_path: Path) -> None:
    """PDF string delimiters in a reference are escaped; no reference, no empty white box."""
    target = tmp_path / "numeros.pdf"
    write_page_numbers(target, [A4, (841.89, 595.28)], "CA-(2019)\\1 é")
    reader = PdfReader(target)
    assert [page.extract_text() for page in reader.pages] == ["CA-(2019)\\1 é Page 1 / 2", "CA-(2019)\\1 é Page 2 / 2"]
    assert [(round(float(p.mediabox.width), 2), round(float(p.mediabox.height), 2)) for p in reader.pages] == [A4, (841.89, 595.28)]
    write_page_numbers(target, [A4], "")
    view = shown(PdfReader(target).pages[0])
    assert [t["text"] for t in view["texts"]] == ["Page 1 / 1"] and len(view["boxes"]) == 1
