"""Read back the mark of a deposited signed copy and check it is the copy of the document and version archived (issue 15).

Every page of a frozen version carries its mark (``webforms.rendering.marque``): as text, which
an electronically signed PDF keeps, and as a QR code, which survives printing and scanning. At
deposit, the text of a PDF is read first (exact and cheap), then the QR codes of its page images
(a scanned PDF), or of the image itself (a JPEG or PNG scan).

The upload has passed ``check_upload`` (a sandboxed full parse, decompression bombs refused); it
is still hostile input, so any failure to read it is "no mark found", never an exception.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Final

import zxingcpp
from PIL import Image
from pypdf import PdfReader

from webforms.archive.services import CopyRefused
from webforms.rendering.marque import Mark, marks_in_text, parse_payload

log = logging.getLogger(__name__)

MAX_PAGES_READ: Final = 60  # a signed copy is a few pages; a longer file is read that far
MAX_IMAGE_PIXELS: Final = 50_000_000  # an A4 page scanned at 600 dpi is 35 Mpx


@dataclass(frozen=True)
class Expected:
    """What the copy must name: the archived version's reference and number, and its digest when its PDF carries one."""

    reference: str
    version: int
    digest: str | None
    pages: int | None

    def describe(self) -> str:
        return f"{self.reference}, version {self.version}"


def expected_of(pdf: bytes, *, reference: str, version: int) -> Expected:
    """Read the mark and page count of the generated PDF (ours, trusted); a PDF made before marks existed has none."""
    # Every page carries the same mark: the first says it (a long document is not read whole).
    found, pages = _pdf_text_marks(io.BytesIO(pdf), read=1)
    own = [m for m in found if m.reference == reference and m.version == version]
    return Expected(reference, version, own[0].digest if own else None, pages)


def read_marks(path: Path, kind: str) -> tuple[Mark, ...]:
    """Return the distinct marks found on the copy at ``path`` (``kind`` as ``check_upload`` detected it), in page order."""
    try:
        if kind == "pdf":
            found, _ = _pdf_text_marks(path)
            return _distinct(found or _pdf_image_marks(path))
        with Image.open(path) as image:
            return _distinct(_qr_marks(image))
    except Exception:  # a hostile or damaged file: nothing read, the deposit warns
        log.warning("Marks of %s could not be read", path, exc_info=True)
        return ()


def check_copy(expected: Expected, found: tuple[Mark, ...], *, pages: int | None) -> str | None:
    """Refuse a copy naming another document or version (``CopyRefused``); return a French warning when nothing could be read."""
    foreign = [m for m in found if not _matches(expected, m)]
    if foreign:
        other = foreign[0]
        if other.reference == expected.reference and other.version != expected.version:
            what = f"la version {other.version} de ce document"
        elif other.reference == expected.reference:
            what = f"une version {other.version} au contenu différent (empreinte {other.digest})"
        else:
            what = f"le document {other.reference} (version {other.version})"
        raise CopyRefused(f"Cette copie porte la marque de {what}, pas de {expected.describe()} : déposez la copie signée de ce document. Rien n'a été archivé.")
    if found:
        # A copy printed from the Word version is paginated by Word: its page count says nothing
        # about the PDF's (its mark says " · Word", webforms.rendering.marque).
        from_word = all(m.word for m in found)
        if expected.pages is not None and pages is not None and pages != expected.pages and not from_word:
            return f"La copie porte bien la marque de {expected.describe()}, mais elle a {_pages(pages)} et le document généré {_pages(expected.pages)} : vérifiez qu'il n'en manque pas."
        return None
    counted = f"elle a {_pages(pages)}" if pages is not None else "c'est une image d'une page"
    generated = f" ; le document généré en a {expected.pages}" if expected.pages is not None else ""
    return (
        f"La référence et la version n'ont pas pu être lues sur la copie ({counted}{generated}) : "
        f"vérifiez que c'est bien la copie signée de {expected.describe()}."
    )


def _matches(expected: Expected, mark: Mark) -> bool:
    if (mark.reference, mark.version) != (expected.reference, expected.version):
        return False
    return expected.digest is None or mark.digest == expected.digest


def _pages(count: int) -> str:
    return f"{count} page{'s' if count > 1 else ''}"


def _distinct(marks: list[Mark]) -> tuple[Mark, ...]:
    return tuple(dict.fromkeys(marks))


def _pdf_text_marks(path: Path | BinaryIO, read: int = MAX_PAGES_READ) -> tuple[list[Mark], int]:
    """The marks in the text of the PDF's first ``read`` pages, and its page count."""
    reader = PdfReader(path)
    found: list[Mark] = []
    for page in reader.pages[:read]:
        found += marks_in_text(page.extract_text() or "")
    return found, len(reader.pages)


def _pdf_image_marks(path: Path) -> list[Mark]:
    """The marks in the QR codes of the PDF's page images (a scan saved as PDF)."""
    # Deferred: qpdf is loaded by a deposit, not by every start of the command line.
    import pikepdf

    found: list[Mark] = []
    with pikepdf.open(path) as pdf:
        for page in list(pdf.pages)[:MAX_PAGES_READ]:
            for raw in page.get_images().values():
                found += _image_marks(pikepdf.PdfImage(raw))
    return found


def _image_marks(image: Any) -> list[Mark]:
    """The marks of one page image of a PDF; none when it is too large or in a coding Pillow cannot read (JBIG2…)."""
    if image.width * image.height > MAX_IMAGE_PIXELS:
        return []  # larger than any page scan: not decoded in the web process
    try:
        return _qr_marks(image.as_pil_image())
    except Exception:  # one undecodable image does not hide the marks of the other pages
        log.info("A page image could not be decoded for its QR code", exc_info=True)
        return []


def _qr_marks(image: Image.Image) -> list[Mark]:
    """The marks of the QR codes in one image."""
    if image.width * image.height > MAX_IMAGE_PIXELS:
        return []
    grey = image.convert("L")
    results = zxingcpp.read_barcodes(grey, formats=zxingcpp.BarcodeFormat.QRCode)
    return [mark for result in results if (mark := parse_payload(result.text)) is not None]
