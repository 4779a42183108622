"""``render``: the renderer and the catalogue, without the web application or its database.

WeasyPrint is loaded only when a PDF is printed (``Renderer.printer``): ``render --format docx``
and ``check-templates`` do without it.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import click

from schemas import DOCX_DIR, HTML_DIR
from webforms.commands.catalogue import kind_named, os_reason, read_payload, validated
from webforms.rendering import Renderer
from webforms.rendering.context import DocumentMeta, build_context
from webforms.rendering.diagnose import TemplateFailure
from webforms.rendering.identity import identity_from


def instance_renderer() -> Renderer:
    """Return the renderer the web application builds (``web.init_services``), without building the application.

    The instance's override directories come first (docs/word-templates.md), found as the
    application finds them: ``WEBFORMS_DOCX_OVERRIDE_DIR`` and ``WEBFORMS_HTML_OVERRIDE_DIR``,
    else ``templates_docx`` and ``templates_html`` of the instance folder
    (``WEBFORMS_INSTANCE_PATH``, else ``instance`` in the current folder).
    """
    instance = Path(os.environ.get("WEBFORMS_INSTANCE_PATH") or Path.cwd() / "instance")
    docx = os.environ.get("WEBFORMS_DOCX_OVERRIDE_DIR") or instance / "templates_docx"
    html = os.environ.get("WEBFORMS_HTML_OVERRIDE_DIR") or instance / "templates_html"
    identity = identity_from(*(os.environ.get(f"WEBFORMS_DEPARTEMENT_{key}") for key in ("NOM", "ADRESSE", "LOGO")))
    return Renderer(docx_dirs=[Path(docx), DOCX_DIR], html_dirs=[Path(html), HTML_DIR], identity=identity)


@click.command()
@click.argument("kind_name", metavar="KIND")
@click.argument("file", metavar="FILE")
@click.option("--format", "fmt", type=click.Choice(["docx", "pdf"]), required=True, help="Format produit.")
@click.option("--output", "output", type=click.Path(path_type=Path), required=True, help="Fichier à écrire.")
@click.option("--brouillon", is_flag=True, help="Marquer le document comme brouillon.")
def render(kind_name: str, file: str, fmt: str, output: Path, brouillon: bool) -> None:
    """Produire le DOCX ou le PDF de FILE ; rien n'est écrit si les données sont invalides."""
    kind = kind_named(kind_name)
    data = validated(kind, read_payload(file))
    directory = _output_dir(output)  # before rendering: a wrong path is said at once
    meta = DocumentMeta(issued_at=dt.datetime.now(dt.UTC), draft=brouillon)
    try:
        content = instance_renderer().render(kind.output(fmt), build_context(kind, data, meta))
    except TemplateFailure as exc:  # the template, its place and the variable, in French (issue 18)
        raise click.ClickException(str(exc)) from None
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
        raise click.ClickException(f"Écriture impossible de « {output} » : {os_reason(exc)}.") from None
    click.echo(f"{output} écrit ({len(content)} octets).", err=True)


def _output_dir(output: Path) -> Path:
    """Return the folder ``output`` is written in; a French error if it cannot hold the file."""
    directory = output.resolve().parent
    if not directory.is_dir():
        raise click.ClickException(f"Écriture impossible de « {output} » : le dossier « {directory} » n'existe pas.")
    if output.is_dir():
        raise click.ClickException(f"Écriture impossible de « {output} » : c'est un dossier.")
    return directory

