"""The pages of a forgotten password: ask a link by e-mail, then choose a new password with it."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user

from webforms import db
from webforms.accounts import reset
from webforms.accounts.forms import ForgotForm, ResetForm
from webforms.accounts.passwords import RULE
from webforms.accounts.services import AccountError
from webforms.accounts.sessions import current_clock
from webforms.accounts.throttle import SignInLocked
from webforms.accounts.views import bp, client_address
from webforms.archive.services import ArchiveError
from webforms.notifications.services import mail_enabled
from webforms.web import services

# The routes are the sign-in blueprint's (``auth.forgot``, ``auth.reset``).
NO_RELAY = "La réinitialisation par courriel n'est pas disponible (aucun relais de courriel configuré) : demandez à un administrateur de réinitialiser votre mot de passe."


@bp.route("/connexion/mot-de-passe-oublie", methods=["GET", "POST"], endpoint="forgot")
def forgot() -> ResponseReturnValue:
    """Ask a reset link; the answer is the same whether an account has the address or not."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = ForgotForm()
    if form.validate_on_submit():
        reset.ask_reset(db.session(), form.email.data or "", now=current_clock())
        flash(reset.SENT if mail_enabled() else NO_RELAY, "info")
        return redirect(url_for("auth.login"))
    return render_template("password_forgot.html", form=form, available=mail_enabled(), no_relay=NO_RELAY)


@bp.route("/connexion/reinitialisation/<token>", methods=["GET", "POST"], endpoint="reset")
def reset_page(token: str) -> ResponseReturnValue:
    """Choose a new password with a reset link (throttled like a sign-in); then sign in, second factor included."""
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form, error, status = ResetForm(), None, 200
    if form.validate_on_submit():
        try:
            reset.reset_password(db.session(), services().archive, token, new=form.new.data or "", confirm=form.confirm.data or "",
                                 address=client_address(), now=current_clock())
        except (AccountError, ArchiveError) as exc:
            db.session().rollback()
            error, status = str(exc), (429 if isinstance(exc, SignInLocked) else 404 if str(exc).startswith(reset.INVALID) else 422)
        else:
            flash("Votre mot de passe a été changé et vos sessions ouvertes ont pris fin : connectez-vous avec le nouveau.", "success")
            return redirect(url_for("auth.login"))
    elif reset.usable(db.session(), token, current_clock()) is None:
        error, status = reset.INVALID, 404
    return render_template("password_reset.html", form=form, error=error, rule=RULE, invalid=status == 404), status
