"""A kind's schema in draft form: what a draft sent through the API may hold (issue 17).

The same fields, with the same types, limits and choices (so the OpenAPI description says
exactly what is read), but none required, every group and table also in draft form, and none
of the schema's own cross-field rules: a draft may be incomplete or not yet consistent, and
the validation (``Kind.validate``) names what is missing before submission, as on the web.
"""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

from marshmallow import Schema, ValidationError, missing
from marshmallow import fields as mf

from schemas.base.fields import Section, schema_instance

SUFFIX = "Brouillon"


@cache
def draft_of(schema_cls: type[Schema]) -> type[Schema]:
    """Return the draft form of ``schema_cls``, built once (named ``<Name>Brouillon``, in the kind's module)."""
    name = schema_cls.__name__.removesuffix("Schema") + SUFFIX
    draft = Section.from_dict({key: _draft_field(field) for key, field in schema_cls._declared_fields.items()}, name=name)
    # The OpenAPI component is named after the module, as the kind's own schema is (webforms.api.spec).
    draft.__module__ = schema_cls.__module__
    draft.__qualname__ = name
    draft.absent_tables_are_empty = False  # left out, a table is still to fill, not an empty one
    return draft


def _draft_field(field: mf.Field) -> mf.Field:
    """Return a copy of ``field`` that a draft may leave out, its nested schema in draft form."""
    out = copy.copy(field)
    # Left out or null: still to be filled (a group sent as null is read as an empty one); left
    # out, it stays out: no default takes its place, so a draft reads back as it was sent.
    out.required, out.allow_none, out.load_default = False, True, missing
    if isinstance(out, mf.Nested):
        _nest(out)
    elif isinstance(out, mf.List) and isinstance(out.inner, mf.Nested):
        out.inner = copy.copy(out.inner)
        _nest(out.inner)
    return out


def _nest(field: mf.Nested) -> None:
    assert isinstance(field.nested, type), "a catalogue group names its schema class"
    field.nested = draft_of(field.nested)
    field._schema = None  # built again from the draft schema at its first use


def readable(schema_cls: type[Schema], data: Any) -> dict[str, Any]:
    """Return what ``data`` says that the draft form of ``schema_cls`` reads, as the API writes values.

    A draft saved on the web holds what was typed ("12/03/2019", "1 234,50"): it is given back
    typed as the description says ("2019-03-12", "1234.50"); what does not read yet (a date
    typed wrong) is left out, and the validation names it.
    """
    schema = schema_instance(draft_of(schema_cls))
    try:
        valid = schema.load(data if isinstance(data, dict) else {})
    except ValidationError as err:
        valid = err.valid_data if isinstance(err.valid_data, dict) else {}
    return schema.dump(valid)
