"""The page-number overlay of the complete dossier, drawn directly as PDF content streams.

Each page of the overlay is of the very size of the page it goes on, so that qpdf lays it 1:1
and the number keeps its corner and its size on any page (webforms/candidatures/dossier.py).
A page holds two small white boxes, as small as legible text allows (they hide the corners of
scans): the dossier's reference at the bottom left, "Page N / M" at the bottom right, in 8 pt
Helvetica, one of the fonts every PDF reader has. Laid out by WeasyPrint before, the overlay
of a 130-page dossier cost ≈ 0.5 s; written here, a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

MM = 72 / 25.4
FONT_SIZE = 8.0
LINE = FONT_SIZE * 1.15  # the white box's height: one line of text
PADDING = 0.7 * MM  # between the text and its box's edges, left and right
BOTTOM = 6 * MM  # from the page's bottom edge to the boxes
SIDE = 12 * MM  # from the page's side edges to the boxes: the image pages' margin
# Helvetica's ascent and descent (Adobe's Helvetica.afm): the text is centred in its box.
BASELINE = BOTTOM + (LINE - FONT_SIZE * (718 + 207) / 1000) / 2 + FONT_SIZE * 207 / 1000
GREY = "0.2 0.2 0.2"  # #333, as the documents' small print
# Advance widths of Helvetica's characters 32 to 126, in thousandths of the font size
# (Adobe's Core 14 AFM files, Helvetica.afm); other characters count as a digit.
HELVETICA = (
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278,
    556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556,
    1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778,
    667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556,
    333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556,
    556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
)  # fmt: skip


def _width(text: str) -> float:
    """The width of ``text`` in 8 pt Helvetica, in points."""
    return sum(HELVETICA[ord(c) - 32] if 32 <= ord(c) < 127 else 556 for c in text) * FONT_SIZE / 1000


def _literal(text: str) -> bytes:
    """``text`` as a PDF string in WinAnsiEncoding (the font's); what it cannot encode shows as "?"."""
    raw = text.encode("cp1252", errors="replace")
    return b"(" + raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)") + b")"


def _label(text: str, left: float) -> bytes:
    """A white box from ``left`` and the text in it, on the numbers' line."""
    box = _width(text) + 2 * PADDING
    return (
        f"1 1 1 rg {left:.3f} {BOTTOM:.3f} {box:.3f} {LINE:.3f} re f "
        f"{GREY} rg BT /F1 {FONT_SIZE:g} Tf 1 0 0 1 {left + PADDING:.3f} {BASELINE:.3f} Tm ".encode()
        + _literal(text)
        + b" Tj ET\n"
    )


def page_content(width: float, number: int, total: int, reference: str) -> bytes:
    """The content stream of one overlay page of ``width`` points: reference left, number right."""
    text = f"Page {number} / {total}"
    content = b"q\n"
    if reference:
        content += _label(reference, SIDE)
    content += _label(text, width - SIDE - _width(text) - 2 * PADDING)
    return content + b"Q\n"


def write_page_numbers(target: Path, sizes: Sequence[tuple[float, float]], reference: str) -> None:
    """Write the overlay: one page per size of ``sizes`` (each page's shown width and height).

    qpdf centres an overlay page on its page, turns it with the page's /Rotate, moves it to
    the page's origin, and shrinks it when it is larger: an overlay page of exactly the size
    the page shows is laid 1:1, so the number keeps its corner and its size on an A3, an A0
    or a landscape page. Sizes are kept to 0.0001 pt (a shrinking of a few millionths at most).
    """
    # Deferred: qpdf (pikepdf) is loaded when a dossier is assembled, not by every start.
    import pikepdf

    pdf = pikepdf.new()
    font = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica, Encoding=pikepdf.Name.WinAnsiEncoding)
    )
    resources = pdf.make_indirect(pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font)))
    total = len(sizes)
    for number, (width, height) in enumerate(sizes, start=1):
        box = pikepdf.Array([0, 0, round(width, 4), round(height, 4)])
        contents = pdf.make_stream(page_content(width, number, total, reference))
        pdf.pages.append(pikepdf.Page(pikepdf.Dictionary(Type=pikepdf.Name.Page, MediaBox=box, Resources=resources, Contents=contents)))
    pdf.save(target)
