"""A real procrastinate worker for the tests, run in the test's process until the queue is empty."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from flask import Flask
from sqlalchemy import text

from webforms import jobs

_WAITING = text(
    "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo' AND queue_name <> 'maintenance'"
    " AND (scheduled_at IS NULL OR scheduled_at <= now())"
)
# Two tabs posting at once: one worker, as on a small host (and one opening of the app's pool).
_ONE_WORKER = threading.Lock()


def run_jobs(app: Flask) -> int:
    """Run a real worker until the queue has nothing left to do now; return the jobs it found."""
    with _ONE_WORKER:
        with app.extensions["webforms.engine"].connect() as conn:
            waiting = conn.execute(_WAITING).scalar_one()
        if waiting:
            # In a thread of its own: a browser test's thread already runs Playwright's loop.
            thread = threading.Thread(target=jobs.run_worker, args=(app,), kwargs={"wait": False, "signals": False}, name="worker")
            thread.start()
            thread.join()
    return int(waiting)


@contextlib.contextmanager
def background_worker(app: Flask) -> Iterator[None]:
    """Run a real worker in a thread, waiting for jobs as ``webforms worker`` does, until the block ends."""
    stop = threading.Event()
    thread = threading.Thread(target=jobs.run_worker, args=(app,), kwargs={"signals": False, "stop": stop}, name="worker", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=30)
