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

from schemas import registry
from webforms import db, policy
from webforms.models import Document, User

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
