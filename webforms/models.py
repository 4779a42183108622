"""Database tables. The schema is created and upgraded by Alembic (``webforms/migrations``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    event,
    func,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship
from sqlalchemy.orm.attributes import get_history

from webforms.timeutil import paris_date

ROLES = {
    "redacteur": "Rédacteur (association, référent, partenaire)",
    "coordinateur": "Coordinateur Logement d'abord",
    "instructeur": "Instructeur (Département, DDCS)",
    "archiviste": "Archiviste",
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


class Organisation(Base):
    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="organisation")


class User(UserMixin, Base):
    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(150))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation] = relationship(back_populates="users", lazy="joined")

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive accounts
        return self.active

    @property
    def role_label(self) -> str:
        return ROLES.get(self.role, self.role)


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


class Mesure(Base):
    """A household's support measure: the record bilans and incident sheets refer to."""

    __tablename__ = "mesure"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    referent_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    type_mesure: Mapped[str] = mapped_column(String(30))
    menage_nom: Mapped[str] = mapped_column(String(150))
    menage_prenom: Mapped[str] = mapped_column(String(100))
    menage_commune: Mapped[str | None] = mapped_column(String(150), nullable=True)
    date_bon_commande: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    date_premiere_rencontre: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    duree_mois: Mapped[int] = mapped_column(Integer)
    travailleur_social: Mapped[str | None] = mapped_column(String(150), nullable=True)
    statut: Mapped[str] = mapped_column(String(20), default="en_cours")
    # A measure closed before (or at) its term: the day it ended and why.
    date_fin_effective: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    motif_fin: Mapped[str | None] = mapped_column(String(40), nullable=True)
    commentaire_fin: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    referent: Mapped[User] = relationship(lazy="joined")
    rencontres: Mapped[list[Rencontre]] = relationship(back_populates="mesure", order_by="Rencontre.date")
    renouvellements: Mapped[list[Renouvellement]] = relationship(
        back_populates="mesure", order_by="Renouvellement.date_decision"
    )
    documents: Mapped[list[Document]] = relationship(back_populates="mesure", order_by="Document.id")


class Rencontre(Base):
    """A meeting with the household, counted against the required rhythm."""

    __tablename__ = "rencontre"

    id: Mapped[int] = mapped_column(primary_key=True)
    mesure_id: Mapped[int] = mapped_column(ForeignKey("mesure.id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    nature: Mapped[str] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    mesure: Mapped[Mesure] = relationship(back_populates="rencontres")


class Renouvellement(Base):
    """A renewal of an ASLL Maintien, starting on the day of the DPDS decision (ASLL §8)."""

    __tablename__ = "renouvellement"

    id: Mapped[int] = mapped_column(primary_key=True)
    mesure_id: Mapped[int] = mapped_column(ForeignKey("mesure.id"), index=True)
    date_decision: Mapped[dt.date] = mapped_column(Date)
    duree_mois: Mapped[int] = mapped_column(Integer)
    motif: Mapped[str] = mapped_column(String(1000))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    mesure: Mapped[Mesure] = relationship(back_populates="renouvellements")


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
    # A Word piece converted to PDF (webforms/candidatures/office.py), for the complete dossier.
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
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    document: Mapped[Document] = relationship(back_populates="renditions")


class Apercu(Base):
    """A draft's output rendered by a worker after a save, served at the preview click (issue 11, point 4).

    One row per document, output and format, replaced by the render of a newer state: a draft's
    earlier states are of no use. ``source_sha256`` is the digest of what the file was rendered
    from (``documents.services.preview_source``): the click serves it only while it matches.
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


STATUTS_TRAVAIL = {
    "en_attente": "En attente",
    "en_cours": "En cours",
    "termine": "Terminé",
    "echec": "Échec",
}


class Travail(Base):
    """Work asked of the job queue for a user: a render, a dossier, an export (webforms.jobs).

    The request that asks for it records it with its procrastinate job, in one transaction; the
    worker updates its state, its outcome and what it produced; its page shows the progress.
    """

    __tablename__ = "travail"

    id: Mapped[int] = mapped_column(primary_key=True)
    nature: Mapped[str] = mapped_column(String(40))
    libelle: Mapped[str] = mapped_column(String(200))
    statut: Mapped[str] = mapped_column(String(20), default="en_attente", server_default="en_attente")
    job_id: Mapped[int | None] = mapped_column(BigInteger, index=True, nullable=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"), index=True, nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    # What the task needs, frozen at the request (a version's data, not the document's latest).
    parametres: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    resultat: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    erreur: Mapped[str | None] = mapped_column(Text, nullable=True)
    essais: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    document: Mapped[Document | None] = relationship()
    user: Mapped[User | None] = relationship()

    @property
    def statut_label(self) -> str:
        """Return the state as users read it."""
        return STATUTS_TRAVAIL.get(self.statut, self.statut)


ARCHIVE_TABLES = ("archive_record", "archive_log", "retention_rule", "destruction_visa", "destruction_item", "tombstone")
# Tables whose rows are never changed nor deleted (and, in the database, migrations 0007 and 0011).
WRITE_ONCE_TABLES = (*ARCHIVE_TABLES, "rendition")
# What a submitted document keeps for ever; the rest is its lifecycle's to change (0011).
SUBMISSION_KEPT = ("reference", "kind", "organisation_id")


class WriteOnceViolation(Exception):
    """Something tried to change or delete an archive row, a rendition or what a submission fixed."""


def _refuse_change(mapper: Any, connection: Any, target: Any) -> None:
    raise WriteOnceViolation(f"{target.__tablename__} est en écriture unique : ni modification ni suppression.")


for _model in (ArchiveRecord, ArchiveLog, RetentionRule, DestructionVisa, DestructionItem, Tombstone, Rendition):
    event.listen(_model, "before_update", _refuse_change)
    event.listen(_model, "before_delete", _refuse_change)


def _before_flush(doc: Document, name: str) -> Any:
    """The value ``name`` had before this flush's changes."""
    history = get_history(doc, name)
    return next(iter(history.deleted or history.unchanged or ()), None)


@event.listens_for(Document, "before_delete")
def _refuse_deleting_a_submission(mapper: Any, connection: Any, doc: Document) -> None:
    if _before_flush(doc, "submitted_at") is not None or _before_flush(doc, "reference") is not None:
        raise WriteOnceViolation("Un document soumis est en écriture unique : il ne peut pas être supprimé.")


@event.listens_for(Document, "before_update")
def _refuse_changing_a_submission(mapper: Any, connection: Any, doc: Document) -> None:
    """Keep what the submission fixed; a later submission may only move its date forward."""
    submitted_at = _before_flush(doc, "submitted_at")
    if submitted_at is None and _before_flush(doc, "reference") is None:
        return
    if any(getattr(doc, name) != _before_flush(doc, name) for name in SUBMISSION_KEPT):
        raise WriteOnceViolation("Un document soumis est en écriture unique : sa référence, son type et son organisation ne changent plus.")
    if doc.submitted_at is None or (submitted_at is not None and doc.submitted_at < submitted_at):
        raise WriteOnceViolation("Un document soumis est en écriture unique : sa date de soumission ne s'efface pas et ne recule pas.")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_change(state: Any) -> None:
    """``session.execute(update(ArchiveRecord))`` bypasses the mapper events: refuse it here."""
    if state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if table is not None and getattr(table, "name", None) in WRITE_ONCE_TABLES:
            raise WriteOnceViolation(f"{table.name} est en écriture unique : ni modification ni suppression.")
