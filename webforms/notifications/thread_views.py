"""The thread of a document: read it (whoever reads the document), write in it (``policy.can_discuss``)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from schemas import get_kind
from webforms import db, policy
from webforms.forms import ActionForm
from webforms.models import NATURES_MESSAGE, Document
from webforms.notifications import threads
from webforms.web import attempt, services

bp = Blueprint("messages", __name__)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Require a signed-in user for every page here."""


def _document_or_404(doc_id: int) -> Document:
    """The document, if the user may read it; its existence is not revealed otherwise."""
    doc = db.session().get(Document, doc_id)
    if doc is None or not policy.can_view(current_user, doc):
        abort(404)
    return doc


def _page(doc: Document, *, texte: str = "", status: int = 200) -> ResponseReturnValue:
    items = threads.thread(db.session(), doc, user=current_user)
    return render_template(
        "messages.html", doc=doc, kind=get_kind(doc.kind), items=items, form=ActionForm(), texte=texte, natures=NATURES_MESSAGE,
        can_write=policy.can_discuss(current_user, doc), can_correct=policy.can_request_correction(current_user, doc),
    ), status


@bp.get("/documents/<int:doc_id>/messages")
def thread(doc_id: int) -> ResponseReturnValue:
    """Show the document's thread, oldest first, what the reader had not seen marked new."""
    return _page(_document_or_404(doc_id))


@bp.post("/documents/<int:doc_id>/messages")
def post(doc_id: int) -> ResponseReturnValue:
    """Add a message (or a correction request) to the document's thread."""
    doc = _document_or_404(doc_id)
    if not policy.can_discuss(current_user, doc):
        abort(403)
    texte, nature = request.form.get("texte", ""), request.form.get("nature", "message")
    outcome = attempt(threads.post, db.session(), services().documents, doc, user=current_user, texte=texte, nature=nature)
    if outcome.refused:
        flash(outcome.refusal or "", "error")
        return _page(doc, texte=texte, status=422)
    flash("Demande de correction envoyée." if nature == "demande_correction" else "Message envoyé.", "success")
    return redirect(url_for(".thread", doc_id=doc.id, _anchor=f"message-{outcome.value.id if outcome.value else ''}"))
