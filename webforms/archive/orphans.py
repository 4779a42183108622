"""Files of the working store that no row names: listed, and removed after a grace period (issue 15).

A candidature deposit killed after storing its pieces, a transaction rolled back after a
render, a purge interrupted between its commit and its deletions: each leaves files under
``instance/files/`` that nothing names, household data kept for nobody. A file is an orphan
when no place of ``webforms.documents.stored`` names it and it has not been written (or stored
again: ``FileStore.put`` touches a file it finds already there) for ``ORPHAN_GRACE_HOURS``, so
that a file a running job has just stored, before its transaction commits, is never taken.
Each removal is a row of the sealed audit trail (what, how large, since when), committed before
the file goes: a removal never goes unlogged.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy.orm import Session

from webforms.archive import audit
from webforms.archive.services import ArchiveServices
from webforms.documents.stored import held_digests
from webforms.jobs import daily
from webforms.models import User

log = logging.getLogger(__name__)

# A render, a dossier or a conversion commits within minutes; a day leaves room to spare, and
# keeps a forgotten file of a household one day at most past the sweep.
DEFAULT_GRACE_HOURS = 24


@dataclass(frozen=True)
class Orphan:
    """A file of the store no row names: its path under the store, size and last write."""

    name: str
    size: int
    written_at: dt.datetime

    def as_json(self) -> dict[str, object]:
        """The file as ``--json`` prints it and as the audit trail records it."""
        return {"fichier": self.name, "taille": self.size, "ecrit_le": self.written_at.isoformat(timespec="seconds")}


def _written_at(path: Path) -> dt.datetime:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC)


def find_orphans(session: Session, root: Path, *, now: dt.datetime, grace: dt.timedelta) -> list[Orphan]:
    """Every file under ``root`` that no row names and that was last written before ``now - grace``."""
    if not root.is_dir():
        return []
    held = held_digests(session)
    cutoff = now - grace
    found = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        # A stored file lives at ab/abcdef…; anything else (a partial copy, a stray file) no row names.
        named = path.parent.parent == root and path.name[:2] == path.parent.name and path.name in held
        if named:
            continue
        try:
            written = _written_at(path)
            size = path.stat().st_size
        except FileNotFoundError:
            continue  # removed meanwhile (a writer published or dropped its copy)
        if written <= cutoff:
            found.append(Orphan(str(path.relative_to(root)), size, written))
    return found


def remove_orphans(session: Session, svc: ArchiveServices, *, now: dt.datetime, grace: dt.timedelta, user: User | None = None) -> list[Orphan]:
    """Log then remove every orphan of the working store; return those removed."""
    root = svc.files.root
    orphans = find_orphans(session, root, now=now, grace=grace)
    if not orphans:
        return []
    for orphan in orphans:
        audit.log(session, now, "orphan_removed", key=svc.seal_key, user=user, **orphan.as_json())
    # Committed (and witnessed) before any file goes: a removal is never missing from the trail.
    audit.commit(session, svc)
    still_held = held_digests(session)
    removed, kept = [], []
    for orphan in orphans:
        path = root / orphan.name
        try:
            # Stored again (touched) or named since the listing, by a request running meanwhile: it stays.
            if _written_at(path) > now - grace or path.name in still_held:
                kept.append(orphan)
                continue
            path.unlink()  # read-only files: removing one is the folder's owner's right, not the file's
        except FileNotFoundError:
            continue
        removed.append(orphan)
    if kept:
        for orphan in kept:
            audit.log(session, now, "orphan_kept", key=svc.seal_key, user=user, **orphan.as_json())
        audit.commit(session, svc)
    log.info("Magasin de travail : %s fichier(s) orphelin(s) supprimé(s)", len(removed))
    return removed


def grace_of(config: dict[str, object]) -> dt.timedelta:
    """The configured grace period (``WEBFORMS_ORPHAN_GRACE_HOURS``)."""
    return dt.timedelta(hours=float(config.get("ORPHAN_GRACE_HOURS", DEFAULT_GRACE_HOURS)))  # type: ignore[arg-type]


def _sweep(session: Session, *, now: dt.datetime) -> int:
    """The daily task's body: remove the orphans past the grace period; return how many."""
    svc: ArchiveServices = current_app.extensions["webforms.archive"]
    return len(remove_orphans(session, svc, now=now, grace=grace_of(current_app.config)))


sweep_orphans = daily("balayer_fichiers_orphelins", cron="37 3 * * *", periodic_id="fichiers-orphelins", done="Fichiers orphelins supprimés du magasin de travail : %s")(_sweep)
