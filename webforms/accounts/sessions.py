"""Server-side sessions: the cookie carries a random id, the database the session's data, user and last use.

Flask's default session is a signed cookie that cannot be taken back: signing out left it valid
until its 8-hour age (issue 15). Here a session is a row of ``web_session``: signing out,
deactivating the account or changing its password ends it, and a session unused for
``SESSION_IDLE_MINUTES`` ends at its next request. The cookie holds only a random token; the
row stores its SHA-256, so a copy of the database gives no usable cookie.

A signed-in page reads its session's row, its user and what the header and the kept forms
need in one statement on the request's own database session (issue 11: each extra read per
page cost the form page a fifth of its speed): features add their per-user figure with
``register_fact`` and read it with ``fact``.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask, Request, Response, current_app, g
from flask.sessions import SessionInterface, SessionMixin
from sqlalchemy import ColumnElement, ScalarSelect, Select, bindparam, delete, or_, select, update
from sqlalchemy.orm import Session
from werkzeug.datastructures import CallbackDict

from webforms import db
from webforms.models import User, WebSession

# last_seen_at is written at most this often: a page's requests do not each write a row.
TOUCH_EVERY = dt.timedelta(seconds=60)
# Ended and idle rows are deleted after this; a form posted later than that is not kept.
ROWS_KEPT = dt.timedelta(days=7)

# Per-user figures read with the session's row: name -> scalar subquery on the user's id.
_FACTS: dict[str, Callable[[ColumnElement[int | None]], ScalarSelect[Any]]] = {}


def register_fact(name: str, subquery: Callable[[ColumnElement[int | None]], ScalarSelect[Any]]) -> None:
    """Read ``subquery(user_id)`` with every live session's row; ``fact(name)`` gives its value."""
    _FACTS[name] = subquery
    _session_statement.cache_clear()


@functools.cache
def _session_statement() -> Select[Any]:
    """Return the statement reading a session's row by its token's hash, its user and every fact.

    Built once (its building and cache key were a tenth of the form page's CPU, issue 11); a
    fact registered later builds it anew.
    """
    columns = [subquery(WebSession.user_id).label(name) for name, subquery in _FACTS.items()]
    return select(WebSession, User, *columns).outerjoin(User, User.id == WebSession.user_id).where(WebSession.token_hash == bindparam("token_hash"))


def fact(name: str) -> Any | None:
    """Return the request's value of a registered fact, or None when the request read none."""
    return g.get("session_facts", {}).get(name)


def forget_fact(name: str) -> None:
    """Drop a fact the request changed (its next reader asks the database)."""
    g.get("session_facts", {}).pop(name, None)


def token_hash(token: str) -> str:
    """Return the stored form of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def session_clock(app: Flask) -> dt.datetime:
    """Return now by the sessions' clock (the real time; injectable for tests)."""
    clock: Callable[[], dt.datetime] = app.config["SESSION_CLOCK"]
    return clock()


def idle_limit(app: Flask) -> dt.timedelta:
    """Return how long a session may stay unused."""
    return dt.timedelta(minutes=int(app.config["SESSION_IDLE_MINUTES"]))


@dataclass(frozen=True)
class EndedSession:
    """The session a request's cookie named, found ended: whose it was, why, its data."""

    user_id: int | None
    reason: str | None
    data: dict[str, Any]


class ServerSession(CallbackDict[str, Any], SessionMixin):
    """A session's data, read from its row; ``rotate`` gives it a new id (and ends the old) when saved."""

    def __init__(self, initial: dict[str, Any] | None = None, *, row_id: int | None = None, ended: EndedSession | None = None) -> None:
        def changed(_: Any) -> None:
            self.modified = True

        super().__init__(initial or {}, changed)
        self.row_id = row_id
        self.ended = ended
        self.modified = False
        self.rotate = False
        self.end_reason = "connexion"


def own_session(app: Flask) -> Session:
    """Return a database session apart from the request's."""
    # A session of its own: the request's (db.session) may hold a view's unfinished work,
    # which saving the web session must never commit.
    return Session(app.extensions["webforms.engine"], expire_on_commit=False)


def rotate(session: Any, reason: str) -> None:
    """Give the current session a new id when the response is sent; the old one ends with ``reason``."""
    session.rotate = True
    session.end_reason = reason
    session.modified = True


class DatabaseSessionInterface(SessionInterface):
    """Keep sessions in ``web_session``; the cookie names one by a random token."""

    def open_session(self, app: Flask, request: Request) -> ServerSession:  # type: ignore[override]
        """Return the request's session: its data if its row is live, else an empty one (noting what ended)."""
        token = request.cookies.get(self.get_cookie_name(app))
        if not token or request.path.startswith(app.static_url_path or "/static"):
            return ServerSession()
        now = session_clock(app)
        # The request's own database session: nothing of the view is pending yet, and the user
        # read here is the one Flask-Login's loader then finds without a query.
        s = db.session()
        found = s.execute(_session_statement(), {"token_hash": token_hash(token)}).one_or_none()
        if found is None:
            return ServerSession()
        row = found[0]
        if row.ended_at is None and now - row.last_seen_at > idle_limit(app):
            row.ended_at, row.ended_reason = now, "inactivite"
            s.commit()
        if row.ended_at is not None:
            return ServerSession(ended=EndedSession(row.user_id, row.ended_reason, dict(row.data)))
        if now - row.last_seen_at > TOUCH_EVERY:
            row.last_seen_at = now
            s.commit()
        g.session_facts = dict(zip(_FACTS, found[2:], strict=True))
        # The identity map holds its objects weakly: kept here, the user stays for the loader.
        g.session_user = found[1]
        return ServerSession(dict(row.data), row_id=row.id)

    def save_session(self, app: Flask, session: ServerSession, response: Response) -> None:  # type: ignore[override]
        """Write the session's row (a new one for a new or rotated session) and its cookie."""
        name = self.get_cookie_name(app)
        if not session.modified:
            if session.row_id is None and session.ended is not None:
                response.delete_cookie(name, path=self.get_cookie_path(app), domain=self.get_cookie_domain(app))
            return
        now = session_clock(app)
        with own_session(app) as s:
            if session.row_id is not None and (session.rotate or not session):
                s.execute(
                    update(WebSession)
                    .where(WebSession.id == session.row_id, WebSession.ended_at.is_(None))
                    .values(ended_at=now, ended_reason=session.end_reason)
                )
            if not session:
                s.commit()
                response.delete_cookie(name, path=self.get_cookie_path(app), domain=self.get_cookie_domain(app))
                return
            user_id = _user_id(session)
            if session.row_id is not None and not session.rotate:
                s.execute(update(WebSession).where(WebSession.id == session.row_id).values(data=dict(session), user_id=user_id, last_seen_at=now))
                s.commit()
                return
            token = secrets.token_urlsafe(32)
            s.add(WebSession(token_hash=token_hash(token), user_id=user_id, data=dict(session), created_at=now, last_seen_at=now))
            s.commit()
        response.set_cookie(
            name,
            token,
            httponly=True,
            secure=self.get_cookie_secure(app),
            samesite=self.get_cookie_samesite(app),
            path=self.get_cookie_path(app),
            domain=self.get_cookie_domain(app),
        )


def _user_id(session: ServerSession) -> int | None:
    value = str(session.get("_user_id") or "")
    return int(value) if value.isdigit() else None


def purge_sessions(session: Session, now: dt.datetime, idle: dt.timedelta) -> None:
    """Delete the rows of sessions ended, or unused, for longer than ``ROWS_KEPT``."""
    too_old = now - max(ROWS_KEPT, idle)
    session.execute(delete(WebSession).where(or_(WebSession.ended_at < too_old, WebSession.last_seen_at < too_old)))


def init_sessions(app: Flask) -> None:
    """Serve the app's sessions from the database."""
    app.session_interface = DatabaseSessionInterface()


def current_clock() -> dt.datetime:
    """Return now by the current app's sessions' clock."""
    return session_clock(current_app)
