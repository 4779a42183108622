"""Calls for applications on the command line: one read from the database for ``validate --appel`` (the
application is loaded only then), and ``grille APPEL FICHIER`` that sets a call's evaluation grid."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import click
from sqlalchemy import select
from sqlalchemy.orm import Session

from webforms import db
from webforms.candidatures.grille_edit import save_grille
from webforms.commands.app import command_app
from webforms.errors import ValidationFailed, parse_id
from webforms.models import Appel
from webforms.web import services_of


def call_from_database(ref: str) -> dict[str, Any]:
    """Return the values of the call whose id or code is ``ref``; a French error if there is none."""
    app = command_app()
    with app.app_context():
        return dict(_appel(db.session(), ref, "ni fichier JSON, ni identifiant ou code d'un appel de la base").data)


def _appel(session: Session, ref: str, what: str) -> Appel:
    # The one helper (issue 15): "١" is no number, nor one past the database's integer.
    appel = session.get(Appel, number) if (number := parse_id(ref)) is not None else None
    appel = appel or session.scalar(select(Appel).where(Appel.code == ref))
    if appel is None:
        raise click.ClickException(f"Appel « {ref} » introuvable : {what}.")
    return appel


def _lines(errors: Mapping[Any, Any], where: str = "") -> list[str]:
    """The field errors of a refused grid, one line each, with where they are."""
    out = []
    for key, value in errors.items():
        place = where if key == "_schema" else f"{where}.{key}" if where else str(key)
        out.extend(_lines(value, place) if isinstance(value, Mapping) else [f"{place or 'grille'} : {m}" for m in value])
    return out


@click.command("grille")
@click.argument("appel")
@click.argument("fichier", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def grille_cmd(appel: str, fichier: Path) -> None:
    """Enregistrer la grille d'évaluation d'un appel (identifiant ou code) depuis un fichier JSON (AML §6c)."""
    try:
        payload = json.loads(fichier.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise click.ClickException(f"Fichier illisible ({fichier}) : {exc}") from None
    app = command_app()
    with app.app_context():
        session = db.session()
        found = _appel(session, appel, "aucun appel de la base n'a cet identifiant ni ce code")
        try:
            save_grille(session, services_of(app).archive, found, user=None, payload=payload if isinstance(payload, Mapping) else {})
        except ValidationFailed as exc:
            raise click.ClickException("\n".join([str(exc), *_lines(exc.errors)])) from None
        click.echo(f"Grille d'évaluation de l'appel « {found.code} » enregistrée : {len(found.data['grille']['criteres'])} critères.")
