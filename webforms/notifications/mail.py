"""E-mail through the Département's SMTP relay, sent by workers (queue ``courriels``).

An e-mail carries no household data (CNIL): its subject names the kind, the reference and what
happened, its body a link to sign in and read. Each one sent or tried is logged (``Courriel``:
to whom, when, for what, how it went), never its content. A relay that is down makes the task
fail: the queue retries it (2, 4, 8, 16 s), then shows it failed on ``/admin/travaux``; an
address the relay refuses for good (a bounce, 5xx) fails at once, without retries; the
notification stays in the centre all along, and the submission that caused it was committed
long before.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
import ssl
from dataclasses import dataclass
from email import charset
from email.header import Header
from email.mime.text import MIMEText
from email.utils import formatdate, make_msgid
from typing import Any

from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from webforms.errors import DocumentError
from webforms.jobs import ask, daily, describe, task
from webforms.models import Courriel, Notification, NotificationPreference, Travail, User
from webforms.notifications.preferences import frequence_of
from webforms.notifications.subjects import about, may_open, page

logger = logging.getLogger(__name__)

# Read from the environment by ``init_app`` (also as WEBFORMS_<name>, or from the tests' config).
SETTINGS = ("SMTP_HOST", "SMTP_PORT", "SMTP_STARTTLS", "SMTP_USER", "SMTP_PASSWORD", "SMTP_CA_FILE", "MAIL_FROM", "PUBLIC_BASE_URL", "PARTAGE_JOURS")
DEFAULTS: dict[str, Any] = {
    "SMTP_HOST": None,  # none: no e-mail at all; the notification centre works the same
    "SMTP_PORT": 25,
    "SMTP_STARTTLS": False,
    "SMTP_USER": None,
    "SMTP_PASSWORD": None,
    "SMTP_CA_FILE": None,  # the relay's certificate authority, when not one the system trusts
    "MAIL_FROM": "webforms@localhost",
    "PUBLIC_BASE_URL": "http://localhost:5000",
    "PARTAGE_JOURS": 30,  # how long a link for a recipient without an account stays valid (issue 14)
}
# Every day at 06:00 UTC (7 or 8 h in Paris): the digests of those who chose "quotidien".
DIGEST_CRON = "0 6 * * *"
TIMEOUT_SECONDS = 30
# The body in quoted-printable: a French text stays readable in the relay's logs and is 7-bit safe.
_UTF8_QP = charset.Charset("utf-8")
_UTF8_QP.body_encoding = charset.QP


# The whole-number settings and their smallest and largest values: read when a document is
# submitted (a link's term) or an e-mail sent, so checked at start rather than failing there.
NUMBERS = {"SMTP_PORT": (1, 65535), "PARTAGE_JOURS": (1, 3650)}


def init_app(app: Flask) -> None:
    """Fill the mail settings the configuration lacks from the environment, then the defaults; refuse a bad number in French."""
    for key in SETTINGS:
        if key not in app.config:
            app.config[key] = os.environ.get(key, DEFAULTS[key])
    for key, (low, high) in NUMBERS.items():
        value = app.config[key]
        try:
            number = int(str(value).strip())
        except ValueError:
            number = None
        # A wrong link term would fail every submission that sends one (issue 14: nothing blocks a submission).
        if number is None or not low <= number <= high:
            raise ValueError(f"Réglage {key} invalide : « {value} » ; attendu un nombre entier de {low} à {high}.")
        app.config[key] = number


def _flag(value: Any) -> bool:
    """Read a yes/no setting given as a boolean or as text ("1", "true", "oui")."""
    return value is True or str(value).strip().lower() in ("1", "true", "yes", "oui", "on")


@dataclass(frozen=True)
class Relay:
    """Where and how to hand e-mails over."""

    host: str
    port: int
    starttls: bool
    user: str | None
    password: str | None
    ca_file: str | None
    sender: str

    @classmethod
    def from_config(cls, config: Any) -> Relay:
        """Return the relay ``config`` names (``SETTINGS``)."""
        return cls(
            host=str(config["SMTP_HOST"]),
            port=int(config["SMTP_PORT"]),
            starttls=_flag(config["SMTP_STARTTLS"]),
            user=config["SMTP_USER"] or None,
            password=config["SMTP_PASSWORD"] or None,
            ca_file=config["SMTP_CA_FILE"] or None,
            sender=str(config["MAIL_FROM"]),
        )


def new_message_id(relay: Relay) -> str:
    """Return a fresh Message-ID for an e-mail from ``relay``'s sender (a bounce names it back)."""
    return make_msgid(domain=relay.sender.rpartition("@")[2] or None)


def send(relay: Relay, to: str, subject: str, body: str, *, message_id: str | None = None) -> None:
    """Hand one plain-text e-mail to the relay; raise on any refusal or fault."""
    message = MIMEText(body, "plain", _UTF8_QP)
    message["From"] = relay.sender
    message["To"] = to
    # Encoded by ``Header``, not by ``EmailMessage``'s folding: that one splits "Bilan à échéance"
    # into two adjacent encoded words, between which a reader drops the space ("àéchéance",
    # RFC 2047 §6.2); ``Header`` keeps each space inside an encoded word.
    message["Subject"] = Header(subject, "utf-8")
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = message_id or new_message_id(relay)
    with smtplib.SMTP(relay.host, relay.port, timeout=TIMEOUT_SECONDS) as smtp:
        if relay.starttls:
            smtp.starttls(context=ssl.create_default_context(cafile=relay.ca_file))
        if relay.user:
            smtp.login(relay.user, relay.password or "")
        smtp.send_message(message)


def link(endpoint: str, values: dict[str, Any] | None = None) -> str:
    """Return the public address of a page, for an e-mail (no request to build it from)."""
    path = current_app.url_map.bind("localhost").build(endpoint, values or {})
    return str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/") + path


_FOOTER = (
    "\n\nCe courriel ne contient aucune donnée personnelle : connectez-vous pour consulter le document.\n"
    "Pour choisir quand vous recevez ces courriels : {preferences}\n"
)


def _refused_for_good(exc: Exception) -> bool:
    """Did the relay refuse the address itself, for good (a 5xx "bounce"), rather than fail for a while?"""
    return isinstance(exc, smtplib.SMTPRecipientsRefused) and bool(exc.recipients) and all(code >= 500 for code, _ in exc.recipients.values())


def hand_over(session: Session, travail: Travail, to: str, subject: str, body: str, log: dict[str, Any]) -> Courriel:
    """Send one e-mail and return its log row (``log``: its ``Courriel`` fields), added to the task's session.

    A failure is logged apart (the task's rows are rolled back). A relay down or a temporary
    refusal is raised for the queue to retry; an address the relay refuses for good (5xx) ends
    the work at once in French (``DocumentError``): retrying would bounce the same way, and the
    administrator sees it failed on ``/admin/travaux``, where it can be run again once the
    address is corrected.
    """
    now = current_app.config["CLOCK"]()
    relay = Relay.from_config(current_app.config)
    message_id = new_message_id(relay)
    try:
        send(relay, to, subject, body, message_id=message_id)
    except (smtplib.SMTPException, OSError) as exc:
        with Session(session.get_bind()) as apart:
            apart.add(Courriel(**log, adresse=to, at=now, statut="echec", erreur=describe(exc), travail_id=travail.id, message_id=message_id))
            apart.commit()
        if _refused_for_good(exc):
            assert isinstance(exc, smtplib.SMTPRecipientsRefused)
            code, reason = next(iter(exc.recipients.values()))
            said = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
            raise DocumentError(f"Adresse {to} refusée par le relais de courriel ({code} {said}) : courriel non remis. "
                                "Corrigez l'adresse, puis relancez ce travail.") from None
        raise
    sent = Courriel(**log, adresse=to, at=now, statut="envoye", travail_id=travail.id, message_id=message_id)
    session.add(sent)
    return sent


def _deliver(session: Session, travail: Travail, user: User, nature: str, notes: list[Notification], subject: str, body: str) -> dict[str, Any]:
    """Send, and log the e-mail with the task's rows (a failure: ``hand_over``)."""
    now = current_app.config["CLOCK"]()
    ids = [n.id for n in notes]
    body += _FOOTER.format(preferences=link("notifications.preferences"))
    sent = hand_over(session, travail, user.email, subject, body, {"user_id": user.id, "nature": nature, "notifications": ids})
    for note in notes:
        note.mailed_at = now
    session.flush()
    return {"envoye": True, "courriel": sent.id, "notifications": ids}


def _still_due(session: Session, note: Notification | None, frequence: str) -> bool:
    """Is ``note`` still to be e-mailed: not yet, to an active reader who may open it, by their choice?"""
    return (
        note is not None
        and note.mailed_at is None
        and note.user.active
        and frequence_of(session, note.user_id) == frequence
        and may_open(note.user, about(note))
    )


@task("envoyer_courriel", queue="courriels")
def send_notification(session: Session, travail: Travail) -> dict[str, Any]:
    """E-mail one notification to its reader, unless it no longer should be (read rights, choice)."""
    note = session.get(Notification, travail.parametres["notification"])
    if note is None or not _still_due(session, note, "immediat"):
        return {"envoye": False}
    said = f"{note.message}.\n\n{note.detail}" if note.detail else f"{note.message}."
    body = f"Bonjour,\n\n{said}\n\nConsulter : {link(*page(note))}"
    return _deliver(session, travail, note.user, f"immediat:{note.evenement}", [note], f"[webforms] {note.message}", body)


def ask_digests(session: Session, *, now: dt.datetime) -> int:
    """Ask one digest of each "quotidien" reader's unread, not yet mailed notifications; return how many."""
    readers = session.scalars(
        select(User).join(NotificationPreference, NotificationPreference.user_id == User.id)
        .where(NotificationPreference.frequence == "quotidien", User.active.is_(True))
        .order_by(User.id)
    )
    asked = 0
    for user in readers:
        pending = session.scalars(
            select(Notification.id).where(Notification.user_id == user.id, Notification.read_at.is_(None), Notification.mailed_at.is_(None))
            .order_by(Notification.id)
        ).all()
        # One digest waiting per reader at a time (a lock): a failed one is retried, not doubled.
        if pending and ask(session, send_digest, nature="courriel", libelle="Résumé quotidien des notifications", now=now,
                           user_id=user.id, parametres={"notifications": list(pending)}, lock=f"resume-{user.id}"):
            asked += 1
    return asked


@task("envoyer_resume", queue="courriels")
def send_digest(session: Session, travail: Travail) -> dict[str, Any]:
    """E-mail a reader the digest of their notifications still unread and still theirs to read."""
    user = session.get_one(User, travail.user_id)
    notes = [
        n for n in session.scalars(select(Notification).where(Notification.id.in_(travail.parametres["notifications"])).order_by(Notification.id))
        if n.read_at is None and _still_due(session, n, "quotidien")
    ]
    if not notes:
        return {"envoye": False}
    lines = "\n".join(f"- {n.message} : {link(*page(n))}" + (f"\n  {n.detail}" if n.detail else "") for n in notes)
    body = f"Bonjour,\n\nVoici ce qui vous concerne depuis le dernier résumé :\n\n{lines}\n\nToutes vos notifications : {link('notifications.index')}"
    return _deliver(session, travail, user, "resume", notes, f"[webforms] {len(notes)} notification{'s' if len(notes) > 1 else ''} en attente", body)


# On the maintenance queue, like the queue's own periodic check: it only asks, the sends are
# the ``courriels`` queue's. Locked: two workers never prepare the same day's digests twice.
prepare_digests = daily("preparer_resumes", cron=DIGEST_CRON, periodic_id="resume-quotidien", done="Résumés quotidiens demandés : %s")(ask_digests)
