"""Pages of measures: the referent's worklist, a measure's calendar, meetings and renewals."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select

from schemas import registry
from schemas.base.records import (
    MOTIFS_FIN,
    NATURES_RENCONTRE,
    BonCommandeSchema,
    ClotureSchema,
    DiplomeSchema,
    MesureSchema,
    RencontresSchema,
    RenouvellementSchema,
)
from webforms import db, policy
from webforms.errors import DocumentError, parse_id
from webforms.forms import ActionForm, change_rows, error_summary, fill_lookups, form_class, with_initial_rows
from webforms.mesures import referents as diplomas
from webforms.mesures import services as mesures
from webforms.mesures import thread
from webforms.mesures.rules import TYPES, required_rhythm
from webforms.models import Document, Mesure
from webforms.web import attempt, posted, services

bp = Blueprint("mesures", __name__, url_prefix="/mesures")


@bp.before_request
@login_required
def _signed_in() -> None:
    """Require a signed-in user for every page here."""


def _mesure_or_404(mesure_id: int) -> Mesure:
    mesure = db.session().get(Mesure, mesure_id)
    # A measure the user may not see answers 404, so its existence is not revealed.
    if mesure is None or not policy.can_view_mesure(current_user, mesure):
        abort(404)
    return mesure


def _worklist() -> list[tuple[Mesure, mesures.Overview]]:
    query = policy.visible_mesures(current_user)
    if current_user.role == "redacteur" and request.args.get("toutes") != "1":
        query = query.where(Mesure.referent_id == current_user.id)
    return mesures.worklist(db.session().scalars(query.limit(2000)).unique().all(), services().today())


@bp.get("/")
def index() -> str:
    """Show the worklist: the user's measures, what is due or late, soonest first."""
    today = services().today()
    return render_template(
        "mesures.html",
        rows=_worklist(),
        today=today,
        types=TYPES,
        all_of_org=request.args.get("toutes") == "1",
        can_create=policy.can_create_mesure(current_user),
        # In January, the yearly bilan due is last year's (ASLL §10).
        annual_year=today.year - 1 if today.month == 1 else today.year,
        action_form=ActionForm(),
    )


@bp.get("/export.csv")
def export() -> Response:
    """Send the same worklist as a CSV file."""
    body = mesures.export_csv(_worklist())
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="mesures-{services().today().isoformat()}.csv"'},
    )


@bp.route("/nouvelle", methods=["GET", "POST"])
def new() -> ResponseReturnValue:
    """Open a measure; the user becomes its referent."""
    if not policy.can_create_mesure(current_user):
        abort(403)
    if request.method == "POST":
        return _open()
    return render_template("mesure_form.html", form=form_class(MesureSchema)(formdata=None, data={}), problems=[]), 200


def _open() -> ResponseReturnValue:
    """Open the measure posted; a refusal shows the form again with what was typed."""
    post = posted(form_class(MesureSchema))
    mesure = post.call(mesures.create_mesure, db.session(), services().documents, user=current_user)
    if mesure is None:
        return render_template("mesure_form.html", form=post.form, problems=error_summary(MesureSchema, post.errors)), 422
    flash(f"Mesure {mesure.reference} ouverte.", "success")
    return redirect(url_for(".view", mesure_id=mesure.id))


def _render_view(
    mesure: Mesure, *, meeting_form: Any = None, renewal_form: Any = None, close_form: Any = None, order_form: Any = None, status: int = 200
) -> tuple[str, int]:
    today = services().today()
    view = mesures.overview(mesure, today, mesures.bilans_done(mesure))
    documents = db.session().scalars(select(Document).where(Document.mesure_id == mesure.id).order_by(Document.id)).all()
    startable = [k for k in registry().values() if k.prefill and mesure.type_mesure in k.mesure_types]
    can_edit = policy.can_edit_mesure(current_user, mesure)
    return (
        render_template(
            "mesure_view.html",
            mesure=mesure,
            view=view,
            today=today,
            type_label=TYPES[mesure.type_mesure],
            rhythm=required_rhythm(mesure.type_mesure),
            documents=[d for d in documents if policy.can_view(current_user, d)],
            # A draft its writer opens from here opens to its form, not to a read-only page (issue 16, point 7).
            editable={d.id for d in documents if d.statut == "brouillon" and policy.can_edit(current_user, d)},
            kinds=registry(),
            startable=startable if can_edit else [],
            can_edit=can_edit,
            can_decide_renewal=policy.can_decide_renewal(current_user, mesure),
            renewal_refusals=thread.refusals(db.session(), mesure) if mesure.type_mesure == "asll_maintien" else [],
            meeting_form=meeting_form or form_class(RencontresSchema)(formdata=None, data=with_initial_rows(RencontresSchema, {})),
            renewal_form=renewal_form or form_class(RenouvellementSchema)(formdata=None, data=_asked_renewal(mesure)),
            close_form=close_form or form_class(ClotureSchema)(formdata=None, data={}),
            order_form=order_form or form_class(BonCommandeSchema)(formdata=None, data={}),
            thread=thread.links(db.session(), mesure, current_user),
            motifs_fin=dict(MOTIFS_FIN),
            natures=dict(NATURES_RENCONTRE),
            action_form=ActionForm(),
        ),
        status,
    )


def _asked_renewal(mesure: Mesure) -> dict[str, Any]:
    """The renewal form prefilled with what the last Maintien bilan asks (ASLL §9.2); the DPDS's date is typed."""
    asked = thread.renewal_asked(mesure)
    return {"duree_mois": str(asked["duree_mois"] or ""), "motif": asked["motif"]} if asked else {}


@bp.get("/<int:mesure_id>")
def view(mesure_id: int) -> ResponseReturnValue:
    """Show a measure: its dates, what is due, the meeting rhythm, its documents."""
    return _render_view(_mesure_or_404(mesure_id))


def _record(mesure_id: int, schema: Any, service: Any, *, form_name: str, done: Any, anchor: str, allowed: Any = policy.can_edit_mesure) -> ResponseReturnValue:
    """Record something on a measure from its page's form; a refusal shows the page again.

    ``done``: the success message, or a function of what the service returned that says it;
    ``allowed``: who may (the operator's writers, unless the step is another's).
    """
    mesure = _mesure_or_404(mesure_id)
    if not allowed(current_user, mesure):
        abort(403)
    post = posted(form_class(schema))
    if post.changes_rows and change_rows(schema, post.payload, post.action, post.form):
        # A row added or removed (without JavaScript): the page again as typed, nothing recorded yet.
        return _render_view(mesure, **{form_name: form_class(schema)(formdata=None, data=with_initial_rows(schema, post.payload))})
    result = post.call(service, db.session(), services().documents, mesure, user=current_user, flash_refusal=True)
    if result is None:
        return _render_view(mesure, status=422, **{form_name: post.form})
    flash(done(result) if callable(done) else done, "success")
    return redirect(url_for(".view", mesure_id=mesure.id) + anchor)


@bp.post("/<int:mesure_id>/rencontres")
def add_meeting(mesure_id: int) -> ResponseReturnValue:
    """Record one or several meetings with the household."""
    return _record(mesure_id, RencontresSchema, mesures.add_rencontres, form_name="meeting_form", done=_meetings_done, anchor="#rencontres")


def _meetings_done(recorded: list[Any]) -> str:
    return "Rencontre enregistrée." if len(recorded) == 1 else f"{len(recorded)} rencontres enregistrées."


@bp.post("/<int:mesure_id>/renouvellements")
def add_renewal(mesure_id: int) -> ResponseReturnValue:
    """Record the DPDS's decision renewing an ASLL Maintien, on the request of its bilan."""
    return _record(mesure_id, RenouvellementSchema, thread.decide_renewal, form_name="renewal_form", done="Renouvellement accordé : décision de la DPDS enregistrée.",
                   anchor="#periodes", allowed=policy.can_decide_renewal)


@bp.post("/<int:mesure_id>/renouvellements/refus")
def refuse_renewal(mesure_id: int) -> ResponseReturnValue:
    """Record the DPDS's refusal of the renewal a Maintien bilan asked for."""
    mesure = _mesure_or_404(mesure_id)
    if not policy.can_decide_renewal(current_user, mesure):
        abort(403)
    outcome = attempt(thread.refuse_renewal, db.session(), services().documents, mesure, user=current_user, motif=request.form.get("motif"))
    if outcome.refused:
        flash(outcome.refusal or "", "error")
        return _render_view(mesure, status=422)
    flash("Renouvellement refusé : décision de la DPDS enregistrée.", "success")
    return redirect(url_for(".view", mesure_id=mesure.id) + "#periodes")


@bp.post("/<int:mesure_id>/bon-de-commande")
def record_order(mesure_id: int) -> ResponseReturnValue:
    """Record the order of a measure the thread opened (a Maintien requested by a bilan)."""
    return _record(mesure_id, BonCommandeSchema, thread.record_order, form_name="order_form", done="Bon de commande enregistré.", anchor="#periodes")


@bp.post("/<int:mesure_id>/cloture")
def close(mesure_id: int) -> ResponseReturnValue:
    """Close a measure at its term or before it."""
    return _record(mesure_id, ClotureSchema, mesures.close_mesure, form_name="close_form", done="Mesure close.", anchor="#periodes")


@bp.route("/referents", methods=["GET", "POST"])
def referents() -> ResponseReturnValue:
    """Record the Diplôme d'État of the organisation's referents (ASLL §4)."""
    if not policy.can_create_mesure(current_user):
        abort(403)
    status, form = 200, form_class(DiplomeSchema)(formdata=None, data={})
    if request.method == "POST":
        post = posted(form_class(DiplomeSchema))
        if post.call(diplomas.record_diploma, db.session(), services().documents, user=current_user, flash_refusal=True) is not None:
            flash("Diplôme enregistré.", "success")
            return redirect(url_for(".referents"))
        status, form = 422, post.form
    team = diplomas.team(db.session(), current_user)
    fill_lookups(form, {"referent_id": [(str(p["id"]), p["nom"]) for p in team]})
    return render_template("referents.html", team=team, form=form), status


@bp.post("/bilan-annuel")
def start_annual() -> ResponseReturnValue:
    """Start the organisation's yearly bilan (ASLL §10), its figures computed from the records."""
    if not policy.can_create_mesure(current_user):
        abort(403)
    ActionForm().validate()
    year = parse_id(request.form.get("annee"))
    if year is None:
        flash("Indiquez l'année du bilan annuel (par exemple 2024).", "error")
        return redirect(url_for(".index"))
    try:
        doc = mesures.start_annual_bilan(db.session(), services().documents, user=current_user, year=year)
    except DocumentError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".index"))
    flash("Bilan annuel prérempli avec les chiffres de l'année : vérifiez-les et complétez le texte.", "success")
    return redirect(url_for("documents.edit", doc_id=doc.id))


@bp.post("/<int:mesure_id>/documents/<kind_name>")
def start_document(mesure_id: int, kind_name: str) -> ResponseReturnValue:
    """Start a document about this measure, prefilled from it."""
    mesure = _mesure_or_404(mesure_id)
    if not policy.can_edit_mesure(current_user, mesure) or kind_name not in registry():
        abort(403)
    ActionForm().validate()
    try:
        doc = mesures.start_document(db.session(), services().documents, mesure, kind_name=kind_name, user=current_user)
    except DocumentError as exc:
        flash(str(exc), "error")
        return redirect(url_for(".view", mesure_id=mesure.id))
    flash("Brouillon créé et prérempli depuis la mesure.", "success")
    return redirect(url_for("documents.edit", doc_id=doc.id))
