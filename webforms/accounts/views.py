"""Sign in and out, one's password, the session's keep-alive and what was kept of a form."""

from __future__ import annotations

import datetime as dt
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from webforms import db
from webforms.accounts import kept
from webforms.accounts.forms import PasswordChangeForm
from webforms.accounts.passwords import RULE
from webforms.accounts.services import AccountError, authenticate, change_password, must_change_password
from webforms.accounts.sessions import current_clock, fact, idle_limit, own_session, purge_sessions, rotate
from webforms.accounts.throttle import SignInLocked, checked_sign_in
from webforms.accounts.totp import confirmed_secret
from webforms.forms import ActionForm, LoginForm
from webforms.models import User

bp = Blueprint("auth", __name__)
# In a session between the password and the second factor's code: whose, and where to go next.
PENDING_CODE = "code_attendu"
# In the session of a user whose password was reset: nothing else until they change it.
MUST_CHANGE = "changer_mot_de_passe"
# What such a user may still reach: the change itself, signing out, the page's keep-alive.
_WHILE_CHANGE_OWED = frozenset({"auth.change_password", "auth.logout", "auth.keep_alive", "static"})


def client_address() -> str | None:
    """Return the client's address, counted by the sign-in throttle."""
    # Behind nginx every request would come from 127.0.0.1, and 20 failures of anyone would lock
    # everyone: with the proxies declared (TRUSTED_PROXIES), ProxyFix has put here the address
    # the nearest of them saw; without, nothing forwarded is believed.
    return request.remote_addr


def safe_next(target: str | None) -> str:
    # Only a path of this site: never an absolute or scheme-relative URL (open redirect).
    if target and target.startswith("/") and not target.startswith("//") and not urlsplit(target).netloc:
        return target
    return url_for("home.index")


@bp.route("/connexion", methods=["GET", "POST"])
def login() -> str | Response:
    """Show the sign-in form and check credentials."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    error, status = None, 200
    if form.validate_on_submit():
        email, password = form.email.data or "", form.password.data or ""
        try:
            user = checked_sign_in(
                db.session(), email=email, address=client_address(), now=current_clock(), check=lambda: authenticate(db.session(), email, password)
            )
        except AccountError as exc:
            error, status = str(exc), (429 if isinstance(exc, SignInLocked) else 401)
        else:
            return _after_password(user)
    return render_template("login.html", form=form, error=error), status


def _after_password(user: User) -> Response:
    """Sign ``user`` in, or first ask their second factor's code if the account has one."""
    next_url = safe_next(request.args.get("next"))
    if confirmed_secret(db.session(), user.id) is not None:
        rotate(session, "connexion")
        session[PENDING_CODE] = {"user": user.id, "next": next_url}
        return redirect(url_for("auth.second_factor"))
    start_session(user)
    return redirect(next_url)


def start_session(user: User) -> None:
    """Sign ``user`` in, in a session with a new id (the visitor's own id, maybe known to another, ends)."""
    rotate(session, "connexion")
    login_user(user)
    if must_change_password(db.session(), user.id):
        session[MUST_CHANGE] = True
    purge_sessions(db.session(), current_clock(), idle_limit(current_app))
    db.session().commit()


@bp.route("/deconnexion", methods=["POST"])
@login_required
def logout() -> Response:
    """Sign out (a POST with its CSRF token, so another site cannot sign a user out)."""
    if ActionForm().validate_on_submit():
        logout_user()
        session.clear()
        rotate(session, "deconnexion")  # the session's row ends: its cookie, replayed, is nobody's
        flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/session/maintien")
def keep_alive() -> Response:
    """Tell the page whether its session is still open; asked while the user types, it keeps the session alive."""
    # No sign-in required: an ended session is an answer the page shows ("session ended"), not a redirect.
    return jsonify(connecte=bool(current_user.is_authenticated))


@bp.app_context_processor
def _session_context() -> dict[str, Any]:
    """Give every page its keep-alive period and what was kept of a form posted on it after its session ended."""
    # The page asks at most every 5 minutes, and at least 3 times within the idle time.
    context: dict[str, Any] = {"keepalive_seconds": max(20, min(300, idle_limit(current_app) // dt.timedelta(seconds=3)))}
    if request.method == "GET" and current_user.is_authenticated and fact(kept.KEPT_FACT) is not False:
        context["kept_form"] = kept.kept_for(db.session(), current_user.id, request.full_path.rstrip("?"), current_clock())
    return context


@bp.after_app_request
def _forget_kept(response: Response) -> Response:
    """Drop what was kept of a form once it is posted again and accepted."""
    if request.method == "POST" and response.status_code < 400 and current_user.is_authenticated and not g.get("kept_post") and fact(kept.KEPT_FACT) is not False:
        with own_session(current_app) as s:  # apart from the view's: commits nothing of it
            kept.forget(s, current_user.id, request.path)
    return response


@bp.before_app_request
def _change_owed() -> Response | None:
    """Send a user whose password was reset to the change form, whatever page they ask."""
    if session.get(MUST_CHANGE) and current_user.is_authenticated and request.endpoint not in _WHILE_CHANGE_OWED:
        return redirect(url_for("auth.change_password"))
    return None


@bp.route("/compte/mot-de-passe", methods=["GET", "POST"], endpoint="change_password")
@login_required
def change_password_page() -> tuple[str, int] | Response:
    """Change one's own password (the current one asked); every session of the account ends, this one goes on under a new id."""
    form = PasswordChangeForm()
    error = None
    if form.validate_on_submit():
        try:
            change_password(db.session(), current_user, current=form.current.data or "", new=form.new.data or "", confirm=form.confirm.data or "", now=current_clock())
        except AccountError as exc:
            db.session().rollback()
            error = str(exc)
        else:
            session.pop(MUST_CHANGE, None)
            rotate(session, "mot_de_passe")
            flash("Votre mot de passe a été changé. Vos autres sessions ont pris fin.", "success")
            return redirect(url_for("home.index"))
    forced = bool(session.get(MUST_CHANGE))
    return render_template("account_password.html", form=form, error=error, rule=RULE, forced=forced), (422 if error else 200)
