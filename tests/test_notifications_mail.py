"""E-mails of the notifications (issue 14): a real SMTP server receives them and they are read back.

Each test starts ``aiosmtpd`` on a free local port; the service hands its e-mails over with
``smtplib`` from a real worker (the queue ``courriels``). An e-mail holds no household data.
"""

from __future__ import annotations

import ast
import datetime as dt
import email
import email.policy
import html
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import Flask
from sqlalchemy import select, text

from schemas import get_kind
from tests.conftest import Clock
from tests.test_web import submitted
from tests.workers import run_jobs
from webforms import create_app, db
from webforms import notifications as notifications_package
from webforms.models import Courriel, Document, Notification, NotificationPreference, Travail
from webforms.notifications.mail import Relay, ask_digests, send
from webforms.notifications.services import notify
from webforms.notifications.subjects import EVENEMENTS

BASE_URL = "https://webforms.example.fr"
# Every name typed in the examples' households (fiche saisine: demandeur, conjoint, enfants).
HOUSEHOLD_NAMES = ("Durand", "Julie", "Morel")


class Inbox:
    """What the SMTP server received: each message parsed, with the login it came with."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.logins: list[str] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 Message accepted for delivery"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (b"webforms", b"secret-du-relais")
        if ok:
            self.logins.append(auth_data.login.decode())
        return AuthResult(success=ok, handled=False)

    def texts(self) -> list[str]:
        return [f"{m['Subject']}\n{m.get_content()}" for m in self.messages]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., tuple[Inbox, int]]]:
    """Return a factory starting a real SMTP server on 127.0.0.1: ``start(**smtp_options) -> (inbox, port)``."""
    running: list[Controller] = []

    def start(**options: Any) -> tuple[Inbox, int]:
        inbox, port = Inbox(), free_port()
        if options.pop("auth", False):
            options.update(authenticator=inbox.authenticate, auth_required=True)
        controller = Controller(inbox, hostname="127.0.0.1", port=port, **options)
        controller.start()
        running.append(controller)
        return inbox, port

    yield start
    for controller in running:
        controller.stop()


def relay(app: Flask, port: int, **settings: Any) -> None:
    app.config.update(SMTP_HOST="127.0.0.1", SMTP_PORT=port, MAIL_FROM="webforms@pas-de-calais.fr", PUBLIC_BASE_URL=BASE_URL, **settings)


def logged(app: Flask) -> list[tuple[str, str, str]]:
    with app.app_context():
        return [(c.adresse, c.nature, c.statut) for c in db.session().scalars(select(Courriel).order_by(Courriel.id))]


def assert_no_household_data(texts: list[str]) -> None:
    for body in texts:
        for name in HOUSEHOLD_NAMES:
            assert name not in body, name


def test_each_reader_gets_one_mail_naming_the_kind_and_reference_with_a_link(app: Flask, login_as: Any, smtp_server: Any) -> None:
    inbox, port = smtp_server()
    relay(app, port)
    author, _ = login_as("redacteur")
    _, coordinator = login_as("coordinateur", org="Plateforme Lens-Hénin")
    _, instructeur = login_as("instructeur", org="Département du Pas-de-Calais")
    doc_id = submitted(author, "fiche_saisine")  # the worker runs after the POST: the e-mails are sent
    assert sorted(m["To"] for m in inbox.messages) == sorted([coordinator.email, instructeur.email])
    title = get_kind("fiche_saisine").title
    for message in inbox.messages:
        assert message["Subject"] == f"[webforms] {title} FS-2019-000001 : nouvelle saisine transmise (décision du coordinateur attendue)"
        assert message["From"] == "webforms@pas-de-calais.fr"
        body = message.get_content()
        assert f"{BASE_URL}/documents/{doc_id}" in body and f"{BASE_URL}/notifications/preferences" in body
    assert_no_household_data(inbox.texts())
    assert sorted(logged(app)) == sorted([(coordinator.email, "immediat:depot", "envoye"), (instructeur.email, "immediat:depot", "envoye")])
    with app.app_context():
        assert all(n.mailed_at is not None for n in db.session().scalars(select(Notification)))
        # The log keeps to whom, when and what for: no subject, no body.
        assert {c.name for c in Courriel.__table__.columns} == {"id", "user_id", "adresse", "nature", "notifications", "at", "statut", "erreur", "travail_id", "message_id"}


def test_a_daily_digest_gathers_the_unread_once_and_none_is_sent_to_who_chose_none(app: Flask, login_as: Any, smtp_server: Any, clock: Clock) -> None:
    inbox, port = smtp_server()
    relay(app, port)
    author, _ = login_as("redacteur")
    _, coordinator = login_as("coordinateur", org="Plateforme Lens-Hénin")
    instructeur_web, instructeur = login_as("instructeur", org="Département du Pas-de-Calais")
    with app.app_context():
        db.session().add_all([NotificationPreference(user_id=coordinator.id, frequence="aucun"), NotificationPreference(user_id=instructeur.id, frequence="quotidien")])
        db.session().commit()
    saisine = submitted(author, "fiche_saisine")
    incident = submitted(author, "fiche_incident")
    submitted(author, "fiche_incident")
    assert inbox.messages == []  # nobody chose "immediat"
    # The instructeur read one in the centre already: the digest leaves it out.
    with app.app_context():
        read = db.session().scalars(select(Notification.id).where(Notification.user_id == instructeur.id, Notification.document_id == incident)).one()
    instructeur_web.post(f"/notifications/{read}/lue")
    clock.now = dt.datetime(2019, 10, 15, 6, 0, tzinfo=dt.UTC)
    with app.app_context():
        assert ask_digests(db.session(), now=clock.now) == 1
        db.session().commit()
    run_jobs(app)
    assert [m["To"] for m in inbox.messages] == [instructeur.email]
    digest = inbox.messages[0]
    assert digest["Subject"] == "[webforms] 2 notifications en attente"
    body = digest.get_content()
    assert f"{BASE_URL}/documents/{saisine}" in body and f"{BASE_URL}/documents/{incident}" not in body and "FI-2019-000002" in body
    assert_no_household_data(inbox.texts())
    assert logged(app) == [(instructeur.email, "resume", "envoye")]
    # The next day: nothing new, nothing sent again.
    with app.app_context():
        assert ask_digests(db.session(), now=clock.now + dt.timedelta(days=1)) == 0


def test_a_relay_down_blocks_nothing_retries_and_shows_the_failure_to_the_administrator(app: Flask, login_as: Any, smtp_server: Any) -> None:
    relay(app, free_port())  # nobody listens there
    author, _ = login_as("redacteur")
    coordinator_web, coordinator = login_as("coordinateur", org="Plateforme Lens-Hénin")
    doc_id = submitted(author, "fiche_saisine")
    with app.app_context():
        session = db.session()
        assert session.scalar(text("SELECT statut FROM document WHERE id = :id"), {"id": doc_id}) == "soumis"
        sends = session.scalars(select(Travail).where(Travail.nature == "courriel")).one()
        assert (sends.statut, sends.essais) == ("en_attente", 1) and "ConnectionRefusedError" in (sends.erreur or "")
    # The notification is in the centre all the same.
    assert "FS-2019-000001" in coordinator_web.get("/notifications").get_data(as_text=True)
    for _ in range(4):  # the queue's retries, without their waits
        with app.app_context():
            db.session().execute(text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo' AND queue_name = 'courriels'"))
            db.session().commit()
        run_jobs(app)
    with app.app_context():
        assert db.session().get_one(Travail, sends.id).statut == "echec"
    assert logged(app) == [(coordinator.email, "immediat:depot", "echec")] * 5
    admin, _ = login_as("admin", "Administration")
    queue = admin.get("/admin/travaux").get_data(as_text=True)
    assert f"/admin/travaux/{sends.id}/relancer" in queue and "ConnectionRefusedError" in queue
    # The relay is back: the administrator runs it again, and it is sent.
    inbox, port = smtp_server()
    relay(app, port)
    admin.post(f"/admin/travaux/{sends.id}/relancer")
    assert [m["To"] for m in inbox.messages] == [coordinator.email]
    assert logged(app)[-1] == (coordinator.email, "immediat:depot", "envoye")


SEND_RETRY = (
    "SELECT j.scheduled_at - max(e.at) FROM procrastinate_jobs j JOIN procrastinate_events e ON e.job_id = j.id AND e.type = 'started'"
    " WHERE j.status = 'todo' AND j.queue_name = 'courriels' GROUP BY j.id"
)


def test_a_failed_send_is_retried_after_2_4_8_then_16_seconds(app: Flask, login_as: Any) -> None:
    """jobs.RETRY: each try of a send waits twice as long as the one before (2, 4, 8, 16 s), then the send is in failure."""
    relay(app, free_port())  # nobody listens there: each try fails at once
    author, _ = login_as("redacteur")
    login_as("coordinateur", org="Plateforme Lens-Hénin")
    submitted(author, "fiche_saisine")  # its first try fails
    for wait in (2, 4, 8, 16):
        with app.app_context():
            (scheduled_in,) = db.session().scalars(text(SEND_RETRY)).all()  # from the failed try's start
            assert wait <= scheduled_in.total_seconds() < wait + 1, (wait, scheduled_in)
            db.session().execute(text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo' AND queue_name = 'courriels'"))
            db.session().commit()
        run_jobs(app)
    with app.app_context():
        assert db.session().scalars(select(Travail.statut).where(Travail.nature == "courriel")).one() == "echec"
        assert db.session().scalars(text(SEND_RETRY)).all() == []


def self_signed(tmp_path: Path) -> tuple[ssl.SSLContext, str]:
    """A certificate for 127.0.0.1, made here: the server's TLS context and the CA file the service trusts."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "relais-de-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=5)).not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = tmp_path / "relais.pem", tmp_path / "relais.key"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    return context, str(cert_file)


def test_starttls_and_authentication_with_the_relay_s_own_authority(app: Flask, login_as: Any, smtp_server: Any, tmp_path: Path) -> None:
    context, ca_file = self_signed(tmp_path)
    inbox, port = smtp_server(tls_context=context, require_starttls=True, auth=True)
    relay(app, port, SMTP_STARTTLS="1", SMTP_USER="webforms", SMTP_PASSWORD="mauvais", SMTP_CA_FILE=ca_file)
    author, _ = login_as("redacteur")
    _, coordinator = login_as("coordinateur", org="Plateforme Lens-Hénin")
    submitted(author, "fiche_saisine")
    assert inbox.messages == [] and logged(app) == [(coordinator.email, "immediat:depot", "echec")]
    with app.app_context():
        assert "SMTPAuthenticationError" in (db.session().scalars(select(Courriel.erreur)).one() or "")
        db.session().execute(text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo' AND queue_name = 'courriels'"))
        db.session().commit()
    app.config["SMTP_PASSWORD"] = "secret-du-relais"
    run_jobs(app)
    assert [m["To"] for m in inbox.messages] == [coordinator.email] and inbox.logins == ["webforms"]
    # Without STARTTLS the relay offers no authentication (it requires TLS first): nothing goes out in clear.
    app.config["SMTP_STARTTLS"] = False
    submitted(author, "fiche_saisine")
    assert len(inbox.messages) == 1
    assert logged(app)[-1] == (coordinator.email, "immediat:depot", "echec")


def test_a_long_french_subject_is_read_back_whole_with_its_spaces(smtp_server: Any) -> None:
    """RFC 2047 §6.2: a reader drops the space between two adjacent encoded words. Folded by
    ``EmailMessage``, "Bilan à échéance" arrived as "Bilan  àéchéance"."""
    inbox, port = smtp_server()
    subject = "[webforms] Mesure AML Logement d'abord ME-2019-000001 : Bilan à échéance (12 mois) à transmettre d'ici le 3 juin 2020 (AML §4)"
    send(Relay("127.0.0.1", port, False, None, None, None, "webforms@pas-de-calais.fr"), "referent@example.fr", subject, "Bonjour,\n\nDéjà là.\n")
    (mail,) = inbox.messages
    assert mail["Subject"] == subject and mail.get_content().replace("\r\n", "\n") == "Bonjour,\n\nDéjà là.\n"


def test_no_relay_configured_asks_for_no_mail(app: Flask, login_as: Any) -> None:
    author, _ = login_as("redacteur")
    login_as("coordinateur", org="Plateforme Lens-Hénin")
    submitted(author, "fiche_saisine")
    with app.app_context():
        assert db.session().scalars(select(Travail).where(Travail.nature == "courriel")).all() == []
        assert len(db.session().scalars(select(Notification)).all()) == 1


def test_the_relay_is_configured_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key, value in {"SMTP_HOST": "relais.cg62.fr", "SMTP_PORT": "587", "SMTP_STARTTLS": "oui", "SMTP_USER": "webforms",
                       "SMTP_PASSWORD": "x", "MAIL_FROM": "ne-pas-repondre@pasdecalais.fr", "PUBLIC_BASE_URL": BASE_URL}.items():
        monkeypatch.setenv(key, value)
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "postgresql:///inutilisee", "SECRET_KEY": "x"})
    found = Relay.from_config(app.config)
    assert (found.host, found.port, found.starttls, found.user, found.sender) == ("relais.cg62.fr", 587, True, "webforms", "ne-pas-repondre@pasdecalais.fr")
    app.extensions["webforms.engine"].dispose()


@pytest.mark.parametrize(("key", "value", "refused"), [
    ("PARTAGE_JOURS", "trente", True), ("PARTAGE_JOURS", "0", True), ("PARTAGE_JOURS", "1", False),
    ("PARTAGE_JOURS", " 3650 ", False), ("PARTAGE_JOURS", "3651", True), ("PARTAGE_JOURS", "7.5", True),
    ("SMTP_PORT", "0", True), ("SMTP_PORT", "65535", False), ("SMTP_PORT", "65536", True),
])
def test_a_link_term_or_port_that_is_no_whole_number_stops_the_start_in_french(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, key: str, value: str, refused: bool
) -> None:
    # Read only when a document is submitted (the term of its recipients' links) or mailed: a
    # wrong value would have failed each submission sending a link; the service now will not start.
    monkeypatch.setenv(key, value)
    config = {"TESTING": True, "INSTANCE_PATH": str(tmp_path), "DATABASE_URL": "postgresql:///inutilisee", "SECRET_KEY": "x"}
    if refused:
        with pytest.raises(ValueError, match=f"^Réglage {key} invalide : « {value} » ; attendu un nombre entier de 1 à "):
            create_app(config)
        return
    app = create_app(config)
    assert app.config[key] == int(value)
    app.extensions["webforms.engine"].dispose()


# Each kind of e-mail, from its real event, through the real SMTP server: tests/test_mail_kinds.py.


def test_every_kind_the_service_notifies_is_declared() -> None:
    """The kinds named in ``notify(...)`` and the reminders' ``Occurrence(...)`` calls are those of ``EVENEMENTS``, no more, no less."""
    named: set[str] = set()
    for path in Path(notifications_package.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("notify", "Occurrence") and len(node.args) > 1:
                named |= {c.value for c in ast.walk(node.args[1]) if isinstance(c, ast.Constant) and isinstance(c.value, str)}
    assert named == set(EVENEMENTS)


def test_an_undeclared_kind_is_refused(app: Flask, login_as: Any) -> None:
    writer, _ = login_as("redacteur")
    doc_id = submitted(writer, "fiche_saisine")
    with app.app_context():
        with pytest.raises(ValueError, match="non déclarée"):
            notify(db.session(), "annonce", db.session().get_one(Document, doc_id), [], what="x", now=app.config["CLOCK"]())
        with pytest.raises(ValueError, match="non déclarée"):  # a measure's kind about a document
            notify(db.session(), "bilan_a_rendre", db.session().get_one(Document, doc_id), [], what="x", now=app.config["CLOCK"]())


class Bouncing(Inbox):
    """A relay that refuses one address for good (550), as a mailbox that does not exist bounces."""

    def __init__(self, refused: str) -> None:
        super().__init__()
        self.refused = refused

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        if address == self.refused:
            return "550 5.1.1 Boite inconnue"
        envelope.rcpt_tos.append(address)
        return "250 OK"


def test_a_bounced_address_is_recorded_ends_at_once_and_is_shown_to_the_administrator(app: Flask, login_as: Any, smtp_server: Any) -> None:
    author, _ = login_as("redacteur")
    coordinator_web, coordinator = login_as("coordinateur", org="Plateforme Lens-Hénin")
    _, instructeur = login_as("instructeur", org="Département du Pas-de-Calais")
    inbox, port = Bouncing(coordinator.email), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        relay(app, port)
        doc_id = submitted(author, "fiche_saisine")  # nothing blocks the submission
        # The other reader got theirs; the bounced one is logged with the relay's answer, once.
        assert [m["To"] for m in inbox.messages] == [instructeur.email]
        failed = [(a, n, s) for a, n, s in logged(app) if a == coordinator.email]
        assert failed == [(coordinator.email, "immediat:depot", "echec")]
        with app.app_context():
            session = db.session()
            assert session.scalar(text("SELECT statut FROM document WHERE id = :id"), {"id": doc_id}) == "soumis"
            assert "550" in (session.scalars(select(Courriel.erreur).where(Courriel.adresse == coordinator.email)).one() or "")
            work = session.scalars(select(Travail).where(Travail.nature == "courriel", Travail.user_id == coordinator.id)).one()
            # Ended at once, in French, not retried five times for the same bounce.
            assert (work.statut, work.essais) == ("echec", 1) and f"Adresse {coordinator.email} refusée" in (work.erreur or "")
            assert session.scalar(text("SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo' AND queue_name = 'courriels'")) == 0
        # Still in the centre; the administrator sees the failure and its reason.
        assert "FS-2019-000001" in coordinator_web.get("/notifications").get_data(as_text=True)
        admin, _ = login_as("admin", "Administration")
        queue = html.unescape(admin.get("/admin/travaux").get_data(as_text=True))
        assert f"/admin/travaux/{work.id}/relancer" in queue and f"Adresse {coordinator.email} refusée" in queue
    finally:
        controller.stop()


def test_a_temporary_refusal_is_retried_by_the_queue(app: Flask, login_as: Any) -> None:
    """A 4xx (mailbox busy, greylisting) is not a bounce: the queue tries again later."""

    class Busy(Bouncing):
        async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
            return "450 4.2.1 Boite occupee, reessayez"

    author, _ = login_as("redacteur")
    _, coordinator = login_as("coordinateur", org="Plateforme Lens-Hénin")
    inbox, port = Busy(""), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        relay(app, port)
        submitted(author, "fiche_saisine")
        with app.app_context():
            work = db.session().scalars(select(Travail).where(Travail.nature == "courriel", Travail.user_id == coordinator.id)).one()
            assert (work.statut, work.essais) == ("en_attente", 1) and "450" in (work.erreur or "")
    finally:
        controller.stop()
