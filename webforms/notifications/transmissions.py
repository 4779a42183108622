"""A submitted document reaches the recipients its territory names (issue 13), logged on its page.

``territoires.services.recipients_for`` names them: the RAST of the CAMS of the household's commune
for an ASLL Installation (ASLL §9.1), the Service Logement of the DPDS for a Maintien (§9.2) and
the operator's annual bilan (§10), the platform's coordinators for AML (AML §7: "les
évaluations/bilans des accompagnements individuels devront être envoyés aux coordinateurs").
An account gets the usual notification (its e-mail as it chose); an address without an account
gets a personal link (``sharing``, the no-account sharing of issue 14). Each recipient is logged
as an ``Event`` "transmission" of the document, with what happened, shown on the document's page.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webforms import policy
from webforms.models import Document, Event, Notification, Partage, User
from webforms.notifications import sharing
from webforms.notifications.services import mail_enabled, notify
from webforms.territoires.services import Recipient, recipients_for

ACTION = "transmission"
# The quality a recipient without an account is sent the link as (``QUALITES_PARTAGE``).
QUALITE_OF = {"RAST de la CAMS": "rast", "Service Logement": "service_logement"}
# What the page says of each outcome.
OUTCOMES = {
    "prevenu": "prévenu par l'application",
    "deja_prevenu": "déjà prévenu par l'application (destinataire du dépôt)",
    "lien": "lien personnel envoyé par courriel",
    "sans_adresse": "rien n'est parti : aucune adresse n'est renseignée pour ce destinataire (administration des territoires)",
    "sans_relais": "rien n'est parti : aucun relais de courriel n'est configuré",
    "sans_compte": "rien n'est parti : aucun compte coordinateur n'est rattaché à la plateforme",
    "non_lecteur": "non prévenu : ce compte ne lit pas le document (son territoire)",
}


def on_event(session: Session, event: Event) -> None:
    """Send a document, once submitted, to its territory's recipients; other moves pass."""
    doc = event.document
    if event.action != "submit" or doc is None:
        return
    sender = event.user or session.get(User, doc.author_id)
    for recipient in recipients_for(session, doc):
        for detail in _send(session, doc, recipient, sender, event):
            session.add(Event(document=doc, user=event.user, action=ACTION, at=event.at, detail=detail))


def _send(session: Session, doc: Document, recipient: Recipient, sender: User | None, event: Event) -> list[dict[str, Any]]:
    """Reach one recipient; return what to log (one line per account or address)."""
    base = {"role": recipient.role, "nom": recipient.nom, "version": int(event.detail.get("version") or 1)}
    if recipient.ids:
        return [_tell(session, doc, session.get_one(User, i), base, event) for i in recipient.ids]
    if recipient.role == "Coordinateur Logement d'abord":
        return [{**base, "issue": "sans_compte"}]
    if not recipient.adresse:
        return [{**base, "issue": "sans_adresse"}]
    account = session.scalar(select(User).where(func.lower(User.email) == recipient.adresse.lower(), User.active.is_(True)))
    if account is not None and policy.can_view(account, doc):
        return [{**_tell(session, doc, account, base, event), "adresse": recipient.adresse}]
    if not mail_enabled() or sender is None:
        return [{**base, "adresse": recipient.adresse, "issue": "sans_relais"}]
    partage = sharing.open_link(session, doc, adresse=recipient.adresse, qualite=QUALITE_OF.get(recipient.role, "rast"), by=sender, now=event.at)
    return [{**base, "adresse": recipient.adresse, "issue": "lien", "partage": partage.id}]


def _tell(session: Session, doc: Document, user: User, base: dict[str, Any], event: Event) -> dict[str, Any]:
    """Notify an account, unless the submission's own notification told it already."""
    session.flush()  # the submission's notifications, added by the listener before this one
    told = session.scalar(select(Notification.id).where(Notification.user_id == user.id, Notification.document_id == doc.id, Notification.created_at == event.at))
    if told is None:
        # "au": the three roles (territoires.recipients_for) are masculine singular, spelled as the sources spell them.
        # The role only, never its name: the CAMS and its PMS locate the household (the commune),
        # and the line is also the e-mail's (CNIL); the document's page lists each recipient by name.
        told_now = notify(session, "transmission", doc, [user], what=f"transmis au {base['role']}", now=event.at, actor=event.user)
        outcome = "prevenu" if told_now else "non_lecteur"
    else:
        outcome = "deja_prevenu"
    return {**base, "compte": user.id, "nom_compte": user.full_name, "issue": outcome}


def page_extra(session: Session, doc: Document) -> list[dict[str, Any]]:
    """The document's transmissions, oldest first, as its page shows them."""
    events = session.scalars(select(Event).where(Event.document_id == doc.id, Event.action == ACTION).order_by(Event.at, Event.id))
    links = {p.id: p for p in session.scalars(select(Partage).where(Partage.document_id == doc.id))}
    shown = []
    for e in events:
        d = e.detail
        partage = links.get(d.get("partage") or 0)
        shown.append({
            "at": e.at, "role": d.get("role"), "nom": d.get("nom"), "qui": d.get("nom_compte") or d.get("adresse") or "",
            "issue": OUTCOMES.get(d.get("issue", ""), d.get("issue", "")),
            "revoque": partage is not None and partage.revoked_at is not None,
        })
    return shown
