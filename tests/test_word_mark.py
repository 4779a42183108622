"""The Word print carries the mark too (issue 15): a signed copy made from it is recognised, a signed Word file is refused.

Every frozen version's DOCX gets, in each footer, its QR code and the text
"Réf. … · v… · … · Word", added after the template is filled (an uploaded template cannot leave
it out). A copy printed from Word and scanned, or saved as PDF and signed, is read back like the
PDF's: the mark names the document and version; only the page count, Word's own, is not compared.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

import docx
import pytest
import zxingcpp
from flask import Flask
from PIL import Image

from schemas import get_kind
from tests.conftest import pdf_titled
from tests.test_archive import World, archive_state
from tests.test_signed_copy import deposit_log, marks_of, scanned
from tests.test_web import doc_id_from, example_form, submitted
from webforms import db
from webforms.archive.marks import Expected, check_copy
from webforms.archive.services import ArchiveError
from webforms.documents.services import context_for, rendition
from webforms.models import Document
from webforms.rendering.marque import Mark, data_digest, marks_in_text, parse_payload, stamp_docx
from webforms.rendering.office import docx_to_pdf


@pytest.fixture
def world(app: Flask, login_as: Any) -> World:
    return World(app, login_as)


def word_print(app: Flask, doc_id: int) -> bytes:
    with app.app_context():
        source = rendition(db.session(), db.session().get(Document, doc_id), "docx")
        return app.extensions["webforms.services"].store.read(source.sha256)


def expected_mark(app: Flask, doc_id: int) -> Mark:
    with app.app_context():
        doc = db.session().get(Document, doc_id)
        return Mark(doc.reference, 1, data_digest(doc.submitted_data, doc.review), word=True)


def footer_texts(data: bytes) -> list[str]:
    return [p.text for s in docx.Document(io.BytesIO(data)).sections for p in s.footer.paragraphs]


def qr_texts(data: bytes) -> list[str]:
    """The QR codes of the images of a DOCX's footers."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        images = [archive.read(n) for n in archive.namelist() if n.startswith("word/media/")]
    return [r.text for image in images for r in zxingcpp.read_barcodes(Image.open(io.BytesIO(image)).convert("L"))]


def printed_from_word(app: Flask, doc_id: int, tmp_path: Path) -> bytes:
    """The Word print saved as PDF (LibreOffice here, Word at the association's)."""
    work = tmp_path / f"word-{doc_id}"
    work.mkdir()
    (work / "version.docx").write_bytes(word_print(app, doc_id))
    return docx_to_pdf(work / "version.docx", work).read_bytes()


def test_a_frozen_word_print_names_its_version_in_text_and_qr_code(app: Flask, world: World) -> None:
    data = word_print(app, world.doc_id)
    mark = expected_mark(app, world.doc_id)
    assert f"Réf. {mark.reference} · v1 · {mark.digest} · Word" in " ".join(footer_texts(data))
    assert qr_texts(data) == [mark.payload] and mark.payload.endswith(":W")
    # The same version printed twice is the same file (the QR code's image included).
    with app.app_context():
        doc = db.session().get(Document, world.doc_id)
        output = next(o for o in get_kind(doc.kind).outputs() if o.fmt == "docx")
        renderer = app.extensions["webforms.services"].renderer
        assert renderer.render(output, context_for(doc)) == renderer.render(output, context_for(doc))


def test_a_draft_word_print_carries_no_mark(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    response = web.post("/documents/nouveau/fiche_saisine", example_form("fiche_saisine"))
    doc_id = doc_id_from(response)
    download = web.preview(f"/documents/{doc_id}/telecharger/docx")
    assert download.status_code == 200
    assert not any(marks_in_text(t) for t in footer_texts(download.data)) and qr_texts(download.data) == []


def test_a_template_without_a_footer_gets_one_with_the_mark() -> None:
    document = docx.Document()
    stamp_docx(document, Mark("FI-2026-000007", 2, "aaaaaaaaaaaa"))
    out = io.BytesIO()
    document.save(out)
    assert footer_texts(out.getvalue())[-1].strip() == "Réf. FI-2026-000007 · v2 · aaaaaaaaaaaa · Word"
    assert qr_texts(out.getvalue()) == ["WF:FI-2026-000007:2:AAAAAAAAAAAA:W"]


@pytest.mark.parametrize(
    ("payload", "mark"),
    [
        ("WF:FS-2026-000031:2:1A2B3C4D5E6F:W", Mark("FS-2026-000031", 2, "1a2b3c4d5e6f", word=True)),
        ("WF:FS-2026-000031:2:1A2B3C4D5E6F", Mark("FS-2026-000031", 2, "1a2b3c4d5e6f", word=False)),
        ("WF:FS-2026-000031:2:1A2B3C4D5E6F:X", None),  # no other suffix
        ("WF:FS-2026-000031:2:W", None),
    ],
)
def test_the_word_mark_is_told_from_the_pdf_s(payload: str, mark: Mark | None) -> None:
    assert parse_payload(payload) == mark
    if mark is not None:
        assert marks_in_text(mark.text) == [mark]


EXPECTED = Expected("FI-2026-000007", 2, "aaaaaaaaaaaa", pages=2)


def test_the_page_count_of_a_word_print_is_not_compared_with_the_pdf_s() -> None:
    assert check_copy(EXPECTED, (Mark("FI-2026-000007", 2, "aaaaaaaaaaaa", word=True),), pages=3) is None
    assert check_copy(EXPECTED, (Mark("FI-2026-000007", 2, "aaaaaaaaaaaa"),), pages=3) is not None  # the PDF's own: warned
    with pytest.raises(ArchiveError, match="le document FS-2026-000031"):
        check_copy(EXPECTED, (Mark("FS-2026-000031", 2, "aaaaaaaaaaaa", word=True),), pages=2)


def test_the_word_print_saved_as_pdf_or_scanned_is_read_back(app: Flask, world: World, tmp_path: Path) -> None:
    pdf = printed_from_word(app, world.doc_id, tmp_path)
    mark = expected_mark(app, world.doc_id)
    assert marks_of(pdf, tmp_path) == (mark,)  # from the text
    assert marks_of(scanned(pdf, tmp_path), tmp_path) == (mark,)  # from the QR codes of its page images


def test_the_signed_scan_of_the_word_print_is_archived_without_a_warning(app: Flask, world: World, tmp_path: Path) -> None:
    scan = scanned(printed_from_word(app, world.doc_id, tmp_path), tmp_path)
    notes: list[str] = []
    with app.app_context():
        world.deposit(scan, "scan.pdf", tmp=tmp_path, notes=notes)
    assert notes == []
    assert deposit_log(app)[-1]["marque"] == "lue"


def test_the_word_print_of_another_document_is_refused_naming_it(app: Flask, world: World, tmp_path: Path) -> None:
    other_id = submitted(world.writer_web, "fiche_incident")
    scan = scanned(printed_from_word(app, other_id, tmp_path), tmp_path)
    before = archive_state(app)
    with app.app_context(), pytest.raises(ArchiveError) as refused:
        world.deposit(scan, "scan.pdf", tmp=tmp_path)
    assert f"le document {expected_mark(app, other_id).reference} (version 1)" in str(refused.value)
    assert archive_state(app) == before


@pytest.mark.parametrize("name", ["signe.docx", "SIGNE.DOCX", "signe.odt"])
def test_a_signed_word_file_is_refused_saying_what_to_deposit(app: Flask, world: World, name: str) -> None:
    data = word_print(app, world.doc_id)
    before = archive_state(app)
    form = {"fichier": (io.BytesIO(data), name), "signature": "electronique"}
    page = world.archivist_web.post(f"/documents/{world.doc_id}/archiver", form, content_type="multipart/form-data")
    assert page.status_code == 422
    assert "Un document Word signé ne s&#39;archive pas tel quel" in page.get_data(as_text=True)
    assert archive_state(app) == before
    # The same deposit as a PDF goes through the usual checks (here: no readable mark, a warning).
    form = {"fichier": (io.BytesIO(pdf_titled("copie")), "signe.pdf"), "signature": "scan"}
    assert world.archivist_web.post(f"/documents/{world.doc_id}/archiver", form, content_type="multipart/form-data").status_code == 302
