"""``fichiers orphelins``: the files of the working store that no row names, listed or removed (issue 15)."""

from __future__ import annotations

import json
import sys

import click

from webforms import db
from webforms.archive.orphans import find_orphans, grace_of, remove_orphans
from webforms.archive.services import ArchiveError
from webforms.commands.app import command_app
from webforms.web import services_of


@click.group("fichiers")
def fichiers() -> None:
    """Magasin de fichiers de travail (instance/files/)."""


@fichiers.command("orphelins")
@click.option("--supprimer", is_flag=True, help="Supprimer les fichiers listés (chacun inscrit au journal scellé de l'archive).")
@click.option("--json", "as_json", is_flag=True, help="Écrire le résultat en JSON.")
def orphelins(supprimer: bool, as_json: bool) -> None:
    """Lister les fichiers qu'aucune ligne de la base ne nomme, écrits avant le délai de grâce."""
    app = command_app()
    with app.app_context():
        session = db.session()
        svc = services_of(app).archive
        now, grace = svc.clock(), grace_of(app.config)
        try:
            found = remove_orphans(session, svc, now=now, grace=grace) if supprimer else find_orphans(session, svc.files.root, now=now, grace=grace)
        except ArchiveError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
    if as_json:
        click.echo(json.dumps({"supprimes" if supprimer else "orphelins": [o.as_json() for o in found]}, ensure_ascii=False, indent=2))
        return
    for orphan in found:
        click.echo(f"{orphan.name}  {orphan.size} octets  écrit le {orphan.written_at:%d/%m/%Y %H:%M} UTC")
    hours = f"{grace.total_seconds() / 3600:g}"
    verb = "supprimé(s), inscrit(s) au journal de l'archive" if supprimer else "orphelin(s) ; --supprimer pour les supprimer"
    click.echo(f"{len(found)} fichier(s) {verb} (écrits depuis plus de {hours} h, nommés par aucune ligne).")
