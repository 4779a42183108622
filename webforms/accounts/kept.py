"""What a user typed survives the end of their session (issue 16, point 1).

A form posted after its session ended (unused too long, signed out or password changed in another
tab) or with a CSRF token that no longer matches the session (signed in again) used to answer "Requête invalide …
jeton CSRF" and lose the text. Such a post is kept in ``kept_form``, tied to the user whose
session the page belonged to and to the page, and offered back on that page once the user is
signed in again. It is kept only when its token is one the application gave to that user's
session: a forged post (another site, an anonymous visitor) keeps nothing. Files are not kept
(they are dropped, and the user is told so).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Request, current_app, g, session
from flask_login import current_user
from itsdangerous import BadData, URLSafeTimedSerializer
from sqlalchemy import ColumnElement, ScalarSelect, delete, exists, select
from sqlalchemy.orm import Session

from webforms.accounts.sessions import ROWS_KEPT, ServerSession, forget_fact
from webforms.models import KeptForm, WebSession

# Endpoints whose posts are never kept: signing in or out carries nothing typed worth keeping.
KEPT_FACT = "formulaires_conserves"
NOT_KEPT = frozenset({"auth.login", "auth.logout", "auth.second_factor"})
KEPT_TERM = dt.timedelta(days=30)
# How a session may have ended for a post of its pages to be kept: not a deactivated account.
ENDS_KEPT = ("inactivite", "deconnexion", "mot_de_passe", "connexion")


@dataclass(frozen=True)
class Keeping:
    """A post kept: for whom, where to land, and whether they are still signed in."""

    user_id: int
    page: str
    signed_in: bool
    files_dropped: bool


def _raw_token(posted: str) -> str | None:
    """Return the session value behind a posted CSRF token (Flask-WTF signs it), or None if forged."""
    try:
        raw = URLSafeTimedSerializer(current_app.secret_key or "", salt="wtf-csrf-token").loads(posted)
    except BadData:
        return None
    return raw if isinstance(raw, str) else None


def _owner(db_session: Session, raw: str, now: dt.datetime) -> tuple[int, bool] | None:
    """Return the user the posted token was given to, and whether they are signed in now; None if nobody's."""
    web: Any = session
    if current_user.is_authenticated:
        # Signed in, but the page came from another of their sessions (ended or replaced).
        found = db_session.scalar(
            select(WebSession.id).where(
                WebSession.user_id == current_user.id, WebSession.data["csrf_token"].as_string() == raw, WebSession.last_seen_at > now - ROWS_KEPT
            )
        )
        return (int(current_user.id), True) if found is not None else None
    ended = web.ended if isinstance(web, ServerSession) else None
    if ended is not None and ended.user_id is not None and ended.reason in ENDS_KEPT and ended.data.get("csrf_token") == raw:
        return ended.user_id, False
    # Signed out (or the password changed) in another tab: the cookie names a new session, or
    # none; the page's token, a secret of the ended session, still says whose it was (issue 16, point 1).
    owner = db_session.scalar(
        select(WebSession.user_id).where(
            WebSession.data["csrf_token"].as_string() == raw,
            WebSession.user_id.is_not(None),
            WebSession.ended_reason.in_(ENDS_KEPT),
            WebSession.ended_at > now - ROWS_KEPT,
        )
    )
    return (owner, False) if owner is not None else None


def _page_of(request: Request) -> str:
    """Return where the form was shown: its page (the referrer, of this site), else its target."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path.startswith("/") and not referrer.path.startswith("//"):
        return referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return request.path


def keep_refused_post(db_session: Session, request: Request, now: dt.datetime) -> Keeping | None:
    """Keep a post refused for its CSRF token, if the token is one given to a user's session; return what was kept."""
    if request.method != "POST" or request.endpoint in NOT_KEPT:
        return None
    raw = _raw_token(request.form.get("csrf_token", ""))
    owner = _owner(db_session, raw, now) if raw else None
    if owner is None:
        return None
    user_id, signed_in = owner
    page = _page_of(request)
    fields = {name: request.form.getlist(name) for name in request.form if name != "csrf_token"}
    # One kept post per form and user: the latest.
    db_session.execute(delete(KeptForm).where(KeptForm.user_id == user_id, KeptForm.action == request.path))
    db_session.execute(delete(KeptForm).where(expired(now)))
    files = any(f.filename for f in request.files.values())
    db_session.add(KeptForm(user_id=user_id, page=page[:500], action=request.path[:500], fields=fields, files_dropped=files, kept_at=now))
    db_session.commit()
    g.kept_post = True  # this request's own answer must not forget it (accounts.views._forget_kept)
    forget_fact(KEPT_FACT)  # read "nothing kept" at the request's start: no longer true
    return Keeping(user_id=user_id, page=page, signed_in=signed_in, files_dropped=files)


def kept_exists(user_id: ColumnElement[int | None]) -> ScalarSelect[bool]:
    """Is anything kept for the user? (read with the session: the kept form is looked up only then)."""
    return select(exists().where(KeptForm.user_id == user_id)).scalar_subquery()


def expired(now: dt.datetime) -> ColumnElement[bool]:
    """The condition "this kept form is past its term" (30 days; the nightly purge deletes it: webforms.purge)."""
    return KeptForm.kept_at < now - KEPT_TERM


def kept_for(db_session: Session, user_id: int, page: str, now: dt.datetime) -> KeptForm | None:
    """Return the latest post kept for ``user_id`` shown on ``page`` within its term, if any."""
    found = select(KeptForm).where(KeptForm.user_id == user_id, KeptForm.page == page, ~expired(now))
    return db_session.scalar(found.order_by(KeptForm.id.desc()).limit(1))


def forget(db_session: Session, user_id: int, action: str) -> None:
    """Drop what was kept of a form once the user posted it again with success."""
    db_session.execute(delete(KeptForm).where(KeptForm.user_id == user_id, KeptForm.action == action))
    db_session.commit()


def message(keeping: Keeping) -> str:
    """Return the French message of a kept post."""
    files = " Les fichiers joints ne sont pas conservés : joignez-les de nouveau." if keeping.files_dropped else ""
    if keeping.signed_in:
        return "Ce formulaire venait d'une session précédente : rien n'a été enregistré, mais ce que vous aviez saisi est conservé et remis ci-dessous. Vérifiez-le, puis enregistrez." + files
    return "Votre session avait pris fin : rien n'a été enregistré, mais ce que vous aviez saisi est conservé. Connectez-vous pour le retrouver sur sa page." + files
