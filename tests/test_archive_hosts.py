"""Several hosts share one database and one archive folder (NFS): the journal witness holds."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from webforms import db
from webforms.archive.audit import commit, log
from webforms.archive.services import ArchiveError
from webforms.archive.verify import verify
from webforms.db import make_engine
from webforms.documents.storage import ArchiveStore
from webforms.models import ArchiveLog

ROWS_PER_HOST = 15


def test_two_hosts_witness_every_row_once_one_at_a_time_in_chain_order(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    svc = app.extensions["webforms.archive"]
    appending: list[int] = []  # how many hosts were appending, seen at each append
    busy, counting = [0], threading.Lock()
    witness = ArchiveStore.witness

    def slow_witness(store: ArchiveStore, row_id: int, row_hash: str) -> None:
        """A host that pauses between its commit and its append (a slow NFS, a busy machine)."""
        with counting:
            busy[0] += 1
            appending.append(busy[0])
        time.sleep(random.uniform(0, 0.01))
        witness(store, row_id, row_hash)
        with counting:
            busy[0] -= 1

    monkeypatch.setattr(ArchiveStore, "witness", slow_witness)
    errors: list[BaseException] = []

    def host(name: str) -> None:
        engine = make_engine(app.config["DATABASE_URL"])  # each host its own connections
        try:
            with Session(engine, expire_on_commit=False) as session:
                for n in range(ROWS_PER_HOST):
                    while True:
                        log(session, svc.clock(), "verify", key=svc.seal_key, user=None, host=name, n=n)
                        try:
                            commit(session, svc)
                            break
                        except ArchiveError:  # both claimed the same next row: try again, as log_access does
                            time.sleep(random.uniform(0.001, 0.005))
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)
        finally:
            engine.dispose()

    hosts = [threading.Thread(target=host, args=(name,)) for name in ("a", "b")]
    for thread in hosts:
        thread.start()
    for thread in hosts:
        thread.join()
    assert errors == []
    with app.app_context():
        session = db.session()
        rows = [(r.id, r.hash) for r in session.scalars(select(ArchiveLog).order_by(ArchiveLog.id))]
        assert len(rows) == 2 * ROWS_PER_HOST
        assert svc.archive.witnessed() == rows  # every row once, in the chain's order
        assert max(appending) == 1
        assert verify(session, svc).problems == []


def test_a_refused_commit_witnesses_nothing_and_releases_the_lock(app: Flask) -> None:
    """The second of two writers that claimed the same row is told to retry; the next one goes through."""
    svc = app.extensions["webforms.archive"]
    with app.app_context():
        first, second = db.session(), Session(app.extensions["webforms.engine"], expire_on_commit=False)
        try:
            log(first, svc.clock(), "verify", key=svc.seal_key, user=None)
            log(second, svc.clock(), "verify", key=svc.seal_key, user=None)
            commit(first, svc)
            with pytest.raises(ArchiveError, match="réessayez"):
                commit(second, svc)
            log(second, svc.clock(), "verify", key=svc.seal_key, user=None)
            commit(second, svc)
        finally:
            second.close()
        rows: list[Any] = [(r.id, r.hash) for r in first.scalars(select(ArchiveLog).order_by(ArchiveLog.id))]
        assert [n for n, _ in rows] == [1, 2] and svc.archive.witnessed() == rows
