"""Names (a person's, a household's, an organisation's, a criterion's): refused, not cleaned, when they hide a character (issue 15)."""

from __future__ import annotations

import unicodedata
from typing import Any

from marshmallow import ValidationError

from schemas.base.fields import Text

# What a name may not hold (issue 15: "control characters are refused in every name"), beside
# the controls (C0, DEL, C1: category Cc): the line and paragraph separators and the
# bidirectional overrides and isolates, which reverse a name on screen ("\u202egpj.exe").
# ``webforms.errors.name_problem`` refuses the same ones in the names the services take.
INVISIBLE_IN_NAMES = frozenset("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# The same refusal as a JSON Schema pattern, for the API's description (``webforms.api.spec``):
# the controls are U+0000–U+001F and U+007F–U+009F (category Cc).
NAME_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028-\\u202e\\u2066-\\u2069]*$"


def hidden_in_name(value: str) -> str | None:
    """Return the first control or invisible character of ``value``, or None if it has none."""
    return next((c for c in value if unicodedata.category(c) == "Cc" or c in INVISIBLE_IN_NAMES), None)


class Name(Text):
    """A name (a person's, a household's, an organisation's, a criterion's): a control or invisible
    character is refused with its code, not dropped as ``Text`` drops it (issue 15); the page shows
    the message beside the field and keeps what was typed."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        # One final line end is let through, to be stripped as ``Text`` strips it: JSON Schema's
        # "$", as Python reads it (jsonschema, Schemathesis), matches before it (NAME_PATTERN).
        if isinstance(value, str) and (char := hidden_in_name(value.removesuffix("\n"))) is not None:
            raise ValidationError(f"Ce nom contient un caractère invisible ou de contrôle (U+{ord(char):04X}) : retirez-le et saisissez le nom de nouveau.")
        return super()._deserialize(value, attr, data, **kwargs)
