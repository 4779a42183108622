"""``create-org``, ``create-user``, ``ensure-admin``: organisations and accounts, in the database."""

from __future__ import annotations

import click
from sqlalchemy import select

from webforms import db
from webforms.accounts.services import AccountError, create_organisation, create_user, ensure_admin, generate_password
from webforms.commands.app import command_app
from webforms.models import Organisation


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
