"""Messages per document (issue 14): the thread, its correction requests, its unread marks, who may write."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
from typing import Any

from flask import Flask
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, NameObject
from sqlalchemy import func, select

from schemas import get_kind
from tests.conftest import Clock, WebClient
from tests.test_candidatures import BEFORE_DEADLINE, open_dossier, pdf_bytes, submit_complete
from tests.test_notifications import HOUSEHOLD_NAMES, messages
from tests.test_web import submitted
from webforms import db
from webforms.models import CorrectionRequest, Document, Message, Notification, Piece, PieceJointe
from webforms.notifications import threads

TEXT = "Bonjour, la date de naissance de Mme Durand semble erronée."


def stored(app: Flask) -> list[tuple[str, str, bool]]:
    """The messages stored: (nature, text, answered)."""
    with app.app_context():
        return [(m.nature, m.texte, m.answered_at is not None) for m in db.session().scalars(select(Message).order_by(Message.id))]


def notifications(app: Flask) -> int:
    with app.app_context():
        return int(db.session().scalar(select(func.count()).select_from(Notification)) or 0)


def thread_page(web: WebClient, doc_id: int) -> str:
    response = web.get(f"/documents/{doc_id}/messages")
    assert response.status_code == 200
    return str(response.get_data(as_text=True))


def saisine(login_as: Any) -> tuple[int, dict[str, tuple[WebClient, Any]]]:
    """A submitted fiche saisine and the people around it."""
    people = {
        "writer": login_as("redacteur", territoires=("aml-lens-henin",)),  # the operator the example decision names (account 1): it works on Lens-Hénin (AML §1)
        "colleague": login_as("redacteur"),
        "coordinator": login_as("coordinateur", org="Plateforme Lens-Hénin"),
        "instructeur": login_as("instructeur", org="Département du Pas-de-Calais"),
        "archiviste": login_as("archiviste", org="Archives départementales"),
        "other": login_as("redacteur", org="Association B"),
    }
    return submitted(people["writer"][0], "fiche_saisine"), people


def test_a_message_tells_the_other_side_without_its_text_and_is_new_once(app: Flask, login_as: Any) -> None:
    doc_id, people = saisine(login_as)
    writer, coordinator = people["writer"][0], people["coordinator"][0]
    before = notifications(app)
    response = writer.post(f"/documents/{doc_id}/messages", {"texte": TEXT})
    assert response.status_code == 302 and re.search(rf"/documents/{doc_id}/messages#message-\d+$", response.headers["Location"])
    assert stored(app) == [("message", TEXT, False)]
    # The recipients are told (and the author's colleague), the archiviste is not; no text, no name.
    for who in ("coordinator", "instructeur", "colleague"):
        assert messages(app, people[who][1].id)[-1].endswith("FS-2019-000001 : nouveau message"), who
    assert messages(app, people["archiviste"][1].id) == [] and messages(app, people["writer"][1].id) == []
    assert notifications(app) == before + 3
    for line in messages(app, people["coordinator"][1].id):
        assert not any(name in line for name in HOUSEHOLD_NAMES)
    # The document's page counts it, unread, then read.
    assert "Messages (1, dont 1 non lu)" in coordinator.get(f"/documents/{doc_id}").get_data(as_text=True)
    page = thread_page(coordinator, doc_id)
    assert TEXT in page.replace("&#39;", "'") and "Nouveau</strong>" in page
    assert "Nouveau</strong>" not in thread_page(coordinator, doc_id)
    assert "Messages (1)" in coordinator.get(f"/documents/{doc_id}").get_data(as_text=True)
    # One's own message is never new to oneself.
    assert "Nouveau</strong>" not in thread_page(writer, doc_id)


def test_user_text_is_shown_as_typed_never_evaluated(app: Flask, login_as: Any) -> None:
    doc_id, people = saisine(login_as)
    writer = people["writer"][0]
    typed = "{{ 7*7 }} {% if true %}oui{% endif %} <script>alert(1)</script>\nLigne 2"
    assert writer.post(f"/documents/{doc_id}/messages", {"texte": typed}).status_code == 302
    page = thread_page(people["coordinator"][0], doc_id)
    assert "{{ 7*7 }}" in page and "{% if true %}oui{% endif %}" in page and "49" not in page
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert stored(app)[0][1] == typed


def test_who_may_read_and_write_a_thread(app: Flask, login_as: Any) -> None:
    doc_id, people = saisine(login_as)
    archiviste, other = people["archiviste"][0], people["other"][0]
    # The archiviste reads it (it belongs to the document's record) but does not write in it.
    assert 'name="texte"' not in thread_page(archiviste, doc_id)
    assert archiviste.post(f"/documents/{doc_id}/messages", {"texte": "Classé"}).status_code == 403
    # Another organisation: the document is not revealed.
    assert other.get(f"/documents/{doc_id}/messages").status_code == 404
    assert other.post(f"/documents/{doc_id}/messages", {"texte": "Bonjour"}).status_code == 404
    # A draft: its recipients do not see it yet.
    draft_writer = people["writer"][0]
    draft = re.search(r"/documents/(\d+)/", draft_writer.post("/documents/nouveau/fiche_saisine", {"action": "save"}).headers["Location"])
    assert draft
    assert people["coordinator"][0].get(f"/documents/{draft.group(1)}/messages").status_code == 404
    assert stored(app) == []


def test_an_empty_or_too_long_message_is_refused_in_french_and_nothing_changes(app: Flask, login_as: Any) -> None:
    doc_id, people = saisine(login_as)
    writer = people["writer"][0]
    before = notifications(app)
    for texte, reason in (("   \n ", "Écrivez votre message avant de l'envoyer."), ("x" * 2001, "Un message ne peut dépasser 2\u202f000 caractères.")):
        response = writer.post(f"/documents/{doc_id}/messages", {"texte": texte})
        assert response.status_code == 422 and reason in response.get_data(as_text=True).replace("&#39;", "'")
    assert stored(app) == [] and notifications(app) == before
    assert writer.post(f"/documents/{doc_id}/messages", {"texte": "x" * 2000}).status_code == 302
    assert len(stored(app)) == 1
    # A nature not offered: refused.
    response = people["coordinator"][0].post(f"/documents/{doc_id}/messages", {"texte": "Bonjour", "nature": "annonce"})
    assert response.status_code == 422 and len(stored(app)) == 1


def test_a_refused_message_leaves_the_thread_unread_as_it_was(app: Flask, login_as: Any) -> None:
    """A refused post changes nothing, the reader's unread marks included; reading the thread marks it read."""
    doc_id, people = saisine(login_as)
    writer, coordinator = people["writer"][0], people["coordinator"][0]
    assert writer.post(f"/documents/{doc_id}/messages", {"texte": TEXT}).status_code == 302
    refused = coordinator.post(f"/documents/{doc_id}/messages", {"texte": "   "})
    assert refused.status_code == 422 and "Nouveau</strong>" in refused.get_data(as_text=True)
    assert "Messages (1, dont 1 non lu)" in coordinator.get(f"/documents/{doc_id}").get_data(as_text=True)
    # The other side: the thread read (a GET) is marked read.
    assert "Nouveau</strong>" in thread_page(coordinator, doc_id)
    assert "Messages (1)" in coordinator.get(f"/documents/{doc_id}").get_data(as_text=True)


def test_a_correction_request_stays_open_until_the_correction_is_deposited(app: Flask, login_as: Any) -> None:
    """Issue 14: a correction request "is answered by the correction": the new deposit, not a message."""
    doc_id, people = saisine(login_as)
    writer, coordinator = people["writer"][0], people["coordinator"][0]
    # Only a recipient asks for a correction; the writers answer it by depositing again.
    assert writer.post(f"/documents/{doc_id}/messages", {"texte": "Corrigez", "nature": "demande_correction"}).status_code == 422
    assert stored(app) == []
    assert coordinator.post(f"/documents/{doc_id}/messages", {"texte": "Précisez les ressources.", "nature": "demande_correction"}).status_code == 302
    assert messages(app, people["writer"][1].id)[-1].endswith("FS-2019-000001 : demande de correction")
    assert "(en attente de réponse)" in thread_page(writer, doc_id)
    # Neither another recipient's message nor the writers' answers it.
    assert people["instructeur"][0].post(f"/documents/{doc_id}/messages", {"texte": "Je m'associe."}).status_code == 302
    assert stored(app)[0][2] is False
    assert writer.post(f"/documents/{doc_id}/messages", {"texte": "Je corrige les ressources."}).status_code == 302
    assert stored(app)[0] == ("demande_correction", "Précisez les ressources.", False)
    assert "(en attente de réponse)" in thread_page(coordinator, doc_id)
    # The correction deposited answers it.
    assert writer.post(f"/documents/{doc_id}/soumettre").status_code == 302
    assert stored(app)[0] == ("demande_correction", "Précisez les ressources.", True)
    assert "(répondue)" in thread_page(coordinator, doc_id) and "(en attente de réponse)" not in thread_page(coordinator, doc_id)


def test_a_dossier_s_correction_request_is_the_instruction_s_before_the_deadline_only(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, writer = login_as("redacteur")
    instructeur, _ = login_as("instructeur", org="Département du Pas-de-Calais")
    doc_id = open_dossier(app, web)
    submit_complete(app, web, doc_id)
    assert instructeur.post(f"/documents/{doc_id}/messages", {"texte": "Joignez le budget signé.", "nature": "demande_correction"}).status_code == 302
    with app.app_context():
        (request,) = db.session().scalars(select(CorrectionRequest)).all()
        assert request.texte == "Joignez le budget signé." and request.piece_id is None
    assert stored(app) == [("demande_correction", "Joignez le budget signé.", False)]
    assert messages(app, writer.id)[-1].endswith(": demande de correction")
    # The association reopens and deposits again: the correction answers it.
    web.post(f"/documents/{doc_id}/rouvrir")
    assert web.post(f"/documents/{doc_id}/soumettre").status_code == 302
    assert stored(app)[0][2] is True
    # After the deadline, the instruction refuses (AML §6b): nothing stored, nobody told.
    clock.now = dt.datetime(2019, 9, 6, 14, 1, tzinfo=dt.UTC)
    before = notifications(app)
    response = instructeur.post(f"/documents/{doc_id}/messages", {"texte": "Trop tard ?", "nature": "demande_correction"})
    assert response.status_code == 422 and "la régularisation est possible jusqu" in response.get_data(as_text=True).replace("&#39;", "'")
    assert len(stored(app)) == 1 and notifications(app) == before
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(CorrectionRequest)) == 1


def test_a_dossier_s_change_of_state_tells_the_association(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, writer = login_as("redacteur")
    instructeur, _ = login_as("instructeur", org="Département du Pas-de-Calais")
    doc_id = open_dossier(app, web)
    submit_complete(app, web, doc_id)
    assert instructeur.post(f"/documents/{doc_id}/instruction", {"action": "instruire"}).status_code == 302
    assert messages(app, writer.id)[-1].endswith("CA-2019-000001 : dossier en instruction")


def test_posting_without_the_csrf_token_is_refused(app: Flask, login_as: Any) -> None:
    doc_id, people = saisine(login_as)
    response = people["writer"][0].post(f"/documents/{doc_id}/messages", {"texte": TEXT}, csrf=False)
    assert response.status_code == 400 and stored(app) == []


def test_a_correction_asked_from_the_instruction_page_is_a_thread_message_that_tells_the_author(app: Flask, login_as: Any, clock: Clock) -> None:
    """Both entry points (the thread, the instruction page), with or without a piece: one message, one notice."""
    clock.now = BEFORE_DEADLINE
    web, writer = login_as("redacteur")
    instructeur, _ = login_as("instructeur", org="Département du Pas-de-Calais")
    doc_id = open_dossier(app, web)
    submit_complete(app, web, doc_id)
    with app.app_context():
        piece_id = db.session().scalar(select(Piece.id).where(Piece.document_id == doc_id, Piece.code == "deliberation"))
    before = len(messages(app, writer.id))
    assert instructeur.post(f"/documents/{doc_id}/corrections", {"piece": "", "texte": "Précisez les horaires."}).status_code == 302
    assert stored(app) == [("demande_correction", "Précisez les horaires.", False)]
    told = messages(app, writer.id)[before:]
    assert len(told) == 1 and told[0].endswith(": demande de correction")
    assert instructeur.post(f"/documents/{doc_id}/corrections", {"piece": str(piece_id), "texte": "Non signée."}).status_code == 302
    # The piece is named by its label (never its file's name).
    assert stored(app)[1] == ("demande_correction", "Délibération du conseil d'administration autorisant la participation au projet : Non signée.", False)
    assert messages(app, writer.id)[-1].endswith(": demande de correction")
    assert "Non signée." in thread_page(web, doc_id)
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(CorrectionRequest)) == 2
    # A refused request (empty text) enters nothing and tells nobody.
    count = notifications(app)
    instructeur.post(f"/documents/{doc_id}/corrections", {"piece": "", "texte": "  "})
    assert len(stored(app)) == 2 and notifications(app) == count


def test_a_correction_request_reopens_a_submitted_document_until_its_new_deposit(app: Flask, login_as: Any) -> None:
    """Issue 14: "a demande de correction is a message that reopens what it concerns and is answered by the correction"."""
    doc_id, people = saisine(login_as)
    writer, coordinator = people["writer"][0], people["coordinator"][0]
    assert coordinator.post(f"/documents/{doc_id}/messages", {"texte": "Précisez les ressources.", "nature": "demande_correction"}).status_code == 302
    with app.app_context():
        doc = db.session().get(Document, doc_id)
        assert (doc.statut, doc.versions) == ("brouillon", 1)
    # The recipients still read the deposited version; the writers correct and deposit again.
    assert coordinator.get(f"/documents/{doc_id}").status_code == 200
    assert writer.post(f"/documents/{doc_id}/soumettre").status_code == 302
    with app.app_context():
        doc = db.session().get(Document, doc_id)
        assert (doc.statut, doc.versions, doc.reference) == ("soumis", 2, "FS-2019-000001")
    assert stored(app) == [("demande_correction", "Précisez les ressources.", True)]
    assert messages(app, people["coordinator"][1].id)[-1].endswith("FS-2019-000001 : déposé de nouveau après régularisation")


def test_a_decided_document_is_not_reopened_by_a_correction_request(app: Flask, login_as: Any) -> None:
    doc_id, people = saisine(login_as)
    coordinator = people["coordinator"][0]
    review = {k: v for k, v in get_kind("fiche_saisine").review.example.items() if v}  # type: ignore[union-attr]
    assert coordinator.post(f"/documents/{doc_id}/decision", review).status_code == 302
    before = notifications(app)
    response = coordinator.post(f"/documents/{doc_id}/messages", {"texte": "Précisez.", "nature": "demande_correction"})
    assert response.status_code == 422 and "il ne peut plus être rouvert pour correction" in response.get_data(as_text=True)
    assert stored(app) == [] and notifications(app) == before
    with app.app_context():
        assert db.session().get(Document, doc_id).statut == "decide"


def attach(web: WebClient, doc_id: int, content: bytes, name: str, texte: str = "Voici la pièce.", **extra: str) -> Any:
    return web.post(f"/documents/{doc_id}/messages", {"texte": texte, "fichier": (io.BytesIO(content), name), **extra}, content_type="multipart/form-data")


def attachments(app: Flask) -> list[tuple[str, int]]:
    with app.app_context():
        return [(a.original_name, a.size) for a in db.session().scalars(select(PieceJointe).order_by(PieceJointe.id))]


def test_a_message_s_attachment_is_checked_stored_and_served_to_the_thread_s_readers_only(app: Flask, login_as: Any) -> None:
    doc_id, people = saisine(login_as)
    writer, coordinator, other = people["writer"][0], people["coordinator"][0], people["other"][0]
    content = pdf_bytes(2)
    assert attach(writer, doc_id, content, "avis d'imposition.pdf").status_code == 302
    assert attachments(app) == [("avis d'imposition.pdf", len(content))]
    page = thread_page(coordinator, doc_id)
    link = re.search(rf'href="(/documents/{doc_id}/messages/pieces-jointes/\d+)"', page)
    assert link and "avis d&#39;imposition.pdf" in page
    served = coordinator.get(link.group(1))
    assert served.status_code == 200 and served.data == content and served.mimetype == "application/pdf"
    assert "attachment" in served.headers["Content-Disposition"]
    # Whoever does not read the document: not found; nor through another document's thread.
    assert other.get(link.group(1)).status_code == 404
    other_doc = submitted(writer, "fiche_saisine")
    assert writer.get(link.group(1).replace(f"/documents/{doc_id}/", f"/documents/{other_doc}/")).status_code == 404


def test_an_attachment_that_is_not_what_it_claims_or_too_big_is_refused_in_french_and_nothing_is_recorded(app: Flask, login_as: Any) -> None:
    doc_id, people = saisine(login_as)
    writer = people["writer"][0]
    before = notifications(app)
    for content, name, reason in (
        (b"MZ\x90\x00 not a pdf at all", "budget.pdf", "Ce fichier n'est pas"),
        (pdf_bytes(1), "budget.exe", "Format non accepté"),
        (b"%PDF-1.4\n" + b"0" * (threads.ATTACHMENT_MB << 20), "gros.pdf", f"Le fichier dépasse la taille maximale de {threads.ATTACHMENT_MB} Mo"),
    ):
        response = attach(writer, doc_id, content, name)
        text = html.unescape(response.get_data(as_text=True))
        assert response.status_code == 422 and reason in text, (name, text[:3000])
    assert stored(app) == [] and attachments(app) == [] and notifications(app) == before
    # Just under the cap, a real PDF: accepted.
    assert attach(writer, doc_id, pdf_bytes(1), "budget.pdf").status_code == 302 and len(attachments(app)) == 1


def test_a_refused_attachment_is_said_beside_its_field_and_the_typed_message_stays(app: Flask, login_as: Any) -> None:
    """Issue 16, point 7: not a message at the top of the page; point 1: nothing typed lost."""
    doc_id, people = saisine(login_as)
    writer = people["writer"][0]
    typed = "Bonjour, voici le budget révisé, avec les trois devis demandés."
    response = attach(writer, doc_id, b"MZ\x90\x00 not a pdf at all", "budget.pdf", texte=typed)
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422
    field = re.search(r'<p class="error-message" id="fichier-erreur"><span class="visually-hidden">Erreur : </span>([^<]*)</p>\s*<input type="file" id="fichier"[^>]*>', text)
    assert field and "Ce fichier n'est pas" in field.group(1)
    assert 'aria-invalid="true"' in field.group(0) and 'aria-describedby="fichier-aide fichier-erreur"' in field.group(0)
    assert f">{typed}</textarea>" in text
    assert text.count("Ce fichier n'est pas") == 1  # not repeated at the top
    # The other side: a refusal that is not the file's (no text) stays at the top; the field is not marked.
    empty = html.unescape(attach(writer, doc_id, pdf_bytes(1), "budget.pdf", texte="").get_data(as_text=True))
    assert "Écrivez votre message" in empty and 'id="fichier-erreur"' not in empty and 'aria-invalid="true"' not in empty


def pdf_of_size(size: int) -> bytes:
    """A real one-page PDF of exactly ``size`` bytes: its page's content stream is padded with spaces."""

    def build(padding: int) -> bytes:
        writer = PdfWriter()
        page = writer.add_blank_page(width=595, height=842)
        content = DecodedStreamObject()
        content.set_data(b" " * padding)
        page[NameObject("/Contents")] = writer._add_object(content)
        out = io.BytesIO()
        writer.write(out)
        return out.getvalue()

    padding = 0
    while len(data := build(padding)) != size:  # the stream's /Length grows by a digit at times: a second pass
        padding += size - len(data)
    return data


def test_an_attachment_of_exactly_the_limit_is_stored_and_one_byte_more_is_refused(app: Flask, login_as: Any) -> None:
    doc_id, people = saisine(login_as)
    writer, coordinator = people["writer"][0], people["coordinator"][0]
    limit = threads.ATTACHMENT_MB << 20
    before = notifications(app)
    # One byte over: refused in French, and nothing recorded, stored or told.
    response = attach(writer, doc_id, pdf_of_size(limit + 1), "releve.pdf")
    text = html.unescape(response.get_data(as_text=True))
    assert response.status_code == 422 and f"Le fichier dépasse la taille maximale de {threads.ATTACHMENT_MB} Mo" in text
    assert stored(app) == [] and attachments(app) == [] and notifications(app) == before
    # Exactly the limit (10 Mo, AML §6b): accepted, stored whole, served back byte for byte.
    content = pdf_of_size(limit)
    assert attach(writer, doc_id, content, "releve.pdf").status_code == 302
    assert attachments(app) == [("releve.pdf", limit)] and len(stored(app)) == 1
    link = re.search(rf'href="(/documents/{doc_id}/messages/pieces-jointes/\d+)"', thread_page(coordinator, doc_id))
    assert link and coordinator.get(link.group(1)).data == content


def test_a_correction_request_may_carry_an_attachment(app: Flask, login_as: Any) -> None:
    doc_id, people = saisine(login_as)
    assert attach(people["coordinator"][0], doc_id, pdf_bytes(1), "modele.pdf", texte="Utilisez ce modèle.", nature="demande_correction").status_code == 302
    assert stored(app) == [("demande_correction", "Utilisez ce modèle.", False)] and [n for n, _ in attachments(app)] == ["modele.pdf"]
    assert "modele.pdf" in thread_page(people["writer"][0], doc_id)
