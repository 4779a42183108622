"""Heavy work runs after the request (issue 11, point 4): archive exports and Word pieces.

Each request is seen with ``WebClient(work=False)`` (nothing done yet), then a worker runs
(``run_jobs``) and the same pages show the result, as a user coming back would see them.
"""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from tests import test_archive_web
from tests.conftest import Clock, WebClient, pdf_titled
from tests.test_archive_web import actions, deposit, export_page_of, record_id_from
from tests.test_candidatures import BEFORE_DEADLINE, example, fill_steps, open_dossier, pdf_bytes, upload
from tests.test_dossier import word_bytes
from tests.test_web import submitted
from tests.workers import run_jobs
from webforms import db
from webforms.archive.exports import EXPORT_DAYS, exports_dir
from webforms.candidatures import conversions
from webforms.models import Document, Piece, Travail
from webforms.rendering.office import ConversionFailed

# The archive pages' cast: a writer, two archivists, an instructeur, another organisation.
people = pytest.fixture(test_archive_web.people.__wrapped__, name="people")  # type: ignore[attr-defined]


def counts(app: Flask) -> tuple[int, int]:
    """How many works and procrastinate jobs the database holds."""
    with app.app_context():
        s = db.session()
        return s.scalar(select(func.count()).select_from(Travail)) or 0, s.scalar(text("SELECT count(*) FROM procrastinate_jobs WHERE queue_name <> 'maintenance'")) or 0


def pending_client(app: Flask, account: Any) -> WebClient:
    web = WebClient(app.test_client(), work=False)
    web.login(account)
    return web


def test_an_export_is_asked_at_once_and_built_by_a_worker_with_the_records_chosen_then(app: Flask, people: dict[str, Any]) -> None:
    archivist = people["archivist"]
    first = record_id_from(deposit(archivist, submitted(people["writer"], "fiche_saisine"), pdf_titled("Première")))
    asker = pending_client(app, people["archivist_account"])
    page = export_page_of(asker.post("/archives/export", {"format": "bagit", "tout": "1", "type": "fiche_saisine"}))
    # Returned without building anything: the page shows its progress, nothing to download yet.
    waiting = asker.get(page).get_data(as_text=True)
    assert "Export en préparation" in waiting and "data-progress-url" in waiting and f"{page}/fichier" not in waiting
    assert asker.get(f"{page}/fichier").status_code == 302
    assert [a for a in actions(app) if a[0] == "export"] == []
    # A record deposited after the request does not slip into the export asked before it.
    second = record_id_from(deposit(archivist, submitted(people["writer"], "fiche_saisine"), pdf_titled("Seconde")))
    run_jobs(app)
    done = asker.get(page).get_data(as_text=True)
    assert "Export prêt" in done and "1 enregistrement," in done
    with zipfile.ZipFile(io.BytesIO(asker.get(f"{page}/fichier").data)) as bag:
        folders = {n.split("/")[2] for n in bag.namelist() if "/data/" in n}
    assert folders == {f"archive-{first}"} and f"archive-{second}" not in folders
    assert [a for a in actions(app) if a[0] == "export"] == [("export", first)]
    # The file is private to the service's account.
    with app.app_context():
        (built,) = exports_dir(app).glob("*.zip")
    assert built.stat().st_mode & 0o777 == 0o600 and exports_dir(app).stat().st_mode & 0o777 == 0o700


def test_only_the_archivist_who_asked_follows_and_downloads_an_export(app: Flask, people: dict[str, Any]) -> None:
    record = record_id_from(deposit(people["archivist"], submitted(people["writer"], "fiche_saisine"), pdf_titled("Copie")))
    page = export_page_of(people["archivist"].post("/archives/export", {"format": "seda", "record": str(record)}))
    assert people["archivist"].get(page).status_code == 200
    assert people["archivist"].get(f"{page}/fichier").mimetype == "application/zip"
    travail_id = page.rsplit("/", 1)[1]
    # Another archivist (the same right), someone without the right, another organisation: 404.
    for other in ("second", "instructeur", "writer", "other"):
        for url in (page, f"{page}/fichier", f"/travaux/{travail_id}", f"/travaux/{travail_id}/etat"):
            assert people[other].get(url).status_code == 404, (other, url)


def test_a_refused_export_request_defers_nothing_and_an_accepted_one_one_job(app: Flask, people: dict[str, Any]) -> None:
    record = record_id_from(deposit(people["archivist"], submitted(people["writer"], "fiche_saisine"), pdf_titled("Copie")))
    asker = pending_client(app, people["archivist_account"])
    before = counts(app)
    # No format, nothing ticked, a record of no one: refused before anything is asked.
    asker.post("/archives/export", {"format": "seda"})
    asker.post("/archives/export", {"format": "zip", "record": str(record)})
    assert asker.post("/archives/export", {"format": "seda", "record": "999999"}).status_code == 404
    assert counts(app) == before
    asker.post("/archives/export", {"format": "seda", "record": str(record)})
    assert counts(app) == (before[0] + 1, before[1] + 1)


def test_an_export_is_kept_for_its_days_then_removed_by_a_later_export(app: Flask, people: dict[str, Any], clock: Clock) -> None:
    archivist = people["archivist"]
    record = record_id_from(deposit(archivist, submitted(people["writer"], "fiche_saisine"), pdf_titled("Copie")))
    page = export_page_of(archivist.post("/archives/export", {"format": "seda", "record": str(record)}))
    with app.app_context():
        (built,) = exports_dir(app).glob("*.zip")
    start = clock.now
    clock.now = start + dt.timedelta(days=EXPORT_DAYS) - dt.timedelta(minutes=1)
    assert archivist.get(f"{page}/fichier").mimetype == "application/zip"
    archivist.post("/archives/export", {"format": "bagit", "record": str(record)})
    assert built.exists()  # still within its days: another export leaves it
    clock.now = start + dt.timedelta(days=EXPORT_DAYS, minutes=1)
    assert "a expiré" in archivist.get(page).get_data(as_text=True)
    assert archivist.get(f"{page}/fichier").status_code == 302
    archivist.post("/archives/export", {"format": "bagit", "record": str(record)})
    assert not built.exists()


def _piece(app: Flask, doc_id: int, code: str) -> Piece:
    with app.app_context():
        piece = db.session().scalars(select(Piece).where(Piece.document_id == doc_id, Piece.code == code, Piece.replaced_at.is_(None))).one()
        db.session().expunge(piece)
        return piece


def _dossier_ready_but_the_deliberation(app: Flask, web: WebClient) -> int:
    doc_id = open_dossier(app, web)
    fill_steps(web, doc_id, example())
    upload(web, doc_id, "courrier", pdf_bytes(1), "courrier.pdf")
    upload(web, doc_id, "fiches_poste", pdf_bytes(1), "fiche.pdf")
    return doc_id


def test_a_word_piece_is_stored_at_once_and_converted_by_a_worker(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, account = login_as("redacteur")
    doc_id = _dossier_ready_but_the_deliberation(app, web)
    waiting = pending_client(app, account)
    assert upload(waiting, doc_id, "deliberation", word_bytes("Délibération."), "deliberation.docx").status_code == 302
    piece = _piece(app, doc_id, "deliberation")
    assert (piece.conversion, piece.pdf_sha256) == ("en_cours", None)
    page = waiting.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    assert "Conversion d&#39;une pièce Word en PDF" in page and "conversion en PDF en cours" in page and "data-progress-url" in page
    assert waiting.post(f"/documents/{doc_id}/soumettre").status_code == 302
    assert "Pièce en cours de conversion en PDF : Délibération" in waiting.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    with app.app_context():
        assert db.session().get(Document, doc_id).statut == "brouillon"
    run_jobs(app)
    piece = _piece(app, doc_id, "deliberation")
    assert piece.conversion == "faite" and piece.pdf_sha256 is not None
    page = web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    assert "data-progress-url" not in page and "Le dossier est complet" in page


def test_a_word_piece_libreoffice_cannot_read_blocks_the_deposit_until_replaced(app: Flask, login_as: Any, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = _dossier_ready_but_the_deliberation(app, web)

    def unreadable(source: Path, workdir: Path) -> Path:
        raise ConversionFailed(conversions.MSG_FAILED)

    monkeypatch.setattr(conversions, "docx_to_pdf", unreadable)
    upload(web, doc_id, "deliberation", word_bytes("Illisible."), "deliberation.docx")
    assert _piece(app, doc_id, "deliberation").conversion == "echec"
    page = web.get(f"/documents/{doc_id}/liste").get_data(as_text=True).replace("&#39;", "'").replace("&amp;", "&")
    assert "refusée" in page and "n'a pas pu être converti en PDF" in page and "Le dossier est complet" not in page
    assert web.post(f"/documents/{doc_id}/soumettre").status_code == 302
    assert "Pièce refusée : Délibération" in web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    with app.app_context():
        assert db.session().get(Document, doc_id).statut == "brouillon"
    # Replaced by a PDF, the piece is there and the dossier can be deposited.
    upload(web, doc_id, "deliberation", pdf_bytes(2), "deliberation.pdf")
    assert _piece(app, doc_id, "deliberation").conversion is None
    assert "Le dossier est complet" in web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    assert web.post(f"/documents/{doc_id}/soumettre").status_code == 302
    with app.app_context():
        assert db.session().get(Document, doc_id).statut == "soumis"
