"""The job queue: procrastinate on the service's own PostgreSQL (issue 11, PITFALLS §10).

A feature declares its background work with ``@task`` next to its services, and asks for it with
``ask``: a ``Travail`` row and its procrastinate job are written in the caller's transaction, so
a rolled-back change leaves no job and a committed one always has its job. ``webforms worker``
runs the jobs, on any number of hosts; a failed job is retried with a growing wait, then stays
failed where an administrator sees it (``webforms.jobs.views``) and may run it again.

A task runs in the Flask app's context with its own session. It must be idempotent: a worker
killed mid-task (``kill -9``) leaves its job "doing" until ``retry_stalled`` puts it back, and
the task then runs again from the start. It writes its rows in one transaction, committed
together with its ``Travail`` marked done, and its files by content (``FileStore.put``), so a
rerun finds either nothing or everything, never half.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import functools
import logging
import signal
import subprocess
import threading
from collections.abc import Callable
from typing import Any

import procrastinate
import procrastinate.jobs
import procrastinate.manager
from flask import Flask, current_app
from procrastinate.exceptions import AlreadyEnqueued
from sqlalchemy import make_url
from sqlalchemy.orm import Session

from webforms import db
from webforms.documents.storage import sweep_orphans
from webforms.errors import DocumentError
from webforms.models import Travail

logger = logging.getLogger(__name__)

# Every task of every feature, declared at import; the app's queue takes them all (``init_app``).
tasks = procrastinate.Blueprint()

# 5 runs in all: after 2 s, 4 s, 8 s and 16 s. A render that fails five times will fail again:
# it waits for an administrator (the queue page), who may run it once more.
RETRY = procrastinate.RetryStrategy(max_attempts=4, exponential_wait=2)

TaskBody = Callable[[Session, Travail], "dict[str, Any] | None"]


# When the workers are busy, what someone is waiting for goes first: the files of a submission
# (its author's page shows the progress), then a Word piece's conversion (the checklist waits for
# it); a draft's preview and an archive export come after. A preview asked before a submission of
# the same draft then finds it submitted and renders nothing.
PRIORITY = {"attendu": 10, "liste": 5, "fond": 0}


def task(
    name: str,
    *,
    queue: str = "travaux",
    retry: procrastinate.RetryStrategy | None = RETRY,
    commit: Callable[[Session], None] = Session.commit,
    priority: int = 0,
) -> Callable[[TaskBody], Any]:
    """Declare ``body(session, travail)`` as the task ``name``; its result is the work's outcome.

    A worker takes the due job of highest ``priority`` first (``PRIORITY``), then the oldest.

    The body writes its rows without committing: the wrapper commits them together with the
    ``Travail`` marked done (through ``commit``, for a feature whose commits do more, such as
    the archive's journal), or rolls them back and records the error.
    """

    def decorate(body: TaskBody) -> Any:
        @functools.wraps(body)
        def run(context: procrastinate.JobContext, travail_id: int) -> None:
            app: Flask = context.additional_context["flask_app"]
            with app.app_context():
                _run(body, context, travail_id, retry, commit)

        return tasks.task(name=name, queue=queue, retry=retry or False, pass_context=True, priority=priority)(run)

    return decorate


def _run(
    body: TaskBody, context: procrastinate.JobContext, travail_id: int, retry: procrastinate.RetryStrategy | None, commit: Callable[[Session], None]
) -> None:
    session = db.session()
    clock = current_app.config["CLOCK"]
    travail = session.get(Travail, travail_id)
    if travail is None or travail.statut == "termine":
        return  # done by an earlier run that was killed after its commit: nothing to redo
    travail.statut, travail.started_at, travail.essais = "en_cours", clock(), travail.essais + 1
    session.commit()
    try:
        result = body(session, travail)
    except DocumentError as exc:
        # A refusal the service says in French (a template that cannot be filled…) is the same at
        # every run: it ends the work at once, in the service's words, without retries. An
        # administrator may still ask again from /admin/travaux once the cause is fixed.
        session.rollback()
        logger.warning("Travail %s (%s) refusé : %s", travail_id, travail.nature, exc)
        travail = session.get(Travail, travail_id)
        if travail is not None:
            travail.statut, travail.finished_at, travail.erreur = "echec", clock(), str(exc)[:2000]
            session.commit()
        return
    except Exception as exc:
        session.rollback()
        attempts = context.job.attempts if context.job else 0
        last = retry is None or retry.max_attempts is None or attempts >= retry.max_attempts
        logger.exception("Travail %s (%s) en échec, essai %s", travail_id, travail.nature, attempts + 1)
        travail = session.get(Travail, travail_id)
        if travail is not None:
            travail.statut = "echec" if last else "en_attente"
            travail.erreur = describe(exc)
            session.commit()
        raise
    travail.statut, travail.finished_at, travail.resultat, travail.erreur = "termine", clock(), result, None
    commit(session)


def describe(exc: BaseException) -> str:
    """Return what an administrator reads of a failed task: the error's kind and message."""
    return f"{type(exc).__name__} : {exc}"[:2000]


def ask(
    session: Session,
    job: Any,
    *,
    nature: str,
    libelle: str,
    now: dt.datetime,
    user_id: int | None = None,
    document_id: int | None = None,
    parametres: dict[str, Any] | None = None,
    lock: str | None = None,
    schedule_in: float | None = None,
) -> Travail | None:
    """Record the work ``job`` is to do and defer it, both in ``session``'s transaction.

    With ``lock``, at most one such job waits at a time: asking again while one waits returns
    None (it will do the work for both; a debounce). ``schedule_in``: the job is due that many
    seconds from now, so that the changes of the next moment join it. Nothing is committed here.
    """
    options: dict[str, Any] = {"schedule_in": {"seconds": schedule_in}} if schedule_in else {}
    travail = Travail(
        nature=nature, libelle=libelle, user_id=user_id, document_id=document_id, parametres=parametres or {}, created_at=now
    )
    # A refused lock is an error inside the transaction: a savepoint keeps the caller's work.
    try:
        with session.begin_nested() if lock else contextlib.nullcontext():
            session.add(travail)
            session.flush()
            travail.job_id = _defer(session, job.configure(queueing_lock=lock, **options), travail.id)
    except AlreadyEnqueued:
        return None
    return travail

# Defers on a connection it is given, never on a pool of its own: the same in a web process
# and in a worker whose queue has its async pool open (where the app's connector would be
# that async one, which takes no outside connection).
_DEFERRER = procrastinate.manager.JobManager(procrastinate.SyncPsycopgConnector())


def _defer(session: Session, deferrer: procrastinate.jobs.JobDeferrer, travail_id: int) -> int:
    """Insert the job in ``session``'s transaction (PITFALLS §10): it lives and dies with it."""
    raw = session.connection().connection.driver_connection
    job = _DEFERRER.defer_job(deferrer.make_new_job(travail_id=travail_id), connection=raw)
    assert job.id is not None
    return job.id


def conninfo(database_url: str) -> str:
    """Return the libpq form of the SQLAlchemy URL ``database_url`` (a Unix socket included)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


def init_app(app: Flask) -> None:
    """Give ``app`` its queue: a procrastinate app on its database, holding every declared task."""
    # Opened only by a worker (``run_worker``): web processes never open it, they defer their
    # jobs on their own transaction's connection (``ask``).
    queue = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=conninfo(app.config["DATABASE_URL"]), min_size=1, max_size=4),
        worker_defaults={"update_heartbeat_interval": float(app.config["QUEUE_HEARTBEAT_SECONDS"])},
    )
    queue.add_tasks_from(tasks, namespace="")
    app.extensions["webforms.queue"] = queue


def queue_of(app: Flask) -> procrastinate.App:
    """Return the procrastinate app ``init_app`` built for ``app``."""
    return app.extensions["webforms.queue"]


def run_worker(
    app: Flask, *, wait: bool = True, name: str | None = None, signals: bool = True, stop: threading.Event | None = None, queues: list[str] | None = None
) -> None:
    """Run one worker for ``app`` (on ``queues``, all by default) until stopped (a signal, or ``stop`` set), or until the queue is empty when not ``wait``."""
    db.ensure_started(app)
    # Where the stores write their copies before publishing them (not a walk of every stored file).
    for root in (app.extensions["webforms.services"].store.root, app.extensions["webforms.archive"].archive.files):
        for orphan in sweep_orphans(root):
            logger.warning("Copie partielle d'un processus arrêté net supprimée : %s", orphan)
    queue = queue_of(app)
    options: dict[str, Any] = dict(
        additional_context={"flask_app": app},
        queues=queues,
        wait=wait,
        listen_notify=wait,
        install_signal_handlers=signals,
        name=name,
        fetch_job_polling_interval=1.0 if wait else 0.05,
        stalled_worker_timeout=float(app.config["QUEUE_STALLED_SECONDS"]),
    )

    async def work() -> None:
        async with queue.open_async():
            # A worker that starts takes back at once what a killed one left, without waiting
            # for the periodic check.
            await _retry_stalled(queue, float(app.config["QUEUE_STALLED_SECONDS"]))
            running = asyncio.create_task(queue.run_worker_async(**options))
            if stop is not None:
                while not stop.is_set() and not running.done():
                    await asyncio.sleep(0.1)
                running.cancel()  # procrastinate ends the job in hand, then stops
            with contextlib.suppress(asyncio.CancelledError):
                await running

    asyncio.run(work())


def run_processes(count: int, command: list[str]) -> int:
    """Run ``count`` worker processes (``command`` each) until they end or this one is stopped.

    Separate processes, because a render holds the interpreter's lock: threads would share one
    core. A stop signal is passed on to each, which finishes its job in hand.
    """
    children = [subprocess.Popen(command) for _ in range(count)]

    def stop(signum: int, frame: Any) -> None:
        for child in children:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    return max(child.wait() for child in children)


def daily(name: str, *, cron: str, periodic_id: str, done: str) -> Callable[[Callable[..., int]], Any]:
    """Declare ``body(session, now=…) -> count`` as a periodic task of the maintenance queue.

    procrastinate defers it once per tick of ``cron`` whatever the number of workers, and its
    queueing lock keeps one waiting at a time; the body records without committing, the task
    commits and logs ``done`` with the count (e.g. "Rappels envoyés : %s").
    """

    def decorate(body: Callable[..., int]) -> Any:
        @tasks.periodic(cron=cron, periodic_id=periodic_id)
        @tasks.task(name=name, queue="maintenance", queueing_lock=name, pass_context=True)
        @functools.wraps(body)
        def run(context: procrastinate.JobContext, timestamp: int) -> None:
            app: Flask = context.additional_context["flask_app"]
            with app.app_context():
                session = db.session()
                count = body(session, now=app.config["CLOCK"]())
                session.commit()
                logger.info(done, count)

        return run

    return decorate


@tasks.periodic(cron="* * * * * */10", periodic_id="relance")
@tasks.task(name="relancer_bloques", queue="maintenance", queueing_lock="relancer_bloques", pass_context=True)
async def retry_stalled(context: procrastinate.JobContext, timestamp: int) -> None:
    """Put back in the queue, every 10 s, the jobs of a worker that stopped beating."""
    app: Flask = context.additional_context["flask_app"]
    await _retry_stalled(context.app, float(app.config["QUEUE_STALLED_SECONDS"]))


async def _retry_stalled(queue: procrastinate.App, seconds: float) -> int:
    """Retry the jobs whose worker has not beaten for ``seconds`` (killed, machine lost)."""
    stalled = list(await queue.job_manager.get_stalled_jobs(seconds_since_heartbeat=seconds))
    for job in stalled:
        logger.warning("Job %s (%s) repris : son worker ne répond plus depuis %s s", job.id, job.task_name, seconds)
        await queue.job_manager.retry_job(job)
    return len(stalled)
