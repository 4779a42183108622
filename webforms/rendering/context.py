"""One context builder for every output: typed data in, plain French display values out.

Templates (Word and HTML) receive only what this module returns: strings, numbers, booleans,
lists and dicts. They never see ORM objects, and every date and amount is already formatted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.dates import format_datetime
from babel.numbers import format_decimal
from marshmallow import Schema
from marshmallow import fields as mf

from schemas.base.fields import choices_of, euros, field_kind, row_schema
from schemas.base.kind import Kind
from webforms.rendering.marque import Mark, qr_svg
from webforms.timeutil import PARIS

FR = Locale.parse("fr_FR")
# Month names and the amount pattern are looked up once: Babel's generic calls re-parse the
# locale and the currency data on each call, which was most of the context's cost.
_MONTHS = [FR.months["format"]["wide"][m] for m in range(1, 13)]


def date_fr(value: dt.date | str | None) -> str:
    """Return a date as on an official French letter: "1er mars 2024", "6 septembre 2019".

    An ISO date string (a call's configuration keeps its dates so) is read first.
    """
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = dt.date.fromisoformat(value)
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {_MONTHS[value.month - 1]} {value.year}"


def datetime_fr(value: dt.datetime | None) -> str:
    """Return an aware datetime in Paris time: "6 septembre 2019 à 16:00"."""
    if value is None:
        return ""
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    local = value.astimezone(PARIS)
    return f"{date_fr(local.date())} à {format_datetime(local, 'HH:mm', tzinfo=PARIS, locale='fr_FR')}"


def _format_field(field: mf.Field, value: Any) -> Any:
    widget = field_kind(field)
    if widget == "group":
        return format_section(field.schema, value or {})  # type: ignore[attr-defined]
    if widget == "rows":
        schema = row_schema(field)
        return [format_section(schema, row) for row in value or []]
    if widget == "checkboxes":
        labels = choices_of(field)
        return [labels.get(v, v) for v in value or []]
    if widget in ("select", "radio"):
        return choices_of(field).get(value, value) if value else None
    if widget == "checkbox":
        return bool(value)
    if widget == "decimal":
        # A quantity, not an amount: "0,5", never "0,50 €".
        return None if value is None else format_decimal(value, "#,##0.##", locale=FR)
    return format_plain(value)


def format_plain(value: Any) -> Any:
    """Format a value by its Python type (for derived values, which have no field)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, dt.datetime):
        return datetime_fr(value)
    if isinstance(value, dt.date):
        return date_fr(value)
    if isinstance(value, Decimal):
        return euros(value)
    if isinstance(value, Mapping):
        return {k: format_plain(v) for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, str):
        return [format_plain(v) for v in value]
    return value


def format_section(schema: Schema | type[Schema], data: Mapping[str, Any]) -> dict[str, Any]:
    """Format every field a schema declares, present in the data or not."""
    if isinstance(schema, type):
        schema = schema()
    return {name: _format_field(f, data.get(name)) for name, f in schema.fields.items()}


class Labels(dict):
    """The French labels of a group or table's fields; printed, it gives the group's own label.

    ``{{ libelles.menage }}`` prints "Ménage" and ``{{ libelles.menage.demandeur.nom }}`` "Nom":
    documents take their wording from the schema, where it is written once.
    """

    def __init__(self, label: str, children: dict[str, Any]) -> None:
        super().__init__(children)
        self.label = label

    def __str__(self) -> str:
        return self.label


def labels_of(schema: Schema | type[Schema], label: str = "") -> Labels:
    """Return the nested labels of a schema's fields."""
    if isinstance(schema, type):
        schema = schema()
    children: dict[str, Any] = {}
    for name, f in schema.fields.items():
        text = f.metadata.get("label", name)
        widget = field_kind(f)
        if widget == "group":
            children[name] = labels_of(f.schema, text)  # type: ignore[attr-defined]
        elif widget == "rows":
            children[name] = labels_of(row_schema(f), text)
        else:
            children[name] = text
    return Labels(label, children)


@dataclass(frozen=True)
class DocumentMeta:
    """What the document says about itself: reference, dates, issuing body, status."""

    reference: str | None = None
    organisation: str | None = None
    author: str | None = None
    issued_at: dt.datetime | None = None
    draft: bool = True
    version: int | None = None
    due: dt.date | None = None  # a bilan's due date (from its measure)
    late: bool = False  # transmitted after ``due``
    digest: str | None = None  # of the frozen version's data (webforms.rendering.marque.data_digest)
    extra: Mapping[str, Any] = field(default_factory=dict)


def _mark(meta: DocumentMeta) -> dict[str, Any]:
    # Only a frozen version is what a signed copy can be the copy of: a draft carries no mark.
    if meta.draft or not meta.reference or not meta.version or not meta.digest:
        return {"marque": "", "qr_marque": ""}
    mark = Mark(meta.reference, meta.version, meta.digest)
    return {"marque": mark.text, "qr_marque": qr_svg(mark)}


def build_context(
    kind: Kind,
    data: Mapping[str, Any],
    meta: DocumentMeta,
    review: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Return the plain context of one document: its fields, ``calcul``, ``document``, ``revue``."""
    ctx = format_section(kind.schema, data)
    ctx["calcul"] = {k: format_plain(v) for k, v in kind.derive(data).items()}
    ctx["libelles"] = labels_of(kind.schema, kind.title)
    ctx["libelles"]["calcul"] = dict(kind.derived_labels)
    if kind.review is not None:
        ctx["libelles"]["revue"] = labels_of(kind.review.schema, kind.review.title)
    ctx["document"] = {
        "titre": kind.title,
        "organisme_emetteur": kind.issuing_body,
        "source": kind.source,
        "destinataires": list(kind.recipients),
        "reference": meta.reference or "",
        "organisation": meta.organisation or "",
        "auteur": meta.author or "",
        "date_emission": date_fr(meta.issued_at.astimezone(PARIS).date()) if meta.issued_at else "",
        "horodatage": datetime_fr(meta.issued_at),
        "brouillon": meta.draft,
        "version": meta.version or "",
        "echeance": date_fr(meta.due),
        "en_retard": meta.late,
        **_mark(meta),
        **meta.extra,
    }
    ctx["revue"] = (
        {"titre": kind.review.title, **format_section(kind.review.schema, review)}
        if kind.review is not None and review
        else None
    )
    return ctx
