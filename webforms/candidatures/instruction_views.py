"""The instruction of a deposited dossier from its page: moves, correction requests, private annotations (AML §6b)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from webforms import db, policy
from webforms.candidatures import grille, grille_edit, instruction, jury
from webforms.forms import ActionForm, change_rows, error_summary, form_class, parse_id, with_initial_rows
from webforms.models import Appel, Document, Piece
from webforms.web import Outcome, attempt, posted, services

bp = Blueprint("instruction", __name__)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Require a signed-in user for every page here."""


def _instructed_or_404(doc_id: int) -> Document:
    """The dossier, if the user sees it (404 otherwise); 403 unless the user instructs it."""
    doc = db.session().get(Document, doc_id)
    if doc is None or doc.appel_id is None or not policy.can_view(current_user, doc):
        abort(404)
    if not policy.can_instruct(current_user, doc):
        abort(403)
    ActionForm().validate()
    return doc


def _back(doc: Document, outcome: Outcome[Any], done: str) -> ResponseReturnValue:
    flash(outcome.refusal if outcome.refused else done, "error" if outcome.refused else "success")
    return redirect(url_for("candidatures.checklist", doc_id=doc.id))


@bp.post("/documents/<int:doc_id>/instruction")
def move(doc_id: int) -> ResponseReturnValue:
    """Move the dossier's instruction (an instructeur): the state changes, or a French refusal and nothing changes."""
    doc = _instructed_or_404(doc_id)
    action = request.form.get("action", "")
    outcome = attempt(
        instruction.move, db.session(), services().documents, doc,
        user=current_user, action=action, motif=request.form.get("motif") or None, texte=request.form.get("texte", ""),
        mesures={k.removeprefix("mesures-"): v for k, v in request.form.items() if k.startswith("mesures-")},
    )
    label = instruction.ETATS[outcome.value.vers].label.lower() if outcome.value else ""
    return _back(doc, outcome, f"Le dossier est maintenant « {label} ».")


@bp.post("/documents/<int:doc_id>/corrections")
def request_correction(doc_id: int) -> ResponseReturnValue:
    """Ask the association for a correction of its dossier or of one piece, before the deadline (AML §6b)."""
    doc = _instructed_or_404(doc_id)
    piece = None
    if request.form.get("piece"):
        piece = db.session().get(Piece, parse_id(request.form["piece"]) or 0)
        if piece is None or piece.document_id != doc.id:
            abort(404)
    outcome = attempt(instruction.request_correction, db.session(), services().documents, doc, user=current_user, texte=request.form.get("texte", ""), piece=piece)
    return _back(doc, outcome, "Demande de correction envoyée : l'association la voit sur son dossier.")


@bp.post("/documents/<int:doc_id>/annotations")
def annotate(doc_id: int) -> ResponseReturnValue:
    """Record a private annotation on the dossier (instructeurs only; never shown to the association)."""
    doc = _instructed_or_404(doc_id)
    outcome = attempt(instruction.annotate, db.session(), services().documents, doc, user=current_user, texte=request.form.get("texte", ""))
    return _back(doc, outcome, "Annotation enregistrée (visible des seuls instructeurs).")


def _jury_page(appel: Appel, *, date: str | None = None, members: dict[int, str] | None = None) -> str:
    found, seated = jury.jury_of(db.session(), appel)
    return render_template(
        "appel_jury.html",
        appel=appel,
        date=date if date is not None else (found.date.isoformat() if found else ""),
        members=members if members is not None else {m.user_id: m.organisme for m in seated},
        candidates=jury.candidates(db.session()),
        organismes=jury.ORGANISMES,
        scored=jury.frozen_by(db.session(), appel),
        action_form=ActionForm(),
    )


def _administered_appel(appel_id: int) -> Appel:
    """The call (404 otherwise), for an administrator (403 otherwise)."""
    if not policy.can_administer(current_user):
        abort(403)
    appel = db.session().get(Appel, appel_id)
    if appel is None:
        abort(404)
    return appel


@bp.route("/admin/appels/<int:appel_id>/jury", methods=["GET", "POST"])
def jury_page(appel_id: int) -> ResponseReturnValue:
    """Configure a call's selection jury: its date, its members by body (the administrator, AML §6d)."""
    appel = _administered_appel(appel_id)
    if request.method == "GET":
        return _jury_page(appel)
    ActionForm().validate()
    members = jury.members_of_form(request.form)
    outcome = attempt(jury.set_jury, db.session(), services().documents, appel, user=current_user, date=request.form.get("date", ""), members=members)
    if outcome.refused:
        flash(outcome.refusal or "", "error")
        return _jury_page(appel, date=request.form.get("date", ""), members=members), 422
    flash("Jury enregistré : ses membres lisent les dossiers recevables de l'appel.", "success")
    return redirect(url_for(".jury_page", appel_id=appel.id))


def _grille_page(appel: Appel, payload: dict[str, Any] | None = None, form: Any = None, problems: list[dict[str, str]] | None = None) -> str:
    if form is None:
        shown = payload if payload is not None else (appel.data.get("grille") or {})
        form = form_class(grille.GrilleEditSchema)(formdata=None, data=with_initial_rows(grille.GrilleEditSchema, shown))
    scored = grille_edit.scores_against(db.session(), appel)
    return render_template("appel_grille.html", appel=appel, form=form, scored=scored, problems=problems or [], maximum=grille.MAX_POIDS_TOTAL)


@bp.route("/admin/appels/<int:appel_id>/grille", methods=["GET", "POST"])
def grille_page(appel_id: int) -> ResponseReturnValue:
    """Edit a call's evaluation grid: criteria, sub-criteria, weights, scale (the administrator, AML §6c); frozen once scored."""
    appel = _administered_appel(appel_id)
    if request.method == "GET":
        return _grille_page(appel)
    post = posted(form_class(grille.GrilleEditSchema))
    if post.changes_rows:  # a row added or removed: shown again, nothing saved until "Enregistrer"
        change_rows(grille.GrilleEditSchema, post.payload, post.action, post.form)
        return _grille_page(appel, post.payload)
    saved = post.call(grille_edit.save_grille, db.session(), services().archive, appel, user=current_user, flash_refusal=True)
    if saved is None:
        return _grille_page(appel, form=post.form, problems=error_summary(grille.GrilleEditSchema, post.errors)), 422
    flash("Grille d'évaluation enregistrée : le jury note avec elle.", "success")
    return redirect(url_for(".grille_page", appel_id=appel.id))
