"""The purge of the active base (issue 15): drafts past the CNIL's term go, the archive's documents stay."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select, update

from tests.conftest import Clock, pdf_titled
from tests.test_archive_web import deposit, record_id_from
from tests.test_sessions import offered
from tests.test_web import doc_id_from, example_form, submitted
from tests.workers import run_later_jobs
from webforms import cli, db
from webforms.accounts.kept import KEPT_TERM
from webforms.archive.search import awaiting_signed_copy
from webforms.jobs import queue_of
from webforms.models import Apercu, ArchiveRecord, Document, Event, KeptForm, User
from webforms.purge import DEFAULT_DAYS, cutoff_of, purge

SECOND = dt.timedelta(seconds=1)


def _last_saved(app: Flask, doc_id: int, at: dt.datetime) -> None:
    with app.app_context():
        db.session().execute(update(Document).where(Document.id == doc_id).values(updated_at=at))
        db.session().commit()


def _ids(app: Flask) -> set[int]:
    with app.app_context():
        return set(db.session().scalars(select(Document.id)))


def test_a_draft_goes_at_the_term_and_not_a_second_before(app: Flask, login_as: Any, clock: Clock) -> None:
    web, _ = login_as("redacteur")
    # Two drafts told apart by what was typed: their previews are different files.
    at_term, before_term = (doc_id_from(web.post("/documents/nouveau/fiche_incident", example_form("fiche_incident") | {"mesure-menage_nom": name})) for name in ("Un", "Deux"))
    assert web.preview(f"/documents/{at_term}/telecharger/pdf").status_code == 200  # a stored preview
    cutoff = cutoff_of(clock.now, DEFAULT_DAYS)
    assert cutoff == clock.now - dt.timedelta(days=730)  # 2 years after the last contact
    _last_saved(app, at_term, cutoff)
    _last_saved(app, before_term, cutoff + SECOND)
    with app.app_context():
        store = app.extensions["webforms.services"].store
        previews = set(db.session().scalars(select(Apercu.sha256).where(Apercu.document_id == at_term)))
        assert previews and all(store.exists(d) for d in previews)
        report = purge(db.session(), store, now=clock.now)
        assert report.drafts == [at_term] and report.files == len(previews)
        assert not any(store.exists(d) for d in previews)
    assert at_term not in _ids(app) and before_term in _ids(app)


def test_a_dry_run_counts_and_removes_nothing(app: Flask, login_as: Any, clock: Clock) -> None:
    web, _ = login_as("redacteur")
    doc_id = doc_id_from(web.post("/documents/nouveau/fiche_incident", example_form("fiche_incident")))
    run_later_jobs(app)  # its preview rendered: no work left pending for it
    _last_saved(app, doc_id, clock.now - dt.timedelta(days=DEFAULT_DAYS + 1))
    with app.app_context():
        report = purge(db.session(), app.extensions["webforms.services"].store, now=clock.now, dry_run=True)
        assert report.drafts == [doc_id]
        assert db.session().scalar(select(Event).where(Event.action == "purge")) is None
    assert doc_id in _ids(app)


def test_submitted_documents_archived_or_not_are_never_purged(app: Flask, login_as: Any, clock: Clock) -> None:
    writer, _ = login_as("redacteur")
    archivist, _ = login_as("archiviste", "Département du Pas-de-Calais")
    archived, waiting = submitted(writer, "fiche_saisine"), submitted(writer, "fiche_incident")
    record_id_from(deposit(archivist, archived, pdf_titled("copie signée")))
    old = clock.now - dt.timedelta(days=DEFAULT_DAYS * 3)
    for doc_id in (archived, waiting):
        _last_saved(app, doc_id, old)
    with app.app_context():
        report = purge(db.session(), app.extensions["webforms.services"].store, now=clock.now)
        assert report.drafts == [] and report.submitted_kept == 1  # the one not archived, counted
        assert db.session().scalar(select(ArchiveRecord.document_id)) == archived
    assert {archived, waiting} <= _ids(app)


def test_a_submitted_document_never_archived_is_counted_from_the_term_kept_and_still_awaited(app: Flask, login_as: Any, clock: Clock) -> None:
    """The decision of docs/decisions.md: past the term, counted for the archivists, never deleted (public archive)."""
    writer, _ = login_as("redacteur")
    at_term, before_term = submitted(writer, "fiche_saisine"), submitted(writer, "fiche_incident")
    cutoff = cutoff_of(clock.now, DEFAULT_DAYS)
    _last_saved(app, at_term, cutoff)
    _last_saved(app, before_term, cutoff + SECOND)
    with app.app_context():
        report = purge(db.session(), app.extensions["webforms.services"].store, now=clock.now)
        assert report.submitted_kept == 1 and report.drafts == []  # the one at the term, not the one a second younger
        (logged,) = db.session().scalars(select(Event).where(Event.action == "purge"))
    assert {at_term, before_term} <= _ids(app)  # neither deleted
    archivist, account = login_as("archiviste", "Département du Pas-de-Calais")
    with app.app_context():
        waiting, _total = awaiting_signed_copy(db.session(), db.session().get(User, account.id))
    assert at_term in [d.id for d in waiting]  # still on the archivists' list, to be deposited
    assert archivist.get(f"/documents/{at_term}").status_code == 200
    assert logged.detail["brouillons"] == 0 and logged.detail["soumis_non_archives"] == 1  # logged with nothing deleted


def test_the_command_purges_with_the_configured_term_and_logs_counts_only(app: Flask, login_as: Any, clock: Clock) -> None:
    web, _ = login_as("redacteur")
    form = example_form("fiche_incident") | {"mesure-menage_nom": "Famille Tartempion"}
    young, old = (doc_id_from(web.post("/documents/nouveau/fiche_incident", form)) for _ in range(2))
    run_later_jobs(app)
    now = dt.datetime.now(dt.UTC)  # the command's clock is the real one
    _last_saved(app, young, now - dt.timedelta(days=29))
    _last_saved(app, old, now - dt.timedelta(days=31))
    env = {"WEBFORMS_INSTANCE_PATH": app.instance_path, "DATABASE_URL": app.config["DATABASE_URL"], "WEBFORMS_PURGE_DAYS": "30"}
    dry = CliRunner().invoke(cli.main, ["purge", "--dry-run", "--json"], env=env)
    assert dry.exit_code == 0 and json.loads(dry.output) | {"avant": None} == {"avant": None, "jours": 30, "brouillons": 1, "fichiers": 0, "soumis_non_archives": 0, "formulaires_conserves": 0, "essai": True}
    assert {young, old} <= _ids(app)
    done = CliRunner().invoke(cli.main, ["purge"], env=env)
    assert done.exit_code == 0 and "1 brouillon(s) jamais soumis" in done.output and "supprimés" in done.output
    assert old not in _ids(app) and young in _ids(app)
    with app.app_context():
        (logged,) = db.session().scalars(select(Event).where(Event.action == "purge"))
        assert logged.document_id is None and logged.detail["brouillons"] == 1 and logged.detail["jours"] == 30
        # When, the term, how many: no name, no id, no reference of what went.
        assert set(logged.detail) == {"avant", "jours", "brouillons", "fichiers", "soumis_non_archives", "formulaires_conserves"}
        assert "Tartempion" not in json.dumps(logged.detail)


def test_the_purge_runs_every_night_on_the_maintenance_queue(app: Flask) -> None:
    queue = queue_of(app)
    task = queue.tasks["purger_base_active"]
    assert task.queue == "maintenance" and task.queueing_lock == "purger_base_active"
    assert any(p.task.name == "purger_base_active" and p.cron == "17 3 * * *" for p in queue.periodic_registry.periodic_tasks.values())


def test_a_kept_form_is_offered_back_for_30_days_then_purged_and_never_offered_again(app: Flask, login_as: Any, session_clock: Clock) -> None:
    """CNIL: a form kept after its session ended lives 30 days (issue 15; webforms.accounts.kept.KEPT_TERM)."""
    web, account = login_as("redacteur")
    assert dt.timedelta(days=30) == KEPT_TERM
    young, old = "/documents/nouveau/fiche_saisine", "/documents/nouveau/fiche_incident"
    with app.app_context():
        s = db.session()
        for page, age in ((young, KEPT_TERM - SECOND), (old, KEPT_TERM + SECOND)):
            s.add(KeptForm(user_id=account.id, page=page, action=page, fields={"prescripteur-nom": [f"Tapé {page}"]}, files_dropped=False, kept_at=session_clock.now - age))
        s.commit()
    assert offered(web.get(young).get_data(as_text=True))["fields"] == {"prescripteur-nom": [f"Tapé {young}"]}
    assert 'id="formulaire-conserve"' not in web.get(old).get_data(as_text=True)  # past its term: not offered
    with app.app_context():
        report = purge(db.session(), app.extensions["webforms.services"].store, now=session_clock.now, dry_run=True)
        assert report.kept_forms == 1 and len(db.session().scalars(select(KeptForm)).all()) == 2  # a dry run deletes nothing
        report = purge(db.session(), app.extensions["webforms.services"].store, now=session_clock.now)
        assert report.kept_forms == 1
        assert [k.page for k in db.session().scalars(select(KeptForm))] == [young]
        (logged,) = db.session().scalars(select(Event).where(Event.action == "purge"))
        assert logged.detail["formulaires_conserves"] == 1
    assert offered(web.get(young).get_data(as_text=True))["fields"] == {"prescripteur-nom": [f"Tapé {young}"]}
