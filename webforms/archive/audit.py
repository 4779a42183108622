"""The audit trail: an append-only, hash-chained log of archive events, witnessed in a journal file."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from webforms.archive.seal import seal_of
from webforms.archive.services import ArchiveError, ArchiveServices
from webforms.models import ArchiveLog, ArchiveRecord, User

ACCESS_LOG_ATTEMPTS = 8
GENESIS = "0" * 128  # the "previous hash" of the first row of the audit trail
# The key of the PostgreSQL advisory lock that serialises appends to the journal file across
# hosts: any constant, the same everywhere; these are the ASCII bytes of "webforms".
JOURNAL_LOCK = 0x7765_6266_6F72_6D73
ACTIONS = {
    "deposit": "Dépôt de la copie signée",
    "view": "Consultation",
    "download": "Téléchargement",
    "export": "Export",
    "verify": "Vérification de l'intégrité",
    "seal": "Scellement du journal",
    "retention_rule": "Règle de conservation modifiée",
    "destruction_visa": "Visa d'élimination enregistré",
    "destruction": "Élimination",
    "trust_root_added": "Autorité de confiance ajoutée",
    "trust_root_removed": "Autorité de confiance retirée",
    "household_view": "Consultation du dossier d'un ménage",
    # Who reads a whole Département is an explicit, logged grant (issue 13, webforms/territoires).
    "portee_accordee": "Portée départementale accordée",
    "portee_retiree": "Portée départementale retirée",
    # The working store's sweep (issue 15, webforms/archive/orphans.py): logged before the file goes.
    "orphan_removed": "Fichier orphelin supprimé du magasin de travail",
    "orphan_kept": "Suppression annulée : fichier orphelin réutilisé pendant le balayage",
    # An API token acts for an account: who made it, on the pages or on the command line (issue 17).
    "jeton_cree": "Jeton d'API créé",
    # A measure's household data erased past its term, under a destruction visa (issue 15, archive/mesure_retention.py).
    "mesure_eliminee": "Données du ménage d'une mesure éliminées",
    # A forgotten password set again with a link sent by e-mail (issue 15, webforms/accounts/reset.py).
    "mot_de_passe_reinitialise": "Mot de passe réinitialisé par un lien envoyé par courriel",
}


RECORD_COLUMNS = tuple(c.key for c in ArchiveRecord.__table__.columns)


def row_hash(row: ArchiveLog) -> str:
    """The SHA-512 of a row's content and of the previous row's hash."""
    content = {
        "id": row.id,
        "at": row.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "user_id": row.user_id,
        "action": row.action,
        "record_id": row.record_id,
        "document_id": row.document_id,
        "detail": row.detail,
        "prev": row.prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha512(canonical.encode()).hexdigest()


def record_digest(record: ArchiveRecord | Mapping[str, Any]) -> str:
    """The SHA-512 of an archive record's every column (an ORM record, or a row read as a mapping).

    Written in the deposit's audit row, which the chain and its seal protect (issue 15): a
    record pointed at another file, given another signature verdict, organisation, reference
    or retention afterwards no longer matches it.
    """
    values = record if isinstance(record, Mapping) else {c.key: getattr(record, c.key) for c in ArchiveRecord.__table__.columns}
    content = {name: _canonical(values[name]) for name in RECORD_COLUMNS}
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha512(canonical.encode()).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat(timespec="microseconds")
    return value


def log(
    session: Session,
    at: dt.datetime,
    action: str,
    *,
    key: bytes,
    user: User | None,
    record: ArchiveRecord | None = None,
    document_id: int | None = None,
    **detail: Any,
) -> ArchiveLog:
    """Append a row to the audit trail, sealed with ``key`` (committed by the caller, then witnessed).

    ``detail`` holds identifiers and digests only, never a name or a birth date.
    """
    last = session.scalars(select(ArchiveLog).order_by(ArchiveLog.id.desc()).limit(1)).first()
    if record is not None and record.id is None:
        session.flush()
    row = ArchiveLog(
        id=(last.id + 1) if last else 1,
        at=at.astimezone(dt.UTC),
        user_id=user.id if user else None,
        action=action,
        record_id=record.id if record else None,
        document_id=document_id if document_id is not None else (record.document_id if record else None),
        detail=detail,
        prev_hash=last.hash if last else GENESIS,
    )
    row.hash = row_hash(row)
    # Sealed here, before the row is ever flushed: stored rows are never updated (migration 0007).
    row.seal = seal_of(key, row.id, row.hash) if key else None
    session.add(row)
    session.info.setdefault("archive_rows", []).append(row)
    return row


def commit(session: Session, svc: ArchiveServices) -> None:
    """Commit, then write the new audit rows to the journal file, in the order of the chain.

    Two writers appending at once both claim the same next row: the unique ``prev_hash``
    refuses the second, which is told to try again (nothing half-done is kept).
    """
    rows: list[ArchiveLog] = session.info.pop("archive_rows", [])
    try:
        # Rows go in before the lock is asked for: a writer that holds the lock then never waits
        # on another writer's row, a wait PostgreSQL could not see through the lock's connection.
        session.flush()
        with _journal_lock(session):
            session.commit()
            for row in rows:
                # A row logged in a transaction rolled back since was never stored: nothing to witness.
                if sa_inspect(row).persistent:
                    svc.archive.witness(row.id, row.hash)
    except (IntegrityError, OperationalError):
        session.rollback()
        raise ArchiveError("Une autre opération d'archive vient d'être enregistrée au même instant : réessayez.") from None


@contextmanager
def _journal_lock(session: Session) -> Iterator[None]:
    """Hold the journal's lock, shared by every host, until the block ends.

    Several hosts append to one journal file (NFS), where ``O_APPEND`` is not atomic: the lock
    makes them append one at a time. Taken before the commit and kept until the rows are
    written, it also keeps the file in the chain's order: a later row is logged only after this
    commit, so its writer asks for the lock after this one. It lives in a transaction of its
    own, which holds nothing else and ends (releasing it) however the block ends.
    """
    with session.get_bind().engine.begin() as guard:
        guard.execute(select(func.pg_advisory_xact_lock(JOURNAL_LOCK)))
        yield


def log_access(session: Session, svc: ArchiveServices, record: ArchiveRecord, action: str, *, user: User, **detail: Any) -> None:
    """Log a view or a download of a record in its own short transaction.

    Concurrent writers are retried after a short random pause; a record that cannot be logged
    is not shown (``ArchiveError``), since every view must be in the audit trail.
    """
    for attempt in range(ACCESS_LOG_ATTEMPTS):
        log(session, svc.clock(), action, key=svc.seal_key, user=user, record=record, **detail)
        try:
            commit(session, svc)
            return
        except ArchiveError:
            if attempt == ACCESS_LOG_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))


def record_log(session: Session, records: Sequence[ArchiveRecord]) -> list[ArchiveLog]:
    """The audit-trail rows about these records, oldest first."""
    ids = [r.id for r in records]
    return list(session.scalars(select(ArchiveLog).where(ArchiveLog.record_id.in_(ids)).order_by(ArchiveLog.id)))
