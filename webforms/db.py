"""Database engine, sessions and migrations (SQLAlchemy 2 and Alembic, no Flask-SQLAlchemy)."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from flask import Flask, current_app, g
from sqlalchemy import Engine, create_engine, event, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from webforms.pgcluster import Cluster, ClusterError

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class DatabaseUnavailable(RuntimeError):
    """The configured database cannot be used; the message says why, in French."""


class UnsupportedDatabase(DatabaseUnavailable, ValueError):
    """``DATABASE_URL`` names an engine other than PostgreSQL."""


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for the PostgreSQL database at ``url``; refuse any other engine."""
    # The write-once triggers and the journal's lock are PostgreSQL's: another engine would run
    # without them, so an old SQLite URL is refused rather than half served.
    if make_url(url).get_backend_name() != "postgresql":
        raise UnsupportedDatabase(f"La base de données doit être PostgreSQL (DATABASE_URL postgresql+psycopg://…), pas « {make_url(url).drivername} » : voir docs/running.md.")
    return create_engine(url, **kwargs)


def owned_by_models(name: str | None, type_: str, parent_names: Any) -> bool:
    """Tell Alembic's comparison which tables are the models': not the job queue's own."""
    # procrastinate's tables come from its shipped SQL (migration 0012), not from our models.
    return not (type_ == "table" and (name or "").startswith("procrastinate_"))


def alembic_config(url: str) -> Config:
    """Return an Alembic configuration for the database at ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Create or upgrade the database schema to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def init_app(app: Flask) -> None:
    """Bind an engine and a session factory to the app; close the request's session after it."""
    engine = make_engine(app.config["DATABASE_URL"])
    if app.config.get("EMBEDDED_DATABASE"):
        _start_on_first_connection(engine, Cluster(Path(app.config["EMBEDDED_DATABASE"])))
    app.extensions["webforms.engine"] = engine
    app.extensions["webforms.sessions"] = sessionmaker(engine, expire_on_commit=False)
    app.teardown_appcontext(_close_session)


def _start_on_first_connection(engine: Engine, cluster: Cluster) -> None:
    """Create and start the instance's own cluster before the engine's first connection."""
    started = threading.Event()
    lock = threading.Lock()

    @event.listens_for(engine, "do_connect")
    def _start(dialect: Any, record: Any, cargs: Any, cparams: Any) -> None:
        if not started.is_set():
            with lock:
                if not started.is_set():
                    cluster.start()
                    started.set()


def ensure_started(app: Flask) -> None:
    """Make sure the app's database answers (starting the embedded cluster if it is the one)."""
    try:
        with app.extensions["webforms.engine"].connect():
            pass
    except OperationalError as exc:
        raise DatabaseUnavailable(f"La base de données ne répond pas ({make_url(app.config['DATABASE_URL']).render_as_string()}) : vérifiez DATABASE_URL et que le serveur est démarré.") from exc
    except ClusterError as exc:
        raise DatabaseUnavailable(str(exc)) from exc


def session() -> Session:
    """Return the session of the current request (or app context), opening it on first use."""
    if "db" not in g:
        g.db = current_app.extensions["webforms.sessions"]()
    return g.db


def _close_session(exc: BaseException | None) -> None:
    db = g.pop("db", None)
    if db is not None:
        if exc is not None:
            db.rollback()
        db.close()
