"""Errors every service raises for the user: their message is French and shown as it is.

They sit below every feature (documents, calls, measures, accounts, archive), which all raise
them, so that no feature imports another one just to name its errors; so does the merging of
two sets of field errors (a kind's and its parent's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


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
