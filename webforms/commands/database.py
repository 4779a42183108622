"""``upgrade`` (alias ``init-db``): create or migrate the database."""

from __future__ import annotations

import click

from webforms import db
from webforms.commands.app import command_app


@click.command()
def upgrade() -> None:
    """Créer ou mettre à jour la base de données (migrations Alembic)."""
    app = command_app()
    try:
        db.ensure_started(app)
    except db.DatabaseUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    db.upgrade(app.config["DATABASE_URL"])
    click.echo("Base de données à jour.", err=True)
