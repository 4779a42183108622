"""The working store's orphans (issue 15): one list of what names a stored file, and a sweep after a grace period."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import Column, MetaData, String, Table, select

from tests.conftest import Clock
from tests.test_web import submitted
from webforms import cli, db
from webforms.archive import audit
from webforms.archive.orphans import DEFAULT_GRACE_HOURS, _sweep, find_orphans, remove_orphans
from webforms.archive.verify import verify
from webforms.documents.stored import NOT_STORED_FILES, STORED_FILE_COLUMNS, STORED_FILE_KEYS, held_digests
from webforms.jobs import queue_of
from webforms.models import ArchiveLog, Base, Document, Travail

GRACE = dt.timedelta(hours=DEFAULT_GRACE_HOURS)
MINUTE = dt.timedelta(minutes=1)
# A column that may name a file: a digest, or a file, path or name of one.
FILE_LIKE = re.compile(r"sha\d*|digest|empreinte|fichier|file|path|chemin")


def unlisted_columns(metadata: MetaData) -> list[str]:
    """The columns named like a file reference that neither list of ``webforms.documents.stored`` declares."""
    listed = {(c.class_.__table__.name, c.key) for c in (*STORED_FILE_COLUMNS, *NOT_STORED_FILES)}
    return sorted(
        f"{table.name}.{column.name}"
        for table in metadata.tables.values()
        for column in table.columns
        if FILE_LIKE.search(column.name) and (table.name, column.name) not in listed
    )


def test_every_column_named_like_a_file_is_declared_stored_or_not() -> None:
    """A table that gains a digest column fails here until the column is in one of the two lists."""
    assert unlisted_columns(Base.metadata) == []


def test_a_new_digest_column_is_caught() -> None:
    """The check above is real: a column added with a digest's name, in neither list, is named."""
    extra = MetaData()
    for table in Base.metadata.tables.values():
        table.to_metadata(extra)
    Table("piece_jointe_message", extra, Column("fichier_sha256", String(64)))
    assert unlisted_columns(extra) == ["piece_jointe_message.fichier_sha256"]


def test_the_lists_do_not_overlap_and_name_real_columns() -> None:
    assert not set(STORED_FILE_COLUMNS) & set(NOT_STORED_FILES)
    assert all(column.key in column.class_.__table__.columns for column in (*STORED_FILE_COLUMNS, *NOT_STORED_FILES))
    assert [(column.key, key) for column, key in STORED_FILE_KEYS] == [("resultat", "pdf")]


def _age(path: Path, at: dt.datetime) -> None:
    """Make the file look last written at ``at``."""
    os.utime(path, (at.timestamp(), at.timestamp()))


def _store(app: Flask) -> Any:
    return app.extensions["webforms.services"].store


def test_an_orphan_past_the_grace_period_goes_a_young_one_and_named_ones_stay(app: Flask, login_as: Any, clock: Clock) -> None:
    web, _ = login_as("redacteur")
    doc_id = submitted(web, "fiche_saisine")  # its DOCX and PDF: named by renditions
    store = _store(app)
    old, young = store.put(b"reste d'un depot interrompu"), store.put(b"un travail en cours vient de l'ecrire")
    preview_pdf = store.put(b"%PDF apercu d'une version de modele")
    with app.app_context():
        session = db.session()
        named = {r.sha256 for r in session.get(Document, doc_id).renditions}
        session.add(Travail(nature="apercu_modele_pdf", libelle="Aperçu", statut="termine", resultat={"pdf": preview_pdf}))
        session.commit()
        assert named | {preview_pdf} <= held_digests(session) and old not in held_digests(session)
    for digest in (*named, old, preview_pdf):
        _age(store.path(digest), clock.now - GRACE - MINUTE)
    _age(store.path(young), clock.now - GRACE + MINUTE)
    partial = store.root / ".tmp-hote-999999-abc"  # a copy left by a writer killed long ago
    partial.write_bytes(b"partiel")
    _age(partial, clock.now - GRACE - MINUTE)
    with app.app_context():
        session = db.session()
        services = app.extensions["webforms.archive"]
        listed = find_orphans(session, store.root, now=clock.now, grace=GRACE)
        assert sorted(o.name for o in listed) == sorted([f"{old[:2]}/{old}", ".tmp-hote-999999-abc"])
        removed = remove_orphans(session, services, now=clock.now, grace=GRACE)
        assert {o.name for o in removed} == {o.name for o in listed}
        assert not store.exists(old) and not partial.exists()
        assert store.exists(young) and store.exists(preview_pdf) and all(store.exists(d) for d in named)
        logged = list(session.scalars(select(ArchiveLog).where(ArchiveLog.action == "orphan_removed")))
        assert sorted(row.detail["fichier"] for row in logged) == sorted(o.name for o in listed)
        assert all(row.seal for row in logged)  # sealed like every row of the trail
        assert verify(session, services).problems == []  # witnessed in the journal file too
        assert find_orphans(session, store.root, now=clock.now, grace=GRACE) == []


def test_a_file_stored_again_counts_as_written_now(app: Flask, clock: Clock) -> None:
    """An orphan's bytes uploaded again, before the new row commits: the sweep must spare them."""
    store = _store(app)
    digest = store.put(b"les memes octets")
    _age(store.path(digest), clock.now - GRACE - MINUTE)
    with app.app_context():
        assert [o.name for o in find_orphans(db.session(), store.root, now=clock.now, grace=GRACE)] == [f"{digest[:2]}/{digest}"]
    store.put(b"les memes octets")  # stored again: the file is touched, now (the real time)
    with app.app_context():
        later = dt.datetime.fromtimestamp(store.path(digest).stat().st_mtime, dt.UTC)
        assert find_orphans(db.session(), store.root, now=later + GRACE - MINUTE, grace=GRACE) == []
        assert len(find_orphans(db.session(), store.root, now=later + GRACE + MINUTE, grace=GRACE)) == 1


def test_a_file_stored_again_during_the_sweep_is_kept_and_the_trail_says_so(app: Flask, clock: Clock, monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store(app)
    digest = store.put(b"reutilise pendant le balayage")
    _age(store.path(digest), clock.now - GRACE - MINUTE)
    real_commit = audit.commit

    def reused_meanwhile(session: Any, svc: Any) -> None:
        real_commit(session, svc)
        store.put(b"reutilise pendant le balayage")  # a request stores the same bytes after the listing

    monkeypatch.setattr(audit, "commit", reused_meanwhile)
    with app.app_context():
        session = db.session()
        assert remove_orphans(session, app.extensions["webforms.archive"], now=clock.now, grace=GRACE) == []
        actions = list(session.scalars(select(ArchiveLog.action).where(ArchiveLog.detail["fichier"].as_string() == f"{digest[:2]}/{digest}").order_by(ArchiveLog.id)))
    assert store.exists(digest)
    assert actions == ["orphan_removed", "orphan_kept"]


def test_the_command_lists_then_removes_and_the_sweep_runs_daily(app: Flask) -> None:
    store = _store(app)
    digest = store.put(b"orphelin du magasin")
    now = dt.datetime.now(dt.UTC)  # the command's clock is the real one
    _age(store.path(digest), now - GRACE - MINUTE)
    env = {"WEBFORMS_INSTANCE_PATH": app.instance_path, "DATABASE_URL": app.config["DATABASE_URL"]}
    listed = CliRunner().invoke(cli.main, ["fichiers", "orphelins", "--json"], env=env)
    assert listed.exit_code == 0, listed.output
    assert [o["fichier"] for o in json.loads(listed.output)["orphelins"]] == [f"{digest[:2]}/{digest}"]
    assert store.exists(digest)  # listing removes nothing
    done = CliRunner().invoke(cli.main, ["fichiers", "orphelins", "--supprimer"], env=env)
    assert done.exit_code == 0 and "1 fichier(s) supprimé(s)" in done.output
    assert not store.exists(digest)
    queue = queue_of(app)
    assert queue.tasks["balayer_fichiers_orphelins"].queue == "maintenance"
    assert any(p.task.name == "balayer_fichiers_orphelins" for p in queue.periodic_registry.periodic_tasks.values())
    again = store.put(b"un autre orphelin")
    _age(store.path(again), now - GRACE - MINUTE)
    with app.app_context():
        assert _sweep(db.session(), now=now) == 1
    assert not store.exists(again)
