"""Write-once guards in the ORM (the database has its own triggers, migrations 0007 and 0011)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    event,
)
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import get_history

from webforms.models.archive import ArchiveLog, ArchiveRecord, DestructionItem, DestructionVisa, RetentionRule, Tombstone
from webforms.models.documents import Document, Rendition

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
        raise WriteOnceViolation(
            "Un document soumis est en écriture unique : sa référence, son type et son organisation ne changent plus."
        )
    if doc.submitted_at is None or (submitted_at is not None and doc.submitted_at < submitted_at):
        raise WriteOnceViolation(
            "Un document soumis est en écriture unique : sa date de soumission ne s'efface pas et ne recule pas."
        )


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_change(state: Any) -> None:
    """``session.execute(update(ArchiveRecord))`` bypasses the mapper events: refuse it here."""
    if state.is_update or state.is_delete:
        table = getattr(state.statement, "table", None)
        if table is not None and getattr(table, "name", None) in WRITE_ONCE_TABLES:
            raise WriteOnceViolation(f"{table.name} est en écriture unique : ni modification ni suppression.")
