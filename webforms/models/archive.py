"""The archive of signed documents: records, journal, retention, destruction."""

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
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webforms.models.base import Base, UTCDateTime

if TYPE_CHECKING:  # relationships name their targets; SQLAlchemy resolves them through its registry
    from webforms.models.documents import Document, Rendition
    from webforms.models.people import Organisation, User

RETENTION_FATES = {"destruction": "Destruction", "transfert": "Versement aux Archives départementales"}
SIGNATURE_KINDS = {"scan": "Signature manuscrite numérisée", "electronique": "Signature électronique (PDF signé)"}


class ArchiveRecord(Base):
    """The signed copy of a submitted document, deposited once and never changed.

    A correction is a new record that ``supersedes`` this one; both stay.
    """

    __tablename__ = "archive_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)  # the frozen version that was signed
    # Copied from the document so that a search needs no join and the record says what it is.
    kind: Mapped[str] = mapped_column(String(50), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    reference: Mapped[str] = mapped_column(String(40), index=True)
    household_reference: Mapped[str | None] = mapped_column(String(40), index=True, nullable=True)
    # The generated PDF the signed copy came from (the stored rendition of that version).
    source_rendition_id: Mapped[int] = mapped_column(ForeignKey("rendition.id"))
    source_sha512: Mapped[str] = mapped_column(String(128))
    # The generated document kept as PDF/A-3b with its data embedded as JSON.
    pdfa_sha512: Mapped[str] = mapped_column(String(128))
    pdfa_size: Mapped[int] = mapped_column(Integer)
    # The signed file as stored, and as received (a scan image is re-encoded by the upload check).
    signed_sha512: Mapped[str] = mapped_column(String(128), index=True)
    signed_size: Mapped[int] = mapped_column(Integer)
    signed_mime: Mapped[str] = mapped_column(String(100))
    signed_pages: Mapped[int | None] = mapped_column(Integer, nullable=True)
    received_sha512: Mapped[str] = mapped_column(String(128))
    received_size: Mapped[int] = mapped_column(Integer)
    original_name: Mapped[str] = mapped_column(String(255))
    signature_kind: Mapped[str] = mapped_column(String(20))  # SIGNATURE_KINDS
    signature_check: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    # The retention rule in force at the deposit (the term follows the rule in force today, as an
    # archiving system applies its rules referential: docs/decisions.md).
    retention_years: Mapped[int] = mapped_column(Integer)
    retention_fate: Mapped[str] = mapped_column(String(20))
    deposited_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    deposited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    # A correction names the record it replaces; a record is replaced at most once.
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("archive_record.id"), unique=True, nullable=True)
    motif: Mapped[str | None] = mapped_column(String(1000), nullable=True)

    document: Mapped[Document] = relationship(lazy="joined")
    organisation: Mapped[Organisation] = relationship(lazy="joined")
    deposited_by: Mapped[User] = relationship(lazy="joined")
    source_rendition: Mapped[Rendition] = relationship()


class ArchiveLog(Base):
    """One row of the archive's audit trail; each row holds the hash of the previous one.

    Rows hold identifiers only (users, records, documents), never names or birth dates.
    """

    __tablename__ = "archive_log"

    # Numbered by the service (1, 2, 3...), not by the database: the number is part of the hash.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    action: Mapped[str] = mapped_column(String(30))
    record_id: Mapped[int | None] = mapped_column(ForeignKey("archive_record.id"), index=True, nullable=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"), nullable=True)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Unique: two rows cannot follow the same row, so the chain cannot fork.
    prev_hash: Mapped[str] = mapped_column(String(128), unique=True)
    hash: Mapped[str] = mapped_column(String(128), unique=True)
    # HMAC-SHA-512 of the row's number and hash with the sealing key, kept outside the database
    # (``audit.seal_of``): whoever rewrites the chain in the database cannot seal it again.
    # NULL only for rows written before sealing existed (migration 0025).
    seal: Mapped[str | None] = mapped_column(String(128), nullable=True)


class RetentionRule(Base):
    """An administrator's retention rule for a kind; the latest row of a kind is in force.

    Rows are never changed: a new rule is a new row, so the history of rules stays readable.
    Without a row, the kind's declared default applies (``Kind.retention``).
    """

    __tablename__ = "retention_rule"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(50), index=True)
    years: Mapped[int] = mapped_column(Integer)
    fate: Mapped[str] = mapped_column(String(20))  # RETENTION_FATES
    note: Mapped[str | None] = mapped_column(String(500), nullable=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())


class DestructionVisa(Base):
    """The Archives départementales' authorisation to destroy records, as recorded by an archivist."""

    __tablename__ = "destruction_visa"

    id: Mapped[int] = mapped_column(primary_key=True)
    numero: Mapped[str] = mapped_column(String(100))
    date_visa: Mapped[dt.date] = mapped_column(Date)
    signataire: Mapped[str] = mapped_column(String(200))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    recorded_by: Mapped[User] = relationship(lazy="joined")
    items: Mapped[list[DestructionItem]] = relationship(back_populates="visa", order_by="DestructionItem.record_id")


class DestructionItem(Base):
    """A record a visa authorises to destroy."""

    __tablename__ = "destruction_item"
    __table_args__ = (UniqueConstraint("visa_id", "record_id", name="uq_destruction_item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    visa_id: Mapped[int] = mapped_column(ForeignKey("destruction_visa.id"), index=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("archive_record.id"), index=True)

    visa: Mapped[DestructionVisa] = relationship(back_populates="items")
    record: Mapped[ArchiveRecord] = relationship()


class Tombstone(Base):
    """What remains of a destroyed record: its hashes and the authorisation, never its bytes."""

    __tablename__ = "tombstone"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("archive_record.id"), unique=True)
    visa_id: Mapped[int] = mapped_column(ForeignKey("destruction_visa.id"))
    signed_sha512: Mapped[str] = mapped_column(String(128))
    pdfa_sha512: Mapped[str] = mapped_column(String(128))
    destroyed_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    destroyed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())

    visa: Mapped[DestructionVisa] = relationship(lazy="joined")
    destroyed_by: Mapped[User] = relationship(lazy="joined")
