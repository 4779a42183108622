"""Every place the database names a file of the working store (``instance/files/``), in one list (issue 15).

The store keeps a file under its SHA-256 and nothing else says who uses it: a file is alive as
long as one of these columns (or one of these keys of a JSON column) names it. The orphan sweep
(``webforms.archive.orphans``) and the purge of the active base (``webforms.purge``) both ask
here; ``tests/test_stored_files.py`` fails when a table gains a column named like a digest that
is in neither list below, so a new kind of stored file cannot be forgotten by the sweep.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select, union
from sqlalchemy.orm import InstrumentedAttribute, Session

from webforms.models import (
    Apercu,
    ApiToken,
    ArchiveRecord,
    KeptForm,
    ModeleVersion,
    PasswordReset,
    Piece,
    PieceJointe,
    Rendition,
    Tombstone,
    Travail,
)

# Columns whose value is the SHA-256 of a file in the working store.
STORED_FILE_COLUMNS: tuple[InstrumentedAttribute[Any], ...] = (
    Rendition.sha256,  # every frozen print: DOCX, PDF, complete dossier (PDF, ZIP), letters
    Apercu.sha256,  # a draft's latest preview
    Piece.sha256,  # a piece of a dossier as uploaded
    Piece.pdf_sha256,  # a Word piece's conversion to PDF
    ModeleVersion.sha256,  # an uploaded version of a Département template
    PieceJointe.sha256,  # a file attached to a message of a document's thread (issue 14)
)

# Keys of JSON columns whose value is the SHA-256 of a stored file.
STORED_FILE_KEYS: tuple[tuple[InstrumentedAttribute[Any], str], ...] = (
    (Travail.resultat, "pdf"),  # the PDF preview of a template version (webforms.modeles.previews)
)

# Columns named like a digest that name no file of the working store, and why.
NOT_STORED_FILES: dict[InstrumentedAttribute[Any], str] = {
    Apercu.source_sha256: "empreinte des données rendues, pas d'un fichier",
    Rendition.template_sha256: "empreinte du modèle employé (livré avec le code, ou une version de modèle déjà nommée)",
    ApiToken.secret_sha256: "empreinte du secret d'un jeton",
    PasswordReset.jeton_sha256: "empreinte du jeton d'un lien de réinitialisation du mot de passe",
    ArchiveRecord.source_sha512: "fichier de l'archive (instance/archive/), vérifié par archive verify",
    ArchiveRecord.pdfa_sha512: "fichier de l'archive (instance/archive/)",
    ArchiveRecord.signed_sha512: "fichier de l'archive (instance/archive/)",
    ArchiveRecord.received_sha512: "empreinte du fichier tel que reçu, avant réencodage",
    Tombstone.signed_sha512: "empreinte d'un fichier de l'archive éliminé (visa), qui n'existe plus",
    Tombstone.pdfa_sha512: "empreinte d'un fichier de l'archive éliminé (visa), qui n'existe plus",
    KeptForm.files_dropped: "un booléen : des fichiers envoyés n'ont pas pu être gardés avec la saisie",
}


def held_queries() -> list[Select[Any]]:
    """One query per place that names a stored file, each selecting the digests it names."""
    columns = [select(column.label("digest")).where(column.is_not(None)) for column in STORED_FILE_COLUMNS]
    keys = [select(column[key].as_string().label("digest")).where(column[key].as_string().is_not(None)) for column, key in STORED_FILE_KEYS]
    return columns + keys


def held_digests(session: Session) -> set[str]:
    """Every digest a row names in the working store, as the session sees the database now."""
    return set(session.scalars(union(*held_queries())))
