"""Candidature dossiers: calls, the dossier's checklist, its pieces, régularisation (AML §6)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import IO, Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.wrappers import Response

from schemas import get_kind
from webforms import db, policy
from webforms.candidatures import instruction
from webforms.candidatures import services as candidatures
from webforms.candidatures.appels import appels as all_appels
from webforms.candidatures.appels import call_time, deadline_text
from webforms.candidatures.conversions import converting
from webforms.documents.services import data_for, problems
from webforms.errors import DocumentError, parse_id
from webforms.forms import ActionForm
from webforms.jobs.services import progress
from webforms.models import Appel, Document, Piece
from webforms.web import attempt, services, upload_limit

bp = Blueprint("candidatures", __name__)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Require a signed-in user for every page here."""


def _appel_or_404(appel_id: int) -> Appel:
    appel = db.session().get(Appel, appel_id)
    if appel is None:
        abort(404)
    return appel


def _dossier_or_404(doc_id: int) -> Document:
    doc = db.session().get(Document, doc_id)
    if doc is None or doc.appel_id is None or not policy.can_view(current_user, doc):
        abort(404)
    return doc


def _checklist_or_403(doc_id: int) -> Document:
    """The dossier whose checklist the user may open: a jury member reads its page and the grid, not this working page (403)."""
    doc = _dossier_or_404(doc_id)
    if not policy.can_open_checklist(current_user, doc):
        abort(403)
    return doc


@bp.get("/appels")
def appels() -> str:
    """List the calls: for an association, its dossier for each; for an instructeur, the dossiers' count."""
    session = db.session()
    mine: dict[int, Document] = {}
    counts: dict[int, int] = {}
    if current_user.role == "redacteur":
        for doc in session.scalars(select(Document).where(Document.organisation_id == current_user.organisation_id, Document.appel_id.is_not(None))):
            mine[doc.appel_id] = doc  # type: ignore[index]
    if policy.can_list_dossiers(current_user):
        for doc in session.scalars(policy.visible_documents(current_user).where(Document.appel_id.is_not(None), Document.submitted_at.is_not(None))):
            counts[doc.appel_id] = counts.get(doc.appel_id, 0) + 1  # type: ignore[index]
    return render_template(
        "appels.html",
        appels=all_appels(session),
        mine=mine,
        counts=counts,
        now=services().clock(),
        call_time=call_time,
        action_form=ActionForm(),
    )


@bp.post("/appels/<int:appel_id>/dossier")
def open_dossier(appel_id: int) -> ResponseReturnValue:
    """Start the organisation's dossier for a call (or go back to it)."""
    appel = _appel_or_404(appel_id)
    if not policy.can_create(current_user, candidatures.CANDIDATURE):
        abort(403)
    ActionForm().validate()
    try:
        doc = candidatures.open_dossier(db.session(), services().documents, user=current_user, appel=appel)
    except DocumentError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".appels"))
    return redirect(url_for(".checklist", doc_id=doc.id))


@bp.get("/appels/<int:appel_id>/dossiers")
def dossiers(appel_id: int) -> str:
    """List the dossiers submitted to a call, with their completeness (instructeurs, archivistes)."""
    appel = _appel_or_404(appel_id)
    if not policy.can_list_dossiers(current_user):
        abort(403)
    docs = db.session().scalars(
        # Reopened dossiers stay in the list ("En régularisation"): they were deposited.
        policy.visible_documents(current_user)
        .where(Document.appel_id == appel.id, Document.submitted_at.is_not(None))
        .order_by(None)
        .order_by(Document.submitted_at)
    ).all()
    # Recipients read the deposited version, not a régularisation in progress.
    rows = [(d, candidatures.checklist(d, problems(d, frozen=True), services().clock(), frozen=True)) for d in docs]
    labels = instruction.labels_of(db.session(), list(docs))
    return render_template("appel_dossiers.html", appel=appel, rows=rows, labels=labels, deadline=deadline_text(appel))


def _refusal_for(doc: Document) -> dict[str, Any] | None:
    """The refused upload to show beside its field, once (then it is gone, as a flashed message)."""
    refusal = session.pop("refus_piece", None)
    return refusal if isinstance(refusal, dict) and refusal.get("doc") == doc.id else None


@bp.get("/documents/<int:doc_id>/liste")
def checklist(doc_id: int) -> str:
    """Show the dossier's checklist: each section and piece, what is missing, what to do next."""
    doc = _checklist_or_403(doc_id)
    # Recipients read the last deposited version; the association, its dossier as it stands.
    frozen = policy.sees_frozen(current_user, doc)
    errors = problems(doc, frozen=frozen)
    now = services().clock()
    state = candidatures.checklist(doc, errors, now, frozen=frozen)
    return render_template(
        "checklist.html",
        doc=doc,
        state=state,
        call=call_time(doc.appel, now),
        frozen=frozen,
        # Empty fields read as errors once a deposit was tried (its refusal says so), or to a recipient.
        tried=request.args.get("verifier") == "1" or frozen,
        alerts=get_kind(doc.kind).alerts_for(data_for(doc, frozen=frozen)),
        # The letter to sign and the previews, once the form they are made from is complete (AML §6b).
        form_complete=not frozen and doc.statut == "brouillon" and not errors,
        # After the deadline nothing changes in a dossier any more (AML §6b, §6d).
        can_edit=policy.can_edit(current_user, doc) and state.open,
        can_reopen=policy.can_reopen(current_user, doc) and state.open,
        can_judge=policy.can_judge_pieces(current_user, doc),
        conversion=None if frozen else _conversion(doc),
        refusal=_refusal_for(doc),
        instruction=instruction.panel(db.session(), doc, user=current_user, now=services().clock()),
        action_form=ActionForm(),
    )


def _conversion(doc: Document) -> dict[str, Any] | None:
    """The progress of a Word piece's conversion still running, for the page's indicator."""
    travail = converting(db.session(), doc)
    return progress(travail) if travail is not None else None


@bp.post("/documents/<int:doc_id>/pieces/<code>")
@upload_limit(lambda: max(rule.max_mb for rule in get_kind(candidatures.CANDIDATURE).attachments if rule.formats))
def upload(doc_id: int, code: str) -> ResponseReturnValue:
    """Upload a piece; it is checked by its content, and a refusal leaves the dossier as it was."""
    doc = _dossier_or_404(doc_id)
    if not policy.can_edit(current_user, doc):
        abort(403)
    ActionForm().validate()
    closed = attempt(candidatures.refuse_after_deadline, doc, services().clock())
    if closed.refused:  # the whole dossier's, not one file's: said at the top of the page
        flash(closed.refusal or "", "error")
        return redirect(url_for(".checklist", doc_id=doc.id))
    file = request.files.get("fichier")
    rang = parse_id(request.form.get("rang", "0"))
    if file is None or not file.filename:
        return _refused_piece(doc, code, rang, "Choisissez le fichier à ajouter.")
    outcome = attempt(_add_piece, doc, code, -1 if rang is None else rang, file.stream, file.filename)
    if outcome.refused:
        rule = next((a for a in get_kind(doc.kind).attachments if a.name == code), None)
        return _refused_piece(doc, code, rang, f"Pièce refusée{f' ({rule.title})' if rule else ''} : {outcome.refusal}")
    flash("Pièce ajoutée.", "success")
    return redirect(url_for(".checklist", doc_id=doc.id))


def _refused_piece(doc: Document, code: str, rang: int | None, message: str) -> Response:
    """Back to the checklist, the refusal shown beside the file field it concerns (issue 16, point 7)."""
    slot = f"{code}-{rang or 0}"
    session["refus_piece"] = {"doc": doc.id, "slot": slot, "message": message}
    return redirect(url_for(".checklist", doc_id=doc.id, _anchor=f"fichier-{slot}"))


def _add_piece(doc: Document, code: str, rang: int, stream: IO[bytes], filename: str) -> None:
    """Check and store a piece, in a working folder removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="webforms-upload-") as workdir:
        candidatures.add_piece(
            db.session(),
            services().documents,
            doc,
            user=current_user,
            code=code,
            rang=rang,
            stream=stream,
            filename=filename,
            workdir=Path(workdir),
        )


def _piece_or_404(doc: Document, piece_id: int) -> Piece:
    piece = db.session().get(Piece, piece_id)
    if piece is None or piece.document_id != doc.id:
        abort(404)
    return piece


@bp.post("/documents/<int:doc_id>/pieces/<int:piece_id>/retirer")
def remove(doc_id: int, piece_id: int) -> ResponseReturnValue:
    """Withdraw a piece from a draft dossier."""
    doc = _dossier_or_404(doc_id)
    if not policy.can_edit(current_user, doc):
        abort(403)
    piece = _piece_or_404(doc, piece_id)
    ActionForm().validate()
    try:
        candidatures.remove_piece(db.session(), services().documents, doc, piece, user=current_user)
    except DocumentError as exc:
        flash(str(exc), "error")
    else:
        flash("Pièce retirée (elle reste dans l'historique du dossier).", "success")
    return redirect(url_for(".checklist", doc_id=doc.id))


@bp.get("/documents/<int:doc_id>/pieces/<int:piece_id>")
def download_piece(doc_id: int, piece_id: int) -> ResponseReturnValue:
    """Download a piece as it was uploaded (re-encoded for images), under its original name."""
    doc = _dossier_or_404(doc_id)
    piece = _piece_or_404(doc, piece_id)
    if policy.sees_frozen(current_user, doc) and not candidatures.was_deposited(piece):
        abort(404)  # a correction not yet deposited is the association's alone
    response = send_file(
        services().documents.store.path(piece.sha256),
        mimetype=piece.mime,
        as_attachment=True,
        download_name=piece.original_name,
        etag=piece.sha256,
        conditional=True,
    )
    response.headers["X-Content-SHA256"] = piece.sha256
    return response


@bp.post("/documents/<int:doc_id>/pieces/<int:piece_id>/non-conforme")
def nonconforme(doc_id: int, piece_id: int) -> ResponseReturnValue:
    """Mark a piece as non-compliant (an instructeur), with a reason the association sees."""
    doc = _dossier_or_404(doc_id)
    if not policy.can_judge_pieces(current_user, doc):
        abort(403)
    piece = _piece_or_404(doc, piece_id)
    ActionForm().validate()
    try:
        candidatures.mark_nonconforme(db.session(), services().documents, piece, user=current_user, motif=request.form.get("motif", ""))
    except DocumentError as exc:
        flash(str(exc), "error")
    else:
        flash("Pièce marquée non conforme ; l'association en voit la raison.", "success")
    return redirect(url_for(".checklist", doc_id=doc.id))


@bp.post("/documents/<int:doc_id>/rouvrir")
def reopen(doc_id: int) -> ResponseReturnValue:
    """Reopen a submitted dossier to correct it before the deadline (AML §6b)."""
    doc = _dossier_or_404(doc_id)
    if not policy.can_reopen(current_user, doc):
        abort(403)
    ActionForm().validate()
    try:
        candidatures.reopen(db.session(), services().documents, doc, user=current_user)
    except DocumentError as exc:
        flash(str(exc), "error")
    else:
        flash("Dossier rouvert : corrigez-le puis déposez-le de nouveau avant la date limite. La version déposée reste consultable.", "success")
    return redirect(url_for(".checklist", doc_id=doc.id))
