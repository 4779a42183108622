"""The API's permission matrix: every route × token scope (read or write, kinds, organisation, role).

The same rules as the pages (``webforms/policy.py``), narrowed by the token: a document outside
its kinds, another organisation's, or a draft its role does not receive answers 404 (not
revealed); a read-only token, a kind outside its scope or a document that is no draft answers
403 to a write. A refused request changes nothing, and no list shows what the token may not read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from schemas import registry
from tests.api_client import ApiClient, token_for
from tests.conftest import Account, Clock, WebClient, pdf_titled, user_factory
from tests.databases import Databases
from tests.test_api import example
from tests.test_archive_web import deposit, record_id_from
from tests.test_candidatures import BEFORE_DEADLINE, appel_id_of, open_dossier, submit_complete
from tests.test_instruction import AT_DEADLINE, DEPARTEMENT
from tests.test_jury import members_form
from tests.workers import run_jobs
from tests.worlds import Pristine, module_app
from webforms import db
from webforms.mesures.services import create_mesure
from webforms.models import Document, Piece, User
from webforms.territoires.services import SCOPED_ROLES

A, B = "Association A", "Association B"
ARTOIS = "aml-artois"  # the matrix's documents are Lens-Hénin's: the example's household lives in Liévin (CALL)
# Token name -> (role, organisation, kinds, scope), or None for no token at all.
TOKENS: dict[str, tuple[str, str, tuple[str, ...], str] | None] = {
    "A-ecriture": ("redacteur", A, ("fiche_saisine", "fiche_incident"), "ecriture"),
    "A-lecture": ("redacteur", A, ("fiche_saisine", "fiche_incident"), "lecture"),
    "A-incident": ("redacteur", A, ("fiche_incident",), "ecriture"),
    "B-ecriture": ("redacteur", B, ("fiche_saisine", "fiche_incident"), "ecriture"),
    "coordinateur": ("coordinateur", "Plateforme", ("fiche_saisine",), "ecriture"),
    "A-appels": ("redacteur", A, ("candidature_aml",), "lecture"),
    "archiviste": ("archiviste", "Archives du Département", ("fiche_saisine",), "lecture"),
    "instructeur": ("instructeur", "Département", ("candidature_aml", "fiche_saisine", "fiche_incident"), "ecriture"),
    "jury": ("jury", "CALL", ("candidature_aml", "fiche_saisine"), "ecriture"),  # a member of the shipped call's jury
    "jury-ailleurs": ("jury", "CAHC", ("candidature_aml", "fiche_saisine"), "lecture"),  # on no jury
    "admin": ("admin", "Administration", ("candidature_aml", "fiche_saisine"), "ecriture"),
    "aucun": None,
}
# Which of organisation A's documents each token reads; "mesure": A's ASLL measure (its kinds
# include fiche_incident, written about every type of measure); "appel": the shipped call (its
# kinds include one that answers calls); "dossier": A's dossier on that call, deposited with its
# pieces and declared recevable (AML §6b), so presented to the call's jury (AML §6d); "record":
# the archive record of the submitted fiche saisine (the archive's readers: policy.can_search_archive).
VISIBLE = {
    "A-ecriture": {"draft_saisine", "submitted_saisine", "draft_incident", "mesure", "record"},
    "A-lecture": {"draft_saisine", "submitted_saisine", "draft_incident", "mesure", "record"},
    "A-incident": {"draft_incident", "mesure"},
    "B-ecriture": set(),  # the policy: another organisation's measure too
    "coordinateur": {"submitted_saisine", "record"},  # a recipient of the submitted fiche saisine, never a draft; no AML measure here
    "A-appels": {"appel", "dossier"},
    "archiviste": {"submitted_saisine", "record"},  # a recipient of the fiche saisine once submitted
    "instructeur": {"submitted_saisine", "appel", "dossier", "record", "mesure"},  # the calls and their dossiers, the measures, a recipient of the fiche saisine
    "jury": {"appel", "dossier"},  # the recevable dossiers of its own call only; never a fiche saisine
    "jury-ailleurs": {"appel"},  # the calls, as every signed-in account reads them; no dossier
    "admin": {"appel"},  # the calls; household data is not the administrator's (webforms/policy.py)
    "aucun": set(),
}
ARCHIVE_READERS = ("archiviste", "instructeur", "coordinateur", "redacteur")  # policy.can_search_archive
DOCUMENTS = ("draft_saisine", "submitted_saisine", "draft_incident")
MESURE_A = {"type_mesure": "asll_installation", "menage_nom": "Morel", "menage_prenom": "Karim", "date_bon_commande": "2019-09-02", "duree_mois": "3"}
# An AML measure (AML §4: no purchase order; its platform is its operator's, territoires.scope).
MESURE_AML = MESURE_A | {"type_mesure": "aml", "date_bon_commande": "", "date_premiere_rencontre": "2019-09-16", "nature_premiere_rencontre": "visite_domicile", "duree_mois": "12"}


def _world(app: Flask, clock: Clock, make_user: Callable[..., Account]) -> tuple[dict[str, int], dict[str, str]]:
    # Organisation A is the operator the decisions name: it works on both platforms (AML §1).
    owner = make_user("redacteur", A, territoires=("aml-lens-henin", "aml-artois"))
    writer = ApiClient(app, token_for(app, clock, owner))
    ids = {
        "draft_saisine": writer.post("/api/v1/kinds/fiche_saisine/documents", json={}).get_json()["id"],
        "submitted_saisine": writer.post("/api/v1/kinds/fiche_saisine/documents", json=example()).get_json()["id"],
        "draft_incident": writer.post("/api/v1/kinds/fiche_incident/documents", json={}).get_json()["id"],
    }
    assert writer.post(f"/api/v1/documents/{ids['submitted_saisine']}/submission").status_code == 200
    run_jobs(app)
    ids["rendition"] = writer.get(f"/api/v1/documents/{ids['submitted_saisine']}").get_json()["renditions"][0]["id"]
    with app.app_context():
        user = db.session().get(User, owner.id)
        ids["mesure"] = create_mesure(db.session(), app.extensions["webforms.services"], user=user, payload=MESURE_A).id
    ids["appel"] = appel_id_of(app)
    ids["dossier"], ids["piece"], seated = _recevable_dossier(app, clock, make_user, owner)
    archivist = WebClient(app.test_client())
    archivist.login(make_user("archiviste", DEPARTEMENT))
    ids["record"] = record_id_from(deposit(archivist, ids["submitted_saisine"], pdf_titled("Copie signée (matrice de l'API)")))
    values = {}
    for name, spec in TOKENS.items():
        if spec is not None:
            role, org, kinds, scope = spec
            account = owner if (role, org) == ("redacteur", A) else seated if name == "jury" else make_user(role, org)
            values[name] = token_for(app, clock, account, kinds=kinds, scope=scope)
    return ids, values


def _recevable_dossier(app: Flask, clock: Clock, make_user: Callable[..., Account], owner: Account) -> tuple[int, int, Account]:
    """A's dossier on the shipped call, deposited complete and declared recevable, its jury seated; its id, a piece's, a member."""
    now, clock.now = clock.now, BEFORE_DEADLINE
    web, instructeur, admin = WebClient(app.test_client()), WebClient(app.test_client()), WebClient(app.test_client())
    web.login(owner)
    instructeur.login(make_user("instructeur", DEPARTEMENT))
    admin.login(make_user("admin", "Administration"))
    dossier = open_dossier(app, web)
    submit_complete(app, web, dossier)
    assert instructeur.post(f"/documents/{dossier}/instruction", {"action": "instruire"}).status_code == 302
    clock.now = AT_DEADLINE
    assert instructeur.post(f"/documents/{dossier}/instruction", {"action": "recevable"}).status_code == 302
    seated = [make_user("jury", org) for org in ("Département du Pas-de-Calais", "CALL", "CAHC", "CABBALR")]
    assert admin.post(f"/admin/appels/{appel_id_of(app)}/jury", members_form(seated)).status_code == 302
    clock.now = now
    with app.app_context():
        piece = db.session().scalar(select(Piece.id).where(Piece.document_id == dossier).order_by(Piece.id).limit(1))
    assert piece is not None
    return dossier, piece, seated[1]


def _cases(ids: dict[str, int]) -> list[tuple[str, str, str, str, Any]]:
    """Every API route once at least: (endpoint, method, url, document it reaches or "", body)."""
    cases: list[tuple[str, str, str, str, Any]] = [
        ("api.kinds", "GET", "/api/v1/kinds", "", None),
        ("api.documents", "GET", "/api/v1/documents", "", None),
        *[("api.document", "GET", f"/api/v1/documents/{ids[d]}", d, None) for d in ("draft_saisine", "submitted_saisine", "draft_incident")],
        ("api.validation", "POST", f"/api/v1/documents/{ids['draft_saisine']}/validation", "draft_saisine", None),
        ("api.rendition", "GET", f"/api/v1/documents/{ids['submitted_saisine']}/renditions/{ids['rendition']}", "submitted_saisine", None),
        ("api.submission", "POST", f"/api/v1/documents/{ids['draft_incident']}/submission", "draft_incident", None),
        ("api.update_fiche_saisine", "PUT", f"/api/v1/kinds/fiche_saisine/documents/{ids['submitted_saisine']}", "submitted_saisine", {}),
        ("api.mesures_list", "GET", "/api/v1/mesures", "", None),
        ("api.mesure", "GET", f"/api/v1/mesures/{ids['mesure']}", "mesure", None),
        ("api.appels_list", "GET", "/api/v1/appels", "", None),
        ("api.appel", "GET", f"/api/v1/appels/{ids['appel']}", "appel", None),
        ("api.appel_dossiers", "GET", f"/api/v1/appels/{ids['appel']}/dossiers", "appel", None),
        ("api.document", "GET", f"/api/v1/documents/{ids['dossier']}", "dossier", None),
        *[("api.pieces", "GET", f"/api/v1/documents/{ids[d]}/pieces", d, None) for d in ("draft_saisine", "submitted_saisine", "dossier")],
        ("api.piece", "GET", f"/api/v1/documents/{ids['dossier']}/pieces/{ids['piece']}", "dossier", None),
        ("api.archives_list", "GET", "/api/v1/archives", "", None),
        ("api.archive", "GET", f"/api/v1/archives/{ids['record']}", "record", None),
        ("api.archives_verification", "GET", "/api/v1/archives/verification", "", None),
    ]
    for kind in registry().values():
        if kind.standalone:
            cases.append((f"api.create_{kind.name}", "POST", f"/api/v1/kinds/{kind.name}/documents", "", {}))
        cases.append((f"api.update_{kind.name}", "PUT", f"/api/v1/kinds/{kind.name}/documents/{ids['draft_saisine']}", "draft_saisine", {}))
    # Last: the coordinateur's allowed decision changes the submitted fiche saisine.
    for kind in registry().values():
        if kind.review is not None:
            url = f"/api/v1/kinds/{kind.name}/documents/{ids['submitted_saisine']}/decision"
            cases.append((f"api.decide_{kind.name}", "POST", url, "submitted_saisine", kind.review.example))
    return cases


@dataclass
class World:
    """A module's app and world, built once on a database of its own, put back before each test."""

    app: Flask
    kept: Pristine
    ids: dict[str, int]
    tokens: dict[str, str]  # token name -> its value
    artois_ids: dict[str, int] = field(default_factory=dict)  # the twins' world: its Artois objects
    twins: dict[str, str] = field(default_factory=dict)  # the twins' world: original token -> its Artois twin's value


def _built(databases: Databases, root: Path, *, twins: bool) -> World:
    clock = Clock()
    app = module_app(databases, root, clock)
    make_user = user_factory(app)
    ids, tokens = _world(app, clock, make_user)
    world = World(app, Pristine(app, databases, root), ids, tokens)
    if twins:
        world.ids, world.artois_ids = _artois_world(app, clock, make_user, ids)
        for original in TWINS:
            role, _, kinds, scope = TOKENS[original]  # type: ignore[misc]
            twin = make_user(role, f"{role.capitalize()} d'Artois", territoires=(ARTOIS,))
            world.twins[original] = token_for(app, clock, twin, kinds=kinds, scope=scope)
    world.kept.keep()
    return world


@pytest.fixture(scope="module")
def matrix_world(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = _built(databases, tmp_path_factory.mktemp("api-matrice"), twins=False)
    yield world
    world.app.extensions["webforms.engine"].dispose()


@pytest.fixture(scope="module")
def twins_world(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    world = _built(databases, tmp_path_factory.mktemp("api-jumeaux"), twins=True)
    yield world
    world.app.extensions["webforms.engine"].dispose()


def expected(token: str, endpoint: str, reaches: str, url: str) -> int:
    """The status the policy and the token's scope give to ``token`` on this request."""
    spec = TOKENS[token]
    if spec is None:
        return 401
    role, _, kinds, scope = spec
    writes = endpoint.startswith(("api.create_", "api.update_", "api.submission", "api.decide_"))
    if writes and scope != "ecriture":
        return 403
    if endpoint in ("api.archives_list", "api.archive") and role not in ARCHIVE_READERS:
        return 403
    if endpoint == "api.archives_verification":
        return 200 if role == "archiviste" else 403
    if endpoint.startswith("api.create_"):
        kind = endpoint.removeprefix("api.create_")
        return 201 if kind in kinds and role == "redacteur" else 403
    if reaches and reaches not in VISIBLE[token]:
        return 404
    if endpoint.startswith("api.decide_"):
        return 200 if role == "coordinateur" else 403
    if endpoint.startswith("api.update_"):
        if reaches != "draft_saisine":
            return 403  # submitted: no longer a draft
        return 200 if endpoint == "api.update_fiche_saisine" else 404  # another kind's address
    return 422 if endpoint == "api.submission" else 200  # an empty incident sheet cannot be submitted


def _state(app: Flask) -> list[tuple[Any, ...]]:
    with app.app_context():
        rows = db.session().execute(select(Document.id, Document.statut, Document.data, Document.updated_at, Document.versions).order_by(Document.id))
        return [tuple(r) for r in rows]


@pytest.mark.parametrize("token", list(TOKENS))
def test_every_api_route_follows_the_policy_within_the_token_scope(matrix_world: World, token: str) -> None:
    matrix_world.kept.restore()  # as built: a previous token's allowed writes undone
    app, ids = matrix_world.app, matrix_world.ids
    api = ApiClient(app, matrix_world.tokens.get(token))
    cases = _cases(ids)
    api_routes = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint.startswith("api.")}
    assert {case[0] for case in cases} == api_routes, "an API route is missing from the matrix"
    for endpoint, method, url, reaches, body in cases:
        before = _state(app)
        response = api.call(method, url, json=body) if body is not None else api.call(method, url)
        want = expected(token, endpoint, reaches, url)
        assert response.status_code == want, (endpoint, url, response.get_json())
        assert response.is_json or response.mimetype in ("application/pdf", "application/vnd.openxmlformats-officedocument.wordprocessingml.document")
        if want >= 400:
            assert _state(app) == before, (endpoint, "a refused request changed something")
            assert set(response.get_json()["errors"]) == {"_schema"} or want == 422
    listed = api.get("/api/v1/documents")
    if TOKENS[token] is None:
        assert listed.status_code == 401
    else:
        names = {ids[k]: k for k in (*DOCUMENTS, "dossier")}
        items = listed.get_json()["items"]
        assert {names[d["id"]] for d in items if d["id"] in names} == VISIBLE[token] & set(names.values())
        assert [m["id"] for m in api.get("/api/v1/mesures").get_json()["items"]] == ([ids["mesure"]] if "mesure" in VISIBLE[token] else [])
        assert [a["id"] for a in api.get("/api/v1/appels").get_json()] == ([ids["appel"]] if "appel" in VISIBLE[token] else [])
        if "appel" in VISIBLE[token]:  # a call's dossiers: the recevable one to its jury, never to another jury
            assert [d["id"] for d in api.get(f"/api/v1/appels/{ids['appel']}/dossiers").get_json()] == ([ids["dossier"]] if "dossier" in VISIBLE[token] else [])
        if TOKENS[token][0] in ARCHIVE_READERS:
            assert [r["id"] for r in api.get("/api/v1/archives").get_json()["items"]] == ([ids["record"]] if "record" in VISIBLE[token] else [])
        # Any other is a draft this very token created in its own organisation.
        assert all(d["organisation"] == TOKENS[token][1] and d["statut"] == "brouillon" for d in items if d["id"] not in names)
        kinds = {k["name"] for k in api.get("/api/v1/kinds").get_json()}
        assert kinds == set(TOKENS[token][2])


# --------------------------------------------------------------------------------------------
# The territory dimension (issue 13 × issue 17), generated as the web matrix's Artois twins are
# (tests/test_permissions.py): each token of a scoped role has a twin, the same role, kinds and
# scope, attached to Artois only. Every case its original is let into, the twin tries: on a
# Lens-Hénin object 404 and nothing changed, on a list no Lens-Hénin object; on the same case
# of an Artois object it is answered as its original is on the Lens-Hénin one.
# --------------------------------------------------------------------------------------------

TWINS = [name for name, spec in TOKENS.items() if spec is not None and spec[0] in SCOPED_ROLES]
ARTOIS_TERRITOIRE = {"commune": "Béthune", "epci": "CABBALR"}


def _artois_world(app: Flask, clock: Clock, make_user: Callable[..., Account], ids: dict[str, int]) -> tuple[dict[str, int], dict[str, int]]:
    """Add to the matrix's world an Artois fiche saisine submitted by organisation A, its archive record, an AML measure on each platform.

    Return the ids of the Lens-Hénin side and of the Artois side. A call's dossier and its pieces
    have no territory (the Département's, ``territoires.scope``): an Artois twin finds the
    world's dossier on neither side (404).
    """
    owner = make_user("redacteur", A)
    writer = ApiClient(app, token_for(app, clock, owner))
    artois = writer.post("/api/v1/kinds/fiche_saisine/documents", json=example() | {"territoire": ARTOIS_TERRITOIRE}).get_json()["id"]
    assert writer.post(f"/api/v1/documents/{artois}/submission").status_code == 200
    run_jobs(app)
    rendition = writer.get(f"/api/v1/documents/{artois}").get_json()["renditions"][0]["id"]
    archivist = WebClient(app.test_client())
    archivist.login(make_user("archiviste", DEPARTEMENT))
    record = record_id_from(deposit(archivist, artois, pdf_titled("Copie signée (Artois)")))
    mesures = {}
    with app.app_context():
        for code in ("aml-lens-henin", ARTOIS):  # an AML operator of each platform, its measure on it
            operator = db.session().get(User, make_user("redacteur", f"Opérateur {code}", territoires=(code,)).id)
            mesures[code] = create_mesure(db.session(), app.extensions["webforms.services"], user=operator, payload=MESURE_AML).id
    artois_ids = {**ids, "submitted_saisine": artois, "rendition": rendition, "record": record, "mesure": mesures[ARTOIS]}
    return {**ids, "mesure": mesures["aml-lens-henin"]}, artois_ids


def _let_in(original: str, cases: list[tuple[str, str, str, str, Any]]) -> list[tuple[str, str, str, str, Any]]:
    """The cases of the matrix the original token is let into (a 2xx)."""
    return [case for case in cases if expected(original, case[0], case[3], case[2]) < 300]


def test_the_twins_are_generated_for_every_scoped_role_and_reach_objects() -> None:
    """The generator is not empty: every scoped role has a twin, and some twin is let into an object route."""
    assert {TOKENS[t][0] for t in TWINS} == set(SCOPED_ROLES)  # type: ignore[index]
    ids = {k: 1 for k in ("draft_saisine", "submitted_saisine", "draft_incident", "rendition", "mesure", "appel", "dossier", "piece", "record")}
    reached = {case[0] for t in TWINS for case in _let_in(t, _cases(ids)) if case[3]}
    assert {"api.document", "api.rendition", "api.pieces", "api.piece", "api.mesure", "api.archive", "api.decide_fiche_saisine"} <= reached


@pytest.mark.parametrize("original", TWINS)
def test_an_artois_token_reads_and_changes_nothing_of_lens_henin(twins_world: World, original: str) -> None:
    twins_world.kept.restore()  # as built: a previous twin's allowed writes on Artois undone
    app, ids, artois_ids = twins_world.app, twins_world.ids, twins_world.artois_ids
    api = ApiClient(app, twins_world.twins[original])
    # What each list must not show of Lens-Hénin (the dossier: the Département's, not shown to an Artois-only twin either).
    lens = {"api.documents": {ids[k] for k in (*DOCUMENTS, "dossier")}, "api.mesures_list": {ids["mesure"]}, "api.archives_list": {ids["record"]}, "api.appel_dossiers": {ids["dossier"]}}
    for endpoint, method, url, reaches, body in _let_in(original, _cases(ids)):
        before = _state(app)
        response = api.call(method, url, json=body) if body is not None else api.call(method, url)
        if reaches and reaches != "appel":  # the calls span every territory: not Lens-Hénin's
            assert response.status_code == 404, (endpoint, url, response.status_code)
        else:
            assert response.status_code == expected(original, endpoint, reaches, url), (endpoint, url, response.get_json())
            listed = response.get_json()
            items = listed.get("items", []) if isinstance(listed, dict) else listed
            assert not {i.get("id") for i in items if isinstance(i, dict)} & lens.get(endpoint, set()), endpoint
        assert _state(app) == before, (endpoint, "an Artois token changed the Lens-Hénin world")
    # The same cases on an Artois object: answered as the original is on the Lens-Hénin one (the decision last).
    for endpoint, method, url, reaches, body in _let_in(original, _cases(artois_ids)):
        if reaches in ("submitted_saisine", "mesure", "record"):
            response = api.call(method, url, json=body) if body is not None else api.call(method, url)
            assert response.status_code == expected(original, endpoint, reaches, url), (endpoint, url, response.get_json())
    # And its lists show the Artois objects its original is shown on Lens-Hénin.
    for name, endpoint in (("mesure", "/api/v1/mesures"), ("record", "/api/v1/archives")):
        if name in VISIBLE[original]:
            assert artois_ids[name] in [i["id"] for i in api.get(endpoint).get_json()["items"]], endpoint
