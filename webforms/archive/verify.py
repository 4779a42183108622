"""Integrity verification: every file against its SHA-512, files against records, the audit chain."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webforms.archive.audit import GENESIS, commit, log, row_hash
from webforms.archive.search import day_start
from webforms.archive.services import ArchiveServices
from webforms.documents.storage import sha512_of
from webforms.models import ArchiveLog, ArchiveRecord, Tombstone


@dataclass
class Report:
    """What ``verify`` found; ``problems`` is empty when everything holds."""

    problems: list[str] = field(default_factory=list)
    records: int = 0
    files_hashed: int = 0
    log_rows: int = 0

    def as_json(self) -> dict[str, Any]:
        """The report as the command line's ``--json`` prints it."""
        return {"ok": not self.problems, "problems": self.problems, "records": self.records, "files_hashed": self.files_hashed, "log_rows": self.log_rows}


def verify(session: Session, svc: ArchiveServices, *, since: dt.date | None = None) -> Report:
    """Check every archived file against its SHA-512, files against records, and the log chain.

    ``since`` limits the rehashing to records deposited from that (Paris) day on; presence of
    every file, orphans and the whole chain are always checked.
    """
    report = Report()
    # Plain columns, not records with their documents joined: a verification reads every row.
    records = session.execute(
        select(
            ArchiveRecord.id, ArchiveRecord.reference, ArchiveRecord.deposited_at,
            ArchiveRecord.signed_sha512, ArchiveRecord.signed_size, ArchiveRecord.pdfa_sha512, ArchiveRecord.pdfa_size,
        ).order_by(ArchiveRecord.id)
    ).all()
    tombs = set(session.scalars(select(Tombstone.record_id)))
    report.records = len(records)
    wanted: dict[str, list[str]] = {}  # digest -> what holds it
    gone: dict[str, str] = {}
    found: dict[str, bool] = {}  # digest -> the file exists
    hashed: dict[str, tuple[str, int]] = {}  # digest -> what the file hashes to (a file held twice is read once)
    threshold = day_start(since) if since else None
    for record in records:
        for what, digest, size in (("copie signée", record.signed_sha512, record.signed_size), ("PDF/A archivé", record.pdfa_sha512, record.pdfa_size)):
            label = f"Enregistrement {record.id} ({record.reference}), {what}"
            if record.id in tombs:
                gone.setdefault(digest, label)
                continue
            wanted.setdefault(digest, []).append(label)
            path = svc.archive.path(digest)
            if digest not in found:
                found[digest] = path.is_file()
            if not found[digest]:
                report.problems.append(f"{label} : fichier manquant ({digest[:16]}…).")
                continue
            if threshold is None or record.deposited_at >= threshold:
                if digest not in hashed:
                    hashed[digest] = sha512_of(path)
                report.files_hashed += 1  # files of records checked (a file two records hold is read once)
                if hashed[digest] != (digest, size):
                    report.problems.append(f"{label} : fichier altéré, son SHA-512 ne correspond plus ({digest[:16]}…).")
    for name in svc.archive.digests():
        if name in wanted:
            continue
        if name in gone:
            report.problems.append(f"{gone[name]} : fichier éliminé encore présent ({name[:16]}…).")
        else:
            report.problems.append(f"Fichier orphelin sans enregistrement : {name[:40]}{'…' if len(name) > 40 else ''}.")
    report.problems += verify_chain(session, svc)
    report.log_rows = session.scalar(select(func.count()).select_from(ArchiveLog)) or 0
    return report


def verify_chain(session: Session, svc: ArchiveServices) -> list[str]:
    """Replay the audit trail: numbering, each row's hash, each link, and the journal file."""
    problems: list[str] = []
    expected_prev = GENESIS
    expected_id = 1
    hashes: dict[int, str] = {}
    for row in session.scalars(select(ArchiveLog).order_by(ArchiveLog.id)):
        if row.id != expected_id:
            missing = f"{expected_id}" if row.id == expected_id + 1 else f"{expected_id} à {row.id - 1}"
            problems.append(f"Journal : ligne(s) {missing} supprimée(s).")
        if row.hash != row_hash(row):
            problems.append(f"Journal, ligne {row.id} : contenu modifié (son empreinte ne correspond plus).")
        elif row.prev_hash != expected_prev and row.id == expected_id:
            problems.append(f"Journal, ligne {row.id} : chaînage rompu avec la ligne précédente.")
        hashes[row.id] = row.hash
        expected_prev, expected_id = row.hash, row.id + 1
    witnessed = svc.archive.witnessed()
    for number, digest in witnessed:
        if number < 0:
            problems.append(f"Témoin du journal : ligne illisible « {digest[:40]} ».")
        elif number not in hashes:
            problems.append(f"Journal, ligne {number} : supprimée (présente dans le témoin {svc.archive.journal.name}).")
        elif hashes[number] != digest:
            problems.append(f"Journal, ligne {number} : différente de celle scellée dans le témoin {svc.archive.journal.name}.")
    sealed = {n for n, _ in witnessed}
    for number in sorted(set(hashes) - sealed):
        problems.append(f"Journal, ligne {number} : absente du témoin {svc.archive.journal.name} (ajoutée hors du service ?).")
    return problems


def last_verification(session: Session) -> ArchiveLog | None:
    """The audit-trail row of the latest integrity verification, if any."""
    return session.scalars(select(ArchiveLog).where(ArchiveLog.action == "verify").order_by(ArchiveLog.id.desc()).limit(1)).first()


def record_verification(session: Session, svc: ArchiveServices, report: Report, *, since: dt.date | None) -> None:
    """Log that a verification ran, with its counts (no names, only numbers)."""
    log(
        session,
        svc.clock(),
        "verify",
        user=None,
        ok=not report.problems,
        problems=len(report.problems),
        records=report.records,
        files_hashed=report.files_hashed,
        since=since.isoformat() if since else None,
    )
    commit(session, svc)
