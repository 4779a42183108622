"""Administration: organisations and user accounts (admin role only)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from schemas.base.records import AppelSchema
from webforms import db, policy
from webforms.accounts.services import AccountError, create_organisation, create_user, generate_password
from webforms.candidatures import appels as svc_appels
from webforms.errors import ValidationFailed
from webforms.forms import (
    OrganisationForm,
    UserForm,
    attach_errors,
    change_rows,
    error_summary,
    form_class,
    payload_of,
    select_choices,
    with_initial_rows,
)
from webforms.models import ROLES, Appel, Organisation, User

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _admin_only() -> None:
    if not policy.can_administer(current_user):
        abort(403)


def _organisations() -> list[Organisation]:
    return list(db.session().scalars(select(Organisation).order_by(Organisation.name)))


@bp.route("/organisations", methods=["GET", "POST"])
def organisations() -> Any:
    """List organisations and create one."""
    form = OrganisationForm()
    status = 200
    if form.validate_on_submit():
        try:
            org = create_organisation(db.session(), form.name.data or "")
        except AccountError as exc:
            form.name.errors = [str(exc)]
            status = 422
        else:
            flash(f"Organisation « {org.name} » créée.", "success")
            form = OrganisationForm(formdata=None)
    return render_template("admin_organisations.html", form=form, organisations=_organisations()), status


@bp.route("/utilisateurs", methods=["GET", "POST"])
def users() -> Any:
    """List accounts and create one; the new password is shown once, here."""
    orgs = _organisations()
    form = UserForm()
    form.role.choices = select_choices(ROLES.items())
    form.organisation_id.choices = select_choices((str(o.id), o.name) for o in orgs)
    created = None
    status = 200
    if form.validate_on_submit():
        password = generate_password()
        try:
            org_id = int(form.organisation_id.data or 0)
            user = create_user(
                db.session(),
                email=form.email.data or "",
                full_name=form.full_name.data or "",
                role=form.role.data or "",
                organisation_id=org_id,
                password=password,
                created_by=current_user,
            )
        except (AccountError, ValueError) as exc:
            form.form_errors.append(str(exc) if isinstance(exc, AccountError) else "Organisation inconnue.")
            status = 422
        else:
            created = {"email": user.email, "password": password}
            form = UserForm(formdata=None)
            form.role.choices = select_choices(ROLES.items())
            form.organisation_id.choices = select_choices((str(o.id), o.name) for o in orgs)
    accounts = list(db.session().scalars(select(User).order_by(User.email)))
    return render_template("admin_users.html", form=form, users=accounts, created=created), status


def _appel_form(appel: Appel | None) -> Any:
    form_cls = form_class(AppelSchema)
    if request.method == "POST":
        return form_cls()
    return form_cls(formdata=None, data=with_initial_rows(AppelSchema, appel.data if appel else {}))


@bp.route("/appels", methods=["GET", "POST"])
def appels() -> Any:
    """List calls for applications and create one."""
    return _edit_appel(None)


@bp.route("/appels/<int:appel_id>", methods=["GET", "POST"])
def appel(appel_id: int) -> Any:
    """Edit a call for applications."""
    found = db.session().get(Appel, appel_id)
    if found is None:
        abort(404)
    return _edit_appel(found)


def _edit_appel(appel: Appel | None) -> Any:
    form = _appel_form(appel)
    problems: list[dict[str, str]] = []
    status = 200
    if request.method == "POST":
        form.validate()
        payload = payload_of(form)
        action = request.form.get("action", "save")
        if action.startswith(("add:", "remove:")):
            # A row added or removed: shown again, nothing saved until "Enregistrer".
            change_rows(AppelSchema, payload, action)
            form = form_class(AppelSchema)(formdata=None, data=with_initial_rows(AppelSchema, payload))
            return render_template("admin_appels.html", form=form, appel=appel, appels=svc_appels.appels(db.session()), problems=[])
        try:
            saved = svc_appels.save_appel(db.session(), current_app.config["CLOCK"], user=current_user, payload=payload, appel=appel)
        except ValidationFailed as exc:
            attach_errors(form, exc.errors)
            problems, status = error_summary(AppelSchema, exc.errors), 422
        else:
            flash(f"Appel « {saved.data['titre']} » enregistré.", "success")
            return redirect(url_for(".appel", appel_id=saved.id))
    return (
        render_template("admin_appels.html", form=form, appel=appel, appels=svc_appels.appels(db.session()), problems=problems),
        status,
    )
