"""A real procrastinate worker for the tests, run in the test's process until the queue is empty."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator

from flask import Flask
from sqlalchemy import text

from webforms import jobs

_WAITING = text(
    "SELECT count(*) FROM procrastinate_jobs WHERE queue_name <> 'maintenance'"
    " AND (status = 'doing' OR status = 'todo' AND (scheduled_at IS NULL OR scheduled_at <= now()))"
)
# Two tabs posting at once: one worker, as on a small host (and one opening of the app's pool).
_ONE_WORKER = threading.Lock()


# The apps whose worker runs in the background (``background_worker``): their jobs are its.
_BACKGROUND: set[int] = set()


def _waiting(app: Flask) -> int:
    with app.extensions["webforms.engine"].connect() as conn:
        return int(conn.execute(_WAITING).scalar_one())


def run_jobs(app: Flask) -> int:
    """Run a real worker until the queue has nothing left to do now; return the jobs it found."""
    if id(app) in _BACKGROUND:
        return _wait_for_background(app)
    with _ONE_WORKER:
        waiting = _waiting(app)
        if waiting:
            # In a thread of its own: a browser test's thread already runs Playwright's loop.
            # Not the maintenance queue: a daily task (reminders at 05:00, digests at 06:00 UTC) that
            # procrastinate defers when a worker starts just after its time would change the test's
            # data; the tests of the periodic tasks run them on purpose.
            queues = sorted({task.queue for task in jobs.queue_of(app).tasks.values()} - {"maintenance"})
            thread = threading.Thread(target=jobs.run_worker, args=(app,), kwargs={"wait": False, "signals": False, "queues": queues}, name="worker")
            thread.start()
            thread.join()
    return waiting


def _wait_for_background(app: Flask, timeout: float = 60.0) -> int:
    """Wait until the background worker has done everything due now; return what was waiting."""
    waiting = _waiting(app)
    deadline = time.monotonic() + timeout
    while _waiting(app):
        if time.monotonic() > deadline:
            raise TimeoutError(f"Le worker n'a pas fini ses travaux en {timeout} s.")
        time.sleep(0.05)
    return waiting


@contextlib.contextmanager
def background_worker(app: Flask, queues: list[str] | None = None) -> Iterator[None]:
    """Run a real worker in a thread (on ``queues``, all by default), waiting for jobs as ``webforms worker`` does, until the block ends."""
    stop = threading.Event()
    options = {"signals": False, "stop": stop, "queues": queues}
    thread = threading.Thread(target=jobs.run_worker, args=(app,), kwargs=options, name="worker", daemon=True)
    thread.start()
    _BACKGROUND.add(id(app))
    try:
        yield
    finally:
        _BACKGROUND.discard(id(app))
        stop.set()
        thread.join(timeout=30)


def run_later_jobs(app: Flask) -> int:
    """Run every job, those asked for a later moment too (a debounced preview), as if it had come."""
    with app.extensions["webforms.engine"].begin() as conn:
        conn.execute(text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE status = 'todo' AND scheduled_at > now() AND queue_name <> 'maintenance'"))
    return run_jobs(app)
