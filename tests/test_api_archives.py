"""The archive through the API (issue 17): records read as their pages show them (the view logged), the last verification's state."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from flask import Flask

from tests import test_archive_web
from tests.api_client import ApiClient, token_for
from tests.conftest import Clock, pdf_titled
from tests.test_archive_web import actions, deposit, record_id_from
from tests.test_web import submitted
from webforms import db
from webforms.archive.verify import record_verification, verify
from webforms.web import services_of

# The archive pages' cast (a writer, archivists, other roles), shared with their tests.
people = pytest.fixture(test_archive_web.people.__wrapped__, name="people")  # type: ignore[attr-defined]


def api_for(app: Flask, clock: Clock, account: Any, *kinds: str) -> ApiClient:
    return ApiClient(app, token_for(app, clock, account, kinds=kinds or ("fiche_saisine",), scope="lecture"))


def test_an_archivist_reads_a_record_and_its_view_is_logged(app: Flask, clock: Clock, people: dict[str, Any]) -> None:
    doc_id = submitted(people["writer"], "fiche_saisine")
    scan = pdf_titled("Copie signée (API)")
    record_id = record_id_from(deposit(people["archivist"], doc_id, scan))
    api = api_for(app, clock, people["archivist_account"])
    (listed,) = api.get("/api/v1/archives").get_json()["items"]
    before = actions(app)
    record = api.get(f"/api/v1/archives/{record_id}").get_json()
    assert record == listed and actions(app) == [*before, ("view", record_id)]
    assert (record["document_id"], record["signature_kind"], record["signed_sha512"]) == (doc_id, "scan", hashlib.sha512(scan).hexdigest())
    assert record["superseded_by_id"] is None and record["destroyed_at"] is None and record["retention_years"] == 5


def test_records_follow_the_pages_scope_and_the_token_s_kinds(app: Flask, clock: Clock, people: dict[str, Any], make_user: Any) -> None:
    doc_id = submitted(people["writer"], "fiche_saisine")
    record_id = record_id_from(deposit(people["archivist"], doc_id, pdf_titled("Copie signée")))
    refused = {
        "another organisation": (api_for(app, clock, make_user("redacteur", "Association Autre")), 404),
        "a token without the kind": (api_for(app, clock, people["archivist_account"], "fiche_incident"), 404),
        "an administrator (does not consult the archive)": (api_for(app, clock, make_user("admin")), 403),
    }
    before = actions(app)  # the tokens' creations logged
    for name, (api, status) in refused.items():
        assert api.get(f"/api/v1/archives/{record_id}").status_code == status, name
        listed = api.get("/api/v1/archives")
        assert (listed.status_code, listed.get_json().get("items")) == ((200, []) if status == 404 else (403, None)), name
    assert actions(app) == before  # a refused read logs nothing
    # The writer of the document reads its record, as on the pages.
    assert api_for(app, clock, people["writer_account"]).get(f"/api/v1/archives/{record_id}").status_code == 200


def test_the_archivist_reads_the_last_verification_and_no_one_else(app: Flask, clock: Clock, people: dict[str, Any], make_user: Any) -> None:
    archivist = api_for(app, clock, people["archivist_account"])
    assert archivist.get("/api/v1/archives/verification").get_json() == {
        "verified": False, "at": None, "ok": None, "problems": None, "records": None, "files_hashed": None,
    }
    with app.app_context():
        archive = services_of(app).archive
        record_verification(db.session(), archive, verify(db.session(), archive), since=None)
    state = archivist.get("/api/v1/archives/verification").get_json()
    assert state["verified"] is True and state["ok"] is True and state["problems"] == 0
    for role in ("redacteur", "instructeur", "coordinateur", "admin"):
        assert api_for(app, clock, make_user(role)).get("/api/v1/archives/verification").status_code == 403, role
