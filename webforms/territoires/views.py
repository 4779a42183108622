"""The administrator's pages of territories: configuration, attachments, Département-wide grants."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from webforms import db, policy
from webforms.accounts.sessions import current_clock
from webforms.errors import parse_id
from webforms.forms import ActionForm
from webforms.mesures.rules import TYPES
from webforms.models import NATURES_ZONE, Departement, Mesure, Organisation, PorteeDepartement, Territoire, User
from webforms.territoires import assign, destinataires
from webforms.territoires import services as svc
from webforms.web import attempt

bp = Blueprint("territoires", __name__, url_prefix="/admin/territoires")


@bp.before_request
@login_required
def _admin_only() -> None:
    if not policy.can_manage_territories(current_user):
        abort(403)


def _territoire(territoire_id: int) -> Territoire:
    found = db.session().get(Territoire, territoire_id)
    if found is None:
        abort(404)
    return found


def _checked() -> None:
    """Refuse a form without its CSRF token (the CSRF hook answered before; this checks the form)."""
    if not ActionForm().validate_on_submit():
        abort(400)


@bp.get("")
def index() -> str:
    """List the territories and the Département-wide grants; grant one."""
    s = db.session()
    return render_template(
        "admin_territoires.html", territoires=svc.territories(s), grants=svc.grants(s), users=svc.scoped_users(s),
        departements=svc.departements(s), actions=ActionForm(),
    )


def _page(territoire: Territoire, errors: dict[str, Any] | None = None, typed: dict[str, Any] | None = None, recipients: dict[str, Any] | None = None) -> str:
    """The territory's page; ``recipients``: the refused recipients' form (its errors and what was typed)."""
    s = db.session()
    return render_template(
        "admin_territoire.html", territoire=territoire, errors=errors or {}, typed=typed, zones=NATURES_ZONE, types=svc.INDICATIVE_TYPES,
        organisations=s.query(Organisation).order_by(Organisation.name).all(), users=svc.scoped_users(s),
        attached_orgs=svc.attached_organisations(s, territoire), attached_users=svc.attached_users(s, territoire), actions=ActionForm(),
        recipients=recipients or {}, departement=s.get(Departement, territoire.departement), dest=destinataires,
    )


@bp.route("/<int:territoire_id>", methods=["GET", "POST"])
def edit(territoire_id: int) -> ResponseReturnValue:
    """Show a territory; save its name, bounds, indicative counts and zones."""
    territoire = _territoire(territoire_id)
    if request.method == "GET":
        return _page(territoire)
    _checked()
    outcome = attempt(svc.update_territory, db.session(), territoire, user=current_user, payload=request.form.to_dict(), now=current_clock())
    if outcome.refused:
        flash(str(outcome.refusal), "error")
        return _page(_territoire(territoire_id), dict(outcome.errors), request.form.to_dict()), outcome.status
    flash(f"Territoire « {territoire.nom} » enregistré.", "success")
    return redirect(url_for(".edit", territoire_id=territoire.id))


@bp.post("/<int:territoire_id>/destinataires")
def recipients(territoire_id: int) -> ResponseReturnValue:
    """Save the RAST addresses, each PMS's CAMS and the Service Logement's address (checked, recorded)."""
    territoire = _territoire(territoire_id)
    _checked()
    if destinataires.stale(territoire, request.form):
        # Shown before a save of the territory (its zones renumbered): nothing written, what was typed carried over.
        flash(destinataires.STALE, "error")
        return _page(territoire, recipients={"errors": {}, "typed": destinataires.carried_over(territoire, request.form.to_dict())}), 409
    outcome = attempt(destinataires.update_recipients, db.session(), territoire, user=current_user, payload=request.form.to_dict(), now=current_clock())
    if outcome.refused:
        flash(str(outcome.refusal), "error")
        refused = {"errors": dict(outcome.errors), "typed": request.form.to_dict()}
        return _page(_territoire(territoire_id), recipients=refused), outcome.status
    flash(f"Destinataires de « {territoire.nom} » enregistrés." if outcome.value else "Aucun changement des destinataires.", "success")
    return redirect(url_for(".edit", territoire_id=territoire.id))


def _ids(name: str) -> list[int]:
    return [n for n in (parse_id(v) for v in request.form.getlist(name)) if n is not None]


@bp.post("/<int:territoire_id>/rattachements")
def attachments(territoire_id: int) -> ResponseReturnValue:
    """Replace the organisations and the accounts attached to a territory."""
    territoire = _territoire(territoire_id)
    _checked()
    outcome = attempt(
        svc.set_attachments, db.session(), territoire, user=current_user, organisation_ids=_ids("organisation"), user_ids=_ids("compte"), now=current_clock()
    )
    flash(str(outcome.refusal) if outcome.refused else f"Rattachements de « {territoire.nom} » enregistrés.", "error" if outcome.refused else "success")
    return redirect(url_for(".edit", territoire_id=territoire_id))


@bp.post("/portees")
def grant() -> ResponseReturnValue:
    """Grant an account a Département-wide scope (recorded, logged in the audit trail)."""
    _checked()
    account = db.session().get(User, parse_id(request.form.get("compte")) or 0)
    if account is None:
        flash("Choisissez le compte à qui accorder la portée départementale.", "error")
        return redirect(url_for(".index"))
    archive = current_app.extensions["webforms.archive"]
    outcome = attempt(svc.grant_departement, db.session(), archive, account, request.form.get("departement", ""), by=current_user, now=current_clock())
    flash(str(outcome.refusal) if outcome.refused else f"Portée départementale accordée à {account.email}.", "error" if outcome.refused else "success")
    return redirect(url_for(".index"))


@bp.post("/portees/<int:portee_id>/retirer")
def revoke(portee_id: int) -> ResponseReturnValue:
    """Withdraw a Département-wide grant (logged in the audit trail)."""
    portee = db.session().get(PorteeDepartement, portee_id)
    if portee is None:
        abort(404)
    _checked()
    outcome = attempt(svc.revoke_departement, db.session(), current_app.extensions["webforms.archive"], portee, by=current_user, now=current_clock())
    flash(str(outcome.refusal) if outcome.refused else "Portée départementale retirée.", "error" if outcome.refused else "success")
    return redirect(url_for(".index"))


@bp.get("/mesures")
def measures() -> str:
    """List the measures without a territory, each with the territories of its nature to choose from."""
    s = db.session()
    rows = [(m, assign.choices(s, m)) for m in assign.unassigned(s)]
    return render_template("admin_mesures_territoire.html", rows=rows, types=TYPES, actions=ActionForm())


@bp.post("/mesures")
def assign_measure() -> ResponseReturnValue:
    """Give the posted measure the chosen territory (sealed in the audit log)."""
    _checked()
    mesure_id = parse_id(request.form.get("mesure", ""))
    mesure = db.session().get(Mesure, mesure_id) if mesure_id is not None else None
    if mesure is None:
        abort(404)
    archive = current_app.extensions["webforms.archive"]
    outcome = attempt(assign.assign, db.session(), archive, mesure, request.form.get("territoire", ""), by=current_user, now=current_clock())
    flash(outcome.refusal if outcome.refused else f"Mesure {mesure.reference} rattachée à « {outcome.value.nom} ».", "error" if outcome.refused else "success")
    return redirect(url_for(".measures"))
