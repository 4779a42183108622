"""Pages of documents: new, edit (draft), view, submit, download, decision.

These are the generic pages, below the features that use them: they name no call, measure or
archive module. What a feature shows on a document's page (the archive: its signed copy in
force) comes through ``register_page_extra``, filled by the app factory as ``register_parent``
is for the lifecycle; the home page lives in its own folder (``webforms.home``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, send_file, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response

from schemas import registry
from schemas.base.kind import Kind
from webforms import db, policy
from webforms.display import computed, sections
from webforms.documents import previews
from webforms.documents import services as svc_docs
from webforms.documents.reviews import review_rules
from webforms.errors import DISK_FULL, DocumentError, ValidationFailed, parse_id, parse_number
from webforms.forms import (
    ActionForm,
    ShownForm,
    attach_errors,
    change_rows,
    error_summary,
    fill_lookups,
    form_class,
    normalised_times,
    split_unfilled,
    step_form_class,
    with_initial_rows,
)
from webforms.jobs.services import progress
from webforms.models import Document
from webforms.rendering import MIME
from webforms.rendering.context import format_plain
from webforms.timeutil import paris_time
from webforms.web import attempt, posted, services

bp = Blueprint("documents", __name__)
# The action the page's automatic save sends (static/autosave.js): saved as « Enregistrer », answered in JSON.
AUTOSAVE = "autosave"

# What a feature adds to a document's page: the template variable it fills, and a function of
# the session and the document returning that variable's plain value (None: nothing to show).
PageExtra = Callable[[Session, Document], Any]
_PAGE_EXTRAS: dict[str, PageExtra] = {}


def register_page_extra(name: str, extra: PageExtra) -> None:
    """Make every document page give its template ``name`` = ``extra(session, doc)``."""
    _PAGE_EXTRAS[name] = extra


# What a feature reads from the submission's own form (the recipients without an account): a
# check before the submission, refusing in French (``DocumentError``: nothing is submitted), and
# what to do with its result once the submission is committed. Filled by the app factory.
SubmitCheck = Callable[[Mapping[str, Any]], Any]
SubmitAfter = Callable[[Session, Document, Any], list[str]]
_SUBMIT_STEPS: dict[str, tuple[SubmitCheck, SubmitAfter]] = {}


def register_submit_step(name: str, check: SubmitCheck, after: SubmitAfter) -> None:
    """Make every submission run ``check(form)`` before it, then ``after(session, doc, checked)`` once committed (its French lines flashed)."""
    _SUBMIT_STEPS[name] = (check, after)


def _page_extras(doc: Document) -> dict[str, Any]:
    """Return what the registered features add to ``doc``'s page, by template variable."""
    return {name: extra(db.session(), doc) for name, extra in _PAGE_EXTRAS.items()}


@bp.before_request
@login_required
def _signed_in() -> None:
    """Require a signed-in user for every page here."""


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


def _computed_and_alerts(kind: Kind, payload: dict[str, Any], valid: dict[str, Any] | None) -> dict[str, Any]:
    """Return what the page shows computed from a payload, and its alerts: one reading of it.

    ``valid``: the payload's valid part when the caller has already read it (a saved draft's
    page reads its data once: marshmallow's load is a fifth of that page's time).
    """
    if valid is None:
        valid, _ = kind.load_partial(payload)
    derived = kind.derive(valid)
    values = {k: format_plain(v) for k, v in derived.items()}
    return {"computed": computed(kind.derived_labels, values), "alerts": kind.alerts(valid, derived)}


def _steps(kind: Kind, errors: dict[str, Any], current: int, seen: set[int]) -> list[dict[str, Any]]:
    # ``seen``: a step the user has left, whose "(à compléter)" is then an error, not a neutral state.
    return [
        {"index": i, "title": f.metadata.get("label", name), "ok": name not in errors, "current": i == current, "seen": i in seen}
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
    tried: bool = True,
    valid: dict[str, Any] | None = None,
) -> tuple[str, int]:
    """Show the form (one step of a long form: its own problems by its fields, every step's state above).

    Until the user has ``tried`` to submit (or to leave the step), a field only left empty is
    listed in neutral terms, not marked as an error (issue 16, point 2); a value to correct is.
    """
    name = _step_name(kind, step)
    shown = ({name: errors[name]} if name in errors else {}) if name else errors
    unfilled: dict[str, Any] = {}
    if not tried:
        unfilled, shown = split_unfilled(shown, payload)
    if isinstance(form, ShownForm):
        form = form.showing(shown)
    elif shown:
        attach_errors(form, shown)
    page = render_template(
        "document_form.html",
        kind=kind,
        form=form,
        doc=doc,
        problems=error_summary(kind.schema, shown),
        unfilled=error_summary(kind.schema, unfilled),
        **_computed_and_alerts(kind, payload, valid),
        steps=_steps(kind, errors, step, _seen(doc.id) if doc else set()) if step is not None else None,
        tried=tried,
        step=step,
        notices=svc_docs.parent_rules(doc).notices(doc, services().clock()) if doc else [],
    )
    return page, status


def _step_of(kind: Kind) -> int | None:
    """Return the step asked for (1-based) of a long form; None for a form on one page."""
    if not kind.steps:
        return None
    count = len(kind.schema().fields)
    step = parse_id(request.args.get("etape", "1"))
    return min(max(step, 1), count) if step is not None else 1


def _step_name(kind: Kind, step: int | None) -> str | None:
    """Return the field a step of a long form fills; None for a form on one page."""
    return list(kind.schema().fields)[step - 1] if step else None


def _form_class(kind: Kind, name: str | None) -> type[Any]:
    return step_form_class(kind.schema, name) if name else form_class(kind.schema)


def _row_anchor(action: str) -> str:
    return "#" + action.split(":")[1] if ":" in action else ""


def _back_to(doc: Document, page: str = ".view", **args: Any) -> Response:
    """Redirect to the dossier's checklist for a candidature, else to the document's ``page``."""
    return redirect(url_for("candidatures.checklist", doc_id=doc.id, **args) if doc.appel_id else url_for(page, doc_id=doc.id, **args))


@bp.route("/documents/nouveau/<kind_name>", methods=["GET", "POST"])
def new(kind_name: str) -> ResponseReturnValue:
    """Start a document: an empty form; the first save creates the draft."""
    kind = _kind_or_404(kind_name)
    if not policy.can_create(current_user, kind.name):
        abort(403)
    if not kind.standalone:
        flash(f"Un document « {kind.title} » se prépare depuis sa mesure ou son appel à candidatures.", "info")
        return redirect(url_for("candidatures.appels") if kind.per_appel else url_for("mesures.index"))
    if request.method == "POST":
        return _create_draft(kind)
    payload = with_initial_rows(kind.schema, {})
    return _render_form(kind, ShownForm(form_class(kind.schema), payload), doc=None, payload=payload, errors={})


def _create_draft(kind: Kind) -> ResponseReturnValue:
    """Create the draft from the first save of its form (or submit it at once)."""
    post = posted(form_class(kind.schema))
    if post.changes_rows:
        change_rows(kind.schema, post.payload, post.action, post.form)
    outcome = attempt(
        svc_docs.create_draft, db.session(), services().documents, kind_name=kind.name, user=current_user, payload=normalised_times(kind.schema, post.payload), refusals=()
    )
    if outcome.no_space:
        return _typed_again(kind, post.form, None, post.payload, None)
    doc = outcome.value
    if post.action == "submit":
        return _submit(doc)
    flash("Brouillon enregistré.", "success")
    return redirect(url_for(".edit", doc_id=doc.id) + _row_anchor(post.action))


@bp.route("/documents/<int:doc_id>/modifier", methods=["GET", "POST"])
def edit(doc_id: int) -> ResponseReturnValue:
    """Fill a draft: save as typed, add or remove table rows, submit."""
    doc = _document_or_404(doc_id)
    if not policy.can_edit(current_user, doc):
        if doc.statut != "brouillon":
            return _refused(doc, "Ce document a été soumis : il est verrouillé.", "info")
        abort(403)
    kind = _kind_or_404(doc.kind)
    try:
        svc_docs.check_open(doc, services().clock())
    except DocumentError as exc:
        return _refused(doc, str(exc), "error")
    step = _step_of(kind)
    return _save_draft(doc, kind, step) if request.method == "POST" else _show_draft(doc, kind, step)


def _show_draft(doc: Document, kind: Kind, step: int | None) -> tuple[str, int]:
    """Show a draft's form (or one step of it) with what is left to correct."""
    name = _step_name(kind, step)
    shown = with_initial_rows(kind.schema, doc.data)
    valid, errors = svc_docs.reading(doc)
    # Errors show once the user tried to submit (the refusal's redirect says so) or to leave
    # the step; before, what is left empty is listed in neutral terms (issue 16, point 2).
    tried = request.args.get("verifier") == "1"
    if name:
        shown = {name: shown.get(name)}
        # A step not yet left is not met with a wall of errors: what is empty is listed in neutral terms.
        tried = tried or step in _seen(doc.id)
    form = ShownForm(_form_class(kind, name), shown)
    return _render_form(kind, form, doc=doc, payload=doc.data, errors=errors, step=step, tried=tried, valid=valid)


def _save_draft(doc: Document, kind: Kind, step: int | None) -> ResponseReturnValue:
    """Save what was typed in a draft (or in one step of it), then go where the button says."""
    name = _step_name(kind, step)
    post = posted(_form_class(kind, name))
    # Only this step's fields were sent: the other steps keep what is saved.
    payload = {**doc.data, name: post.payload.get(name)} if name else post.payload
    if post.changes_rows:
        change_rows(kind.schema, payload, post.action, post.form)
    payload = normalised_times(kind.schema, payload)
    outcome = attempt(svc_docs.save_draft, db.session(), services().documents, doc, user=current_user, payload=payload)
    if outcome.no_space:
        return _autosaved(DISK_FULL, 507) if post.action == AUTOSAVE else _typed_again(kind, post.form, doc, payload, step)
    if outcome.refused:
        # The deadline passed while the page was open: nothing is saved any more.
        return _refused(doc, str(outcome.refusal), "error")
    if post.action == AUTOSAVE:
        return _autosaved(None)
    if step:
        _mark_seen(doc.id, step)
    if post.action == "submit":
        return _submit(doc)
    if step and post.action in ("next", "previous"):
        return _go_to_step(doc, kind, step, forward=post.action == "next")
    if not post.changes_rows:
        flash("Brouillon enregistré.", "success")
    return redirect(url_for(".edit", doc_id=doc.id, etape=step) + _row_anchor(post.action))


def _refused(doc: Document, message: str, category: str) -> ResponseReturnValue:
    """Say why the draft cannot be saved: to the page's automatic save in JSON, else on the page it goes back to.

    A draft's posted form is shown again as it was typed, with why nothing was saved: a redirect
    would drop what the user typed since the last save (issue 16, point 1).
    """
    if request.form.get("action") == AUTOSAVE:
        return _autosaved(message, 409)
    if request.method == "POST" and doc.statut == "brouillon":
        return _typed_refused(doc, message)
    flash(message, category)
    return redirect(url_for(".view", doc_id=doc.id)) if doc.statut != "brouillon" else _back_to(doc)


def _typed_refused(doc: Document, message: str) -> tuple[str, int]:
    """Show the posted form (or step) again as typed, with the refusal; nothing is saved."""
    kind = _kind_or_404(doc.kind)
    step = _step_of(kind)
    name = _step_name(kind, step)
    post = posted(_form_class(kind, name))
    payload = {**doc.data, name: post.payload.get(name)} if name else post.payload
    flash(f"{message} Rien n'a été enregistré : ce que vous aviez saisi est affiché ci-dessous, copiez-le si vous voulez le garder.", "error")
    page, _ = _render_form(kind, post.form, doc=doc, payload=payload, errors={}, step=step, tried=False)
    return page, 409


def _autosaved(refusal: str | None, status: int = 200) -> tuple[Response, int]:
    """Answer the page's automatic save (static/autosave.js): the Paris time it was saved, or why not."""
    if refusal is not None:
        return jsonify(enregistre=False, message=refusal), status
    at = paris_time(services().clock())
    return jsonify(enregistre=True, enregistre_a=f"{at:%H} h {at:%M}"), status


def _typed_again(kind: Kind, form: Any, doc: Document | None, payload: dict[str, Any], step: int | None) -> tuple[str, int]:
    """Show the form again as it was typed, with why nothing was saved (a full disk)."""
    flash(DISK_FULL, "error")
    return _render_form(kind, form, doc=doc, payload=payload, errors={}, step=step, status=507)


def _go_to_step(doc: Document, kind: Kind, step: int, *, forward: bool) -> Response:
    """After a step is saved, say what is left in it and show the next (or previous) one."""
    left = svc_docs.problems(doc).get(_step_name(kind, step))
    if left:
        count = len(error_summary(kind.schema, {_step_name(kind, step): left}))
        flash(f"Étape {step} enregistrée ; {count} point{'s' if count > 1 else ''} reste{'nt' if count > 1 else ''} à corriger dans cette étape.", "info")
    target = step + (1 if forward else -1)
    if target > len(kind.schema().fields):
        flash("Brouillon enregistré : voici où en est votre dossier.", "success")
        return _back_to(doc)
    return redirect(url_for(".edit", doc_id=doc.id, etape=max(target, 1)))


def _seen(doc_id: int) -> set[int]:
    """Return the steps of a long form this user has already saved (kept in their session)."""
    return set(session.get("etapes", {}).get(str(doc_id), []))


def _mark_seen(doc_id: int, step: int) -> None:
    steps = dict(session.get("etapes", {}))
    steps[str(doc_id)] = sorted(_seen(doc_id) | {step})
    session["etapes"] = steps


def _submit(doc: Document) -> ResponseReturnValue:
    """Submit a draft; if it is incomplete, show what is missing (the form, or a long form's checklist)."""
    kind = _kind_or_404(doc.kind)
    try:
        checked = {name: check(request.form) for name, (check, _) in _SUBMIT_STEPS.items()}
        svc_docs.submit(db.session(), services().documents, doc, user=current_user)
    except ValidationFailed as exc:
        # What was typed is saved; the errors show on the draft's page, reached by a redirect: the
        # browser's back button after the corrected submission then finds a page, not a
        # "confirm form resubmission" (issue 16, point 7).
        flash(str(exc), "error")
        _flash_blockers(exc.blockers)
        # A long form: the list of what is missing is its checklist (pieces included).
        return _back_to(doc, verifier=1) if kind.steps else redirect(url_for(".edit", doc_id=doc.id, verifier=1), code=303)
    except DocumentError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".view", doc_id=doc.id))
    flash(f"Document soumis sous la référence {doc.reference}. Il est désormais verrouillé.", "success")
    for name, (_, after) in _SUBMIT_STEPS.items():
        for line in after(db.session(), doc, checked[name]):
            flash(line, "info")
    return redirect(url_for(".view", doc_id=doc.id))


def _flash_blockers(blockers: list[str]) -> None:
    """Flash the first five things that stop a submission, and how many more there are."""
    for line in blockers[:5]:
        flash(line, "error")
    if len(blockers) > 5:
        more = len(blockers) - 5
        flash(f"Et {more} autre{'s' if more > 1 else ''} point{'s' if more > 1 else ''} : voir la liste de contrôle ci-dessous.", "error")


@bp.post("/documents/<int:doc_id>/soumettre")
def submit(doc_id: int) -> ResponseReturnValue:
    """Submit a draft from its page."""
    doc = _document_or_404(doc_id)
    if not policy.can_edit(current_user, doc):
        if doc.statut != "brouillon" and not policy.sees_frozen(current_user, doc):
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
    valid, problems = svc_docs.reading(doc) if doc.statut == "brouillon" and not frozen else (None, {})
    data = svc_docs.data_for(doc, frozen=frozen)
    content, review = _content(doc, kind, frozen) if not problems else (None, None)
    return render_template(
        "document_view.html",
        doc=doc,
        kind=kind,
        frozen=frozen,
        problems=error_summary(kind.schema, problems),
        content=content,
        review=review,
        **_computed_and_alerts(kind, data, valid),
        versions=_versions(doc),
        rendering=_rendering(doc),
        output_titles={"document": kind.title, "dossier": "Dossier complet", **{a.name: a.title for a in kind.annexes}},
        history=svc_docs.history(db.session(), doc),
        can_edit=policy.can_edit(current_user, doc),
        can_review=policy.can_review(current_user, doc),
        can_archive=policy.can_archive(current_user, doc),
        action_form=ActionForm(),
        mesure_link=doc.mesure if doc.mesure and policy.can_view_mesure(current_user, doc.mesure) else None,
        **_page_extras(doc),
    )


def _content(doc: Document, kind: Kind, frozen: bool) -> tuple[Any, Any]:
    """Return a complete document's sections, and its decision's if one was recorded."""
    ctx = svc_docs.context_for(doc, frozen=True if frozen else None, printed=False)
    review = sections(kind.review.schema, ctx["revue"]) if kind.review and ctx["revue"] else None
    return sections(kind.schema, ctx), review


def _rendering(doc: Document) -> dict[str, Any] | None:
    """Return the progress of the latest version's render while it is not done, else None."""
    travail = svc_docs.rendering(db.session(), doc)
    return progress(travail) if travail is not None else None


def _versions(doc: Document) -> dict[int, list[Any]]:
    """Return the document's stored files grouped by version."""
    versions: dict[int, list[Any]] = {}
    for r in doc.renditions:
        versions.setdefault(r.version, []).append(r)
    return versions


@bp.get("/documents/<int:doc_id>/telecharger/<fmt>")
def download(doc_id: int, fmt: str) -> ResponseReturnValue:
    """Download the DOCX or PDF: the stored (frozen) file once submitted, a preview before."""
    doc = _document_or_404(doc_id)
    if fmt not in MIME:
        abort(404)
    version = parse_number(request.args["version"], what="La version") if "version" in request.args else None
    if doc.statut == "brouillon" and version is None and not policy.sees_frozen(current_user, doc):
        return _download_preview(doc, fmt)
    # A stored version (a reopened dossier's deposited ones too): the file as it was frozen.
    output = request.args.get("sortie", "document")
    rendition = svc_docs.rendition(db.session(), doc, fmt, version, output)
    if rendition is None:
        abort(404)
    response = send_file(
        services().documents.store.path(rendition.sha256),
        mimetype=MIME[fmt],
        as_attachment=True,
        download_name=f"{doc.reference}-v{rendition.version}{'' if output == 'document' else '-' + output}.{fmt}",
        etag=rendition.sha256,
        conditional=True,
    )
    response.headers["X-Content-SHA256"] = rendition.sha256
    return response


def _download_preview(doc: Document, fmt: str) -> ResponseReturnValue:
    """Send a draft's stored output (the letter to sign included); never render it here.

    Not stored yet for the draft as it is (saved a moment ago, a render failed): its render is
    asked, and the preview's page shows its progress until the link is there.
    """
    output = previews.preview_output(doc, fmt, request.args.get("sortie", "document"))
    if output is None:
        abort(404)
    try:
        stored = previews.preview(db.session(), services().documents, doc, output, user=current_user)
    except ValidationFailed as exc:
        flash(f"{exc} Corrigez les erreurs signalées.", "error")
        return _back_to(doc, ".edit")
    if stored is None:
        return redirect(url_for(".preview", doc_id=doc.id, fmt=fmt, sortie=output.name), 303)
    name = doc.kind if output.name == "document" else f"{doc.kind}-{output.name}"
    prefix = "" if output.to_sign else "brouillon-"
    path = services().documents.store.path(stored.sha256)
    return send_file(path, mimetype=MIME[fmt], as_attachment=True, download_name=f"{prefix}{name}-{doc.id}.{fmt}", etag=stored.sha256)


@bp.get("/documents/<int:doc_id>/apercu/<fmt>")
def preview(doc_id: int, fmt: str) -> ResponseReturnValue:
    """Show a draft's preview being prepared; the page turns into its link once it is stored."""
    doc = _document_or_404(doc_id)
    output = previews.preview_output(doc, fmt, request.args.get("sortie", "document"))
    if output is None:
        abort(404)
    if doc.statut != "brouillon" or policy.sees_frozen(current_user, doc):
        return redirect(url_for(".view", doc_id=doc.id))  # its stored versions are on its page
    try:
        stored = previews.stored_preview(db.session(), services().documents, doc, output)
    except ValidationFailed as exc:
        flash(f"{exc} Corrigez les erreurs signalées.", "error")
        return _back_to(doc, ".edit")
    work = previews.preview_work(db.session(), doc)
    return render_template(
        "document_preview.html",
        doc=doc,
        output=output,
        ready=stored is not None,
        travail=progress(work) if work is not None and stored is None else None,
        link=url_for(".download", doc_id=doc.id, fmt=fmt, sortie=output.name),
    )


@bp.route("/documents/<int:doc_id>/decision", methods=["GET", "POST"])
def review(doc_id: int) -> ResponseReturnValue:
    """Record the coordinator's orientation decision on a submitted referral (AML §4)."""
    doc = _document_or_404(doc_id)
    kind = _kind_or_404(doc.kind)
    if kind.review is None or not policy.can_review(current_user, doc):
        abort(403)
    if request.method == "POST":
        return _record_review(doc, kind)
    return _review_page(doc, kind, form_class(kind.review.schema)(formdata=None, data=doc.review or {})), 200


def _record_review(doc: Document, kind: Kind) -> ResponseReturnValue:
    """Record the posted decision; a refusal shows the form again with what was typed."""
    assert kind.review is not None
    post = posted(form_class(kind.review.schema))
    try:
        done = post.call(svc_docs.record_review, db.session(), services().documents, doc, user=current_user, flash_refusal=True)
    except DocumentError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".view", doc_id=doc.id))
    if done is None:
        return _review_page(doc, kind, post.form, post.errors), 422
    flash("Décision enregistrée ; une nouvelle version du document a été produite.", "success")
    return redirect(url_for(".view", doc_id=doc.id))


def _review_page(doc: Document, kind: Kind, form: Any, errors: Mapping[str, Any] | None = None) -> str:
    assert kind.review is not None
    fill_lookups(form, review_rules(doc).choices(db.session(), doc))
    return render_template("review_form.html", doc=doc, kind=kind, form=form, problems=error_summary(kind.review.schema, errors or {}))
