"""``api-token create/list/revoke`` and ``openapi``: the JSON API's tokens and its description."""

from __future__ import annotations

import getpass
import json

import click
from sqlalchemy import select

from webforms import db
from webforms.api.spec import openapi_document
from webforms.api.tokens import TokenError, create_token, made_by, revoke_token, token_by_prefix, tokens_of
from webforms.commands.app import command_app
from webforms.models import API_SCOPES, User
from webforms.web import services


@click.group("api-token")
def api_token() -> None:
    """Jetons de l'API JSON : créer, lister, révoquer."""


def _user(email: str) -> User:
    user = db.session().scalar(select(User).where(User.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"Aucun compte « {email} ».")
    return user


@api_token.command("create")
@click.option("--email", required=True, help="Compte pour lequel le jeton agit.")
@click.option("--name", required=True, help="À quoi sert le jeton (ex. : « Logiciel du SIAO »).")
@click.option("--kind", "kinds", multiple=True, required=True, help="Type de document permis (répéter l'option).")
@click.option("--scope", type=click.Choice(sorted(API_SCOPES)), default="lecture", show_default=True)
@click.option("--days", type=int, default=90, show_default=True, help="Durée de validité en jours.")
@click.option("--par", "operator", default=None, help="Qui crée le jeton (son identifiant) ; par défaut, l'utilisateur du système.")
def create(email: str, name: str, kinds: tuple[str, ...], scope: str, days: int, operator: str | None) -> None:
    """Créer un jeton ; sa valeur n'est affichée qu'une fois ; son créateur est enregistré et journalisé."""
    with command_app().app_context():
        try:
            token, value = create_token(
                db.session(), services().archive, actor=None, user=_user(email), name=name, kinds=kinds, scope=scope, days=days,
                now=services().clock(), operator=operator or _system_user(),
            )
        except TokenError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Jeton créé : wf_{token.prefix} ({token.user.email}, {token.organisation.name}, {scope}, expire le {token.expires_at:%d/%m/%Y}).", err=True)
        click.echo("Sa valeur, affichée une seule fois (seule son empreinte est conservée) :", err=True)
        click.echo(value)


def _system_user() -> str | None:
    """Return the login of who runs the command, or None when the system cannot tell (then « --par » is asked)."""
    try:
        return getpass.getuser()
    except (OSError, KeyError):  # no LOGNAME/USER and no entry in the password database (a bare container)
        return None


@api_token.command("list")
@click.option("--email", default=None, help="Seulement les jetons de ce compte.")
def list_cmd(email: str | None) -> None:
    """Lister les jetons : préfixe, compte, organisation, portée, types, expiration, état."""
    with command_app().app_context():
        now = services().clock()
        for token in tokens_of(db.session(), _user(email) if email else None):
            state = "révoqué" if token.revoked_at else ("expiré" if token.expires_at <= now else "actif")
            used = f"{token.last_used_at:%d/%m/%Y %H:%M}" if token.last_used_at else "jamais"
            click.echo(
                "\t".join(
                    [f"wf_{token.prefix}", token.user.email, token.organisation.name, token.scope, ",".join(token.kinds),
                     f"{token.expires_at:%d/%m/%Y}", state, f"utilisé : {used}", f"créé par : {made_by(token)}", token.name]
                )
            )


@api_token.command("revoke")
@click.argument("prefix")
def revoke(prefix: str) -> None:
    """Révoquer le jeton PREFIX (wf_… tel que listé) ; sa prochaine requête est refusée."""
    with command_app().app_context():
        token = token_by_prefix(db.session(), prefix)
        if token is None:
            raise click.ClickException(f"Aucun jeton « {prefix} ».")
        revoke_token(db.session(), token, actor=None, now=services().clock())
        click.echo(f"Jeton wf_{token.prefix} révoqué.")


@click.command("openapi")
def openapi() -> None:
    """Afficher la description OpenAPI de l'API (la même que /api/v1/openapi.json)."""
    app = command_app()
    click.echo(json.dumps(openapi_document(app), ensure_ascii=False, indent=2, sort_keys=True))
