"""The templates' pages (administrators only): list, history, deposit, preview, put in force, roll back."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from typing import IO

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from webforms import db, policy
from webforms.errors import DocumentError
from webforms.forms import ActionForm
from webforms.jobs import services as svc_jobs
from webforms.modeles import previews
from webforms.modeles import services as svc_modeles
from webforms.modeles.checks import MAX_TEMPLATE_MB, Slot, UnknownTemplate, slot_of, slots
from webforms.modeles.services import FORMATS, TemplateRefused
from webforms.models import ModeleVersion, Travail
from webforms.rendering import MIME
from webforms.web import services, upload_limit

bp = Blueprint("modeles", __name__, url_prefix="/admin/modeles", template_folder="templates")


@bp.before_request
@login_required
def _admin_only() -> None:
    if not policy.can_manage_templates(current_user):
        abort(403)


def _slot_or_404(template: str) -> Slot:
    try:
        return slot_of(template)
    except UnknownTemplate:
        abort(404)


@bp.get("")
def index() -> ResponseReturnValue:
    """List every template the kinds declare, with the version in force."""
    session = db.session()
    rows = [(slot, svc_modeles.in_force_number(session, name)) for name, slot in slots().items()]
    return render_template("modeles/index.html", rows=rows, formats=FORMATS)


@bp.route("/<template>", methods=["GET", "POST"])
@upload_limit(lambda: MAX_TEMPLATE_MB)
def template(template: str) -> ResponseReturnValue:
    """Show a template's versions and moves; deposit a new version (checked before it is kept)."""
    slot = _slot_or_404(template)
    refusal, problems = None, []
    if request.method == "POST":
        ActionForm().validate()
        file = request.files.get("fichier")
        if file is None or not file.filename:
            refusal = "Choisissez le fichier du modèle à déposer."
        else:
            try:
                version = _deposit(template, file.stream, file.filename)
            except TemplateRefused as exc:
                db.session().rollback()
                refusal, problems = str(exc), exc.problems
            else:
                if svc_modeles.check_of(db.session(), template, version.number).passed:
                    flash(f"Version {version.number} vérifiée et enregistrée : ouvrez son aperçu, puis mettez-la en vigueur.", "success")
                else:  # a PDF template: the mark on each page is checked by a worker (issue 11, point 4)
                    flash(
                        f"Version {version.number} enregistrée, en vérification : un exemple est imprimé et sa marque lue sur chaque page. "
                        "Ouvrez son aperçu ; elle pourra être mise en vigueur une fois vérifiée.", "success",
                    )
                return redirect(url_for(".template", template=template))
    # A refused file is said beside its field, not at the top (issue 16, point 7).
    return _page(slot, None, [], file_error=refusal, file_problems=problems), 422 if refusal else 200


def _deposit(template: str, stream: IO[bytes], filename: str) -> ModeleVersion:
    """Check and keep a version, in a working folder removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="webforms-modele-") as workdir:
        return svc_modeles.deposit(db.session(), services().documents, template, stream, filename, user=current_user, workdir=Path(workdir))


def _page(slot: Slot, refusal: str | None, problems: list[str], *, file_error: str | None = None, file_problems: list[str] | None = None) -> str:
    session = db.session()
    return render_template(
        "modeles/template.html", slot=slot, formats=FORMATS, refusal=refusal, problems=problems, file_error=file_error, file_problems=file_problems or [],
        in_force=svc_modeles.in_force_number(session, slot.template), versions=svc_modeles.versions(session, slot.template),
        checks=svc_modeles.checks(session, slot.template), progress=svc_jobs.progress,
        moves=svc_modeles.moves(session, slot.template), host_file=svc_modeles.host_file(services().documents, slot),
        action_form=ActionForm(), max_mb=MAX_TEMPLATE_MB,
    )


@bp.get("/<template>/versions/<int:number>")
def download(template: str, number: int) -> ResponseReturnValue:
    """Download a version as deposited (0: the shipped template)."""
    slot = _slot_or_404(template)
    try:
        data, name = svc_modeles.version_file(db.session(), services().documents, template, number)
    except UnknownTemplate:
        abort(404)
    mime = MIME["docx"] if slot.fmt == "docx" else "text/html; charset=utf-8"
    return send_file(io.BytesIO(data), mimetype=mime, as_attachment=True, download_name=name)


@bp.get("/<template>/versions/<int:number>/apercu")
def preview(template: str, number: int) -> ResponseReturnValue:
    """The first kind's example printed with this version (DOCX, or PDF for an HTML template)."""
    _slot_or_404(template)
    try:
        data, mime, name = svc_modeles.preview(db.session(), services().documents, template, number, user=current_user)
    except UnknownTemplate:
        abort(404)
    return send_file(io.BytesIO(data), mimetype=mime, as_attachment=True, download_name=name)


@bp.post("/<template>/versions/<int:number>/vigueur")
def put_in_force(template: str, number: int) -> ResponseReturnValue:
    """Put a version in force, or go back to an earlier one (0: the shipped template); logged."""
    slot = _slot_or_404(template)
    ActionForm().validate()
    try:
        svc_modeles.put_in_force(db.session(), services().documents, template, number, user=current_user)
    except UnknownTemplate:
        abort(404)
    except DocumentError as exc:  # refused: nothing changed, the page says why (each problem for a template)
        db.session().rollback()
        return _page(slot, str(exc), getattr(exc, "problems", [])), 422
    flash(f"Version {number} en vigueur." if number else "Le modèle d'origine est de nouveau en vigueur.", "success")
    return redirect(url_for(".template", template=template))


@bp.post("/<template>/versions/<int:number>/apercu-pdf")
def ask_pdf_preview(template: str, number: int) -> ResponseReturnValue:
    """Ask a worker for the PDF of a Word version's preview (LibreOffice takes seconds); follow it."""
    slot = _slot_or_404(template)
    ActionForm().validate()
    try:
        travail = previews.ask_pdf_preview(db.session(), services().documents, template, number, user=current_user)
    except UnknownTemplate:
        abort(404)
    except DocumentError as exc:
        db.session().rollback()
        return _page(slot, str(exc), []), 422
    return redirect(url_for(".pdf_preview", template=template, travail_id=travail.id))


def _preview_work_or_404(template: str, travail_id: int) -> Travail:
    _slot_or_404(template)
    travail = previews.preview_work(db.session(), template, travail_id)
    if travail is None:
        abort(404)
    return travail


@bp.get("/<template>/apercus/<int:travail_id>")
def pdf_preview(template: str, travail_id: int) -> ResponseReturnValue:
    """Show the PDF preview's progress, then its download link (or why LibreOffice failed)."""
    travail = _preview_work_or_404(template, travail_id)
    return render_template("modeles/apercu_pdf.html", template=template, travail=svc_jobs.progress(travail), resultat=travail.resultat or {})


@bp.get("/<template>/apercus/<int:travail_id>/pdf")
def pdf_preview_file(template: str, travail_id: int) -> ResponseReturnValue:
    """Download the PDF preview; opening it allows the version into force, as the DOCX does."""
    travail = _preview_work_or_404(template, travail_id)
    try:
        data, name = previews.pdf_of(db.session(), services().documents, travail, template, user=current_user)
    except DocumentError:  # not ready, or failed: its page says which
        return redirect(url_for(".pdf_preview", template=template, travail_id=travail_id))
    return send_file(io.BytesIO(data), mimetype=MIME["pdf"], as_attachment=True, download_name=name)
