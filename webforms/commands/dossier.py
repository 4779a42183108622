"""``verify-zip``: a complete dossier's archive checked against its manifest, without the application."""

from __future__ import annotations

import sys

import click

from webforms.candidatures.dossier import verify_zip


@click.command("verify-zip")
@click.argument("file", metavar="FICHIER.zip")
def verify_zip_cmd(file: str) -> None:
    """Vérifier une archive de dossier contre son manifest.json (empreintes SHA-256, tailles) ; rien n'est extrait."""
    problems = verify_zip(file)
    for line in problems:
        click.echo(line)
    if problems:
        sys.exit(1)
    click.echo("Archive intacte : chaque fichier correspond à son empreinte dans le manifeste.")
