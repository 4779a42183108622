"""Web forms built from the kinds' marshmallow schemas (a field is declared once, in schemas/).

WTForms renders and reads the form and Flask-WTF checks CSRF; validation is the schema's, whose
messages are copied next to each field (PITFALLS §4, "single source"). Every input is read as
text so that a draft keeps exactly what was typed, valid or not.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from functools import cache
from typing import Any

import wtforms.widgets
import wtforms.widgets.core
from flask_wtf import FlaskForm
from markupsafe import Markup, escape
from marshmallow import Schema, ValidationError
from marshmallow import fields as mf
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    PasswordField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms import widgets as w
from wtforms.fields.core import UnboundField
from wtforms.widgets.core import clean_key

from schemas.base.fields import UNFILLED, choices_of, field_kind, row_schema, schema_instance
from schemas.base.formats import Time
from webforms.errors import parse_id


def html_params(**kwargs: Any) -> Markup:
    """Return the attributes WTForms' ``html_params`` returns, built without ``Markup.format``."""
    # WTForms formats each attribute with ``Markup.format`` (``string.Formatter``, in Python):
    # that was half of the time a form page took to render (bench/load_bench.py). The same
    # keys in the same order, escaped the same way, give the same text; tests/test_forms.py
    # compares the two on every kind of value.
    params = []
    for key, value in sorted(kwargs.items()):
        name = escape(clean_key(key))
        if value is True:
            params.append(str(name))
        elif value is not False:
            params.append(f'{name}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    return Markup(" ".join(params))


# Where WTForms looks the function up when it renders: ``Input.html_params`` (its hook for
# subclasses) for every <input>, the widgets' module for selects, options and text areas, the
# package for labels.
w.Input.html_params = staticmethod(html_params)  # type: ignore[method-assign,assignment]
wtforms.widgets.core.html_params = html_params
wtforms.widgets.html_params = html_params


class _Checkboxes(SelectMultipleField):
    widget = w.ListWidget(prefix_label=False)
    option_widget = w.CheckboxInput()

    def pre_validate(self, form: Any) -> None:  # the schema validates choices
        pass


class _Select(SelectField):
    def pre_validate(self, form: Any) -> None:
        pass


class _Radio(RadioField):
    def pre_validate(self, form: Any) -> None:
        pass


def select_choices(pairs: Any) -> list[SelectChoice]:
    """Return WTForms choices from ``(value, label)`` pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


def _field_for(name: str, field: mf.Field) -> Any:
    meta = field.metadata
    label = meta.get("label", name)
    common: dict[str, Any] = {"label": label, "description": meta.get("help") or ""}
    render_kw: dict[str, Any] = {}
    if field.required:
        render_kw["aria-required"] = "true"
    if meta.get("placeholder"):
        render_kw["placeholder"] = meta["placeholder"]
    if meta.get("readonly"):
        render_kw["readonly"] = True
    widget = field_kind(field)
    if widget == "group":
        return FormField(_subform(field.schema.__class__), **common)  # type: ignore[attr-defined]
    if widget == "rows":
        return FieldList(
            FormField(_subform(row_schema(field).__class__), label=meta.get("row_label")),
            min_entries=0,
            render_kw={"data-row-label": meta.get("row_label"), "data-add-label": meta.get("add_label")},
            **common,
        )
    if widget == "checkboxes":
        return _Checkboxes(choices=select_choices(choices_of(field).items()), render_kw=render_kw, **common)
    if widget == "radio":
        return _Radio(choices=select_choices(choices_of(field).items()), render_kw=render_kw, **common)
    if widget == "select":
        return _Select(choices=select_choices([("", "— Choisir —"), *choices_of(field).items()]), render_kw=render_kw, **common)
    if widget == "lookup":  # its choices come from the database: the page fills them (fill_lookups)
        return _Select(choices=select_choices([("", "— Choisir —")]), render_kw=render_kw, **common)
    if widget == "checkbox":
        return BooleanField(render_kw=render_kw, **common)
    if widget == "textarea":
        return TextAreaField(render_kw={**render_kw, "rows": 5}, **common)
    if widget == "date":
        return StringField(widget=w.DateInput(), render_kw=render_kw, **common)
    if widget == "email":
        return EmailField(render_kw={**render_kw, "autocomplete": "email"}, **common)
    if widget == "tel":
        return StringField(widget=w.TelInput(), render_kw={**render_kw, "autocomplete": "tel"}, **common)
    if widget in ("integer", "money", "decimal"):
        mode = "numeric" if widget == "integer" else "decimal"
        return StringField(render_kw={**render_kw, "inputmode": mode}, **common)
    return StringField(render_kw=render_kw, **common)


def _fields_of(schema_cls: type[Schema]) -> dict[str, Any]:
    # A "recorded" field is written by the service (a name beside the id chosen), never typed.
    return {name: _field_for(name, f) for name, f in schema_instance(schema_cls).fields.items() if field_kind(f) != "recorded"}


def fill_lookups(form: FlaskForm, choices: Mapping[str, list[tuple[str, str]]]) -> FlaskForm:
    """Give the form's list fields (widget ``lookup``) their choices, the value kept selected."""
    for name, pairs in choices.items():
        field = form[name]
        field.choices = select_choices([("", "— Choisir —"), *pairs])
        if field.data not in (None, ""):
            field.data = str(field.data)  # an id read from the stored decision, compared as text
    return form


@cache
def _subform(schema_cls: type[Schema]) -> type[Form]:
    # Nested forms carry no CSRF token of their own: the page's form has one.
    return type(f"{schema_cls.__name__}Form", (Form,), _fields_of(schema_cls))


@cache
def form_class(schema_cls: type[Schema]) -> type[FlaskForm]:
    """Return the Flask-WTF form class of a schema (built once, then cached)."""
    return type(f"{schema_cls.__name__}PageForm", (FlaskForm,), _fields_of(schema_cls))


@cache
def step_form_class(schema_cls: type[Schema], name: str) -> type[FlaskForm]:
    """Return the form of one step of a long form: one top-level field of the schema."""
    return type(f"{schema_cls.__name__}_{name}_StepForm", (FlaskForm,), {name: _field_for(name, schema_instance(schema_cls).fields[name])})


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, Mapping):
        return {k: _clean(v) for k, v in value.items() if k != "csrf_token"}
    if isinstance(value, list):
        cleaned = [_clean(v) for v in value]
        # An untouched table row is not data.
        return [v for v in cleaned if not (isinstance(v, Mapping) and _is_blank(v))]
    return value


def _is_blank(value: Any) -> bool:
    if isinstance(value, Mapping):
        return all(_is_blank(v) for v in value.values())
    if isinstance(value, list):
        return all(_is_blank(v) for v in value)
    return value in (None, False, "")


def payload_of(form: FlaskForm) -> dict[str, Any]:
    """Return the form's data as the payload the schema reads (strings as typed, '' -> None)."""
    return _clean(form.data)


def normalised_times(schema_cls: type[Schema], payload: Mapping[str, Any]) -> dict[str, Any]:
    """Return a copy of a payload where each time of day written a way people write it ("9h", "9 h 30") reads ``HH:MM``.

    Issue 16, point 6: the draft keeps what was typed, but a time the schema reads is saved and
    shown as it will be printed ("09:00"); a time it refuses ("25h") stays as typed, beside its error.
    """
    out: dict[str, Any] = dict(payload)
    for name, f in schema_instance(schema_cls).fields.items():
        value = out.get(name)
        widget = field_kind(f)
        if widget == "group" and isinstance(value, Mapping):
            out[name] = normalised_times(f.schema.__class__, value)  # type: ignore[attr-defined]
        elif widget == "rows" and isinstance(value, list):
            row_cls = row_schema(f).__class__
            out[name] = [normalised_times(row_cls, row) if isinstance(row, Mapping) else row for row in value]
        elif isinstance(f, Time) and isinstance(value, str):
            with suppress(ValidationError):  # refused: kept as typed, the page shows why
                out[name] = f.deserialize(value)
    return out


def with_initial_rows(schema_cls: type[Schema], payload: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return a copy of a payload where each table shows at least its initial empty rows."""
    # Untouched rows are not stored (see ``payload_of``), so a table declared with one initial
    # row shows it again each time the form is displayed, ready to be filled.
    out: dict[str, Any] = dict(payload or {})
    for name, f in schema_instance(schema_cls).fields.items():
        widget = field_kind(f)
        if widget == "group":
            value = out.get(name)
            out[name] = with_initial_rows(f.schema.__class__, value if isinstance(value, Mapping) else {})  # type: ignore[attr-defined]
        elif widget == "rows":
            rows = out.get(name)
            rows = list(rows) if isinstance(rows, list) else []
            rows += [{} for _ in range(f.metadata.get("initial", 0) - len(rows))]
            out[name] = rows
    return out


def _rows_field(schema_cls: type[Schema], keys: list[str]) -> mf.Field | None:
    """Return the ``Rows`` field at a dashed path (``menage-enfants``), or None if there is none."""
    schema: Schema = schema_instance(schema_cls)
    for depth, key in enumerate(keys):
        field = schema.fields.get(key)
        if field is None:
            return None
        if depth == len(keys) - 1:
            return field if field_kind(field) == "rows" else None
        if field_kind(field) != "group":
            return None
        schema = field.schema  # type: ignore[attr-defined]
    return None


def _rows_shown(form: Any, keys: list[str]) -> list[dict[str, Any]] | None:
    """Return the rows of the table at ``keys`` as the page showed them, a blank one as ``{}``; None if the form has no such table."""
    node = form
    try:
        for key in keys:
            node = node[key]
    except (KeyError, TypeError):
        return None
    if not isinstance(node, FieldList):
        return None
    rows = [_clean(entry.data) for entry in node.entries]
    return [{} if _is_blank(row) else row for row in rows if isinstance(row, Mapping)]


def change_rows(schema_cls: type[Schema], payload: dict[str, Any], action: str, form: Any = None) -> bool:
    """Apply ``add:path`` or ``remove:path:index`` to a payload; return False if it is not one.

    ``form``: the posted form, whose table rows are taken as the page showed them. The payload
    leaves out a row left blank (``payload_of``); without its place kept, a second "Ajouter"
    on a blank row added nothing, and removing a blank row removed the filled one after it.
    """
    # ``path`` is a table's id with dashes (``menage-enfants``), as WTForms names it; anything
    # that is not a table of the schema is ignored, so a forged action cannot add keys.
    parts = action.split(":")
    if len(parts) not in (2, 3) or parts[0] not in ("add", "remove"):
        return False
    keys = parts[1].split("-")
    field = _rows_field(schema_cls, keys)
    if field is None:
        return False
    node: Any = payload
    for key in keys[:-1]:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    shown = _rows_shown(form, keys) if form is not None else None
    rows = node.get(keys[-1]) if shown is None else shown
    rows = list(rows) if isinstance(rows, list) else []
    if parts[0] == "add":
        if len(rows) >= 2000:
            return False
        # The table showed its initial empty rows (never stored while blank): keep them.
        rows += [{} for _ in range(field.metadata.get("initial", 0) - len(rows))]
        rows.append({})
    else:
        index = parse_id(parts[2]) if len(parts) == 3 else None
        if index is None or index >= len(rows):
            return False
        del rows[index]
    node[keys[-1]] = rows
    return True


def attach_errors(form: Form, errors: Mapping[Any, Any]) -> None:
    """Put marshmallow's nested messages on the matching WTForms fields."""
    for key, value in errors.items():
        if key == "_schema":
            form.form_errors.extend(_messages(value))
            continue
        field = form._fields.get(key) if isinstance(key, str) else None
        if field is None:
            form.form_errors.extend(f"{key} : {m}" for m in _messages(value))
            continue
        if isinstance(field, FormField) and isinstance(value, Mapping):
            attach_errors(field.form, value)
        elif isinstance(field, FieldList) and isinstance(value, Mapping):
            for index, sub in value.items():
                if isinstance(index, int) and index < len(field.entries) and isinstance(sub, Mapping):
                    attach_errors(field.entries[index].form, sub)
                else:
                    field.errors = [*field.errors, *_messages(sub)]
        else:
            field.errors = [*field.errors, *_messages(value)]


def _messages(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Mapping):
        return [m for v in value.values() for m in _messages(v)]
    if isinstance(value, list):
        return [m for v in value for m in _messages(v)]
    return [str(value)]


_UNKNOWN = object()


def split_unfilled(errors: Mapping[Any, Any], data: Any = _UNKNOWN) -> tuple[dict[Any, Any], dict[Any, Any]]:
    """Split errors into what is only left empty and the rest (a value to correct, a rule).

    Left empty: every message is one of ``UNFILLED``, or, given the ``data`` the errors are of,
    the field's value is blank. A rule whose failure is "not given yet" (« Décrivez le plan
    d'apurement » when a plan is in place) is then to fill, like a required field, whether or
    not its message was declared with ``to_fill``: the page lists what a submission will ask
    for, no more, no fewer (issue 16, point 2).
    """
    unfilled: dict[Any, Any] = {}
    rest: dict[Any, Any] = {}
    for key, value in errors.items():
        sub = _UNKNOWN if data is _UNKNOWN or key == "_schema" else _part(data, key)
        if isinstance(value, Mapping):
            empty, wrong = split_unfilled(value, sub)
            if empty:
                unfilled[key] = empty
            if wrong:
                rest[key] = wrong
        elif _messages(value) and (all(m in UNFILLED for m in _messages(value)) or (sub is not _UNKNOWN and _is_blank(sub))):
            unfilled[key] = value
        else:
            rest[key] = value
    return unfilled, rest


def _part(data: Any, key: Any) -> Any:
    """The value under ``key`` (a name, a row's index) of ``data``; None when absent."""
    if isinstance(data, Mapping):
        return data.get(key)
    if isinstance(data, list) and isinstance(key, int) and 0 <= key < len(data):
        return data[key]
    return None


def error_summary(schema_cls: type[Schema], errors: Mapping[Any, Any], prefix: str = "", trail: tuple[str, ...] = ()) -> list[dict[str, str]]:
    """Flatten errors into ``{"where", "message", "anchor"}`` rows for the page's summary."""
    rows: list[dict[str, str]] = []
    fields = schema_instance(schema_cls).fields
    for key, value in errors.items():
        if key == "_schema":
            anchor = prefix.rstrip("-") or "top"
            rows += [{"where": " › ".join(trail) or "Document", "message": m, "anchor": anchor} for m in _messages(value)]
            continue
        field = fields.get(key) if isinstance(key, str) else None
        if field is None:
            rows += [{"where": " › ".join((*trail, str(key))), "message": m, "anchor": "top"} for m in _messages(value)]
            continue
        label = field.metadata.get("label", key)
        anchor = f"{prefix}{key}"
        widget = field_kind(field)
        if widget == "group" and isinstance(value, Mapping):
            rows += error_summary(field.schema.__class__, value, f"{anchor}-", (*trail, label))  # type: ignore[attr-defined]
        elif widget == "rows" and isinstance(value, Mapping):
            row_cls = row_schema(field).__class__
            for index, sub in value.items():
                if isinstance(index, int) and isinstance(sub, Mapping):
                    where = (*trail, label, f"{field.metadata.get('row_label', 'Ligne')} {index + 1}")
                    rows += error_summary(row_cls, sub, f"{anchor}-{index}-", where)
                else:
                    rows += [{"where": " › ".join((*trail, label)), "message": m, "anchor": anchor} for m in _messages(sub)]
        else:
            rows += [{"where": " › ".join((*trail, label)), "message": m, "anchor": anchor} for m in _messages(value)]
    return rows


def field_attrs(field: Any) -> dict[str, str]:
    """Return the ARIA attributes that tie a field to its help text and its errors."""
    ids = [f"{field.id}-help"] if field.description else []
    attrs: dict[str, str] = {}
    if field.errors:
        ids.append(f"{field.id}-error")
        attrs["aria-invalid"] = "true"
    if ids:
        attrs["aria-describedby"] = " ".join(ids)
    return attrs


class LoginForm(FlaskForm):
    """The sign-in form."""

    email = EmailField("Adresse électronique", render_kw={"autocomplete": "username"})
    password = PasswordField("Mot de passe", render_kw={"autocomplete": "current-password"})


class ActionForm(FlaskForm):
    """A form with nothing but its CSRF token, for buttons that change something."""


class OrganisationForm(FlaskForm):
    """The administrator's form to create an organisation."""

    name = StringField("Nom de l'organisation")


class UserForm(FlaskForm):
    """The administrator's form to create an account (choices filled by the view)."""

    email = EmailField("Adresse électronique")
    full_name = StringField("Nom complet")
    role = SelectField("Rôle", choices=[], validate_choice=False)
    organisation_id = SelectField("Organisation", choices=[], validate_choice=False)


def _is_field(cls: type[FlaskForm], name: str) -> bool:
    """Tell whether ``name`` is a field of the form class (``form._fields`` once built, its CSRF token aside)."""
    return not name.startswith("_") and isinstance(getattr(cls, name, None), UnboundField)


class _CsrfOnly(FlaskForm):
    """A form of no field but its CSRF token: what a ``ShownForm`` shows of the token."""


class ShownForm:
    """A form shown from stored data (nothing posted), its WTForms fields built only when needed.

    A page showing a draft or an empty form needs the fields' markup, which ``form_fields``
    keeps per state (``webforms.form_markup``). Given as ``ShownForm``, that state is the form's
    class, its data and the errors shown: a state already rendered costs neither building the
    form's fields nor their fingerprint (issue 11: two fifths of the draft page's CPU).
    Anything else the page reads (the CSRF token, the form-level errors) is the same as the
    built form's; ``form`` builds it.
    """

    def __init__(self, cls: type[FlaskForm], data: Mapping[str, Any], errors: Mapping[str, Any] | None = None) -> None:
        self.cls = cls
        self.data = data
        self.errors = dict(errors or {})
        self._form: FlaskForm | None = None

    def showing(self, errors: Mapping[str, Any]) -> ShownForm:
        """Return the same form with ``errors`` put on its fields (as ``attach_errors`` does)."""
        return ShownForm(self.cls, self.data, {**self.errors, **errors})

    @property
    def markup_key(self) -> tuple[Any, ...]:
        # repr tells a type from another (a date from its text): two states showing the same
        # markup may have two keys, two states showing different markups never share one.
        return (self.cls, repr(self.data), repr(self.errors))

    @property
    def form(self) -> FlaskForm:
        """The WTForms form itself, built once, the errors attached."""
        if self._form is None:
            self._form = self.cls(formdata=None, data=self.data)
            if self.errors:
                attach_errors(self._form, self.errors)
        return self._form

    @property
    def csrf_token(self) -> Any:
        return getattr(_CsrfOnly(formdata=None), "csrf_token", "")

    @property
    def form_errors(self) -> list[str]:
        # Only a top-level message with no field of its own is the form's (see attach_errors).
        if any(not isinstance(key, str) or not _is_field(self.cls, key) for key in self.errors):
            return list(self.form.form_errors)
        return []
