"""The mark on every page of a submitted document: its reference, version and a short digest, as text and as a QR code.

Issue 15: a signed scan of one document was archived as the signed copy of another. Every page
of a frozen version therefore names what it is, twice: in small text (read back from a signed
PDF by text extraction) and in a QR code (read back from a scan, where there is no text). The
archive reads it at deposit (``webforms.archive.marks``) and refuses a copy of another document
or version.

The digest is a SHA-256 of the version's frozen data and decision, cut to 12 hex digits: two
versions with the same number but other content (there are none; a forged print could have) are
told apart, and it is short enough to read aloud.
"""

from __future__ import annotations

import hashlib
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import segno
from docx.document import Document as WordDocument
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.shape import CT_Inline
from docx.shared import Mm, Pt
from docx.text.paragraph import Paragraph
from markupsafe import Markup

# The QR code's text uses the alphanumeric set only (capitals, digits, "-", ":"): a fiche's
# reference, version and digest fit a version 2 code (25 modules), whose modules stay large
# enough on a 14 mm print for a 200 dpi scan.
QR_PREFIX: Final = "WF"
DIGEST_LENGTH: Final = 12
# The text form as pdf text extraction gives it back: "Réf. FS-2026-000031 · v2 · 1a2b3c4d5e6f".
# Whitespace may be lost or doubled by extraction; the separators and the digest's length are not.
# The Word print's mark ends with " · Word" (its QR code's text with ":W"): a copy printed from Word
# is paginated by Word, not by our PDF, so its page count is not compared with the PDF's.
TEXT_PATTERN: Final = re.compile(r"Réf\.\s*(\S+?)\s*·\s*v\s*(\d{1,9})\s*·\s*([0-9a-f]{12})\b(\s*·\s*Word\b)?")
WORD_SUFFIX: Final = "W"
# The QR code's side in a Word footer: as on the PDF (templates_html/_base.html, .marque svg).
QR_SIDE_MM: Final = 14
# The drawing ids of the footers' QR codes: far above the ids Word and python-docx give (1, 2, …).
_QR_SHAPE_ID: Final = 0x5746_0000


@dataclass(frozen=True)
class Mark:
    """What a page says it is a copy of."""

    reference: str
    version: int
    digest: str
    word: bool = False  # printed on the Word version (paginated by Word), not on our PDF

    @property
    def text(self) -> str:
        """The mark as printed in text under the QR code."""
        return f"Réf. {self.reference} · v{self.version} · {self.digest}" + (" · Word" if self.word else "")

    @property
    def payload(self) -> str:
        """The mark as encoded in the QR code."""
        return f"{QR_PREFIX}:{self.reference}:{self.version}:{self.digest.upper()}" + (f":{WORD_SUFFIX}" if self.word else "")

    def describe(self) -> str:
        """The mark in French, for a message naming what was found."""
        return f"{self.reference}, version {self.version}"


def data_digest(data: Mapping[str, Any] | None, review: Mapping[str, Any] | None) -> str:
    """Return the short digest of a version's frozen data and decision (JSON, as stored)."""
    canonical = json.dumps({"donnees": data, "decision": review}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:DIGEST_LENGTH]


def parse_payload(payload: str) -> Mark | None:
    """Read a QR code's text; None when it is not one of our marks."""
    prefix, _, rest = payload.strip().partition(":")
    word = rest.endswith(f":{WORD_SUFFIX}")
    parts = rest.removesuffix(f":{WORD_SUFFIX}").rsplit(":", 2)
    if prefix != QR_PREFIX or len(parts) != 3:
        return None
    reference, version, digest = parts
    if not reference or len(reference) > 64 or not re.fullmatch(r"[0-9]{1,9}", version) or not re.fullmatch(r"[0-9A-F]{12}", digest):
        return None
    return Mark(reference, int(version), digest.lower(), word)


def marks_in_text(text: str) -> list[Mark]:
    """Return the marks printed in a page's extracted text, in order."""
    return [Mark(ref, int(version), digest, bool(word)) for ref, version, digest, word in TEXT_PATTERN.findall(text)]


def qr_svg(mark: Mark) -> Markup:
    """Return the QR code of ``mark`` as an inline SVG element (drawn by us: safe to insert unescaped)."""
    # Error correction M: a scan's dust and toner specks still read; no XML declaration, the
    # element goes inside the document's HTML; the size is set by the stylesheet (.marque svg).
    svg = segno.make(mark.payload, error="m", micro=False).svg_inline(scale=1, border=2, omitsize=True)
    return Markup(svg)


def qr_png(mark: Mark) -> bytes:
    """Return the QR code of ``mark`` as a PNG (for the Word print; the same bytes for the same mark)."""
    out = io.BytesIO()
    # 8 pixels a module: sharp when Word scales it to 14 mm, whatever the printer's resolution.
    segno.make(mark.payload, error="m", micro=False).save(out, kind="png", scale=8, border=2)
    return out.getvalue()


def stamp_docx(document: WordDocument, mark: Mark) -> None:
    """Add the Word print's mark (its QR code, then its text) at the foot of every page of ``document``.

    Added after the template is filled, not written in the templates: a template the
    Département uploads, or a letter written by hand, cannot leave it out.
    """
    word_mark = Mark(mark.reference, mark.version, mark.digest, word=True)
    png = qr_png(word_mark)
    first = document.sections[0]
    if first.footer.is_linked_to_previous:
        first.footer.is_linked_to_previous = False  # a template without a footer: one is made
    # Every footer part (each section's, first-page and even-page ones): docxtpl replaced the
    # filled ones by plain XML parts, which the section objects do not see; the relations do.
    footers = [rel.target_part for rel in document.part.rels.values() if rel.reltype == RT.FOOTER]
    for number, part in enumerate(footers):
        paragraph = Paragraph(part.element.add_p(), None)
        paragraph.paragraph_format.space_before = Pt(2)
        # Drawn inline by hand: a plain XML part has no python-docx add_picture.
        rel_id = part.relate_to(document.part.package.get_or_add_image_part(io.BytesIO(png)), RT.IMAGE)
        side = Mm(QR_SIDE_MM)
        paragraph.add_run()._r.add_drawing(CT_Inline.new_pic_inline(_QR_SHAPE_ID + number, rel_id, "marque.png", side, side))
        paragraph.add_run("  " + word_mark.text).font.size = Pt(7)
