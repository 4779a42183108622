"""``archive verify``: the integrity of the archive of signed copies, checked against the database."""

from __future__ import annotations

import datetime as dt
import json
import sys
from typing import Any, NoReturn

import click
from sqlalchemy import Engine, event
from sqlalchemy.exc import OperationalError, ProgrammingError

from webforms import db
from webforms.archive.services import ArchiveError
from webforms.archive.verify import Report, record_verification, seal_trail
from webforms.archive.verify import verify as archive_verify_all
from webforms.commands.app import command_app
from webforms.web import services_of


@click.group()
def archive() -> None:
    """Archive des copies signées : vérification d'intégrité."""


# The exit codes of ``archive verify``: 0 intact, 1 anomalies named, 3 not verified (the
# database busy or absent: no verdict, or one that could not be logged). 2 is click's usage error.
EXIT_UNVERIFIED = 3


@archive.command("verify")
@click.option("--since", "since", metavar="AAAA-MM-JJ", help="Ne recalculer les empreintes que des dépôts faits depuis cette date.")
@click.option("--json", "as_json", is_flag=True, help="Écrire le résultat en JSON.")
@click.option("--lock-timeout", "lock_timeout", type=click.IntRange(1, 3600), default=60, show_default=True, metavar="SECONDES", help="Attente maximale d'un verrou de la base.")
def archive_verify(since: str | None, as_json: bool, lock_timeout: int) -> None:
    """Recalculer chaque SHA-512, rapprocher fichiers et enregistrements, rejouer le journal.

    Sort avec le code 1 en nommant chaque anomalie, 3 si la vérification n'a pas pu se faire.
    """
    try:
        day = dt.date.fromisoformat(since) if since else None
    except ValueError:
        raise click.BadParameter("date attendue au format AAAA-MM-JJ.", param_hint="--since") from None
    app = command_app()
    _bound_lock_waits(app.extensions["webforms.engine"], lock_timeout)
    logged = True
    with app.app_context():
        session = db.session()
        services = services_of(app).archive
        try:
            report = archive_verify_all(session, services, since=day)
        except (OperationalError, ProgrammingError) as exc:
            _unverified(_why(exc, lock_timeout))
        try:
            record_verification(session, services, report, since=day)
        except (ArchiveError, OperationalError):
            session.rollback()
            logged = False
    if as_json:
        click.echo(json.dumps(report.as_json() | {"logged": logged}, ensure_ascii=False, indent=2))
    else:
        _print_verification(report)
    if report.problems:
        sys.exit(1)
    if not logged:
        click.echo(f"La vérification n'a pas pu être inscrite au journal de l'archive (verrou du journal tenu plus de {lock_timeout} s) : relancez-la.", err=True)
        sys.exit(EXIT_UNVERIFIED)


@archive.command("sceller")
def archive_seal() -> None:
    """Sceller le journal écrit avant le scellement (une fois, après la mise à jour).

    Rejoue le journal ; s'il est intact, y ajoute une ligne scellée qui répond de toutes les
    précédentes. Refusé si le journal présente une anomalie ou s'il est déjà scellé.
    """
    app = command_app()
    with app.app_context():
        try:
            rows = seal_trail(db.session(), services_of(app).archive)
        except ArchiveError as exc:
            click.echo(str(exc), err=True)
            sys.exit(1)
    click.echo(f"Journal scellé : {rows} ligne{'s' if rows != 1 else ''} antérieure{'s' if rows != 1 else ''} couverte{'s' if rows != 1 else ''} par le sceau.")


def _bound_lock_waits(engine: Engine, seconds: int) -> None:
    """Make every connection of the command give up a lock after ``seconds``, not wait for ever.

    A lock held elsewhere (a migration, a dump, a long transaction, the journal's lock) would
    otherwise keep the verification waiting with no word; its own connections and the journal
    lock's are all new ones, so the setting is made on connecting.
    """
    engine.dispose()  # connections opened before (the app's start-up) would not have it

    @event.listens_for(engine, "connect")
    def _lock_timeout(dbapi_connection: Any, _record: Any) -> None:
        with dbapi_connection.cursor() as cursor:
            cursor.execute(f"SET lock_timeout = '{seconds}s'")  # an int from click.IntRange
        dbapi_connection.commit()


def _why(exc: OperationalError | ProgrammingError, lock_timeout: int) -> str:
    """Say in French why the database did not let the archive be read."""
    state = getattr(exc.orig, "sqlstate", None)
    if state == "55P03":  # lock_not_available: the lock_timeout above ran out
        return f"la base est occupée (un verrou est tenu depuis plus de {lock_timeout} s par une autre opération) ; relancez-la plus tard"
    if state == "57014":  # query_canceled: a statement_timeout set on the server
        return "la base a interrompu la lecture (délai dépassé) ; relancez-la plus tard"
    if isinstance(exc, ProgrammingError):  # no such table
        return "base de données absente ou pas à jour : lancez d'abord « webforms upgrade »"
    return "base de données injoignable"


def _unverified(reason: str) -> NoReturn:
    """Say that the archive was not verified, and why, then exit with ``EXIT_UNVERIFIED``."""
    click.echo(f"L'archive n'a pas pu être vérifiée : {reason}. Aucun verdict n'est rendu.", err=True)
    sys.exit(EXIT_UNVERIFIED)


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
    if report.head is not None:
        number, digest = report.head.split(":", 1)
        click.echo(f"Tête du journal : ligne {number}, empreinte {digest[:32]}… (gardez ce rapport hors du serveur).")
    for note in report.notes:  # a key or an anchor in the data directory, a journal not yet anchored
        click.echo(note)
