"""Sign in and out."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from webforms import db
from webforms.accounts.services import authenticate
from webforms.forms import ActionForm, LoginForm

bp = Blueprint("auth", __name__)


def _safe_next(target: str | None) -> str:
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
    error = None
    if form.validate_on_submit():
        user = authenticate(db.session(), form.email.data or "", form.password.data or "")
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        error = "Adresse électronique ou mot de passe incorrect."
    return render_template("login.html", form=form, error=error), (200 if error is None else 401)


@bp.route("/deconnexion", methods=["POST"])
@login_required
def logout() -> Response:
    """Sign out (a POST with its CSRF token, so another site cannot sign a user out)."""
    if ActionForm().validate_on_submit():
        logout_user()
        flash("Vous êtes déconnecté.", "info")
    return redirect(url_for("auth.login"))
