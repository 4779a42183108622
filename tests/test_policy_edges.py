"""Each rule of ``policy`` from both sides of its edge, the list and the page agreeing (issue 15).

Dropping the reopened-dossier case from ``visible_documents`` once left every test green: the
dossier vanished from the instructeur's list while its page still answered 200. Here every
document state meets every role, and the list (``visible_documents``) must hold exactly the
documents the page (``can_view``) shows.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from schemas import registry
from webforms import db, policy
from webforms.models import Document, Mesure, User

ROLES = ("redacteur", "coordinateur", "instructeur", "archiviste", "admin")
AT = dt.datetime(2019, 10, 1, 8, tzinfo=dt.UTC)
# (statut, submitted_at): a draft never submitted, a dossier reopened for correction (a draft
# again, submitted before), submitted, decided.
STATES = {"brouillon": ("brouillon", None), "rouvert": ("brouillon", AT), "soumis": ("soumis", AT), "decide": ("decide", AT)}


@pytest.fixture
def corpus(app: Flask, make_user: Any) -> dict[str, Any]:
    """Every role in two organisations, and a document of every kind in every state in both."""
    accounts = {(role, org): make_user(role, org) for role, org in itertools.product(ROLES, ("Asso A", "Asso B"))}
    with app.app_context():
        session = db.session()
        docs = {}
        for n, (kind, state, org) in enumerate(itertools.product(sorted(registry()), STATES, ("Asso A", "Asso B"))):
            author = accounts[("redacteur", org)]
            statut, submitted_at = STATES[state]
            doc = Document(kind=kind, organisation_id=author.organisation_id, author_id=author.id, statut=statut, data={}, submitted_at=submitted_at, reference=None if submitted_at is None else f"T-{n}")
            session.add(doc)
            session.flush()
            docs[(kind, state, org)] = doc.id
        session.commit()
    return {"accounts": accounts, "docs": docs}


def _seen(app: Flask, account: Any, docs: dict[Any, int]) -> tuple[set[Any], set[Any]]:
    """What ``account`` finds in its list, and what its pages would show."""
    with app.app_context():
        session = db.session()
        user = session.get(User, account.id)
        listed = {doc.id for doc in session.scalars(policy.visible_documents(user))}
        shown = {key for key, doc_id in docs.items() if policy.can_view(user, session.get(Document, doc_id))}
        return {key for key, doc_id in docs.items() if doc_id in listed}, shown


@pytest.mark.parametrize("role", ROLES)
def test_the_list_holds_exactly_what_the_pages_show(app: Flask, corpus: dict[str, Any], role: str) -> None:
    listed, shown = _seen(app, corpus["accounts"][(role, "Asso A")], corpus["docs"])
    assert listed == shown


def test_each_role_sees_its_side_of_every_edge(app: Flask, corpus: dict[str, Any]) -> None:
    docs = corpus["docs"]
    seen = {role: _seen(app, corpus["accounts"][(role, "Asso A")], docs)[0] for role in ROLES}
    kinds = registry()
    # A writer: every state of their organisation's documents, nothing of another's.
    assert seen["redacteur"] == {key for key in docs if key[2] == "Asso A"}
    # A recipient: submitted, decided and reopened documents of the kinds it receives, of every
    # organisation; never a draft that was not submitted yet.
    for role in ("coordinateur", "instructeur", "archiviste"):
        expected = {key for key in docs if role in kinds[key[0]].recipient_roles and key[1] != "brouillon"}
        assert seen[role] == expected, role
        assert any(key[1] == "rouvert" for key in expected), role  # the edge the old bug crossed
    # The administrator manages accounts, never reads households' documents.
    assert seen["admin"] == set()


# --- Each predicate on both sides of its edge, on objects alone (the rules read no database) ---
# The territory is the one rule that reads it (``webforms.territoires.scope``): here it is set by
# ``territory`` (within by default), and its own edge is tried below and in tests/test_territoires.py.


@pytest.fixture(autouse=True)
def territory(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Set whether the objects of a case are within the user's territories (default: within)."""

    def within(inside: bool) -> None:
        monkeypatch.setattr(policy, "document_in_scope", lambda user, doc: inside)
        monkeypatch.setattr(policy, "mesure_in_scope", lambda user, mesure: inside)

    within(True)
    return within


def _user(role: str, org: int = 1) -> User:
    return User(role=role, organisation_id=org)


def _doc(kind: str = "fiche_saisine", statut: str = "soumis", org: int = 1, appel_id: int | None = None, submitted: bool | None = None) -> Document:
    submitted_at = AT if (statut != "brouillon" if submitted is None else submitted) else None
    return Document(kind=kind, statut=statut, organisation_id=org, appel_id=appel_id, submitted_at=submitted_at)


@pytest.mark.parametrize(
    ("role", "doc", "allowed"),
    [
        ("coordinateur", _doc(statut="soumis"), True),
        ("coordinateur", _doc(statut="decide"), True),  # a decision may be recorded again
        ("coordinateur", _doc(statut="brouillon"), False),
        ("coordinateur", _doc(statut="brouillon", submitted=True), False),  # reopened: not to decide
        ("instructeur", _doc(statut="soumis"), False),  # not the role the kind names
        ("coordinateur", _doc(kind="fiche_incident", statut="soumis"), False),  # no review declared
    ],
)
def test_can_review(role: str, doc: Document, allowed: bool) -> None:
    assert policy.can_review(_user(role), doc) is allowed


@pytest.mark.parametrize(
    ("user", "doc", "allowed"),
    [
        (_user("redacteur"), _doc(kind="candidature_aml", appel_id=1, statut="soumis"), True),
        (_user("redacteur"), _doc(kind="candidature_aml", appel_id=1, statut="brouillon"), False),
        (_user("redacteur"), _doc(kind="candidature_aml", appel_id=1, statut="decide"), False),
        (_user("redacteur"), _doc(statut="soumis"), False),  # not a candidature to a call
        (_user("redacteur", org=2), _doc(kind="candidature_aml", appel_id=1, statut="soumis"), False),
        (_user("instructeur"), _doc(kind="candidature_aml", appel_id=1, statut="soumis"), False),
    ],
)
def test_can_reopen(user: User, doc: Document, allowed: bool) -> None:
    assert policy.can_reopen(user, doc) is allowed


@pytest.mark.parametrize(
    ("user", "doc", "allowed"),
    [
        (_user("redacteur"), _doc(statut="brouillon"), True),
        (_user("redacteur"), _doc(statut="brouillon", submitted=True), True),  # reopened: theirs to correct
        (_user("redacteur"), _doc(statut="soumis"), False),
        (_user("redacteur", org=2), _doc(statut="brouillon"), False),
        (_user("coordinateur"), _doc(statut="brouillon"), False),
    ],
)
def test_can_edit(user: User, doc: Document, allowed: bool) -> None:
    assert policy.can_edit(user, doc) is allowed


@pytest.mark.parametrize(
    ("predicate", "role", "doc", "allowed"),
    [
        (policy.can_judge_pieces, "instructeur", _doc(kind="candidature_aml", statut="soumis"), True),
        (policy.can_judge_pieces, "instructeur", _doc(kind="candidature_aml", statut="brouillon", submitted=True), False),
        (policy.can_judge_pieces, "archiviste", _doc(kind="candidature_aml", statut="soumis"), False),
        (policy.can_archive, "archiviste", _doc(statut="soumis"), True),
        (policy.can_archive, "archiviste", _doc(statut="decide"), True),
        (policy.can_archive, "archiviste", _doc(statut="brouillon", submitted=True), False),  # reopened: nothing final to archive
        (policy.can_archive, "instructeur", _doc(statut="soumis"), False),
    ],
)
def test_pieces_and_archive_need_a_document_submitted_as_it_stands(predicate: Any, role: str, doc: Document, allowed: bool) -> None:
    assert predicate(_user(role), doc) is allowed


@pytest.mark.parametrize(("user", "frozen"), [(_user("redacteur"), False), (_user("redacteur", org=2), True), (_user("instructeur"), True)])
def test_who_reads_the_frozen_version(user: User, frozen: bool) -> None:
    assert policy.sees_frozen(user, _doc(statut="brouillon", submitted=True)) is frozen


@pytest.mark.parametrize(
    ("user", "mesure", "view", "edit"),
    [
        (_user("redacteur"), Mesure(organisation_id=1, type_mesure="asll"), True, True),
        (_user("redacteur", org=2), Mesure(organisation_id=1, type_mesure="aml"), False, False),
        (_user("instructeur"), Mesure(organisation_id=1, type_mesure="asll"), True, False),
        (_user("coordinateur"), Mesure(organisation_id=1, type_mesure="aml"), True, False),
        (_user("coordinateur"), Mesure(organisation_id=1, type_mesure="asll"), False, False),
        (_user("archiviste"), Mesure(organisation_id=1, type_mesure="aml"), False, False),
    ],
)
def test_measures_on_both_sides(user: User, mesure: Mesure, view: bool, edit: bool) -> None:
    assert policy.can_view_mesure(user, mesure) is view
    assert policy.can_edit_mesure(user, mesure) is edit


@pytest.mark.parametrize(
    ("check", "role", "subject"),
    [
        (policy.can_view, "coordinateur", _doc(statut="soumis")),
        (policy.can_view, "instructeur", _doc(kind="candidature_aml", statut="soumis")),
        (policy.can_review, "coordinateur", _doc(statut="soumis")),
        (policy.can_judge_pieces, "instructeur", _doc(kind="candidature_aml", statut="soumis")),
        (policy.can_instruct, "instructeur", _doc(kind="candidature_aml", appel_id=1, statut="soumis")),
        (policy.can_archive, "archiviste", _doc(statut="soumis")),
        (policy.can_view_mesure, "instructeur", Mesure(organisation_id=1, type_mesure="asll_maintien")),
        (policy.can_view_mesure, "coordinateur", Mesure(organisation_id=1, type_mesure="aml")),
    ],
)
def test_outside_the_user_s_territories_every_right_is_refused(territory: Any, check: Any, role: str, subject: Any) -> None:
    """Issue 13: the same case, allowed within the user's territories, refused outside them."""
    assert check(_user(role), subject) is True
    territory(False)
    assert check(_user(role), subject) is False


def test_a_writer_keeps_its_organisation_s_documents_and_measures_outside_any_territory(territory: Any) -> None:
    territory(False)
    assert policy.can_view(_user("redacteur"), _doc(statut="brouillon")) and policy.can_edit(_user("redacteur"), _doc(statut="brouillon"))
    assert policy.can_view_mesure(_user("redacteur"), Mesure(organisation_id=1, type_mesure="aml"))


@pytest.mark.parametrize("role", ROLES)
def test_role_rights(role: str) -> None:
    user = _user(role)
    assert policy.can_create(user, "fiche_saisine") is (role == "redacteur")
    assert policy.can_create(user, "inexistant") is False
    assert policy.can_list_dossiers(user) is (role in ("instructeur", "archiviste"))
    assert policy.can_search_archive(user) is (role != "admin")
    assert policy.can_export_archive(user) is policy.can_manage_retention(user) is (role == "archiviste")
    assert policy.can_set_retention_rules(user) is policy.can_administer(user) is (role == "admin")
    assert policy.can_create_mesure(user) is (role == "redacteur")


def test_the_measures_list_holds_exactly_what_the_measure_pages_show(app: Flask, make_user: Any) -> None:
    accounts = {(role, org): make_user(role, org) for role, org in itertools.product(ROLES, ("Asso A", "Asso B"))}
    with app.app_context():
        session = db.session()
        for n, (kind, org) in enumerate(itertools.product(("aml", "asll"), ("Asso A", "Asso B"))):
            referent = accounts[("redacteur", org)]
            session.add(Mesure(reference=f"M-{n}", organisation_id=referent.organisation_id, referent_id=referent.id, type_mesure=kind, menage_nom="N", menage_prenom="P", duree_mois=6))
        session.commit()
        mesures = list(session.scalars(select(Mesure)))
        for role in ROLES:
            user = session.get(User, accounts[(role, "Asso A")].id)
            listed = {m.id for m in session.scalars(policy.visible_mesures(user))}
            assert listed == {m.id for m in mesures if policy.can_view_mesure(user, m)}, role
