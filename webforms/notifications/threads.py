"""Messages per document (issue 14): a thread between the owning organisation and its recipients.

Who reads a thread is who reads the document (``policy.can_view``: the archiviste too, the
thread belongs to the document's record); who writes in it is ``policy.can_discuss`` (its
organisation's writers, the recipients who answer it). A recipient may make a message a
"demande de correction": on a candidature dossier it is the instruction's own request
(``instruction.request_correction``, AML §6b: its rules, its reopening by the association,
answered by the next deposit); on another document it stays open until the writers answer it
in the thread or deposit it again. Each new message tells the thread's other side
(``notify``), without its text: a message may name the household, an e-mail must not (CNIL).
The text is stored and shown as typed, escaped like any value, never evaluated as a template.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass

from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from webforms import policy
from webforms.candidatures import instruction
from webforms.documents.services import Services
from webforms.errors import DocumentError
from webforms.models import NATURES_MESSAGE, Document, Message, MessageRead, User
from webforms.notifications.events import answer_corrections, receivers_of, writers_of
from webforms.notifications.services import notify

MAX_TEXT = 2000


@dataclass(frozen=True)
class Shown:
    """A message as the thread page shows it: plain values, ``new`` for the reader."""

    id: int
    author: str
    organisation: str
    nature: str
    nature_label: str
    texte: str
    at: dt.datetime
    open: bool
    new: bool


def _clean(texte: str | None) -> str:
    """Keep the lines the user typed; drop the controls and invisible characters that are not line breaks."""
    kept = "".join(c for c in (texte or "").replace("\r\n", "\n") if c == "\n" or unicodedata.category(c) not in ("Cc", "Cf"))
    return kept.strip()


def post(session: Session, svc: Services, doc: Document, *, user: User, texte: str | None, nature: str = "message") -> Message:
    """Add ``user``'s message to ``doc``'s thread and tell the other side; refuse with a French reason, changing nothing."""
    texte = _clean(texte)
    if not policy.can_discuss(user, doc):
        raise DocumentError("Vous ne pouvez pas écrire dans la discussion de ce document.")
    if nature not in NATURES_MESSAGE:
        raise DocumentError("Choisissez la nature du message parmi celles proposées.")
    if not texte:
        raise DocumentError("Écrivez votre message avant de l'envoyer.")
    if len(texte) > MAX_TEXT:
        raise DocumentError(f"Un message ne peut dépasser {MAX_TEXT:,} caractères.".replace(",", "\u202f"))
    correction = nature == "demande_correction"
    if correction and not policy.can_request_correction(user, doc):
        raise DocumentError("Seul un destinataire du document soumis peut demander une correction.")
    now = svc.clock()
    message = Message(document_id=doc.id, user_id=user.id, nature=nature, texte=texte, at=now)
    session.add(message)
    if not correction and policy.owns(user, doc):
        answer_corrections(session, doc, now)
    session.flush()
    what = "demande de correction" if correction else "nouveau message"
    notify(session, "demande_correction" if correction else "message", doc, [*writers_of(session, doc), *receivers_of(session, doc)], what=what, now=now, actor=user)
    if correction and doc.appel_id is not None:
        # A dossier's correction is the instruction's (its rules and its reopening); it commits all.
        try:
            instruction.request_correction(session, svc, doc, user=user, texte=texte)
        except DocumentError:
            session.rollback()
            raise
        return message
    session.commit()
    return message


def thread(session: Session, doc: Document, *, user: User) -> list[Shown]:
    """Return ``doc``'s messages, oldest first, those ``user`` has not seen marked new; then mark them seen."""
    seen = session.get(MessageRead, (user.id, doc.id))
    last_seen = seen.last_id if seen is not None else 0
    messages = list(session.scalars(select(Message).where(Message.document_id == doc.id).order_by(Message.id)))
    shown = [
        Shown(m.id, m.user.full_name, m.user.organisation.name if m.user.organisation else "", m.nature, NATURES_MESSAGE[m.nature], m.texte, m.at,
              m.nature == "demande_correction" and m.answered_at is None, m.id > last_seen and m.user_id != user.id)
        for m in messages
    ]
    if messages and messages[-1].id > last_seen:
        session.execute(
            pg_insert(MessageRead).values(user_id=user.id, document_id=doc.id, last_id=messages[-1].id)
            .on_conflict_do_update(index_elements=["user_id", "document_id"], set_={"last_id": messages[-1].id})
        )
        session.commit()
    return shown


def unread(session: Session, doc: Document, *, user: User) -> int:
    """Return how many messages of ``doc``'s thread ``user`` has not seen (their own excepted)."""
    seen = session.get(MessageRead, (user.id, doc.id))
    query = select(func.count()).select_from(Message).where(Message.document_id == doc.id, Message.user_id != user.id)
    if seen is not None:
        query = query.where(Message.id > seen.last_id)
    return int(session.scalar(query) or 0)


def page_extra(session: Session, doc: Document) -> dict[str, int]:
    """What the document's page shows of its thread, for the signed-in reader: how many messages, how many unseen."""
    count = int(session.scalar(select(func.count()).select_from(Message).where(Message.document_id == doc.id)) or 0)
    return {"count": count, "unread": unread(session, doc, user=current_user) if count else 0}
