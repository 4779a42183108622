"""The look of every Word template: page, styles, header and footer, low-level XML helpers.

Shared by the generator of the plain kinds' templates (``webforms.rendering.word.layout``) and
the hand-written builders of the letters and the contract (``templates_docx/build.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Emu, Mm, Pt, RGBColor

FONT = "Liberation Sans"
BLUE = "1F3A68"  # section bands, headings
LABEL_FILL = "EEF1F6"  # label column of label/value tables
HEAD_FILL = "D9E0EC"  # header row of row tables
BORDER = "9AA5B8"
GREY = "555555"
RED = "B00020"

PAGE_W, PAGE_H = Mm(210), Mm(297)
MARGIN_X, MARGIN_TOP, MARGIN_BOTTOM = Mm(20), Mm(24), Mm(22)
TEXT_W = Emu(PAGE_W - 2 * MARGIN_X)  # 170 mm
LABEL_W = Mm(62)

FIXED_DATE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)

# --------------------------------------------------------------------------------------------
# Low-level XML helpers
# --------------------------------------------------------------------------------------------


def _el(tag: str, **attrs: str) -> OxmlElement:
    el = OxmlElement(tag)
    for key, value in attrs.items():
        el.set(qn(f"w:{key}"), value)
    return el


def _set_fonts(rpr, name: str = FONT) -> None:
    """Set an explicit font on an rPr, dropping theme fonts (they would win in Word)."""
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = _el("w:rFonts")
        rpr.insert(0, fonts)
    for attr in list(fonts.attrib):
        if attr.endswith("Theme"):
            del fonts.attrib[attr]
    for attr in ("ascii", "hAnsi", "cs", "eastAsia"):
        fonts.set(qn(f"w:{attr}"), name)


PPR_ORDER = [
    "pStyle", "keepNext", "keepLines", "pageBreakBefore", "framePr", "widowControl", "numPr",
    "suppressLineNumbers", "pBdr", "shd", "tabs", "suppressAutoHyphens", "kinsoku", "wordWrap",
    "overflowPunct", "topLinePunct", "autoSpaceDE", "autoSpaceDN", "bidi", "adjustRightInd",
    "snapToGrid", "spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc",
    "textDirection", "textAlignment", "textboxTightWrap", "outlineLvl", "divId", "cnfStyle", "rPr",
    "sectPr", "pPrChange",
]
TBLPR_ORDER = [
    "tblStyle", "tblpPr", "tblOverlap", "bidiVisual", "tblStyleRowBandSize", "tblStyleColBandSize",
    "tblW", "jc", "tblCellSpacing", "tblInd", "tblBorders", "shd", "tblLayout", "tblCellMar",
    "tblLook", "tblCaption", "tblDescription",
]
TCPR_ORDER = [
    "cnfStyle", "tcW", "gridSpan", "hMerge", "vMerge", "tcBorders", "shd", "noWrap", "tcMar",
    "textDirection", "tcFitText", "vAlign", "hideMark",
]


def insert_ordered(parent, child, order: Sequence[str]) -> None:
    """Insert ``child`` where the WordprocessingML schema wants it (Word is strict about it)."""
    name = child.tag.split("}")[1]
    old = parent.find(child.tag)
    if old is not None:
        parent.remove(old)
    after = order[order.index(name) + 1 :]
    for sibling in parent:
        sibling_name = sibling.tag.split("}")[1] if "}" in str(sibling.tag) else ""
        if sibling_name in after:
            sibling.addprevious(child)
            return
    parent.append(child)


def paragraph_border(ppr, sides: dict[str, tuple[int, str, int]]) -> None:
    """Add borders to a pPr (of a paragraph or of a paragraph style): side -> (size, colour, space)."""
    bdr = _el("w:pBdr")
    for side in ("top", "left", "bottom", "right"):
        if side in sides:
            size, color, space = sides[side]
            bdr.append(_el(f"w:{side}", val="single", sz=str(size), space=str(space), color=color))
    insert_ordered(ppr, bdr, PPR_ORDER)


def paragraph_shading(ppr, fill: str) -> None:
    insert_ordered(ppr, _el("w:shd", val="clear", color="auto", fill=fill), PPR_ORDER)


def cell_shading(cell, fill: str) -> None:
    insert_ordered(cell._tc.get_or_add_tcPr(), _el("w:shd", val="clear", color="auto", fill=fill), TCPR_ORDER)


def table_borders(table, color: str = BORDER, size: int = 4, inside: bool = True, none: bool = False) -> None:
    tblpr = table._tbl.tblPr
    borders = _el("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        if none or (not inside and side.startswith("inside")):
            borders.append(_el(f"w:{side}", val="nil"))
        else:
            borders.append(_el(f"w:{side}", val="single", sz=str(size), space="0", color=color))
    insert_ordered(tblpr, borders, TBLPR_ORDER)


def fixed_layout(table, widths: Sequence[int]) -> None:  # widths in EMU
    """Fix column widths (Word and LibreOffice both honour tblLayout fixed + tcW + gridCol)."""
    widths = [Emu(int(w)) for w in widths]
    table.autofit = False  # <w:tblLayout w:type="fixed"/>
    tblpr = table._tbl.tblPr
    insert_ordered(tblpr, _el("w:tblW", w=str(sum(w.twips for w in widths)), type="dxa"), TBLPR_ORDER)
    for col, width in zip(table.columns, widths, strict=True):
        col.width = width
    for row in table.rows:
        start = 0
        for tc in row._tr.tc_lst:  # a merged cell gets the sum of the columns it spans
            span = tc.grid_span
            tc.width = Emu(sum(widths[start : start + span]))
            start += span


def row_props(row, *, header: bool = False, cant_split: bool = True) -> None:
    trpr = row._tr.get_or_add_trPr()
    if cant_split:
        trpr.append(_el("w:cantSplit"))
    if header:
        trpr.append(_el("w:tblHeader"))


def add_field(paragraph, instr: str, placeholder: str = "1") -> None:
    """Append a real Word field (PAGE, NUMPAGES…) as fldChar runs."""
    run = paragraph.add_run()
    run._r.append(_el("w:fldChar", fldCharType="begin"))
    run = paragraph.add_run()
    text = OxmlElement("w:instrText")
    text.set(qn("xml:space"), "preserve")
    text.text = f" {instr} \\* MERGEFORMAT "
    run._r.append(text)
    run = paragraph.add_run()
    run._r.append(_el("w:fldChar", fldCharType="separate"))
    paragraph.add_run(placeholder)
    run = paragraph.add_run()
    run._r.append(_el("w:fldChar", fldCharType="end"))


# --------------------------------------------------------------------------------------------
# Document, styles, header and footer
# --------------------------------------------------------------------------------------------


def _style_font(style, size: float | None = None, bold: bool | None = None, color: str | None = None,
                italic: bool | None = None) -> None:
    _set_fonts(style.element.get_or_add_rPr())
    font = style.font
    if size is not None:
        font.size = Pt(size)
    if bold is not None:
        font.bold = bold
    if italic is not None:
        font.italic = italic
    if color is not None:
        font.color.rgb = RGBColor.from_string(color)
        # drop a theme colour inherited from the default template
        col = style.element.rPr.find(qn("w:color"))
        for attr in list(col.attrib):
            if "theme" in attr.lower():
                del col.attrib[attr]


def new_document(title: str, subject: str) -> Document:
    doc = Document()

    # Page: A4 portrait.
    section = doc.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = PAGE_W, PAGE_H
    section.left_margin = section.right_margin = MARGIN_X
    section.top_margin, section.bottom_margin = MARGIN_TOP, MARGIN_BOTTOM
    section.header_distance = Mm(10)
    section.footer_distance = Mm(10)

    # Document defaults: font and French language (spelling, hyphenation).
    styles_el = doc.styles.element
    rpr_default = styles_el.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _set_fonts(rpr_default)
    lang = rpr_default.find(qn("w:lang"))
    if lang is None:
        lang = _el("w:lang")
        rpr_default.append(lang)
    lang.set(qn("w:val"), "fr-FR")
    lang.set(qn("w:eastAsia"), "fr-FR")
    lang.set(qn("w:bidi"), "ar-SA")

    normal = doc.styles["Normal"]
    _style_font(normal, size=10)
    normal.paragraph_format.space_before = Pt(0)
    normal.paragraph_format.space_after = Pt(3)
    normal.paragraph_format.line_spacing = 1.1
    normal.paragraph_format.widow_control = True

    for name in ("Header", "Footer"):
        _style_font(doc.styles[name], size=8, color=GREY)

    # Title block.
    t = doc.styles["Title"]
    _style_font(t, size=17, bold=True, color=BLUE)
    t.paragraph_format.space_before = Pt(10)
    t.paragraph_format.space_after = Pt(2)
    t.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    tppr = t.element.get_or_add_pPr()
    old = tppr.find(qn("w:pBdr"))
    if old is not None:
        tppr.remove(old)
    st = doc.styles["Subtitle"]
    _style_font(st, size=9, italic=True, color=GREY)
    st.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    st.paragraph_format.space_after = Pt(8)
    st_rpr = st.element.rPr
    spacing = st_rpr.find(qn("w:spacing"))
    if spacing is not None:
        st_rpr.remove(spacing)

    em = doc.styles.add_style("Emetteur", WD_STYLE_TYPE.PARAGRAPH)
    em.base_style = normal
    _style_font(em, size=10, bold=True, color=BLUE)
    em.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    em.paragraph_format.space_after = Pt(0)

    draft = doc.styles.add_style("Mention brouillon", WD_STYLE_TYPE.PARAGRAPH)
    draft.base_style = normal
    _style_font(draft, size=12, bold=True, color=RED)
    draft.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    draft.paragraph_format.space_before = Pt(4)
    draft.paragraph_format.space_after = Pt(8)
    paragraph_border(draft.element.get_or_add_pPr(),
                     {s: (12, RED, 4) for s in ("top", "left", "bottom", "right")})

    # Section band: white bold text on a dark blue band.
    h1 = doc.styles["Heading 1"]
    _style_font(h1, size=11, bold=True, color="FFFFFF")
    h1.paragraph_format.space_before = Pt(12)
    h1.paragraph_format.space_after = Pt(4)
    h1.paragraph_format.keep_with_next = True
    h1.paragraph_format.left_indent = Mm(0)
    paragraph_shading(h1.element.get_or_add_pPr(), BLUE)
    paragraph_border(h1.element.get_or_add_pPr(),
                     {s: (4, BLUE, 2) for s in ("top", "left", "bottom", "right")})

    # Sub-section: bold blue, thin rule under it.
    h2 = doc.styles["Heading 2"]
    _style_font(h2, size=10, bold=True, color=BLUE)
    h2.paragraph_format.space_before = Pt(8)
    h2.paragraph_format.space_after = Pt(3)
    h2.paragraph_format.keep_with_next = True
    paragraph_border(h2.element.get_or_add_pPr(), {"bottom": (4, BLUE, 1)})

    label = doc.styles.add_style("Intitulé", WD_STYLE_TYPE.PARAGRAPH)
    label.base_style = normal
    _style_font(label, size=10, bold=True, color=BLUE)
    label.paragraph_format.space_before = Pt(6)
    label.paragraph_format.space_after = Pt(2)
    label.paragraph_format.keep_with_next = True

    long_text = doc.styles.add_style("Texte long", WD_STYLE_TYPE.PARAGRAPH)
    long_text.base_style = normal
    _style_font(long_text, size=10)
    long_text.paragraph_format.left_indent = Mm(2)
    long_text.paragraph_format.space_after = Pt(4)
    lt_ppr = long_text.element.get_or_add_pPr()
    paragraph_border(lt_ppr, {"left": (18, BLUE, 6)})
    paragraph_shading(lt_ppr, "F7F8FA")

    empty = doc.styles.add_style("Mention vide", WD_STYLE_TYPE.PARAGRAPH)
    empty.base_style = normal
    _style_font(empty, size=10, italic=True, color=GREY)

    cell = doc.styles.add_style("Cellule", WD_STYLE_TYPE.PARAGRAPH)
    cell.base_style = normal
    _style_font(cell, size=9.5)
    cell.paragraph_format.space_after = Pt(0)
    cell.paragraph_format.space_before = Pt(0)

    bullet = doc.styles["List Bullet"]
    _style_font(bullet, size=10)
    bullet.paragraph_format.space_after = Pt(1)

    # Settings: automatic hyphenation (French).
    settings = doc.settings.element
    if settings.find(qn("w:autoHyphenation")) is None:
        settings.find(qn("w:defaultTabStop")).addnext(_el("w:autoHyphenation"))
    theme_lang = settings.find(qn("w:themeFontLang"))
    if theme_lang is not None:
        theme_lang.set(qn("w:val"), "fr-FR")

    # Drop the default template's thumbnail (a picture of an empty page).
    package = doc.part.package
    for rid, rel in list(package.rels.items()):
        if rel.reltype.endswith("/thumbnail"):
            del package.rels[rid]

    # Core properties: static text only (docxtpl renders them with Jinja, PITFALLS §1).
    props = doc.core_properties
    props.title = title
    props.subject = subject
    props.author = "webforms"
    props.last_modified_by = "webforms"
    props.comments = ""
    props.keywords = ""
    props.category = ""
    props.language = "fr-FR"
    props.revision = 1
    props.created = FIXED_DATE
    props.modified = FIXED_DATE
    props.last_printed = FIXED_DATE

    # Remove the empty first paragraph of the default template.
    body = doc.element.body
    for p in list(body.iterchildren(qn("w:p"))):
        body.remove(p)

    build_header_footer(doc)
    return doc


def build_header_footer(doc: Document) -> None:
    section = doc.sections[0]

    header = section.header
    # The Département's identity (configuration, webforms.rendering.identity): a line of its own,
    # removed with its paragraph-level tags when none is configured; above it, the logo (an image
    # the renderer gives in place of ``departement.logo``, Identity.for_docx), in a paragraph of its own.
    opening = header.paragraphs[0]
    opening.style = doc.styles["Header"]
    opening.add_run("{%p if departement.nom %}")
    header.add_paragraph(style=doc.styles["Header"]).add_run("{%p if departement.logo %}")
    header.add_paragraph(style=doc.styles["Header"]).add_run("{{ departement.logo }}")
    header.add_paragraph(style=doc.styles["Header"]).add_run("{%p endif %}")
    who = header.add_paragraph(style=doc.styles["Header"])
    r = who.add_run("{{ departement.nom }}")
    r.bold = True
    who.add_run("{% if departement.adresse %} – {{ departement.adresse|join(', ') }}{% endif %}")
    header.add_paragraph(style=doc.styles["Header"]).add_run("{%p endif %}")
    p = header.add_paragraph(style=doc.styles["Header"])
    r = p.add_run("{{ document.organisme_emetteur }}")
    r.bold = True
    r.font.color.rgb = RGBColor.from_string(BLUE)
    p2 = header.add_paragraph(style=doc.styles["Header"])
    p2.add_run("{{ document.titre }}")
    p2.add_run("{% if document.brouillon %}")
    r = p2.add_run(" – BROUILLON")
    r.bold = True
    r.font.color.rgb = RGBColor.from_string(RED)
    p2.add_run("{% endif %}")
    p2.paragraph_format.space_after = Pt(0)
    paragraph_border(p2._p.get_or_add_pPr(), {"bottom": (6, BLUE, 4)})

    footer = section.footer
    f = footer.paragraphs[0]
    f.style = doc.styles["Footer"]
    paragraph_border(f._p.get_or_add_pPr(), {"top": (4, BORDER, 4)})
    f.paragraph_format.tab_stops.add_tab_stop(TEXT_W, WD_TAB_ALIGNMENT.RIGHT)
    f.add_run("{% if document.reference %}")
    f.add_run("Réf. ")
    f.add_run("{{ document.reference }}")
    f.add_run("{% endif %}")
    f.add_run("\t")
    f.add_run("Page ")
    add_field(f, "PAGE")
    f.add_run(" sur ")
    add_field(f, "NUMPAGES")


# Styles only some kinds use: created on first use (``style(doc, name)``), so that adding one here
# leaves the templates that do not use it byte-identical.


def _add_paragraph_style(doc: Document, name: str) -> object:
    st = doc.styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    st.base_style = doc.styles["Normal"]
    return st


def _style_alerte(doc: Document, name: str) -> None:
    """A warning paragraph: bold red text, a red rule on the left, a pale red background."""
    st = _add_paragraph_style(doc, name)
    _style_font(st, size=10, bold=True, color=RED)
    st.paragraph_format.space_before = Pt(2)
    st.paragraph_format.space_after = Pt(6)
    st.paragraph_format.left_indent = Mm(2)
    ppr = st.element.get_or_add_pPr()
    paragraph_border(ppr, {"left": (18, RED, 6)})
    paragraph_shading(ppr, "FBEAEC")


def _style_sous_titre(doc: Document) -> None:
    st = _add_paragraph_style(doc, "Sous-titre du document")
    _style_font(st, size=12, bold=True, color=BLUE)
    st.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    st.paragraph_format.space_before = Pt(0)
    st.paragraph_format.space_after = Pt(6)


def _style_texte_contrat(doc: Document) -> None:
    st = _add_paragraph_style(doc, "Texte du contrat")
    _style_font(st, size=10)
    st.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    st.paragraph_format.space_before = Pt(4)
    st.paragraph_format.space_after = Pt(4)


def _style_partie(doc: Document) -> None:
    st = _add_paragraph_style(doc, "Désignation de partie")
    _style_font(st, size=10, italic=True, color=GREY)
    st.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    st.paragraph_format.space_before = Pt(0)
    st.paragraph_format.space_after = Pt(6)


def _style_texte_courrier(doc: Document) -> None:
    """The body of a letter: justified, a little larger than the forms, airy."""
    st = _add_paragraph_style(doc, "Texte du courrier")
    _style_font(st, size=10.5)
    st.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    st.paragraph_format.space_before = Pt(0)
    st.paragraph_format.space_after = Pt(8)
    st.paragraph_format.line_spacing = 1.15


def _style_signature_courrier(doc: Document) -> None:
    """The signatory's block of a letter, on the right half of the page, kept on one page."""
    st = _add_paragraph_style(doc, "Signature du courrier")
    st.base_style = style(doc, "Texte du courrier")
    st.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
    st.paragraph_format.left_indent = Mm(85)
    st.paragraph_format.space_after = Pt(2)
    st.paragraph_format.keep_with_next = True


EXTRA_STYLES: dict[str, Callable[[Document], None]] = {
    "Mention retard": lambda doc: _style_alerte(doc, "Mention retard"),
    "Avertissement": lambda doc: _style_alerte(doc, "Avertissement"),
    "Sous-titre du document": _style_sous_titre,
    "Texte du contrat": _style_texte_contrat,
    "Désignation de partie": _style_partie,
    "Texte du courrier": _style_texte_courrier,
    "Signature du courrier": _style_signature_courrier,
}


def style(doc: Document, name: str):
    """Return a paragraph style, creating one of ``EXTRA_STYLES`` on its first use."""
    try:
        return doc.styles[name]
    except KeyError:
        EXTRA_STYLES[name](doc)
        return doc.styles[name]

