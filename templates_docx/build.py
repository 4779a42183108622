"""Generate the Word templates of the document kinds (docxtpl syntax), deterministically.

    .venv/bin/python templates_docx/build.py        (or: make docx-templates)

Writes ``fiche_saisine.docx``, ``fiche_incident.docx``, ``bilan_asll_installation.docx``,
``bilan_asll_maintien.docx``, ``bilan_aml.docx``, ``contrat_tripartite.docx``,
``bilan_annuel_operateur.docx``, ``candidature_aml.docx`` and ``candidature_courrier.docx`` (the
letter of the dossier, an annex of ``candidature_aml``) next to this script. The layout is
the one of ``templates_html/<kind>.html`` (same content, same order): title block, reference,
date d'émission, destinataires (and, for the bilans, the due date and the lateness mention), one
heading per section with label/value tables, row tables, computed values, the coordinator's
decision (saisine), signature blocks (three side by side for the contract).

Rules kept here so that docxtpl reads the templates correctly (PITFALLS §1):
- every Jinja tag is a run of its own (``p.add_run("{{ x }}")``);
- ``{%tr for … %}`` and ``{%tr endfor %}`` sit alone in their own table rows;
- every ``{%p … %}`` tag is alone in its own paragraph, never two in one paragraph, and no
  ``{%p``/``{%tr`` expression contains ``%`` or ``}``; a label/value row shown only when a value
  is filled sits between a ``{%tr if … %}`` row and a ``{%tr endif %}`` row, and a table always
  keeps at least one unconditional row (a table with no row is invalid for Word);
- long user texts are alone in their paragraph (docxtpl turns their newlines into line breaks);
- nothing user-provided goes in the core properties (docxtpl renders them with Jinja too).

Labels are written once, in the schemas (``schemas/<kind>.py``, ``schemas/base/common.py``): each
one is looked up here at build time (``Labels``: ``label("prescripteur.nom")``) and written
literally in the .docx, so administrators editing the files in Word read real words, not
``{{ libelles.… }}`` tags. A path that names no field makes this script fail. Rebuild (and
commit the .docx) after changing a label in a schema.

Two runs give byte-identical files: fixed core-property dates, zip entries dated 1980-01-01.
"""

from __future__ import annotations

import datetime as dt
import io
import sys
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_TAB_ALIGNMENT
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Emu, Mm, Pt, RGBColor

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script: make the project's packages importable
    sys.path.insert(0, str(HERE.parent))

from schemas import (  # noqa: E402
    bilan_aml,
    bilan_annuel_operateur,
    bilan_asll_installation,
    bilan_asll_maintien,
    candidature_aml,
    contrat_tripartite,
    fiche_incident,
    fiche_saisine,
)
from schemas.base.fields import Group, Rows  # noqa: E402
from schemas.base.kind import Kind  # noqa: E402

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
# Labels, read from the kind's declaration
# --------------------------------------------------------------------------------------------


class LabelError(LookupError):
    """A label path that names nothing in the kind's declaration."""


class Labels:
    """The labels of one kind, by path: the same paths as ``{{ libelles.… }}`` in the HTML.

    ``label("prescripteur.nom")`` is a field's label, ``label("menage")`` a group's,
    ``label("menage.enfants")`` a table's and ``label("menage.enfants.prenom")`` a column's
    (through ``Group`` and ``Rows`` fields); ``label("calcul.age_demandeur")`` a derived value's
    (``Kind.derived_labels``); ``label("revue.mesure")`` a field of the decision
    (``Kind.review.schema``).
    """

    def __init__(self, kind: Kind) -> None:
        self.kind = kind

    def __call__(self, path: str) -> str:
        text = self._lookup(path)
        if not isinstance(text, str) or not text.strip():
            raise LabelError(f"{self.kind.name} : « {path} » n'a pas de libellé.")
        if any(mark in text for mark in ("{{", "}}", "{%", "%}", "{#", "#}")):
            # docxtpl would read it as a Jinja tag.
            raise LabelError(f"{self.kind.name} : le libellé de « {path} » contient une balise Jinja : {text!r}.")
        return text

    def _lookup(self, path: str) -> object:
        head, *rest = path.split(".")
        if head == "calcul":
            if len(rest) != 1 or rest[0] not in self.kind.derived_labels:
                raise LabelError(f"{self.kind.name} : « {path} » n'est pas une valeur calculée déclarée (derived_labels).")
            return self.kind.derived_labels[rest[0]]
        if head == "revue":
            if self.kind.review is None:
                raise LabelError(f"{self.kind.name} : « {path} » : ce type n'a pas de décision (review).")
            if not rest:
                return self.kind.review.title
            schema, parts, prefix = self.kind.review.schema(), rest, ["revue"]
        else:
            schema, parts, prefix = self.kind.schema(), path.split("."), []
        field = None
        for depth, part in enumerate(parts):
            if schema is None or part not in schema.fields:
                where = ".".join(prefix + parts[:depth]) or "(racine)"
                raise LabelError(f"{self.kind.name} : « {path} » : pas de champ « {part} » sous {where}.")
            field = schema.fields[part]
            if isinstance(field, Group):
                schema = field.schema
            elif isinstance(field, Rows):
                schema = field.inner.schema
            else:
                schema = None
        assert field is not None
        return field.metadata.get("label")


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
    p = header.paragraphs[0]
    p.style = doc.styles["Header"]
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


# --------------------------------------------------------------------------------------------
# Content helpers: each Jinja tag in its own run
# --------------------------------------------------------------------------------------------

Parts = str | Sequence[str]


class Alert(str):
    """A part of ``Parts`` printed in bold red: a value the reader must not miss ("Non couvert")."""


class Bold(str):
    """A part of ``Parts`` printed in bold ("Objet : ")."""


def add_runs(paragraph, parts: Parts, bold: bool = False) -> None:
    if isinstance(parts, str):
        parts = [parts]
    for part in parts:
        run = paragraph.add_run(part)
        if bold or isinstance(part, Alert | Bold):
            run.bold = True
        if isinstance(part, Alert):
            run.font.color.rgb = RGBColor.from_string(RED)


def tag(doc: Document, text: str) -> None:
    """A paragraph holding only a ``{%p … %}`` tag (docxtpl removes the paragraph)."""
    assert text.startswith("{%p ") and "}" not in text[:-2] and "%" not in text[2:-2]
    doc.add_paragraph().add_run(text)


def heading(doc: Document, text: Parts, level: int = 1) -> None:
    add_runs(doc.add_paragraph(style=doc.styles[f"Heading {level}"]), text)


def cell_paragraph(cell, parts: Parts, bold: bool = False, align=None) -> None:
    p = cell.paragraphs[0]
    p.style = "Cellule"
    add_runs(p, parts, bold)
    if align is not None:
        p.alignment = align


Row = tuple[str, Parts] | tuple[str, Parts, str]


def shown_if(condition: str, rows: Iterable[tuple[str, Parts]]) -> list[Row]:
    """Label/value rows printed only when ``condition`` holds (``{%tr if condition %}``)."""
    return [(label, value, condition) for label, value in rows]


def _check_tag_expr(expr: str) -> None:
    # docxtpl's {%p / {%tr tags fail on an expression containing % or } (PITFALLS §1).
    assert "%" not in expr and "}" not in expr and "{" not in expr, expr


def kv_table(doc: Document, rows: Iterable[Row]) -> None:
    """A label/value table: shaded bold label on the left, value on the right.

    A row ``(label, value, condition)`` is printed only when ``condition`` holds: it sits between
    a ``{%tr if condition %}`` row and a ``{%tr endif %}`` row (docxtpl removes both).
    """
    rows = list(rows)
    assert any(len(r) == 2 for r in rows), "a table needs one unconditional row"
    lines: list[tuple[str, Parts] | str] = []  # a tuple is a label/value row, a str a {%tr %} row
    for row in rows:
        if len(row) == 3:
            label, value, condition = row
            _check_tag_expr(condition)
            lines += [f"{{%tr if {condition} %}}", (label, value), "{%tr endif %}"]
        else:
            lines.append(row)
    table = doc.add_table(rows=len(lines), cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table_borders(table)
    for row, line in zip(table.rows, lines, strict=True):
        if isinstance(line, str):
            cell_paragraph(row.cells[0], line)
            continue
        label, value = line
        row_props(row)
        cell_shading(row.cells[0], LABEL_FILL)
        cell_paragraph(row.cells[0], label, bold=True)
        cell_paragraph(row.cells[1], value)
    fixed_layout(table, [LABEL_W, TEXT_W - LABEL_W])
    spacer(doc)


def spacer(doc: Document) -> None:
    p = doc.add_paragraph()
    p.paragraph_format.space_after = Pt(0)
    p.paragraph_format.line_spacing = Pt(6)


def long_text(doc: Document, label: str | None, expr: str) -> None:
    """A label, then the user's text alone in its own paragraph (newlines -> line breaks).

    Without ``label``, the text follows a heading that names it.
    """
    if label is not None:
        doc.add_paragraph(label, style=doc.styles["Intitulé"])
    p = doc.add_paragraph(style=doc.styles["Texte long"])
    p.add_run(expr)


Column = tuple[str, Parts, float]


def rows_table(
    doc: Document,
    rows_var: str,
    item: str,
    columns: Sequence[Column],
    empty: str,
    total: tuple[str, Parts | Sequence[Parts]] | None = None,
) -> None:
    """A table of rows with a repeated header, or a mention when there is no row.

    ``columns``: (header, value, width in mm); the value is an attribute of the row (a string:
    ``"nom"`` or ``"domaines|join(', ')"`` prints ``{{ item.nom }}``…) or the cell's runs (a
    list of parts, for a cell mixing tags and formatting). ``total``: (label, expression)
    printed in a last row, the label spanning all but the last column; or (label, [expression,
    …]) with one expression per last column (a total per column), the label spanning the others.
    """
    tag(doc, f"{{%p if {rows_var} %}}")
    n = len(columns)
    table = doc.add_table(rows=4, cols=n)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table_borders(table)
    head, loop, data, end = table.rows
    row_props(head, header=True)
    for cell, (title, _, _) in zip(head.cells, columns, strict=True):
        cell_shading(cell, HEAD_FILL)
        cell_paragraph(cell, title, bold=True)
    cell_paragraph(loop.cells[0], f"{{%tr for {item} in {rows_var} %}}")
    row_props(data)
    for cell, (_, value, _) in zip(data.cells, columns, strict=True):
        cell_paragraph(cell, f"{{{{ {item}.{value} }}}}" if isinstance(value, str) else value)
    cell_paragraph(end.cells[0], "{%tr endfor %}")
    if total is not None:
        label, exprs = total
        if isinstance(exprs, str):
            exprs = [exprs]
        k = len(exprs)
        assert 1 <= k < n, "the total's label needs a column of its own"
        trow = table.add_row()
        row_props(trow)
        cells = trow.cells  # read before merging: a merge changes the row's cells
        merged = cells[0].merge(cells[n - k - 1]) if n - k > 1 else cells[0]
        cell_shading(merged, LABEL_FILL)
        for cell in cells[n - k :]:
            cell_shading(cell, LABEL_FILL)
        cell_paragraph(merged, label, bold=True, align=WD_ALIGN_PARAGRAPH.RIGHT)
        for cell, expr in zip(cells[n - k :], exprs, strict=True):
            cell_paragraph(cell, expr, bold=True)
    fixed_layout(table, [Mm(w) for _, _, w in columns])
    tag(doc, "{%p else %}")
    doc.add_paragraph(empty, style=doc.styles["Mention vide"])
    tag(doc, "{%p endif %}")
    spacer(doc)


def field_rows(label: Labels, *paths: str, filter: str | None = None) -> list[tuple[str, str]]:
    """Label/value rows of plain fields: (the schema's label, ``{{ path }}`` or ``{{ path|filter }}``)."""
    suffix = f"|{filter}" if filter else ""
    return [(label(path), f"{{{{ {path}{suffix} }}}}") for path in paths]


def row_columns(
    label: Labels, rows_path: str, cols: Sequence[tuple[str, float] | tuple[str, float, Parts]]
) -> list[Column]:
    """The ``columns`` of ``rows_table`` from (column name, width in mm), headers from the schema.

    A third element replaces the cell's value (``rows_table``): ``("domaines", 36, "domaines|join(', ')")``.
    """
    return [(label(f"{rows_path}.{col[0]}"), col[2] if len(col) == 3 else col[0], col[1]) for col in cols]


def bullet_list(doc: Document, var: str, item: str, empty: str) -> None:
    tag(doc, f"{{%p if {var} %}}")
    tag(doc, f"{{%p for {item} in {var} %}}")
    doc.add_paragraph(style=doc.styles["List Bullet"]).add_run(f"{{{{ {item} }}}}")
    tag(doc, "{%p endfor %}")
    tag(doc, "{%p else %}")
    doc.add_paragraph(empty, style=doc.styles["Mention vide"])
    tag(doc, "{%p endif %}")


def title_block(
    doc: Document,
    extra_rows: Sequence[Row] = (),
    *,
    subtitle: Parts | None = None,
    due: bool = False,
) -> None:
    """Issuer, title, regulatory source, draft mention, identification table, recipients.

    ``subtitle``: a line under the title (the type of bilan). ``due``: the bilans' due date
    (an "Échéance" row when there is one) and the lateness mention (``document.en_retard``).
    """
    doc.add_paragraph(style=doc.styles["Emetteur"]).add_run("{{ document.organisme_emetteur }}")
    doc.add_paragraph(style=doc.styles["Title"]).add_run("{{ document.titre }}")
    if subtitle is not None:
        add_runs(doc.add_paragraph(style=style(doc, "Sous-titre du document")), subtitle)
    p = doc.add_paragraph(style=doc.styles["Subtitle"])
    p.add_run("Référence réglementaire : ")
    p.add_run("{{ document.source }}")
    tag(doc, "{%p if document.brouillon %}")
    doc.add_paragraph("BROUILLON – document non soumis", style=doc.styles["Mention brouillon"])
    tag(doc, "{%p endif %}")
    kv_table(
        doc,
        [
            ("Référence", "{{ document.reference }}"),
            ("Date d'émission", "{{ document.date_emission }}"),
            ("Établi par", ["{{ document.auteur }}", "{% if document.auteur and document.organisation %}", " – ", "{% endif %}", "{{ document.organisation }}"]),
            ("Horodatage", "{{ document.horodatage }}"),
            ("Version", "{{ document.version }}"),
            *(shown_if("document.echeance", [("Échéance", "{{ document.echeance }}")]) if due else []),
            *extra_rows,
        ],
    )
    if due:
        tag(doc, "{%p if document.en_retard %}")
        add_runs(
            doc.add_paragraph(style=style(doc, "Mention retard")),
            ["Document transmis après son échéance du ", "{{ document.echeance }}", "."],
        )
        tag(doc, "{%p endif %}")
    doc.add_paragraph("Destinataires", style=doc.styles["Intitulé"])
    bullet_list(doc, "document.destinataires", "destinataire", "Aucun destinataire désigné.")


@dataclass(frozen=True)
class Box:
    """One box of a signature table.

    ``date``: None for no date line, ``""`` for a date left blank (written by hand).
    ``mention``: a printed line above the signature ("Lu et approuvé").
    ``signature``: False for a box without signature space (the stamp).
    """

    role: str
    lines: Sequence[Parts] = ()
    date: Parts | None = None
    mention: str | None = None
    signature: bool = True


def signature_table(doc: Document, title: str | None, boxes: Sequence[Box], widths: Sequence[int]) -> None:
    """Boxes side by side, in one row that never splits across pages (under a heading ``title``)."""
    if title is not None:
        heading(doc, title)
    table = doc.add_table(rows=1, cols=len(boxes))
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table_borders(table, color=BORDER)
    row = table.rows[0]
    row_props(row)
    for cell, box in zip(row.cells, boxes, strict=True):
        cell_paragraph(cell, box.role, bold=True)
        for parts in box.lines:
            p = cell.add_paragraph(style=doc.styles["Cellule"])
            add_runs(p, parts)
        if box.date is not None:
            p = cell.add_paragraph(style=doc.styles["Cellule"])
            p.paragraph_format.space_before = Pt(4)
            p.add_run("Date : ")
            if box.date:
                add_runs(p, box.date)
        if box.mention is not None:
            p = cell.add_paragraph(style=doc.styles["Cellule"])
            p.paragraph_format.space_before = Pt(4)
            p.add_run(box.mention).italic = True
        if box.signature:
            p = cell.add_paragraph("Signature :", style=doc.styles["Cellule"])
            p.paragraph_format.space_before = Pt(4)
            for _ in range(4):
                cell.add_paragraph(style=doc.styles["Cellule"])
    fixed_layout(table, widths)
    # Word wants a paragraph between the last table and the end of the body.
    spacer(doc)


def signature_block(doc: Document, role: str, lines: Sequence[Parts], date: Parts, stamp: str) -> None:
    """Two boxes side by side: the signatory (name, date, signature) and the stamp."""
    signature_table(
        doc,
        "Signature",
        [Box(role, lines, date), Box(stamp, signature=False)],
        [Mm(100), TEXT_W - Mm(100)],
    )


def finish(doc: Document, name: str) -> Path:
    buf = io.BytesIO()
    doc.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            dst.writestr(info, src.read(item.filename))
    path = HERE / name
    path.write_bytes(out.getvalue())
    return path


# --------------------------------------------------------------------------------------------
# Fiche saisine
# --------------------------------------------------------------------------------------------


def build_fiche_saisine() -> Path:
    kind = fiche_saisine.KIND
    label = Labels(kind)
    doc = new_document(kind.title, "Saisine d'une plateforme Logement d'abord (AML §1 et §4)")
    title_block(doc)

    heading(doc, "1. Saisine et prescripteur")
    kv_table(
        doc,
        field_rows(
            label,
            "date_saisine",
            "prescripteur.organisme",
            "prescripteur.type_partenaire",
            "prescripteur.nom",
            "prescripteur.fonction",
            "prescripteur.telephone",
            "prescripteur.email",
        ),
    )

    heading(doc, f"2. {label('territoire')}")
    kv_table(
        doc,
        [
            *field_rows(label, "territoire.commune", "territoire.epci"),
            (label("calcul.plateforme"), "{{ calcul.plateforme or \"Non déterminée\" }}"),
        ],
    )

    heading(doc, f"3. {label('menage')}")
    heading(doc, label("menage.demandeur"), 2)
    kv_table(
        doc,
        [
            *field_rows(label, "menage.demandeur.nom", "menage.demandeur.prenom", "menage.demandeur.date_naissance"),
            (
                label("calcul.age_demandeur"),
                ["{% if calcul.age_demandeur is none %}", "Non déterminé", "{% else %}", "{{ calcul.age_demandeur }}", " ans", "{% endif %}"],
            ),
            *field_rows(label, "menage.situation_familiale"),
            (label("calcul.nombre_personnes"), "{{ calcul.nombre_personnes }}"),
        ],
    )
    heading(doc, label("menage.autres_adultes"), 2)
    rows_table(
        doc,
        "menage.autres_adultes",
        "adulte",
        row_columns(label, "menage.autres_adultes", [("nom", 45), ("prenom", 40), ("date_naissance", 40), ("lien", 45)]),
        "Aucun autre adulte dans le ménage.",
    )
    heading(doc, label("menage.enfants"), 2)
    rows_table(
        doc,
        "menage.enfants",
        "enfant",
        row_columns(label, "menage.enfants", [("prenom", 100), ("date_naissance", 70)]),
        "Aucun enfant.",
    )
    heading(doc, label("menage.ressources"), 2)
    rows_table(
        doc,
        "menage.ressources",
        "ressource",
        row_columns(label, "menage.ressources", [("type", 120), ("montant_mensuel", 50)]),
        "Aucune ressource déclarée.",
        total=(label("calcul.total_ressources"), "{{ calcul.total_ressources }}"),
    )

    heading(doc, f"4. {label('public_prioritaire')} (AML §1)")
    kv_table(
        doc,
        [
            *field_rows(label, "public_prioritaire.famille_monoparentale", "public_prioritaire.victime_violences", filter="oui_non"),
            (
                label("calcul.moins_de_25_ans"),
                ["{% if calcul.moins_de_25_ans is none %}", "Non déterminé", "{% else %}", "{{ calcul.moins_de_25_ans|oui_non }}", "{% endif %}"],
            ),
            *field_rows(label, "public_prioritaire.parcours_institutionnel", "public_prioritaire.expulsion", filter="oui_non"),
            *field_rows(label, "public_prioritaire.stade_procedure"),
        ],
    )

    heading(doc, f"5. {label('situation')}")
    kv_table(doc, field_rows(label, "situation.logement_actuel"))
    long_text(doc, label("situation.description"), "{{ situation.description }}")
    heading(doc, label("situation.accompagnements"), 2)
    rows_table(
        doc,
        "situation.accompagnements",
        "accompagnement",
        row_columns(label, "situation.accompagnements", [("type", 45), ("referent", 40), ("structure", 50), ("telephone", 35)]),
        "Aucun accompagnement en place.",
    )
    heading(doc, label("situation.besoins"), 2)
    bullet_list(doc, "situation.besoins", "besoin", "Aucun besoin indiqué.")
    long_text(doc, label("situation.precisions_besoins"), "{{ situation.precisions_besoins or \"Non renseigné\" }}")

    heading(doc, f"6. {label('orientation')}")
    kv_table(doc, field_rows(label, "orientation.orientation"))
    long_text(doc, label("orientation.motif"), "{{ orientation.motif }}")

    heading(doc, f"7. {label('adhesion')}")
    kv_table(
        doc,
        [
            *field_rows(label, "adhesion.adhesion", filter="oui_non"),
            *field_rows(label, "adhesion.date_adhesion"),
        ],
    )

    tag(doc, "{%p if revue %}")
    heading(doc, ["Cadre réservé à la plateforme – ", "{{ revue.titre }}"])
    kv_table(
        doc,
        field_rows(
            label,
            "revue.orientation_validee",
            "revue.mesure",
            "revue.operateur",
            "revue.referent",
            "revue.date_decision",
        ),
    )
    long_text(doc, label("revue.motif"), "{{ revue.motif or \"Néant\" }}")
    tag(doc, "{%p endif %}")

    signature_block(
        doc,
        "Le prescripteur",
        [
            "{{ prescripteur.nom }}",
            "{{ prescripteur.fonction }}",
            "{{ prescripteur.organisme }}",
        ],
        "{{ date_saisine }}",
        "Cachet de l'organisme",
    )
    return finish(doc, "fiche_saisine.docx")


# --------------------------------------------------------------------------------------------
# Fiche d'incident
# --------------------------------------------------------------------------------------------


def build_fiche_incident() -> Path:
    kind = fiche_incident.KIND
    label = Labels(kind)
    doc = new_document(kind.title, "Incident de mise en œuvre d'une mesure d'accompagnement (CCTP ASLL §7 et §8)")
    title_block(doc, [(label("calcul.instance_destinataire"), "{{ calcul.instance_destinataire }}")])

    heading(doc, f"1. {label('mesure')}")
    kv_table(
        doc,
        field_rows(
            label,
            "mesure.type_mesure",
            "mesure.operateur",
            "mesure.referent_nom",
            "mesure.menage_nom",
            "mesure.menage_prenom",
            "mesure.menage_commune",
            "mesure.date_bon_commande",
            "mesure.date_premiere_rencontre",
        ),
    )
    heading(doc, "Délai de démarrage (ASLL §6.3, calculé)", 2)
    kv_table(
        doc,
        [
            (
                label("calcul.delai_demarrage_jours"),
                ["{% if calcul.delai_demarrage_jours %}", "{{ calcul.delai_demarrage_jours }}", " jours à compter du bon de commande", "{% else %}", "Sans objet", "{% endif %}"],
            ),
            (label("calcul.date_limite_demarrage"), "{{ calcul.date_limite_demarrage or \"Sans objet\" }}"),
            (
                label("calcul.demarrage_dans_les_delais"),
                ["{% if calcul.demarrage_dans_les_delais is none %}", "Non déterminé", "{% else %}", "{{ calcul.demarrage_dans_les_delais|oui_non }}", "{% endif %}"],
            ),
        ],
    )

    heading(doc, f"2. {label('incident')}")
    kv_table(doc, field_rows(label, "incident.date_incident", "incident.type_incident", "incident.precision_type"))
    long_text(doc, label("incident.faits"), "{{ incident.faits }}")
    long_text(doc, label("incident.actions"), "{{ incident.actions }}")

    heading(doc, f"3. {label('protection_enfance')}")
    kv_table(
        doc,
        [
            *field_rows(label, "protection_enfance.information_preoccupante", filter="oui_non"),
            *field_rows(label, "protection_enfance.date_ip"),
        ],
    )

    heading(doc, f"4. {label('proposition')}")
    kv_table(doc, field_rows(label, "proposition.proposition", "proposition.mesure_orientation"))
    long_text(doc, label("proposition.commentaire"), "{{ proposition.commentaire or \"Non renseigné\" }}")

    heading(doc, f"5. {label('travailleur_social')}")
    kv_table(
        doc,
        [
            *field_rows(label, "travailleur_social.informe", filter="oui_non"),
            *field_rows(
                label,
                "travailleur_social.nom",
                "travailleur_social.structure",
                "travailleur_social.telephone",
                "travailleur_social.date_information",
            ),
        ],
    )

    signature_block(
        doc,
        "Le référent de la mesure",
        ["{{ mesure.referent_nom }}", "{{ mesure.operateur }}"],
        "{{ document.date_emission }}",
        "Cachet de l'opérateur",
    )
    return finish(doc, "fiche_incident.docx")


# --------------------------------------------------------------------------------------------
# Bilans (ASLL Installation, ASLL Maintien, AML): shared sections
# --------------------------------------------------------------------------------------------


class Sections:
    """Numbered section headings: ``section(label("mesure"))`` -> "1. Mesure"."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.number = 0

    def __call__(self, text: str) -> None:
        self.number += 1
        heading(self.doc, f"{self.number}. {text}")


def mesure_section(doc: Document, label: Labels, section: Sections) -> None:
    """The measure the bilan reports on (``MesureIdentiteSchema``)."""
    section(label("mesure"))
    kv_table(
        doc,
        field_rows(
            label,
            "mesure.reference",
            "mesure.menage_nom",
            "mesure.menage_prenom",
            "mesure.menage_commune",
            "mesure.operateur",
            "mesure.referent_nom",
            "mesure.travailleur_social",
            "mesure.date_debut",
            "mesure.date_fin",
        ),
    )


def rencontres_section(doc: Document, label: Labels, section: Sections) -> None:
    """Meetings held during the period (``RencontresBilanSchema``); the comment only when written."""
    section(label("rencontres"))
    kv_table(
        doc,
        [
            *field_rows(label, "rencontres.nombre"),
            (
                label("rencontres.periodes_sans_rencontre"),
                ["{% if rencontres.periodes_sans_rencontre is none %}", "Non renseigné", "{% else %}", "{{ rencontres.periodes_sans_rencontre }}", "{% endif %}"],
            ),
            *shown_if("rencontres.commentaire", field_rows(label, "rencontres.commentaire")),
        ],
    )


def objectifs_section(doc: Document, label: Labels, section: Sections) -> None:
    """The ASLL §5 objectives with their result, then the counts by result."""
    section(label("objectifs"))
    rows_table(
        doc,
        "objectifs",
        "o",
        row_columns(label, "objectifs", [("objectif", 78), ("statut", 32), ("commentaire", 60)]),
        "Aucun objectif renseigné.",
    )
    kv_table(
        doc,
        field_rows(label, "calcul.objectifs_atteint", "calcul.objectifs_partiel", "calcul.objectifs_non_atteint", "calcul.objectifs_non_travaille"),
    )


def text_section(doc: Document, label: Labels, section: Sections, path: str) -> None:
    """A long text of the household or the worker as a section of its own."""
    section(label(path))
    long_text(doc, None, f"{{{{ {path} }}}}")


def proposition_rows(label: Labels, *optional: str) -> list[Row]:
    """The proposal, then each optional path (``proposition.motifs``…) only when filled."""
    return [
        *field_rows(label, "proposition.proposition"),
        *(row for path in optional for row in shown_if(path, field_rows(label, path))),
    ]


def referent_box() -> Box:
    return Box("Le référent de la mesure", ["{{ mesure.referent_nom }}", "{{ mesure.operateur }}"], "{{ document.date_emission }}")


# --------------------------------------------------------------------------------------------
# Bilans d'ASLL (Installation, Maintien)
# --------------------------------------------------------------------------------------------


def build_bilan_asll(kind: Kind, subject: str, maintien: bool) -> Path:
    label = Labels(kind)
    doc = new_document(kind.title, subject)
    title_block(doc, due=True)
    section = Sections(doc)

    mesure_section(doc, label, section)
    rencontres_section(doc, label, section)

    if maintien:
        section(label("situation"))
        kv_table(
            doc,
            [
                (label("situation.dette_locative"), "{{ situation.dette_locative or \"Non renseignée\" }}"),
                *field_rows(label, "situation.plan_apurement", filter="oui_non"),
                *shown_if("situation.plan_apurement_detail", field_rows(label, "situation.plan_apurement_detail")),
                *field_rows(label, "situation.stade_procedure"),
            ],
        )
        long_text(doc, label("situation.projet_logement"), "{{ situation.projet_logement }}")

    objectifs_section(doc, label, section)
    text_section(doc, label, section, "avis_menage")
    text_section(doc, label, section, "evaluation")

    section(label("proposition"))
    optional = ["proposition.motifs"]
    if maintien:
        optional += ["proposition.duree_demandee_mois", "proposition.duree_deja_accordee_mois", "calcul.duree_totale_mois"]
    kv_table(doc, proposition_rows(label, *optional, "proposition.mesure_orientation"))

    # The evaluation is made with the beneficiary (ASLL §9): the household signs it too.
    signature_table(
        doc,
        "Signatures",
        [
            referent_box(),
            Box(
                "Vu, le ménage",
                [["{{ mesure.menage_prenom }}", " ", "{{ mesure.menage_nom }}"]],
                "",
                mention="Évaluation effectuée avec le ménage (ASLL §9)",
            ),
            Box("Cachet de l'opérateur", signature=False),
        ],
        [Mm(64), Mm(64), TEXT_W - Mm(128)],
    )
    return finish(doc, kind.docx_template)


def build_bilan_asll_installation() -> Path:
    return build_bilan_asll(
        bilan_asll_installation.KIND, "Bilan de fin d'accompagnement ASLL Installation (CCTP ASLL §5 et §9.1)", maintien=False
    )


def build_bilan_asll_maintien() -> Path:
    return build_bilan_asll(bilan_asll_maintien.KIND, "Bilan social ASLL Maintien (CCTP ASLL §2.2, §5 et §9.2)", maintien=True)


# --------------------------------------------------------------------------------------------
# Bilan d'AML Logement d'abord
# --------------------------------------------------------------------------------------------


def build_bilan_aml() -> Path:
    kind = bilan_aml.KIND
    label = Labels(kind)
    doc = new_document(kind.title, "Bilan d'accompagnement AML Logement d'abord (AML §4 et §7)")
    title_block(doc, subtitle="{{ type_bilan }}", due=True)
    section = Sections(doc)

    mesure_section(doc, label, section)
    rencontres_section(doc, label, section)

    section(label("prestations"))
    bullet_list(doc, "prestations", "prestation", "Aucune prestation délivrée.")
    spacer(doc)
    kv_table(doc, field_rows(label, "calcul.prestations_delivrees"))

    text_section(doc, label, section, "evolution")

    section(label("bail"))
    kv_table(
        doc,
        [
            *field_rows(label, "bail.sous_location", filter="oui_non"),
            *(row for path in ("bail.date_signature", "bail.glissement", "bail.date_glissement") for row in shown_if(path, field_rows(label, path))),
        ],
    )

    text_section(doc, label, section, "voisinage")
    text_section(doc, label, section, "avis_menage")

    section(label("proposition"))
    kv_table(doc, proposition_rows(label, "proposition.motifs", "proposition.mesure_orientation"))

    signature_block(doc, "Le référent de la mesure", referent_box().lines, "{{ document.date_emission }}", "Cachet de l'opérateur")
    return finish(doc, kind.docx_template)


# --------------------------------------------------------------------------------------------
# Contrat tripartite
# --------------------------------------------------------------------------------------------


def build_contrat_tripartite() -> Path:
    kind = contrat_tripartite.KIND
    label = Labels(kind)
    doc = new_document(kind.title, "Contrat tripartite bailleur – association – ménage (AML §4)")
    title_block(doc)

    def text(parts: Parts, keep_with_next: bool = False) -> None:
        p = doc.add_paragraph(style=style(doc, "Texte du contrat"))
        add_runs(p, parts)
        p.paragraph_format.keep_with_next = keep_with_next

    def lower_first(words: str) -> str:
        return words[:1].lower() + words[1:]

    heading(doc, "Entre les soussignés")
    for party, designation in (
        ("bailleur", "ci-après dénommé « le bailleur »,"),
        ("association", "ci-après dénommée « l'association »,"),
    ):
        heading(doc, label(party), 2)
        kv_table(doc, field_rows(label, f"{party}.nom", f"{party}.adresse", f"{party}.representant"))
        doc.add_paragraph(designation, style=style(doc, "Désignation de partie"))
    heading(doc, label("menage"), 2)
    kv_table(
        doc,
        [
            *field_rows(label, "menage.nom", "menage.prenom"),
            (label("menage.autres_occupants"), "{{ menage.autres_occupants or \"Aucun\" }}"),
        ],
    )
    doc.add_paragraph("ci-après dénommé « le ménage ».", style=style(doc, "Désignation de partie"))
    text("Il a été convenu ce qui suit, dans le cadre de l'accompagnement AML Logement d'abord (bail glissant, AML §4).")

    heading(doc, "Article 1 – Logement")
    kv_table(
        doc,
        [
            *field_rows(label, "logement.adresse", "logement.type", "logement.loyer", "logement.charges"),
            (label("calcul.total_mensuel"), "{{ calcul.total_mensuel or \"Non déterminé\" }}"),
            *field_rows(label, "logement.date_entree"),
        ],
    )

    heading(doc, f"Article 2 – {label('engagements')}")
    for number, party in enumerate(("bailleur", "association", "menage"), start=1):
        heading(doc, f"2.{number} {label(f'engagements.{party}')}", 2)
        long_text(doc, None, f"{{{{ engagements.{party} }}}}")

    heading(doc, "Article 3 – Durée et rythme des rencontres")
    kv_table(doc, field_rows(label, "modalites.duree_mois", "modalites.date_debut", "modalites.rythme"))

    heading(doc, "Signatures des parties")
    text(
        [
            f"{label('modalites.lieu_signature')} ",
            "{{ modalites.lieu_signature }}",
            f", {lower_first(label('modalites.date_signature'))} ",
            "{{ modalites.date_signature }}",
            ".",
        ],
        keep_with_next=True,
    )
    text("En trois exemplaires originaux, un pour chacune des parties.", keep_with_next=True)
    approved = "Lu et approuvé"
    signature_table(
        doc,
        None,
        [
            Box(label("bailleur"), ["{{ bailleur.nom }}", "{{ bailleur.representant }}"], mention=approved),
            Box(label("association"), ["{{ association.nom }}", "{{ association.representant }}"], mention=approved),
            Box(label("menage"), [["{{ menage.prenom }}", " ", "{{ menage.nom }}"]], mention=approved),
        ],
        [Mm(57), Mm(57), TEXT_W - Mm(114)],
    )
    return finish(doc, kind.docx_template)


# --------------------------------------------------------------------------------------------
# Bilan annuel d'un opérateur ASLL
# --------------------------------------------------------------------------------------------


def build_bilan_annuel_operateur() -> Path:
    """The yearly bilan of an operator (ASLL §10): the year's figures, then the six texts."""
    kind = bilan_annuel_operateur.KIND
    label = Labels(kind)
    doc = new_document(kind.title, "Bilan annuel des interventions d'un opérateur ASLL (CCTP ASLL §10)")
    title_block(doc, subtitle=["{{ operateur }}", f" – {label('annee').lower()} ", "{{ annee }}"], due=True)
    section = Sections(doc)

    section("Mesures de l'année")
    counts = ("suivies", "commencees", "terminees", "renouvelees")
    rows_table(
        doc,
        "chiffres.par_type",
        "ligne",
        row_columns(label, "chiffres.par_type", [("type_mesure", 50), *((name, 30) for name in counts)]),
        "Aucune mesure suivie dans l'année.",
        total=("Total", [f"{{{{ calcul.total_{name} }}}}" for name in counts]),
    )

    # The chart of the objectives is drawn in the PDF only (calcul.barres_objectifs).
    section("Objectifs")
    kv_table(
        doc,
        [
            *field_rows(
                label,
                "chiffres.objectifs_atteint",
                "chiffres.objectifs_partiel",
                "chiffres.objectifs_non_atteint",
                "chiffres.objectifs_non_travaille",
            ),
            (label("calcul.part_objectifs_atteints"), "{{ calcul.part_objectifs_atteints or \"Sans objet\" }}"),
        ],
    )

    section("Propositions et orientations")
    for path, item, empty in (
        ("chiffres.propositions", "proposition", "Aucune proposition."),
        ("chiffres.orientations", "orientation", "Aucune orientation."),
    ):
        heading(doc, label(path), 2)
        rows_table(doc, path, item, row_columns(label, path, [("libelle", 135), ("nombre", 35)]), empty)

    section("Bilans transmis")
    kv_table(doc, field_rows(label, "chiffres.bilans_transmis", "chiffres.bilans_en_retard"))

    for path in ("situation_menages", "moyens_mobilises", "partenariat", "competences", "difficultes", "axes_progres"):
        text_section(doc, label, section, path)

    signature_block(doc, "Pour l'opérateur", ["{{ operateur }}"], "{{ document.date_emission }}", "Cachet de l'opérateur")
    return finish(doc, kind.docx_template)


# --------------------------------------------------------------------------------------------
# Dossier de candidature AML Logement d'abord: the "fiche descriptive du projet" (AML §6b)
# --------------------------------------------------------------------------------------------


def build_candidature_aml() -> Path:
    """The themes of the call's "nature des projets attendus" (AML §6a), in its order, after the
    administrative identification of the applicant (AML §6b), then the budget (AML §5, §6b)."""
    kind = candidature_aml.KIND
    label = Labels(kind)
    doc = new_document(kind.title, "Fiche descriptive du projet – candidature AML Logement d'abord (AML §5 et §6)")
    title_block(doc, subtitle="Fiche descriptive du projet")
    section = Sections(doc)

    def texts(*paths: str) -> None:
        for path in paths:
            long_text(doc, label(path), f"{{{{ {path} }}}}")

    section(label("porteur"))
    kv_table(
        doc,
        [
            *field_rows(
                label,
                "porteur.raison_sociale",
                "porteur.siret",
                "porteur.adresse",
                "porteur.representant_nom",
                "porteur.representant_qualite",
                "porteur.contact_nom",
                "porteur.contact_telephone",
                "porteur.contact_email",
            ),
            *field_rows(label, "porteur.eligibilite", filter="oui_non"),
        ],
    )

    section(label("mesures"))
    rows_table(
        doc,
        "mesures",
        "m",
        row_columns(label, "mesures", [("territoire", 120), ("nombre", 50)]),
        "Aucune mesure sollicitée.",
        total=(label("calcul.total_mesures"), "{{ calcul.total_mesures }}"),
    )

    section(label("projet"))
    texts("projet.besoins_non_couverts", "projet.reponse_aml")

    section(label("fonctionnement"))
    texts("fonctionnement.vision", "fonctionnement.modularite", "fonctionnement.place_usager")
    heading(doc, label("fonctionnement.horaires"), 2)
    rows_table(
        doc,
        "fonctionnement.horaires",
        "h",
        row_columns(label, "fonctionnement.horaires", [("jour", 70), ("debut", 50), ("fin", 50)]),
        "Aucune plage horaire indiquée.",
    )
    kv_table(doc, field_rows(label, "calcul.amplitude_hebdomadaire"))

    section(label("partenariat"))
    heading(doc, label("partenariat.partenaires"), 2)
    rows_table(
        doc,
        "partenariat.partenaires",
        "p",
        row_columns(
            label,
            "partenariat.partenaires",
            [("nom", 36), ("type", 24), ("domaines", 36, 'domaines|join(", ")'), ("statut", 22), ("implication", 52)],
        ),
        "Aucun partenaire indiqué.",
    )
    texts("partenariat.ancrage")

    section(label("moyens"))
    heading(doc, label("moyens.equipe"), 2)
    rows_table(
        doc,
        "moyens.equipe",
        "membre",
        row_columns(
            label,
            "moyens.equipe",
            [("poste", 42), ("competences", 40), ("etp", 14), ("statut", 22), ("besoins", 52, 'besoins|join(", ")')],
        ),
        "Aucun membre de l'équipe indiqué.",
    )
    kv_table(doc, field_rows(label, "calcul.etp_total"))
    # AML §6a: "a minima", the coverage of five needs, by the team or by a partner.
    heading(doc, "Couverture des besoins (AML §6a)", 2)
    rows_table(
        doc,
        "calcul.couverture_besoins",
        "c",
        [
            ("Besoin", "besoin", 60),
            ("Couvert par", ["{% if c.couvert %}", "{{ c.par }}", "{% else %}", Alert("{{ c.par }}"), "{% endif %}"], 110),
        ],
        "Aucun besoin à couvrir.",
    )
    heading(doc, label("moyens.recrutements"), 2)
    rows_table(
        doc,
        "moyens.recrutements",
        "r",
        row_columns(label, "moyens.recrutements", [("poste", 110), ("date_prevue", 60)]),
        "Aucun recrutement prévu.",
    )
    texts("moyens.formations")
    tag(doc, "{%p if moyens.pair_aidance %}")
    texts("moyens.pair_aidance")
    tag(doc, "{%p endif %}")

    section(label("budget"))
    for path, total, empty in (
        ("budget.charges", "calcul.total_charges", "Aucune charge."),
        ("budget.produits", "calcul.total_produits", "Aucun produit."),
    ):
        heading(doc, label(path), 2)
        rows_table(
            doc,
            path,
            "ligne",
            row_columns(label, path, [("libelle", 125), ("montant", 45)]),
            empty,
            total=(label(total), f"{{{{ {total} }}}}"),
        )
    kv_table(doc, field_rows(label, "budget.subvention_ddcs", "budget.montant_par_mesure", "calcul.subvention_attendue"))
    tag(doc, "{%p if calcul.subvention_coherente is false %}")
    doc.add_paragraph(
        "La subvention sollicitée ne correspond pas au nombre de mesures × financement par mesure.",
        style=style(doc, "Avertissement"),
    )
    tag(doc, "{%p endif %}")

    signature_block(
        doc,
        "Le représentant légal",
        ["{{ porteur.representant_nom }}", "{{ porteur.representant_qualite }}", "{{ porteur.raison_sociale }}"],
        "{{ document.date_emission }}",
        "Cachet de l'association",
    )
    return finish(doc, kind.docx_template)


# --------------------------------------------------------------------------------------------
# Courrier d'acte de candidature AML Logement d'abord (AML §6b), an annex of the dossier
# --------------------------------------------------------------------------------------------

# AML §6b: the dossier is sent to this address (one line per part of the call's address).
AML_DESTINATAIRE = (
    "M. le Président du Conseil départemental du Pas-de-Calais",
    "Direction du Développement des Solidarités",
    "Hôtel du Département, rue Ferdinand Buisson",
    "62018 ARRAS Cedex",
)
AML_OBJET = "Candidature à l'appel « Aide à la Médiation Locative » – Logement d'abord"
BLANK = "…" * 8  # written by hand before signing


def build_candidature_courrier() -> Path:
    """The letter the legal representative signs (AML §6b): "indiquant le nombre de mesures
    sollicitées et portant engagement du porteur de projet". A letter, not a form: sender and
    addressee, subject, the request per territory and its total, the commitment and the
    subsidy, the closing formula, the signatory; place and date are left to fill by hand."""
    kind = candidature_aml.KIND
    label = Labels(kind)
    doc = new_document(
        "Courrier d'acte de candidature – AML Logement d'abord",
        "Courrier d'acte de candidature signé par le représentant légal (AML §6b)",
    )

    def text(parts: Parts, name: str = "Texte du courrier", space_before: float | None = None, keep: bool = False) -> None:
        p = doc.add_paragraph(style=style(doc, name))
        add_runs(p, parts)
        if space_before is not None:
            p.paragraph_format.space_before = Pt(space_before)
        if keep:
            p.paragraph_format.keep_with_next = True

    tag(doc, "{%p if document.brouillon %}")
    doc.add_paragraph("BROUILLON – document non soumis", style=doc.styles["Mention brouillon"])
    tag(doc, "{%p endif %}")

    # Sender top left, addressee top right (a little lower, as on a French letter).
    table = doc.add_table(rows=1, cols=2)
    table_borders(table, none=True)
    row = table.rows[0]
    row_props(row)
    sender, addressee = row.cells
    cell_paragraph(sender, "{{ porteur.raison_sociale }}", bold=True)
    for parts in (
        "{{ porteur.adresse }}",
        [f"{label('porteur.siret')} : ", "{{ porteur.siret }}"],
        [f"{label('porteur.contact_nom')} : ", "{{ porteur.contact_nom }}"],
        [f"{label('porteur.contact_telephone')} : ", "{{ porteur.contact_telephone }}"],
        "{{ porteur.contact_email }}",
    ):
        add_runs(sender.add_paragraph(style=doc.styles["Cellule"]), parts)
    first = addressee.paragraphs[0]
    first.style = doc.styles["Cellule"]
    first.paragraph_format.space_before = Pt(30)
    add_runs(first, AML_DESTINATAIRE[0], bold=True)
    for line in AML_DESTINATAIRE[1:]:
        addressee.add_paragraph(line, style=doc.styles["Cellule"])
    fixed_layout(table, [Mm(72), TEXT_W - Mm(72)])

    text([Bold("Objet : "), AML_OBJET], space_before=30)
    text(
        [
            Bold("Pièces jointes : "),
            "délibération du conseil d'administration, fiche descriptive du projet, organigramme du service, budget prévisionnel",
            "{% if moyens.recrutements %}",
            ", fiches de poste",
            "{% endif %}",
            ".",
        ],
        space_before=0,
    )
    text("Monsieur le Président,", space_before=14)
    text(
        [
            "Je soussigné(e), ",
            "{{ porteur.representant_nom }}",
            ", ",
            "{{ porteur.representant_qualite }}",
            ", représentant légal de « ",
            "{{ porteur.raison_sociale }}",
            " » (SIRET ",
            "{{ porteur.siret }}",
            "), ai l'honneur de vous présenter la candidature de notre organisme à l'appel « Aide à "
            "la Médiation Locative » – Logement d'abord, et de solliciter à ce titre ",
            # "4 mesures sur le territoire Artois, 6 mesures sur le territoire Lens-Hénin"
            "{% for m in mesures %}",
            "{{ m.nombre }}",
            " mesure",
            "{% if m.nombre is number and m.nombre > 1 %}",
            "s",
            "{% endif %}",
            " sur le territoire ",
            "{{ m.territoire }}",
            "{% if not loop.last %}",
            "{% if loop.revindex == 2 %}",
            " et ",
            "{% else %}",
            ", ",
            "{% endif %}",
            "{% endif %}",
            "{% endfor %}",
            ", soit ",
            Bold("{{ calcul.total_mesures }}"),
            Bold(" mesure"),
            "{% if calcul.total_mesures > 1 %}",
            Bold("s"),
            "{% endif %}",
            Bold(" au total"),
            ".",
        ]
    )
    text(
        [
            "Notre organisme s'engage à mettre en œuvre les mesures d'accompagnement AML Logement "
            "d'abord qui lui seront confiées dans le respect du cahier des charges de l'appel, pour "
            "la période de financement qu'il fixe, et sollicite auprès de la Direction "
            "Départementale de la Cohésion Sociale (DDCS) une subvention de ",
            Bold("{{ budget.subvention_ddcs }}"),
            ", conformément au budget prévisionnel joint.",
        ]
    )
    text(
        [
            "Pour tout renseignement complémentaire, ",
            "{{ porteur.contact_nom }}",
            " se tient à votre disposition (",
            "{{ porteur.contact_telephone }}",
            ", ",
            "{{ porteur.contact_email }}",
            ").",
        ]
    )
    text(
        "Je vous prie d'agréer, Monsieur le Président, l'expression de ma haute considération.",
        keep=True,
    )

    text(f"Fait à {BLANK}, le {BLANK}", "Signature du courrier", space_before=18)
    text(["{{ porteur.representant_qualite }}", ","], "Signature du courrier", space_before=10)
    text("{{ porteur.representant_nom }}", "Signature du courrier")
    p = doc.add_paragraph("Signature et cachet de l'organisme", style=style(doc, "Signature du courrier"))
    p.runs[0].italic = True
    p.paragraph_format.space_before = Pt(4)
    for _ in range(4):  # room for the signature
        doc.add_paragraph(style=style(doc, "Signature du courrier"))
    return finish(doc, "candidature_courrier.docx")


BUILDS = (
    build_fiche_saisine,
    build_fiche_incident,
    build_bilan_asll_installation,
    build_bilan_asll_maintien,
    build_bilan_aml,
    build_contrat_tripartite,
    build_bilan_annuel_operateur,
    build_candidature_aml,
    build_candidature_courrier,
)


def main() -> None:
    for build in BUILDS:
        path = build()
        print(f"{path.relative_to(HERE.parent)} ({path.stat().st_size} octets)")


if __name__ == "__main__":
    main()
