"""The archive: deposit a signed copy, search, read, download, export, retention (DESIGN §3)."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, send_file, url_for
from flask_login import current_user, login_required
from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas import get_kind, registry
from webforms import db, policy
from webforms.archive.audit import ACTIONS, log_access, record_log
from webforms.archive.deposit import deposit as deposit_copy
from webforms.archive.exports import EXPORT_DAYS, FORMATS, ask_export, built_file, can_download, expires_at, exports_dir
from webforms.archive.mesure_retention import mesures_of, mesures_past_term
from webforms.archive.retention import rules as rules_in_force
from webforms.archive.retention import set_rule, term_of
from webforms.archive.retention import titles as rule_titles
from webforms.archive.search import (
    Search,
    all_to_export,
    awaiting_signed_copy,
    can_see,
    chain,
    current_record,
    destroyed,
    open_file,
)
from webforms.archive.search import search as search_records
from webforms.archive.services import ArchiveError, CopyRefused
from webforms.archive.signatures import TrustRootsError
from webforms.archive.trust import add_trust_root, remove_trust_root, trust_roots
from webforms.archive.verify import last_verification
from webforms.archive.visas import execute_visa, past_term, pending_visas, visa_in_scope
from webforms.archive.visas import record_visa as record_destruction_visa
from webforms.documents.uploads import UploadRefused
from webforms.errors import parse_id
from webforms.forms import ActionForm
from webforms.jobs.services import progress
from webforms.models import (
    RETENTION_FATES,
    SIGNATURE_KINDS,
    ArchiveRecord,
    DestructionVisa,
    Document,
    Organisation,
    Travail,
    User,
)
from webforms.web import Outcome, attempt, services, upload_limit

bp = Blueprint("archives", __name__)

EXPORT_FORMATS = FORMATS


@bp.before_request
@login_required
def _signed_in() -> None:
    """Every page here needs a signed-in user."""


def _record_or_404(record_id: int) -> ArchiveRecord:
    record = db.session().get(ArchiveRecord, record_id)
    if record is None or not can_see(db.session(), current_user, record):
        abort(404)
    return record


def _query(values: Any, errors: list[str]) -> Search:
    """The search criteria of a request (the search page's, or the export of all its results)."""
    kind = values.get("type") or None
    if kind and kind not in registry():
        errors.append("Type de document inconnu.")
        kind = None
    org = values.get("organisation", "")
    return Search(
        kind=kind,
        organisation_id=parse_id(org),
        household=values.get("menage") or None,
        household_name=(values.get("nom") or "")[:100] or None,
        text=(values.get("texte") or "")[:200] or None,
        reference=values.get("reference") or None,
        du=_date_arg(values, "du", errors, "Du"),
        au=_date_arg(values, "au", errors, "Au"),
    )


def _date_arg(values: Any, name: str, errors: list[str], label: str) -> dt.date | None:
    text = (values.get(name) or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        errors.append(f"{label} : date invalide, attendue au format AAAA-MM-JJ.")
        return None


@bp.get("/archives")
def search() -> Any:
    """Search the records the user may see, by kind, organisation, household (reference or name), period, reference."""
    if not policy.can_search_archive(current_user):
        abort(403)
    errors: list[str] = []
    query = _query(request.args, errors)
    page_arg = request.args.get("page", "1")
    page = search_records(db.session(), current_user, query, page=parse_id(page_arg) or 1)
    organisations = list(db.session().scalars(select(Organisation).order_by(Organisation.name)))
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    awaiting, awaiting_total = awaiting_signed_copy(db.session(), current_user)
    return render_template(
        "archives.html",
        page=page,
        errors=errors,
        args=args,
        kinds=[(name, k.title) for name, k in registry().items()],
        organisations=organisations if current_user.role != "redacteur" else [],
        titles={name: k.title for name, k in registry().items()},
        can_export=policy.can_export_archive(current_user),
        export_formats=EXPORT_FORMATS,
        awaiting=awaiting,
        awaiting_total=awaiting_total,
        verification=last_verification(db.session()) if current_user.role == "archiviste" else None,
        is_archivist=current_user.role == "archiviste",
        action_form=ActionForm(),
    )


@bp.route("/documents/<int:doc_id>/archiver", methods=["GET", "POST"])
@upload_limit(lambda: services().archive.max_bytes >> 20)
def deposit(doc_id: int) -> Any:
    """Deposit the signed copy of a submitted document, or a correction of the copy archived."""
    session = db.session()
    doc = _document_to_archive(doc_id)
    previous = current_record(session, doc)
    error = file_error = None
    if request.method == "POST":
        ActionForm().validate()
        record, error, file_error, notes = _deposit_posted(session, doc)
        if record is not None:
            flash("Copie signée archivée." if previous is None else "Correction archivée ; la copie précédente reste consultable.", "success")
            for note in notes:
                flash(note, "warning")
            return redirect(url_for(".record", record_id=record.id))
    return render_template(
        "archive_deposit.html",
        doc=doc,
        kind=get_kind(doc.kind),
        previous=previous,
        error=error,
        file_error=file_error,
        signature_kinds=SIGNATURE_KINDS,
        chosen=request.form.get("signature", "scan"),
        motif=request.form.get("motif", ""),
        max_mb=services().archive.max_bytes >> 20,
        action_form=ActionForm(),
    ), (200 if error is None and file_error is None else 422)


def _document_to_archive(doc_id: int) -> Document:
    """Return the document whose signed copy the user may deposit; 404 if unseen, 403 if not theirs to archive."""
    doc = db.session().get(Document, doc_id)
    if doc is None or not policy.can_view(current_user, doc):
        abort(404)
    if not policy.can_archive(current_user, doc):
        abort(403)
    return doc


NOTHING_CHANGED = " Rien n'a été modifié dans l'archive."


def _deposit_posted(session: Session, doc: Document) -> tuple[ArchiveRecord | None, str | None, str | None, list[str]]:
    """Archive the posted signed copy of ``doc``: the new record, or why it is refused; and the warnings.

    A refusal of the file itself (missing, its content, its signature, its mark) is the third
    value, said beside the file field; any other (the document, the signature kind, the motif)
    the second, said at the top (issue 16, point 7).
    """
    notes: list[str] = []
    file = request.files.get("fichier")
    if file is None or not file.filename:
        return None, None, "Choisissez le fichier de la copie signée.", notes
    file_refusals: list[str] = []
    with tempfile.TemporaryDirectory(prefix="webforms-archive-") as workdir:
        outcome = attempt(
            _deposit_copy,
            file_refusals,
            session,
            services().archive,
            doc,
            user=current_user,
            stream=file.stream,
            filename=file.filename,
            signature_kind=request.form.get("signature", ""),
            workdir=Path(workdir),
            motif=request.form.get("motif"),
            notes=notes,
        )
    if not outcome.refused:
        return outcome.value, None, None, notes
    if file_refusals:
        reason = file_refusals[0]
        return None, None, f"Copie signée refusée : {reason}{'' if 'Rien n' in reason else NOTHING_CHANGED}", notes
    return None, f"Copie signée refusée : {outcome.refusal}", None, notes


def _deposit_copy(file_refusals: list[str], *args: Any, **kwargs: Any) -> ArchiveRecord:
    """Deposit the copy; a refusal of the file itself is also put in ``file_refusals``."""
    try:
        return deposit_copy(*args, **kwargs)
    except (UploadRefused, CopyRefused) as exc:
        file_refusals.append(str(exc))
        raise


@bp.get("/archives/<int:record_id>")
def record(record_id: int) -> Any:
    """A record: what was archived, its signature, its retention and its history (logged)."""
    session = db.session()
    record = _record_or_404(record_id)
    archive = services().archive
    try:
        log_access(session, archive, record, "view", user=current_user)
    except ArchiveError:
        abort(503)  # not shown unless logged
    records = chain(session, record)
    log = record_log(session, records)
    # The log holds account numbers only; names are looked up for display.
    user_ids = {row.user_id for row in log if row.user_id}
    users = {u.id: u.full_name for u in session.scalars(select(User).where(User.id.in_(user_ids)))} if user_ids else {}
    return render_template(
        "archive_record.html",
        record=record,
        kind=get_kind(record.kind),
        records=records,
        tombs=destroyed(session, [r.id for r in records]),
        log=log,
        users=users,
        actions=ACTIONS,
        term=term_of(session, record, services().today()),
        signature_kinds=SIGNATURE_KINDS,
        fates=RETENTION_FATES,
        current=records[-1],
        can_correct=policy.can_archive(current_user, record.document),
    )


@bp.get("/archives/<int:record_id>/fichiers/<which>")
def download(record_id: int, which: str) -> Any:
    """Download a record's signed copy (``signe``) or its archived PDF/A (``pdfa``); logged."""
    session = db.session()
    record = _record_or_404(record_id)
    if which not in ("signe", "pdfa"):
        abort(404)
    if destroyed(session, [record.id]):
        flash("Ce fichier a été éliminé : il ne reste que ses empreintes et l'autorisation.", "error")
        return redirect(url_for(".record", record_id=record.id))
    archive = services().archive
    path, mime, name = open_file(archive, record, which)
    if not path.is_file():
        # The administrator is told in the service's error log, with what to run; the reader is
        # told only that it is known (issue 16, point 8: no command shown to an archiviste).
        current_app.logger.error(
            "Fichier d'archive manquant : enregistrement %s (%s) ; lancez « webforms archive verify » (docs/archive.md).", record.id, which
        )
        flash("Le fichier est introuvable dans l'archive. L'administrateur a été prévenu ; réessayez plus tard.", "error")
        return redirect(url_for(".record", record_id=record.id))
    try:
        log_access(session, archive, record, "download", user=current_user, file=which)
    except ArchiveError:
        abort(503)  # not served unless logged
    return send_file(path, mimetype=mime, as_attachment=True, download_name=name)


@bp.post("/archives/export")
def export() -> Any:
    """Ask for the export of the chosen records as SEDA 2.2 or BagIt; a worker builds it."""
    if not policy.can_export_archive(current_user):
        abort(403)
    session = db.session()
    fmt = request.form.get("format", "")
    back = request.form.get("retour") or url_for(".search")
    if not back.startswith("/archives"):
        back = url_for(".search")
    if fmt not in EXPORT_FORMATS:
        flash("Choisissez le format d'export : SEDA 2.2 ou BagIt.", "error")
        return redirect(back)
    records, refusal = _records_to_export(session)
    if refusal is not None:
        flash(refusal, "error")
        return redirect(back)
    outcome = attempt(ask_export, session, services().archive, records, fmt=fmt, user=current_user)
    if outcome.refused:
        flash(f"Export impossible : {outcome.refusal}", "error")
        return redirect(back)
    return redirect(url_for(".export_page", travail_id=outcome.value.id))


def _records_to_export(session: Session) -> tuple[list[ArchiveRecord], str | None]:
    """Return the records a posted export names (every result of its search, or those ticked), or why none."""
    if request.form.get("tout") == "1":
        # Every result of the search (its criteria come with the form), destroyed ones left out.
        errors: list[str] = []
        query = _query(request.form, errors)
        found = attempt(all_to_export, session, current_user, query) if not errors else Outcome(value=[])
        if found.refused:
            return [], found.refusal
        return found.value or [], (None if found.value else "Aucun enregistrement à exporter pour cette recherche.")
    ids = [n for v in request.form.getlist("record") if (n := parse_id(v)) is not None]
    if not ids:
        return [], "Cochez au moins un enregistrement à exporter, ou exportez tous les résultats."
    chosen = [session.get(ArchiveRecord, i) for i in dict.fromkeys(ids)]
    if any(r is None or not can_see(session, current_user, r) for r in chosen):
        abort(404)
    return [r for r in chosen if r is not None], None


def _export_or_404(travail_id: int) -> Travail:
    travail = db.session().get(Travail, travail_id)
    # Someone else's export answers 404: its existence and its records stay unknown.
    if travail is None or not can_download(current_user, travail):
        abort(404)
    return travail


@bp.get("/archives/exports/<int:travail_id>")
def export_page(travail_id: int) -> Any:
    """An export's page: its progress while a worker builds it, then its file to download."""
    travail = _export_or_404(travail_id)
    now = services().clock()
    return render_template(
        "archive_export.html",
        travail=progress(travail),
        result=travail.resultat or {},
        available=built_file(exports_dir(current_app), travail, now) is not None,
        expires=expires_at(travail),
        days=EXPORT_DAYS,
    )


@bp.get("/archives/exports/<int:travail_id>/fichier")
def export_file(travail_id: int) -> Any:
    """Download a built export (never built here: a missing or expired one is said on its page)."""
    travail = _export_or_404(travail_id)
    path = built_file(exports_dir(current_app), travail, services().clock())
    if path is None:
        flash("Ce fichier n'est pas (ou plus) disponible : demandez un nouvel export.", "error")
        return redirect(url_for(".export_page", travail_id=travail.id))
    return send_file(path, mimetype="application/zip", as_attachment=True, download_name=travail.resultat["nom"])


@bp.get("/archives/conservation")
def retention() -> Any:
    """Records past their retention term, the visas recorded and the destructions to carry out."""
    if not policy.can_manage_retention(current_user):
        abort(403)
    return _retention_page()


def _retention_page(error: str | None = None, typed: Any = None, status: int = 200) -> Any:
    """The retention page; after a refused visa, with its message and what was typed."""
    session = db.session()
    return render_template(
        "archive_retention.html",
        due=past_term(session, services().today(), current_user),
        due_mesures=mesures_past_term(session, services().today(), current_user),
        visas=[(v, done, mesures_of(session, v)) for v, done in pending_visas(session, current_user)],
        titles={name: k.title for name, k in registry().items()},
        today=services().today(),
        action_form=ActionForm(),
        error=error,
        typed=typed or {},
        chosen={n for v in (typed.getlist("document") if typed else []) if (n := parse_id(v)) is not None},
        chosen_mesures={n for v in (typed.getlist("mesure") if typed else []) if (n := parse_id(v)) is not None},
    ), status


@bp.post("/archives/conservation/visa")
def record_visa() -> Any:
    """Record the Archives départementales' visa for the chosen documents (nothing destroyed yet)."""
    if not policy.can_manage_retention(current_user):
        abort(403)
    date_text = request.form.get("date_visa", "").strip()
    try:
        date_visa = dt.date.fromisoformat(date_text) if date_text else None
    except ValueError:
        return _retention_page("Date du visa invalide : attendue au format AAAA-MM-JJ.", request.form, 422)
    outcome = attempt(
        record_destruction_visa,
        db.session(),
        services().archive,
        user=current_user,
        document_ids=[n for v in request.form.getlist("document") if (n := parse_id(v)) is not None],
        mesure_ids=[n for v in request.form.getlist("mesure") if (n := parse_id(v)) is not None],
        numero=request.form.get("numero", ""),
        date_visa=date_visa,
        signataire=request.form.get("signataire", ""),
    )
    if outcome.refused:
        return _retention_page(outcome.refusal, request.form, outcome.status)
    flash(f"Visa n° {outcome.value.numero} enregistré : un autre archiviste procède maintenant à l'élimination.", "success")
    return redirect(url_for(".retention"))


@bp.post("/archives/visas/<int:visa_id>/eliminer")
def destroy(visa_id: int) -> Any:
    """Carry out a recorded destruction (a second archivist)."""
    if not policy.can_manage_retention(current_user):
        abort(403)
    session = db.session()
    visa = session.get(DestructionVisa, visa_id)
    if visa is None or not visa_in_scope(session, visa, current_user):
        abort(404)
    ActionForm().validate()
    outcome = attempt(execute_visa, session, services().archive, visa, user=current_user)
    if outcome.refused:
        flash(str(outcome.refusal), "error")
        return redirect(url_for(".retention"))
    done = outcome.value
    flash(f"Élimination effectuée ({len(done)} enregistrement{'s' if len(done) > 1 else ''}) : les empreintes et le visa restent.", "success")
    return redirect(url_for(".retention"))


@bp.route("/admin/conservation", methods=["GET", "POST"])
def rules() -> Any:
    """The retention rule of each kind (administrators); each change is kept and logged."""
    if not policy.can_set_retention_rules(current_user):
        abort(403)
    session = db.session()
    error = None
    if request.method == "POST":
        ActionForm().validate()
        error = _set_rule_posted(session)
        if error is None:
            flash("Règle de conservation enregistrée ; la précédente reste dans l'historique.", "success")
            return redirect(url_for(".rules"))
    return render_template(
        "admin_retention.html",
        typed=request.form if error else {},
        rules=rules_in_force(session),
        titles=rule_titles(),
        fates=RETENTION_FATES,
        error=error,
        action_form=ActionForm(),
    ), (200 if error is None else 422)


def _set_rule_posted(session: Session) -> str | None:
    """Record the posted retention rule; return why it is refused, if it is."""
    return attempt(
        set_rule,
        session,
        services().archive,
        user=current_user,
        kind_name=request.form.get("type", ""),
        years=parse_id(request.form.get("annees", "").strip()) or 0,
        fate=request.form.get("sort", ""),
        note=request.form.get("note"),
    ).refusal


@bp.route("/admin/certificats", methods=["GET", "POST"])
def trust() -> Any:
    """The authorities an electronic signature may chain to (administrators); changes logged."""
    if not policy.can_set_retention_rules(current_user):
        abort(403)
    session = db.session()
    archive = services().archive
    outcome: Outcome[list[Any]] = Outcome()
    if request.method == "POST":
        ActionForm().validate()
        file = request.files.get("certificat")
        outcome = attempt(add_trust_root, session, archive, user=current_user, data=file.stream.read((1 << 20) + 1) if file else b"")
        if not outcome.refused:
            flash(f"Autorité de confiance ajoutée : {', '.join(r.subject for r in outcome.value)}.", "success")
            return redirect(url_for(".trust"))
    try:
        roots, unreadable = trust_roots(archive), None
    except TrustRootsError as exc:  # a file put by hand on the server that is not a certificate
        roots, unreadable = [], exc.message
    return render_template(
        "admin_trust.html", roots=roots, unreadable=unreadable, error=outcome.refusal, now=services().clock(), action_form=ActionForm(),
        placement=archive.placement_warnings(),  # a key or an anchor left in the data directory (issue 15)
    ), outcome.status


@bp.post("/admin/certificats/<fingerprint>/retirer")
def untrust(fingerprint: str) -> Any:
    """Stop trusting an authority (records verified before keep their result)."""
    if not policy.can_set_retention_rules(current_user):
        abort(403)
    ActionForm().validate()
    outcome = attempt(remove_trust_root, db.session(), services().archive, user=current_user, fingerprint=fingerprint)
    if outcome.refused:
        flash(str(outcome.refusal), "error")
    else:
        flash(f"Autorité retirée : {outcome.value.subject}.", "success")
    return redirect(url_for(".trust"))
