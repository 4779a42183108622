"""Pages of the queue: a work's progress (for whoever may follow it), the administrator's queue page."""

from __future__ import annotations

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from webforms import db, policy
from webforms.forms import ActionForm
from webforms.jobs import services as svc_jobs
from webforms.models import Travail
from webforms.web import attempt, services

bp = Blueprint("travaux", __name__)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Require a signed-in user for every page here."""


def _travail_or_404(travail_id: int) -> Travail:
    travail = db.session().get(Travail, travail_id)
    # Someone else's work answers 404, so its existence is not revealed.
    if travail is None or not svc_jobs.can_follow(current_user, travail):
        abort(404)
    return travail


@bp.get("/travaux/<int:travail_id>")
def progress(travail_id: int) -> str:
    """Show a work's progress; the page updates itself until the work is done."""
    travail = _travail_or_404(travail_id)
    return render_template("travail.html", travail=svc_jobs.progress(travail), document_id=travail.document_id)


@bp.get("/travaux/<int:travail_id>/etat")
def state(travail_id: int) -> ResponseReturnValue:
    """Return a work's progress as JSON, for the page's indicator."""
    response = jsonify(svc_jobs.progress(_travail_or_404(travail_id)))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/admin/travaux")
def queue() -> str:
    """Show the queue to an administrator: jobs by state, failed and current work."""
    if not policy.can_administer(current_user):
        abort(403)
    return render_template("admin_travaux.html", overview=svc_jobs.overview(db.session()), form=ActionForm())


@bp.post("/admin/travaux/<int:travail_id>/relancer")
def retry(travail_id: int) -> ResponseReturnValue:
    """Run a failed work once more."""
    if not policy.can_administer(current_user):
        abort(403)
    travail = _travail_or_404(travail_id)
    outcome = attempt(svc_jobs.retry, db.session(), travail, now=services().clock())
    flash(str(outcome.refusal) if outcome.refused else f"Travail n° {travail.id} relancé.", "error" if outcome.refused else "success")
    return redirect(url_for(".queue"))
