"""Recipients without an account (issue 14): a personal link to one document, opened with a one-time code.

The writers of a submitted document send it to an address (the household's referent social
worker, the RAST, a bailleur): an e-mail carries a personal link valid ``PARTAGE_JOURS`` days
(30 by default); opening it asks for a code sent in a second e-mail (valid 15 minutes, used
once, 5 tries); then the document's latest PDF, and nothing else, can be downloaded. Every step
is logged (``PartageTrace``) and shown to the sender, who may revoke the link. A forged,
expired or revoked link shows a French page and nothing of the document.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from flask import current_app
from flask_login import current_user
from marshmallow import ValidationError, validate
from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas import get_kind
from webforms import policy
from webforms.documents.services import Services
from webforms.errors import DocumentError
from webforms.jobs import ask, task
from webforms.models import QUALITES_PARTAGE, Document, Partage, PartageTrace, Travail, User
from webforms.notifications.mail import hand_over, link
from webforms.notifications.services import mail_enabled
from webforms.rendering.context import datetime_fr

CODE_MINUTES = 15
MAX_TRIES = 5
# At most this many codes asked per link in any hour: each is an e-mail to the recipient, and
# a link found by someone else must not flood their mailbox (docs/decisions.md).
MAX_CODES_PER_HOUR = 5


class LinkRefused(Exception):
    """A link that opens nothing: forged, expired or revoked; the message is French, for the visitor."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def _hmac(purpose: str, partage_id: int, sel: str) -> str:
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"{purpose}:{partage_id}:{sel}".encode(), hashlib.sha256).hexdigest()


def secret_of(partage: Partage) -> str:
    """Return the link's secret (never stored: computed from the app's key and the row's salt)."""
    return _hmac("lien", partage.id, partage.sel)


def code_of(partage: Partage) -> str:
    """Return the six-digit code last asked for this link (computed, never stored)."""
    assert partage.code_sel is not None
    return f"{int(_hmac('code', partage.id, partage.code_sel), 16) % 10**6:06d}"


def _name(doc: Document) -> str:
    return get_kind(doc.kind).title + (f" {doc.reference}" if doc.reference else "")


def _trace(session: Session, partage: Partage, quoi: str, now: dt.datetime) -> None:
    session.add(PartageTrace(partage_id=partage.id, quoi=quoi, at=now))


def check_recipient(adresse: str | None, qualite: str | None) -> str:
    """Return the address cleaned if a link may be sent to it as ``qualite``; refuse in French otherwise."""
    adresse = (adresse or "").strip()
    try:
        validate.Email()(adresse)
    except ValidationError:
        raise DocumentError(f"Adresse électronique invalide : « {adresse[:100]} ».") from None
    if len(adresse) > 254:
        raise DocumentError("Adresse électronique invalide : 254 caractères au plus.")
    if qualite not in QUALITES_PARTAGE:
        raise DocumentError(f"Choisissez la qualité du destinataire {adresse} parmi celles proposées.")
    if not mail_enabled():
        raise DocumentError("Aucun relais de courriel n'est configuré : le lien ne peut pas être envoyé.")
    return adresse


def share(session: Session, svc: Services, doc: Document, *, user: User, adresse: str | None, qualite: str | None) -> Partage:
    """Send ``doc`` to an address without an account: record the link and ask a worker to e-mail it."""
    if not policy.can_share(user, doc):
        raise DocumentError("Seuls les rédacteurs de l'organisation transmettent un document soumis.")
    adresse = check_recipient(adresse, qualite)
    assert qualite is not None
    partage = open_link(session, doc, adresse=adresse, qualite=qualite, by=user, now=svc.clock())
    session.commit()
    return partage


def open_link(session: Session, doc: Document, *, adresse: str, qualite: str, by: User, now: dt.datetime) -> Partage:
    """Record a link to ``doc`` for a checked address and ask a worker to e-mail it, in the caller's transaction."""
    days = int(current_app.config["PARTAGE_JOURS"])
    partage = Partage(document_id=doc.id, adresse=adresse, qualite=qualite, sel=secrets.token_hex(32), created_by_id=by.id,
                      created_at=now, expires_at=now + dt.timedelta(days=days), code_essais=0)
    session.add(partage)
    session.flush()
    ask(session, send_link, nature="courriel", libelle=f"Lien vers {_name(doc)} pour un destinataire sans compte"[:200], now=now,
        user_id=by.id, document_id=doc.id, parametres={"partage": partage.id})
    return partage


def find(session: Session, partage_id: int, secret: str, now: dt.datetime) -> Partage:
    """Return the link ``partage_id`` if ``secret`` is its own and it still opens; refuse otherwise."""
    partage = session.get(Partage, partage_id)
    # Compared as bytes: compare_digest refuses a text with non-ASCII characters (a typed URL may hold any).
    if partage is None or not hmac.compare_digest(secret_of(partage).encode(), secret.encode()):
        raise LinkRefused("Ce lien n'est pas valide : vérifiez qu'il est recopié en entier, ou demandez-en un nouveau à l'expéditeur.", 404)
    if partage.revoked_at is not None:
        raise LinkRefused("Ce lien a été révoqué par l'expéditeur : il n'ouvre plus le document.", 410)
    if now >= partage.expires_at:
        raise LinkRefused(f"Ce lien a expiré le {datetime_fr(partage.expires_at)} : demandez-en un nouveau à l'expéditeur.", 410)
    return partage


def ask_code(session: Session, partage: Partage, *, now: dt.datetime) -> None:
    """Make a new one-time code for the link and ask a worker to e-mail it (a second e-mail); refuse past the hourly cap."""
    # Locked: two requests at once count each other, the sixth of the hour is refused.
    session.refresh(partage, with_for_update=True)
    hour_ago = now - dt.timedelta(hours=1)
    asked = session.scalars(
        select(PartageTrace.at).where(PartageTrace.partage_id == partage.id, PartageTrace.quoi == "code_envoye", PartageTrace.at > hour_ago)
        .order_by(PartageTrace.at)
    ).all()
    if len(asked) >= MAX_CODES_PER_HOUR:
        again = asked[len(asked) - MAX_CODES_PER_HOUR] + dt.timedelta(hours=1)
        raise DocumentError(
            f"Vous avez demandé {MAX_CODES_PER_HOUR} codes en moins d'une heure : vous pourrez en demander un nouveau "
            f"à partir du {datetime_fr(again)}. Utilisez le dernier code reçu s'il est encore valable."
        )
    partage.code_sel, partage.code_expires_at, partage.code_essais = secrets.token_hex(32), now + dt.timedelta(minutes=CODE_MINUTES), 0
    _trace(session, partage, "code_envoye", now)
    session.flush()
    ask(session, send_code, nature="courriel", libelle="Code d'accès à un document", now=now, document_id=partage.document_id,
        parametres={"partage": partage.id})
    session.commit()


def check_code(session: Session, partage: Partage, code: str | None, *, now: dt.datetime) -> None:
    """Open the document with the code; refuse (and count the try) a wrong, expired or used one."""
    if partage.code_sel is None or partage.code_expires_at is None or now >= partage.code_expires_at or partage.code_essais >= MAX_TRIES:
        raise DocumentError("Ce code a expiré ou a déjà servi : demandez un nouveau code.")
    if not hmac.compare_digest(code_of(partage).encode(), "".join((code or "").split()).encode()):
        partage.code_essais += 1
        _trace(session, partage, "code_refuse", now)
        session.commit()
        left = MAX_TRIES - partage.code_essais
        raise DocumentError(f"Code incorrect : encore {left} essai{'s' if left > 1 else ''}." if left else "Code incorrect : demandez un nouveau code.")
    partage.code_sel = None  # used once
    _trace(session, partage, "ouverture", now)
    session.commit()


def log_download(session: Session, partage: Partage, *, now: dt.datetime) -> None:
    """Log a download of the shared document."""
    _trace(session, partage, "telechargement", now)
    session.commit()


def revoke(session: Session, svc: Services, doc: Document, partage: Partage, *, user: User) -> None:
    """Revoke a link: it opens nothing any more."""
    if not policy.can_share(user, doc) or partage.document_id != doc.id:
        raise DocumentError("Seuls les rédacteurs de l'organisation révoquent un lien de ce document.")
    if partage.revoked_at is None:
        now = svc.clock()
        partage.revoked_at = now
        _trace(session, partage, "revocation", now)
    session.commit()


def links_of(session: Session, doc: Document) -> list[Partage]:
    """The document's links, newest first, with their logs."""
    return list(session.scalars(select(Partage).where(Partage.document_id == doc.id).order_by(Partage.id.desc())))


def _mail(session: Session, travail: Travail, partage: Partage, nature: str, subject: str, body: str) -> dict[str, Any]:
    """Send one e-mail to the link's address and log it (a failure apart, then the queue retries; a bounce ends it)."""
    hand_over(session, travail, partage.adresse, subject, body, {"nature": nature, "notifications": []})
    return {"envoye": True}


@task("envoyer_lien", queue="courriels")
def send_link(session: Session, travail: Travail) -> dict[str, Any]:
    """E-mail the personal link to its recipient, unless revoked or expired since."""
    partage = session.get(Partage, travail.parametres["partage"])
    now = current_app.config["CLOCK"]()
    if partage is None or partage.revoked_at is not None or now >= partage.expires_at:
        return {"envoye": False}
    doc = session.get_one(Document, partage.document_id)
    url = link("partage.page", {"partage_id": partage.id, "secret": secret_of(partage)})
    # Who writes is named, in the subject too: the recipient has no account and may not know the
    # service; an unsigned link from a stranger reads as phishing (docs/decisions.md). The
    # organisation is not the household: nothing of the household is in this e-mail (CNIL).
    sender = " ".join(doc.organisation.name.split())
    body = (
        f"Bonjour,\n\n{sender} vous transmet le document « {_name(doc)} » "
        f"en votre qualité de {QUALITES_PARTAGE[partage.qualite].lower()}.\n\n"
        f"Lien personnel, valable jusqu'au {datetime_fr(partage.expires_at)} : {url}\n\n"
        "À l'ouverture, un code vous sera envoyé dans un second courriel. Chaque ouverture est signalée à l'expéditeur.\n"
        "Ce courriel ne contient aucune donnée personnelle. Ne le transférez pas : le lien vous est personnel.\n"
    )
    outcome = _mail(session, travail, partage, "partage:lien", f"[webforms] {_name(doc)} : document transmis par {sender}", body)
    _trace(session, partage, "lien_envoye", now)
    return outcome


@task("envoyer_code", queue="courriels")
def send_code(session: Session, travail: Travail) -> dict[str, Any]:
    """E-mail the one-time code last asked for the link, while it is valid."""
    partage = session.get(Partage, travail.parametres["partage"])
    now = current_app.config["CLOCK"]()
    if partage is None or partage.code_sel is None or partage.code_expires_at is None or now >= partage.code_expires_at:
        return {"envoye": False}
    body = (
        f"Bonjour,\n\nVotre code d'accès : {code_of(partage)}\n\n"
        f"Il est valable {CODE_MINUTES} minutes et ne sert qu'une fois. Si vous n'avez rien demandé, ignorez ce courriel.\n"
    )
    return _mail(session, travail, partage, "partage:code", "[webforms] Votre code d'accès", body)


def page_extra(session: Session, doc: Document) -> dict[str, bool]:
    """What the document's page shows of the links: whether the signed-in reader may send it to a recipient without an account."""
    return {"can_share": policy.can_share(current_user, doc)}
