"""Turn a formatted context into labelled sections for the read-only page of a document."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import Schema

from schemas import registry
from schemas.base.fields import field_kind, row_schema, schema_instance
from schemas.base.kind import Kind
from schemas.base.layout import resolve


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
        if widget == "lookup":
            continue  # an id chosen from a list: the name recorded beside it is what is shown
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


def sections(source: Kind | type[Schema], context: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the page's ``{"title", "items", "tables"}`` sections of a document.

    A kind with a layout (or its schema, as the document view passes it) is shown as its Word
    and PDF documents print it: the same layout, read by ``schemas.base.layout.resolve``. Any
    other schema (the candidature, the contract, a decision) shows one section per top-level
    group of its fields.
    """
    kind = source if isinstance(source, Kind) else _declaring(source)
    if kind is None or kind.layout is None:
        return _schema_sections(source if isinstance(source, type) else source.schema, context)
    return [_page_section(section) for section in resolve(kind.layout, context)["sections"]]


def _declaring(schema_cls: type[Schema]) -> Kind | None:
    """The registered kind whose schema is ``schema_cls`` (None for a decision's schema)."""
    return next((k for k in registry().values() if k.schema is schema_cls), None)


def _page_section(section: Mapping[str, Any]) -> dict[str, Any]:
    items: list[dict[str, str]] = []
    tables: list[dict[str, Any]] = []
    for block in section["blocks"]:
        kind = block["type"]
        if kind == "kv":
            items += [{"label": label, "value": _text(value)} for label, value in block["rows"]]
        elif kind == "text":
            items.append({"label": block["label"], "value": _text(block["value"])})
        elif kind == "bullets":
            items.append({"label": block["label"], "value": _text(block["items"]) if block["items"] else block["empty"]})
        elif kind == "chart":
            items += [{"label": label, "value": _text(count)} for label, count, _ in block["counts"]]
            items.append({"label": block["share_label"], "value": block["share"] or block["share_empty"]})
        elif kind == "table":
            names = [name for name, _ in block["columns"]]
            rows = [[_text(row.get(name)) for name in names] for row in block["rows"]]
            total = block["total"]
            if total and rows:
                rows.append([total["label"], *[""] * (total["span"] - 1), *(_text(v) for v in total["values"])])
            tables.append({"title": block["title"], "headers": [block["headers"][n] for n in names], "rows": rows})
    return {"title": section["title"], "items": items, "tables": tables}


def _schema_sections(schema_cls: type[Schema], context: Mapping[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    loose: list[dict[str, str]] = []
    for name, field in schema_instance(schema_cls).fields.items():
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
