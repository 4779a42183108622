"""Submitted documents and their stored renditions are write-once, in the database itself.

A rendition never changes. A submitted document is never deleted and keeps its reference, kind,
organisation and submission date; what its lifecycle still changes (its form during a
régularisation, a new frozen version and its data at the next submission, the decision) stays
free. The legitimate moves themselves are exercised by the rest of the suite.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text, update

from tests.test_web import submitted
from webforms import db
from webforms.models import Document, Rendition, WriteOnceViolation


@pytest.fixture
def doc_id(login_as: Any, make_user: Any) -> int:
    """A fiche saisine submitted through the web, and a second organisation in the database."""
    web, _ = login_as("redacteur")
    make_user("redacteur", "Autre association")
    return submitted(web, "fiche_saisine")


def _state(app: Flask, doc_id: int) -> tuple[Any, ...]:
    with app.app_context():
        session = db.session()
        doc = session.get(Document, doc_id)
        renditions = [(r.id, r.version, r.format, r.sha256, r.size) for r in session.scalars(select(Rendition).order_by(Rendition.id))]
        return doc.reference, doc.kind, doc.organisation_id, doc.submitted_at, renditions


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE rendition SET sha256 = repeat('0', 64)",
        "UPDATE rendition SET template_name = 'autre.html' WHERE document_id = :doc",
        "DELETE FROM rendition WHERE document_id = :doc",
        "TRUNCATE rendition CASCADE",
        "DELETE FROM document WHERE id = :doc",
        "TRUNCATE document CASCADE",
        "UPDATE document SET reference = 'FS-2019-999999' WHERE id = :doc",
        "UPDATE document SET reference = NULL WHERE id = :doc",
        "UPDATE document SET kind = 'fiche_incident' WHERE id = :doc",
        "UPDATE document SET organisation_id = (SELECT max(id) FROM organisation) WHERE id = :doc",
        "UPDATE document SET submitted_at = NULL WHERE id = :doc",
        "UPDATE document SET submitted_at = submitted_at - interval '1 day' WHERE id = :doc",
    ],
)
def test_the_database_itself_refuses_to_change_a_submission(app: Flask, doc_id: int, statement: str) -> None:
    before = _state(app, doc_id)
    with app.app_context():
        session = db.session()
        with pytest.raises(Exception, match="écriture unique"):
            session.execute(text(statement), {"doc": doc_id} if ":doc" in statement else {})
        session.rollback()
    assert _state(app, doc_id) == before


def test_the_database_lets_the_lifecycle_change_the_rest_of_a_submitted_document(app: Flask, doc_id: int) -> None:
    """What a régularisation, a new submission and a decision write stays allowed."""
    with app.app_context():
        session = db.session()
        session.execute(
            text(
                "UPDATE document SET data = '{}', summary = 'corrigé', submitted_data = '{}', updated_at = now(),"
                " submitted_at = submitted_at + interval '2 days', review = '{}', reviewed_at = now(), echeance_date = NULL WHERE id = :doc"
            ),
            {"doc": doc_id},
        )
        session.execute(text("UPDATE document SET submitted_at = submitted_at WHERE id = :doc"), {"doc": doc_id})  # same instant: a fixed clock
        session.commit()
        assert (session.get(Document, doc_id).summary, session.get(Document, doc_id).data) == ("corrigé", {})


def test_a_draft_never_submitted_stays_free(app: Flask, login_as: Any) -> None:
    _, account = login_as("redacteur")
    with app.app_context():
        session = db.session()
        draft = Document(kind="fiche_saisine", organisation_id=account.organisation_id, author_id=account.id, statut="brouillon", data={})
        session.add(draft)
        session.commit()
        session.execute(text("UPDATE document SET kind = 'fiche_incident', organisation_id = organisation_id WHERE id = :doc"), {"doc": draft.id})
        session.execute(text("DELETE FROM document WHERE id = :doc"), {"doc": draft.id})
        session.commit()
        assert session.scalar(select(Document).where(Document.id == draft.id)) is None


def test_the_orm_refuses_the_same_before_the_database_does(app: Flask, doc_id: int) -> None:
    before = _state(app, doc_id)
    with app.app_context():
        session = db.session()
        doc = session.get(Document, doc_id)
        changes = [
            lambda: setattr(doc.renditions[0], "sha256", "0" * 64),
            lambda: session.delete(doc.renditions[0]),
            lambda: session.delete(doc),
            lambda: setattr(doc, "reference", "FS-2019-999999"),
            lambda: setattr(doc, "kind", "fiche_incident"),
            lambda: setattr(doc, "submitted_at", None),
            lambda: setattr(doc, "submitted_at", doc.submitted_at - dt.timedelta(seconds=1)),
        ]
        for change in changes:
            change()
            with pytest.raises(WriteOnceViolation, match="écriture unique"):
                session.commit()
            session.rollback()
        with pytest.raises(WriteOnceViolation, match="écriture unique"):
            session.execute(update(Rendition).values(label="autre"))
        session.rollback()
        doc = session.get(Document, doc_id)
        doc.data, doc.submitted_at = {}, doc.submitted_at + dt.timedelta(days=1)  # a later submission
        session.commit()
    reference, kind, organisation_id, submitted_at, renditions = _state(app, doc_id)
    assert (reference, kind, organisation_id, renditions) == (before[0], before[1], before[2], before[4])
    assert submitted_at == before[3] + dt.timedelta(days=1)
