"""A full disk, under the store or under the database: a French message that says so, and what was typed kept (issue 15)."""

from __future__ import annotations

import errno
import io
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from flask import Flask
from sqlalchemy import make_url, select

from tests.conftest import pdf_titled
from tests.test_web import doc_id_from, example_form, submitted
from webforms import db
from webforms.documents import storage
from webforms.errors import disk_full
from webforms.models import ArchiveRecord, Document

TYPED = "Situation décrite longuement : " + "mot " * 10_000


def _superuser(app: Flask) -> psycopg.Connection:
    url = make_url(app.config["DATABASE_URL"])
    return psycopg.connect(host=url.query["host"], dbname=url.database, user="postgres", autocommit=True)


@pytest.fixture
def fill_the_database(app: Flask) -> Iterator[Callable[[str], None]]:
    """Return a switch: from then on, writes to the documents' table fail as PostgreSQL fails on a full disk (SQLSTATE 53100).

    A trigger raises the very error PostgreSQL raises; it is dropped at the end (the work
    database's schema is shared by the session's tests).
    """
    installed = []

    def fill(events: str) -> None:
        with _superuser(app) as conn:
            conn.execute(
                "CREATE FUNCTION disque_plein() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "RAISE EXCEPTION 'could not extend file \"base/16384/16385\": No space left on device' USING ERRCODE = 'disk_full'; END $$"
            )
            conn.execute(f"CREATE TRIGGER disque_plein BEFORE {events} ON document FOR EACH ROW EXECUTE FUNCTION disque_plein()")
        installed.append(events)

    yield fill
    if installed:
        with _superuser(app) as conn:
            conn.execute("DROP TRIGGER disque_plein ON document")
            conn.execute("DROP FUNCTION disque_plein()")


def fill_the_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the stores' writes fail as the kernel fails them on a full disk."""

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage.os, "fsync", no_space)


def test_disk_full_is_told_apart_from_other_errors() -> None:
    assert disk_full(OSError(errno.ENOSPC, "x")) and disk_full(OSError(errno.EDQUOT, "x"))
    assert disk_full(psycopg.errors.DiskFull("x"))
    assert not disk_full(OSError(errno.EACCES, "x")) and not disk_full(ValueError("x")) and not disk_full(psycopg.errors.UniqueViolation("x"))


def test_a_new_draft_on_a_full_database_comes_back_filled_with_a_french_message(app: Flask, login_as: Any, fill_the_database: Callable[[str], None]) -> None:
    web, _ = login_as("redacteur")
    fill_the_database("INSERT OR UPDATE")
    form = example_form("fiche_saisine") | {"situation-description": TYPED}
    response = web.post("/documents/nouveau/fiche_saisine", form)
    page = response.get_data(as_text=True)
    assert response.status_code == 507 and "manque d&#39;espace disque" in page and "Une erreur inattendue" not in page
    assert TYPED.strip() in page  # the textarea comes back with every word typed
    with app.app_context():
        assert db.session().scalar(select(Document)) is None


def test_a_draft_saved_on_a_full_database_comes_back_filled(app: Flask, login_as: Any, fill_the_database: Callable[[str], None]) -> None:
    web, _ = login_as("redacteur")
    doc_id = doc_id_from(web.post("/documents/nouveau/fiche_saisine", example_form("fiche_saisine")))
    fill_the_database("UPDATE")
    response = web.post(f"/documents/{doc_id}/modifier", example_form("fiche_saisine") | {"situation-description": TYPED})
    page = response.get_data(as_text=True)
    assert response.status_code == 507 and "manque d&#39;espace disque" in page and TYPED.strip() in page


def test_an_archive_deposit_on_a_full_store_says_so_and_archives_nothing(app: Flask, login_as: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    writer, _ = login_as("redacteur")
    doc_id = submitted(writer, "fiche_saisine")
    fill_the_store(monkeypatch)
    archivist, _ = login_as("archiviste", "Département du Pas-de-Calais")
    archivist.get(f"/documents/{doc_id}/archiver")
    form = {"fichier": (io.BytesIO(pdf_titled("copie")), "scan.pdf"), "signature": "scan"}
    response = archivist.post(f"/documents/{doc_id}/archiver", form, content_type="multipart/form-data")
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and "manque d&#39;espace disque" in page and "Une erreur inattendue" not in page
    with app.app_context():
        assert db.session().scalar(select(ArchiveRecord)) is None


def test_any_other_form_on_a_full_disk_keeps_what_was_typed_to_send_again(app: Flask, login_as: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # A path with no form of its own to show again: the error page keeps the fields, and sends them again.
    web, _ = login_as("admin")
    web.get("/admin/organisations")

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("webforms.admin.views.attempt", full)
    response = web.post("/admin/organisations", {"name": "Association au nom tapé"})
    page = response.get_data(as_text=True)
    assert response.status_code == 507 and "manque d&#39;espace disque" in page
    assert 'value="Association au nom tapé"' in page and 'action="/admin/organisations"' in page
