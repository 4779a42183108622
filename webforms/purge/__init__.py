"""Purge of the active base: drafts left past the CNIL's term after the last contact (issue 15).

The CNIL's reference for social support (délibération n° 2023-095 du 14 septembre 2023,
référentiel des durées de conservation du secteur social et médico-social) keeps a person's
data in the active base for 2 years after the last contact. A draft never submitted is
nobody's record: past that term after its last save, it goes, with its pieces, its previews
and its work, and the files no other row holds. A document once submitted is the archive's
(deposit, retention, destruction visa: docs/archive.md), and the database itself refuses its
deletion (migration 0011): the purge counts those past the term, it does not delete them.

Forms kept after their session ended (``kept_form``, issue 16) are offered back for 30 days
(webforms.accounts.kept.KEPT_TERM); past that, the purge deletes them too: what a household's
worker typed is not kept longer than it serves (issue 15, CNIL).

The purge is logged (an ``Event`` and the service's log): when, the term, how many, never a
name, a reference or a household's data.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

import procrastinate
from flask import Flask
from sqlalchemy import delete, exists, select
from sqlalchemy.orm import Session

from webforms import db
from webforms.accounts.kept import KEPT_TERM, expired
from webforms.documents.storage import FileStore
from webforms.documents.stored import held_digests
from webforms.jobs import tasks
from webforms.models import Apercu, ArchiveRecord, Document, Event, KeptForm, Piece, Travail

logger = logging.getLogger(__name__)

# 2 years after the last contact (délibération CNIL n° 2023-095, accompagnement social).
DEFAULT_DAYS = 730
# Work that has ended: its row can go with its document (a pending one means the draft is in use).
_ENDED = ("termine", "echec")


@dataclass
class PurgeReport:
    """What a purge removed (or, dry, would remove): counts and ids, never a document's content."""

    cutoff: dt.datetime
    days: int
    drafts: list[int] = field(default_factory=list)
    files: int = 0
    submitted_kept: int = 0  # submitted, not archived, past the term: the archive's to decide
    kept_forms: int = 0  # forms kept after their session ended, past their 30 days (KEPT_TERM)

    def as_json(self) -> dict[str, Any]:
        """The report as the command line's ``--json`` prints it."""
        return {"avant": self.cutoff.isoformat(), "jours": self.days, "brouillons": len(self.drafts), "fichiers": self.files, "soumis_non_archives": self.submitted_kept, "formulaires_conserves": self.kept_forms}


def cutoff_of(now: dt.datetime, days: int) -> dt.datetime:
    """Return the instant before which a last contact is past the term."""
    return now - dt.timedelta(days=days)


def purge(session: Session, store: FileStore, *, now: dt.datetime, days: int = DEFAULT_DAYS, dry_run: bool = False) -> PurgeReport:
    """Remove the drafts never submitted whose last save is ``days`` old or more; return what went."""
    report = PurgeReport(cutoff=cutoff_of(now, days), days=days)
    stale = Document.updated_at <= report.cutoff
    busy = exists().where(Travail.document_id == Document.id, Travail.statut.not_in(_ENDED))
    drafts = select(Document.id).where(Document.statut == "brouillon", Document.submitted_at.is_(None), stale, ~busy)
    report.drafts = list(session.scalars(drafts.order_by(Document.id)))
    report.submitted_kept = len(list(session.scalars(select(Document.id).where(Document.submitted_at.is_not(None), stale, ~_archived()))))
    report.kept_forms = len(list(session.scalars(select(KeptForm.id).where(expired(now)))))
    gone: list[str] = []
    if report.drafts:
        named = _digests_of(session, report.drafts)
        # Rows first, in a savepoint: the files that go are those no remaining row names, asked of
        # the one list of what names a stored file (webforms.documents.stored); a dry run rolls back.
        savepoint = session.begin_nested()
        for table in (Piece, Apercu, Travail, Event):
            session.execute(delete(table).where(table.document_id.in_(report.drafts)))
        session.execute(delete(Document).where(Document.id.in_(report.drafts)))
        gone = sorted(named - held_digests(session))
        report.files = len(gone)
        if dry_run:
            savepoint.rollback()
            return report
        savepoint.commit()
    elif dry_run:
        return report
    # Logged even when nothing went: the count of submitted documents past the term is what the
    # archivists and the DPO follow (docs/decisions.md, "Documents soumis jamais archivés").
    session.execute(delete(KeptForm).where(expired(now)))
    session.add(Event(user=None, action="purge", at=now, detail=report.as_json()))
    session.commit()
    # Files after the commit: a failed commit leaves every file its rows still name.
    for digest in gone:
        store.path(digest).unlink(missing_ok=True)
    logger.info(
        "Purge de la base active : %s brouillon(s) et %s fichier(s) supprimés, %s document(s) soumis non archivé(s) gardé(s) (dernier contact avant le %s) ; "
        "%s formulaire(s) conservé(s) de plus de %s jours supprimé(s)",
        len(report.drafts), report.files, report.submitted_kept, report.cutoff.date(), report.kept_forms, KEPT_TERM.days,
    )
    return report


def _archived() -> Any:
    """The condition "this document has an archived signed copy"."""
    return exists().where(ArchiveRecord.document_id == Document.id)


def _digests_of(session: Session, ids: list[int]) -> set[str]:
    """Every stored file the drafts ``ids`` name: their pieces (and PDF conversions), their previews."""
    if not ids:
        return set()
    pieces = session.execute(select(Piece.sha256, Piece.pdf_sha256).where(Piece.document_id.in_(ids))).all()
    previews = session.scalars(select(Apercu.sha256).where(Apercu.document_id.in_(ids)))
    return {d for row in pieces for d in row if d} | set(previews)


def purge_app(app: Flask, *, dry_run: bool = False) -> PurgeReport:
    """Purge ``app``'s database and store with its configured term and clock."""
    with app.app_context():
        store = app.extensions["webforms.services"].store
        return purge(db.session(), store, now=app.config["CLOCK"](), days=int(app.config["PURGE_DAYS"]), dry_run=dry_run)


@tasks.periodic(cron="17 3 * * *", periodic_id="purge")
@tasks.task(name="purger_base_active", queue="maintenance", queueing_lock="purger_base_active", pass_context=True)
def purge_daily(context: procrastinate.JobContext, timestamp: int) -> None:
    """Purge the active base every night at 03:17 (a quiet hour; one worker runs it)."""
    purge_app(context.additional_context["flask_app"])
