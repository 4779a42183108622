"""The notification centre (issue 14): who is told of which move, by the pages' own policy."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Flask
from flask_login import login_required
from sqlalchemy import select, text

import webforms.documents.services as lifecycle
from schemas import get_kind
from tests.conftest import Clock, WebClient
from tests.test_candidatures import BEFORE_DEADLINE, open_dossier, pdf_bytes, submit_complete, upload
from tests.test_web import submitted
from webforms import db
from webforms.documents.services import log_event
from webforms.models import Document, Notification, NotificationPreference, Organisation, Piece, User

HOUSEHOLD_NAMES = ("Durand", "Julie", "Morel")
DELIBERATION = next(r.title for r in get_kind("candidature_aml").attachments if r.name == "deliberation")


def count_in_header(web: WebClient) -> int:
    """The unread count the header shows (0 when it shows none)."""
    page = web.get("/notifications").get_data(as_text=True)
    found = re.search(r'class="badge">(\d+)<', page)
    return int(found.group(1)) if found else 0


def chosen(page: str) -> str:
    """The value of the option checked on the preferences page."""
    return re.findall(r'<input checked[^>]*value="([^"]+)"', page)[0]


def messages(app: Flask, user_id: int) -> list[str]:
    with app.app_context():
        return list(db.session().scalars(select(Notification.message).where(Notification.user_id == user_id).order_by(Notification.id)))


def test_a_referral_tells_its_coordinators_and_instructeurs_and_nobody_else(app: Flask, login_as: Any) -> None:
    author, author_account = login_as("redacteur")
    colleague, colleague_account = login_as("redacteur")
    coordinator, coordinator_account = login_as("coordinateur", org="Plateforme Lens-Hénin")
    instructeur, instructeur_account = login_as("instructeur", org="Département du Pas-de-Calais")
    _, archiviste = login_as("archiviste", org="Archives départementales")
    other, other_account = login_as("redacteur", org="Association B")
    assert count_in_header(coordinator) == 0
    doc_id = submitted(author, "fiche_saisine")
    assert count_in_header(coordinator) == 1 and count_in_header(instructeur) == 1
    page = coordinator.get("/notifications").get_data(as_text=True)
    assert "FS-2019-000001 : nouvelle saisine transmise (décision du coordinateur attendue)" in page
    assert f'href="/documents/{doc_id}"' in page and "Non lue" in page
    # Its author is not told of their own move, nor the archiviste of each submission, nor
    # anyone of another organisation; the author's colleague neither (a submission is for its readers).
    for account in (author_account, colleague_account, archiviste, other_account):
        assert messages(app, account.id) == []
    assert count_in_header(other) == 0 and count_in_header(colleague) == 0
    for line in messages(app, coordinator_account.id) + messages(app, instructeur_account.id):
        assert not any(name in line for name in HOUSEHOLD_NAMES)


def test_a_decision_tells_the_writers_and_is_marked_read_by_its_reader_only(app: Flask, login_as: Any) -> None:
    author, _ = login_as("redacteur", territoires=("aml-lens-henin",))  # the operator the example decision names (account 1): it works on Lens-Hénin (AML §1)
    colleague, colleague_account = login_as("redacteur")
    coordinator, _ = login_as("coordinateur", org="Plateforme Lens-Hénin")
    doc_id = submitted(author, "fiche_saisine")
    review = {k: v for k, v in get_kind("fiche_saisine").review.example.items() if v}  # type: ignore[union-attr]
    assert coordinator.post(f"/documents/{doc_id}/decision", review).status_code == 302
    assert count_in_header(author) == 1 and count_in_header(colleague) == 1
    assert messages(app, colleague_account.id) == ["Fiche saisine – plateforme Logement d'abord FS-2019-000001 : décision enregistrée"]
    with app.app_context():
        mine = db.session().scalars(select(Notification.id).where(Notification.user_id == colleague_account.id)).one()
    # Someone else's notification: not found, and still unread.
    assert author.post(f"/notifications/{mine}/lue").status_code == 404
    assert count_in_header(colleague) == 1
    response = colleague.post(f"/notifications/{mine}/lue", {"ouvrir": "1"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/documents/{doc_id}")
    assert count_in_header(colleague) == 0
    assert "Lue" in colleague.get("/notifications").get_data(as_text=True)
    assert count_in_header(author) == 1
    author.post("/notifications/tout-lu")
    assert count_in_header(author) == 0


def test_a_notification_is_not_shown_once_its_document_is_out_of_reach(app: Flask, login_as: Any) -> None:
    author, _ = login_as("redacteur")
    coordinator, account = login_as("coordinateur", org="Plateforme Lens-Hénin")
    submitted(author, "fiche_saisine")
    assert count_in_header(coordinator) == 1
    with app.app_context():
        note_id = db.session().scalars(select(Notification.id).where(Notification.user_id == account.id)).one()
        # The account becomes a writer of another organisation: the fiche is no longer theirs to read.
        user = db.session().get_one(User, account.id)
        user.role = "redacteur"
        user.organisation_id = db.session().scalars(select(Organisation.id).where(Organisation.name == "Plateforme Lens-Hénin")).one()
        db.session().commit()
    page = coordinator.get("/notifications").get_data(as_text=True)
    assert "FS-2019-000001" not in page and "Aucune notification" in page
    assert count_in_header(coordinator) == 0
    assert coordinator.post(f"/notifications/{note_id}/lue").status_code == 404


def test_an_incident_sheet_tells_the_instructeurs_asll_8(app: Flask, login_as: Any) -> None:
    author, _ = login_as("redacteur")
    _, instructeur = login_as("instructeur", org="Département du Pas-de-Calais")
    _, coordinator = login_as("coordinateur", org="Plateforme Lens-Hénin")
    submitted(author, "fiche_incident")
    assert messages(app, instructeur.id) == [
        "Fiche d'incident de mise en œuvre FI-2019-000001 : nouvelle fiche d'incident à examiner par l'instance décisionnelle (ASLL §8)"
    ]
    assert messages(app, coordinator.id) == []  # not a recipient of the kind


def test_a_bilan_submitted_tells_its_kind_s_recipients(app: Flask, make_user: Any, clock: Clock) -> None:
    writer = make_user("redacteur")
    coordinator = make_user("coordinateur", "Plateforme Lens-Hénin")
    instructeur = make_user("instructeur", "Département du Pas-de-Calais")
    archiviste = make_user("archiviste", "Archives départementales")
    with app.app_context():
        session = db.session()
        author = session.get_one(User, writer.id)
        doc = Document(kind="bilan_aml", organisation_id=writer.organisation_id, author_id=writer.id, statut="soumis",
                       reference="BA-2019-000001", submitted_at=clock.now, data={})
        session.add(doc)
        log_event(session, doc, author, "submit", clock.now, reference=doc.reference, version=1)
        session.commit()
    for account in (coordinator, instructeur):  # bilan_aml's recipient roles (AML §4)
        assert messages(app, account.id) == [f"{get_kind('bilan_aml').title} BA-2019-000001 : bilan transmis"]
    assert messages(app, archiviste.id) == [] and messages(app, writer.id) == []


def test_a_dossier_s_moves_tell_the_instructeur_and_the_association(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, writer = login_as("redacteur")
    instructeur, instructeur_account = login_as("instructeur", org="Département du Pas-de-Calais")
    doc_id = open_dossier(app, web)
    submit_complete(app, web, doc_id)
    with app.app_context():
        piece_id = db.session().scalars(select(Piece.id).where(Piece.document_id == doc_id, Piece.code == "deliberation")).one()
    instructeur.post(f"/documents/{doc_id}/pieces/{piece_id}/non-conforme", {"motif": "Délibération non signée"})
    web.post(f"/documents/{doc_id}/rouvrir")
    assert upload(web, doc_id, "deliberation", pdf_bytes(2), "deliberation-v2.pdf").status_code == 302
    assert web.post(f"/documents/{doc_id}/soumettre").status_code == 302
    told = messages(app, instructeur_account.id)
    assert [m.rpartition(" : ")[2] for m in told] == [
        "dossier de candidature déposé", "rouvert par l'association pour régularisation", "déposé de nouveau après régularisation",
    ]
    assert [m.partition("CA-2019-000001 : ")[2] for m in messages(app, writer.id)] == [f"pièce non conforme : {DELIBERATION}"]


def test_preferences_are_chosen_among_the_options_offered(app: Flask, login_as: Any) -> None:
    web, account = login_as("instructeur", org="Département du Pas-de-Calais")
    page = web.get("/notifications/preferences").get_data(as_text=True)
    assert "Un résumé par jour" in page and chosen(page) == "immediat"
    assert web.post("/notifications/preferences", {"frequence": "toutes-les-heures"}).status_code == 422
    with app.app_context():
        assert db.session().get(NotificationPreference, account.id) is None
    assert web.post("/notifications/preferences", {"frequence": "quotidien"}).status_code == 302
    with app.app_context():
        assert db.session().get_one(NotificationPreference, account.id).frequence == "quotidien"
    assert chosen(web.get("/notifications/preferences").get_data(as_text=True)) == "quotidien"


def test_the_clock_dates_each_notification(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = dt.datetime(2019, 10, 15, 9, 0, tzinfo=dt.UTC)
    author, _ = login_as("redacteur")
    _, coordinator = login_as("coordinateur", org="Plateforme Lens-Hénin")
    submitted(author, "fiche_saisine")
    with app.app_context():
        assert db.session().scalars(select(Notification.created_at).where(Notification.user_id == coordinator.id)).one() == clock.now


def test_the_centre_lists_the_newest_first_by_the_clock(app: Flask, login_as: Any, clock: Clock) -> None:
    """Issue 14: "a page listing what concerns the user (newest first)": by when it happened, not by when it was stored."""
    author, _ = login_as("redacteur")
    coordinator, _ = login_as("coordinateur", org="Plateforme Lens-Hénin")
    clock.now = dt.datetime(2019, 10, 15, 11, 0, tzinfo=dt.UTC)
    submitted(author, "fiche_saisine")  # FS-2019-000001, at 11:00
    clock.now = dt.datetime(2019, 10, 15, 9, 0, tzinfo=dt.UTC)
    submitted(author, "fiche_saisine")  # FS-2019-000002, stored after it but dated 9:00
    clock.now = dt.datetime(2019, 10, 16, 9, 0, tzinfo=dt.UTC)
    page = coordinator.get("/notifications").get_data(as_text=True)
    assert page.index("FS-2019-000001 :") < page.index("FS-2019-000002 :")
    clock.now = dt.datetime(2019, 10, 15, 12, 0, tzinfo=dt.UTC)
    submitted(author, "fiche_saisine")  # FS-2019-000003, at 12:00: the newest
    page = coordinator.get("/notifications").get_data(as_text=True)
    assert page.index("FS-2019-000003 :") < page.index("FS-2019-000001 :") < page.index("FS-2019-000002 :")


def test_an_error_page_after_a_failed_transaction_still_renders_its_header(app: Flask, login_as: Any) -> None:
    """The header's count reads the database: after a failed statement it must not turn the
    error page into a bare failure (the count is left out, the French page is shown)."""

    @login_required  # as every page: the user is loaded before the failure
    def broken() -> str:
        db.session().execute(text("SELECT 1 / 0"))  # the transaction is now failed
        return "jamais"

    app.add_url_rule("/essai-transaction-en-echec", view_func=broken)
    app.config["PROPAGATE_EXCEPTIONS"] = False
    web, _ = login_as("redacteur")
    response = web.get("/essai-transaction-en-echec")
    assert response.status_code == 500 and "Erreur du service" in response.get_data(as_text=True)


def test_the_app_gives_the_lifecycle_the_notifications_listener(app: Flask) -> None:
    """The lifecycle names no notification: the factory registers the listener, by name."""
    # The household's thread listens too (issue 13: an Installation bilan opens a Maintien), and
    # the territory's recipients are sent the document after the deposit's notifications; a
    # draft's previews are asked for after its creation and saves (documents.previews).
    assert list(lifecycle._LISTENERS) == ["apercus", "notifications", "parcours", "transmissions"]
