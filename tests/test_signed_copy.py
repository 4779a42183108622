"""The right signed copy (issue 15): every page of a frozen version carries its mark, read back at deposit.

A fiche saisine FS-… was archived as the signed copy of a fiche d'incident FI-… without a word.
Each page of a generated PDF now names its document, version and a short digest of its data, as
text (kept by an electronically signed PDF) and as a QR code (kept by a scan). The copies here
are real: the generated PDF signed with pyHanko, or printed to pixels by poppler and saved as a
scanner does (a PDF of page images, or a JPEG).
"""

from __future__ import annotations

import io
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import select

from schemas import get_kind
from tests.conftest import pdf_titled
from tests.signing import PAGE_TEXT, change_page_after_signing, make_pdf, make_pki, sign_pdf, write_trust_root
from tests.test_archive import World, archive_state
from tests.test_web import submitted
from webforms import db
from webforms.archive.marks import Expected, check_copy, read_marks
from webforms.archive.search import awaiting_signed_copy
from webforms.archive.services import ArchiveError
from webforms.documents.services import rendition
from webforms.models import ArchiveLog, Document
from webforms.rendering.context import DocumentMeta, build_context
from webforms.rendering.marque import Mark, data_digest, marks_in_text, parse_payload


def generated_pdf(app: Flask, doc_id: int) -> bytes:
    with app.app_context():
        source = rendition(db.session(), db.session().get(Document, doc_id), "pdf")
        return app.extensions["webforms.archive"].files.read(source.sha256)


def scanned(pdf: bytes, tmp_path: Path, *, dpi: int = 200, fmt: str = "pdf") -> bytes:
    """Print and scan ``pdf``: each page rasterised in grey at ``dpi`` (poppler), saved as a PDF of images or a JPEG of page 1."""
    work = tmp_path / f"scan-{dpi}-{fmt}"
    work.mkdir()
    (work / "in.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(dpi), "-gray", "-png", str(work / "in.pdf"), str(work / "page")], check=True, timeout=120)
    pages = [Image.open(p).convert("L") for p in sorted(work.glob("page*.png"))]
    out = io.BytesIO()
    if fmt == "pdf":
        pages[0].save(out, "PDF", resolution=dpi, save_all=True, append_images=pages[1:])
    else:
        pages[0].save(out, "JPEG", quality=85)
    return out.getvalue()


def marks_of(data: bytes, tmp_path: Path, kind: str = "pdf") -> tuple[Mark, ...]:
    path = tmp_path / f"copie.{kind}"
    path.write_bytes(data)
    return read_marks(path, kind)


def deposit_log(app: Flask) -> list[dict[str, Any]]:
    with app.app_context():
        return [row.detail for row in db.session().scalars(select(ArchiveLog).where(ArchiveLog.action == "deposit").order_by(ArchiveLog.id))]


@pytest.fixture
def world(app: Flask, login_as: Any) -> World:
    return World(app, login_as)


@pytest.fixture
def pki_roots(app: Flask) -> Any:
    pki = make_pki()
    write_trust_root(Path(app.config["ARCHIVE_TRUST_DIR"]), pki.ca_cert)
    return pki


# --- The mark printed ----------------------------------------------------------------------------
def test_every_page_of_a_submitted_pdf_names_its_reference_version_and_digest(app: Flask, world: World) -> None:
    pdf = generated_pdf(app, world.doc_id)
    with app.app_context():
        doc = world.doc()
        expected = Mark(doc.reference, 1, data_digest(doc.submitted_data, doc.review))
    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) > 1
    assert all(marks_in_text(page.extract_text()) == [expected] for page in pages)


@pytest.mark.parametrize(
    ("meta", "marked"),
    [
        (DocumentMeta(reference="FS-2026-000031", draft=False, version=2, digest="1a2b3c4d5e6f"), True),
        (DocumentMeta(reference="FS-2026-000031", draft=True, version=2, digest="1a2b3c4d5e6f"), False),  # a draft
        (DocumentMeta(reference=None, draft=False, version=2, digest="1a2b3c4d5e6f"), False),  # no reference yet
        (DocumentMeta(reference="FS-2026-000031", draft=False, version=None, digest="1a2b3c4d5e6f"), False),
    ],
)
def test_only_a_frozen_version_carries_a_mark(meta: DocumentMeta, marked: bool) -> None:
    kind = get_kind("fiche_saisine")
    document = build_context(kind, kind.load(kind.example), meta)["document"]
    assert (document["marque"] == "Réf. FS-2026-000031 · v2 · 1a2b3c4d5e6f") is marked
    assert (str(document["qr_marque"]).startswith("<svg")) is marked


# --- Reading it back -----------------------------------------------------------------------------
def test_the_mark_is_read_from_the_text_of_a_pdf_and_from_the_qr_codes_of_its_scan(app: Flask, world: World, tmp_path: Path) -> None:
    pdf = generated_pdf(app, world.doc_id)
    text_marks = marks_of(pdf, tmp_path)
    assert len(text_marks) == 1
    assert marks_of(scanned(pdf, tmp_path), tmp_path) == text_marks
    assert marks_of(scanned(pdf, tmp_path, fmt="jpeg"), tmp_path, "jpeg") == text_marks


@pytest.mark.parametrize(
    ("payload", "mark"),
    [
        ("WF:FS-2026-000031:2:1A2B3C4D5E6F", Mark("FS-2026-000031", 2, "1a2b3c4d5e6f")),
        ("WF:FS-2026-000031:2:1A2B3C4D5E6", None),  # digest one digit short
        ("XX:FS-2026-000031:2:1A2B3C4D5E6F", None),  # not our prefix
        ("WF:FS-2026-000031:٢:1A2B3C4D5E6F", None),  # an Arabic-Indic digit is no version number
        ("WF::2:1A2B3C4D5E6F", None),  # no reference
        ("https://example.org/", None),
    ],
)
def test_only_our_qr_payloads_are_marks(payload: str, mark: Mark | None) -> None:
    assert parse_payload(payload) == mark


def test_an_unreadable_or_hostile_file_has_no_mark_and_raises_nothing(tmp_path: Path) -> None:
    assert marks_of(b"%PDF-1.7\n garbage", tmp_path) == ()
    assert marks_of(b"\xff\xd8\xff garbage", tmp_path, "jpeg") == ()


# --- Checking it ---------------------------------------------------------------------------------
EXPECTED = Expected("FI-2026-000007", 2, "aaaaaaaaaaaa", pages=2)


@pytest.mark.parametrize(
    ("found", "named"),
    [
        ((Mark("FS-2026-000031", 1, "bbbbbbbbbbbb"),), "le document FS-2026-000031 (version 1)"),
        ((Mark("FI-2026-000007", 1, "aaaaaaaaaaaa"),), "la version 1 de ce document"),
        ((Mark("FI-2026-000007", 2, "cccccccccccc"),), "au contenu différent"),
        # The right mark on page 1 does not excuse another document's page in the same file.
        ((Mark("FI-2026-000007", 2, "aaaaaaaaaaaa"), Mark("FS-2026-000031", 1, "bbbbbbbbbbbb")), "FS-2026-000031"),
    ],
)
def test_a_copy_naming_another_document_or_version_is_refused_naming_it(found: tuple[Mark, ...], named: str) -> None:
    with pytest.raises(ArchiveError) as refused:
        check_copy(EXPECTED, found, pages=2)
    assert named in str(refused.value) and "FI-2026-000007, version 2" in str(refused.value)


def test_the_right_mark_passes_and_a_missing_page_is_only_warned() -> None:
    right = (Mark("FI-2026-000007", 2, "aaaaaaaaaaaa"),)
    assert check_copy(EXPECTED, right, pages=2) is None
    warning = check_copy(EXPECTED, right, pages=1)
    assert warning is not None and "1 page" in warning and "2 pages" in warning
    # A PDF generated before marks existed gives no digest to compare: reference and version still are.
    assert check_copy(Expected("FI-2026-000007", 2, None, pages=None), (Mark("FI-2026-000007", 2, "dddddddddddd"),), pages=3) is None


def test_no_mark_found_is_a_warning_naming_what_was_counted() -> None:
    warning = check_copy(EXPECTED, (), pages=3)
    assert warning is not None and "n'ont pas pu être lues" in warning and "3 pages" in warning and "en a 2" in warning


# --- At deposit ----------------------------------------------------------------------------------
def test_the_scan_of_this_document_is_archived_without_a_warning(app: Flask, world: World, tmp_path: Path) -> None:
    scan = scanned(generated_pdf(app, world.doc_id), tmp_path)
    notes: list[str] = []
    with app.app_context():
        world.deposit(scan, "scan.pdf", tmp=tmp_path, notes=notes)
    assert notes == []
    assert deposit_log(app)[-1]["marque"] == "lue"


def test_the_scan_of_another_document_is_refused_and_nothing_is_stored(app: Flask, world: World, tmp_path: Path) -> None:
    other_id = submitted(world.writer_web, "fiche_incident")
    scan = scanned(generated_pdf(app, other_id), tmp_path)
    before = archive_state(app)
    with app.app_context(), pytest.raises(ArchiveError) as refused:
        world.deposit(scan, "scan.pdf", tmp=tmp_path)
    with app.app_context():
        other = db.session().get(Document, other_id).reference
    assert f"le document {other} (version 1)" in str(refused.value)
    assert archive_state(app) == before


def test_the_signed_pdf_of_another_document_is_refused_on_the_web_page(app: Flask, world: World, tmp_path: Path, pki_roots: Any) -> None:
    other_id = submitted(world.writer_web, "fiche_incident")
    signed = sign_pdf(generated_pdf(app, other_id), pki_roots.signer_key, pki_roots.signer_cert, pki_roots.ca_cert)
    before = archive_state(app)
    form = {"fichier": (io.BytesIO(signed), "signe.pdf"), "signature": "electronique"}
    page = world.archivist_web.post(f"/documents/{world.doc_id}/archiver", form, content_type="multipart/form-data")
    assert page.status_code == 422
    assert "Copie signée refusée : Cette copie porte la marque de le document FI-" in page.get_data(as_text=True)
    assert archive_state(app) == before
    # The signed PDF of this document passes.
    mine = sign_pdf(generated_pdf(app, world.doc_id), pki_roots.signer_key, pki_roots.signer_cert, pki_roots.ca_cert)
    form = {"fichier": (io.BytesIO(mine), "signe.pdf"), "signature": "electronique"}
    assert world.archivist_web.post(f"/documents/{world.doc_id}/archiver", form, content_type="multipart/form-data").status_code == 302
    assert deposit_log(app)[-1]["marque"] == "lue"


def test_a_copy_without_a_readable_mark_is_archived_with_a_warning(app: Flask, world: World, tmp_path: Path) -> None:
    form = {"fichier": (io.BytesIO(pdf_titled("Scan illisible", pages=3)), "scan.pdf"), "signature": "scan"}
    response = world.archivist_web.post(f"/documents/{world.doc_id}/archiver", form, content_type="multipart/form-data")
    assert response.status_code == 302
    page = world.archivist_web.get(response.headers["Location"]).get_data(as_text=True)
    assert "n&#39;ont pas pu être lues sur la copie (elle a 3 pages ; le document généré en a" in page
    assert deposit_log(app)[-1]["marque"] == "illisible"


# --- A broken signature ---------------------------------------------------------------------------
def _awaiting(app: Flask, world: World) -> list[int]:
    with app.app_context():
        return [d.id for d in awaiting_signed_copy(db.session(), world.user(world.archivist))[0]]


def _refused_deposit(app: Flask, world: World, data: bytes, tmp_path: Path) -> str:
    before = archive_state(app)
    with app.app_context(), pytest.raises(ArchiveError) as refused:
        world.deposit(data, "signe.pdf", signature="electronique", tmp=tmp_path)
    assert archive_state(app) == before
    assert world.doc_id in _awaiting(app, world)  # still waiting for its signed copy
    return str(refused.value)


def test_a_signed_pdf_altered_after_signing_is_refused_and_the_document_still_waits(app: Flask, world: World, tmp_path: Path, pki_roots: Any) -> None:
    signed = sign_pdf(make_pdf(), pki_roots.signer_key, pki_roots.signer_cert, pki_roots.ca_cert)
    altered = signed.replace(PAGE_TEXT, PAGE_TEXT.replace(b"depot", b"retr."))
    assert len(altered) == len(signed) and altered != signed
    message = _refused_deposit(app, world, altered, tmp_path)
    assert "le contenu signé a été altéré" in message and "Rien n'a été archivé" in message


def test_a_signed_pdf_whose_page_was_changed_in_a_later_update_is_refused(app: Flask, world: World, tmp_path: Path, pki_roots: Any) -> None:
    modified = change_page_after_signing(sign_pdf(make_pdf(), pki_roots.signer_key, pki_roots.signer_cert, pki_roots.ca_cert))
    message = _refused_deposit(app, world, modified, tmp_path)
    assert "le document a été modifié après la signature" in message


def test_an_intact_signature_and_an_allowed_second_signature_are_archived(app: Flask, world: World, tmp_path: Path, pki_roots: Any) -> None:
    other = make_pki("Autre autorité", "Paul Durand", seed=2)
    signed = sign_pdf(make_pdf(), pki_roots.signer_key, pki_roots.signer_cert, pki_roots.ca_cert)
    twice = sign_pdf(signed, other.signer_key, other.signer_cert, other.ca_cert, field_name="Signature2")
    with app.app_context():
        record = world.deposit(twice, "signe.pdf", signature="electronique", tmp=tmp_path)
        # Archived even though the second authority is not configured: that is said, not refused.
        assert record.signature_check["intact"] and record.signature_check["covers_whole_file"] and not record.signature_check["trusted"]
    assert world.doc_id not in _awaiting(app, world)
