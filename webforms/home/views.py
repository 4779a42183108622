"""The home page (``/``): what is due on the referent's own measures, then the documents.

A feature of its own, above documents and measures: it shows both, so the generic document
pages need not know the measures.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from schemas import registry
from webforms import db, policy
from webforms.mesures.services import worklist
from webforms.models import Mesure
from webforms.web import services

bp = Blueprint("home", __name__)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Require a signed-in user for every page here."""


@bp.get("/")
def index() -> str:
    """List the documents the user may see, the kinds they may start and what is due."""
    docs = db.session().scalars(policy.visible_documents(current_user).limit(500)).unique().all()
    creatable = [k for k in registry().values() if policy.can_create_standalone(current_user, k.name)]
    today = services().today()
    due: list[Any] = []
    if current_user.role == "redacteur":
        # The referent's home page starts with what is due on their own measures (soonest first).
        mine = policy.visible_mesures(current_user).where(Mesure.referent_id == current_user.id)
        due = [row for row in worklist(db.session().scalars(mine).unique().all(), today) if row[1].next_due][:10]
    # A coordinator's home page starts with the referrals waiting for their decision (issue 16, point 9).
    to_decide = db.session().scalars(policy.awaiting_decision(current_user).limit(100)).unique().all()
    # The administrator is told of a sealing key or an anchor left in the data directory (issue 15).
    placement = services().archive.placement_warnings() if policy.can_administer(current_user) else []
    return render_template("index.html", documents=docs, kinds=registry(), creatable=creatable, due=due, today=today, to_decide=to_decide, placement=placement)
