"""The job queue (issue 11): a job lives and dies with its transaction, failures retry then wait
for an administrator, a work's progress is shown to whoever may follow it, and a worker killed
with ``kill -9`` mid-task loses nothing and duplicates nothing."""

from __future__ import annotations

import copy
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, text

from schemas import get_kind
from tests.conftest import Account
from tests.workers import background_worker, run_jobs
from webforms import db, jobs
from webforms.documents import services as svc_docs
from webforms.documents.storage import sweep_orphans
from webforms.models import Document, Event, Rendition, Travail, User
from webforms.web import services_of

RENDERS = select(Travail).where(Travail.nature == "rendu")


def _jobs(app: Flask) -> list[tuple[int, str, dict[str, Any]]]:
    with app.app_context():
        # The renders of versions (a complete draft's save also asks for its previews: queue apercus).
        return [tuple(r) for r in db.session().execute(text("SELECT id, status::text, args FROM procrastinate_jobs WHERE queue_name = 'rendus' ORDER BY id"))]


def _draft(app: Flask, account: Account, payload: dict[str, Any] | None = None) -> int:
    kind = get_kind("fiche_saisine")
    with app.app_context():
        session = db.session()
        user = session.get_one(User, account.id)
        doc = svc_docs.create_draft(session, services_of(app).documents, kind_name=kind.name, user=user, payload=payload or dict(kind.example))
        return doc.id


def _submit(app: Flask, account: Account, doc_id: int) -> None:
    with app.app_context():
        session = db.session()
        svc_docs.submit(session, services_of(app).documents, session.get_one(Document, doc_id), user=session.get_one(User, account.id))


def test_a_submission_commits_with_its_job_and_the_worker_renders_it_once(app: Flask, make_user: Callable[..., Account]) -> None:
    account = make_user("redacteur")
    doc_id = _draft(app, account)
    assert _jobs(app) == []  # a draft asks for nothing
    _submit(app, account, doc_id)
    [(job_id, status, args)] = _jobs(app)
    with app.app_context():
        travail = db.session().scalars(RENDERS).one()
        assert (status, args, travail.job_id, travail.document_id, travail.statut) == ("todo", {"travail_id": travail.id}, job_id, doc_id, "en_attente")
        assert db.session().scalar(select(func.count()).select_from(Rendition)) == 0  # nothing rendered in the request
    assert run_jobs(app) == 1
    assert _jobs(app) == [(job_id, "succeeded", {"travail_id": travail.id})]
    with app.app_context():
        travail = db.session().get_one(Travail, travail.id)
        assert (travail.statut, travail.essais, travail.resultat) == ("termine", 1, {"version": 1})
        assert sorted((r.version, r.format) for r in db.session().scalars(select(Rendition))) == [(1, "docx"), (1, "pdf")]
    assert run_jobs(app) == 0  # done once


def test_a_rolled_back_change_defers_no_job(app: Flask, make_user: Callable[..., Account], monkeypatch: pytest.MonkeyPatch) -> None:
    account = make_user("redacteur")
    doc_id = _draft(app, account)

    def fail(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("panne après la demande de rendu")

    monkeypatch.setattr(svc_docs, "log_event", fail)  # fails after _ask_render, before the commit
    with pytest.raises(RuntimeError):
        _submit(app, account, doc_id)
    assert _jobs(app) == []
    with app.app_context():
        assert db.session().scalars(RENDERS).all() == []
        assert db.session().get_one(Document, doc_id).statut == "brouillon"


def test_ask_joins_the_callers_transaction_both_ways(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        now = app.config["CLOCK"]()
        jobs.ask(session, svc_docs.render_version, nature="essai", libelle="Essai", now=now)
        session.rollback()
        assert _jobs(app) == []
        travail = jobs.ask(session, svc_docs.render_version, nature="essai", libelle="Essai", now=now)
        session.commit()
        assert travail is not None and _jobs(app) == [(travail.job_id, "todo", {"travail_id": travail.id})]


def test_a_lock_keeps_one_waiting_job_and_the_callers_work(app: Flask, make_user: Callable[..., Account]) -> None:
    account = make_user("redacteur")
    with app.app_context():
        session = db.session()
        now = app.config["CLOCK"]()
        first = jobs.ask(session, svc_docs.render_version, nature="essai", libelle="Essai", now=now, lock="essai-1")
        user = session.get_one(User, account.id)
        user.full_name = "Nom changé dans la même transaction"
        second = jobs.ask(session, svc_docs.render_version, nature="essai", libelle="Essai", now=now, lock="essai-1")
        other = jobs.ask(session, svc_docs.render_version, nature="essai", libelle="Essai", now=now, lock="essai-2")
        session.commit()
        assert first is not None and second is None and other is not None
        assert session.get_one(User, account.id).full_name == "Nom changé dans la même transaction"
    assert len(_jobs(app)) == 2


def _due_now(app: Flask) -> None:
    """Skip the retry's wait (2, 4, 8, 16 s): what is tested is what happens after it."""
    with app.app_context():
        db.session().execute(text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo'"))
        db.session().commit()


def test_a_failing_task_retries_then_waits_for_an_administrator(app: Flask, login_as: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    writer, account = login_as("redacteur")
    doc_id = _draft(app, account)
    renderer = services_of(app).documents.renderer
    render = renderer.render

    def broken(output: Any, context: Any) -> bytes:
        raise OSError("disque plein")

    monkeypatch.setattr(renderer, "render", broken)
    _submit(app, account, doc_id)
    for attempt in range(1, 6):
        run_jobs(app)
        with app.app_context():
            travail = db.session().scalars(RENDERS).one()
            assert travail.essais == attempt and travail.erreur == "OSError : disque plein"
            # Four retries wait; the fifth failure is final.
            assert travail.statut == ("echec" if attempt == 5 else "en_attente")
        _due_now(app)
    assert [status for _, status, _ in _jobs(app)] == ["failed"]
    # The writer's page says it, without the technical error.
    page = writer.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Les fichiers de la dernière version n'ont pas pu être produits" in page and "disque plein" not in page

    admin, _ = login_as("admin", "Département du Pas-de-Calais")
    queue_page = admin.get("/admin/travaux").get_data(as_text=True)
    assert "OSError : disque plein" in queue_page and f"/admin/travaux/{travail.id}/relancer" in queue_page
    monkeypatch.setattr(renderer, "render", render)  # the disk was emptied
    admin.work = False
    response = admin.post(f"/admin/travaux/{travail.id}/relancer")
    assert response.status_code == 302 and f"Travail n° {travail.id} relancé." in admin.get("/admin/travaux").get_data(as_text=True)
    assert [status for _, status, _ in _jobs(app)] == ["todo"]
    run_jobs(app)
    with app.app_context():
        assert db.session().get_one(Travail, travail.id).statut == "termine"
        assert db.session().scalar(select(func.count()).select_from(Rendition).where(Rendition.document_id == doc_id)) == 2
    assert "Aucun travail en échec." in admin.get("/admin/travaux").get_data(as_text=True)
    # A work that has not failed is not retried.
    admin.post(f"/admin/travaux/{travail.id}/relancer")
    assert "Seul un travail en échec peut être relancé." in admin.get("/admin/travaux").get_data(as_text=True)


def test_a_works_progress_is_shown_to_whoever_may_follow_it(app: Flask, login_as: Any) -> None:
    writer, account = login_as("redacteur")
    colleague, _ = login_as("redacteur")  # same organisation: sees the document
    stranger, _ = login_as("redacteur", "Autre association")
    admin, _ = login_as("admin", "Département du Pas-de-Calais")
    doc_id = _draft(app, account)
    _submit(app, account, doc_id)
    with app.app_context():
        travail_id = db.session().scalars(RENDERS).one().id
    for web in (writer, colleague, admin):
        page = web.get(f"/travaux/{travail_id}")
        assert page.status_code == 200 and "En attente" in page.get_data(as_text=True)
        assert web.get(f"/travaux/{travail_id}/etat").get_json()["statut"] == "en_attente"
    assert "Production des fichiers en cours" in writer.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert stranger.get(f"/travaux/{travail_id}").status_code == 404
    assert stranger.get(f"/travaux/{travail_id}/etat").status_code == 404
    assert writer.get("/admin/travaux").status_code == 403
    run_jobs(app)
    state = writer.get(f"/travaux/{travail_id}/etat").get_json()
    assert (state["statut"], state["fini"], state["echec"]) == ("termine", True, False)
    page = writer.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Production des fichiers en cours" not in page and "/telecharger/pdf" in page


def test_a_starting_worker_removes_only_the_partial_copies_of_dead_processes(tmp_path: Path) -> None:
    import socket

    host = socket.gethostname()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True, check=True)
    orphan = tmp_path / f".tmp-{host}-{dead.stdout.strip()}-abc"
    living = tmp_path / f".tmp-{host}-{os.getpid()}-def"
    elsewhere = tmp_path / f".tmp-autre-hote-{dead.stdout.strip()}-ghi"
    for path in (orphan, living, elsewhere):
        path.write_bytes(b"partiel")
    assert sweep_orphans(tmp_path) == [orphan]
    assert not orphan.exists() and living.exists() and elsewhere.exists()


# --- kill -9 ---------------------------------------------------------------------------------

KILLS = 20


@pytest.fixture
def worker_command(app: Flask) -> Iterator[Callable[..., subprocess.Popen[bytes]]]:
    """Start real ``webforms worker`` processes on the test's database and file store."""
    env = {
        **os.environ,
        "DATABASE_URL": app.config["DATABASE_URL"],
        "WEBFORMS_INSTANCE_PATH": app.instance_path,
        "WEBFORMS_SECRET_KEY": app.config["SECRET_KEY"],
        # Beat often and be taken for dead soon, so that twenty kills fit in a test.
        "WEBFORMS_QUEUE_HEARTBEAT_SECONDS": "0.2",
        "WEBFORMS_QUEUE_STALLED_SECONDS": "1",
    }
    started: list[subprocess.Popen[bytes]] = []

    def start(*options: str) -> subprocess.Popen[bytes]:
        process = subprocess.Popen([sys.executable, "-m", "webforms", "worker", *options], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
        process.wait()


def _count(app: Flask, query: str) -> int:
    with app.app_context():
        return int(db.session().execute(text(query)).scalar_one())


def _starts(app: Flask) -> int:
    """How many times a worker took a render (procrastinate's own record)."""
    return _count(app, "SELECT count(*) FROM procrastinate_events e JOIN procrastinate_jobs j ON j.id = e.job_id WHERE e.type = 'started' AND j.queue_name = 'rendus'")


def _succeeded(app: Flask) -> int:
    return _count(app, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded' AND queue_name = 'rendus'")


def _wait(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} : pas en {timeout} s")
        time.sleep(0.02)


def test_a_worker_killed_mid_task_twenty_times_loses_and_duplicates_nothing(
    app: Flask, make_user: Callable[..., Account], worker_command: Callable[[], subprocess.Popen[bytes]]
) -> None:
    account = make_user("redacteur")
    kind = get_kind("fiche_saisine")
    # Long enough to be killed in the middle: a few hundred table rows to lay out.
    payload = copy.deepcopy(dict(kind.example))
    for section, name in (("menage", "ressources"), ("situation", "accompagnements")):
        rows = payload[section][name]
        payload[section][name] = [copy.deepcopy(rows[i % len(rows)]) for i in range(100)]
    # A killed render is taken back first by the next worker: the same render may be killed
    # several times in a row, then the next ones.
    documents = [_draft(app, account, payload) for _ in range(5)]
    for doc_id in documents:
        _submit(app, account, doc_id)

    killed = 0
    while killed < KILLS:
        before, done = _starts(app), _succeeded(app)
        worker = worker_command()
        # This worker took a job (the killed one's, taken back, or the next one)...
        _wait(lambda w=worker, n=before: _starts(app) > n or w.poll() is not None, 60, "un travail commencé")
        time.sleep(0.05 * (killed % 5))  # ...and is killed at different moments of its render.
        assert _starts(app) == before + 1 and _succeeded(app) == done, "le rendu a fini avant l'arrêt : le test ne prouverait rien"
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        killed += 1

    worker = worker_command()
    _wait(lambda: all(status == "succeeded" for _, status, _ in _jobs(app)), 240, "tous les travaux faits")
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0

    with app.app_context():
        session = db.session()
        for doc_id in documents:
            doc = session.get_one(Document, doc_id)
            assert doc.statut == "soumis" and doc.versions == 1
            assert sorted((r.version, r.output, r.format) for r in doc.renditions) == [(1, "document", "docx"), (1, "document", "pdf")]
            assert session.scalar(select(func.count()).select_from(Event).where(Event.document_id == doc_id, Event.action == "submit")) == 1
        travaux = session.scalars(RENDERS).all()
        assert len(travaux) == len(documents) and {t.statut for t in travaux} == {"termine"}
        # Each kill cost one start, done again: one start per work, plus one per kill.
        assert _starts(app) == len(documents) + KILLS
    # No partial file anywhere in the store; every stored file is whole (its name is its digest).
    store = services_of(app).documents.store
    assert [p for p in store.root.rglob(".tmp-*")] == []
    stored = [path for path in store.root.rglob("*") if path.is_file()]
    with app.app_context():
        rendered = set(db.session().scalars(select(Rendition.sha256)))
    assert len(rendered) == len(documents) * 2 and rendered <= {path.name for path in stored}
    for path in stored:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == path.name


def test_several_worker_processes_share_the_queue_and_stop_cleanly(app: Flask, make_user: Callable[..., Account], worker_command: Callable[..., subprocess.Popen[bytes]]) -> None:
    account = make_user("redacteur")
    documents = [_draft(app, account) for _ in range(4)]
    workers = worker_command("--processus", "2")
    # Two workers, each registered with its heartbeat (procrastinate_workers).
    _wait(lambda: _count(app, "SELECT count(*) FROM procrastinate_workers") == 2, 60, "deux processus de travail")
    # Each yields the processor to the web server (QUEUE_NICE).
    children = [int(pid) for pid in os.listdir("/proc") if pid.isdigit() and _parent(int(pid)) == workers.pid]
    assert len(children) == 2
    assert [os.getpriority(os.PRIO_PROCESS, pid) for pid in children] == [min(19, os.getpriority(os.PRIO_PROCESS, 0) + 10)] * 2
    for doc_id in documents:
        _submit(app, account, doc_id)
    _wait(lambda: _succeeded(app) == len(documents), 120, "les rendus faits")
    # A stop signal stops them both, each after its job in hand, and they unregister.
    workers.send_signal(signal.SIGTERM)
    assert workers.wait(timeout=60) == 0
    assert _count(app, "SELECT count(*) FROM procrastinate_workers") == 0


def _parent(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def test_the_periodic_check_takes_back_a_killed_workers_job_without_a_restart(
    app: Flask, make_user: Callable[..., Account], worker_command: Callable[..., subprocess.Popen[bytes]]
) -> None:
    # No worker starts after the kill: only procrastinate's scheduler (every 10 s, run by the
    # living worker) can put the job back.
    account = make_user("redacteur")
    app.config.update(QUEUE_HEARTBEAT_SECONDS=0.2, QUEUE_STALLED_SECONDS=1)
    doc_id = _draft(app, account)
    lone = worker_command()
    _wait(lambda: _count(app, "SELECT count(*) FROM procrastinate_workers") == 1, 60, "un processus de travail")
    with background_worker(app, queues=["maintenance"]):  # the periodic check only, not the renders
        _submit(app, account, doc_id)
        _wait(lambda: _starts(app) == 1, 60, "le rendu commencé")
        lone.send_signal(signal.SIGKILL)
        lone.wait()
        _wait(lambda: _count(app, "SELECT count(*) FROM procrastinate_jobs WHERE queue_name = 'rendus' AND status = 'todo'") == 1, 30, "le travail remis en file")
    assert _succeeded(app) == 0
    run_jobs(app)
    assert _succeeded(app) == 1 and _starts(app) == 2
