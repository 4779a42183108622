"""The coordinator's decision on a referral through the API (issue 17): the same service and rules as the page."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import select

from schemas import get_kind
from tests.api_client import ApiClient, token_for
from tests.conftest import Account, Clock
from tests.test_api import example
from tests.workers import run_jobs
from webforms import db
from webforms.models import Document, Event

DECISION = get_kind("fiche_saisine").review.example  # type: ignore[union-attr]


def _submitted(app: Flask, clock: Clock, make_user: Callable[..., Account]) -> tuple[int, ApiClient]:
    writer = ApiClient(app, token_for(app, clock, make_user("redacteur", "Association A", territoires=("aml-lens-henin",))))  # the operator the example decision names (account 1): it works on Lens-Hénin (AML §1)
    doc_id = writer.post("/api/v1/kinds/fiche_saisine/documents", json=example()).get_json()["id"]
    assert writer.post(f"/api/v1/documents/{doc_id}/submission").status_code == 200
    run_jobs(app)
    return doc_id, writer


def _state(app: Flask, doc_id: int) -> tuple[Any, ...]:
    with app.app_context():
        doc = db.session().get_one(Document, doc_id)
        events = db.session().scalars(select(Event.action).where(Event.document_id == doc_id).order_by(Event.id)).all()
        return doc.statut, doc.review, doc.versions, tuple(events)


def test_the_coordinator_decides_through_the_api_and_a_new_version_carries_it(app: Flask, clock: Clock, make_user: Callable[..., Account]) -> None:
    doc_id, _ = _submitted(app, clock, make_user)
    coordinator = make_user("coordinateur", "Plateforme")
    api = ApiClient(app, token_for(app, clock, coordinator, kinds=("fiche_saisine",)))
    decided = api.post(f"/api/v1/kinds/fiche_saisine/documents/{doc_id}/decision", json=DECISION)
    assert decided.status_code == 200, decided.get_json()
    body = decided.get_json()
    assert body["statut"] == "decide" and body["versions"] == 2
    statut, review, versions, events = _state(app, doc_id)
    assert (statut, versions, events[-1]) == ("decide", 2, "review") and review
    run_jobs(app)
    assert {r["version"] for r in api.get(f"/api/v1/documents/{doc_id}").get_json()["renditions"]} == {1, 2}


def test_a_decision_refused_changes_nothing(app: Flask, clock: Clock, make_user: Callable[..., Account]) -> None:
    doc_id, writer = _submitted(app, clock, make_user)
    coordinator = make_user("coordinateur", "Plateforme")
    url = f"/api/v1/kinds/fiche_saisine/documents/{doc_id}/decision"
    before = _state(app, doc_id)
    cases = {
        "read-only token": (ApiClient(app, token_for(app, clock, coordinator, kinds=("fiche_saisine",), scope="lecture")), DECISION, 403),
        "the writer (not the reviewer)": (writer, DECISION, 403),
        "a token without the kind": (ApiClient(app, token_for(app, clock, coordinator, kinds=("fiche_incident",))), DECISION, 404),
        "an instructeur (reads it, does not decide)": (ApiClient(app, token_for(app, clock, make_user("instructeur"), kinds=("fiche_saisine",))), DECISION, 403),
        "an empty decision": (ApiClient(app, token_for(app, clock, coordinator, kinds=("fiche_saisine",))), {}, 422),
    }
    for name, (api, body, status) in cases.items():
        response = api.post(url, json=body)
        assert response.status_code == status, (name, response.get_json())
        assert response.get_json()["errors"]["_schema"], name
        assert _state(app, doc_id) == before, name


def test_a_draft_gets_no_decision(app: Flask, clock: Clock, make_user: Callable[..., Account]) -> None:
    writer = ApiClient(app, token_for(app, clock, make_user("redacteur", "Association A", territoires=("aml-lens-henin",))))  # the operator the example decision names (account 1): it works on Lens-Hénin (AML §1)
    draft = writer.post("/api/v1/kinds/fiche_saisine/documents", json=example()).get_json()["id"]
    coordinator = ApiClient(app, token_for(app, clock, make_user("coordinateur", "Plateforme"), kinds=("fiche_saisine",)))
    # The coordinator does not receive a draft: it is not found (its existence is not revealed).
    assert coordinator.post(f"/api/v1/kinds/fiche_saisine/documents/{draft}/decision", json=DECISION).status_code == 404
    assert _state(app, draft)[0] == "brouillon"
