"""Bounces that come back later: delivery status notifications (RFC 3464) read from a mailbox.

The relay accepts an e-mail (the send is logged ``envoye``), then the recipient's server refuses
it: the relay mails a report back to the sender, ``multipart/report;
report-type=delivery-status``. ``webforms courriels retours <Maildir or mbox>`` reads such reports
with the standard ``email`` package: for each recipient a report says ``failed``, the e-mail
it names (its Message-ID, logged with each send) is marked ``non_remis`` and its work is shown
failed on ``/admin/travaux``, where a refusal at the time of sending already shows, with the
reason and the button to run it again once the address is corrected. A ``delayed`` report (the
relay still tries) changes nothing; neither does anything that is not a report, a malformed
report, or one about an e-mail the log does not know. Reading the same mailbox again changes
nothing more: the mailbox is only read, never changed (its owner empties it).
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import mailbox
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from pathlib import Path

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from webforms.jobs.services import fail_after_success
from webforms.models import Courriel, Notification, Travail
from webforms.rendering.context import datetime_fr


@dataclass(frozen=True)
class Report:
    """One recipient's fate, as a delivery status notification tells it."""

    message_id: str  # the Message-ID of the e-mail it is about
    recipient: str
    action: str  # "failed", "delayed", "delivered", "relayed", "expanded" (RFC 3464 §2.3.3)
    status: str  # e.g. "5.1.1"
    diagnostic: str


def _field(block: EmailMessage, name: str) -> str:
    """A field of a report, unfolded, without its type ("rfc822; a@b.fr" → "a@b.fr")."""
    value = " ".join(str(block.get(name, "")).split())
    kind, sep, rest = value.partition(";")
    return rest.strip() if sep and kind.strip().isalnum() else value


def _original_id(report: EmailMessage) -> str:
    """The Message-ID of the e-mail the report is about: from its returned headers or message."""
    for part in report.iter_parts():
        kind = part.get_content_type()
        if kind == "text/rfc822-headers":
            headers = BytesHeaderParser(policy=email.policy.default).parsebytes(part.get_payload(decode=True) or b"")
            return str(headers.get("Message-ID", "")).strip()
        if kind == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                return str(inner[0].get("Message-ID", "")).strip()
    return ""


def parse_report(raw: bytes) -> list[Report]:
    """Return the recipients a delivery status notification reports on; [] for anything else, or a malformed one."""
    message = email.message_from_bytes(raw, policy=email.policy.default)
    if message.get_content_type() != "multipart/report" or message.get_param("report-type") != "delivery-status":
        return []
    assert isinstance(message, EmailMessage)  # the default policy's class
    status = next((p for p in message.iter_parts() if p.get_content_type() == "message/delivery-status"), None)
    blocks = status.get_payload() if status is not None else None
    message_id = _original_id(message)
    if not isinstance(blocks, list) or not message_id:
        return []  # no report fields, or no way to know which e-mail: nothing to match
    reports = []
    for block in blocks[1:]:  # the first block is about the message, the others one recipient each (§2.1)
        recipient, action = _field(block, "Final-Recipient"), _field(block, "Action").lower()
        if recipient and action:
            reports.append(Report(message_id, recipient.lower(), action, _field(block, "Status"), _field(block, "Diagnostic-Code")))
    return reports


def read_mailbox(path: Path) -> Iterator[bytes]:
    """Yield each message of a Maildir (a folder with ``cur`` and ``new``) or an mbox file, leaving it unchanged."""
    if path.is_dir():
        if not (path / "cur").is_dir() or not (path / "new").is_dir():
            raise FileNotFoundError(f"{path} n'est pas un dossier Maildir (sous-dossiers cur et new).")
        box: mailbox.Mailbox[mailbox.Message] = mailbox.Maildir(path, factory=None, create=False)
    elif path.is_file():
        box = mailbox.mbox(path, create=False)
    else:
        raise FileNotFoundError(f"{path} : ni dossier Maildir ni fichier mbox.")
    try:
        for key in box.iterkeys():
            yield box.get_bytes(key)
    finally:
        box.close()


@dataclass
class Outcome:
    """What a reading did, counted."""

    lus: int = 0  # messages read
    non_remis: list[str] = field(default_factory=list)  # the addresses marked undelivered
    retards: int = 0  # "delayed": the relay still tries, nothing changes
    ignores: int = 0  # not a report, malformed, about an unknown e-mail, or already recorded


def _undelivered(session: Session, sent: Courriel, report: Report, now: dt.datetime) -> None:
    """Mark one sent e-mail undelivered, its notifications unsent, and its work failed for the administrator."""
    reason = f"{report.status} {report.diagnostic}".strip() or "sans motif"
    sent.statut, sent.erreur = "non_remis", f"Avis de non-remise lu le {datetime_fr(now)} : {reason}"[:2000]
    if sent.notifications:  # a digest or a notification: to be sent again once the address is corrected
        session.execute(update(Notification).where(Notification.id.in_(sent.notifications)).values(mailed_at=None))
    travail = session.get(Travail, sent.travail_id) if sent.travail_id is not None else None
    if travail is None or travail.statut != "termine":
        return
    fail_after_success(session, travail, f"Courriel non remis à {sent.adresse} : accepté par le relais le {datetime_fr(sent.at)}, puis renvoyé "
                                         f"par le serveur du destinataire ({reason}). Corrigez l'adresse, puis relancez ce travail.")


def record(session: Session, raws: Iterator[bytes], *, now: dt.datetime) -> Outcome:
    """Read each message, mark undelivered each e-mail a report says failed; commit once at the end."""
    outcome = Outcome()
    for raw in raws:
        outcome.lus += 1
        reports = parse_report(raw)
        if not reports:
            outcome.ignores += 1
        for report in reports:
            if report.action == "delayed":
                outcome.retards += 1
                continue
            sent = session.scalars(
                select(Courriel).where(Courriel.message_id == report.message_id, Courriel.statut == "envoye")
            ).first() if report.action == "failed" else None
            if sent is None or sent.adresse.lower() != report.recipient:
                outcome.ignores += 1
                continue
            _undelivered(session, sent, report, now)
            outcome.non_remis.append(sent.adresse)
    session.commit()
    return outcome
