"""Recipients without an account (issue 14): a personal link, a one-time code in a second e-mail, a log, a revocation.

A real SMTP server (aiosmtpd) receives both e-mails; the visitor is a test client with no account.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Flask
from sqlalchemy import select

from schemas import get_kind
from tests.conftest import Clock, WebClient
from tests.test_notifications_mail import BASE_URL, assert_no_household_data, logged, relay, smtp_server  # noqa: F401 (a fixture)
from tests.test_web import doc_id_from, example_form, submitted
from webforms import db
from webforms.models import Document, Partage, PartageTrace

ADDRESS = "referent.social@cd62.fr"
ORG = "Association Habitat Solidaire"  # the writer's organisation (login_as)


def traces(app: Flask) -> list[str]:
    with app.app_context():
        return list(db.session().scalars(select(PartageTrace.quoi).order_by(PartageTrace.id)))


def link_in(body: str) -> str:
    found = re.search(rf"{re.escape(BASE_URL)}(/partage/\d+/[0-9a-f]+)", body)
    assert found, body
    return found.group(1)


def sent_link(app: Flask, login_as: Any, smtp_server: Any) -> tuple[Any, WebClient, int, str]:  # noqa: F811
    """A submitted fiche saisine sent to ``ADDRESS``: (inbox, its writer, its id, the link's path)."""
    inbox, port = smtp_server()
    relay(app, port)
    writer, _ = login_as("redacteur")
    doc_id = submitted(writer, "fiche_saisine")
    before = len(inbox.messages)
    response = writer.post(f"/documents/{doc_id}/destinataires", {"adresse": ADDRESS, "qualite": "travailleur_social"})
    assert response.status_code == 302, response.get_data(as_text=True)
    (mail,) = inbox.messages[before:]
    assert mail["To"] == ADDRESS and mail["Subject"].endswith(f"FS-2019-000001 : document transmis par {ORG}")
    return inbox, writer, doc_id, link_in(mail.get_content())


def visitor(app: Flask) -> WebClient:
    web = WebClient(app.test_client())
    web.get("/connexion")  # a CSRF token for the session, as any first page gives
    return web


def code_from(inbox: Any) -> str:
    found = re.search(r"Votre code d'accès : (\d{6})", inbox.messages[-1].get_content())
    assert found
    return found.group(1)


def _leaves(value: Any) -> list[str]:
    """Every value typed under ``value`` (a section of a document's data), as text."""
    if isinstance(value, dict):
        return [t for v in value.values() for t in _leaves(v)]
    if isinstance(value, list):
        return [t for v in value for t in _leaves(v)]
    return [str(value)] if value not in (None, "") and not isinstance(value, bool) else []


def test_the_link_e_mail_names_the_sending_organisation_and_nothing_of_the_household(app: Flask, login_as: Any, smtp_server: Any) -> None:  # noqa: F811
    """docs/decisions.md, « Le courriel du lien nomme l'organisation qui l'envoie »: who writes is said (subject and
    body), what the document says of the household is not (its names, birth dates, commune, EPCI)."""
    inbox, _, doc_id, _ = sent_link(app, login_as, smtp_server)
    (mail,) = [m for m in inbox.messages if m["To"] == ADDRESS]
    subject, body = str(mail["Subject"]), str(mail.get_content())
    title = get_kind("fiche_saisine").title
    assert subject == f"[webforms] {title} FS-2019-000001 : document transmis par {ORG}", subject
    assert f"{ORG} vous transmet le document « {title} FS-2019-000001 »" in body, body
    with app.app_context():
        data = db.session().get_one(Document, doc_id).submitted_data
    household = [t for t in (*_leaves(data["menage"]), *_leaves(data["territoire"])) if len(t) > 2]
    assert {"Durand", "Julie", "Liévin", "1996-03-02"} <= set(household)  # the example's household, read from the document
    for value in household:
        assert value not in subject and value not in body, value


def test_the_link_then_the_code_open_only_that_document_and_each_step_is_logged(app: Flask, login_as: Any, smtp_server: Any) -> None:  # noqa: F811
    inbox, writer, doc_id, path = sent_link(app, login_as, smtp_server)
    guest = visitor(app)
    page = guest.get(path).get_data(as_text=True)
    assert "Recevoir un code" in page and "Télécharger" not in page
    assert guest.get(f"{path}/document").status_code == 302  # not opened yet
    assert guest.post(path, {"action": "code"}).status_code == 200
    code = code_from(inbox)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    response = guest.post(path, {"action": "ouvrir", "code": wrong})
    assert response.status_code == 422 and "Code incorrect : encore 4 essais." in response.get_data(as_text=True)
    response = guest.post(path, {"action": "ouvrir", "code": code})
    assert response.status_code == 200 and "Télécharger le document (PDF)" in response.get_data(as_text=True)
    download = guest.get(f"{path}/document")
    assert download.status_code == 200 and download.mimetype == "application/pdf" and download.data.startswith(b"%PDF")
    assert traces(app) == ["lien_envoye", "code_envoye", "code_refuse", "ouverture", "telechargement"]
    # Both e-mails logged, neither holding a household name.
    assert [(a, n) for a, n, _ in logged(app) if a == ADDRESS] == [(ADDRESS, "partage:lien"), (ADDRESS, "partage:code")]
    assert_no_household_data(inbox.texts())
    # The sender sees every step.
    sender = writer.get(f"/documents/{doc_id}/destinataires").get_data(as_text=True)
    assert ADDRESS in sender and "Document ouvert le" in sender and "Document téléchargé le" in sender and "Code refusé le" in sender
    # The code served once: another browser cannot use it again.
    other = visitor(app)
    response = other.post(path, {"action": "ouvrir", "code": code})
    assert response.status_code == 422 and "a expiré ou a déjà servi" in response.get_data(as_text=True).replace("&#39;", "'")


def test_a_code_expires_after_15_minutes_and_after_5_wrong_tries(app: Flask, login_as: Any, smtp_server: Any, clock: Clock) -> None:  # noqa: F811
    inbox, _, _, path = sent_link(app, login_as, smtp_server)
    guest = visitor(app)
    guest.post(path, {"action": "code"})
    code = code_from(inbox)
    clock.advance(minutes=15)
    assert guest.post(path, {"action": "ouvrir", "code": code}).status_code == 422
    guest.post(path, {"action": "code"})
    code = code_from(inbox)
    clock.advance(minutes=14, seconds=59)
    assert guest.post(path, {"action": "ouvrir", "code": code}).status_code == 200
    # Five wrong tries spend a code, the right one included.
    guest = visitor(app)
    guest.post(path, {"action": "code"})
    code = code_from(inbox)
    for _ in range(5):
        assert guest.post(path, {"action": "ouvrir", "code": "000000" if code != "000000" else "111111"}).status_code == 422
    assert guest.post(path, {"action": "ouvrir", "code": code}).status_code == 422


def test_a_forged_expired_or_revoked_link_shows_a_french_page_and_nothing_else(app: Flask, login_as: Any, smtp_server: Any, clock: Clock) -> None:  # noqa: F811
    _, writer, doc_id, path = sent_link(app, login_as, smtp_server)
    guest = visitor(app)
    forged = guest.get(path[:-1] + ("0" if path[-1] != "0" else "1"))
    assert forged.status_code == 404 and "Ce lien n'est pas valide" in forged.get_data(as_text=True).replace("&#39;", "'")
    assert "FS-2019-000001" not in forged.get_data(as_text=True)
    assert guest.get(re.sub(r"/partage/\d+/", "/partage/999999/", path)).status_code == 404
    # Any text typed in place of the secret or the code: refused, never an error.
    assert guest.get(re.sub(r"/[0-9a-f]+$", "/%C3%A9t%C3%A9", path)).status_code == 404
    assert guest.post(path, {"action": "code"}).status_code == 200
    response = guest.post(path, {"action": "ouvrir", "code": "été"})
    assert response.status_code == 422 and "Code incorrect" in response.get_data(as_text=True)
    # Valid for 30 days (PARTAGE_JOURS), to the second.
    clock.advance(days=30, seconds=-1)
    assert guest.get(path).status_code == 200
    clock.advance(seconds=1)
    expired = guest.get(path)
    assert expired.status_code == 410 and "Ce lien a expiré le 13 novembre 2019" in expired.get_data(as_text=True)
    assert guest.get(f"{path}/document").status_code == 410
    clock.advance(days=-1)
    with app.app_context():
        partage_id = db.session().scalars(select(Partage.id)).one()
    assert writer.post(f"/documents/{doc_id}/destinataires/{partage_id}/revoquer").status_code == 302
    revoked = guest.get(path)
    assert revoked.status_code == 410 and "révoqué par l'expéditeur" in revoked.get_data(as_text=True).replace("&#39;", "'")
    assert traces(app)[-1] == "revocation"


def test_only_the_writers_send_a_submitted_document_to_a_valid_address(app: Flask, login_as: Any, smtp_server: Any) -> None:  # noqa: F811
    _, port = smtp_server()
    relay(app, port)
    writer, _ = login_as("redacteur")
    coordinator, _ = login_as("coordinateur", org="Plateforme Lens-Hénin")
    other, _ = login_as("redacteur", org="Association B")
    doc_id = submitted(writer, "fiche_saisine")
    payload = {"adresse": ADDRESS, "qualite": "rast"}
    assert coordinator.post(f"/documents/{doc_id}/destinataires", payload).status_code == 403
    assert other.post(f"/documents/{doc_id}/destinataires", payload).status_code == 404
    for bad, reason in (({"adresse": "pas-une-adresse", "qualite": "rast"}, "Adresse électronique invalide : « pas-une-adresse »."),
                        ({"adresse": ADDRESS, "qualite": "voisin"}, "Choisissez la qualité du destinataire")):
        response = writer.post(f"/documents/{doc_id}/destinataires", bad)
        assert response.status_code == 422 and reason in response.get_data(as_text=True)
    draft = re.search(r"/documents/(\d+)/", writer.post("/documents/nouveau/fiche_saisine", {"action": "save"}).headers["Location"])
    assert draft and writer.post(f"/documents/{draft.group(1)}/destinataires", payload).status_code == 403
    with app.app_context():
        assert db.session().scalars(select(Partage)).all() == []


def test_without_a_relay_no_link_can_be_sent(app: Flask, login_as: Any) -> None:
    writer, _ = login_as("redacteur")
    doc_id = submitted(writer, "fiche_saisine")
    response = writer.post(f"/documents/{doc_id}/destinataires", {"adresse": ADDRESS, "qualite": "bailleur"})
    assert response.status_code == 422 and "Aucun relais de courriel" in response.get_data(as_text=True)


def test_the_link_s_validity_is_configurable(app: Flask, login_as: Any, smtp_server: Any, clock: Clock) -> None:  # noqa: F811
    app.config["PARTAGE_JOURS"] = 7
    sent_link(app, login_as, smtp_server)
    with app.app_context():
        partage = db.session().scalars(select(Partage)).one()
        assert partage.expires_at - partage.created_at == dt.timedelta(days=7)


def test_five_codes_an_hour_per_link_the_sixth_is_refused_in_french(app: Flask, login_as: Any, smtp_server: Any, clock: Clock) -> None:  # noqa: F811
    inbox, _, _, path = sent_link(app, login_as, smtp_server)
    guest = visitor(app)
    start = clock.now
    for minute in range(5):
        clock.now = start + dt.timedelta(minutes=minute * 10)
        assert guest.post(path, {"action": "code"}).status_code == 200
    before = len(inbox.messages)
    clock.now = start + dt.timedelta(minutes=59)
    response = guest.post(path, {"action": "code"})
    # The first code of the five was asked at the start: a new one one hour later (Paris time shown).
    assert response.status_code == 422 and "Vous avez demandé 5 codes en moins d'une heure" in response.get_data(as_text=True).replace("&#39;", "'")
    assert len(inbox.messages) == before and traces(app).count("code_envoye") == 5
    # The last code asked still opens; an hour after the first, a sixth is sent.
    clock.now = start + dt.timedelta(hours=1, seconds=1)
    assert guest.post(path, {"action": "code"}).status_code == 200
    assert traces(app).count("code_envoye") == 6


def test_recipients_chosen_on_the_submission_form_get_their_link_once_it_is_committed(app: Flask, login_as: Any, smtp_server: Any) -> None:  # noqa: F811
    inbox, port = smtp_server()
    relay(app, port)
    writer, _ = login_as("redacteur")
    form = {**example_form("fiche_saisine"), "action": "submit", "partage_adresse-0": f" {ADDRESS} ", "partage_qualite-0": "travailleur_social",
            "partage_adresse-1": "rast@cd62.fr", "partage_qualite-1": "rast", "partage_adresse-2": "", "partage_qualite-2": "bailleur"}
    response = writer.post("/documents/nouveau/fiche_saisine", form)
    assert response.status_code == 302
    doc_id = doc_id_from(response)
    with app.app_context():
        doc = db.session().get_one(Document, doc_id)
        assert doc.statut == "soumis"
        assert sorted((p.adresse, p.qualite) for p in db.session().scalars(select(Partage))) == sorted([(ADDRESS, "travailleur_social"), ("rast@cd62.fr", "rast")])
    links = [m for m in inbox.messages if m["Subject"].endswith(f"FS-2019-000001 : document transmis par {ORG}")]
    assert sorted(m["To"] for m in links) == sorted([ADDRESS, "rast@cd62.fr"])
    # The link works as one sent after the submission; the sender's page lists both.
    guest = visitor(app)
    assert "Recevoir un code" in guest.get(link_in(links[0].get_content())).get_data(as_text=True)
    page = writer.get(f"/documents/{doc_id}/destinataires").get_data(as_text=True)
    assert ADDRESS in page and "rast@cd62.fr" in page


def test_an_invalid_recipient_on_the_submission_form_submits_nothing_and_sends_nothing(app: Flask, login_as: Any, smtp_server: Any) -> None:  # noqa: F811
    inbox, port = smtp_server()
    writer, _ = login_as("redacteur")
    draft = doc_id_from(writer.post("/documents/nouveau/fiche_saisine", {**example_form("fiche_saisine"), "action": "save"}))
    cases = (
        ({"partage_adresse-0": "pas-une-adresse", "partage_qualite-0": "rast"}, "Adresse électronique invalide"),
        ({"partage_adresse-0": ADDRESS, "partage_qualite-0": ""}, "Choisissez la qualité du destinataire"),
        ({"partage_adresse-0": ADDRESS, "partage_qualite-0": "rast"}, "Aucun relais de courriel"),  # no relay configured yet
    )
    for fields, reason in cases:
        response = writer.post(f"/documents/{draft}/soumettre", fields)
        assert response.status_code == 302
        shown = writer.get(response.headers["Location"]).get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')
        assert "Document non soumis" in shown and reason in shown, reason
        with app.app_context():
            assert db.session().get_one(Document, draft).statut == "brouillon"
            assert db.session().scalars(select(Partage)).all() == []
    assert inbox.messages == []
    # With the relay, the same submission goes through: one link, sent after the commit.
    relay(app, port)
    assert writer.post(f"/documents/{draft}/soumettre", {"partage_adresse-0": ADDRESS, "partage_qualite-0": "rast"}).status_code == 302
    assert [m["To"] for m in inbox.messages if m["Subject"].endswith(f"document transmis par {ORG}")] == [ADDRESS]
