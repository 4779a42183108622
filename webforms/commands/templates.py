"""``check-templates``: every kind's templates, or one candidate file (``--template FILE --kind KIND``), without the database.

A module of its own: checking a candidate file runs the upload checks (Pillow among their
imports), which ``render`` does without.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from schemas import registry
from webforms.commands.catalogue import kind_named
from webforms.commands.render import instance_renderer
from webforms.modeles.checks import UnknownTemplate, check_file
from webforms.rendering.checks import check_templates
from webforms.rendering.pages import PAGES


@click.command("check-templates")
@click.option("--template", "candidate", type=click.Path(path_type=Path, dir_okay=False, exists=True), help="Un modèle candidat (DOCX ou HTML) à vérifier avant de le déposer.")
@click.option("--kind", "kind_name", metavar="KIND", help="Le type de document du modèle candidat (sans objet pour une page hors des types : couverture, procès-verbal).")
def check_templates_cmd(candidate: Path | None, kind_name: str | None) -> None:
    """Vérifier que chaque modèle n'utilise que ce que son type fournit (ou seulement le fichier de --template)."""
    if candidate is None:
        problems = check_templates(instance_renderer())
        success = f"Modèles conformes ({len(registry())} types de document)."
    elif not kind_name:
        # A page outside the kinds (the dossier's cover, the jury's procès-verbal) is named by its file.
        try:
            template, problems = check_file(instance_renderer(), None, candidate)
        except UnknownTemplate:
            raise click.UsageError("--template demande --kind (le type de document dont le modèle est vérifié), sauf pour une page hors des types nommée comme elle : " + ", ".join(PAGES) + ".") from None
        success = f"Modèle conforme : « {candidate} » peut remplacer « {template} »."
    else:
        template, problems = check_file(instance_renderer(), kind_named(kind_name), candidate)
        success = f"Modèle conforme : « {candidate} » peut remplacer « {template} » du type « {kind_name} »."
    for line in problems:
        click.echo(line)
    if problems:
        sys.exit(1)
    click.echo(success)
