"""Reminders computed from the rules already in the service (issue 14), each sent once per occurrence.

A periodic task (``rappels``, every day) computes what is due on each measure with the
measures' own calendar (``mesures.services.overview``: ASLL §9.1, §9.2; AML §4) and tells its
referent. Each occurrence has a key (rule, measure, bilan, due date) recorded in ``rappel`` in
the same transaction as its notifications: a second worker, or the next day's run, finds the
key taken and tells nobody again. A due date that moves (a renewal, a measure closed early) is
a new occurrence.

First reminder: a bilan due within 7 days, then overdue. The others of the issue (start
deadline, meeting rhythm, calls' deadlines, referrals waiting, signed copies, ends of measures)
add a function yielding their occurrences to ``RULES``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from webforms.jobs import daily
from webforms.mesures.services import bilans_done, overview
from webforms.models import Mesure, Rappel
from webforms.notifications.services import notify
from webforms.rendering.context import date_fr
from webforms.timeutil import paris_date

logger = logging.getLogger(__name__)

# "Un bilan dû dans 7 jours" (issue 14): told from 7 days before its due date, once.
SOON_DAYS = 7
# Every day at 05:00 UTC (6 or 7 h in Paris), before the digests (06:00): they carry them.
REMINDERS_CRON = "0 5 * * *"


@dataclass(frozen=True)
class Occurrence:
    """One reminder to send once: its key, its event, what it says."""

    cle: str
    evenement: str
    what: str


def bilan_due(mesure: Mesure, today: dt.date) -> Iterator[Occurrence]:
    """A bilan not transmitted, due within ``SOON_DAYS`` days, or overdue (ASLL §9.1, §9.2; AML §4)."""
    for due in overview(mesure, today, bilans_done(mesure)).calendar.dues:
        if not due.slot or due.done:
            continue  # the start of the measure is another reminder's; a bilan done is done
        left = (due.due - today).days
        key = f"{mesure.id}:{due.slot}:{due.due.isoformat()}"
        if left < 0:
            yield Occurrence(f"bilan-retard:{key}", "bilan_en_retard", f"{due.title} en retard, attendu le {date_fr(due.due)} ({due.source})")
        elif left <= SOON_DAYS:
            yield Occurrence(f"bilan-bientot:{key}", "bilan_a_rendre", f"{due.title} à transmettre d'ici le {date_fr(due.due)} ({due.source})")


RULES: tuple[Callable[[Mesure, dt.date], Iterator[Occurrence]], ...] = (bilan_due,)


def _first_time(session: Session, cle: str, now: dt.datetime) -> bool:
    """Record the occurrence ``cle``; False if it already was (by an earlier run, or another worker now).

    Two workers at once: the second one's insert waits for the first's commit, then does nothing.
    """
    inserted = session.execute(pg_insert(Rappel).values(cle=cle, created_at=now).on_conflict_do_nothing().returning(Rappel.id))
    return inserted.scalar() is not None


def send_reminders(session: Session, *, now: dt.datetime) -> int:
    """Tell each measure's referent what is due on ``now``'s Paris day and was never told; return how many occurrences."""
    today = paris_date(now)
    sent = 0
    for mesure in session.scalars(select(Mesure).order_by(Mesure.id)):
        for occurrence in (o for rule in RULES for o in rule(mesure, today)):
            if _first_time(session, occurrence.cle, now):
                notify(session, occurrence.evenement, mesure, [mesure.referent], what=occurrence.what, now=now)
                sent += 1
    return sent


# On the maintenance queue like the digests: it only records, the e-mails are the courriels queue's.
daily_reminders = daily("envoyer_rappels", cron=REMINDERS_CRON, periodic_id="rappels-quotidiens", done="Rappels envoyés : %s")(send_reminders)
