"""Finding archive records: what a user may see, search, chains of corrections, files, tombstones."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import ColumnElement, Text, case, cast, false, func, literal, select
from sqlalchemy.dialects.postgresql import JSONB, JSONPATH
from sqlalchemy.orm import Session

from schemas import registry
from webforms import policy
from webforms.archive.services import ArchiveError, ArchiveServices
from webforms.documents.uploads import extension_of
from webforms.models import ArchiveRecord, Document, Mesure, Tombstone, User
from webforms.timeutil import PARIS


def current_record(session: Session, doc: Document) -> ArchiveRecord | None:
    """The document's record in force: the latest deposit, which nothing supersedes."""
    return session.scalars(select(ArchiveRecord).where(ArchiveRecord.document_id == doc.id).order_by(ArchiveRecord.id.desc()).limit(1)).first()


def destroyed(session: Session, record_ids: Iterable[int]) -> dict[int, Tombstone]:
    """The tombstones of those records that were destroyed."""
    ids = list(record_ids)
    if not ids:
        return {}
    return {t.record_id: t for t in session.scalars(select(Tombstone).where(Tombstone.record_id.in_(ids)))}


def visible_records(user: User) -> Any:
    """The query of the records ``user`` may see: the archive's readers, those of the documents they may see."""
    if not policy.can_search_archive(user):
        return select(ArchiveRecord).where(false())
    documents = policy.visible_documents(user).with_only_columns(Document.id).order_by(None)
    return select(ArchiveRecord).where(ArchiveRecord.document_id.in_(documents))


def can_see(session: Session, user: User, record: ArchiveRecord) -> bool:
    """May ``user`` see this record (the rule of ``visible_records``)?

    Only the archive's readers: a jury member reads the recevable dossiers of its call "and
    nothing else" (issue 12), not their records (the access and retention history).
    """
    return policy.can_search_archive(user) and policy.can_view(user, record.document)


@dataclass(frozen=True)
class Search:
    """A search of the archive; empty values do not filter."""

    kind: str | None = None
    organisation_id: int | None = None
    household: str | None = None
    household_name: str | None = None  # words of the household's name, any case and accents
    text: str | None = None  # words anywhere in the document as submitted, any case and accents
    reference: str | None = None
    du: dt.date | None = None  # submission of the document, Paris days, inclusive
    au: dt.date | None = None


@dataclass(frozen=True)
class Page:
    """One page of search results, with which of them are superseded or destroyed."""

    items: list[ArchiveRecord]
    total: int
    page: int
    per_page: int
    superseded: set[int] = field(default_factory=set)
    destroyed: dict[int, Tombstone] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        """How many pages the results fill (at least one, even when empty)."""
        return max(1, math.ceil(self.total / self.per_page))


def day_start(day: dt.date) -> dt.datetime:
    """The first instant of a Paris day, in UTC (submission dates are stored in UTC)."""
    return dt.datetime.combine(day, dt.time(), tzinfo=PARIS).astimezone(dt.UTC)


def _prefix(text: str) -> str:
    """A LIKE pattern for what starts with ``text`` (its own % and _ taken literally)."""
    escaped = text.strip().upper().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


# Letters compared without their accents, the same way in Python (the words typed) and in
# PostgreSQL (translate(), no extension needed); hyphens and apostrophes count as spaces, so
# "Saint-Jean", "saint jean" and "SAINT JEAN" are one name. Both cases are listed because lower()
# depends on the cluster's locale.
_ACCENTED = "àâäáãåçéèêëíìîïñóòôöõúùûüýÿÀÂÄÁÃÅÇÉÈÊËÍÌÎÏÑÓÒÔÖÕÚÙÛÜÝŸ-'’"
_PLAIN = "aaaaaaceeeeiiiinooooouuuuyyaaaaaaceeeeiiiinooooouuuuyy   "
_FOLD = str.maketrans(_ACCENTED, _PLAIN)


def fold(text: str) -> str:
    """Return ``text`` lower-cased, without accents, ligatures spelled out (as ``_folded`` in SQL)."""
    return text.lower().translate(_FOLD).replace("œ", "oe").replace("æ", "ae")


def _folded(column: Any) -> Any:
    """The SQL of ``fold``: what a name becomes before it is compared."""
    return func.replace(func.replace(func.translate(func.lower(column), _ACCENTED, _PLAIN), "œ", "oe"), "æ", "ae")


def _named_by_summary() -> list[str]:
    """The kinds whose summary begins with the household's name (fiche saisine, fiche d'incident, contrat)."""
    # Not the operator's yearly bilan (its summary names the operator) nor a dossier (its holder).
    return [name for name, kind in registry().items() if kind.standalone and kind.summary_label == "Ménage"]


def _household_name() -> ColumnElement[str]:
    """The household's name of a record's document: its measure's, else the start of a referral's summary."""
    # A measure holds the household's name as typed (menage_nom, menage_prenom); a document
    # without one (a fiche saisine) names it first in its summary, before " – " ("Nom Prénom –
    # Commune", schemas/fiche_saisine.summary).
    return case(
        (Mesure.id.is_not(None), func.concat(Mesure.menage_nom, literal(" "), Mesure.menage_prenom)),
        (Document.kind.in_(_named_by_summary()), func.split_part(Document.summary, " – ", 1)),
        else_=literal(""),
    )


# Every text the submitted document holds (JSON strings at any depth: names, addresses, free
# comments…), not its field names: "nom" must not find every record.
_STRINGS = "strict $.** ? (@.type() == \"string\")"


def _document_text() -> ColumnElement[str]:
    """The text of a record's document as submitted: its summary, then every text value of its data."""
    values = func.jsonb_path_query_array(cast(Document.submitted_data, JSONB), cast(literal(_STRINGS), JSONPATH))
    return func.concat(Document.summary, literal(" "), cast(values, Text))


def _contains(word: str) -> str:
    """A LIKE pattern for what contains ``word`` (its own % and _ taken literally)."""
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _matching(user: User, query: Search) -> Any:
    """The query of the records matching ``query`` among those ``user`` may see."""
    stmt = visible_records(user)
    if query.kind:
        stmt = stmt.where(ArchiveRecord.kind == query.kind)
    if query.organisation_id:
        stmt = stmt.where(ArchiveRecord.organisation_id == query.organisation_id)
    # A reference, or its beginning ("FS-2019" finds every fiche saisine of 2019), any case.
    if query.household:
        stmt = stmt.where(func.upper(ArchiveRecord.household_reference).like(_prefix(query.household), escape="\\"))
    if query.reference:
        stmt = stmt.where(func.upper(ArchiveRecord.reference).like(_prefix(query.reference), escape="\\"))
    words = fold(query.household_name or "").split()
    text_words = fold(query.text or "").split()
    if query.du or query.au or words or text_words:
        stmt = stmt.join(Document, Document.id == ArchiveRecord.document_id)
    if words or text_words:
        # An eliminated record is no longer found by what it said about the household (issue 16,
        # point 9): its tombstone stays listed by reference, type and organisation.
        stmt = stmt.where(ArchiveRecord.id.not_in(select(Tombstone.record_id)))
    if text_words:
        # Free text (issue 16, point 9): every word somewhere in what the reader may already open.
        text = _folded(_document_text())
        stmt = stmt.where(*(text.like(_contains(word), escape="\\") for word in text_words))
    if words:
        # Every word typed is somewhere in the name, in any order ("durand marie", "Marie Durand").
        stmt = stmt.outerjoin(Mesure, Mesure.id == Document.mesure_id)
        name = _folded(_household_name())
        stmt = stmt.where(*(name.like(_contains(word), escape="\\") for word in words))
    if query.du:
        stmt = stmt.where(Document.submitted_at >= day_start(query.du))
    if query.au:
        stmt = stmt.where(Document.submitted_at < day_start(query.au + dt.timedelta(days=1)))
    return stmt


def search(session: Session, user: User, query: Search, page: int = 1, per_page: int = 20) -> Page:
    """Records matching ``query`` among those ``user`` may see, newest deposit first."""
    stmt = _matching(user, query)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = max(1, min(page, max(1, math.ceil(total / per_page))))
    items = list(session.scalars(stmt.order_by(ArchiveRecord.deposited_at.desc(), ArchiveRecord.id.desc()).offset((page - 1) * per_page).limit(per_page)))
    ids = [r.id for r in items]
    superseded = set(session.scalars(select(ArchiveRecord.supersedes_id).where(ArchiveRecord.supersedes_id.in_(ids)))) if ids else set()
    return Page(items, total, page, per_page, superseded, destroyed(session, ids))


def awaiting_signed_copy(session: Session, user: User, limit: int = 20) -> tuple[list[Document], int]:
    """Submitted documents ``user`` may archive that have no signed copy yet, oldest first."""
    if user.role != "archiviste":
        return [], 0
    stmt = (
        policy.visible_documents(user)
        .where(Document.statut != "brouillon", Document.id.not_in(select(ArchiveRecord.document_id)))
        .order_by(None)
    )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return list(session.scalars(stmt.order_by(Document.submitted_at, Document.id).limit(limit))), total


EXPORT_ALL_MAX = 5000


def all_to_export(session: Session, user: User, query: Search) -> list[ArchiveRecord]:
    """Every record matching ``query`` that still has its files, oldest deposit first."""
    stmt = _matching(user, query).where(ArchiveRecord.id.not_in(select(Tombstone.record_id)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if total > EXPORT_ALL_MAX:
        raise ArchiveError(f"{total} enregistrements correspondent : exportez-en {EXPORT_ALL_MAX} au plus à la fois (précisez la période ou le type).")
    return list(session.scalars(stmt.order_by(ArchiveRecord.deposited_at, ArchiveRecord.id)))


def chain(session: Session, record: ArchiveRecord) -> list[ArchiveRecord]:
    """Every record of the same document, oldest first (deposit, then its corrections)."""
    return list(session.scalars(select(ArchiveRecord).where(ArchiveRecord.document_id == record.document_id).order_by(ArchiveRecord.id)))


def open_file(svc: ArchiveServices, record: ArchiveRecord, which: str) -> tuple[Path, str, str]:
    """The path, MIME type and download name of a record's signed copy or archived PDF/A."""
    if which == "signe":
        ext = extension_of(record.signed_mime)
        return svc.archive.path(record.signed_sha512), record.signed_mime, f"{record.reference}-v{record.version}-copie-signee-{record.id}.{ext}"
    if which == "pdfa":
        return svc.archive.path(record.pdfa_sha512), "application/pdf", f"{record.reference}-v{record.version}-archive-{record.id}.pdf"
    raise ArchiveError("Fichier inconnu.")
