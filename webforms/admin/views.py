"""Administration: organisations, user accounts and calls for applications (admin role only)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from sqlalchemy import select

from schemas.base.records import AppelSchema
from webforms import db, policy
from webforms.accounts import services as account_services
from webforms.accounts import totp
from webforms.accounts.services import create_organisation, create_user, generate_password
from webforms.accounts.sessions import current_clock
from webforms.candidatures import appels as svc_appels
from webforms.errors import parse_number
from webforms.forms import (
    ActionForm,
    OrganisationForm,
    UserForm,
    change_rows,
    error_summary,
    form_class,
    select_choices,
    with_initial_rows,
)
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
    return _users_page(form, created=created), outcome.status


def _users_page(form: UserForm, **shown: object) -> str:
    """Render the accounts' page (``shown``: a password to hand over once, created or reset)."""
    accounts = list(db.session().scalars(select(User).order_by(User.email)))
    return render_template("admin_users.html", form=form, users=accounts, actions=ActionForm(), **shown)


def _account(user_id: int) -> User:
    found = db.session().get(User, user_id)
    if found is None:
        abort(404)
    return found


@bp.route("/utilisateurs/<int:user_id>/mot-de-passe", methods=["POST"])
def reset_password(user_id: int) -> ResponseReturnValue:
    """Give an account a new password, shown once, to change at its next sign-in; its sessions end."""
    user = _account(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    password = account_services.reset_password(db.session(), user, by=current_user, now=current_clock())
    return _users_page(_user_form(_organisations(), blank=True), reset={"email": user.email, "password": password})


@bp.route("/utilisateurs/<int:user_id>/double-authentification", methods=["POST"])
def reset_totp(user_id: int) -> ResponseReturnValue:
    """Remove an account's second factor (a lost telephone): its next sign-in asks the password only."""
    user = _account(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    outcome = attempt(totp.reset, db.session(), user, by=current_user)
    flash(str(outcome.refusal) if outcome.refused else f"Double authentification retirée du compte {user.email}.", "error" if outcome.refused else "success")
    return redirect(url_for(".users"))


@bp.route("/utilisateurs/<int:user_id>/desactiver", methods=["POST"], defaults={"active": False}, endpoint="deactivate")
@bp.route("/utilisateurs/<int:user_id>/reactiver", methods=["POST"], defaults={"active": True}, endpoint="reactivate")
def set_active(user_id: int, active: bool) -> ResponseReturnValue:
    """Deactivate an account (its sessions end) or reactivate it."""
    user = _account(user_id)
    if not ActionForm().validate_on_submit():
        abort(400)
    outcome = attempt(account_services.set_active, db.session(), user, active, by=current_user, now=current_clock())
    if outcome.refused:
        flash(str(outcome.refusal), "error")
    else:
        flash(f"Compte {user.email} {'réactivé' if active else 'désactivé : ses sessions ont pris fin'}.", "success")
    return redirect(url_for(".users"))


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
        change_rows(AppelSchema, post.payload, post.action, post.form)
        return _appels_page(form_class(AppelSchema)(formdata=None, data=with_initial_rows(AppelSchema, post.payload)), appel)
    saved = post.call(svc_appels.save_appel, db.session(), services().documents, appel, user=current_user)
    if saved is None:
        return _appels_page(post.form, appel, error_summary(AppelSchema, post.errors)), 422
    # The title often holds its own « » (« Aide à la Médiation Locative »): not quoted again.
    flash(f"L'appel est enregistré : {saved.data['titre']}.", "success")
    for warning in svc_appels.deadline_warnings(saved):
        flash(warning, "warning")
    return redirect(url_for(".appel", appel_id=saved.id))


def _appels_page(form: object, appel: Appel | None, problems: list[dict[str, str]] | None = None) -> str:
    """Render the calls' page around the form of one call."""
    return render_template("admin_appels.html", form=form, appel=appel, appels=svc_appels.appels(db.session()), problems=problems or [])
