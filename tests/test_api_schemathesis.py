"""Schemathesis (a client no one here wrote) against the API's own description, on a live server.

It reads ``/api/v1/openapi.json`` from a real HTTP server in a thread and generates requests for
every operation, with a fixed seed and a bounded number of examples (PITFALLS §12): none may
answer a server error, a status the description does not list, a content type it does not
list, or a body that breaks its described schema. The operations on a document run twice: on
generated identifiers (mostly unknown: 404) and on real ones (a draft, a submitted fiche with
its files), so the answers of real documents are checked too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, response_schema_conformance, status_code_conformance
from werkzeug.serving import make_server

from schemas import registry
from tests.api_client import ApiClient, token_for
from tests.conftest import Account, Clock
from tests.test_api import example
from tests.test_api_permissions import MESURE_A
from tests.test_candidatures import appel_id_of
from tests.workers import run_jobs
from webforms import db
from webforms.mesures.services import create_mesure
from webforms.models import ROLES, User

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
# The writer's token, which creates and changes, is tried most; every other role (and a
# read-only writer) a few examples each, so the whole run stays within a few minutes.
EXAMPLES = 12
FEW = 3
# (role, scope, examples): every role of the application, generated from ROLES.
CALLERS = [("redacteur", "ecriture", EXAMPLES), ("redacteur", "lecture", FEW), *[(role, "ecriture", FEW) for role in ROLES if role != "redacteur"]]


@pytest.fixture
def live(app: Flask) -> Iterator[str]:
    """Serve ``app`` over real HTTP on a free port, in a thread, for the length of the test."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="api-server")
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


def _world(app: Flask, clock: Clock, make_user: Callable[..., Account]) -> tuple[str, dict[str, int]]:
    """A writer's token on every kind, a draft and a submitted fiche saisine with its files, a measure with a meeting, the shipped call."""
    account = make_user("redacteur")
    value = token_for(app, clock, account, kinds=sorted(registry()))
    api = ApiClient(app, value)
    submitted = api.post("/api/v1/kinds/fiche_saisine/documents", json=example()).get_json()["id"]
    assert api.post(f"/api/v1/documents/{submitted}/submission").status_code == 200
    run_jobs(app)
    rendition = api.get(f"/api/v1/documents/{submitted}").get_json()["renditions"][0]["id"]
    draft = api.post("/api/v1/kinds/fiche_saisine/documents", json={}).get_json()["id"]
    with app.app_context():
        user = db.session().get(User, account.id)
        mesure = create_mesure(db.session(), app.extensions["webforms.services"], user=user, payload=MESURE_A | {"date_premiere_rencontre": "2019-09-10", "nature_premiere_rencontre": "visite_domicile"}).id
    return value, {"submitted": submitted, "rendition": rendition, "draft": draft, "mesure": mesure, "appel": appel_id_of(app)}


@pytest.mark.parametrize(("role", "scope", "examples"), CALLERS, ids=[f"{r}-{s}" for r, s, _ in CALLERS])
def test_schemathesis_finds_no_server_error_and_no_answer_outside_the_description(
    app: Flask, clock: Clock, make_user: Callable[..., Account], live: str, role: str, scope: str, examples: int
) -> None:
    app.config["API_RATE_LIMIT"] = 1_000_000  # the limit has its own test; here every request is served
    value, ids = _world(app, clock, make_user)
    if (role, scope) != ("redacteur", "ecriture"):
        # Another role's token, on every kind, against the writer's world: its reads, refusals and decisions.
        value = token_for(app, clock, make_user(role, "Département" if role != "redacteur" else "Association Habitat Solidaire"), kinds=sorted(registry()), scope=scope)
    schema = schemathesis.openapi.from_url(f"{live}/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {value}"}
    operations = [result.ok() for result in schema.get_all_operations()]
    described = ApiClient(app, value).get("/api/v1/openapi.json").get_json()["paths"]
    assert len(operations) == sum(m in ("get", "post", "put") for methods in described.values() for m in methods)  # every one is tried
    for operation in operations:
        params = {p.name for p in operation.path_parameters}
        fixed = {
            "doc_id": ids["draft"] if operation.method in ("put", "post") else ids["submitted"], "rendition_id": ids["rendition"],
            "mesure_id": ids["mesure"], "appel_id": ids["appel"],  # piece_id: generated (the fiche has none)
        }
        for path_parameters in (None, {k: v for k, v in fixed.items() if k in params} or None):
            _run(operation, path_parameters, live, headers, examples)


def _run(operation: Any, path_parameters: dict[str, int] | None, live: str, headers: dict[str, str], examples: int) -> None:
    strategy = operation.as_strategy(path_parameters=path_parameters) if path_parameters else operation.as_strategy()

    @settings(max_examples=examples, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
    @given(case=strategy)
    def check(case: Any) -> None:
        case.call_and_validate(base_url=live, headers=headers, checks=CHECKS)

    check()
