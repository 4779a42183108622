"""What a notification is about, a document or a measure: who may open it, its page, its name."""

from __future__ import annotations

from typing import Any

from schemas import get_kind
from webforms import policy
from webforms.mesures.rules import TYPES
from webforms.models import Document, Mesure, Notification, User

About = Document | Mesure

# Every kind of notification (issue 14), with what it is about: the events of a document, then
# the reminders (docs/notifications.md gives each one's rule). ``notify`` refuses any other, so
# that the test that mails each kind through a real SMTP server misses none.
EVENEMENTS: dict[str, type[Document] | type[Mesure]] = {
    "depot": Document,
    "redepot": Document,
    "reouverture": Document,
    "non_conforme": Document,
    "decision": Document,
    "transmission": Document,
    "instruction": Document,
    "message": Document,
    "demande_correction": Document,
    "appel_echeance": Document,
    "decision_en_attente": Document,
    "copie_signee_attendue": Document,
    "bilan_a_rendre": Mesure,
    "bilan_en_retard": Mesure,
    "demarrage_a_venir": Mesure,
    "demarrage_en_retard": Mesure,
    "rythme_insuffisant": Mesure,
    "fin_sans_renouvellement": Mesure,
}


def about(note: Notification) -> About:
    """Return the document or the measure ``note`` is about."""
    found = note.document if note.document_id is not None else note.mesure
    assert found is not None  # the table's check: one or the other
    return found


def may_open(user: User, subject: About) -> bool:
    """May ``user`` open ``subject``'s page? The pages' own rule (``policy``)."""
    return policy.can_view_mesure(user, subject) if isinstance(subject, Mesure) else policy.can_view(user, subject)


def page(note: Notification) -> tuple[str, dict[str, Any]]:
    """Return the endpoint and values of the page ``note`` links to."""
    if note.document_id is not None:
        return "documents.view", {"doc_id": note.document_id}
    return "mesures.view", {"mesure_id": note.mesure_id}


def headline(subject: About, what: str) -> str:
    """Return the line a notification shows: the kind, the reference and what happened, no household data."""
    if isinstance(subject, Mesure):
        name = f"Mesure {TYPES.get(subject.type_mesure, subject.type_mesure)} {subject.reference}"
    else:
        name = get_kind(subject.kind).title + (f" {subject.reference}" if subject.reference else "")
    return f"{name} : {what}"[:300]
