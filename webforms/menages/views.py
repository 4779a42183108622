"""Pages of the household file: search, and one household's timeline (issue 13)."""

from __future__ import annotations

from flask import Blueprint, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from webforms import db, policy
from webforms.menages import services as menages
from webforms.models import Mesure
from webforms.web import attempt, services

bp = Blueprint("menages", __name__, url_prefix="/menages")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Require a signed-in user for every page here."""


@bp.get("/")
def search() -> ResponseReturnValue:
    """Find a household by name or reference, among what the user may read."""
    if not policy.can_search_households(current_user):
        abort(403)
    text = request.args.get("q", "")
    results = menages.search(db.session(), current_user, text) if text else []
    return render_template("menages.html", text=text[:100], results=results)


@bp.get("/<int:mesure_id>")
def file(mesure_id: int) -> ResponseReturnValue:
    """Show a household's file: the timeline of its thread; the opening is logged."""
    mesure = db.session().get(Mesure, mesure_id)
    # A measure the user may not see answers 404, so its existence is not revealed.
    if mesure is None or not policy.can_view_mesure(current_user, mesure):
        abort(404)
    logged = attempt(menages.log_opening, db.session(), services().archive, mesure, user=current_user)
    if logged.refused:
        abort(503)
    return render_template("menage.html", file=menages.timeline(db.session(), current_user, mesure))
