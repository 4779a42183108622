"""The notification centre: what concerns the user, read marks, and their choice of e-mail."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import RadioField

from webforms import db
from webforms.forms import ActionForm, select_choices
from webforms.models import FREQUENCES
from webforms.notifications import services as notes
from webforms.notifications.preferences import frequence_of, set_frequence
from webforms.web import services

bp = Blueprint("notifications", __name__)


class PreferenceForm(FlaskForm):
    """The user's choice of e-mail."""

    frequence = RadioField("Recevoir les notifications par courriel", choices=select_choices(FREQUENCES.items()))


@bp.before_request
@login_required
def _signed_in() -> None:
    """Require a signed-in user for every page here."""


@bp.get("/notifications")
def index() -> str:
    """List what concerns the user, newest first, each linking to its document."""
    items = notes.listing(db.session(), current_user)
    return render_template("notifications.html", items=items, unread=sum(not i.read for i in items), form=ActionForm())


@bp.post("/notifications/<int:notification_id>/lue")
def mark_read(notification_id: int) -> ResponseReturnValue:
    """Mark one notification read; with ``ouvrir``, go on to its document."""
    session = db.session()
    if not notes.mark_read(session, current_user, notification_id, now=services().clock()):
        abort(404)  # someone else's, or about a document no longer theirs to read: not revealed
    if request.form.get("ouvrir"):
        endpoint, values = notes.page_of(session, notification_id)
        return redirect(url_for(endpoint, **values))
    return redirect(url_for(".index"))


@bp.post("/notifications/tout-lu")
def mark_all_read() -> ResponseReturnValue:
    """Mark every notification of the user read."""
    count = notes.mark_all_read(db.session(), current_user, now=services().clock())
    flash(("1 notification marquée comme lue." if count == 1 else f"{count} notifications marquées comme lues.") if count else "Aucune notification non lue.", "success")
    return redirect(url_for(".index"))


@bp.route("/notifications/preferences", methods=["GET", "POST"])
def preferences() -> ResponseReturnValue:
    """Show and record how the user wants to be told by e-mail."""
    session = db.session()
    form = PreferenceForm(frequence=frequence_of(session, current_user.id))
    if request.method == "POST":
        if not form.validate():
            flash("Choisissez l'une des options proposées.", "error")
            return render_template("notification_preferences.html", form=form, mail=notes.mail_enabled()), 422
        set_frequence(session, current_user, str(form.frequence.data))
        flash("Votre choix est enregistré.", "success")
        return redirect(url_for(".preferences"))
    return render_template("notification_preferences.html", form=form, mail=notes.mail_enabled())
