"""Permission matrix: every route × every actor × every document state, and CSRF on every POST.

The rules are those of ``webforms/policy.py``:

- a ``redacteur`` sees and edits only its own organisation's documents, and edits only drafts;
- the recipient roles of a kind (fiche saisine: coordinateur, instructeur, archiviste; fiche
  d'incident: instructeur, archiviste) see the *submitted* documents of that kind, never drafts;
- only the coordinateur records the decision on a submitted fiche saisine;
- the admin manages ``/admin/*`` and sees no document; downloads follow the view rule.

Expected answers: anonymous → 302 to /connexion; a document the user may not see → 404 (its
existence is not revealed); seen but not allowed → 403, or the documented redirect (editing a
submitted document sends to its page); allowed → 200 or the success redirect. A request that is
not an allowed change must leave the database exactly as it was.

Speed: one app per module. Its world (organisations, one account per actor, organisation A's
three documents, two of them submitted and so rendered) is built once, then kept as a pristine
copy of the database and of the stored files. Every test starts from that state: after a test
that changed anything (an allowed change, or a bug), the pristine copy is put back. Accounts get
a cheap password hash so that each real sign-in through the form costs nothing. Only the cases
that must render (submit, decision, draft preview) render a PDF.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from flask import Flask, url_for
from sqlalchemy import select
from werkzeug.security import generate_password_hash

from schemas import get_kind
from tests.conftest import PASSWORD, Account, Clock, WebClient
from tests.test_web import doc_id_from, example_form, submitted
from webforms import create_app, db
from webforms.models import Counter, Document, Event, Organisation, Rendition, User
from webforms.services.accounts import create_organisation

# --------------------------------------------------------------------------------------------
# Actors and fixture documents
# --------------------------------------------------------------------------------------------

ORG_A = "Association A"
ORG_B = "Association B"

# actor -> (role, organisation); the anonymous visitor has no account.
ACTORS: dict[str, tuple[str, str] | None] = {
    "anonymous": None,
    "redacteur_A": ("redacteur", ORG_A),
    "redacteur_B": ("redacteur", ORG_B),
    "coordinateur": ("coordinateur", "Plateforme Logement d'abord Lens-Hénin"),
    "instructeur": ("instructeur", "Département du Pas-de-Calais"),
    "archiviste": ("archiviste", "Archives départementales"),
    "admin": ("admin", "Administration webforms"),
}
ACTOR_NAMES = tuple(ACTORS)

# Organisation A's documents: state -> (kind, status)
STATES: dict[str, tuple[str, str]] = {
    "draft_saisine": ("fiche_saisine", "draft"),
    "submitted_saisine": ("fiche_saisine", "submitted"),
    "submitted_incident": ("fiche_incident", "submitted"),
}
# A name typed in each document; it must never appear in a refusal.
HOUSEHOLD = {"fiche_saisine": "Durand", "fiche_incident": "Morel"}


def email_of(actor: str) -> str:
    return f"{actor.lower()}@matrice.example.fr"


@dataclass
class World:
    app: Flask
    root: Path
    accounts: dict[str, Account] = field(default_factory=dict)
    docs: dict[str, int] = field(default_factory=dict)  # state -> document id
    orgs: dict[str, int] = field(default_factory=dict)  # organisation name -> id
    pristine: dict[str, Any] = field(default_factory=dict)  # snapshot() of the world as built

    @property
    def database(self) -> Path:
        return self.root / "webforms.db"

    def client(self, actor: str) -> WebClient:
        """A client signed in as ``actor`` (through the sign-in form), or anonymous."""
        web = WebClient(self.app.test_client())
        if actor == "anonymous":
            web.get("/connexion")
        else:
            web.login(self.accounts[actor])
        return web

    def url(self, endpoint: str, state: str | None, **values: Any) -> str:
        if state in STATES:
            values["doc_id"] = self.docs[state]
        elif state is not None:
            values["kind_name"] = state
        if endpoint == "documents.download":
            values.setdefault("fmt", "pdf")
        with self.app.test_request_context():
            return url_for(endpoint, **values)

    def close(self) -> None:
        # Closing every connection also checkpoints SQLite's WAL into the database file.
        self.app.extensions["webforms.engine"].dispose()

    def keep_pristine(self) -> None:
        self.close()
        shutil.copy(self.database, self.root / "pristine.db")
        shutil.copytree(self.app.config["STORAGE_DIR"], self.root / "pristine-files")
        self.pristine = snapshot(self.app)

    def restore(self) -> None:
        """Put back the database and the stored files as built."""
        self.close()
        for suffix in ("-wal", "-shm"):
            Path(f"{self.database}{suffix}").unlink(missing_ok=True)
        shutil.copy(self.root / "pristine.db", self.database)
        shutil.rmtree(self.app.config["STORAGE_DIR"])
        shutil.copytree(self.root / "pristine-files", self.app.config["STORAGE_DIR"])


@pytest.fixture(scope="module")
def shared_world(migrated_db: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The module's app and world, built once."""
    root = tmp_path_factory.mktemp("permissions")
    shutil.copy(migrated_db, root / "webforms.db")
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(root / "instance"),
            "DATABASE_URL": f"sqlite:///{root / 'webforms.db'}",
            "STORAGE_DIR": str(root / "files"),
            "SECRET_KEY": "tests-only-secret",
            "CLOCK": Clock(),
        }
    )
    world = World(app, root)
    try:
        cheap_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")
        with app.app_context():
            s = db.session()
            for actor, spec in ACTORS.items():
                if spec is None:
                    continue
                role, org_name = spec
                org = s.scalar(select(Organisation).where(Organisation.name == org_name)) or create_organisation(s, org_name)
                user = User(email=email_of(actor), full_name=f"Compte {actor}", role=role, organisation_id=org.id, password_hash=cheap_hash)
                s.add(user)
                s.flush()
                world.accounts[actor] = Account(user.id, user.email, role, org.id, org_name)
            s.commit()
            world.orgs = {o.name: o.id for o in s.scalars(select(Organisation))}
        web = world.client("redacteur_A")
        draft = web.post("/documents/nouveau/fiche_saisine", {**example_form("fiche_saisine"), "action": "save"})
        assert draft.status_code == 302, draft.get_data(as_text=True)
        world.docs = {
            "draft_saisine": doc_id_from(draft),
            "submitted_saisine": submitted(web, "fiche_saisine"),
            "submitted_incident": submitted(web, "fiche_incident"),
        }
        world.keep_pristine()
        assert {world.pristine["documents"][i][:4:3] for i in world.docs.values()} == set(STATES.values())
        yield world
    finally:
        world.close()


@pytest.fixture
def world(shared_world: World) -> Iterator[World]:
    """The module's world, as built; put back after a test that changed it."""
    yield shared_world
    if snapshot(shared_world.app) != shared_world.pristine:
        shared_world.restore()


def snapshot(app: Flask) -> dict[str, Any]:
    """Everything a request could change: documents, renditions, accounts, events, counters."""
    with app.app_context():
        s = db.session()
        return {
            "documents": {
                d.id: (
                    d.kind, d.organisation_id, d.author_id, d.status, d.data, d.submitted_data, d.review,
                    d.reference, d.summary, d.updated_at, d.submitted_at, d.reviewed_at, d.reviewer_id,
                )
                for d in s.scalars(select(Document))
            },
            "renditions": sorted(tuple(r) for r in s.execute(select(Rendition.document_id, Rendition.version, Rendition.format, Rendition.sha256))),
            "organisations": sorted(s.scalars(select(Organisation.name))),
            "users": sorted(tuple(u) for u in s.execute(select(User.email, User.role, User.organisation_id, User.active, User.password_hash))),
            "events": sorted(tuple(e) for e in s.execute(select(Event.id, Event.action, Event.document_id, Event.user_id))),
            "counters": sorted(tuple(c) for c in s.execute(select(Counter.prefix, Counter.year, Counter.last))),
        }


def renditions_of(snap: dict[str, Any], doc_id: int) -> list[tuple[int, str]]:
    return sorted((v, f) for d, v, f, _ in snap["renditions"] if d == doc_id)


# --------------------------------------------------------------------------------------------
# The matrix
# --------------------------------------------------------------------------------------------

OK = "200"
LOGIN = "302 → /connexion"  # sign-in page (anonymous, or after signing out)
HOME = "302 → /"  # the document list
VIEW = "302 → document page"
EDIT = "302 → draft form"  # /documents/<id>/modifier (the new draft's id for documents.new)
FORBIDDEN = "403"
NOT_FOUND = "404"


def row(*outcomes: str) -> dict[str, str]:
    """Outcomes in the order anonymous, redacteur_A, redacteur_B, coordinateur, instructeur, archiviste, admin."""
    assert len(outcomes) == len(ACTOR_NAMES)
    return dict(zip(ACTOR_NAMES, outcomes, strict=True))


NF, NO = NOT_FOUND, FORBIDDEN
# (endpoint, method) -> {state (document, kind to create, or None) -> {actor -> outcome}}
#                                          anonymous redac_A redac_B coord  instr  archiv admin
_VIEW_RULE = {
    "draft_saisine":                  row(LOGIN,   OK,     NF,     NF,    NF,    NF,    NF),
    "submitted_saisine":              row(LOGIN,   OK,     NF,     OK,    OK,    OK,    NF),
    "submitted_incident":             row(LOGIN,   OK,     NF,     NF,    OK,    OK,    NF),
}
_EDIT_SUBMITTED = {
    "submitted_saisine":              row(LOGIN,   VIEW,   NF,     VIEW,  VIEW,  VIEW,  NF),
    "submitted_incident":             row(LOGIN,   VIEW,   NF,     NF,    VIEW,  VIEW,  NF),
}
MATRIX: dict[tuple[str, str], dict[str | None, dict[str, str]]] = {
    ("auth.login", "GET"): {None:      row(OK,      HOME,   HOME,   HOME,  HOME,  HOME,  HOME)},
    ("auth.login", "POST"): {None:     row(HOME,    HOME,   HOME,   HOME,  HOME,  HOME,  HOME)},
    ("auth.logout", "POST"): {None:    row(LOGIN,   LOGIN,  LOGIN,  LOGIN, LOGIN, LOGIN, LOGIN)},
    ("documents.index", "GET"): {None: row(LOGIN,   OK,     OK,     OK,    OK,    OK,    OK)},
    ("documents.new", "GET"): {
        "fiche_saisine":              row(LOGIN,   OK,     OK,     NO,    NO,    NO,    NO),
        "fiche_incident":             row(LOGIN,   OK,     OK,     NO,    NO,    NO,    NO),
    },
    ("documents.new", "POST"): {
        "fiche_saisine":              row(LOGIN,   EDIT,   EDIT,   NO,    NO,    NO,    NO),
        "fiche_incident":             row(LOGIN,   EDIT,   EDIT,   NO,    NO,    NO,    NO),
    },
    ("documents.view", "GET"): _VIEW_RULE,
    ("documents.download", "GET"): _VIEW_RULE,  # downloads follow the view rule
    ("documents.edit", "GET"): {
        "draft_saisine":              row(LOGIN,   OK,     NF,     NF,    NF,    NF,    NF),
        **_EDIT_SUBMITTED,
    },
    ("documents.edit", "POST"): {
        "draft_saisine":              row(LOGIN,   EDIT,   NF,     NF,    NF,    NF,    NF),
        **_EDIT_SUBMITTED,
    },
    ("documents.submit", "POST"): {
        "draft_saisine":              row(LOGIN,   VIEW,   NF,     NF,    NF,    NF,    NF),
        "submitted_saisine":          row(LOGIN,   NO,     NF,     NO,    NO,    NO,    NF),
        "submitted_incident":         row(LOGIN,   NO,     NF,     NF,    NO,    NO,    NF),
    },
    ("documents.review", "GET"): {
        "draft_saisine":              row(LOGIN,   NO,     NF,     NF,    NF,    NF,    NF),
        "submitted_saisine":          row(LOGIN,   NO,     NF,     OK,    NO,    NO,    NF),
        "submitted_incident":         row(LOGIN,   NO,     NF,     NF,    NO,    NO,    NF),
    },
    ("documents.review", "POST"): {
        "draft_saisine":              row(LOGIN,   NO,     NF,     NF,    NF,    NF,    NF),
        "submitted_saisine":          row(LOGIN,   NO,     NF,     VIEW,  NO,    NO,    NF),
        "submitted_incident":         row(LOGIN,   NO,     NF,     NF,    NO,    NO,    NF),
    },
    ("admin.organisations", "GET"): {None:  row(LOGIN, NO,   NO,     NO,    NO,    NO,    OK)},
    ("admin.organisations", "POST"): {None: row(LOGIN, NO,   NO,     NO,    NO,    NO,    OK)},
    ("admin.users", "GET"): {None:          row(LOGIN, NO,   NO,     NO,    NO,    NO,    OK)},
    ("admin.users", "POST"): {None:         row(LOGIN, NO,   NO,     NO,    NO,    NO,    OK)},
}

# Known authorization bugs: (endpoint, method, state, actor) -> reason. Each is an xfail(strict).
KNOWN_BUGS: dict[tuple[str, str, str | None, str], str] = {}

NEW_ORG = "Organisation créée par la matrice"
NEW_EMAIL = "compte-cree@matrice.example.fr"
EDITED_NAME = "Nom modifié par la matrice"
EDITED_FIELD = {"fiche_saisine": "prescripteur-nom", "fiche_incident": "mesure-referent_nom"}


def post_data(world: World, endpoint: str, state: str | None) -> dict[str, Any]:
    """The body an allowed user would send: the same for every actor."""
    if endpoint == "auth.login":
        return {"email": world.accounts["redacteur_A"].email, "password": PASSWORD}
    if endpoint == "documents.new":
        return {**example_form(str(state)), "action": "save"}
    if endpoint == "documents.edit":
        kind = STATES[str(state)][0]
        return {**example_form(kind), EDITED_FIELD[kind]: EDITED_NAME, "action": "save"}
    if endpoint == "documents.review":
        return {k: v for k, v in get_kind("fiche_saisine").review.example.items() if v}  # type: ignore[union-attr]
    if endpoint == "admin.organisations":
        return {"name": NEW_ORG}
    if endpoint == "admin.users":
        return {"email": NEW_EMAIL, "full_name": "Compte Créé", "role": "redacteur", "organisation_id": str(world.orgs[ORG_A])}
    return {}  # logout, submit: nothing but the CSRF token


# --- What an allowed change must have done (anything else must leave the database unchanged).

Check = Callable[[World, dict[str, Any], dict[str, Any], str | None, str, WebClient, Any], None]


def _only_changed(before: dict[str, Any], after: dict[str, Any], doc_id: int) -> None:
    """Nothing but document ``doc_id`` (its row, renditions, events, counters) changed."""
    assert {k: v for k, v in after["documents"].items() if k != doc_id} == {k: v for k, v in before["documents"].items() if k != doc_id}
    assert [r for r in after["renditions"] if r[0] != doc_id] == [r for r in before["renditions"] if r[0] != doc_id]
    assert after["users"] == before["users"] and after["organisations"] == before["organisations"]


def _created_draft(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    new_ids = set(after["documents"]) - set(before["documents"])
    assert len(new_ids) == 1, new_ids
    (new_id,) = new_ids
    assert urlsplit(response.headers["Location"]).path == f"/documents/{new_id}/modifier"
    kind, org_id, author_id, status, *_ = after["documents"][new_id]
    assert (kind, status) == (state, "draft")
    assert (org_id, author_id) == (world.accounts[actor].organisation_id, world.accounts[actor].id)
    _only_changed(before, after, new_id)
    assert renditions_of(after, new_id) == []


def _saved_draft(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    doc_id = world.docs[str(state)]
    status, data = after["documents"][doc_id][3], after["documents"][doc_id][4]
    assert status == "draft" and data["prescripteur"]["nom"] == EDITED_NAME
    assert renditions_of(after, doc_id) == []
    _only_changed(before, after, doc_id)


def _submitted(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    doc_id = world.docs[str(state)]
    status, reference = after["documents"][doc_id][3], after["documents"][doc_id][7]
    assert status == "submitted" and reference and reference.startswith("FS-2019-")
    assert renditions_of(after, doc_id) == [(1, "docx"), (1, "pdf")]
    _only_changed(before, after, doc_id)


def _reviewed(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    doc_id = world.docs[str(state)]
    doc = after["documents"][doc_id]
    assert doc[3] == "reviewed" and doc[6]["referent"] == "Sophie Bernard" and doc[12] == world.accounts[actor].id
    assert doc[5] == before["documents"][doc_id][5]  # the submitted data stays frozen
    assert renditions_of(after, doc_id) == [(1, "docx"), (1, "pdf"), (2, "docx"), (2, "pdf")]
    _only_changed(before, after, doc_id)


def _created_organisation(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    assert after["organisations"] == sorted([*before["organisations"], NEW_ORG])
    assert after["documents"] == before["documents"] and after["users"] == before["users"]


def _created_user(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    assert [u[:3] for u in after["users"] if u not in before["users"]] == [(NEW_EMAIL, "redacteur", world.orgs[ORG_A])]
    assert "Mot de passe à transmettre" in response.get_data(as_text=True)
    assert after["documents"] == before["documents"] and after["organisations"] == before["organisations"]


EFFECTS: dict[tuple[str, str, str | None, str], Check] = {
    ("documents.new", "POST", "fiche_saisine", "redacteur_A"): _created_draft,
    ("documents.new", "POST", "fiche_incident", "redacteur_A"): _created_draft,
    ("documents.new", "POST", "fiche_saisine", "redacteur_B"): _created_draft,
    ("documents.new", "POST", "fiche_incident", "redacteur_B"): _created_draft,
    ("documents.edit", "POST", "draft_saisine", "redacteur_A"): _saved_draft,
    ("documents.submit", "POST", "draft_saisine", "redacteur_A"): _submitted,
    ("documents.review", "POST", "submitted_saisine", "coordinateur"): _reviewed,
    ("admin.organisations", "POST", None, "admin"): _created_organisation,
    ("admin.users", "POST", None, "admin"): _created_user,
}


def _cases() -> list[Any]:
    cases = []
    for (endpoint, method), by_state in MATRIX.items():
        for state, by_actor in by_state.items():
            for actor, outcome in by_actor.items():
                key = (endpoint, method, state, actor)
                marks = [pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[key])] if key in KNOWN_BUGS else []
                case_id = "-".join(p for p in (endpoint, method, state, actor) if p)
                cases.append(pytest.param(endpoint, method, state, actor, outcome, id=case_id, marks=marks))
    return cases


def _non_default_methods(rule: Any) -> set[str]:
    return set(rule.methods or ()) - {"HEAD", "OPTIONS"}


def test_the_matrix_covers_every_route_of_the_app(world: World) -> None:
    """A route added to the app without a line in the matrix fails here."""
    app = world.app
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules() if rule.endpoint != "static" for method in _non_default_methods(rule)}
    assert routes - set(MATRIX) == set(), "routes of the app missing from the permission matrix"
    assert set(MATRIX) - routes == set(), "matrix lines for routes the app no longer has"
    for key, by_state in MATRIX.items():
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == key[0])
        expected_states = set(STATES) if "doc_id" in rule.arguments else ({"fiche_saisine", "fiche_incident"} if "kind_name" in rule.arguments else {None})
        assert set(by_state) == expected_states, key
        for by_actor in by_state.values():
            assert tuple(by_actor) == ACTOR_NAMES, key


@pytest.mark.parametrize(("endpoint", "method", "state", "actor", "outcome"), _cases())
def test_permission(world: World, endpoint: str, method: str, state: str | None, actor: str, outcome: str) -> None:
    web = world.client(actor)
    url = world.url(endpoint, state)
    before = snapshot(world.app)
    assert before == world.pristine
    response = web.get(url) if method == "GET" else web.post(url, post_data(world, endpoint, state))
    body = response.get_data(as_text=True) if response.mimetype == "text/html" else ""
    location = urlsplit(response.headers.get("Location", ""))
    doc_id = world.docs.get(str(state))

    if outcome == OK:
        assert response.status_code == 200, body[:500]
    elif outcome == FORBIDDEN:
        assert response.status_code == 403 and "Accès refusé" in body
    elif outcome == NOT_FOUND:
        assert response.status_code == 404 and "Page introuvable" in body
    else:
        assert response.status_code == 302, (response.status_code, body[:500])
        if outcome == LOGIN:
            assert location.path == "/connexion"
            if actor == "anonymous":
                assert parse_qs(location.query).get("next") == [urlsplit(url).path]
        elif outcome == HOME:
            assert location.path == "/"
        elif outcome == VIEW:
            assert location.path == f"/documents/{doc_id}"
        elif outcome == EDIT:
            assert location.path.endswith("/modifier")
            if doc_id is not None:
                assert location.path == f"/documents/{doc_id}/modifier"
        else:  # pragma: no cover - a typo in the matrix
            pytest.fail(f"unknown outcome {outcome!r}")

    # A refusal reveals nothing of the document; an allowed read shows it.
    if state in STATES:
        kind = STATES[state][0]
        if outcome in (FORBIDDEN, NOT_FOUND, LOGIN):
            assert HOUSEHOLD[kind] not in body
        if outcome == OK and endpoint == "documents.view":
            assert HOUSEHOLD[kind] in body
        if outcome == OK and endpoint == "documents.download":
            assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")

    after = snapshot(world.app)
    effect = EFFECTS.get((endpoint, method, state, actor))
    if effect is not None:
        effect(world, before, after, state, actor, web, response)
    else:
        assert after == before, "a request that is not an allowed change changed the database"

    # Signing in and out change the session, not the database.
    signed_in = web.get("/").status_code == 200
    if endpoint == "auth.logout":
        assert not signed_in
    elif endpoint == "auth.login" and method == "POST":
        assert signed_in  # the anonymous visitor is now redacteur_A; the others stay who they were
    else:
        assert signed_in == (actor != "anonymous")


# Expected visible documents in the list, per actor (the same rule as the document page).
LISTED = {
    "redacteur_A": {"draft_saisine", "submitted_saisine", "submitted_incident"},
    "redacteur_B": set(),
    "coordinateur": {"submitted_saisine"},
    "instructeur": {"submitted_saisine", "submitted_incident"},
    "archiviste": {"submitted_saisine", "submitted_incident"},
    "admin": set(),
}


@pytest.mark.parametrize("actor", list(LISTED))
def test_document_list_shows_exactly_the_documents_the_actor_may_see(world: World, actor: str) -> None:
    body = world.client(actor).get("/").get_data(as_text=True)
    listed = {int(n) for n in re.findall(r'href="/documents/(\d+)"', body)}
    assert listed == {world.docs[s] for s in LISTED[actor]}
    for kind in HOUSEHOLD:
        if not any(STATES[s][0] == kind for s in LISTED[actor]):
            assert HOUSEHOLD[kind] not in body, f"{kind} data shown to {actor}"


# --------------------------------------------------------------------------------------------
# CSRF: every POST route, by a user otherwise allowed, without a valid token
# --------------------------------------------------------------------------------------------

# POST endpoint -> (actor otherwise allowed, state); the same request succeeds in the matrix.
CSRF_CASES: dict[str, tuple[str, str | None]] = {
    "auth.login": ("anonymous", None),
    "auth.logout": ("redacteur_A", None),
    "documents.new": ("redacteur_A", "fiche_saisine"),
    "documents.edit": ("redacteur_A", "draft_saisine"),
    "documents.submit": ("redacteur_A", "draft_saisine"),
    "documents.review": ("coordinateur", "submitted_saisine"),
    "admin.organisations": ("admin", None),
    "admin.users": ("admin", None),
}
CSRF_MESSAGE = "Le formulaire a expiré ou n'a pas été envoyé depuis cette application (jeton CSRF manquant ou invalide)."


def test_the_csrf_cases_cover_every_post_route(world: World) -> None:
    """A POST route added to the app without a CSRF case fails here."""
    posts = {rule.endpoint for rule in world.app.url_map.iter_rules() if "POST" in (rule.methods or ())}
    assert posts == set(CSRF_CASES)
    for endpoint, (actor, state) in CSRF_CASES.items():
        # The same request WITH its token is allowed in the matrix: it does change something
        # (a document, an account) or, for sign-in and sign-out, the session.
        outcome = MATRIX[(endpoint, "POST")][state][actor]
        assert outcome not in (FORBIDDEN, NOT_FOUND), (endpoint, actor, outcome)
        assert (endpoint, "POST", state, actor) in EFFECTS or endpoint.startswith("auth."), (endpoint, actor)


@pytest.mark.parametrize("token", ["absent", "other-session"])
@pytest.mark.parametrize("endpoint", list(CSRF_CASES))
def test_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(world: World, endpoint: str, token: str) -> None:
    actor, state = CSRF_CASES[endpoint]
    web = world.client(actor)
    data = post_data(world, endpoint, state)
    if token == "other-session":
        data["csrf_token"] = world.client("anonymous").token  # valid, but for another session
    before = snapshot(world.app)
    assert before == world.pristine
    response = web.post(world.url(endpoint, state), data, csrf=False)
    assert response.status_code == 400
    assert CSRF_MESSAGE in response.get_data(as_text=True).replace("&#39;", "'")
    assert snapshot(world.app) == before
    # Nor did the session change: nobody was signed in or out.
    assert (web.get("/").status_code == 200) == (actor != "anonymous")
