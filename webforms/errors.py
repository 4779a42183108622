"""Errors every service raises for the user: their message is French and shown as it is.

They sit below every feature (documents, calls, measures, accounts, archive), which all raise
them, so that no feature imports another one just to name its errors; so does the merging of
two sets of field errors (a kind's and its parent's), the reading of a number from a request, and
the refusal of a name holding control characters.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Mapping
from typing import Any

from schemas.base.names import hidden_in_name

# PostgreSQL's integer (every table's ids, versions, years, ranks) and bigint (the job queue's).
INTEGER_MAX = (1 << 31) - 1
BIGINT_MAX = (1 << 63) - 1
# ASCII digits only: ``int()`` also reads "١" (Arabic-Indic), "１" (full width), " 1_0 " or "+1".
# 19 digits hold every bigint; a longer text is refused before ``int()`` reads it at all.
_DIGITS = re.compile(r"[0-9]{1,19}")


class DocumentError(Exception):
    """A move refused; the message is French and meant for the user."""


class ValidationFailed(DocumentError):
    """The data is not valid; ``errors`` has marshmallow's nested layout."""

    def __init__(self, message: str, errors: Mapping[str, Any], blockers: list[str] | None = None) -> None:
        super().__init__(message)
        self.errors = errors
        self.blockers = blockers or []  # what else stops it: missing pieces, a passed deadline


def merge_errors(left: Mapping[Any, Any], right: Mapping[Any, Any]) -> dict[Any, Any]:
    """Return both sets of errors in marshmallow's nested layout, the messages of a field joined."""
    out: dict[Any, Any] = dict(left)
    for key, value in right.items():
        if key in out and isinstance(out[key], Mapping) and isinstance(value, Mapping):
            out[key] = merge_errors(out[key], value)
        elif key in out and isinstance(out[key], list) and isinstance(value, list):
            out[key] = [*out[key], *value]
        else:
            out[key] = value
    return out


class NumberRefused(DocumentError):
    """A number from a request that is not a whole number the database holds; the message is French."""


def parse_number(text: str | None, *, what: str, largest: int = INTEGER_MAX) -> int:
    """Return the whole number written in ``text``, or refuse it in French, naming ``what`` it was.

    Every number a request carries (route, query string, form field) is read here, so that a
    number the database cannot hold is a French message, never an overflow in the driver.
    """
    text = (text or "").strip()
    if not _DIGITS.fullmatch(text):
        raise NumberRefused(f"{what} doit être un nombre entier positif écrit avec les chiffres 0 à 9.")
    number = int(text)
    if number > largest:
        raise NumberRefused(f"{what} ne peut pas dépasser {largest}.")
    return number


def parse_id(text: str | None, *, largest: int = INTEGER_MAX) -> int | None:
    """Return the number in ``text`` as ``parse_number`` reads it, or None where none is readable."""
    try:
        return parse_number(text, what="Le nombre", largest=largest)
    except NumberRefused:
        return None


# Characters that change how the text around them is shown or stored without being seen: the
# controls (C0, DEL, C1: "\x00" is refused by PostgreSQL in some places, "\x0b" or "\x0c" break a
# Word document's paragraphs, PITFALLS §1), the line and paragraph separators, and the
# bidirectional overrides and isolates (they reverse a name on screen: "\u202egpj.exe"). One
# list, the schemas' (``Name`` fields refuse the same ones in the documents' names).


def name_problem(value: str | None, what: str) -> str | None:
    """Return why ``value`` cannot be a name (a control character in it), in French, or None."""
    char = hidden_in_name(value or "")
    if char is not None:
        return f"{what} contient un caractère invisible ou de contrôle (U+{ord(char):04X}) : retirez-le et saisissez le nom de nouveau."
    return None


def check_name(value: str | None, what: str, refusal: type[Exception] = DocumentError) -> str:
    """Return ``value`` if it may be a name; otherwise raise ``refusal`` with the French reason."""
    problem = name_problem(value, what)
    if problem is not None:
        raise refusal(problem)
    return value or ""


# What the user reads when a write fails for want of space, under the store or the database.
# A form value with a NUL character (issue 15): PostgreSQL cannot store it in any text, and no
# keyboard types it. The whole post is refused before any view reads it, what was typed shown back.
NUL_REFUSED = (
    "Le formulaire contient un caractère invisible (le caractère nul) que le service ne peut pas enregistrer : "
    "rien n'a été enregistré. Ce que vous avez saisi est conservé ci-dessous, sans ce caractère ; envoyez-le de nouveau."
)
DISK_FULL = (
    "Le serveur manque d'espace disque : rien n'a été enregistré. Ce que vous avez saisi est "
    "conservé ci-dessous ; prévenez l'administrateur, puis enregistrez de nouveau."
)
_NO_SPACE = frozenset({errno.ENOSPC, errno.EDQUOT})
_DISK_FULL_SQLSTATE = "53100"  # PostgreSQL's disk_full (psycopg.errors.DiskFull)


def disk_full(exc: BaseException) -> bool:
    """Tell whether ``exc`` (or the error it wraps) says that a disk is full: the store's or the database's."""
    seen: BaseException | None = exc
    for _ in range(5):  # SQLAlchemy wraps psycopg's error (.orig), which may chain another
        if seen is None:
            return False
        if isinstance(seen, OSError) and seen.errno in _NO_SPACE:
            return True
        if getattr(seen, "sqlstate", None) == _DISK_FULL_SQLSTATE:
            return True
        seen = getattr(seen, "orig", None) or seen.__cause__
    return False
