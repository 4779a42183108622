"""The reminders about documents: calls' deadlines, referrals waiting for a decision, signed copies.

Each sweep looks at the whole database once a day and gives, for each occurrence, the document
it is about and whom to tell; ``reminders.send_reminders`` records each occurrence once.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Iterator

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas import registry
from webforms.documents.services import parent_rules, problems
from webforms.models import Appel, ArchiveRecord, Document, User
from webforms.notifications.events import writers_of
from webforms.notifications.mesure_reminders import Occurrence
from webforms.notifications.workdays import working_days_between
from webforms.rendering.context import date_fr, datetime_fr
from webforms.timeutil import paris_date

# A call's deadline, for a dossier not yet deposited: told 7 days before, then 2 days before (issue 14).
CALL_WARNINGS = ((2, "appel-j2"), (7, "appel-j7"))
# The call's title as a subject names it: at most this many characters (a title may hold 300).
CALL_TITLE_CHARS = 120
# A referral waiting for the coordinator's decision "plus de 5 jours ouvrés" (issue 14).
WAITING_WORKING_DAYS = 5
# A submitted document still waiting for its signed copy "après 15 jours" (issue 14).
SIGNED_COPY_DAYS = 15

Reminder = tuple[Occurrence, Document, list[User]]


def _active(session: Session, role: str) -> list[User]:
    return list(session.scalars(select(User).where(User.role == role, User.active.is_(True)).order_by(User.id)))


def _missing_text(lines: Iterable[str]) -> str:
    """Sum up what stops a dossier's deposit in a few words: how many points of each sort (the list is on its page)."""
    counts: dict[str, int] = {}
    for line in lines:
        head = "section à corriger" if line.startswith("Section ") else line.partition(" : ")[0].lower()
        counts[head] = counts.get(head, 0) + 1
    total = sum(counts.values())
    if not total:
        return "Le dossier est complet : il reste à le déposer."
    plural = "s" if total > 1 else ""
    return f"Reste à compléter : {total} point{plural} ({', '.join(f'{head} : {n}' for head, n in counts.items())}), détaillé{plural} sur la page du dossier."


def _days_left(left: int) -> str:
    return "aujourd'hui" if left == 0 else "demain" if left == 1 else f"dans {left} jours"


def _call_name(appel: Appel) -> str:
    """The call as a subject names it: its title, shortened past ``CALL_TITLE_CHARS``."""
    title = " ".join(str(appel.data.get("titre") or appel.code).split())
    return title if len(title) <= CALL_TITLE_CHARS else title[: CALL_TITLE_CHARS - 1].rstrip() + "…"


def call_deadline(session: Session, now: dt.datetime) -> Iterator[Reminder]:
    """A dossier not deposited, its call's deadline 7 then 2 days away (AML §6d), with what is missing.

    The line (the e-mail's subject) names the kind and the call, a draft having no reference yet;
    what is missing goes below it (the e-mail's body), counted by sort: the list is on its page.
    """
    today = paris_date(now)
    for appel in session.scalars(select(Appel).where(Appel.deadline > now).order_by(Appel.id)):
        left = (paris_date(appel.deadline) - today).days
        mark = next((name for days, name in CALL_WARNINGS if left <= days), None)
        if mark is None:
            continue
        drafts = session.scalars(select(Document).where(Document.appel_id == appel.id, Document.statut == "brouillon").order_by(Document.id))
        for doc in drafts:
            missing = _missing_text(parent_rules(doc).blockers(doc, problems(doc), now))
            what = f"appel « {_call_name(appel)} » : non déposé, date limite {_days_left(left)} ({datetime_fr(appel.deadline)})"
            yield Occurrence(f"{mark}:{doc.id}:{appel.deadline.isoformat()}", "appel_echeance", what, missing), doc, writers_of(session, doc)


def decision_waiting(session: Session, now: dt.datetime) -> Iterator[Reminder]:
    """A referral submitted more than 5 working days ago, still without its decision (AML §4)."""
    today = paris_date(now)
    for name, kind in registry().items():
        if kind.review is None:
            continue
        waiting = select(Document).where(Document.kind == name, Document.statut == "soumis", Document.submitted_at < now - dt.timedelta(days=WAITING_WORKING_DAYS))
        deciders = _active(session, kind.review.role)
        for doc in session.scalars(waiting.order_by(Document.id)):
            assert doc.submitted_at is not None  # a submitted document has its moment
            submitted = paris_date(doc.submitted_at)
            if working_days_between(submitted, today) > WAITING_WORKING_DAYS:
                what = f"{kind.review.title.lower()} attendue depuis le {date_fr(submitted)} (plus de {WAITING_WORKING_DAYS} jours ouvrés)"
                yield Occurrence(f"decision-attente:{doc.id}:{submitted.isoformat()}", "decision_en_attente", what), doc, deciders


def signed_copy_waiting(session: Session, now: dt.datetime) -> Iterator[Reminder]:
    """A document submitted more than 15 days ago whose signed copy is still not archived: the archivistes.

    The copy awaited is the one of its last submission: a document reopened and submitted again
    (a new version) waits for a new copy, whatever was archived of the earlier one. A record
    deposited since the last submission is that copy (a decision freezing a later version asks
    for none).
    """
    today = paris_date(now)
    copy_of_last_submission = select(ArchiveRecord.id).where(
        ArchiveRecord.document_id == Document.id, ArchiveRecord.deposited_at >= Document.submitted_at
    )
    waiting = select(Document).where(
        Document.statut != "brouillon",
        Document.submitted_at < now - dt.timedelta(days=SIGNED_COPY_DAYS),
        ~copy_of_last_submission.exists(),
    )
    archivistes = _active(session, "archiviste")
    for doc in session.scalars(waiting.order_by(Document.id)):
        assert doc.submitted_at is not None
        submitted = paris_date(doc.submitted_at)
        if (today - submitted).days > SIGNED_COPY_DAYS:
            what = f"copie signée toujours pas archivée, document transmis le {date_fr(submitted)} (plus de {SIGNED_COPY_DAYS} jours)"
            yield Occurrence(f"copie-signee:{doc.id}:{submitted.isoformat()}", "copie_signee_attendue", what), doc, archivistes


SWEEPS: tuple[Callable[[Session, dt.datetime], Iterator[Reminder]], ...] = (call_deadline, decision_waiting, signed_copy_waiting)
