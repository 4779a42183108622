"""Content blocks of a Word template, each Jinja tag in a run of its own (PITFALLS §1).

Rules kept here so that docxtpl reads the templates correctly:
- every Jinja tag is a run of its own (``p.add_run("{{ x }}")``);
- ``{%tr for … %}`` and ``{%tr endfor %}`` sit alone in their own table rows;
- every ``{%p … %}`` tag is alone in its own paragraph, never two in one paragraph, and no
  ``{%p``/``{%tr`` expression contains ``%`` or ``}``; a label/value row shown only when a value
  is filled sits between a ``{%tr if … %}`` row and a ``{%tr endif %}`` row, and a table always
  keeps at least one unconditional row (a table with no row is invalid for Word);
- long user texts are alone in their paragraph (docxtpl turns their newlines into line breaks);
- nothing user-provided goes in the core properties (docxtpl renders them with Jinja too).
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from docx.document import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.shared import Mm, Pt, RGBColor
from marshmallow import fields as mf

from schemas.base.fields import Group, Rows, field_kind
from schemas.base.kind import Kind
from webforms.rendering.word.styles import (
    BORDER,
    HEAD_FILL,
    LABEL_FILL,
    LABEL_W,
    RED,
    TEXT_W,
    cell_shading,
    fixed_layout,
    row_props,
    style,
    table_borders,
)

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

    def is_checkbox(self, path: str) -> bool:
        """Tell whether the field at ``path`` is a checkbox (printed Oui/Non)."""
        return not path.startswith("calcul.") and field_kind(self._field(path)) == "checkbox"

    def _lookup(self, path: str) -> object:
        head, *rest = path.split(".")
        if head == "calcul":
            if len(rest) != 1 or rest[0] not in self.kind.derived_labels:
                raise LabelError(f"{self.kind.name} : « {path} » n'est pas une valeur calculée déclarée (derived_labels).")
            return self.kind.derived_labels[rest[0]]
        if head == "revue" and not rest and self.kind.review is not None:
            return self.kind.review.title
        return self._field(path).metadata.get("label")

    def _field(self, path: str) -> mf.Field:
        head, *rest = path.split(".")
        if head == "revue":
            if self.kind.review is None:
                raise LabelError(f"{self.kind.name} : « {path} » : ce type n'a pas de décision (review).")
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
        return field


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


def kv_table(doc: Document, rows: Iterable[Row], *, guarded: bool = False) -> None:
    """A label/value table: shaded bold label on the left, value on the right.

    A row ``(label, value, condition)`` is printed only when ``condition`` holds: it sits between
    a ``{%tr if condition %}`` row and a ``{%tr endif %}`` row (docxtpl removes both). Word
    refuses a table left without rows: one row is unconditional, or the table is ``guarded``
    by a condition that one of its rows holds.
    """
    rows = list(rows)
    assert guarded or any(len(r) == 2 for r in rows), "a table needs one unconditional row"
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
    ``zone``: the line over the signature space; "" for a box without one (the stamp).
    """

    role: str
    lines: Sequence[Parts] = ()
    date: Parts | None = None
    mention: str | None = None
    zone: str = "Signature :"


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
        if box.zone:
            p = cell.add_paragraph(box.zone, style=doc.styles["Cellule"])
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
        [Box(role, lines, date), Box(stamp, zone="")],
        [Mm(100), TEXT_W - Mm(100)],
    )


def to_bytes(doc: Document) -> bytes:
    """Return the saved file (the caller fixes its zip dates: ``webforms.rendering.normalise_docx``)."""
    buf = io.BytesIO()
    doc.save(buf)
    return buf.getvalue()
