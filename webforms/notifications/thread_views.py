"""The thread of a document: read it and its attachments (whoever reads the document), write in it (``policy.can_discuss``)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from schemas import get_kind
from webforms import db, policy
from webforms.documents.uploads import UploadRefused
from webforms.forms import ActionForm
from webforms.models import NATURES_MESSAGE, Document, Message
from webforms.notifications import threads
from webforms.web import attempt, services, upload_limit

bp = Blueprint("messages", __name__)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Require a signed-in user for every page here."""


def _document_or_404(doc_id: int) -> Document:
    """The document, if the user may read its thread; its existence is not revealed otherwise."""
    doc = db.session().get(Document, doc_id)
    if doc is None or not policy.can_read_thread(current_user, doc):
        abort(404)
    return doc


def _page(doc: Document, *, texte: str = "", file_error: str = "", status: int = 200) -> ResponseReturnValue:
    # Shown again after a refused post (status 422), the thread stays unread as it was.
    items = threads.thread(db.session(), doc, user=current_user, mark_seen=status < 400)
    return render_template(
        "messages.html", doc=doc, kind=get_kind(doc.kind), items=items, form=ActionForm(), texte=texte, natures=NATURES_MESSAGE, attachment_mb=threads.ATTACHMENT_MB, file_error=file_error,
        can_write=policy.can_discuss(current_user, doc), can_correct=policy.can_request_correction(current_user, doc),
    ), status


@bp.get("/documents/<int:doc_id>/messages")
def thread(doc_id: int) -> ResponseReturnValue:
    """Show the document's thread, oldest first, what the reader had not seen marked new."""
    return _page(_document_or_404(doc_id))


def _post(doc: Document, texte: str, nature: str, file_refusals: list[str]) -> Message:
    """Post the message with its attachment if one was chosen, checked in a working folder removed afterwards.

    A refused attachment's reason is also put in ``file_refusals``: it is said beside the file field.
    """
    file = request.files.get("fichier")
    with tempfile.TemporaryDirectory(prefix="webforms-message-") as workdir:
        upload = threads.Upload(file.stream, file.filename, Path(workdir)) if file is not None and file.filename else None
        try:
            return threads.post(db.session(), services().documents, doc, user=current_user, texte=texte, nature=nature, upload=upload)
        except UploadRefused as exc:
            file_refusals.append(str(exc))
            raise


@bp.post("/documents/<int:doc_id>/messages")
@upload_limit(lambda: threads.ATTACHMENT_MB)
def post(doc_id: int) -> ResponseReturnValue:
    """Add a message (or a correction request), with an attachment or not, to the document's thread."""
    doc = _document_or_404(doc_id)
    if not policy.can_discuss(current_user, doc):
        abort(403)
    texte, nature = request.form.get("texte", ""), request.form.get("nature", "message")
    file_refusals: list[str] = []
    outcome = attempt(_post, doc, texte, nature, file_refusals)
    if outcome.refused and file_refusals:
        # Beside the file field, the typed message kept (issue 16, point 7).
        return _page(doc, texte=texte, file_error=file_refusals[0], status=422)
    if outcome.refused:
        flash(outcome.refusal or "", "error")
        return _page(doc, texte=texte, status=422)
    flash("Demande de correction envoyée." if nature == "demande_correction" else "Message envoyé.", "success")
    return redirect(url_for(".thread", doc_id=doc.id, _anchor=f"message-{outcome.value.id if outcome.value else ''}"))


@bp.get("/documents/<int:doc_id>/messages/pieces-jointes/<int:attachment_id>")
def attachment(doc_id: int, attachment_id: int) -> ResponseReturnValue:
    """Download an attachment of the thread: whoever reads the thread, and only through its own document."""
    doc = _document_or_404(doc_id)
    found = threads.attachment_of(db.session(), doc, attachment_id)
    if found is None:
        abort(404)
    response = send_file(
        services().documents.store.path(found.sha256), mimetype=found.mime, as_attachment=True,
        download_name=found.original_name, etag=found.sha256, conditional=True,
    )
    response.headers["X-Content-SHA256"] = found.sha256
    return response
