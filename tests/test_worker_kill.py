"""A real ``webforms worker`` killed with SIGKILL mid-render, five times, in about a minute (issue 15, issue 11 point 5).

``tests/test_jobs.py`` kills real workers twenty times over five documents: thorough, but nine
minutes on a shared two-core machine, so it is the first test one skips. This one keeps the same
promise in a bounded time, on one submission: each kill lands in the middle of the render (the
job started, not finished); after a restart the render is done exactly once, no half-written
file or row is left, and the submission is neither lost nor duplicated.
"""

from __future__ import annotations

import copy
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from schemas import get_kind
from tests.conftest import Account
from tests.test_jobs import RENDERS, _draft, _jobs, _starts, _submit, _succeeded, _wait
from webforms import db
from webforms.models import Document, Event, Rendition
from webforms.web import services_of

KILLS = 5


@pytest.fixture
def start_worker(app: Flask) -> Iterator[Callable[[], subprocess.Popen[bytes]]]:
    """Start a real ``webforms worker`` on the test's database and store; every one is reaped at the end."""
    env = {
        **os.environ,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "WEBFORMS_INSTANCE_PATH": app.instance_path,
        "WEBFORMS_SECRET_KEY": app.config["SECRET_KEY"],
        # Beat often, be taken for dead soon, and do not yield the processor: five kills in a minute.
        "WEBFORMS_QUEUE_HEARTBEAT_SECONDS": "0.2",
        "WEBFORMS_QUEUE_STALLED_SECONDS": "1",
        "WEBFORMS_QUEUE_NICE": "0",
    }
    started: list[subprocess.Popen[bytes]] = []

    def start() -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, "-m", "webforms", "worker"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def _state(app: Flask, doc_id: int) -> dict[str, Any]:
    """What the submission is in the database: its status and version, its submit events, its renditions."""
    with app.app_context():
        session = db.session()
        doc = session.get_one(Document, doc_id)
        return {
            "statut": doc.statut,
            "versions": doc.versions,
            "submits": session.scalar(select(func.count()).select_from(Event).where(Event.document_id == doc_id, Event.action == "submit")),
            "renditions": sorted((r.version, r.output, r.format) for r in session.scalars(select(Rendition).where(Rendition.document_id == doc_id))),
        }


def test_a_real_worker_killed_five_times_mid_render_renders_once_and_loses_nothing(
    app: Flask, make_user: Callable[..., Account], start_worker: Callable[[], subprocess.Popen[bytes]]
) -> None:
    account = make_user("redacteur")
    kind = get_kind("fiche_saisine")
    # Long enough to be killed in the middle: a hundred rows in each of two tables to lay out.
    payload = copy.deepcopy(dict(kind.example))
    for section, name in (("menage", "ressources"), ("situation", "accompagnements")):
        rows = payload[section][name]
        payload[section][name] = [copy.deepcopy(rows[i % len(rows)]) for i in range(100)]
    doc_id = _draft(app, account, payload)
    _submit(app, account, doc_id)
    submitted = {"statut": "soumis", "versions": 1, "submits": 1, "renditions": []}
    assert _state(app, doc_id) == submitted

    for killed in range(KILLS):
        before = _starts(app)
        worker = start_worker()
        # The killed render is taken back by the next worker (taken for dead after 1 s)...
        _wait(lambda w=worker, n=before: _starts(app) > n or w.poll() is not None, 60, "le rendu commencé")
        time.sleep(0.15 * killed)  # ...and killed at a different moment of it each time (0 to 0.6 s in).
        assert worker.poll() is None and _succeeded(app) == 0, "le rendu a fini avant l'arrêt : le test ne prouverait rien"
        worker.send_signal(signal.SIGKILL)
        assert worker.wait(timeout=10) == -signal.SIGKILL
        # Nothing half-done in the database: still submitted once, no rendition of a render cut short.
        assert _state(app, doc_id) == submitted

    worker = start_worker()
    _wait(lambda: _succeeded(app) == 1, 120, "le rendu fait")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0

    # Done exactly once: one job, one work, one start per kill plus the last, one pair of files.
    assert [status for _, status, _ in _jobs(app)] == ["succeeded"]
    assert _starts(app) == KILLS + 1
    assert _state(app, doc_id) == {**submitted, "renditions": [(1, "document", "docx"), (1, "document", "pdf")]}
    with app.app_context():
        assert [(t.document_id, t.statut) for t in db.session().scalars(RENDERS)] == [(doc_id, "termine")]
        rendered = set(db.session().scalars(select(Rendition.sha256).where(Rendition.document_id == doc_id)))
    # No partial file left in the store (the killed workers' copies are removed), and every file
    # there is whole: its name is its content's digest, the two renditions among them.
    store = services_of(app).documents.store
    assert list(store.root.rglob(".tmp-*")) == []
    stored = [path for path in store.root.rglob("*") if path.is_file()]
    assert rendered <= {path.name for path in stored} and len(rendered) == 2
    for path in stored:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name
