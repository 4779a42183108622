"""Turn a formatted context back into labelled sections for the read-only page of a document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema

from schemas.base.fields import field_kind, row_schema


def _text(value: Any) -> str:
    if value is True:
        return "Oui"
    if value is False:
        return "Non"
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "—"
    return str(value)


def _items(schema: Schema, values: Mapping[str, Any], trail: str = "") -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    items: list[dict[str, str]] = []
    tables: list[dict[str, Any]] = []
    for name, field in schema.fields.items():
        label = f"{trail}{field.metadata.get('label', name)}"
        value = values.get(name)
        widget = field_kind(field)
        if widget == "group":
            sub_items, sub_tables = _items(field.schema, value or {}, f"{label} › ")  # type: ignore[attr-defined]
            items += sub_items
            tables += sub_tables
        elif widget == "rows":
            row = row_schema(field)
            tables.append(
                {
                    "title": label,
                    "headers": [f.metadata.get("label", n) for n, f in row.fields.items()],
                    "rows": [[_text(r.get(n)) for n in row.fields] for r in value or []],
                }
            )
        else:
            items.append({"label": label, "value": _text(value)})
    return items, tables


def sections(schema_cls: type[Schema], context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return one ``{"title", "items", "tables"}`` section per top-level group of the schema."""
    out: list[dict[str, Any]] = []
    loose: list[dict[str, str]] = []
    for name, field in schema_cls().fields.items():
        if field_kind(field) == "group":
            items, tables = _items(field.schema, context.get(name) or {})  # type: ignore[attr-defined]
            out.append({"title": field.metadata.get("label", name), "items": items, "tables": tables})
        else:
            items, tables = _items(_single(schema_cls, name), context)
            loose += items
    if loose:
        out.insert(0, {"title": "Généralités", "items": loose, "tables": []})
    return out


def _single(schema_cls: type[Schema], name: str) -> Schema:
    return schema_cls(only=(name,))


def computed(labels: Mapping[str, str], values: Mapping[str, Any]) -> list[dict[str, str]]:
    """Return the derived values with their French labels, for the page."""
    return [{"label": label, "value": _text(values.get(name))} for name, label in labels.items()]
