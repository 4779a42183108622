"""``kinds``, ``example``, ``validate``: the catalogue of document kinds alone (no renderer, no database)."""

from __future__ import annotations

import datetime as dt
import errno
import importlib
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any, NoReturn

import click
from marshmallow import ValidationError

from schemas import UnknownKind, get_kind, registry
from schemas.base.kind import Kind
from schemas.base.records import AppelSchema
from webforms.candidatures.grille import load_grille
from webforms.errors import merge_errors
from webforms.timeutil import paris_instant


def kind_named(name: str) -> Kind:
    """Return the kind ``name``; a French error listing the kinds when there is none."""
    try:
        return get_kind(name)
    except UnknownKind as exc:
        raise click.ClickException(f"{exc} Types disponibles : {', '.join(registry())}.") from None


def read_payload(path: str) -> Any:
    """Read the JSON of ``path`` (``-`` for standard input); exit 1 with the errors if it is not JSON."""
    try:
        text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = os_reason(exc) if isinstance(exc, OSError) else "le fichier n'est pas en UTF-8"
        raise click.ClickException(f"Lecture impossible de « {path} » : {reason}.") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        fail({"_schema": [f"JSON invalide (ligne {exc.lineno}, colonne {exc.colno}) : {exc.msg}."]})
    except RecursionError:
        # Tens of thousands of nested [ or { exhaust the parser's stack: no document is that deep.
        fail({"_schema": ["JSON invalide : imbrication trop profonde (des milliers de [ ou { les uns dans les autres)."]})
    except ValueError:
        # Python refuses to read an integer of more than 4300 digits (CVE-2020-10735), a
        # ValueError that is not a JSONDecodeError; no field of any kind takes such a number.
        fail({"_schema": [f"JSON invalide : un nombre dépasse {sys.get_int_max_str_digits()} chiffres."]})


def fail(errors: Any) -> NoReturn:
    """Print ``{"errors": …}`` on stdout and exit 1 (the contract of ``validate`` and ``render``)."""
    click.echo(json.dumps({"errors": errors}, ensure_ascii=False, indent=2, default=str))
    sys.exit(1)


def validated(kind: Kind, payload: Any) -> dict[str, Any]:
    """Return ``payload`` loaded by ``kind``'s schema; exit 1 with its errors if it is invalid."""
    if not isinstance(payload, dict):
        fail({"_schema": ["Données invalides : un objet JSON est attendu."]})
    errors = kind.validate(payload)
    if errors:
        fail(errors)
    return kind.load(payload)


def os_reason(exc: OSError) -> str:
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


@click.command()
def kinds() -> None:
    """Lister les types de document : nom<TAB>titre."""
    for kind in registry().values():
        click.echo(f"{kind.name}\t{kind.title}")


@click.command()
@click.argument("kind_name", metavar="KIND")
def example(kind_name: str) -> None:
    """Afficher un exemple complet et valide du type KIND (JSON)."""
    click.echo(json.dumps(dict(kind_named(kind_name).example), ensure_ascii=False, indent=2))


def call_values(ref: str) -> dict[str, Any]:
    """The values of a call: a JSON file (as ``webforms/data/appel_aml_2019.json``), else a call of the database by id or code."""
    if not Path(ref).is_file():
        # Only for a call of the database: the application and its database load then, the way
        # webforms.cli loads a command's module (COMMANDS); a file needs the catalogue alone.
        database: Any = importlib.import_module("webforms.commands.appel")
        return database.call_from_database(ref)  # type: ignore[no-any-return]
    payload = read_payload(ref)
    payload = payload if isinstance(payload, dict) else {}
    values: dict[str, Any] = {}
    errors: dict[str, Any] = {}
    try:
        values = AppelSchema().dump(AppelSchema().load({k: v for k, v in payload.items() if k != "grille"}))
    except ValidationError as exc:
        errors = dict(exc.normalized_messages())
    if "grille" in payload:
        # The call's evaluation grid (AML §6c), when the file has one, is checked by its own schema.
        try:
            values["grille"] = load_grille(payload["grille"])
        except ValidationError as exc:
            errors["grille"] = exc.normalized_messages()
    if errors:
        click.echo(f"L'appel « {ref} » est invalide.", err=True)
        fail({"appel": errors})
    return values


def call_errors(kind: Kind, call: Mapping[str, Any], payload: Any) -> dict[str, Any]:
    """What the call forbids in ``payload`` besides the kind's own rules (caps per territory, amount, AML §1, §5)."""
    if kind.call is None:
        raise click.ClickException(f"Le type {kind.name} ne répond à aucun appel : --appel ne s'applique pas.")
    return kind.call.errors(call, payload) if isinstance(payload, dict) else {}


@click.command()
@click.argument("kind_name", metavar="KIND")
@click.argument("file", metavar="FILE")
@click.option("--appel", "appel", metavar="CALL", help="Appliquer aussi les règles d'un appel : son fichier JSON, ou son identifiant ou code en base.")
def validate(kind_name: str, file: str, appel: str | None) -> None:
    """Valider FILE (JSON, ou - pour l'entrée standard) : code 0 si valide, 1 sinon."""
    kind = kind_named(kind_name)
    payload = read_payload(file)
    if appel is not None:
        call = call_values(appel)
        errors = merge_errors(kind.validate(payload) if isinstance(payload, dict) else {}, call_errors(kind, call, payload))
        if errors:
            fail(errors)
        # Validating is not depositing: a passed deadline does not make the data invalid, but is told (AML §6d).
        day = dt.date.fromisoformat(str(call["date_limite"]))
        if dt.datetime.now(dt.UTC) >= paris_instant(day, call["heure_limite"]):
            click.echo(f"Attention : la date limite de dépôt de l'appel est passée ({day:%d/%m/%Y} à {call['heure_limite']}, heure de Paris).", err=True)
    validated(kind, payload)
    click.echo("Document valide.", err=True)
