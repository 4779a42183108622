"""The second factor's pages: enrolment (administrators, archivistes) and the code asked at sign-in."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from webforms import db
from webforms.accounts import totp
from webforms.accounts.forms import CodeForm
from webforms.accounts.services import AccountError
from webforms.accounts.sessions import current_clock
from webforms.accounts.throttle import SignInLocked, checked_sign_in
from webforms.accounts.views import PENDING_CODE, bp, start_session
from webforms.models import User

# The routes are the sign-in blueprint's (``auth.second_factor``, ``auth.totp``).
# The secret being enrolled, kept in the server-side session until a code confirms it.
ENROLLING = "secret_en_cours"
# A code is accepted once: the same code again (a second sign-in within its 30 s) is refused.
WRONG_CODE = "Code incorrect ou déjà utilisé : saisissez le code suivant de l'application."


@bp.route("/connexion/code", methods=["GET", "POST"], endpoint="second_factor")
def code() -> ResponseReturnValue:
    """Ask the second factor's code of the account whose password was just checked; counted like a password."""
    pending = session.get(PENDING_CODE)
    user = db.session().get(User, int(pending["user"])) if isinstance(pending, dict) else None
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    if user is None:  # no password checked in this session: start there
        return redirect(url_for("auth.login"))
    form, error, status = CodeForm(), None, 200
    if form.validate_on_submit():
        try:
            checked_sign_in(db.session(), email=user.email, address=None, now=current_clock(), wrong=WRONG_CODE,
                            check=lambda: user if totp.use_code(db.session(), user.id, form.code.data or "", current_clock()) else None)
        except AccountError as exc:
            error, status = str(exc), (429 if isinstance(exc, SignInLocked) else 401)
        else:
            session.pop(PENDING_CODE, None)
            start_session(user)
            return redirect(str(pending["next"]))  # type: ignore[index]
    return render_template("login_code.html", form=form, error=error), status


@bp.route("/compte/double-authentification", methods=["GET", "POST"], endpoint="totp")
@login_required
def enrol() -> ResponseReturnValue:
    """Show the second factor's state; enrol one: a secret shown once, confirmed by a code."""
    if not totp.eligible(current_user):
        abort(403)
    if totp.confirmed_secret(db.session(), current_user.id) is not None:
        return render_template("account_totp.html", enabled=True), 200
    secret = session.setdefault(ENROLLING, totp.new_secret())
    form, error = CodeForm(), None
    if form.validate_on_submit():
        try:
            totp.enable(db.session(), current_user, secret, form.code.data or "", current_clock())
        except AccountError as exc:
            db.session().rollback()
            error = str(exc)
        else:
            session.pop(ENROLLING, None)
            flash("Double authentification activée : un code vous sera demandé à chaque connexion.", "success")
            return redirect(url_for("auth.totp"))
    shown = {"secret": secret, "uri": totp.uri(secret, current_user.email), "qr": totp.qr_data_uri(secret, current_user.email)}
    return render_template("account_totp.html", enabled=False, form=form, error=error, **shown), (422 if error else 200)
