"""The ``webforms`` command line: the same services as the web pages.

Contract (relied on by other tools): ``kinds``, ``example``, ``validate``, ``render`` and
``check-templates`` print on stdout and exit 0 on success, 1 on invalid data or templates.
"""

from __future__ import annotations

import datetime as dt
import errno
import json
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from flask import Flask
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError

from schemas import KindDeclarationError, UnknownKind, get_kind, registry
from webforms import create_app, db, jobs
from webforms.accounts.services import AccountError, create_organisation, create_user, ensure_admin, generate_password
from webforms.archive.verify import record_verification
from webforms.archive.verify import verify as archive_verify_all
from webforms.models import Organisation

if TYPE_CHECKING:
    from webforms.web import AppServices


def _kind(name: str) -> Any:
    try:
        return get_kind(name)
    except UnknownKind as exc:
        raise click.ClickException(f"{exc} Types disponibles : {', '.join(registry())}.") from None


def _read_payload(path: str) -> Any:
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = _os_reason(exc) if isinstance(exc, OSError) else "le fichier n'est pas en UTF-8"
        raise click.ClickException(f"Lecture impossible de « {path} » : {reason}.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        _fail({"_schema": [f"JSON invalide (ligne {exc.lineno}, colonne {exc.colno}) : {exc.msg}."]})


def _fail(errors: Any) -> None:
    click.echo(json.dumps({"errors": errors}, ensure_ascii=False, indent=2, default=str))
    sys.exit(1)


def _validated(kind: Any, payload: Any) -> dict[str, Any]:
    if not isinstance(payload, dict):
        _fail({"_schema": ["Données invalides : un objet JSON est attendu."]})
    errors = kind.validate(payload)
    if errors:
        _fail(errors)
    return kind.load(payload)


def _app() -> Flask:
    """Build the web application, for the commands that need its database or services."""
    try:
        app = create_app()
    except db.DatabaseUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    # The command's database connections are closed when it ends, not left to the collector.
    click.get_current_context().call_on_close(app.extensions["webforms.engine"].dispose)
    return app


def _services(app: Flask) -> AppServices:
    """Return the app's services (``webforms.web.AppServices``)."""
    # Deferred for startup speed: webforms.web imports WeasyPrint and pyHanko, which the light
    # commands (kinds, example, validate) do without.
    from webforms.web import services_of

    return services_of(app)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Formulaires et documents AML Logement d'abord et ASLL."""
    try:
        registry()
    except KindDeclarationError as exc:
        raise click.ClickException(f"Catalogue invalide : {exc}") from None


@main.command()
def kinds() -> None:
    """Lister les types de document : nom<TAB>titre."""
    for kind in registry().values():
        click.echo(f"{kind.name}\t{kind.title}")


@main.command()
@click.argument("kind_name", metavar="KIND")
def example(kind_name: str) -> None:
    """Afficher un exemple complet et valide du type KIND (JSON)."""
    click.echo(json.dumps(dict(_kind(kind_name).example), ensure_ascii=False, indent=2))


@main.command()
@click.argument("kind_name", metavar="KIND")
@click.argument("file", metavar="FILE")
def validate(kind_name: str, file: str) -> None:
    """Valider FILE (JSON, ou - pour l'entrée standard) : code 0 si valide, 1 sinon."""
    kind = _kind(kind_name)
    _validated(kind, _read_payload(file))
    click.echo("Document valide.", err=True)


@main.command()
@click.argument("kind_name", metavar="KIND")
@click.argument("file", metavar="FILE")
@click.option("--format", "fmt", type=click.Choice(["docx", "pdf"]), required=True, help="Format produit.")
@click.option("--output", "output", type=click.Path(path_type=Path), required=True, help="Fichier à écrire.")
@click.option("--brouillon", is_flag=True, help="Marquer le document comme brouillon.")
def render(kind_name: str, file: str, fmt: str, output: Path, brouillon: bool) -> None:
    """Produire le DOCX ou le PDF de FILE ; rien n'est écrit si les données sont invalides."""
    # Deferred for startup speed: webforms.rendering imports WeasyPrint.
    from webforms.rendering.context import DocumentMeta, build_context

    kind = _kind(kind_name)
    data = _validated(kind, _read_payload(file))
    directory = _output_dir(output)  # before rendering: a wrong path is said at once
    renderer = _services(_app()).documents.renderer
    meta = DocumentMeta(issued_at=dt.datetime.now(dt.UTC), draft=brouillon)
    content = renderer.render(kind.output(fmt), build_context(kind, data, meta))
    # Written beside the target then renamed: OUT is whole or absent, never half-written.
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=".webforms-")
        with os.fdopen(fd, "wb") as out:
            out.write(content)
        os.replace(tmp, output)
    except OSError as exc:
        if tmp is not None:
            Path(tmp).unlink(missing_ok=True)
        raise click.ClickException(f"Écriture impossible de « {output} » : {_os_reason(exc)}.") from None
    click.echo(f"{output} écrit ({len(content)} octets).", err=True)


def _output_dir(output: Path) -> Path:
    """Return the folder ``output`` is written in; a French error if it cannot hold the file."""
    directory = output.resolve().parent
    if not directory.is_dir():
        raise click.ClickException(f"Écriture impossible de « {output} » : le dossier « {directory} » n'existe pas.")
    if output.is_dir():
        raise click.ClickException(f"Écriture impossible de « {output} » : c'est un dossier.")
    return directory


def _os_reason(exc: OSError) -> str:
    """Say in French why the system refused a read or a write (its own message is English)."""
    reasons = {
        errno.ENOENT: "fichier ou dossier introuvable",
        errno.ENOTDIR: "un élément du chemin n'est pas un dossier",
        errno.EISDIR: "c'est un dossier",
        errno.EACCES: "accès refusé",
        errno.EPERM: "opération non permise",
        errno.ENOSPC: "plus de place sur le disque",
        errno.EROFS: "système de fichiers en lecture seule",
    }
    return reasons.get(exc.errno or 0, f"erreur système n° {exc.errno}")


@main.command("check-templates")
def check_templates_cmd() -> None:
    """Vérifier que chaque modèle n'utilise que des variables fournies par son type."""
    # Deferred for startup speed: webforms.rendering imports WeasyPrint.
    from webforms.rendering.checks import check_templates

    problems = check_templates(_services(_app()).documents.renderer)
    for line in problems:
        click.echo(line)
    if problems:
        sys.exit(1)
    click.echo(f"Modèles conformes ({len(registry())} types de document).")


@main.command("verify-zip")
@click.argument("file", metavar="FICHIER.zip")
def verify_zip_cmd(file: str) -> None:
    """Vérifier une archive de dossier contre son manifest.json (empreintes SHA-256, tailles) ; rien n'est extrait."""
    # Deferred for startup speed: the dossier module imports pypdf and the rendering (WeasyPrint).
    from webforms.candidatures.dossier import verify_zip

    problems = verify_zip(file)
    for line in problems:
        click.echo(line)
    if problems:
        sys.exit(1)
    click.echo("Archive intacte : chaque fichier correspond à son empreinte dans le manifeste.")


@main.command()
def upgrade() -> None:
    """Créer ou mettre à jour la base de données (migrations Alembic)."""
    app = _app()
    try:
        db.ensure_started(app)
    except db.DatabaseUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    db.upgrade(app.config["DATABASE_URL"])
    click.echo("Base de données à jour.", err=True)


main.add_command(upgrade, "init-db")


@main.command("create-org")
@click.argument("name")
def create_org(name: str) -> None:
    """Créer une organisation."""
    with _app().app_context():
        try:
            org = create_organisation(db.session(), name)
        except AccountError as exc:
            raise click.ClickException(str(exc)) from None
        click.echo(f"Organisation créée : {org.name} (n° {org.id}).")


@main.command("create-user")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True, help="Nom complet.")
@click.option("--role", required=True, help="redacteur, coordinateur, instructeur, archiviste ou admin.")
@click.option("--organisation", required=True, help="Nom de l'organisation (créée si absente).")
@click.option("--password", envvar="WEBFORMS_NEW_PASSWORD", default=None, help="Sinon un mot de passe est généré et affiché une fois.")
def create_user_cmd(email: str, full_name: str, role: str, organisation: str, password: str | None) -> None:
    """Créer un compte utilisateur."""
    with _app().app_context():
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


@main.command("ensure-admin")
def ensure_admin_cmd() -> None:
    """Créer le premier administrateur s'il n'existe pas, et afficher ses identifiants une fois."""
    with _app().app_context():
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


@main.group()
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
    app = _app()
    with app.app_context():
        session = db.session()
        services = _services(app).archive
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


def _print_verification(report: Any) -> None:
    """Print each anomaly of a verification, then its verdict and what was checked."""
    for line in report.problems:
        click.echo(line)
    verdict = "Archive intègre" if not report.problems else f"{len(report.problems)} anomalie{'s' if len(report.problems) > 1 else ''}"
    click.echo(
        f"{verdict} : {report.records} enregistrement{'s' if report.records != 1 else ''}, "
        f"{report.files_hashed} fichier{'s' if report.files_hashed != 1 else ''} recalculé{'s' if report.files_hashed != 1 else ''}, "
        f"{report.log_rows} ligne{'s' if report.log_rows != 1 else ''} de journal."
    )


if __name__ == "__main__":  # pragma: no cover
    main()


@main.command()
@click.option("--processus", "processes", type=click.IntRange(1, 64), default=1, show_default=True, help="Nombre de processus de travail (un par cœur disponible pour les rendus).")
def worker(processes: int) -> None:
    """Exécuter les travaux en file (rendus, dossiers, exports) jusqu'à l'arrêt (Ctrl-C)."""
    if processes > 1:
        sys.exit(jobs.run_processes(processes, [sys.executable, "-m", "webforms", "worker"]))
    app = _app()
    try:
        jobs.run_worker(app, name=f"{socket.gethostname()}-{os.getpid()}")
    except db.DatabaseUnavailable as exc:
        raise click.ClickException(str(exc)) from None
