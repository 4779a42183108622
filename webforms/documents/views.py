"""Pages of documents: list, new, edit (draft), view, submit, download, decision."""

from __future__ import annotations

import io
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, session, url_for
from flask_login import current_user, login_required

from schemas import registry
from schemas.base.kind import Kind
from webforms import db, policy
from webforms.archive import search as svc_archive
from webforms.display import computed, sections
from webforms.documents import services as svc_docs
from webforms.errors import DocumentError, ValidationFailed
from webforms.forms import (
    ActionForm,
    attach_errors,
    change_rows,
    error_summary,
    form_class,
    parse_id,
    payload_of,
    step_form_class,
    with_initial_rows,
)
from webforms.models import Document
from webforms.rendering import MIME
from webforms.rendering.context import format_plain
from webforms.timeutil import paris_date
from webforms.web import services

bp = Blueprint("documents", __name__)


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in user."""


def _kind_or_404(name: str) -> Kind:
    kind = registry().get(name)
    if kind is None:
        abort(404)
    return kind


def _document_or_404(doc_id: int) -> Document:
    doc = db.session().get(Document, doc_id)
    # A document the user may not see answers 404, so its existence is not revealed.
    if doc is None or not policy.can_view(current_user, doc):
        abort(404)
    return doc


@bp.get("/")
def index() -> str:
    """List the documents the user may see and the kinds they may start."""
    docs = db.session().scalars(policy.visible_documents(current_user).limit(500)).unique().all()
    creatable = [k for k in registry().values() if policy.can_create_standalone(current_user, k.name)]
    due: list[Any] = []
    if current_user.role == "redacteur":
        # The referent's home page starts with what is due on their own measures (soonest first).
        from webforms.mesures.services import worklist
        from webforms.models import Mesure

        mine = policy.visible_mesures(current_user).where(Mesure.referent_id == current_user.id)
        due = [row for row in worklist(db.session().scalars(mine).unique().all(), paris_date(current_app.config["CLOCK"]())) if row[1].next_due][:10]
    return render_template(
        "index.html",
        documents=docs,
        kinds=registry(),
        creatable=creatable,
        due=due,
        today=paris_date(current_app.config["CLOCK"]()),
    )


def _computed_for(kind: Kind, payload: dict[str, Any]) -> list[dict[str, str]]:
    valid, _ = kind.load_partial(payload)
    values = {k: format_plain(v) for k, v in kind.derive(valid).items()}
    return computed(kind.derived_labels, values)


def _steps(kind: Kind, errors: dict[str, Any], current: int) -> list[dict[str, Any]]:
    return [
        {"index": i, "title": f.metadata.get("label", name), "ok": name not in errors, "current": i == current}
        for i, (name, f) in enumerate(kind.schema().fields.items(), start=1)
    ]


def _render_form(
    kind: Kind,
    form: Any,
    *,
    doc: Document | None,
    payload: dict[str, Any],
    errors: dict[str, Any],
    status: int = 200,
    step: int | None = None,
    blockers: list[str] | None = None,
) -> tuple[str, int]:
    shown = errors
    steps = None
    if step is not None:
        # One step of a long form: its own problems next to its fields, every step's state above.
        name = list(kind.schema().fields)[step - 1]
        shown = {name: errors[name]} if name in errors else {}
        steps = _steps(kind, errors, step)
    if shown:
        attach_errors(form, shown)
    return (
        render_template(
            "document_form.html",
            kind=kind,
            form=form,
            doc=doc,
            problems=error_summary(kind.schema, shown),
            computed=_computed_for(kind, payload),
            alerts=kind.alerts_for(payload),
            steps=steps,
            step=step,
            blockers=blockers or [],
        ),
        status,
    )


def _step_of(kind: Kind) -> int | None:
    """The step asked for (1-based) of a long form; None for a form on one page."""
    if not kind.steps:
        return None
    count = len(kind.schema().fields)
    step = parse_id(request.args.get("etape", "1"))
    return min(max(step, 1), count) if step is not None else 1


def _row_anchor(action: str) -> str:
    return "#" + action.split(":")[1] if ":" in action else ""


@bp.route("/documents/nouveau/<kind_name>", methods=["GET", "POST"])
def new(kind_name: str) -> Any:
    """Start a document: an empty form; the first save creates the draft."""
    kind = _kind_or_404(kind_name)
    if not policy.can_create(current_user, kind.name):
        abort(403)
    if not kind.standalone:
        flash(f"Un document « {kind.title} » se prépare depuis sa mesure ou son appel à candidatures.", "info")
        return redirect(url_for("candidatures.appels") if kind.per_appel else url_for("mesures.index"))
    form_cls = form_class(kind.schema)
    if request.method == "POST":
        form = form_cls()
        form.validate()  # CSRF was checked before the view; the schema validates the data
        payload = payload_of(form)
        action = request.form.get("action", "save")
        if action.startswith(("add:", "remove:")):
            change_rows(kind.schema, payload, action)
        doc = svc_docs.create_draft(db.session(), services(), kind_name=kind.name, user=current_user, payload=payload)
        if action == "submit":
            return _submit(doc)
        flash("Brouillon enregistré.", "success")
        return redirect(url_for(".edit", doc_id=doc.id) + _row_anchor(action))
    payload = with_initial_rows(kind.schema, {})
    return _render_form(kind, form_cls(formdata=None, data=payload), doc=None, payload=payload, errors={})


@bp.route("/documents/<int:doc_id>/modifier", methods=["GET", "POST"])
def edit(doc_id: int) -> Any:
    """Fill a draft: save as typed, add or remove table rows, submit."""
    doc = _document_or_404(doc_id)
    if not policy.can_edit(current_user, doc):
        if doc.status != "draft":
            flash("Ce document a été soumis : il est verrouillé.", "info")
            return redirect(url_for(".view", doc_id=doc.id))
        abort(403)
    kind = _kind_or_404(doc.kind)
    try:
        svc_docs.check_open(doc, current_app.config["CLOCK"]())
    except DocumentError as exc:
        flash(str(exc), "error")
        return redirect(url_for("candidatures.checklist", doc_id=doc.id) if doc.appel_id else url_for(".view", doc_id=doc.id))
    step = _step_of(kind)
    name = list(kind.schema().fields)[step - 1] if step else None
    form_cls = step_form_class(kind.schema, name) if name else form_class(kind.schema)
    if request.method == "POST":
        form = form_cls()
        form.validate()
        payload = payload_of(form)
        if name:
            # Only this step's fields were sent: the other steps keep what is saved.
            payload = {**doc.data, name: payload.get(name)}
        action = request.form.get("action", "save")
        if action.startswith(("add:", "remove:")):
            change_rows(kind.schema, payload, action)
        try:
            svc_docs.save_draft(db.session(), services(), doc, user=current_user, payload=payload)
        except DocumentError as exc:
            # The deadline passed while the page was open: nothing is saved any more.
            flash(str(exc), "error")
            return redirect(url_for("candidatures.checklist", doc_id=doc.id) if doc.appel_id else url_for(".view", doc_id=doc.id))
        if step:
            _mark_seen(doc.id, step)
        if action == "submit":
            return _submit(doc)
        if step and action in ("next", "previous"):
            left = svc_docs.problems(doc).get(name)
            if left:
                count = len(error_summary(kind.schema, {name: left}))
                flash(f"Étape {step} enregistrée ; {count} point{'s' if count > 1 else ''} reste{'nt' if count > 1 else ''} à corriger dans cette étape.", "info")
            target = step + (1 if action == "next" else -1)
            if target > len(kind.schema().fields):
                flash("Brouillon enregistré : voici où en est votre dossier.", "success")
                return redirect(url_for("candidatures.checklist", doc_id=doc.id) if doc.appel_id else url_for(".view", doc_id=doc.id))
            return redirect(url_for(".edit", doc_id=doc.id, etape=max(target, 1)))
        if not action.startswith(("add:", "remove:")):
            flash("Brouillon enregistré.", "success")
        return redirect(url_for(".edit", doc_id=doc.id, etape=step) + _row_anchor(action))
    shown = with_initial_rows(kind.schema, doc.data)
    errors = svc_docs.problems(doc)
    if name:
        shown = {name: shown.get(name)}
        if step not in _seen(doc.id):
            # A step not yet filled in is not met with a wall of errors; its state shows above.
            errors = {k: v for k, v in errors.items() if k != name}
    return _render_form(kind, form_cls(formdata=None, data=shown), doc=doc, payload=doc.data, errors=errors, step=step)


def _seen(doc_id: int) -> set[int]:
    """The steps of a long form this user has already saved (kept in their session)."""
    return set(session.get("etapes", {}).get(str(doc_id), []))


def _mark_seen(doc_id: int, step: int) -> None:
    steps = dict(session.get("etapes", {}))
    steps[str(doc_id)] = sorted(_seen(doc_id) | {step})
    session["etapes"] = steps


def _submit(doc: Document) -> Any:
    kind = _kind_or_404(doc.kind)
    try:
        svc_docs.submit(db.session(), services(), doc, user=current_user)
    except ValidationFailed as exc:
        flash(str(exc), "error")
        if kind.steps:
            # A long form: the list of what is missing is its checklist (pieces included).
            for line in exc.blockers[:5]:
                flash(line, "error")
            if len(exc.blockers) > 5:
                flash(f"Et {len(exc.blockers) - 5} autre{'s' if len(exc.blockers) > 6 else ''} point{'s' if len(exc.blockers) > 6 else ''} : voir la liste de contrôle ci-dessous.", "error")
            return redirect(url_for("candidatures.checklist", doc_id=doc.id) if doc.appel_id else url_for(".view", doc_id=doc.id))
        form = form_class(kind.schema)(formdata=None, data=with_initial_rows(kind.schema, doc.data))
        return _render_form(kind, form, doc=doc, payload=doc.data, errors=dict(exc.errors), status=422, blockers=exc.blockers)
    except DocumentError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".view", doc_id=doc.id))
    flash(f"Document soumis sous la référence {doc.reference}. Il est désormais verrouillé.", "success")
    return redirect(url_for(".view", doc_id=doc.id))


@bp.post("/documents/<int:doc_id>/soumettre")
def submit(doc_id: int) -> Any:
    """Submit a draft from its page."""
    doc = _document_or_404(doc_id)
    if not policy.can_edit(current_user, doc):
        if doc.status != "draft" and not policy.sees_frozen(current_user, doc):
            # Its own writer, a second time (another tab, a double click): not a refusal of rights.
            flash("Ce document a déjà été soumis : il est verrouillé.", "info")
            return redirect(url_for(".view", doc_id=doc.id))
        abort(403)
    ActionForm().validate()
    return _submit(doc)


@bp.get("/documents/<int:doc_id>")
def view(doc_id: int) -> str:
    """Show a document read-only, with its problems, versions and history."""
    doc = _document_or_404(doc_id)
    kind = _kind_or_404(doc.kind)
    frozen = policy.sees_frozen(current_user, doc)
    problems = svc_docs.problems(doc) if doc.status == "draft" and not frozen else {}
    content = None
    if not problems:
        ctx = svc_docs.context_for(doc, frozen=True if frozen else None)
        content = sections(kind.schema, ctx)
        review = sections(kind.review.schema, ctx["revue"]) if kind.review and ctx["revue"] else None
    else:
        review = None
    versions: dict[int, list[Any]] = {}
    for r in doc.renditions:
        versions.setdefault(r.version, []).append(r)
    titles = {"document": kind.title, "dossier": "Dossier complet", **{a.name: a.title for a in kind.annexes}}
    return render_template(
        "document_view.html",
        doc=doc,
        kind=kind,
        frozen=frozen,
        problems=error_summary(kind.schema, problems),
        content=content,
        review=review,
        computed=_computed_for(kind, svc_docs.data_for(doc, frozen=frozen)),
        alerts=kind.alerts_for(svc_docs.data_for(doc, frozen=frozen)),
        versions=versions,
        output_titles=titles,
        history=svc_docs.history(db.session(), doc),
        can_edit=policy.can_edit(current_user, doc),
        can_review=policy.can_review(current_user, doc),
        can_archive=policy.can_archive(current_user, doc),
        archived=svc_archive.current_record(db.session(), doc) if policy.was_submitted(doc) else None,
        action_form=ActionForm(),
        mesure_link=doc.mesure if doc.mesure and policy.can_view_mesure(current_user, doc.mesure) else None,
    )


@bp.get("/documents/<int:doc_id>/telecharger/<fmt>")
def download(doc_id: int, fmt: str) -> Any:
    """Download the DOCX or PDF: the stored (frozen) file once submitted, a preview before."""
    doc = _document_or_404(doc_id)
    if fmt not in MIME:
        abort(404)
    version = request.args.get("version", type=int)
    if doc.status == "draft" and version is None and not policy.sees_frozen(current_user, doc):
        # A draft: any of its outputs (the letter to sign before the deposit included), rendered now.
        output = svc_docs.preview_output(doc, fmt, request.args.get("sortie", "document"))
        if output is None:
            abort(404)
        try:
            data = svc_docs.preview(services(), doc, output)
        except ValidationFailed as exc:
            flash(f"{exc} Corrigez les erreurs signalées.", "error")
            return redirect(url_for("candidatures.checklist", doc_id=doc.id) if doc.appel_id else url_for(".edit", doc_id=doc.id))
        name = doc.kind if output.name == "document" else f"{doc.kind}-{output.name}"
        prefix = "" if output.to_sign else "brouillon-"
        return send_file(io.BytesIO(data), mimetype=MIME[fmt], as_attachment=True, download_name=f"{prefix}{name}-{doc.id}.{fmt}")
    # A stored version (a reopened dossier's deposited ones too): the file as it was frozen.
    output = request.args.get("sortie", "document")
    rendition = svc_docs.rendition(db.session(), doc, fmt, version, output)
    if rendition is None:
        abort(404)
    path = services().store.path(rendition.sha256)
    response = send_file(
        path,
        mimetype=MIME[fmt],
        as_attachment=True,
        download_name=f"{doc.reference}-v{rendition.version}{'' if output == 'document' else '-' + output}.{fmt}",
        etag=rendition.sha256,
        conditional=True,
    )
    response.headers["X-Content-SHA256"] = rendition.sha256
    return response


@bp.route("/documents/<int:doc_id>/decision", methods=["GET", "POST"])
def review(doc_id: int) -> Any:
    """The coordinator records the orientation decision on a submitted referral (AML §4)."""
    doc = _document_or_404(doc_id)
    kind = _kind_or_404(doc.kind)
    if kind.review is None or not policy.can_review(current_user, doc):
        abort(403)
    form_cls = form_class(kind.review.schema)
    status = 200
    errors: dict[str, Any] = {}
    if request.method == "POST":
        form = form_cls()
        form.validate()
        payload = payload_of(form)
        try:
            svc_docs.record_review(db.session(), services(), doc, user=current_user, payload=payload)
        except ValidationFailed as exc:
            flash(str(exc), "error")
            errors, status = dict(exc.errors), 422
        except DocumentError as exc:
            flash(str(exc), "error")
            return redirect(url_for(".view", doc_id=doc.id))
        else:
            flash("Décision enregistrée ; une nouvelle version du document a été produite.", "success")
            return redirect(url_for(".view", doc_id=doc.id))
    else:
        form = form_cls(formdata=None, data=doc.review or {})
    if errors:
        attach_errors(form, errors)
    return (
        render_template(
            "review_form.html",
            doc=doc,
            kind=kind,
            form=form,
            problems=error_summary(kind.review.schema, errors),
        ),
        status,
    )
