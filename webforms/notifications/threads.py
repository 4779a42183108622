"""Messages per document (issue 14): a thread between the owning organisation and its recipients.

Who reads a thread is who reads the document (``policy.can_view``: the archiviste too, the
thread belongs to the document's record); who writes in it is ``policy.can_discuss`` (its
organisation's writers, the recipients who answer it). A recipient may make a message a
"demande de correction": on a candidature dossier it is the instruction's own request
(``instruction.request_correction``, AML §6b: its rules, its reopening by the association,
answered by the next deposit); on another document it reopens it and stays open until the
writers deposit it again (issue 14: "answered by the correction"; a plain reply does not answer it). Each new message tells the thread's other side
(``notify``), without its text: a message may name the household, an e-mail must not (CNIL).
The text is stored and shown as typed, escaped like any value, never evaluated as a template.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from webforms import policy
from webforms.candidatures import instruction
from webforms.documents.previews import ask_preview_if_complete
from webforms.documents.services import Services, check_move, log_event
from webforms.documents.uploads import check_upload
from webforms.errors import DocumentError
from webforms.mesures.thread import GRANT, REFUSAL
from webforms.models import NATURES_MESSAGE, CorrectionRequest, Document, Event, Message, MessageRead, Piece, PieceJointe, User
from webforms.notifications.events import piece_title, receivers_of, writers_of
from webforms.notifications.services import notify

MAX_TEXT = 2000
# An attachment: the formats and size of a dossier's pieces (AML §6b), one file per message.
ATTACHMENT_FORMATS = frozenset({"pdf", "jpeg", "png", "docx"})
ATTACHMENT_MB = 10


@dataclass(frozen=True)
class Upload:
    """A file sent with a message, as the view received it: its stream and its name, and where to check it."""

    stream: BinaryIO
    filename: str
    workdir: Path


@dataclass(frozen=True)
class Attached:
    """An attachment as the thread page shows it."""

    id: int
    name: str
    size: int


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
    attachments: tuple[Attached, ...] = ()


def _clean(texte: str | None) -> str:
    """Keep the lines the user typed; drop the controls and invisible characters that are not line breaks."""
    kept = "".join(c for c in (texte or "").replace("\r\n", "\n") if c == "\n" or unicodedata.category(c) not in ("Cc", "Cf"))
    return kept.strip()


def _store(svc: Services, upload: Upload | None) -> PieceJointe | None:
    """Check an attachment by its content (``check_upload``) and store it; refuse in French, storing nothing."""
    if upload is None:
        return None
    checked = check_upload(upload.stream, upload.filename, allowed=ATTACHMENT_FORMATS, max_bytes=ATTACHMENT_MB << 20, workdir=upload.workdir)
    try:
        with checked.data_path.open("rb") as data:
            digest, size = svc.store.put_stream(data)
    finally:
        checked.data_path.unlink(missing_ok=True)
    return PieceJointe(sha256=digest, size=size, mime=checked.mime, original_name=checked.original_name[:255], at=svc.clock())


def post(session: Session, svc: Services, doc: Document, *, user: User, texte: str | None, nature: str = "message", upload: Upload | None = None) -> Message:
    """Add ``user``'s message (and its attachment) to ``doc``'s thread and tell the other side; refuse with a French reason, changing nothing."""
    texte = _clean(texte)
    if not policy.can_discuss(user, doc):
        raise DocumentError("Vous ne pouvez pas écrire dans la discussion de ce document.")
    if nature not in NATURES_MESSAGE:
        raise DocumentError("Choisissez la nature du message parmi celles proposées.")
    if not texte:
        raise DocumentError("Écrivez votre message avant de l'envoyer.")
    if len(texte) > MAX_TEXT:
        raise DocumentError(f"Un message ne peut dépasser {MAX_TEXT:,} caractères.".replace(",", "\u202f"))
    if nature == "demande_correction" and not policy.can_request_correction(user, doc):
        raise DocumentError("Seul un destinataire du document soumis peut demander une correction.")
    attachment = _store(svc, upload)  # checked before anything is recorded
    if nature == "demande_correction":
        return request_correction(session, svc, doc, user=user, texte=texte, attachment=attachment)
    now = svc.clock()
    message = Message(document_id=doc.id, user_id=user.id, nature=nature, texte=texte, at=now)
    session.add(message)
    session.flush()
    _attach(session, message, attachment)
    notify(session, "message", doc, [*writers_of(session, doc), *receivers_of(session, doc)], what="nouveau message", now=now, actor=user)
    session.commit()
    return message


def _correction_message(session: Session, doc: Document, *, user: User, texte: str, at: dt.datetime) -> Message:
    """Enter a correction request in the thread and tell both sides (the author first), in the asker's transaction."""
    message = Message(document_id=doc.id, user_id=user.id, nature="demande_correction", texte=texte, at=at)
    session.add(message)
    session.flush()
    notify(session, "demande_correction", doc, [*writers_of(session, doc), *receivers_of(session, doc)], what="demande de correction", now=at, actor=user)
    return message


def on_dossier_correction(session: Session, doc: Document, request: CorrectionRequest, user: User) -> None:
    """A dossier's correction request, wherever asked (its thread, its instruction page): a message of its thread."""
    piece = session.get(Piece, request.piece_id) if request.piece_id is not None else None
    texte = request.texte if piece is None else f"{piece_title(doc, piece.code)} : {request.texte}"
    _correction_message(session, doc, user=user, texte=texte, at=request.at)


def _attach(session: Session, message: Message, attachment: PieceJointe | None) -> None:
    if attachment is not None:
        attachment.message_id = message.id
        session.add(attachment)


def request_correction(session: Session, svc: Services, doc: Document, *, user: User, texte: str, attachment: PieceJointe | None = None) -> Message:
    """Ask the writers for a correction: a message of the thread that reopens the document; refuse in French, changing nothing.

    A candidature dossier's request is the instruction's (AML §6b: before the deadline, its
    association reopens it); any other submitted document is reopened by the request itself
    (the lifecycle's ``reopen`` move) and the request is answered by its next deposit.
    """
    if not policy.can_request_correction(user, doc):
        raise DocumentError("Seul un destinataire du document soumis peut demander une correction.")
    if doc.appel_id is not None:
        instruction.request_correction(session, svc, doc, user=user, texte=texte)  # its hook enters the message
        asked = select(Message).where(Message.document_id == doc.id, Message.user_id == user.id, Message.nature == "demande_correction")
        message = session.scalars(asked.order_by(Message.id.desc()).limit(1)).one()
        if attachment is not None:  # the request is the instruction's, committed: its file follows it
            _attach(session, message, attachment)
            session.commit()
        return message
    if doc.statut == "decide":
        raise DocumentError("La décision est enregistrée sur ce document : il ne peut plus être rouvert pour correction.")
    if _renewal_decided(session, doc):
        raise DocumentError(
            "Le Service Logement de la DPDS a déjà statué sur le renouvellement demandé par ce bilan : il ne peut plus être rouvert pour correction."
        )
    now = svc.clock()
    doc.statut = check_move(doc, "reopen")
    doc.updated_at = now
    # Logged like every move; the message below is what tells both sides (``events.on_reopen`` passes).
    log_event(session, doc, user, "reopen", now, par="demande_correction")
    ask_preview_if_complete(session, doc, user=user, now=now)
    message = _correction_message(session, doc, user=user, texte=texte, at=now)
    _attach(session, message, attachment)
    session.commit()
    return message


def _renewal_decided(session: Session, doc: Document) -> bool:
    """Has the DPDS granted or refused the renewal this bilan asked for since its last submission? (it stays "soumis")"""
    decided = select(Event.id).where(Event.document_id == doc.id, Event.action.in_((GRANT, REFUSAL)))
    if doc.submitted_at is not None:
        decided = decided.where(Event.at >= doc.submitted_at)
    return session.scalar(decided.limit(1)) is not None


def thread(session: Session, doc: Document, *, user: User, mark_seen: bool = True) -> list[Shown]:
    """Return ``doc``'s messages, oldest first, those ``user`` has not seen marked new; then mark them seen.

    ``mark_seen=False``: the page shown again after a refused post, which changes nothing.
    """
    seen = session.get(MessageRead, (user.id, doc.id))
    last_seen = seen.last_id if seen is not None else 0
    messages = list(session.scalars(select(Message).where(Message.document_id == doc.id).order_by(Message.id)))
    files: dict[int, list[Attached]] = {}
    for pj in attachments_of(session, doc):
        files.setdefault(pj.message_id, []).append(Attached(pj.id, pj.original_name, pj.size))
    shown = [
        Shown(m.id, m.user.full_name, m.user.organisation.name if m.user.organisation else "", m.nature, NATURES_MESSAGE[m.nature], m.texte, m.at,
              m.nature == "demande_correction" and m.answered_at is None, m.id > last_seen and m.user_id != user.id, tuple(files.get(m.id, ())))
        for m in messages
    ]
    if mark_seen and messages and messages[-1].id > last_seen:
        session.execute(
            pg_insert(MessageRead).values(user_id=user.id, document_id=doc.id, last_id=messages[-1].id)
            .on_conflict_do_update(index_elements=["user_id", "document_id"], set_={"last_id": messages[-1].id})
        )
        session.commit()
    return shown


def attachments_of(session: Session, doc: Document) -> list[PieceJointe]:
    """The attachments of ``doc``'s thread, in the order of its messages."""
    return list(session.scalars(select(PieceJointe).join(Message, Message.id == PieceJointe.message_id).where(Message.document_id == doc.id).order_by(PieceJointe.id)))


def attachment_of(session: Session, doc: Document, attachment_id: int) -> PieceJointe | None:
    """The attachment ``attachment_id`` if it belongs to ``doc``'s thread (another thread's: none)."""
    found = session.get(PieceJointe, attachment_id)
    message = session.get(Message, found.message_id) if found is not None else None
    return found if message is not None and message.document_id == doc.id else None


def unread(session: Session, doc: Document, *, user: User) -> int:
    """Return how many messages of ``doc``'s thread ``user`` has not seen (their own excepted)."""
    seen = session.get(MessageRead, (user.id, doc.id))
    query = select(func.count()).select_from(Message).where(Message.document_id == doc.id, Message.user_id != user.id)
    if seen is not None:
        query = query.where(Message.id > seen.last_id)
    return int(session.scalar(query) or 0)


def page_extra(session: Session, doc: Document) -> dict[str, int] | None:
    """What the document's page shows of its thread, for the signed-in reader: how many messages, how many unseen (None: no thread for them)."""
    if not policy.can_read_thread(current_user, doc):
        return None
    count = int(session.scalar(select(func.count()).select_from(Message).where(Message.document_id == doc.id)) or 0)
    return {"count": count, "unread": unread(session, doc, user=current_user) if count else 0}
