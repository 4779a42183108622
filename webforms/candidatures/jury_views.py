"""The jury's pages (AML §6c, §6d): a member's evaluation of a dossier, the jury's avis, the summary and ranking of a call."""

from __future__ import annotations

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy.orm import Session

from webforms import db, policy
from webforms.candidatures import convention, decision, exports, notation, synthese
from webforms.forms import ActionForm
from webforms.models import Appel, Document
from webforms.web import attempt, services

bp = Blueprint("jury", __name__)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Require a signed-in user for every page here."""


def _dossier_or_404(doc_id: int) -> Document:
    """The dossier, if the user sees it (404 otherwise, its existence not revealed)."""
    doc = db.session().get(Document, doc_id)
    if doc is None or doc.appel_id is None or not policy.can_view(current_user, doc):
        abort(404)
    return doc


def _evaluation_page(doc: Document, notes: dict[str, list[str]] | None = None, comments: dict[str, list[str]] | None = None) -> str:
    grille = notation.grid(doc)
    found = notation.evaluation_of(db.session(), doc, current_user)
    blank_notes, blank_comments = notation.blank(grille)
    return render_template(
        "jury_evaluation.html",
        doc=doc,
        grille=grille,
        evaluation=found,
        notes=notes if notes is not None else (found.notes if found else blank_notes),
        comments=comments if comments is not None else (found.commentaires if found else blank_comments),
        action_form=ActionForm(),
    )


@bp.route("/documents/<int:doc_id>/evaluation", methods=["GET", "POST"])
def evaluation(doc_id: int) -> ResponseReturnValue:
    """Score a recevable dossier on the call's grid (a member of its jury): a draft, or signed off (AML §6c)."""
    doc = _dossier_or_404(doc_id)
    if not notation.sits_on(db.session(), current_user, doc.appel_id):
        abort(403)
    grille = attempt(notation.grid, doc)
    if grille.refused:  # a call without a grid: nothing to score, said on the dossier's page
        flash(grille.refusal or "", "error")
        return redirect(url_for("documents.view", doc_id=doc.id))
    if request.method == "GET":
        return _evaluation_page(doc)
    ActionForm().validate()
    notes, comments = notation.read_form(request.form, grille.value or {})
    sign = request.form.get("action") == "signer"
    outcome = attempt(notation.score, db.session(), services().documents, doc, user=current_user, notes=notes, commentaires=comments, sign=sign)
    if outcome.refused:
        flash(outcome.refusal or "", "error")
        return _evaluation_page(doc, notes, comments), 422
    flash("Évaluation signée : elle ne change plus." if sign else "Brouillon de l'évaluation enregistré.", "success")
    return redirect(url_for(".evaluation", doc_id=doc.id))


@bp.post("/documents/<int:doc_id>/avis")
def avis(doc_id: int) -> ResponseReturnValue:
    """Record the jury's avis on a recevable dossier (the instructeur, for the jury, AML §6d)."""
    doc = _dossier_or_404(doc_id)
    if not policy.can_instruct(current_user, doc):
        abort(403)
    ActionForm().validate()
    outcome = attempt(notation.record_avis, db.session(), services().documents, doc, user=current_user, avis=request.form.get("avis", ""), texte=request.form.get("texte", ""))
    flash(outcome.refusal if outcome.refused else "Avis du jury enregistré.", "error" if outcome.refused else "success")
    return redirect(url_for("candidatures.checklist", doc_id=doc.id))


def page_extra(session: Session, doc: Document) -> dict[str, bool] | None:
    """What a dossier's page offers the signed-in reader: its checklist, or, to a member of its call's jury, the grid (None: not a dossier)."""
    if doc.appel_id is None:
        return None
    return {"checklist": policy.can_open_checklist(current_user, doc), "evaluation": notation.sits_on(session, current_user, doc.appel_id)}


def _readable_appel(appel_id: int) -> Appel:
    """The call (404 otherwise), if the user reads its jury's whole work: its jury, or an instructeur with a Département-wide grant (403 otherwise).

    The summary and the exports hold every territory's dossiers: a user of one platform reads only theirs (issue 13).
    """
    appel = db.session().get(Appel, appel_id)
    if appel is None:
        abort(404)
    if not synthese.can_read(db.session(), current_user, appel):
        abort(403)
    return appel


@bp.get("/appels/<int:appel_id>/synthese")
def synthese_page(appel_id: int) -> ResponseReturnValue:
    """Show the jury's summary of a call: scores, totals, comments, avis, ranking per territory, allocation (AML §5, §6c, §6d)."""
    appel = _readable_appel(appel_id)
    session = db.session()
    return render_template(
        "jury_synthese.html", s=synthese.summary(session, appel), lettres=decision.letters_of(session, appel),
        decides=current_user.role == "instructeur", action_form=ActionForm(),
    )


def _appel_for_instructeur(appel_id: int) -> Appel:
    """The call (404 otherwise), for an instructeur who reads its whole jury work (403 otherwise), its form's token checked."""
    appel = db.session().get(Appel, appel_id)
    if appel is None:
        abort(404)
    # The decision and the letters concern every dossier of the call, whatever its territory.
    if current_user.role != "instructeur" or not synthese.can_read(db.session(), current_user, appel):
        abort(403)
    ActionForm().validate()
    return appel


@bp.post("/appels/<int:appel_id>/decision")
def record_decision(appel_id: int) -> ResponseReturnValue:
    """Record the date of the Commission Permanente's decision on the call's dossiers, once the jury signed off (AML §6d)."""
    appel = _appel_for_instructeur(appel_id)
    outcome = attempt(decision.record_decision, db.session(), services().documents, appel, user=current_user, date=request.form.get("date", ""))
    flash(outcome.refusal if outcome.refused else "Décision de la Commission Permanente enregistrée.", "error" if outcome.refused else "success")
    return redirect(url_for(".synthese_page", appel_id=appel.id))


@bp.post("/appels/<int:appel_id>/lettres")
def send_letters(appel_id: int) -> ResponseReturnValue:
    """Establish the notification letter of each decided dossier (DOCX and PDF, frozen), then mark it notified (AML §6d)."""
    appel = _appel_for_instructeur(appel_id)
    outcome = attempt(decision.send_letters, db.session(), services().documents, appel, user=current_user)
    count = len(outcome.value or [])
    flash(outcome.refusal if outcome.refused else f"Lettres de notification établies : {count}. Elles se préparent (DOCX et PDF).", "error" if outcome.refused else "success")
    return redirect(url_for(".synthese_page", appel_id=appel.id))


@bp.get("/appels/<int:appel_id>/jury.xlsx")
def grid_xlsx(appel_id: int) -> ResponseReturnValue:
    """Download the jury's grid (every signed score), summary and allocation as a spreadsheet."""
    appel = _readable_appel(appel_id)
    name = f"jury-{appel.code}.xlsx"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(exports.grid_xlsx(db.session(), appel), mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", headers=headers)


@bp.get("/appels/<int:appel_id>/proces-verbal.pdf")
def proces_verbal(appel_id: int) -> ResponseReturnValue:
    """Download the jury's procès-verbal (members, date, scores, avis, allocation), signed by its chair."""
    appel = _readable_appel(appel_id)
    # A replaced template that passed its checks may still fail on this call's data (issue 18).
    outcome = attempt(exports.proces_verbal_pdf, db.session(), services().documents, appel)
    if outcome.refused:
        flash(outcome.refusal or "", "error")
        return redirect(url_for(".synthese_page", appel_id=appel.id))
    headers = {"Content-Disposition": f'attachment; filename="proces-verbal-{appel.code}.pdf"'}
    return Response(outcome.value, mimetype="application/pdf", headers=headers)


@bp.get("/documents/<int:doc_id>/convention.<fmt>")
def draft_convention(doc_id: int, fmt: str) -> ResponseReturnValue:
    """Download the draft convention de financement of a retained dossier (its instructeurs, its association; AML §6d, §7)."""
    doc = _dossier_or_404(doc_id)
    if not convention.may_read(current_user, doc):
        abort(403)
    outcome = attempt(convention.draft_convention, db.session(), services().documents, doc, user=current_user, fmt=fmt)
    if outcome.refused:
        flash(outcome.refusal or "", "error")
        return redirect(url_for("candidatures.checklist", doc_id=doc.id))
    mimetype = "application/pdf" if fmt == "pdf" else "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    headers = {"Content-Disposition": f'attachment; filename="convention-{doc.reference}.{fmt}"'}
    return Response(outcome.value, mimetype=mimetype, headers=headers)
