"""A call for applications read from the database, for ``validate --appel`` (the application is loaded only then)."""

from __future__ import annotations

from typing import Any

import click
from sqlalchemy import select

from webforms import db
from webforms.commands.app import command_app
from webforms.models import Appel


def call_from_database(ref: str) -> dict[str, Any]:
    """Return the values of the call whose id or code is ``ref``; a French error if there is none."""
    app = command_app()
    with app.app_context():
        session = db.session()
        appel = session.get(Appel, int(ref)) if ref.isdigit() and len(ref) < 19 else None
        appel = appel or session.scalar(select(Appel).where(Appel.code == ref))
        if appel is None:
            raise click.ClickException(f"Appel « {ref} » introuvable : ni fichier JSON, ni identifiant ou code d'un appel de la base.")
        return dict(appel.data)
