"""Calls for applications and the pieces of a candidature."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webforms.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:  # relationships name their targets; SQLAlchemy resolves them through its registry
    from webforms.models.documents import Document


class Appel(Base):
    """A call for applications (AML §5, §6): configuration, edited by an administrator."""

    __tablename__ = "appel"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    # The call's configuration as validated by schemas.base.records.AppelSchema (JSON-ready).
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The deposit deadline as an instant (UTC), computed from the Paris date and time.
    deadline: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Piece(Base):
    """A file attached to a document (a required piece of a dossier), stored by SHA-256.

    A replaced piece is kept (``replaced_at``): nothing uploaded is ever lost.
    """

    __tablename__ = "piece"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), index=True)
    code: Mapped[str] = mapped_column(String(40))  # "courrier", "deliberation", "fiches_poste"...
    rang: Mapped[int] = mapped_column(Integer, default=0)  # e.g. which recruitment a job description is for
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    mime: Mapped[str] = mapped_column(String(100))
    pages: Mapped[int | None] = mapped_column(Integer, nullable=True)
    original_name: Mapped[str] = mapped_column(String(255))
    # The row the piece was deposited for (a job description: its recruitment's post), so that
    # a piece no longer matching its row after the form changed is noticed.
    libelle: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The last deposited version of the dossier this piece belonged to: during a régularisation
    # the recipients keep reading the pieces of the deposited version, not the corrections.
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # A Word piece converted to PDF (webforms/rendering/office.py), for the complete dossier.
    pdf_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Its conversion, run by a worker (webforms/candidatures/conversions.py): None for a piece
    # that is not Word, "en_cours", "faite" or "echec" (the piece must then be replaced).
    conversion: Mapped[str | None] = mapped_column(String(20), nullable=True)
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    uploaded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    replaced_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # An instructeur may mark a piece as non-compliant, with a reason the association sees.
    nonconforme_motif: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    nonconforme_par_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    nonconforme_le: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    document: Mapped[Document] = relationship(back_populates="pieces")
