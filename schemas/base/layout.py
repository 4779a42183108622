"""How a plain kind is printed, declared once as data (``Kind.layout``).

A layout lists the document's sections and, in each, its blocks: label/value tables, long texts,
tables of rows, lists, sub-headings. Paths name the values of the document's context
(``menage.demandeur.nom``, ``calcul.plateforme``); labels come from the schema. Three readers
walk the same layout: the Word template generator (``webforms.rendering.word.layout``), the
HTML template of the PDF (``templates_html/_layout.html``, through ``resolve``) and the
document's web page (``webforms.display``). Nothing here is code to run: plain frozen tuples.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Field:
    """One label/value row: the value at ``path`` under its schema label.

    ``empty`` is printed when the value is missing (None or ""); ``suffix`` follows a present
    value (" ans"); an ``optional`` row is printed only when the value is filled; a ``labelled``
    field in a subtitle reads "Année 2019".
    """

    path: str
    empty: str | None = None
    suffix: str = ""
    optional: bool = False
    labelled: bool = False


@dataclass(frozen=True)
class Fields:
    """A label/value table."""

    rows: tuple[Field, ...]


@dataclass(frozen=True)
class Prose:
    """A long text under its label (``bare``: under the section's title only)."""

    path: str
    empty: str | None = None
    optional: bool = False
    bare: bool = False


@dataclass(frozen=True)
class Table:
    """The rows of a ``Rows`` field: ``columns`` are (column name, width in % of the page).

    ``numbers`` are right-aligned columns; ``total`` the context values of a last row, one per
    last column, under ``total_label`` (by default the label of the first total).
    """

    path: str
    columns: tuple[tuple[str, float], ...]
    empty: str
    numbers: tuple[str, ...] = ()
    total: tuple[str, ...] = ()
    total_label: str = ""


@dataclass(frozen=True)
class Bullets:
    """A list of choices (a ``MultiChoice`` field), or ``empty`` when none is ticked."""

    path: str
    empty: str


@dataclass(frozen=True)
class Heading:
    """A sub-heading: the label at ``path``, or ``text`` written as is."""

    path: str = ""
    text: str = ""


@dataclass(frozen=True)
class Chart:
    """Counts drawn as bars in the PDF (``bars``: their lengths, 0 to 100), then a share.

    Word prints the counts and the share as a label/value table.
    """

    counts: tuple[str, ...]
    bars: str
    share: str
    share_empty: str


Block = Fields | Prose | Table | Bullets | Heading | Chart


@dataclass(frozen=True)
class Part:
    """A numbered section titled by the label at ``path`` or by ``text``, then ``note``.

    ``when`` shows the section only when that context value is set (the coordinator's
    decision); ``value`` appends a context value to the title; an unnumbered section is a
    framed decision block.
    """

    blocks: tuple[Block, ...]
    path: str = ""
    text: str = ""
    note: str = ""
    when: str = ""
    value: str = ""
    numbered: bool = True


@dataclass(frozen=True)
class Box:
    """One signature box: role, lines (each a tuple of paths joined by spaces), a date line.

    ``date``: a path, ``""`` for a date written by hand, None for no date line. ``zone``: the
    line above the signature space; "" for a box with no signature (the stamp).
    """

    role: str
    lines: tuple[tuple[str, ...], ...] = ()
    date: str | None = None
    mention: str = ""
    zone: str = "Signature :"


@dataclass(frozen=True)
class Signatures:
    """Boxes side by side under ``title``, widths in % of the page."""

    title: str
    boxes: tuple[Box, ...]
    widths: tuple[float, ...]


@dataclass(frozen=True)
class Layout:
    """The whole document after its title block: subtitle, extra identification rows,
    sections, signatures."""

    sections: tuple[Part, ...]
    subtitle: tuple[Field, ...] = ()
    meta: tuple[Field, ...] = ()
    signatures: Signatures | None = None

    def digest(self) -> str:
        """Return a SHA-256 of the declaration (dataclass reprs are stable)."""
        return hashlib.sha256(repr(self).encode()).hexdigest()


def fields(*rows: str | Field) -> Fields:
    """Return a label/value table of plain paths or ``Field`` rows."""
    return Fields(tuple(Field(r) if isinstance(r, str) else r for r in rows))


def text_section(path: str, note: str = "") -> Part:
    """Return a section holding one long text, titled by its label."""
    return Part((Prose(path, bare=True),), path=path, note=note)


# --- blocks shared by the bilans (AML §4, ASLL §9) ------------------------------------------

MESURE_IDENTITE = fields(
    "mesure.reference",
    "mesure.menage_nom",
    "mesure.menage_prenom",
    "mesure.menage_commune",
    "mesure.operateur",
    "mesure.referent_nom",
    "mesure.travailleur_social",
    "mesure.date_debut",
    "mesure.date_fin",
)
RENCONTRES = (
    fields("rencontres.nombre", Field("rencontres.periodes_sans_rencontre", empty="Non déterminé")),
    Prose("rencontres.commentaire", empty="Non renseigné"),
)
# ASLL §7.1, §7.3, §8: the liaisons recorded on the ASLL bilans.
LIAISONS = (
    fields(
        Field("liaisons.date_liaison", empty="Non renseignée"),
        "liaisons.avec_locataire",
        "liaisons.ts_premiere_rencontre",
        "liaisons.accord_locataire_bailleur",
        "liaisons.bailleur_informe",
    ),
)
OBJECTIFS = (
    Table("objectifs", (("objectif", 44), ("statut", 20), ("commentaire", 36)), "Aucun objectif renseigné."),
    fields("calcul.objectifs_atteint", "calcul.objectifs_partiel", "calcul.objectifs_non_atteint", "calcul.objectifs_non_travaille"),
)


def proposition(*complements: str) -> tuple[Block, ...]:
    """Return the proposal, its motives when given, then the filled complements and orientation."""
    optional = (*complements, "proposition.mesure_orientation")
    return (
        fields("proposition.proposition"),
        Prose("proposition.motifs", optional=True),
        Fields(tuple(Field(p, optional=True) for p in optional)),
    )


REFERENT = Box("Le référent de la mesure", (("mesure.referent_nom",), ("mesure.operateur",)), "document.date_emission")
CACHET_OPERATEUR = Box("Cachet de l'opérateur", zone="")
# An ASLL bilan is evaluated with the beneficiary (ASLL §9): the household signs it too.
SIGNATURES_BILAN_ASLL = Signatures(
    "Signatures",
    (
        REFERENT,
        Box("Vu, le ménage", (("mesure.menage_prenom", "mesure.menage_nom"),), "", mention="Évaluation effectuée avec le ménage (ASLL §9)"),
        CACHET_OPERATEUR,
    ),
    (37.6, 37.6, 24.8),
)


# --- reading a layout against a document's formatted context -------------------------------


def value_at(context: Mapping[str, Any], path: str) -> Any:
    """Return the context value at a dotted path (None when a step is missing)."""
    value: Any = context
    for part in path.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def missing(value: Any) -> bool:
    """Tell whether a value is not filled: None or "" (False and 0 are values)."""
    return value is None or value == ""


def label_at(context: Mapping[str, Any], path: str) -> str:
    """Return the label of a path from the context's ``libelles`` (``calcul.x``, ``revue.x``…)."""
    return str(value_at(context["libelles"], path))


def _field(context: Mapping[str, Any], row: Field) -> Any:
    value = value_at(context, row.path)
    if missing(value):
        return row.empty if row.empty is not None else value
    return f"{value}{row.suffix}" if row.suffix else value


def _block(context: Mapping[str, Any], block: Block) -> dict[str, Any] | None:
    if isinstance(block, Fields):
        rows = [
            (label_at(context, r.path), _field(context, r))
            for r in block.rows
            if not (r.optional and missing(value_at(context, r.path)))
        ]
        return {"type": "kv", "rows": rows} if rows else None
    if isinstance(block, Prose):
        value = value_at(context, block.path)
        if block.optional and missing(value):
            return None
        shown = block.empty if missing(value) and block.empty is not None else value
        return {"type": "text", "label": label_at(context, block.path), "bare": block.bare, "value": shown}
    if isinstance(block, Table):
        labels = value_at(context["libelles"], block.path)
        total = None
        if block.total:
            total = {
                "label": block.total_label or label_at(context, block.total[0]),
                "values": [value_at(context, p) for p in block.total],
                "titles": [label_at(context, p) for p in block.total],
                "span": len(block.columns) - len(block.total),
            }
        return {
            "type": "table",
            "title": label_at(context, block.path),
            "headers": {name: labels[name] for name, _ in block.columns},
            "columns": list(block.columns),
            "rows": value_at(context, block.path) or [],
            "empty": block.empty,
            "classes": {name: "montant" for name in block.numbers},
            "total": total,
        }
    if isinstance(block, Bullets):
        return {"type": "bullets", "label": label_at(context, block.path), "items": value_at(context, block.path) or [], "empty": block.empty}
    if isinstance(block, Heading):
        return {"type": "heading", "text": block.text or label_at(context, block.path)}
    bars = value_at(context, block.bars) or []
    return {
        "type": "chart",
        "counts": [(label_at(context, p), value_at(context, p), bar) for p, bar in zip(block.counts, bars, strict=True)],
        "share_label": label_at(context, block.share),
        "share": value_at(context, block.share),
        "share_empty": block.share_empty,
    }


def _title(context: Mapping[str, Any], section: Part, number: int) -> str:
    title = section.text or label_at(context, section.path)
    if section.note:
        title = f"{title} {section.note}"
    if section.value:
        title = f"{title}{value_at(context, section.value)}"
    return f"{number}. {title}" if section.numbered else title


def resolve(layout: Layout, context: Mapping[str, Any]) -> dict[str, Any]:
    """Return the layout filled from a formatted context: plain titles, labels and values.

    The PDF's HTML template and the web page print this; the Word generator writes the same
    reading as Jinja tags.
    """
    sections = []
    number = 0
    for section in layout.sections:
        if section.when and not value_at(context, section.when):
            continue
        number += section.numbered
        blocks = [b for b in (_block(context, block) for block in section.blocks) if b is not None]
        sections.append({"title": _title(context, section, number), "decision": not section.numbered, "blocks": blocks})
    subtitle = [
        f"{label_at(context, f.path)} {value_at(context, f.path)}" if f.labelled else value_at(context, f.path)
        for f in layout.subtitle
        if not missing(value_at(context, f.path))
    ]
    signatures = None
    if layout.signatures is not None:
        boxes = [
            {
                "role": box.role,
                "lines": [" ".join(str(value_at(context, p) or "") for p in line) for line in box.lines],
                "date": None if box.date is None else (value_at(context, box.date) if box.date else ""),
                "mention": box.mention,
                "zone": box.zone,
            }
            for box in layout.signatures.boxes
        ]
        signatures = {"title": layout.signatures.title, "boxes": boxes, "widths": list(layout.signatures.widths)}
    return {
        "subtitle": " – ".join(str(s) for s in subtitle),
        "meta": [(label_at(context, f.path), _field(context, f)) for f in layout.meta],
        "sections": sections,
        "signatures": signatures,
    }
