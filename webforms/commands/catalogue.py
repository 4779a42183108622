"""``kinds``, ``example``, ``validate``: the catalogue of document kinds alone (no renderer, no database)."""

from __future__ import annotations

import errno
import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from schemas import UnknownKind, get_kind, registry
from schemas.base.kind import Kind


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


@click.command()
@click.argument("kind_name", metavar="KIND")
@click.argument("file", metavar="FILE")
def validate(kind_name: str, file: str) -> None:
    """Valider FILE (JSON, ou - pour l'entrée standard) : code 0 si valide, 1 sinon."""
    validated(kind_named(kind_name), read_payload(file))
    click.echo("Document valide.", err=True)
