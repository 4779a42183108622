"""Errors every service raises for the user: their message is French and shown as it is.

They sit below every feature (documents, calls, measures, accounts, archive), which all raise
them, so that no feature imports another one just to name its errors.
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
