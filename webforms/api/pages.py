"""The page of one's own API tokens (issue 17): create one (shown once), list them, revoke one.

A token acts for the signed-in user, within their organisation, so anyone signed in may hold
tokens: the API never lets a token do what its user could not do on the pages. An
administrator makes tokens for other accounts with ``webforms api-token`` (docs/api.md).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import RadioField, SelectMultipleField, StringField, widgets

from schemas import registry
from webforms import db
from webforms.api.tokens import MAX_DAYS, TokenError, create_token, made_by, revoke_token, tokens_of
from webforms.errors import NumberRefused, parse_number
from webforms.forms import ActionForm, select_choices
from webforms.models import API_SCOPES, ApiToken
from webforms.web import services

bp = Blueprint("jetons", __name__, url_prefix="/compte/jetons", template_folder="templates")

DEFAULT_DAYS = 90


class TokenForm(FlaskForm):
    """A new token: what it is for, its kinds, read or write, how many days it lasts."""

    nom = StringField("À quoi sert ce jeton (son nom)", render_kw={"maxlength": 100, "autocomplete": "off"})
    types = SelectMultipleField("Types de document qu'il atteint", option_widget=widgets.CheckboxInput(), widget=widgets.ListWidget(prefix_label=False))
    portee = RadioField("Portée", choices=select_choices(API_SCOPES.items()), default="lecture")
    jours = StringField(f"Durée de validité, en jours (1 à {MAX_DAYS})", default=str(DEFAULT_DAYS), render_kw={"inputmode": "numeric"})


def _form() -> TokenForm:
    form = TokenForm()
    form.types.choices = select_choices((k.name, k.title) for k in registry().values())
    return form


@bp.before_request
@login_required
def _signed_in() -> None:
    """Require a signed-in user for every page here."""


def _page(form: TokenForm, *, created: str | None = None, refusal: str | None = None) -> str:
    return render_template(
        "api/jetons.html", form=form, created=created, refusal=refusal, actions=ActionForm(),
        tokens=tokens_of(db.session(), current_user), now=services().clock(), scopes=API_SCOPES, kinds=registry(), made_by=made_by,
    )


@bp.get("")
def index() -> ResponseReturnValue:
    """List one's own tokens, with the form to create one."""
    return _page(_form())


@bp.post("")
def create() -> ResponseReturnValue:
    """Create a token for oneself; its value is shown on this answer only, never again."""
    form = _form()
    form.validate()  # the CSRF token; the values are the service's to judge
    session = db.session()
    try:
        days = parse_number(form.jours.data, what="La durée de validité")
        _token, value = create_token(
            session, services().archive, actor=current_user, user=current_user, name=form.nom.data or "", kinds=form.types.data or [],
            scope=form.portee.data or "", days=days, now=services().clock(),
        )
    except (TokenError, NumberRefused) as exc:
        session.rollback()
        return _page(form, refusal=str(exc)), 422
    response = make_response(_page(_form(), created=value))
    response.headers["Cache-Control"] = "no-store"  # the only copy of the secret: kept by no cache
    return response


@bp.post("/<int:token_id>/revoquer")
def revoke(token_id: int) -> ResponseReturnValue:
    """Revoke one of one's own tokens at once (another's answers 404: its existence is not revealed)."""
    ActionForm().validate()
    token = db.session().get(ApiToken, token_id)
    if token is None or token.user_id != current_user.id:
        abort(404)
    revoke_token(db.session(), token, actor=current_user, now=services().clock())
    flash(f"Jeton « {token.name} » (wf_{token.prefix}) révoqué : il ne permet plus aucune requête.", "success")
    return redirect(url_for(".index"))
