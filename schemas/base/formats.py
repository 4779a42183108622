"""Text fields with a format: telephone, e-mail, SIRET, time of day. Each checks and normalises what people type."""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError, validate
from stdnum.exceptions import InvalidChecksum, InvalidFormat, InvalidLength
from stdnum.fr import siret

from schemas.base.fields import Text

_PHONE = re.compile(r"^\+?[0-9][0-9 .\-]{7,18}[0-9]$")


def Phone(label: str, **kwargs: Any) -> Text:
    """A telephone number, French or international."""
    return Text(
        label,
        max_length=25,
        widget="tel",
        placeholder="03 21 21 67 20",
        extra_validate=[
            validate.Regexp(_PHONE, error="Numéro de téléphone invalide (exemple : 03 21 21 67 20).")
        ],
        **kwargs,
    )


def Email(label: str, **kwargs: Any) -> Text:
    """An e-mail address."""
    return Text(
        label,
        max_length=254,
        widget="email",
        extra_validate=[validate.Email(error="Adresse électronique invalide.")],
        **kwargs,
    )


class Siret(Text):
    """A SIRET number, checked with python-stdnum (Luhn, and La Poste's own rule)."""

    def __init__(self, label: str, **kwargs: Any) -> None:
        super().__init__(label, max_length=20, placeholder="732 829 320 00074", **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text is None:
            return None
        try:
            return siret.validate(text)
        except InvalidLength:
            raise ValidationError("Un SIRET compte 14 chiffres.") from None
        except InvalidFormat:
            raise ValidationError("Un SIRET ne contient que des chiffres (espaces permis).") from None
        except InvalidChecksum:
            raise ValidationError("Ce SIRET n'existe pas : sa clé de contrôle est fausse. Vérifiez-le sur l'avis de situation SIRENE.") from None


# 9h, 9 h 30, 09h05, 9:30, 09.30, 16:00: an hour (0 to 23), then h, ":" or ".", then the minutes
# if any. A bare number is refused: "930" could be 9:30 or a typo.
_TIME = re.compile(r"^([01]?[0-9]|2[0-3])\s*(?:[hH]\s*([0-5][0-9])?|[:.]\s*([0-5][0-9]))$")


class Time(Text):
    """A time of day as people write it ("9h", "9h30", "09:30"), kept as ``HH:MM``."""

    def __init__(self, label: str, *, placeholder: str = "08:30", **kwargs: Any) -> None:
        super().__init__(label, max_length=10, placeholder=placeholder, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str | None:
        text = super()._deserialize(value, attr, data, **kwargs)
        if text is None:
            return None
        match = _TIME.match(text)
        if match is None:
            raise ValidationError("Heure invalide : écrivez par exemple 9h, 9h30 ou 09:30.")
        hours, minutes = match.group(1), match.group(2) or match.group(3) or "00"
        return f"{int(hours):02d}:{minutes}"
