"""The notification centre, a document's thread and a recipient without an account, in a real headless Chromium (issue 14).

A coordinator is told of a new referral in the header, opens it from the centre, writes in its
thread (a text that looks like a template stays text); the writer is told, reads it marked new,
then sends the document to a social worker without an account, who opens it with the code of a
second e-mail; the link still opens the day before its term and no longer at it; the sender
sees the opening and revokes the link. axe-core checks every page.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from schemas import get_kind
from tests.browser.test_journey import check_accessibility, download, sign_in
from tests.conftest import Clock
from tests.test_notifications_mail import relay, smtp_server  # noqa: F401 (a fixture)
from tests.test_web import submitted
from webforms import db
from webforms.models import Partage
from webforms.rendering.context import datetime_fr

pytestmark = pytest.mark.browser

SAISINE = get_kind("fiche_saisine").title
TYPED = "Merci de préciser les ressources. {{ 7*7 }}"


def sign_out(page: Page) -> None:
    page.get_by_role("button", name="Se déconnecter").click()


def test_centre_thread_and_a_recipient_without_an_account(
    page: Page, live_server: str, app: Flask, login_as: Any, make_user: Any, smtp_server: Any, clock: Clock  # noqa: F811
) -> None:
    inbox, port = smtp_server()
    relay(app, port)
    app.config["PUBLIC_BASE_URL"] = live_server  # the links of the e-mails lead to the live server
    writer_web, writer = login_as("redacteur")
    coordinator = make_user("coordinateur", "Plateforme Lens-Hénin")
    doc_id = submitted(writer_web, "fiche_saisine")

    # The coordinator sees the unread count in the header, then the notification in the centre.
    sign_in(page, live_server, coordinator)
    header_link = page.get_by_role("link", name=re.compile("^Notifications"))
    expect(header_link).to_contain_text("1")
    header_link.click()
    expect(page.get_by_role("heading", level=1, name="Notifications")).to_be_visible()
    check_accessibility(page, "le centre de notifications")
    page.get_by_role("link", name=re.compile("nouvelle saisine transmise")).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Fiche saisine")

    # The thread: a message whose text looks like a template is shown as typed.
    page.get_by_role("link", name=re.compile("^Messages")).click()
    expect(page.get_by_text("Aucun message pour l'instant.")).to_be_visible()
    check_accessibility(page, "la discussion vide")
    page.get_by_label("Votre message").fill(TYPED)
    page.get_by_role("button", name="Envoyer").click()
    expect(page.get_by_text("Message envoyé.")).to_be_visible()
    expect(page.get_by_text(TYPED)).to_be_visible()
    expect(page.get_by_text("49")).to_have_count(0)
    check_accessibility(page, "la discussion")
    sign_out(page)

    # The writer is told, without the text; the message is new to them, once.
    sign_in(page, live_server, writer)
    page.get_by_role("link", name=re.compile("^Notifications")).click()
    expect(page.get_by_role("link", name=re.compile("FS-2019-000001 : nouveau message"))).to_be_visible()
    expect(page.get_by_text("préciser les ressources")).to_have_count(0)
    page.goto(f"{live_server}/documents/{doc_id}")
    page.get_by_role("link", name=re.compile(r"^Messages \(1, dont 1 non lu\)")).click()
    expect(page.locator(".thread").get_by_text("Nouveau")).to_be_visible()
    page.reload()
    expect(page.locator(".thread").get_by_text("Nouveau")).to_have_count(0)

    # The writer sends the document to a social worker without an account.
    page.goto(f"{live_server}/documents/{doc_id}")
    page.get_by_role("link", name="Destinataires sans compte").click()
    check_accessibility(page, "la page des destinataires sans compte")
    page.get_by_label("Adresse électronique du destinataire").fill("ts.referent@cd62.fr")
    page.get_by_label("Travailleur social référent du ménage").check()
    page.get_by_role("button", name="Envoyer le lien").click()
    expect(page.get_by_text("Le lien est en cours d'envoi")).to_be_visible()
    sign_out(page)

    # The recipient opens the link, asks for a code, types it: the PDF, nothing else.
    _wait_for(lambda: len(inbox.messages) >= 3)
    url = re.search(r"https?://\S+/partage/\d+/[0-9a-f]+", inbox.messages[-1].get_content())
    assert url
    page.goto(url.group(0))
    check_accessibility(page, "la page du lien personnel")
    page.get_by_role("button", name="Recevoir un code par courriel").click()
    expect(page.get_by_text("Un code vous a été envoyé par courriel")).to_be_visible()
    _wait_for(lambda: "Votre code d'accès" in inbox.messages[-1].get_content())
    code = re.search(r"Votre code d'accès : (\d{6})", inbox.messages[-1].get_content())
    assert code
    page.get_by_label("Code reçu par courriel").fill("000000" if code.group(1) != "000000" else "111111")
    page.get_by_role("button", name="Ouvrir le document").click()
    expect(page.get_by_text("Code incorrect")).to_be_visible()
    page.get_by_label("Code reçu par courriel").fill(code.group(1))
    page.get_by_role("button", name="Ouvrir le document").click()
    assert download(page, page.get_by_role("link", name="Télécharger le document (PDF)")).startswith(b"%PDF")
    check_accessibility(page, "le document ouvert")
    link_page = page.url

    # Valid PARTAGE_JOURS days (30): the day before its term it still opens the document; at its
    # term, a French page says so and shows nothing of the document (the app's clock, injected).
    with app.app_context():
        expires = db.session().scalars(select(Partage.expires_at)).one()
    sent_at = clock.now
    assert expires - sent_at == dt.timedelta(days=30)
    clock.now = expires - dt.timedelta(days=1)
    page.goto(link_page)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"{SAISINE} FS-2019-000001")
    expect(page.get_by_role("link", name="Télécharger le document (PDF)")).to_be_visible()
    clock.now = expires
    for expired in (link_page, f"{link_page}/document"):
        page.goto(expired)
        expect(page.get_by_role("heading", level=1, name="Lien inutilisable")).to_be_visible()
        expect(page.get_by_text(f"Ce lien a expiré le {datetime_fr(expires)} : demandez-en un nouveau à l'expéditeur.")).to_be_visible()
        for shown in ("FS-2019-000001", SAISINE, "Association Habitat Solidaire"):
            expect(page.get_by_text(shown)).to_have_count(0)
        expect(page.get_by_role("link", name="Télécharger le document (PDF)")).to_have_count(0)
        expect(page.get_by_role("button", name="Recevoir un code par courriel")).to_have_count(0)
    check_accessibility(page, "le lien expiré")
    clock.now = sent_at

    # The sender sees the opening and revokes the link; it opens nothing any more.
    sign_in(page, live_server, writer)
    page.goto(f"{live_server}/documents/{doc_id}/destinataires")
    expect(page.get_by_text(re.compile("Document ouvert le"))).to_be_visible()
    expect(page.get_by_text(re.compile("Document téléchargé le"))).to_be_visible()
    page.get_by_role("button", name=re.compile("^Révoquer")).click()
    expect(page.get_by_role("status")).to_contain_text("Lien révoqué : il n'ouvre plus le document.")
    expect(page.get_by_text(re.compile("^Lien révoqué le"))).to_be_visible()
    sign_out(page)
    page.goto(link_page)
    expect(page.get_by_role("heading", level=1, name="Lien inutilisable")).to_be_visible()
    expect(page.get_by_text("révoqué par l'expéditeur")).to_be_visible()
    check_accessibility(page, "le lien révoqué")


def _wait_for(condition: Any, timeout: float = 30.0) -> None:
    """Wait for the background worker's e-mail (the SMTP server runs in its own thread)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "le courriel attendu n'est pas arrivé"
        time.sleep(0.1)
