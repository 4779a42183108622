"""``create-org``, ``create-user``, ``ensure-admin``, ``account …``: organisations and accounts (their territories too), in the database."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from webforms import db
from webforms.accounts import totp
from webforms.accounts.services import (
    AccountError,
    create_organisation,
    create_user,
    ensure_admin,
    find_user,
    generate_password,
    reset_password,
    set_active,
)
from webforms.commands.app import command_app
from webforms.errors import DocumentError
from webforms.models import Organisation, PorteeDepartement, User
from webforms.territoires import services as territoires


@click.command("create-org")
@click.argument("name")
def create_org(name: str) -> None:
    """Créer une organisation."""
    with command_app().app_context():
        try:
            org = create_organisation(db.session(), name)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Organisation créée : {org.name} (n° {org.id}).")


@click.command("create-user")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True, help="Nom complet.")
@click.option("--role", required=True, help="redacteur, coordinateur, instructeur, archiviste ou admin.")
@click.option("--organisation", required=True, help="Nom de l'organisation (créée si absente).")
@click.option("--password", envvar="WEBFORMS_NEW_PASSWORD", default=None, help="Sinon un mot de passe est généré et affiché une fois.")
def create_user_cmd(email: str, full_name: str, role: str, organisation: str, password: str | None) -> None:
    """Créer un compte utilisateur."""
    with command_app().app_context():
        session = db.session()
        try:
            org = session.scalar(select(Organisation).where(Organisation.name == organisation))
            org = org or create_organisation(session, organisation)
            shown = password or generate_password()
            user = create_user(
                session, email=email, full_name=full_name, role=role, organisation_id=org.id, password=shown
            )
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Compte créé : {user.email} ({user.role}, {org.name}).")
        if not password:
            click.echo(f"Mot de passe (affiché une seule fois) : {shown}")


@click.command("ensure-admin")
def ensure_admin_cmd() -> None:
    """Créer le premier administrateur s'il n'existe pas, et afficher ses identifiants une fois."""
    with command_app().app_context():
        created = ensure_admin(db.session())
        if created is None:
            click.echo("Un administrateur existe déjà.", err=True)
            return
        user, password = created
        click.echo("=" * 60)
        click.echo("Premier démarrage : compte administrateur créé.")
        click.echo(f"  Identifiant : {user.email}")
        click.echo(f"  Mot de passe : {password}")
        click.echo("Notez-le maintenant : il ne sera plus affiché.")
        click.echo("=" * 60)


@click.group("account")
def account() -> None:
    """Désactiver, réactiver un compte, réinitialiser son mot de passe ou son second facteur, le rattacher à des territoires."""


def _change(email: str, change: Callable[[Session, User], str]) -> None:
    """Apply ``change`` to the account of ``email`` and print what it says; a refusal exits 1 with its message."""
    with command_app().app_context():
        session = db.session()
        try:
            click.echo(change(session, find_user(session, email)))
        except AccountError as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from None


@account.command("deactivate")
@click.argument("email")
def deactivate(email: str) -> None:
    """Désactiver un compte : il ne peut plus se connecter et ses sessions prennent fin."""

    def change(session: Session, user: User) -> str:
        set_active(session, user, False, by=None, now=_now())
        return f"Compte désactivé : {user.email} ; ses sessions ont pris fin."

    _change(email, change)


@account.command("reactivate")
@click.argument("email")
def reactivate(email: str) -> None:
    """Réactiver un compte désactivé."""

    def change(session: Session, user: User) -> str:
        set_active(session, user, True, by=None, now=_now())
        return f"Compte réactivé : {user.email}."

    _change(email, change)


@account.command("reset-password")
@click.argument("email")
def reset_password_cmd(email: str) -> None:
    """Donner un nouveau mot de passe à un compte (affiché une fois, à changer à la prochaine connexion)."""

    def change(session: Session, user: User) -> str:
        password = reset_password(session, user, by=None, now=_now())
        return f"Mot de passe de {user.email} réinitialisé ; ses sessions ont pris fin.\nNouveau mot de passe (affiché une seule fois, à changer à la prochaine connexion) : {password}"

    _change(email, change)


@account.command("reset-totp")
@click.argument("email")
def reset_totp_cmd(email: str) -> None:
    """Retirer la double authentification d'un compte (téléphone perdu) : sa prochaine connexion ne demande que le mot de passe."""

    def change(session: Session, user: User) -> str:
        totp.reset(session, user, by=None)
        return f"Double authentification retirée du compte {user.email}."

    _change(email, change)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@account.command("territories")
@click.argument("email")
@click.option("--territoire", "codes", multiple=True, help="Code d'un territoire où rattacher le compte (un rédacteur : son organisation) ; répétable.")
@click.option("--departement", default=None, help="Accorder la portée départementale de ce Département (inscrite au journal d'audit).")
@click.option("--retirer-departement", "withdraw", default=None, help="Retirer la portée départementale de ce Département.")
def territories_cmd(email: str, codes: tuple[str, ...], departement: str | None, withdraw: str | None) -> None:
    """Rattacher un compte à des territoires, lui accorder ou retirer la portée départementale."""
    app = command_app()
    with app.app_context():
        session = db.session()
        archive = app.extensions["webforms.archive"]
        try:
            user = find_user(session, email)
            if codes:
                names = [t.nom for t in territoires.attach(session, user, codes)]
                session.commit()
                click.echo(f"{user.email} rattaché à : {', '.join(names)}.")
            if departement:
                territoires.grant_departement(session, archive, user, departement, by=None, now=_now())
                click.echo(f"Portée départementale ({departement}) accordée à {user.email} ; inscrite au journal d'audit.")
            if withdraw:
                portee = session.scalar(select(PorteeDepartement).where(PorteeDepartement.user_id == user.id, PorteeDepartement.departement == withdraw))
                if portee is None:
                    raise territoires.TerritoireError(f"{user.email} n'a pas la portée départementale ({withdraw}).")
                territoires.revoke_departement(session, archive, portee, by=None, now=_now())
                click.echo(f"Portée départementale ({withdraw}) retirée à {user.email}.")
        except (AccountError, DocumentError) as exc:
            session.rollback()
            raise click.ClickException(str(exc)) from None
