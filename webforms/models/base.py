"""The declarative base, shared column types and the role and state names."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    TypeDecorator,
)
from sqlalchemy.orm import DeclarativeBase

ROLES = {
    "redacteur": "Rédacteur (association, référent, partenaire)",
    "coordinateur": "Coordinateur Logement d'abord",
    "instructeur": "Instructeur (Département, DDCS)",
    "archiviste": "Archiviste",
    # Scoped to the calls whose jury they sit on (webforms/candidatures/jury.py, AML §6d).
    "jury": "Membre de jury de sélection (Département, EPCI)",
    "admin": "Administrateur",
}

# A state (``statut``) is a French domain word, stored as an ASCII identifier; users read its label.
STATUTS_MESURE = {
    "en_cours": "En cours",
    "terminee": "Terminée",
}

STATUTS_DOCUMENT = {
    "brouillon": "Brouillon",
    "soumis": "Soumis",
    "decide": "Décision enregistrée",
}


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Aware datetimes, written in UTC; a naive one read back is taken as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(dt.UTC)
        return value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value
