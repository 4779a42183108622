"""Documents, their frozen renditions, previews, events and reference counters."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webforms.models.base import STATUTS_DOCUMENT, Base, UTCDateTime, utcnow
from webforms.timeutil import paris_date

if TYPE_CHECKING:  # relationships name their targets; SQLAlchemy resolves them through its registry
    from webforms.models.candidatures import Appel, Piece
    from webforms.models.mesures import Mesure
    from webforms.models.people import Organisation, User


class Document(Base):
    __tablename__ = "document"
    # One candidature dossier per organisation and call (NULL appel_id: other kinds, free).
    __table_args__ = (UniqueConstraint("appel_id", "organisation_id", name="uq_document_appel_organisation"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # active_history: the write-once guard below compares with the value before a change,
    # loaded even when the attribute had expired (after a rollback).
    kind: Mapped[str] = mapped_column(String(50), index=True, active_history=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True, active_history=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    statut: Mapped[str] = mapped_column(String(20), default="brouillon", index=True)
    # The form as last saved, as typed: strings, invalid values allowed (a draft).
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The validated data frozen at submission (JSON-ready: ISO dates, amounts as strings).
    submitted_data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    review: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    summary: Mapped[str] = mapped_column(String(300), default="")
    reference: Mapped[str | None] = mapped_column(String(40), unique=True, nullable=True, active_history=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True, active_history=True)
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    # The measure the document is about (an incident sheet, a bilan), when there is one.
    mesure_id: Mapped[int | None] = mapped_column(ForeignKey("mesure.id"), index=True, nullable=True)
    # For a candidature: the call it answers.
    appel_id: Mapped[int | None] = mapped_column(ForeignKey("appel.id"), index=True, nullable=True)
    # For a bilan: which of the measure's bilans it is ("periode-0", "intermediaire", ...).
    echeance: Mapped[str | None] = mapped_column(String(20), nullable=True)
    echeance_date: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    # How many versions were frozen (submissions and decisions); their renditions follow, written
    # by a worker (webforms.jobs), so this count is what numbers the next one.
    versions: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def late(self) -> bool:
        """Was (or is) this bilan transmitted after its due date?"""
        if self.echeance_date is None:
            return False
        sent = paris_date(self.submitted_at) if self.submitted_at else None
        return sent is not None and sent > self.echeance_date

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    author: Mapped[User] = relationship(foreign_keys=[author_id], lazy="joined")
    mesure: Mapped[Mesure | None] = relationship(back_populates="documents")
    appel: Mapped[Appel | None] = relationship()
    pieces: Mapped[list[Piece]] = relationship(back_populates="document", order_by="Piece.id")
    renditions: Mapped[list[Rendition]] = relationship(
        back_populates="document", order_by="(Rendition.version, Rendition.format)"
    )

    @property
    def statut_label(self) -> str:
        """Return the state as users read it."""
        if self.statut == "brouillon" and self.submitted_at is not None:
            return "En régularisation"  # a reopened dossier (AML §6b)
        return STATUTS_DOCUMENT.get(self.statut, self.statut)


class Rendition(Base):
    """A DOCX or PDF rendered once and stored; it never changes afterwards."""

    __tablename__ = "rendition"
    __table_args__ = (UniqueConstraint("document_id", "version", "output", "format", name="uq_rendition_output"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    # "document" for the kind's main document, an annex's name, or "dossier" (complete dossier).
    output: Mapped[str] = mapped_column(String(40), default="document", server_default="document")
    label: Mapped[str] = mapped_column(String(100))
    format: Mapped[str] = mapped_column(String(10))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    template_name: Mapped[str] = mapped_column(String(200))
    template_sha256: Mapped[str] = mapped_column(String(64))
    # The version of the Département's template it was made with (issue 18); None: the shipped one.
    template_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    document: Mapped[Document] = relationship(back_populates="renditions")


class Apercu(Base):
    """A draft's output rendered by a worker after a save, served at the preview click (issue 11, point 4).

    One row per document, output and format, replaced by the render of a newer state: a draft's
    earlier states are of no use. ``source_sha256`` is the digest of what the file was rendered
    from (``documents.previews.preview_source``): the click serves it only while it matches.
    """

    __tablename__ = "apercu"
    __table_args__ = (UniqueConstraint("document_id", "output", "format", name="uq_apercu_output"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), index=True)
    output: Mapped[str] = mapped_column(String(40))
    format: Mapped[str] = mapped_column(String(10))
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    source_sha256: Mapped[str] = mapped_column(String(64))
    # The draft's ``updated_at`` when it was read: a slower render of an older state never
    # replaces the render of a newer one.
    source_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Event(Base):
    """One line of a document's history: who did what, when."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"), index=True, nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())

    user: Mapped[User | None] = relationship(lazy="joined")
    document: Mapped[Document | None] = relationship()


class Counter(Base):
    """The last reference number given, per prefix and year."""

    __tablename__ = "counter"

    prefix: Mapped[str] = mapped_column(String(10), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


# --- Archive (DESIGN §3: "archived (write-once; never edited or deleted before its retention ends)")
# Every archive table is insert-only: the ORM refuses updates and deletes (webforms.archive_guard)
# and the database refuses them too (triggers of migration 0007).
