"""Reminders computed from the rules already in the service (issue 14), each sent once per occurrence.

A periodic task (``rappels``, every day) computes what is due and tells whom it concerns: on
each measure, its referent (``mesure_reminders``: bilans, start deadline, meeting rhythm, end
of a Maintien with no renewal asked), and on documents their writers or deciders
(``document_reminders``: calls' deadlines, referrals waiting for a decision, signed copies
waiting). Each occurrence has a key (rule, subject, due date) recorded in ``rappel`` in the
same transaction as its notifications: a second worker, or the next day's run, finds the key
taken and tells nobody again. A due date that moves (a renewal, a measure closed early, a call
postponed) is a new occurrence. An occurrence that reached nobody (an inactive referent, no
coordinator named yet, no archivist in the territory) gives its key back: the next run tells
whoever has been named since (docs/decisions.md, "A reminder nobody received").
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from webforms.jobs import daily
from webforms.models import Mesure, Rappel
from webforms.notifications.document_reminders import SWEEPS
from webforms.notifications.mesure_reminders import RULES
from webforms.notifications.services import notify
from webforms.timeutil import paris_date

logger = logging.getLogger(__name__)

# Every day at 05:00 UTC (6 or 7 h in Paris), before the digests (06:00): they carry them.
REMINDERS_CRON = "0 5 * * *"


def _first_time(session: Session, cle: str, now: dt.datetime) -> bool:
    """Record the occurrence ``cle``; False if it already was (by an earlier run, or another worker now).

    Two workers at once: the second one's insert waits for the first's commit, then does nothing.
    """
    inserted = session.execute(pg_insert(Rappel).values(cle=cle, created_at=now).on_conflict_do_nothing().returning(Rappel.id))
    return inserted.scalar() is not None


def _give_back(session: Session, cle: str) -> None:
    """Forget the occurrence ``cle``: nobody was told, the next run tries again."""
    session.execute(delete(Rappel).where(Rappel.cle == cle))


def send_reminders(session: Session, *, now: dt.datetime) -> int:
    """Tell whom each reminder concerns what is due on ``now``'s Paris day and was never told; return how many occurrences reached someone."""
    today = paris_date(now)
    sent = 0
    for mesure in session.scalars(select(Mesure).order_by(Mesure.id)):
        for occurrence in (o for rule in RULES for o in rule(mesure, today)):
            if not _first_time(session, occurrence.cle, now):
                continue
            if notify(session, occurrence.evenement, mesure, [mesure.referent], what=occurrence.what, now=now, detail=occurrence.detail):
                sent += 1
            else:
                _give_back(session, occurrence.cle)
    for sweep in SWEEPS:
        for occurrence, document, recipients in sweep(session, now):
            if not _first_time(session, occurrence.cle, now):
                continue
            if notify(session, occurrence.evenement, document, recipients, what=occurrence.what, now=now, detail=occurrence.detail):
                sent += 1
            else:
                _give_back(session, occurrence.cle)
    return sent


# On the maintenance queue like the digests: it only records, the e-mails are the courriels queue's.
daily_reminders = daily("envoyer_rappels", cron=REMINDERS_CRON, periodic_id="rappels-quotidiens", done="Rappels envoyés : %s")(send_reminders)
