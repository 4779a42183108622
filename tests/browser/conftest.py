"""Real-browser fixtures: Debian's headless Chromium driven by pytest-playwright, the test app served live.

Chromium is Debian's (``apt-get install chromium``), never a browser downloaded by Playwright
(PITFALLS §5); axe-core is the copy bundled with axe-playwright-python: nothing is fetched.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.workers import background_worker

CHROMIUM = "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-dev-shm-usage",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    # French users: dates typed as JJ/MM/AAAA in <input type="date">, French Accept-Language.
    return {**browser_context_args, "locale": "fr-FR", "timezone_id": "Europe/Paris", "accept_downloads": True}


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    """Serve the test app (its migrated PostgreSQL database, its fixed clock) on a free local port, with a worker."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        with background_worker(app):  # what a user asks of the queue is done as under `make run`
            yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
