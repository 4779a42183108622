"""Record notifications, count and list them by the pages' policy, mark them read, keep preferences."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_login import current_user
from sqlalchemy import ColumnElement, ScalarSelect, Select, exists, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from webforms import db, policy
from webforms.accounts import sessions
from webforms.jobs import ask
from webforms.models import Document, Mesure, Notification, User
from webforms.notifications.mail import send_notification
from webforms.notifications.preferences import frequence_of
from webforms.notifications.subjects import EVENEMENTS, About, about, headline, may_open, page

PAGE_SIZE = 100
UNREAD_FACT = "notifications_non_lues"


def mail_enabled() -> bool:
    """Is an SMTP relay configured? Without one, notifications stay in the centre only."""
    return bool(current_app.config.get("SMTP_HOST"))


def notify(
    session: Session, evenement: str, subject: About, recipients: Iterable[User], *, what: str, now: dt.datetime, actor: User | None = None,
    detail: str | None = None,
) -> list[Notification]:
    """Tell each recipient that ``what`` happened to ``subject`` (a document, a measure), in the caller's transaction.

    ``detail`` is told below the line, in the centre and in the e-mail's body, never in its subject.

    Nobody is told of their own action, nor of what they may not open. Those who chose
    "immediat" get an e-mail from a worker (nothing committed here; a relay that is down never
    stops the caller's change).
    """
    if not isinstance(subject, EVENEMENTS.get(evenement, ())):
        raise ValueError(f"Notification {evenement!r} non déclarée pour {type(subject).__name__} (subjects.EVENEMENTS).")
    told: list[Notification] = []
    seen: set[int] = set()
    for user in recipients:
        if user.id in seen or not user.active or (actor is not None and user.id == actor.id) or not may_open(user, subject):
            continue
        seen.add(user.id)
        note = Notification(user_id=user.id, evenement=evenement, message=headline(subject, what), detail=detail and detail[:300], created_at=now)
        if isinstance(subject, Mesure):
            note.mesure = subject
        else:
            note.document = subject
        session.add(note)
        told.append(note)
    if told and mail_enabled():
        session.flush()
        for note in told:
            if frequence_of(session, note.user_id) == "immediat":
                ask(session, send_notification, nature="courriel", libelle=f"Courriel : {note.message}"[:200], now=now,
                    user_id=note.user_id, document_id=note.document_id, parametres={"notification": note.id})
    return told


def _visible(user: User) -> Select[tuple[Notification]]:
    """The user's notifications about what they may still open (the pages' own rule)."""
    documents = policy.visible_documents(user).with_only_columns(Document.id).order_by(None)
    mesures = policy.visible_mesures(user).with_only_columns(Mesure.id).order_by(None)
    return select(Notification).where(
        Notification.user_id == user.id, or_(Notification.document_id.in_(documents), Notification.mesure_id.in_(mesures))
    )


def unread_count(session: Session, user: User) -> int:
    """Return how many of ``user``'s visible notifications are unread (the header's count)."""
    query = _visible(user).where(Notification.read_at.is_(None)).with_only_columns(func.count()).order_by(None)
    return int(session.scalar(query) or 0)


@dataclass(frozen=True)
class Item:
    """A notification as the centre shows it: plain values."""

    id: int
    message: str
    detail: str | None
    endpoint: str
    values: dict[str, Any]
    created_at: dt.datetime
    read: bool


def listing(session: Session, user: User) -> list[Item]:
    """Return ``user``'s latest visible notifications, newest first; each re-checked by ``can_view``."""
    notes = session.scalars(_visible(user).order_by(Notification.created_at.desc(), Notification.id.desc()).limit(PAGE_SIZE))
    return [
        Item(n.id, n.message, n.detail, *page(n), n.created_at, n.read_at is not None)
        for n in notes
        if may_open(user, about(n))  # the query follows the same rule; a second look costs nothing
    ]


def mark_read(session: Session, user: User, notification_id: int, *, now: dt.datetime) -> bool:
    """Mark one of ``user``'s notifications read; False if it is not theirs (or not visible)."""
    note = session.scalars(_visible(user).where(Notification.id == notification_id)).first()
    if note is None:
        return False
    if note.read_at is None:
        note.read_at = now
    session.commit()
    return True


def mark_all_read(session: Session, user: User, *, now: dt.datetime) -> int:
    """Mark every unread notification of ``user`` read; return how many."""
    done = session.execute(
        update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None)).values(read_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount
    session.commit()
    return int(done or 0)


def page_of(session: Session, notification_id: int) -> tuple[str, dict[str, Any]]:
    """Return the endpoint and values of the page a notification links to."""
    return page(session.get_one(Notification, notification_id))


def unread_exists(user_id: ColumnElement[int | None]) -> ScalarSelect[bool]:
    """Does the user have any unread notification at all? (read with the session: most have none)."""
    return select(exists().where(Notification.user_id == user_id, Notification.read_at.is_(None))).scalar_subquery()


def unread_for_template() -> int:
    """Return the signed-in user's unread count, for the header (0 when signed out or unreadable)."""
    # Which of them the user may still open depends on their role: counted only when there is one.
    if not current_user.is_authenticated or sessions.fact(UNREAD_FACT) is False:
        return 0
    try:
        return unread_count(db.session(), current_user)
    except SQLAlchemyError:
        # An error page rendered after a failed statement: its transaction refuses every query
        # until rolled back, which is the request's to do. The page shows without the count.
        return 0
