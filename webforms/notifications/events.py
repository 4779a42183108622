"""Which move of a document tells whom (issue 14, "Événements"), from the kinds' own declarations.

The lifecycle logs each move as an ``Event`` and calls ``on_event`` in the move's transaction
(``documents.services.register_listener``, filled by the app factory): it names no notification.
Who reads a submitted document is its kind's ``recipient_roles`` (``schemas/``, the rule of
``policy``); the archiviste, who files the signed copy, is not told of each one (docs/decisions.md).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from schemas import get_kind
from webforms import policy
from webforms.candidatures.instruction import ETATS
from webforms.mesures import thread
from webforms.models import Document, Event, InstructionMove, Message, User
from webforms.notifications.services import notify

# Recipient roles that are not told of each submission (they see them all the same).
NOT_TOLD = frozenset({"archiviste"})


def writers_of(session: Session, doc: Document) -> list[User]:
    """The active writers of the document's organisation (its author among them)."""
    return list(session.scalars(select(User).where(User.role.in_(policy.WRITERS), User.organisation_id == doc.organisation_id, User.active.is_(True)).order_by(User.id)))


def receivers_of(session: Session, doc: Document) -> list[User]:
    """The active users whose role receives the document's kind once submitted (``Kind.recipient_roles``),
    among those who read it: of its territory (issue 13)."""
    roles = get_kind(doc.kind).recipient_roles - NOT_TOLD
    users = session.scalars(select(User).where(User.role.in_(roles), User.active.is_(True)).order_by(User.id))
    return [u for u in users if policy.can_view(u, doc)]


def _submitted_what(doc: Document, version: int) -> str:
    """What a submission is to its recipients, as the kind declares it."""
    kind = get_kind(doc.kind)
    if version > 1:
        return "déposé de nouveau après régularisation"
    if kind.review is not None:
        return f"nouvelle saisine transmise ({kind.review.title.lower()} attendue)"
    if kind.is_bilan:
        return "bilan transmis"
    if kind.per_appel:
        return "dossier de candidature déposé"
    if kind.name == "fiche_incident":
        return "nouvelle fiche d'incident à examiner par l'instance décisionnelle (ASLL §8)"
    return "document transmis"


def piece_title(doc: Document, code: str) -> str:
    """The label of a piece of the document's kind (never the file's name)."""
    return next((rule.title for rule in get_kind(doc.kind).attachments if rule.name == code), code)


def answer_corrections(session: Session, doc: Document, now: dt.datetime) -> None:
    """Mark the correction requests of the document's thread answered: by its new deposit, the correction (issue 14)."""
    session.execute(
        update(Message).where(Message.document_id == doc.id, Message.nature == "demande_correction", Message.answered_at.is_(None)).values(answered_at=now),
        execution_options={"synchronize_session": False},
    )


def on_submit(session: Session, event: Event, doc: Document) -> None:
    """A document submitted (a referral, an incident sheet, a bilan, a dossier): its kind's recipients."""
    version = int(event.detail.get("version") or 1)
    if version > 1:
        answer_corrections(session, doc, event.at)
    notify(session, "depot" if version == 1 else "redepot", doc, receivers_of(session, doc),
           what=_submitted_what(doc, version), now=event.at, actor=event.user)


def on_review(session: Session, event: Event, doc: Document) -> None:
    """A decision recorded (the coordinator's): the writers of the document's organisation."""
    notify(session, "decision", doc, writers_of(session, doc), what="décision enregistrée", now=event.at, actor=event.user)


def on_reopen(session: Session, event: Event, doc: Document) -> None:
    """A dossier reopened for correction (AML §6b): its recipients, who read its deposited version.

    A document reopened by a correction request is told by the request's message (``threads``).
    """
    if event.detail.get("par") == "demande_correction":
        return
    notify(session, "reouverture", doc, receivers_of(session, doc), what="rouvert par l'association pour régularisation", now=event.at, actor=event.user)


def on_nonconforme(session: Session, event: Event, doc: Document) -> None:
    """A piece marked non-compliant: the writers of the dossier's organisation, who must replace it."""
    title = piece_title(doc, str(event.detail.get("piece", "")))
    notify(session, "non_conforme", doc, writers_of(session, doc), what=f"pièce non conforme : {title}", now=event.at, actor=event.user)


def on_state_change(session: Session, doc: Document, entry: InstructionMove) -> None:
    """A dossier's instruction state changed (AML §6b–§6d): the writers of its organisation."""
    label = ETATS[entry.vers].label.lower() if entry.vers in ETATS else entry.vers
    notify(session, "instruction", doc, writers_of(session, doc), what=f"dossier {label}", now=entry.at, actor=entry.user)


def on_renewal_decided(session: Session, event: Event, doc: Document) -> None:
    """The DPDS granted or refused the renewal a Maintien bilan asked for (ASLL §8, §9.2): the writers of the bilan's organisation."""
    # Said without its reasons: an e-mail carries no household data; the measure's page shows them.
    what = "renouvellement accordé" if event.action == thread.GRANT else "renouvellement refusé"
    notify(session, "decision", doc, writers_of(session, doc), what=f"{what} par le Service Logement de la DPDS (CCTP ASLL §9.2)", now=event.at, actor=event.user)


HANDLERS: dict[str, Callable[[Session, Event, Document], None]] = {
    "submit": on_submit,
    "review": on_review,
    "reopen": on_reopen,
    "nonconforme": on_nonconforme,
    thread.GRANT: on_renewal_decided,
    thread.REFUSAL: on_renewal_decided,
}


def on_event(session: Session, event: Event) -> None:
    """Notify whom the logged move concerns; moves that concern nobody else pass."""
    handler = HANDLERS.get(event.action)
    if handler is not None and event.document is not None:
        handler(session, event, event.document)
