"""Write the Word template of a plain kind from its declared layout (``Kind.layout``).

The template says what ``schemas.base.layout.resolve`` reads, in Jinja tags docxtpl fills:
labels are written literally (staff editing the file in Word read words, not tags), values as
``{{ path }}``; a missing value (None or "") prints the field's ``empty`` text, an optional row
or text is printed only when filled.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from docx.document import Document
from docx.shared import Mm

from schemas.base.kind import Kind
from schemas.base.layout import Block, Bullets, Chart, Field, Fields, Heading, Part, Prose, Signatures, Table
from webforms.rendering.word.blocks import (
    Box,
    Labels,
    Parts,
    Row,
    bullet_list,
    heading,
    kv_table,
    long_text,
    rows_table,
    signature_table,
    tag,
    title_block,
    to_bytes,
)
from webforms.rendering.word.styles import TEXT_W, new_document


def _width(percent: float) -> Mm:
    return Mm(round(percent * TEXT_W.mm / 100, 2))


def _filled(path: str) -> str:
    return f'{path} is not none and {path} != ""'


class _Writer:
    """Walk one kind's layout into a python-docx document."""

    def __init__(self, kind: Kind) -> None:
        self.kind = kind
        self.label = Labels(kind)
        # Derived values have no field: the example says which ones are yes/no.
        self.derived: Mapping[str, Any] = kind.derive(kind.load(kind.example))

    def value(self, field: Field) -> list[str]:
        """The runs of a value: Oui/Non for a checkbox, the ``empty`` text when missing."""
        path = field.path
        name = path.removeprefix("calcul.")
        if self.label.is_checkbox(path) or (path.startswith("calcul.") and isinstance(self.derived.get(name), bool)):
            expr = f"{{{{ {path}|oui_non }}}}"
        elif path.startswith("calcul.") and self.derived.get(name) is None:
            expr = f"{{{{ {path}|oui_non if {path} is boolean else {path} }}}}"
        else:
            expr = f"{{{{ {path} }}}}"
        present = [expr, field.suffix] if field.suffix else [expr]
        if field.empty is None:
            return present
        return [f'{{% if {path} is none or {path} == "" %}}', field.empty, "{% else %}", *present, "{% endif %}"]

    def rows(self, fields: tuple[Field, ...]) -> list[Row]:
        return [
            (self.label(f.path), self.value(f), _filled(f.path)) if f.optional else (self.label(f.path), self.value(f))
            for f in fields
        ]

    def block(self, doc: Document, block: Block) -> None:
        if isinstance(block, Fields):
            self.fields(doc, block.rows)
        elif isinstance(block, Prose):
            expr = f'{{{{ {block.path} or "{block.empty}" }}}}' if block.empty else f"{{{{ {block.path} }}}}"
            if block.optional:
                tag(doc, f"{{%p if {block.path} %}}")
            long_text(doc, None if block.bare else self.label(block.path), expr)
            if block.optional:
                tag(doc, "{%p endif %}")
        elif isinstance(block, Table):
            self.table(doc, block)
        elif isinstance(block, Bullets):
            bullet_list(doc, block.path, "element", block.empty)
        elif isinstance(block, Heading):
            heading(doc, block.text or self.label(block.path), 2)
        elif isinstance(block, Chart):
            # The bars are drawn in the PDF only; Word prints the counts and the share.
            self.fields(doc, (*(Field(p) for p in block.counts), Field(block.share, empty=block.share_empty)))

    def fields(self, doc: Document, fields: tuple[Field, ...]) -> None:
        if any(not f.optional for f in fields):
            kv_table(doc, self.rows(fields))
            return
        # Only optional rows: the table is left out when none is filled.
        tag(doc, "{%p if " + " or ".join(f"({_filled(f.path)})" for f in fields) + " %}")
        kv_table(doc, self.rows(fields), guarded=True)
        tag(doc, "{%p endif %}")

    def table(self, doc: Document, block: Table) -> None:
        columns = [(self.label(f"{block.path}.{name}"), name, _width(width).mm) for name, width in block.columns]
        total = None
        if block.total:
            values: Parts | list[Parts] = [f"{{{{ {p} }}}}" for p in block.total]
            total = (block.total_label or self.label(block.total[0]), values if len(values) > 1 else values[0])
        rows_table(doc, block.path, "ligne", columns, block.empty, total=total)

    def part(self, doc: Document, part: Part, number: int) -> None:
        title: list[str] = [part.text or self.label(part.path)]
        if part.note:
            title.append(f" {part.note}")
        if part.value:
            title.append(f"{{{{ {part.value} }}}}")
        if part.numbered:
            title.insert(0, f"{number}. ")
        heading(doc, "".join(title) if not part.value else title)
        for block in part.blocks:
            self.block(doc, block)

    def signatures(self, doc: Document, signatures: Signatures) -> None:
        boxes = [
            Box(
                box.role,
                [[part for path in line for part in (" ", f"{{{{ {path} }}}}")][1:] for line in box.lines],
                None if box.date is None else (f"{{{{ {box.date} }}}}" if box.date else ""),
                box.mention or None,
                box.zone,
            )
            for box in signatures.boxes
        ]
        signature_table(doc, signatures.title, boxes, [_width(w) for w in signatures.widths])


def layout_docx(kind: Kind) -> bytes:
    """Return the Word template of a kind with a layout (zip dates not yet fixed)."""
    layout = kind.layout
    if layout is None:
        raise ValueError(f"Le type « {kind.name} » ne déclare pas de mise en page.")
    writer = _Writer(kind)
    doc = new_document(kind.title, kind.source)
    subtitle: list[str] = []
    for field in layout.subtitle:
        subtitle += [" – "] if subtitle else []
        subtitle += [f"{writer.label(field.path)} ", f"{{{{ {field.path} }}}}"] if field.labelled else [f"{{{{ {field.path} }}}}"]
    title_block(doc, writer.rows(layout.meta), subtitle=subtitle or None, due=True)
    number = 0
    for part in layout.sections:
        if part.when:
            tag(doc, f"{{%p if {part.when} %}}")
        number += part.numbered
        writer.part(doc, part, number)
        if part.when:
            tag(doc, "{%p endif %}")
    if layout.signatures is not None:
        writer.signatures(doc, layout.signatures)
    return to_bytes(doc)
