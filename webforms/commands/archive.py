"""``archive verify``: the integrity of the archive of signed copies, checked against the database."""

from __future__ import annotations

import datetime as dt
import json
import sys

import click
from sqlalchemy.exc import OperationalError, ProgrammingError

from webforms import db
from webforms.archive.verify import Report, record_verification
from webforms.archive.verify import verify as archive_verify_all
from webforms.commands.app import command_app
from webforms.web import services_of


@click.group()
def archive() -> None:
    """Archive des copies signées : vérification d'intégrité."""


@archive.command("verify")
@click.option("--since", "since", metavar="AAAA-MM-JJ", help="Ne recalculer les empreintes que des dépôts faits depuis cette date.")
@click.option("--json", "as_json", is_flag=True, help="Écrire le résultat en JSON.")
def archive_verify(since: str | None, as_json: bool) -> None:
    """Recalculer chaque SHA-512, rapprocher fichiers et enregistrements, rejouer le journal.

    Sort avec le code 1 en nommant chaque anomalie.
    """
    try:
        day = dt.date.fromisoformat(since) if since else None
    except ValueError:
        raise click.BadParameter("date attendue au format AAAA-MM-JJ.", param_hint="--since") from None
    app = command_app()
    with app.app_context():
        session = db.session()
        services = services_of(app).archive
        try:
            report = archive_verify_all(session, services, since=day)
            record_verification(session, services, report, since=day)
        except (OperationalError, ProgrammingError):  # no such database, no such table
            raise click.ClickException("Base de données absente ou pas à jour : lancez d'abord « webforms upgrade ».") from None
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
    else:
        _print_verification(report)
    if report.problems:
        sys.exit(1)


def _print_verification(report: Report) -> None:
    """Print each anomaly of a verification, then its verdict and what was checked."""
    for line in report.problems:
        click.echo(line)
    verdict = "Archive intègre" if not report.problems else f"{len(report.problems)} anomalie{'s' if len(report.problems) > 1 else ''}"
    click.echo(
        f"{verdict} : {report.records} enregistrement{'s' if report.records != 1 else ''}, "
        f"{report.files_hashed} fichier{'s' if report.files_hashed != 1 else ''} recalculé{'s' if report.files_hashed != 1 else ''}, "
        f"{report.log_rows} ligne{'s' if report.log_rows != 1 else ''} de journal."
    )
