"""Administration: organisations, user accounts and calls for applications (admin role only)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select

from schemas.base.records import AppelSchema
from webforms import db, policy
from webforms.accounts.services import create_organisation, create_user, generate_password
from webforms.candidatures import appels as svc_appels
from webforms.errors import parse_number
from webforms.forms import OrganisationForm, UserForm, change_rows, error_summary, form_class, select_choices, with_initial_rows
from webforms.models import ROLES, Appel, Organisation, User
from webforms.web import Outcome, attempt, posted, services

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.before_request
@login_required
def _admin_only() -> None:
    if not policy.can_administer(current_user):
        abort(403)


def _organisations() -> list[Organisation]:
    return list(db.session().scalars(select(Organisation).order_by(Organisation.name)))


@bp.route("/organisations", methods=["GET", "POST"])
def organisations() -> ResponseReturnValue:
    """List organisations and create one."""
    form = OrganisationForm()
    outcome: Outcome[Organisation] = Outcome()
    if form.validate_on_submit():
        outcome = attempt(create_organisation, db.session(), form.name.data or "")
        if outcome.refused:
            form.name.errors = [str(outcome.refusal)]
        else:
            flash(f"Organisation « {outcome.value.name} » créée.", "success")
            form = OrganisationForm(formdata=None)
    return render_template("admin_organisations.html", form=form, organisations=_organisations()), outcome.status


def _user_form(orgs: list[Organisation], *, blank: bool = False) -> UserForm:
    """Return the account form (as posted, or ``blank`` after a creation) with its choices."""
    form = UserForm(formdata=None) if blank else UserForm()
    form.role.choices = select_choices(ROLES.items())
    form.organisation_id.choices = select_choices((str(o.id), o.name) for o in orgs)
    return form


@bp.route("/utilisateurs", methods=["GET", "POST"])
def users() -> ResponseReturnValue:
    """List accounts and create one; the new password is shown once, here."""
    orgs = _organisations()
    form = _user_form(orgs)
    created = None
    outcome: Outcome[User] = Outcome()
    if form.validate_on_submit():
        password = generate_password()
        outcome = attempt(_create_user, form, password)
        if outcome.refused:
            form.form_errors.append(str(outcome.refusal))
        else:
            created = {"email": outcome.value.email, "password": password}
            form = _user_form(orgs, blank=True)
    accounts = list(db.session().scalars(select(User).order_by(User.email)))
    return render_template("admin_users.html", form=form, users=accounts, created=created), outcome.status


def _create_user(form: UserForm, password: str) -> User:
    """Create the account the form describes; refused, like the service's refusals, if its organisation is not a number."""
    organisation_id = parse_number(form.organisation_id.data, what="L'organisation")
    return create_user(
        db.session(),
        email=form.email.data or "",
        full_name=form.full_name.data or "",
        role=form.role.data or "",
        organisation_id=organisation_id,
        password=password,
        created_by=current_user,
    )


@bp.route("/appels", methods=["GET", "POST"])
def appels() -> ResponseReturnValue:
    """List calls for applications and create one."""
    return _edit_appel(None)


@bp.route("/appels/<int:appel_id>", methods=["GET", "POST"])
def appel(appel_id: int) -> ResponseReturnValue:
    """Edit a call for applications."""
    found = db.session().get(Appel, appel_id)
    if found is None:
        abort(404)
    return _edit_appel(found)


def _edit_appel(appel: Appel | None) -> ResponseReturnValue:
    """Show a call's form (a new one's if ``appel`` is None), or save it when posted."""
    if request.method == "POST":
        return _save_appel(appel)
    form = form_class(AppelSchema)(formdata=None, data=with_initial_rows(AppelSchema, appel.data if appel else {}))
    return _appels_page(form, appel), 200


def _save_appel(appel: Appel | None) -> ResponseReturnValue:
    """Save the posted call; a row added or removed, or a refusal, shows the form again."""
    post = posted(form_class(AppelSchema))
    if post.changes_rows:
        # A row added or removed: shown again, nothing saved until "Enregistrer".
        change_rows(AppelSchema, post.payload, post.action)
        return _appels_page(form_class(AppelSchema)(formdata=None, data=with_initial_rows(AppelSchema, post.payload)), appel)
    saved = post.call(svc_appels.save_appel, db.session(), services().documents, appel, user=current_user)
    if saved is None:
        return _appels_page(post.form, appel, error_summary(AppelSchema, post.errors)), 422
    flash(f"Appel « {saved.data['titre']} » enregistré.", "success")
    return redirect(url_for(".appel", appel_id=saved.id))


def _appels_page(form: object, appel: Appel | None, problems: list[dict[str, str]] | None = None) -> str:
    """Render the calls' page around the form of one call."""
    return render_template("admin_appels.html", form=form, appel=appel, appels=svc_appels.appels(db.session()), problems=problems or [])
