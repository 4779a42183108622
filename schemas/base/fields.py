"""Field types of the catalogue: marshmallow fields with French messages and form metadata.

Each field carries what the web form needs (label, help text, widget, choices) in its
``metadata``, so a kind's field list is written once, here, and the WTForms form is built
from it (``webforms.forms``). Validation truth is marshmallow, for the web, the CLI and tests.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Mapping
from contextvars import ContextVar
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any

from babel import Locale
from babel.numbers import format_decimal
from marshmallow import RAISE, Schema, ValidationError, missing, pre_load, validate
from marshmallow import fields as mf

REQUIRED = "Ce champ est obligatoire."
# The messages that only say "not given yet" (issue 16, point 2): REQUIRED, and a rule's message
# whose one failure is a choice not made yet (a box to tick, at least one to check or to ask),
# declared beside its rule with ``to_fill``. Until the user tries to submit or to move on, the
# pages list them in neutral terms rather than as errors (webforms.forms.split_unfilled).
UNFILLED: set[str] = {REQUIRED}


def to_fill(message: str) -> str:
    """Declare that ``message`` says only that something is still to fill in; return it."""
    UNFILLED.add(message)
    return message

# C0 control characters other than \n and \t, plus DEL. In a DOCX they become paragraph or
# page breaks, or are dropped (PITFALLS §1), so they are removed when the text is read.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

# The JSON API reads values exactly as its OpenAPI description types them (issue 17): dates
# AAAA-MM-JJ only (its error names that format), amounts "1234.50", numbers and yes/no as JSON
# numbers and booleans, choices as listed. The web form and the command line also read what
# their users type (JJ/MM/AAAA, "1 234,50", "3", "", " aml "). The API sets this while it
# reads a request (webforms.api.spec.ApiParser).
API_VALUES: ContextVar[bool] = ContextVar("api_values", default=False)
# An amount or a quantity as the API reads and writes it: up to 12 digits, a point, 2 decimals.
PLAIN_DECIMAL = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?")

_BASE_MESSAGES = {
    "required": REQUIRED,
    "null": REQUIRED,
    "validator_failed": "Valeur invalide.",
}


@cache
def schema_instance(schema_cls: type[Schema]) -> Schema:
    """Return the one shared instance of a schema class, built at its first use."""
    # Building a schema deep-copies its declared fields, and each nested schema again at its
    # first use: about a millisecond for a fiche saisine, paid several times by every page
    # showing a form. An instance keeps no state of a load or a dump (marshmallow 4 has no
    # context), so one per class serves every request, as marshmallow's own examples do.
    return schema_cls()


def _optional(required: bool) -> dict[str, Any]:
    # marshmallow 4 refuses a load_default on a required field; optional ones default to None.
    return {} if required else {"load_default": None}


def _metadata(label: str, help: str | None, **extra: Any) -> dict[str, Any]:
    return {"label": label, "help": help, **{k: v for k, v in extra.items() if v is not None}}


def clean_text(value: str) -> str:
    """Normalise line ends and drop control characters that would corrupt a document."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROL.sub("", value)


class _EmptyIsNone:
    """An empty input loads as None; validators (length, range, choices) only see real values."""

    def _validate(self, value: Any) -> None:
        if value is not None:
            super()._validate(value)  # type: ignore[misc]


class Section(Schema):
    """Base of every schema of the catalogue: unknown keys refused, French messages."""

    class Meta:
        unknown = RAISE

    error_messages = {
        "unknown": "Champ inconnu.",
        "type": "Données invalides : un objet est attendu.",
    }
    # False for a draft's form (schemas/base/draft.py), which the API reads a draft's body with:
    # a key left out stays out there, and reads back as it was sent.
    absent_tables_are_empty = True

    @pre_load
    def _absent_tables(self, data: Any, **kwargs: Any) -> Any:
        # An absent (or null) table is read as an empty one and checked as such, as the web form posts it:
        # marshmallow validates no default value, so a draft without the key skipped its "at
        # least one row", listed nothing to fill, and its submission was then refused (issue 16, point 2).
        if not self.absent_tables_are_empty or not isinstance(data, Mapping):
            return data
        absent = [f.data_key or name for name, f in self.load_fields.items() if isinstance(f, Rows) and data.get(f.data_key or name) is None]
        return {**data, **{key: [] for key in absent}} if absent else data


class Text(_EmptyIsNone, mf.String):
    """A line of text (or, with ``multiline``, a paragraph)."""

    default_error_messages = {**_BASE_MESSAGES, "invalid": "Texte attendu."}

    def __init__(
        self,
        label: str,
        *,
        help: str | None = None,
        required: bool = False,
        max_length: int | None = None,
        multiline: bool = False,
        placeholder: str | None = None,
        extra_validate: list | None = None,
        widget: str | None = None,
    ) -> None:
        max_length = max_length or (50_000 if multiline else 300)
        validators = [validate.Length(max=max_length, error="{max} caractères au maximum."), *list(extra_validate or [])]
        super().__init__(
            required=required,
            allow_none=not required,
            **_optional(required),
            validate=validators,
            metadata=_metadata(
                label,
                help,
                widget=widget or ("textarea" if multiline else "text"),
                placeholder=placeholder,
            ),
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        text = clean_text(super()._deserialize(value, attr, data, **kwargs)).strip()
        if not text:
            if self.required:
                raise self.make_error("required")
            return None
        return text




def LongText(label: str, **kwargs: Any) -> Text:
    """A multi-line paragraph (up to 50 000 characters)."""
    return Text(label, multiline=True, **kwargs)


class Date(mf.Field):
    """A calendar date, typed as AAAA-MM-JJ (date inputs, JSON) or JJ/MM/AAAA (not through the API: ``API_VALUES``)."""

    default_error_messages = {
        **_BASE_MESSAGES,
        "invalid": "Date invalide : utilisez le format JJ/MM/AAAA.",
        "invalid_iso": "Date invalide : utilisez le format AAAA-MM-JJ (ISO 8601).",
        "range": "Date invraisemblable (année entre 1900 et 2100).",
    }

    def __init__(self, label: str, *, help: str | None = None, required: bool = False) -> None:
        super().__init__(
            required=required,
            allow_none=not required,
            **_optional(required),
            metadata=_metadata(label, help, widget="date"),
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dt.date | None:
        if isinstance(value, dt.datetime):
            value = value.date()
        if isinstance(value, dt.date):
            parsed = value
        elif isinstance(value, str):
            text = value.strip()
            iso_only = API_VALUES.get()
            if not text and not iso_only:  # the API's empty date is null
                if self.required:
                    raise self.make_error("required")
                return None
            parsed = None
            for fmt in ("%Y-%m-%d",) if iso_only else ("%Y-%m-%d", "%d/%m/%Y"):
                try:
                    parsed = dt.datetime.strptime(text, fmt).date()
                    break
                except ValueError:
                    continue
            if parsed is None:
                raise self.make_error("invalid_iso" if iso_only else "invalid")
        else:
            raise self.make_error("invalid_iso" if API_VALUES.get() else "invalid")
        if not 1900 <= parsed.year <= 2100:
            raise self.make_error("range")
        return parsed

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return value.isoformat() if value else None


class Integer(_EmptyIsNone, mf.Integer):
    """A whole number."""

    default_error_messages = {**_BASE_MESSAGES, "invalid": "Nombre entier attendu.", "too_large": "Nombre trop grand."}

    def __init__(
        self,
        label: str,
        *,
        help: str | None = None,
        required: bool = False,
        min: int | None = 0,
        max: int | None = None,
        widget: str = "integer",
    ) -> None:
        # widget="lookup": the id of a row chosen in a list the application fills (an operator,
        # a referent), not a count typed by hand.
        super().__init__(
            strict=False,
            required=required,
            allow_none=not required,
            **_optional(required),
            validate=[validate.Range(min=min, max=max, error=_range_message(min, max))],
            metadata=_metadata(label, help, widget=widget),
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int | None:
        if isinstance(value, str) and API_VALUES.get():
            raise self.make_error("invalid")  # a JSON number
        if isinstance(value, str):
            value = value.strip().replace(" ", "").replace("\u202f", "").replace("\xa0", "")
            if not value:
                if self.required:
                    raise self.make_error("required")
                return None
            # int() would take "١٢" or "1_0"; a count is typed with the digits 0 to 9.
            if not _WHOLE.fullmatch(value):
                raise self.make_error("invalid")
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if isinstance(value, (float, Decimal)) and (not math.isfinite(value) or value != int(value)):
            raise self.make_error("invalid")  # 999.7 is not truncated to 999
        return super()._deserialize(value, attr, data, **kwargs)


def _range_message(min: Any, max: Any) -> str:
    if min is not None and max is not None:
        return f"Valeur attendue entre {min} et {max}."
    if min is not None:
        return f"Valeur attendue supérieure ou égale à {min}."
    return f"Valeur attendue inférieure ou égale à {max}."


_WHOLE = re.compile(r"[+-]?[0-9]+")
# A decimal number as typed once spaces are removed and the comma made a point: ASCII digits
# only (Decimal() would take "٥", "1_0" or "1e3").
_DECIMAL = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")
_CENT = Decimal("0.01")


def _two_places(number: Decimal) -> bool:
    """Has ``number`` at most two decimal places (a cent, a hundredth of a full-time post)?

    Read from its digits, trailing zeros aside ("1,500" has one): exact at any size, where
    ``quantize`` would overflow the context's precision.
    """
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # finite: checked by the callers
    trailing = len(digits) - len(bytes(digits).rstrip(b"\x00"))
    return exponent + min(trailing, max(-exponent, 0)) >= -2


_FR = Locale.parse("fr_FR")


def euros(value: Decimal | int | str | None) -> str:
    """Return an amount in euros as French documents write it: "5 000,00 €" (narrow no-break spaces,
    as Babel writes it); a decimal text ("5000.00", a call's configuration) too. "" for None."""
    if value is None:
        return ""
    # The same text as format_currency(value, "EUR", locale="fr_FR"), built faster.
    return format_decimal(Decimal(value), "#,##0.00", locale=_FR) + "\xa0€"


class Money(mf.Field):
    """An amount in euros, typed as ``1 234,50`` or ``1234.50``; kept to the cent."""

    default_error_messages = {
        **_BASE_MESSAGES,
        "invalid": "Montant invalide (exemple : 1 234,50).",
        "negative": "Le montant ne peut pas être négatif.",
        "too_large": "Montant trop élevé.",
        "cents": "Montant au centime près : deux décimales au plus.",
        "plain": "Montant invalide : une chaîne de chiffres, un point et deux décimales au plus (exemple : \"1234.50\").",
    }

    def __init__(self, label: str, *, help: str | None = None, required: bool = False, readonly: bool = False) -> None:
        super().__init__(
            required=required,
            allow_none=not required,
            **_optional(required),
            # readonly: a value taken from elsewhere (the call's amount), shown, not typed.
            metadata=_metadata(label, help, widget="money", readonly=readonly or None),
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal | None:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if API_VALUES.get() and not (isinstance(value, str) and PLAIN_DECIMAL.fullmatch(value)):
            raise self.make_error("plain")
        if isinstance(value, str):
            text = value.strip().replace("€", "").replace(" ", "").replace("\u202f", "").replace("\xa0", "")
            if not text:
                if self.required:
                    raise self.make_error("required")
                return None
            if "," in text:
                if "." in text:  # "1.234,50": dots are thousands separators here
                    text = text.replace(".", "")
                text = text.replace(",", ".")
            negative = text.startswith("-")
            if not _DECIMAL.fullmatch(text.removeprefix("-")):
                raise self.make_error("invalid")
            if negative:
                raise self.make_error("negative")
            value = text
        try:
            amount = Decimal(str(value))
        except (InvalidOperation, ValueError) as exc:
            raise self.make_error("invalid") from exc
        if not amount.is_finite():
            raise self.make_error("invalid")
        if amount < 0:
            raise self.make_error("negative")
        # Checked before the limit, so that what is stored is what was typed (no rounding
        # that would push an amount past the limit, or change it).
        if not _two_places(amount):
            raise self.make_error("cents")
        if amount >= Decimal("1e12"):
            raise self.make_error("too_large")
        return amount.quantize(_CENT)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value)


class Quantity(mf.Field):
    """A decimal quantity such as a full-time equivalent (0,5), typed with a comma or a point."""

    default_error_messages = {
        **_BASE_MESSAGES,
        "invalid": "Nombre attendu (exemple : 0,5).",
        "places": "Deux décimales au plus (exemple : 0,25).",
        "plain": "Nombre invalide : une chaîne de chiffres, un point et deux décimales au plus (exemple : \"0.25\").",
    }

    def __init__(
        self,
        label: str,
        *,
        help: str | None = None,
        required: bool = False,
        min_exclusive: Decimal | None = None,
        max: Decimal | None = None,
        range_error: str | None = None,
    ) -> None:
        super().__init__(required=required, allow_none=not required, **_optional(required), metadata=_metadata(label, help, widget="decimal"))
        self.min_exclusive, self.max, self.range_error = min_exclusive, max, range_error

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Decimal | None:
        if isinstance(value, bool):
            raise self.make_error("invalid")
        if API_VALUES.get() and not (isinstance(value, str) and PLAIN_DECIMAL.fullmatch(value)):
            raise self.make_error("plain")
        text = str(value).strip().replace(",", ".").replace(" ", "").replace("\u202f", "").replace("\xa0", "")
        if not text:
            if self.required:
                raise self.make_error("required")
            return None
        if isinstance(value, str) and not _DECIMAL.fullmatch(text.removeprefix("-")):
            raise self.make_error("invalid")
        try:
            number = Decimal(text)
        except InvalidOperation as exc:
            raise self.make_error("invalid") from exc
        if not number.is_finite():
            raise self.make_error("invalid")
        # Before the range: 0,001 must not pass "more than 0" and then be stored as 0,00.
        if not _two_places(number):
            raise self.make_error("places")
        if (self.min_exclusive is not None and number <= self.min_exclusive) or (self.max is not None and number > self.max):
            raise ValidationError(self.range_error or "Valeur hors des limites.")
        if number.adjusted() >= 12:
            raise ValidationError("Nombre trop grand.")
        return number.quantize(_CENT)

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return None if value is None else str(value)


class Bool(mf.Boolean):
    """A yes/no question (a checkbox)."""

    default_error_messages = {**_BASE_MESSAGES, "invalid": "Réponse oui/non attendue."}

    def __init__(self, label: str, *, help: str | None = None) -> None:
        super().__init__(
            required=False,
            allow_none=True,
            load_default=False,
            metadata=_metadata(label, help, widget="checkbox"),
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if API_VALUES.get() and not isinstance(value, bool):
            raise self.make_error("invalid")  # true or false (null: the field's own allow_none)
        if value is None or value == "":
            return False
        return super()._deserialize(value, attr, data, **kwargs)


class Choice(_EmptyIsNone, mf.String):
    """One value among declared choices, given as ``[(value, French label), ...]``."""

    default_error_messages = {**_BASE_MESSAGES, "invalid": "Choix invalide."}

    def __init__(
        self,
        label: str,
        choices: list[tuple[str, str]],
        *,
        help: str | None = None,
        required: bool = False,
        error: str = "Choix invalide : « {input} » ne fait pas partie de la liste.",
        widget: str = "select",
    ) -> None:
        super().__init__(
            required=required,
            allow_none=not required,
            **_optional(required),
            validate=[validate.OneOf([v for v, _ in choices], error=error)],
            metadata=_metadata(label, help, widget=widget, choices=list(choices)),
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        if API_VALUES.get():
            return super()._deserialize(value, attr, data, **kwargs)  # one of the listed values, as listed
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        if not text:
            if self.required:
                raise self.make_error("required")
            return None
        return text



class MultiChoice(mf.List):
    """Several values among declared choices (checkboxes)."""

    default_error_messages = {**_BASE_MESSAGES, "invalid": "Liste de choix attendue."}

    def __init__(
        self,
        label: str,
        choices: list[tuple[str, str]],
        *,
        help: str | None = None,
        min: int = 0,
        min_error: str = "Cochez au moins une case.",
    ) -> None:
        inner = mf.String(
            validate=validate.OneOf(
                [v for v, _ in choices], error="Choix invalide : « {input} » ne fait pas partie de la liste."
            ),
            error_messages={"invalid": "Choix invalide."},
        )
        super().__init__(
            inner,
            required=False,
            allow_none=True,
            load_default=list,
            # "At least one" fails only on a list left empty: a choice still to make.
            validate=[validate.Length(min=min, error=to_fill(min_error) if min == 1 else min_error)] if min else [],
            metadata=_metadata(label, help, widget="checkboxes", choices=list(choices)),
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list:
        if value is None:
            value = []
        return list(dict.fromkeys(super()._deserialize(value, attr, data, **kwargs)))


class Group(mf.Nested):
    """A group of fields shown together (a section or a sub-section of the form)."""

    default_error_messages = {**_BASE_MESSAGES, "type": "Données invalides : un objet est attendu."}

    def __init__(self, schema: type[Schema], label: str, *, help: str | None = None) -> None:
        super().__init__(
            schema,
            required=True,
            metadata=_metadata(label, help, widget="group"),
        )

    def deserialize(self, value: Any, attr: str | None = None, data: Any = None, **kwargs: Any) -> Any:
        # An absent or empty group is checked as an empty one, so its own fields say what is
        # missing rather than a bare "obligatoire" on the whole group.
        if value is None or value is missing:
            value = {}
        return super().deserialize(value, attr, data, **kwargs)


class Rows(mf.List):
    """A table of rows, each a small schema (children, resources, supports...)."""

    default_error_messages = {**_BASE_MESSAGES, "invalid": "Liste de lignes attendue."}

    def __init__(
        self,
        schema: type[Schema],
        label: str,
        *,
        row_label: str,
        add_label: str,
        help: str | None = None,
        min: int = 0,
        max: int = 2000,
        min_error: str | None = None,
        initial: int = 0,
    ) -> None:
        super().__init__(
            mf.Nested(schema, error_messages={"type": "Ligne invalide : un objet est attendu."}),
            required=False,
            allow_none=True,
            load_default=list,
            validate=[
                # "At least one row" fails only on a table left empty: a row still to fill in.
                validate.Length(min=min, error=to_fill(min_error) if min == 1 else min_error),
                validate.Length(max=max, error=f"Au plus {max} lignes."),
            ]
            if min_error
            else [validate.Length(min=min, max=max, error=f"Entre {min} et {max} lignes sont attendues.")],
            metadata=_metadata(
                label, help, widget="rows", row_label=row_label, add_label=add_label, initial=initial
            ),
        )

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list:
        return super()._deserialize([] if value is None else value, attr, data, **kwargs)


def field_kind(field: mf.Field) -> str:
    """Name the widget of a field (the key the form builder and the context builder use)."""
    return field.metadata.get("widget", "text")


def row_schema(field: mf.Field) -> Schema:
    """The schema of one row of a ``Rows`` field."""
    assert isinstance(field, Rows)
    return field.inner.schema  # type: ignore[attr-defined]


def choices_of(field: mf.Field) -> dict[str, str]:
    """The value -> French label mapping of a choice field."""
    return dict(field.metadata.get("choices", ()))


__all__ = [
    "REQUIRED",
    "UNFILLED",
    "Bool",
    "Choice",
    "Date",
    "Group",
    "Integer",
    "LongText",
    "Money",
    "MultiChoice",
    "Quantity",
    "Rows",
    "Section",
    "Text",
    "ValidationError",
    "choices_of",
    "clean_text",
    "field_kind",
    "row_schema",
    "to_fill",
]
