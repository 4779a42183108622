"""Administration: organisations and user accounts (admin role only)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, render_template
from flask_login import current_user, login_required
from sqlalchemy import select

from webforms import db, policy
from webforms.forms import OrganisationForm, UserForm, select_choices
from webforms.models import ROLES, Organisation, User
from webforms.services.accounts import AccountError, create_organisation, create_user, generate_password

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
