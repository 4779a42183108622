"""Bounces that come back after the relay accepted an e-mail: delivery status notifications (RFC 3464).

The e-mails are really sent (``aiosmtpd``); the reports are written as Postfix writes them, with
the headers of the e-mail received, into a real Maildir or mbox that ``webforms courriels
retours`` reads.
"""

from __future__ import annotations

import html
import mailbox
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select, text

from tests.test_notifications_mail import relay, smtp_server  # noqa: F401 (a fixture)
from tests.test_web import submitted
from webforms import db
from webforms.jobs.services import fail_after_success, retry
from webforms.models import Courriel, Notification, Travail
from webforms.notifications.bounces import parse_report

RELAY = "relais.cg62.fr"


def headers_of(mail: EmailMessage) -> str:
    return "".join(f"{name}: {value}\n" for name, value in mail.items())


def dsn(mail: EmailMessage, *, action: str = "failed", status: str = "5.1.1", returned: str = "headers") -> bytes:
    """The report Postfix mails back about ``mail`` (as received), for its one recipient."""
    to = mail["To"]
    diagnostic = {
        "failed": f"smtp; 550 5.1.1 <{to}>: Recipient address\n    rejected: User unknown in virtual mailbox table",
        "delayed": "smtp; 451 4.4.1 Temporary lookup failure",
    }[action]
    original = (
        f"Content-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\n\n{headers_of(mail)}"
        if returned == "headers" else
        f"Content-Description: Undelivered Message\nContent-Type: message/rfc822\n\n{headers_of(mail)}\n{mail.get_content()}"
    )
    return f"""Return-Path: <>
Date: Mon,  7 Dec 2026 08:00:00 +0100 (CET)
From: MAILER-DAEMON@{RELAY} (Mail Delivery System)
Subject: {"Undelivered Mail Returned to Sender" if action == "failed" else "Delayed Mail (still being retried)"}
To: {mail["From"]}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4F1A2B3C4D.1765090800/{RELAY}"
Message-Id: <20261207070000.4F1A2B3C4D@{RELAY}>

This is a MIME-encapsulated message.

--4F1A2B3C4D.1765090800/{RELAY}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host {RELAY}.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

--4F1A2B3C4D.1765090800/{RELAY}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; {RELAY}
X-Postfix-Queue-ID: 4F1A2B3C4D
X-Postfix-Sender: rfc822; {mail["From"]}
Arrival-Date: Mon,  7 Dec 2026 07:59:58 +0100 (CET)

Final-Recipient: rfc822; {to}
Original-Recipient: rfc822;{to}
Action: {action}
Status: {status}
Remote-MTA: dns; mx.destinataire.fr
Diagnostic-Code: {diagnostic}

--4F1A2B3C4D.1765090800/{RELAY}
{original}
--4F1A2B3C4D.1765090800/{RELAY}--
""".encode()


def maildir(path: Path, *messages: bytes) -> Path:
    box = mailbox.Maildir(path, create=True)
    for message in messages:
        box.add(message)
    box.close()
    return path


@dataclass(frozen=True)
class Ran:
    exit_code: int
    output: str


def retours(app: Flask, path: Path) -> Ran:
    """Run ``webforms courriels retours`` as the Département's IT would: a process of its own on the service's database."""
    # Not click's CliRunner: building a second app in this process would take the queue's tasks from the test's worker.
    env = {**os.environ, "WEBFORMS_INSTANCE_PATH": app.instance_path, "DATABASE_URL": app.config["DATABASE_URL"], "WEBFORMS_SECRET_KEY": app.config["SECRET_KEY"]}
    done = subprocess.run([sys.executable, "-m", "webforms", "courriels", "retours", str(path)], env=env, capture_output=True, text=True, timeout=120, check=False)
    return Ran(done.returncode, done.stdout + done.stderr)


def state(app: Flask) -> list[Any]:
    """Everything a report may change: the sends logged, the works, the notifications' mailing, the jobs."""
    with app.app_context():
        session = db.session()
        return [
            [(c.adresse, c.statut, c.erreur) for c in session.scalars(select(Courriel).order_by(Courriel.id))],
            [(t.id, t.statut, t.erreur) for t in session.scalars(select(Travail).order_by(Travail.id))],
            [n.mailed_at for n in session.scalars(select(Notification).order_by(Notification.id))],
            session.execute(text("SELECT id, status::text FROM procrastinate_jobs ORDER BY id")).all(),
        ]


def sent_saisine(app: Flask, login_as: Any, smtp_server: Any) -> tuple[Any, Any, Any, Any]:  # noqa: F811
    """A fiche saisine submitted, its two e-mails received: (inbox, coordinator, instructeur, admin web)."""
    inbox, port = smtp_server()
    relay(app, port)
    author, _ = login_as("redacteur")
    _, coordinator = login_as("coordinateur", org="Plateforme Lens-Hénin")
    _, instructeur = login_as("instructeur", org="Département du Pas-de-Calais")
    admin, _ = login_as("admin", "Administration")
    submitted(author, "fiche_saisine")
    assert sorted(m["To"] for m in inbox.messages) == sorted([coordinator.email, instructeur.email])
    return inbox, coordinator, instructeur, admin


def received(inbox: Any, to: str) -> EmailMessage:
    (mail,) = [m for m in inbox.messages if m["To"] == to]
    return mail  # type: ignore[no-any-return]


def test_a_bounce_read_back_marks_the_e_mail_undelivered_for_the_administrator_who_runs_it_again(
    app: Flask, login_as: Any, smtp_server: Any, tmp_path: Path  # noqa: F811
) -> None:
    inbox, coordinator, instructeur, admin = sent_saisine(app, login_as, smtp_server)
    box = maildir(tmp_path / "retours", dsn(received(inbox, coordinator.email)))
    result = retours(app, box)
    assert result.exit_code == 0, result.output
    assert f"Non remis : {coordinator.email}" in result.output and "courriels non remis : 1" in result.output
    with app.app_context():
        session = db.session()
        statuses = {c.adresse: (c.statut, c.erreur or "") for c in session.scalars(select(Courriel))}
        assert statuses[instructeur.email] == ("envoye", "")
        assert statuses[coordinator.email][0] == "non_remis" and "5.1.1 550 5.1.1" in statuses[coordinator.email][1]
        note = session.scalars(select(Notification).where(Notification.user_id == coordinator.id)).one()
        assert note.mailed_at is None  # to be sent again
        work = session.scalars(select(Travail).where(Travail.nature == "courriel", Travail.user_id == coordinator.id)).one()
        assert work.statut == "echec"
    # Where a refusal at the time of sending shows: the failed works, with the reason, in French.
    queue = html.unescape(admin.get("/admin/travaux").get_data(as_text=True))
    assert f"Courriel non remis à {coordinator.email}" in queue and "User unknown" in queue and f"/admin/travaux/{work.id}/relancer" in queue
    # Read again: nothing more.
    before = state(app)
    again = retours(app, box)
    assert again.exit_code == 0 and "courriels non remis : 0" in again.output and "ignorés : 1" in again.output
    assert state(app) == before
    # The address corrected, the administrator runs it again: the e-mail goes out once more.
    assert admin.post(f"/admin/travaux/{work.id}/relancer").status_code == 302
    assert [m["To"] for m in inbox.messages].count(coordinator.email) == 2
    with app.app_context():
        assert db.session().get_one(Travail, work.id).statut == "termine"
        assert [c.statut for c in db.session().scalars(select(Courriel).where(Courriel.adresse == coordinator.email).order_by(Courriel.id))] == ["non_remis", "envoye"]


def test_a_delayed_report_a_malformed_one_and_other_mail_change_nothing(
    app: Flask, login_as: Any, smtp_server: Any, tmp_path: Path  # noqa: F811
) -> None:
    inbox, coordinator, instructeur, _ = sent_saisine(app, login_as, smtp_server)
    to_coordinator = received(inbox, coordinator.email)
    delayed = dsn(received(inbox, instructeur.email), action="delayed", status="4.4.1", returned="message")
    # Malformed: a report whose delivery-status part is missing, one without the returned headers.
    no_status = dsn(to_coordinator).replace(b"Content-Type: message/delivery-status", b"Content-Type: text/plain")
    no_original = dsn(to_coordinator).replace(b"Content-Type: text/rfc822-headers", b"Content-Type: text/plain")
    truncated = dsn(to_coordinator)[:700]
    # About an e-mail the log does not know, or naming another recipient than the one it was sent to.
    unknown = dsn(to_coordinator).replace(to_coordinator["Message-ID"].encode(), b"<inconnu@pas-de-calais.fr>")
    other = dsn(to_coordinator).replace(f"Final-Recipient: rfc822; {coordinator.email}".encode(), b"Final-Recipient: rfc822; autre@example.fr")
    out_of_office = b"From: coordinateur@example.fr\nSubject: Absent\nAuto-Submitted: auto-replied\n\nJe suis absent jusqu'au 15.\n"
    before = state(app)
    result = retours(app, maildir(tmp_path / "retours", delayed, no_status, no_original, truncated, unknown, other, out_of_office, b"\x00\xff"))
    assert result.exit_code == 0, result.output
    assert "Messages lus : 8 ; courriels non remis : 0 ; retards (le relais réessaie, sans effet) : 1 ; ignorés : 7." in result.output
    assert state(app) == before


def test_an_mbox_is_read_too_and_a_missing_mailbox_is_said_in_french(app: Flask, login_as: Any, smtp_server: Any, tmp_path: Path) -> None:  # noqa: F811
    inbox, coordinator, _, _ = sent_saisine(app, login_as, smtp_server)
    box = mailbox.mbox(tmp_path / "retours.mbox", create=True)
    box.add(dsn(received(inbox, coordinator.email), returned="message"))
    box.close()
    before = state(app)
    missing = retours(app, tmp_path / "absente")
    assert missing.exit_code == 1 and "Boîte aux lettres illisible" in missing.output and "ni dossier Maildir ni fichier mbox" in missing.output
    not_maildir = retours(app, tmp_path)
    assert not_maildir.exit_code == 1 and "n'est pas un dossier Maildir" in not_maildir.output
    assert state(app) == before
    result = retours(app, tmp_path / "retours.mbox")
    assert result.exit_code == 0 and f"Non remis : {coordinator.email}" in result.output


def test_the_queue_turns_a_work_failed_only_while_its_job_has_succeeded(app: Flask, login_as: Any, smtp_server: Any) -> None:  # noqa: F811
    _, coordinator, instructeur, _ = sent_saisine(app, login_as, smtp_server)

    def job_status(work: Travail) -> str:
        return str(db.session().scalar(text("SELECT status::text FROM procrastinate_jobs WHERE id = :job"), {"job": work.job_id}))

    with app.app_context():
        session = db.session()
        work, other = (session.scalars(select(Travail).where(Travail.nature == "courriel", Travail.user_id == u.id)).one() for u in (coordinator, instructeur))
        assert fail_after_success(session, work, "Courriel non remis.") is True
        session.commit()
        assert (work.statut, work.erreur, job_status(work)) == ("echec", "Courriel non remis.", "failed")
        assert (other.statut, job_status(other)) == ("termine", "succeeded")
        # Asked again by the administrator, not yet run: the queue's, left as it is.
        retry(session, work, now=app.config["CLOCK"]())
        assert fail_after_success(session, work, "Un autre avis.") is False
        session.commit()
        assert (work.statut, work.erreur, job_status(work)) == ("en_attente", "Courriel non remis.", "todo")


# A write to procrastinate's tables, or a call of one of its SQL functions (procrastinate_cancel_job_v1…).
WRITES_QUEUE = re.compile(r"\b(?:UPDATE|INSERT\s+INTO|DELETE\s+FROM)\s+procrastinate_|\bprocrastinate_\w+\s*\(", re.IGNORECASE)


def test_only_the_queue_s_own_module_writes_to_its_tables() -> None:
    """procrastinate's tables and functions are the queue's (``webforms/jobs``), and the migrations that made them."""
    root = Path(__file__).resolve().parents[1] / "webforms"
    writers = sorted(
        str(path.relative_to(root)) for path in root.rglob("*.py")
        if WRITES_QUEUE.search(path.read_text(encoding="utf-8")) and path.parts[-2] not in ("jobs", "versions")
    )
    assert writers == []


def test_a_report_is_read_with_the_standard_email_package() -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Message-ID"] = "webforms@pas-de-calais.fr", "A.Dupont@Example.fr", "<1@pas-de-calais.fr>"
    mail.set_content("Bonjour")
    (report,) = parse_report(dsn(mail))
    assert (report.message_id, report.recipient, report.action, report.status) == ("<1@pas-de-calais.fr>", "a.dupont@example.fr", "failed", "5.1.1")
    assert report.diagnostic == "550 5.1.1 <A.Dupont@Example.fr>: Recipient address rejected: User unknown in virtual mailbox table"
    assert parse_report(b"Subject: bonjour\n\ntexte") == []
