"""Staged files apart (issue 15): a deposit interrupted before or after its commit never makes verification cry wolf.

A kill -9 is simulated where it matters: the clean-up a dying process cannot run is disabled,
and the deposit stops at the step named (before its commit, or between its commit and the move
of its files into the archive).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from tests.conftest import pdf_titled
from tests.test_archive import World, archive_state
from webforms import db, jobs
from webforms.archive import deposit as deposit_module
from webforms.archive.staging import STAGED_DAYS, _clean_staging, settle_committed
from webforms.archive.verify import verify


class Killed(BaseException):
    """The process dies here (nothing after this line runs, no clean-up either)."""


@pytest.fixture
def world(app: Flask, login_as: Any) -> World:
    return World(app, login_as)


def _killed_before_commit(app: Flask, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = world.services().archive
    monkeypatch.setattr(store, "discard", lambda batch: None)  # a killed process cleans nothing

    def dies(*args: Any, **kwargs: Any) -> None:
        raise Killed

    monkeypatch.setattr(deposit_module, "commit", dies)
    with app.app_context(), pytest.raises(Killed):
        world.deposit(pdf_titled("tué avant validation"), tmp=tmp_path)
    monkeypatch.undo()


def test_a_deposit_killed_before_its_commit_leaves_nothing_in_the_archive_and_verify_stays_quiet(
    app: Flask, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = archive_state(app)
    _killed_before_commit(app, world, tmp_path, monkeypatch)
    store = world.services().archive
    assert archive_state(app) == before  # no record, no row, no file in the archive
    ((_batch, _, digests),) = store.batches()
    assert len(digests) == 2  # the signed copy and the PDF/A, staged apart
    with app.app_context():
        assert verify(db.session(), world.services()).problems == []
        assert store.batches() != []  # verification removes nothing that is not settled


def test_an_abandoned_staging_folder_is_removed_after_the_delay_not_before(
    app: Flask, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _killed_before_commit(app, world, tmp_path, monkeypatch)
    store = world.services().archive
    (_, changed_at, _), = store.batches()
    changed = dt.datetime.fromtimestamp(changed_at, dt.UTC)
    with app.app_context():
        assert settle_committed(db.session(), world.services(), now=changed + dt.timedelta(days=STAGED_DAYS, seconds=-60)) == (0, 0)
        assert len(store.batches()) == 1
        assert settle_committed(db.session(), world.services(), now=changed + dt.timedelta(days=STAGED_DAYS, seconds=60)) == (0, 1)
    assert store.batches() == [] and list(store.staging.iterdir()) == []


def test_a_deposit_killed_after_its_commit_is_finished_by_verification(
    app: Flask, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = world.services().archive
    monkeypatch.setattr(store, "settle", lambda batch: 0)  # committed, then killed before the move
    with app.app_context():
        record = world.deposit(pdf_titled("tué après validation"), tmp=tmp_path)
    monkeypatch.undo()
    assert not store.exists(record.signed_sha512) and not store.exists(record.pdfa_sha512)
    with app.app_context():
        assert verify(db.session(), world.services()).problems == []
    assert store.exists(record.signed_sha512) and store.exists(record.pdfa_sha512)
    assert store.batches() == []


def test_a_committed_deposit_moves_its_files_into_the_archive_and_leaves_no_staging(app: Flask, world: World, tmp_path: Path) -> None:
    with app.app_context():
        record = world.deposit(pdf_titled("normal"), tmp=tmp_path)
    store = world.services().archive
    assert store.exists(record.signed_sha512) and store.exists(record.pdfa_sha512)
    assert store.batches() == []
    assert store.path(record.signed_sha512).stat().st_mode & 0o777 == 0o400


def test_abandoned_deposits_are_cleaned_every_day_by_a_periodic_task(app: Flask, world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    periodic = {task.periodic_id: task for task in jobs.queue_of(app).periodic_registry.periodic_tasks.values()}
    assert periodic["depots-interrompus"].cron == "27 3 * * *" and periodic["depots-interrompus"].task.name == "nettoyer_depots_interrompus"
    _killed_before_commit(app, world, tmp_path, monkeypatch)
    with app.app_context():
        assert _clean_staging(db.session(), now=dt.datetime.now(dt.UTC) + dt.timedelta(days=STAGED_DAYS, minutes=1)) == 1
    assert world.services().archive.batches() == []
