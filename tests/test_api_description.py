"""The description says what the API reads and writes (issue 17, audit points 3 and 4).

A document's ``data`` is typed by its kind (``oneOf`` told apart by ``kind``), from the kind's
own declaration; a draft's body is the kind's draft form, and the server reads exactly it:
Schemathesis (a client no one here wrote) sends bodies the description accepts, which the
server must accept, and bodies it refuses, which the server must refuse.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance, response_schema_conformance

from schemas import get_kind, registry
from schemas.base.draft import draft_of
from tests.api_client import ApiClient, token_for
from tests.conftest import Account, Clock
from tests.test_api import example
from tests.test_api_schemathesis import live  # noqa: F401 (a fixture: the live server)
from tests.workers import run_jobs
from webforms import db
from webforms.api.spec import openapi_document, schema_name
from webforms.documents.services import create_draft
from webforms.models import User

REF = "#/components/schemas/"
EXAMPLES = 8


def test_a_document_is_one_of_the_kinds_and_its_data_typed_by_the_kind_s_declaration(app: Flask) -> None:
    schemas = openapi_document(app)["components"]["schemas"]
    document = schemas["payloads.DocumentOut"]
    mapping = document["discriminator"]["mapping"]
    assert document["discriminator"]["propertyName"] == "kind" and set(mapping) == set(registry())
    assert [r["$ref"] for r in document["oneOf"]] == list(mapping.values())
    for name, ref in mapping.items():
        variant = schemas[ref.removeprefix(REF)]
        assert variant["properties"]["kind"]["const"] == name
        data = schemas[variant["properties"]["data"]["$ref"].removeprefix(REF)]
        # Every field of the kind's declaration, typed (none left as a bare object), none required.
        assert set(data["properties"]) == set(get_kind(name).schema._declared_fields)
        assert all("type" in p or "anyOf" in p or "$ref" in p for p in data["properties"].values()) and "required" not in data


def test_a_draft_body_is_the_kind_s_draft_form_with_nothing_required_at_any_depth(app: Flask) -> None:
    schemas = openapi_document(app)["components"]["schemas"]
    body = openapi_document(app)["paths"]["/api/v1/kinds/fiche_saisine/documents"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["$ref"] == REF + schema_name(draft_of(get_kind("fiche_saisine").schema))
    drafts = [n for n in schemas if n.endswith("Brouillon")]
    assert "fiche_saisine.PrescripteurBrouillon" in drafts and "fiche_saisine.EnfantBrouillon" in drafts
    assert [n for n in drafts if schemas[n].get("required")] == []
    # The complete form, its validation's truth, still requires what submission needs.
    assert "nom" in schemas["fiche_saisine.Prescripteur"]["required"]


def test_a_draft_typed_on_the_web_is_read_through_the_api_as_its_description_says(
    app: Flask, clock: Clock, make_user: Callable[..., Account], live: str  # noqa: F811
) -> None:
    account = make_user("redacteur")
    typed = {"date_saisine": "12/03/2019", "menage": {"enfants": [{"prenom": "Léa", "date_naissance": "hier"}]}, "prescripteur": {"nom": "  Mme Roy "}}
    with app.app_context():
        user = db.session().get(User, account.id)
        doc_id = create_draft(db.session(), app.extensions["webforms.services"], kind_name="fiche_saisine", user=user, payload=typed).id
    api = ApiClient(app, token_for(app, clock, account))
    response = api.get(f"/api/v1/documents/{doc_id}")
    data = response.get_json()["data"]
    assert data["date_saisine"] == "2019-03-12" and data["prescripteur"]["nom"] == "Mme Roy"
    assert "date_naissance" not in data["menage"]["enfants"][0]  # does not read yet: named by the validation
    errors = api.post(f"/api/v1/documents/{doc_id}/validation").get_json()["errors"]
    assert errors["menage"]["enfants"]["0"]["date_naissance"] == ["Date invalide : utilisez le format JJ/MM/AAAA."]
    schema = schemathesis.openapi.from_url(f"{live}/api/v1/openapi.json")
    assert schema["/api/v1/documents/{doc_id}"]["GET"].is_valid_response(response)
    # A complete submitted one too, as its writer and as a recipient read it.
    submitted = api.post("/api/v1/kinds/fiche_saisine/documents", json=example()).get_json()["id"]
    assert api.post(f"/api/v1/documents/{submitted}/submission").status_code == 200
    run_jobs(app)
    for reader in (api, ApiClient(app, token_for(app, clock, make_user("coordinateur"), kinds=("fiche_saisine",)))):
        read = reader.get(f"/api/v1/documents/{submitted}")
        assert read.status_code == 200 and schema["/api/v1/documents/{doc_id}"]["GET"].is_valid_response(read)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"prescripteur": {"nom": "Mme Roy"}}, 201),  # a group half filled: its other fields still to come
        ({"prescripteur": None, "menage": {"enfants": None}}, 201),  # null: to be filled
        ({"adhesion": {"adhesion": False, "date_adhesion": None}}, 201),  # inconsistent yet: the validation says so
        ({"date_saisine": "2100-12-31"}, 201),
        ({"date_saisine": "2101-01-01"}, 422),
        ({"date_saisine": "12/03/2019"}, 422),
        ({"menage": {"enfants": [{"prenom": 3}]}}, 422),
        ({"prescripteur": {"type_partenaire": " siao "}}, 422),
        ({"prescripteur": {"type_partenaire": "siao"}}, 201),
        ({"inconnu": 1}, 422),
    ],
)
def test_the_server_reads_a_draft_exactly_as_described(app: Flask, clock: Clock, make_user: Callable[..., Account], body: dict[str, Any], status: int) -> None:
    api = ApiClient(app, token_for(app, clock, make_user("redacteur")))
    response = api.post("/api/v1/kinds/fiche_saisine/documents", json=body)
    assert response.status_code == status, response.get_json()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_schemathesis_finds_the_server_and_the_draft_bodies_described_in_agreement(
    app: Flask, clock: Clock, make_user: Callable[..., Account], live: str, mode: GenerationMode  # noqa: F811
) -> None:
    """What the description accepts is accepted (2xx), what it refuses is refused (4xx), for every draft route."""
    app.config["API_RATE_LIMIT"] = 1_000_000
    value = token_for(app, clock, make_user("redacteur"), kinds=sorted(registry()))
    drafts = {k.name: ApiClient(app, value).post(f"/api/v1/kinds/{k.name}/documents", json={}).get_json()["id"] for k in registry().values() if k.standalone}
    schema = schemathesis.openapi.from_url(f"{live}/api/v1/openapi.json")
    checks = [not_a_server_error, response_schema_conformance, positive_data_acceptance if mode is GenerationMode.POSITIVE else negative_data_rejection]
    tried = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        kind = operation.path.split("/")[4] if operation.path.startswith("/api/v1/kinds/") else None
        if kind not in drafts or operation.method not in ("post", "put") or operation.path.endswith("/decision"):
            continue
        fixed = {"doc_id": drafts[kind]} if operation.method == "put" else None
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=fixed) if fixed else operation.as_strategy(generation_mode=mode)
        tried += 1

        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None, suppress_health_check=list(HealthCheck))
        @given(case=strategy)
        def check(case: Any) -> None:
            case.call_and_validate(base_url=live, headers={"Authorization": f"Bearer {value}"}, checks=checks)

        check()
    assert tried == 2 * len(drafts)  # each standalone kind's creation and update


def test_the_documentation_page_shows_the_kinds_of_a_document_and_the_draft_groups(app: Flask) -> None:
    html = app.test_client().get("/api/v1/documentation").get_data(as_text=True)
    assert 'selon « kind »' in html and 'href="#fiche_saisine.Document"' in html
    assert 'href="#fiche_saisine.PrescripteurBrouillon"' in html  # a group that may be null still links to its fields


def test_the_description_names_no_component_the_api_does_not_use(app: Flask) -> None:
    """flask-smorest's page-number pagination (English, unused: the API pages by cursor) is not described."""
    components = openapi_document(app)["components"]
    assert not [name for name in components.get("schemas", {}) if "Pagination" in name] and "PAGINATION" not in components.get("headers", {})
    # The cursor pagination the lists use is: each page says where the next one starts.
    assert "next_cursor" in components["schemas"]["payloads.DocumentPage"]["properties"]
