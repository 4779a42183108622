"""Deposits interrupted before or after their commit: their staging folders settled or removed (issue 15).

A deposit stages its files in a folder of its own (``ArchiveStore.stage``) and moves them into the
archive once its record is committed (``ArchiveStore.settle``). Killed before the commit, it
leaves a folder no record holds: removed after ``STAGED_DAYS``, and never seen by verification,
which looks at the archive's files only. Killed between the commit and the move, it leaves a
folder whose files a record holds: moved into the archive by the next verification or the daily
task, with nothing to report (the record and its files are as they were deposited).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Final

from flask import current_app
from sqlalchemy import select, union
from sqlalchemy.orm import Session

from webforms.archive.services import ArchiveServices
from webforms.jobs import daily
from webforms.models import ArchiveRecord

log = logging.getLogger(__name__)

# A deposit takes seconds; a folder a day old belongs to a deposit that will not come back.
STAGED_DAYS: Final = 1


def settle_committed(session: Session, svc: ArchiveServices, *, now: dt.datetime | None = None) -> tuple[int, int]:
    """Move into the archive the staged files of committed deposits; with ``now``, remove the stale others. Return (settled, removed)."""
    held = set(session.scalars(union(select(ArchiveRecord.signed_sha512), select(ArchiveRecord.pdfa_sha512))))
    settled = removed = 0
    cutoff = (now - dt.timedelta(days=STAGED_DAYS)).timestamp() if now is not None else None
    for batch, changed_at, digests in svc.archive.batches():
        if digests and all(d in held for d in digests):
            settled += 1
            svc.archive.settle(batch)
        elif cutoff is not None and changed_at < cutoff:
            removed += 1
            svc.archive.discard(batch)
    if settled or removed:
        log.info("Dépôts d'archive interrompus : %s achevé(s), %s abandonné(s) supprimé(s)", settled, removed)
    return settled, removed


def _clean_staging(session: Session, *, now: dt.datetime) -> int:
    """The daily task's body: settle committed deposits, remove abandoned ones; return how many folders were handled."""
    return sum(settle_committed(session, current_app.extensions["webforms.archive"], now=now))


clean_staging = daily("nettoyer_depots_interrompus", cron="27 3 * * *", periodic_id="depots-interrompus", done="Dépôts d'archive interrompus traités : %s")(_clean_staging)
