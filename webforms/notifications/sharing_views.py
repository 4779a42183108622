"""Recipients without an account: the sender's page (send, follow, revoke) and the recipient's (code, document)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from schemas import get_kind
from webforms import db, policy
from webforms.documents.services import rendition
from webforms.errors import DocumentError
from webforms.forms import ActionForm
from webforms.models import QUALITES_PARTAGE, TRACES_PARTAGE, Document, Partage
from webforms.notifications import sharing
from webforms.territoires.services import recipients_for
from webforms.web import attempt, services

bp = Blueprint("partage", __name__)
OPENED = "partages_ouverts"  # the links this browser opened with their code (the visitor's session)
# How many recipients without an account the submission form offers (``_partage_fields.html``).
AT_SUBMISSION = 3


@bp.app_context_processor
def _qualites() -> dict[str, Any]:
    """Give the submission forms the recipients' qualities and how many rows to offer."""
    return {"qualites_partage": QUALITES_PARTAGE, "partage_rows": range(AT_SUBMISSION)}


def recipients_from_form(form: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The recipients without an account chosen on the submission form: (address, quality); refuse in French before anything is submitted."""
    chosen: list[tuple[str, str]] = []
    for row in range(AT_SUBMISSION):
        adresse, qualite = (form.get(f"partage_adresse-{row}") or "").strip(), form.get(f"partage_qualite-{row}") or None
        if adresse:
            try:
                chosen.append((sharing.check_recipient(adresse, qualite), str(qualite)))
            except DocumentError as exc:
                raise DocumentError(f"Document non soumis : {exc}") from None
    return chosen


def share_after_submit(db_session: Any, doc: Document, chosen: list[tuple[str, str]]) -> list[str]:
    """Once the submission is committed, send each chosen recipient their link; return what to tell the sender."""
    lines = []
    for adresse, qualite in chosen:
        outcome = attempt(sharing.share, db_session, services().documents, doc, user=current_user, adresse=adresse, qualite=qualite)
        lines.append(f"Lien non envoyé à {adresse} : {outcome.refusal}" if outcome.refused else f"Lien personnel en cours d'envoi à {adresse} ; ses ouvertures s'afficheront sur la page « Destinataires sans compte ».")
    return lines


def _shared_or_404(doc_id: int) -> Document:
    """The document, if the user may read it (404 otherwise); 403 unless they may send it."""
    doc = db.session().get(Document, doc_id)
    if doc is None or not policy.can_view(current_user, doc):
        abort(404)
    if not policy.can_share(current_user, doc):
        abort(403)
    return doc


def _senders_page(doc: Document, status: int = 200) -> ResponseReturnValue:
    # Who the document goes to, named by its territory (issue 13: RAST and CAMS, DPDS, platform).
    return render_template("partages.html", doc=doc, kind=get_kind(doc.kind), links=sharing.links_of(db.session(), doc), form=ActionForm(),
                           recipients=recipients_for(db.session(), doc), qualites=QUALITES_PARTAGE, traces=TRACES_PARTAGE, values=request.form, now=services().clock()), status


@bp.get("/documents/<int:doc_id>/destinataires")
@login_required
def links(doc_id: int) -> ResponseReturnValue:
    """List the document's links for recipients without an account, their openings, and the form to send one."""
    return _senders_page(_shared_or_404(doc_id))


@bp.post("/documents/<int:doc_id>/destinataires")
@login_required
def share(doc_id: int) -> ResponseReturnValue:
    """Send the document to an address without an account."""
    doc = _shared_or_404(doc_id)
    outcome = attempt(sharing.share, db.session(), services().documents, doc, user=current_user, adresse=request.form.get("adresse"), qualite=request.form.get("qualite"))
    if outcome.refused:
        flash(outcome.refusal or "", "error")
        return _senders_page(doc, 422)
    flash("Le lien est en cours d'envoi ; chaque ouverture s'affichera ici.", "success")
    return redirect(url_for(".links", doc_id=doc.id))


@bp.post("/documents/<int:doc_id>/destinataires/<int:partage_id>/revoquer")
@login_required
def revoke(doc_id: int, partage_id: int) -> ResponseReturnValue:
    """Revoke one of the document's links."""
    doc = _shared_or_404(doc_id)
    found = db.session().get(Partage, partage_id)
    if found is None or found.document_id != doc.id:
        abort(404)
    attempt(sharing.revoke, db.session(), services().documents, doc, found, user=current_user)
    flash("Lien révoqué : il n'ouvre plus le document.", "success")
    return redirect(url_for(".links", doc_id=doc.id))


def _link_or_refusal(partage_id: int, secret: str) -> Partage | ResponseReturnValue:
    try:
        return sharing.find(db.session(), partage_id, secret, services().clock())
    except sharing.LinkRefused as refused:
        return render_template("partage_refuse.html", message=str(refused)), refused.status


@bp.route("/partage/<int:partage_id>/<secret>", methods=["GET", "POST"])
def page(partage_id: int, secret: str) -> ResponseReturnValue:
    """The recipient's page: ask for a code (POST ``code``), enter it (POST ``ouvrir``), then the document."""
    found = _link_or_refusal(partage_id, secret)
    if not isinstance(found, Partage):
        return found
    status, opened = 200, partage_id in session.get(OPENED, [])
    if request.method == "POST":
        asking = request.form.get("action") == "code"
        service = sharing.ask_code if asking else sharing.check_code
        given = () if asking else (request.form.get("code"),)
        outcome = attempt(service, db.session(), found, *given, now=services().clock(), refusals=(DocumentError,))
        if outcome.refused:
            flash(outcome.refusal or "", "error")
            status = 422
        elif asking:
            flash("Un code vous a été envoyé par courriel ; il est valable 15 minutes.", "success")
        else:
            session[OPENED] = [*session.get(OPENED, []), partage_id]
            opened = True
    doc = db.session().get_one(Document, found.document_id)
    return render_template("partage.html", partage=found, secret=secret, doc=doc, kind=get_kind(doc.kind), opened=opened, form=ActionForm()), status


@bp.get("/partage/<int:partage_id>/<secret>/document")
def download(partage_id: int, secret: str) -> ResponseReturnValue:
    """Download the shared document's latest PDF, once opened with its code in this browser."""
    found = _link_or_refusal(partage_id, secret)
    if not isinstance(found, Partage):
        return found
    if partage_id not in session.get(OPENED, []):
        return redirect(url_for(".page", partage_id=partage_id, secret=secret))
    doc = db.session().get_one(Document, found.document_id)
    stored = rendition(db.session(), doc, "pdf")
    if stored is None:
        abort(404)
    sharing.log_download(db.session(), found, now=services().clock())
    return send_file(services().documents.store.path(stored.sha256), mimetype="application/pdf", as_attachment=True, download_name=f"{doc.reference}.pdf")
