"""Exports of many archive records, built by a worker (issue 11, point 4): asked, then downloaded.

The request checks the selection and records it, ids frozen in the work's ``parametres`` (a
record deposited later does not slip in), then returns at once. The task ``exporter_archives``
writes the ZIP into a private folder of the instance (0700; the file 0600, named by its
SHA-256), logs the export in the audit trail and marks its work done, in one transaction. The
one who asked downloads the file from the export's page for ``EXPORT_DAYS`` days; the next
export run removes the files older than that (never one still to be built: it has no file yet).
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from webforms import policy
from webforms.archive.audit import commit
from webforms.archive.services import ArchiveError, ArchiveServices
from webforms.archive.transfer import check_export, write_logged
from webforms.documents.storage import digest_of
from webforms.jobs import ask, task
from webforms.models import ArchiveRecord, Travail, User

NATURE = "export_archive"
FORMATS = {"seda": "Paquet de transfert SEDA 2.2", "bagit": "Paquet BagIt"}
# Long enough to come back after a week-end; an export is cheap to ask again.
EXPORT_DAYS = 7
# A temporary file older than this was left by a worker killed mid-export.
_STALE_TMP_SECONDS = 24 * 3600


def exports_dir(app: Flask) -> Path:
    """Where ``app`` keeps the built exports: ``ARCHIVE_EXPORT_DIR``, else ``instance/exports``."""
    return Path(app.config.get("ARCHIVE_EXPORT_DIR") or Path(app.instance_path) / "exports")


def ask_export(session: Session, svc: ArchiveServices, records: list[ArchiveRecord], *, fmt: str, user: User) -> Travail:
    """Check the export of ``records`` and ask a worker to build it; commit and return the work."""
    check_export(session, records, fmt=fmt, user=user)
    count = len(records)
    travail = ask(
        session,
        build_export,
        nature=NATURE,
        libelle=f"Export {FORMATS[fmt]} de {count} enregistrement{'s' if count > 1 else ''}",
        now=svc.clock(),
        user_id=user.id,
        parametres={"format": fmt, "records": [r.id for r in records]},
    )
    assert travail is not None  # asked without a lock: always recorded
    session.commit()
    return travail


def can_download(user: User, travail: Travail) -> bool:
    """May ``user`` follow and download this export: the archivist who asked it, still allowed to export."""
    return travail.nature == NATURE and travail.user_id == user.id and policy.can_export_archive(user)


def expires_at(travail: Travail) -> dt.datetime | None:
    """When a built export's file goes (None while it is being built)."""
    return travail.finished_at + dt.timedelta(days=EXPORT_DAYS) if travail.finished_at else None


def built_file(directory: Path, travail: Travail, now: dt.datetime) -> Path | None:
    """The built ZIP of an export, if done, not refused, not expired and still on disk."""
    result = travail.resultat or {}
    end = expires_at(travail)
    if travail.statut != "termine" or "fichier" not in result or end is None or end <= now:
        return None
    path = directory / result["fichier"]
    return path if path.is_file() else None


def _commit_witnessed(session: Session) -> None:
    """Commit the export's audit rows with its work marked done, and witness them (``audit.commit``).

    One commit: a worker killed after it finds the work done and logs nothing twice.
    """
    commit(session, current_app.extensions["webforms.archive"])

@task("exporter_archives", commit=_commit_witnessed)
def build_export(session: Session, travail: Travail) -> dict[str, Any]:
    """Build the ZIP of the records chosen at the request; log it and finish the work in one commit."""
    svc: ArchiveServices = current_app.extensions["webforms.archive"]
    directory = exports_dir(current_app)
    asked = travail.parametres
    user = session.get_one(User, travail.user_id)
    records = [session.get_one(ArchiveRecord, i) for i in asked["records"]]
    now = svc.clock()
    sweep(session, directory, now)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".zip")
    try:
        with os.fdopen(fd, "w+b") as out:
            try:
                name = write_logged(session, svc, records, fmt=asked["format"], user=user, out=out)
            except ArchiveError as exc:
                # A refusal (a damaged file, a record destroyed since): done, with its reason.
                return {"refus": str(exc)}
        digest, size = _publish(Path(tmp), directory)
    finally:
        Path(tmp).unlink(missing_ok=True)
    return {"fichier": f"{digest}.zip", "sha256": digest, "taille": size, "nom": name, "nombre": len(records), "format": asked["format"]}



def _publish(tmp: Path, directory: Path) -> tuple[str, int]:
    """Name the built ZIP by its SHA-256, readable by the service's account only; return digest and size."""
    digest, size = digest_of(tmp)
    os.chmod(tmp, 0o600)
    os.replace(tmp, directory / f"{digest}.zip")
    return digest, size


def sweep(session: Session, directory: Path, now: dt.datetime) -> int:
    """Remove the files of exports built more than ``EXPORT_DAYS`` days ago, and stale temporary files."""
    removed = 0
    old = session.scalars(
        select(Travail).where(Travail.nature == NATURE, Travail.statut == "termine", Travail.finished_at < now - dt.timedelta(days=EXPORT_DAYS))
    )
    for travail in old:
        name = (travail.resultat or {}).get("fichier")
        if name and (directory / name).is_file():
            (directory / name).unlink()
            removed += 1
    if directory.is_dir():
        for tmp in directory.glob(".tmp-*"):
            if time.time() - tmp.stat().st_mtime > _STALE_TMP_SECONDS:
                tmp.unlink(missing_ok=True)
    return removed
