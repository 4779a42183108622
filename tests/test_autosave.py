"""A draft saves itself while it is typed (issue 16, point 1): the page's automatic save, answered in JSON."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask

from tests.conftest import Clock
from tests.test_candidatures import BEFORE_DEADLINE, example, fill_steps, open_dossier
from tests.test_web import doc_id_from, example_form, flatten, submitted
from webforms import db
from webforms.models import Document


def draft(web: Any) -> int:
    response = web.post("/documents/nouveau/fiche_saisine", example_form("fiche_saisine") | {"action": "save"})
    return doc_id_from(response)


def test_an_automatic_save_keeps_what_was_typed_and_says_when(app: Flask, login_as: Any, clock: Clock) -> None:
    """Saved as « Enregistrer » saves, answered with the Paris time, no message left for the next page."""
    web, _ = login_as("redacteur")
    doc_id = draft(web)
    web.get(f"/documents/{doc_id}/modifier")  # the first save's message is read
    clock.now = dt.datetime(2019, 10, 14, 8, 42, tzinfo=dt.UTC)  # 10 h 42 in Paris (summer time)
    form = example_form("fiche_saisine") | {"prescripteur-nom": "Tapé à l'instant", "action": "autosave"}
    response = web.post(f"/documents/{doc_id}/modifier", form)
    assert response.status_code == 200 and response.get_json() == {"enregistre": True, "enregistre_a": "10 h 42"}
    with app.app_context():
        assert db.session().get(Document, doc_id).data["prescripteur"]["nom"] == "Tapé à l'instant"
    page = web.get(f"/documents/{doc_id}/modifier").get_data(as_text=True)
    assert "Brouillon enregistré." not in page  # no flash piled up by the automatic saves
    assert 'data-autosave' in page and 'id="autosave-status"' in page


def test_a_submitted_document_refuses_the_automatic_save_in_json(app: Flask, login_as: Any) -> None:
    """Submitted in another tab: the automatic save is refused with why, and changes nothing."""
    web, _ = login_as("redacteur")
    doc_id = submitted(web, "fiche_saisine")
    with app.app_context():
        before = db.session().get(Document, doc_id).data
    response = web.post(f"/documents/{doc_id}/modifier", example_form("fiche_saisine") | {"prescripteur-nom": "Trop tard", "action": "autosave"})
    assert response.status_code == 409 and response.get_json() == {"enregistre": False, "message": "Ce document a été soumis : il est verrouillé."}
    with app.app_context():
        assert db.session().get(Document, doc_id).data == before


def test_after_the_deadline_the_automatic_save_says_so_and_saves_nothing_aml_6d(app: Flask, login_as: Any, clock: Clock) -> None:
    """The call's deadline passed while the page was open (AML §6d): refused in JSON, nothing saved."""
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    fill_steps(web, doc_id, example())
    data = example()
    data["porteur"]["raison_sociale"] = "Tapé juste avant"
    form = {**flatten({"porteur": data["porteur"]}), "action": "autosave"}
    clock.now = dt.datetime(2019, 9, 6, 13, 59, tzinfo=dt.UTC)  # 15:59 in Paris: still open
    assert web.post(f"/documents/{doc_id}/modifier?etape=1", form).get_json()["enregistre"] is True
    data["porteur"]["raison_sociale"] = "Tapé après la date limite"
    clock.now = dt.datetime(2019, 9, 6, 14, 0, tzinfo=dt.UTC)  # 16:00 in Paris: closed
    response = web.post(f"/documents/{doc_id}/modifier?etape=1", {**flatten({"porteur": data["porteur"]}), "action": "autosave"})
    assert response.status_code == 409 and "La date limite de dépôt est passée" in response.get_json()["message"]
    with app.app_context():
        assert db.session().get(Document, doc_id).data["porteur"]["raison_sociale"] == "Tapé juste avant"


def test_an_automatic_save_after_the_session_ended_says_what_was_kept_and_leaves_the_message_for_the_sign_in_page(
    app: Flask, login_as: Any, session_clock: Clock
) -> None:
    """Issue 16, point 1: the page's fetch must not follow a redirect to /connexion (which read the message)."""
    web, _ = login_as("redacteur")
    doc_id = draft(web)
    page = f"/documents/{doc_id}/modifier"
    web.get(page)
    form = example_form("fiche_saisine") | {"prescripteur-nom": "Tapé en fin de session", "action": "autosave"}
    # The other side first: within the session, saved.
    assert web.post(page, form, headers={"Accept": "application/json", "Referer": f"http://localhost{page}"}).status_code == 200
    session_clock.advance(minutes=45)
    response = web.post(page, form | {"prescripteur-nom": "Tapé après la fin"}, headers={"Accept": "application/json", "Referer": f"http://localhost{page}"})
    assert response.status_code == 401
    body = response.get_json()
    assert body["enregistre"] is False and body["message"].startswith("Votre session avait pris fin") and body["connexion"] == f"/connexion?next={page}"
    with app.app_context():
        assert db.session().get(Document, doc_id).data["prescripteur"]["nom"] == "Tapé en fin de session"
    # The real sign-in page still says it (the message was not read by the automatic save).
    sign_in = web.get(body["connexion"]).get_data(as_text=True)
    assert "Votre session avait pris fin : rien n&#39;a été enregistré" in sign_in
    # A button's save after the session ended is still sent to the sign-in page:
    # tests/test_sessions.py::test_a_form_posted_after_the_session_ended_is_kept_and_offered_back_after_sign_in.
