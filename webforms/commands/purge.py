"""``purge``: the drafts past the term of the active base, removed (or listed with ``--dry-run``)."""

from __future__ import annotations

import json

import click

from webforms.commands.app import command_app
from webforms.purge import PurgeReport, purge_app


@click.command("purge")
@click.option("--dry-run", "dry_run", is_flag=True, help="Compter ce qui serait supprimé, sans rien supprimer.")
@click.option("--json", "as_json", is_flag=True, help="Écrire le résultat en JSON.")
def purge_cmd(dry_run: bool, as_json: bool) -> None:
    """Supprimer les brouillons jamais soumis dont le dernier enregistrement dépasse la durée de la base active."""
    report = purge_app(command_app(), dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(report.as_json() | {"essai": dry_run}, ensure_ascii=False, indent=2))
    else:
        click.echo(_summary(report, dry_run))


def _summary(report: PurgeReport, dry_run: bool) -> str:
    """Say what went (or would go), in counts only."""
    verb = "seraient supprimés" if dry_run else "supprimés"
    lines = [
        f"Dernier contact avant le {report.cutoff:%d/%m/%Y} ({report.days} jours) : "
        f"{len(report.drafts)} brouillon(s) jamais soumis et {report.files} fichier(s) {verb}."
    ]
    if report.kept_forms:
        lines.append(f"{report.kept_forms} formulaire(s) conservé(s) après la fin d'une session, de plus de 30 jours, {verb}.")
    if report.submitted_kept:
        lines.append(f"{report.submitted_kept} document(s) soumis non archivé(s) dépassent ce terme : ils relèvent de l'archive (dépôt, puis visa d'élimination), pas de la purge.")
    return "\n".join(lines)
