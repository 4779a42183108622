"""The JSON API (issue 17): a round trip through the same services as the pages, its errors, its limits."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from marshmallow import ValidationError
from pypdf import PdfReader
from sqlalchemy import func, select

from schemas import get_kind
from tests.api_client import ApiClient, token_for
from tests.conftest import Account, Clock, WebClient
from tests.workers import run_jobs
from webforms import cli, db
from webforms.models import ApiToken, ApiTokenUse, Document

ISO_DATE_ERROR = "Date invalide : utilisez le format AAAA-MM-JJ (ISO 8601)."


def example(kind: str = "fiche_saisine") -> dict[str, Any]:
    return json.loads(json.dumps(dict(get_kind(kind).example)))


def test_round_trip_create_validate_submit_download_and_see_it_on_the_web(
    app: Flask, clock: Clock, login_as: Callable[..., tuple[WebClient, Account]]
) -> None:
    web, account = login_as("redacteur")
    api = ApiClient(app, token_for(app, clock, account))
    incomplete = {k: v for k, v in example().items() if k != "menage"}
    created = api.post("/api/v1/kinds/fiche_saisine/documents", json=incomplete)
    assert created.status_code == 201, created.get_json()
    doc = created.get_json()
    assert doc["statut"] == "brouillon" and doc["reference"] is None
    checked = api.post(f"/api/v1/documents/{doc['id']}/validation").get_json()
    assert checked["valid"] is False and "menage" in checked["errors"]
    refused = api.post(f"/api/v1/documents/{doc['id']}/submission")
    assert refused.status_code == 422 and "menage" in refused.get_json()["errors"]
    updated = api.put(f"/api/v1/kinds/fiche_saisine/documents/{doc['id']}", json=example())
    assert updated.status_code == 200, updated.get_json()
    assert api.post(f"/api/v1/documents/{doc['id']}/validation").get_json() == {"valid": True, "errors": {}}
    submitted = api.post(f"/api/v1/documents/{doc['id']}/submission")
    assert submitted.status_code == 200, submitted.get_json()
    assert submitted.get_json()["reference"].startswith("FS-2019-")
    run_jobs(app)  # the worker renders the frozen version
    files = {(r["output"], r["format"]): r for r in api.get(f"/api/v1/documents/{doc['id']}").get_json()["renditions"]}
    pdf = api.get(files[("document", "pdf")]["url"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.get_data())).pages)
    assert submitted.get_json()["reference"] in text
    assert example()["prescripteur"]["nom"] in text
    page = web.get(f"/documents/{doc['id']}")
    assert page.status_code == 200 and submitted.get_json()["reference"] in page.get_data(as_text=True)
    locked = api.put(f"/api/v1/kinds/fiche_saisine/documents/{doc['id']}", json=example())
    assert locked.status_code == 403 and locked.is_json


def test_a_browser_session_is_not_accepted(app: Flask, login_as: Callable[..., tuple[WebClient, Account]]) -> None:
    web, _ = login_as("redacteur")
    response = web.client.get("/api/v1/documents")  # the signed-in browser's cookie, no token
    assert response.status_code == 401
    body = response.get_json()
    assert "Authorization: Bearer" in body["errors"]["_schema"][0]
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    posted = web.client.post("/api/v1/kinds/fiche_saisine/documents", json=example())
    assert posted.status_code == 401
    with app.app_context():
        assert db.session().scalar(select(func.count()).select_from(Document)) == 0


def test_errors_are_french_json_in_the_command_line_layout(app: Flask, clock: Clock, make_user: Callable[..., Account]) -> None:
    api = ApiClient(app, token_for(app, clock, make_user("redacteur")))
    payload = example()
    payload["menage"]["enfants"][1]["date_naissance"] = "hier"
    payload["inconnu"] = 1
    response = api.post("/api/v1/kinds/fiche_saisine/documents", json=payload)
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert errors["menage"]["enfants"]["1"]["date_naissance"] == [ISO_DATE_ERROR]
    assert errors["inconnu"] == ["Champ inconnu."]
    broken = api.call("POST", "/api/v1/kinds/fiche_saisine/documents", data="{", content_type="application/json")
    assert broken.status_code == 400 and broken.get_json()["errors"]["_schema"][-1] == "Corps JSON invalide."
    assert api.get("/api/v1/documents?limit=0").get_json()["errors"]["limit"] == ["Entre 1 et 100 documents par page."]
    assert api.get("/api/v1/documents?limit=1").status_code == 200
    assert api.get("/api/v1/documents?limit=100").status_code == 200
    assert api.get("/api/v1/documents?limit=101").status_code == 422
    assert api.get("/api/v1/documents?couleur=bleu").get_json()["errors"]["couleur"] == ["Paramètre inconnu."]
    assert api.get("/api/v1/documents/999999").get_json() == {"errors": {"_schema": ["Document introuvable, ou hors de la portée de ce jeton."]}}
    # Past a database integer, no route matches: still the API's JSON, as its description says.
    for url in ("/api/v1/documents/99999999999999999999", "/api/v1/documents/2147483648", "/api/v1/nulle-part"):
        past = api.get(url)
        assert past.status_code == 404 and past.mimetype == "application/json" and list(past.get_json()["errors"]) == ["_schema"], url
    assert api.get("/api/v1/documents/2147483647").status_code == 404  # the largest id, unknown


def test_an_api_date_error_names_the_iso_format_it_reads_and_the_web_keeps_its_own(app: Flask, clock: Clock, make_user: Callable[..., Account]) -> None:
    """The description types dates AAAA-MM-JJ: the API reads only that and says so; the form and the CLI still read JJ/MM/AAAA."""
    api = ApiClient(app, token_for(app, clock, make_user("redacteur")))
    for typed, status in (("2015-03-12", 201), ("12/03/2015", 422), ("hier", 422)):
        payload = example()
        payload["menage"]["enfants"][1]["date_naissance"] = typed
        response = api.post("/api/v1/kinds/fiche_saisine/documents", json=payload)
        assert response.status_code == status, (typed, response.get_json())
        if status == 422:
            assert response.get_json()["errors"]["menage"]["enfants"]["1"]["date_naissance"] == [ISO_DATE_ERROR]
    # After an API request in this very thread, the kind's schema reads as the web form does.
    field = get_kind("fiche_saisine").schema().fields["date_saisine"]
    assert str(field.deserialize("12/03/2015")) == "2015-03-12"
    with pytest.raises(ValidationError) as refused:
        field.deserialize("hier")
    assert refused.value.messages == ["Date invalide : utilisez le format JJ/MM/AAAA."]


def test_the_cli_validate_and_the_api_report_the_same_errors(app: Flask, clock: Clock, make_user: Callable[..., Account], tmp_path: Any) -> None:
    api = ApiClient(app, token_for(app, clock, make_user("redacteur")))
    payload = {k: v for k, v in example().items() if k not in ("menage", "territoire")}
    payload["prescripteur"].pop("nom")
    doc = api.post("/api/v1/kinds/fiche_saisine/documents", json=payload).get_json()
    (tmp_path / "p.json").write_text(json.dumps(payload))
    printed = CliRunner().invoke(cli.main, ["validate", "fiche_saisine", str(tmp_path / "p.json")])
    assert printed.exit_code == 1
    assert api.post(f"/api/v1/documents/{doc['id']}/validation").get_json()["errors"] == json.loads(printed.stdout)["errors"]


def test_list_pages_with_a_cursor_and_filters(app: Flask, clock: Clock, make_user: Callable[..., Account]) -> None:
    api = ApiClient(app, token_for(app, clock, make_user("redacteur")))
    ids = [api.post("/api/v1/kinds/fiche_saisine/documents", json={}).get_json()["id"] for _ in range(5)]
    incident = api.post("/api/v1/kinds/fiche_incident/documents", json={}).get_json()["id"]
    seen, cursor = [], None
    while True:
        page = api.get("/api/v1/documents", query_string={"limit": 2, "kind": "fiche_saisine", **({"cursor": cursor} if cursor else {})}).get_json()
        seen += [d["id"] for d in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(ids, reverse=True)
    assert [d["id"] for d in api.get("/api/v1/documents?kind=fiche_incident").get_json()["items"]] == [incident]
    assert api.get("/api/v1/documents?statut=soumis").get_json() == {"items": [], "next_cursor": None}
    exact = api.get("/api/v1/documents?limit=6").get_json()
    assert len(exact["items"]) == 6 and exact["next_cursor"] is None
    # The statut filter's other side: a submitted document is listed under "soumis", and not under "brouillon".
    sent = api.post("/api/v1/kinds/fiche_saisine/documents", json=example()).get_json()["id"]
    assert api.post(f"/api/v1/documents/{sent}/submission").status_code == 200
    assert [d["id"] for d in api.get("/api/v1/documents?statut=soumis").get_json()["items"]] == [sent]
    drafts = [d["id"] for d in api.get("/api/v1/documents?statut=brouillon").get_json()["items"]]
    assert sorted(drafts) == sorted([*ids, incident])


def test_every_use_is_logged_and_the_rate_is_limited_per_token(app: Flask, clock: Clock, make_user: Callable[..., Account]) -> None:
    app.config["API_RATE_LIMIT"] = 3
    account = make_user("redacteur")
    first, second = ApiClient(app, token_for(app, clock, account)), ApiClient(app, token_for(app, clock, account))
    assert [first.get("/api/v1/kinds").status_code for _ in range(3)] == [200, 200, 200]
    limited = first.get("/api/v1/kinds")
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0 and limited.is_json
    assert second.get("/api/v1/kinds").status_code == 200  # each token its own counter
    start = clock.now
    clock.now = clock.now.replace(minute=clock.now.minute + 1)
    assert first.get("/api/v1/kinds").status_code == 200  # a new window
    with app.app_context():
        session = db.session()
        one, two = session.scalars(select(ApiToken.id).where(ApiToken.user_id == account.id).order_by(ApiToken.id)).all()
        uses = session.execute(select(ApiTokenUse.token_id, ApiTokenUse.route, ApiTokenUse.method, ApiTokenUse.at).order_by(ApiTokenUse.id)).all()
    # Which token, which route, when: the refused (429) request too, each under its own token.
    kinds = ("/api/v1/kinds", "GET")
    assert [tuple(u) for u in uses] == [*[(one, *kinds, start)] * 4, (two, *kinds, start), (one, *kinds, clock.now)]


def test_the_command_line_prints_the_description_the_api_serves(app: Flask, tmp_path: Any) -> None:
    served = app.test_client().get("/api/v1/openapi.json")
    assert served.status_code == 200 and served.get_json()["openapi"] == "3.1.0"
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "WEBFORMS_INSTANCE_PATH": str(tmp_path / "cli")}
    printed = CliRunner().invoke(cli.main, ["openapi"], env=env)
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout) == served.get_json()


def test_the_description_types_the_catalogue_fields_in_french(app: Flask) -> None:
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    saisine = schemas["fiche_saisine.FicheSaisine"]
    assert schemas["fiche_saisine.Prescripteur"]["properties"]["nom"]["title"] == "Nom et prénom du prescripteur"
    assert saisine["properties"]["prescripteur"]["$ref"] == "#/components/schemas/fiche_saisine.Prescripteur"
    dates = [p for s in schemas.values() for p in s.get("properties", {}).values() if p.get("format") == "date"]
    money = [p for s in schemas.values() for p in s.get("properties", {}).values() if p.get("pattern") == r"^[0-9]{1,12}(\.[0-9]{1,2})?$"]
    assert dates and money and all(p.get("title") for p in dates + money)
    assert "fiche_saisine.FicheSaisineBrouillon" in schemas  # the draft body: every field optional
    assert "required" not in schemas["fiche_saisine.FicheSaisineBrouillon"]
    answers = [r.get("description", "") for p in spec["paths"].values() for o in p.values() if isinstance(o, dict) for r in o.get("responses", {}).values()]
    answers.append(spec["components"]["responses"]["DEFAULT_ERROR"]["description"])
    assert answers and not {"OK", "Created", "Default error response"} & set(answers)  # French, as the rest
    for operation in spec["paths"]["/api/v1/documents/{doc_id}"].values():
        if isinstance(operation, dict) and "responses" in operation:
            assert {"401", "404", "429"} <= set(operation["responses"])


def test_the_documentation_page_needs_no_outside_asset(app: Flask) -> None:
    page = app.test_client().get("/api/v1/documentation")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "/api/v1/kinds/fiche_saisine/documents" in html and "Prescripteur" in html
    assets = re.findall(r'(?:src|href)="([^"]*)"', html)
    assert assets and all(a.startswith(("/", "#")) for a in assets), assets  # nothing from another site
