"""The ``webforms`` command line: the same services as the web pages.

Contract (relied on by other tools): ``kinds``, ``example``, ``validate``, ``render`` and
``check-templates`` print on stdout and exit 0 on success, 1 on invalid data or templates.

Each command lives in a module of ``webforms.commands``, imported only when that command runs
(``COMMANDS`` below): ``kinds``, ``example`` and ``validate`` load the catalogue alone, ``render``
adds the renderer (and WeasyPrint for a PDF only), and only the commands that use the database
load Flask, SQLAlchemy and the services. Adding a command is one module and one line of
``COMMANDS``.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

import click

from schemas import KindDeclarationError, registry

# Command name → "module:attribute" of its click command (or group), imported when it runs.
COMMANDS = {
    "kinds": "webforms.commands.catalogue:kinds",
    "example": "webforms.commands.catalogue:example",
    "validate": "webforms.commands.catalogue:validate",
    "render": "webforms.commands.render:render",
    "check-templates": "webforms.commands.templates:check_templates_cmd",
    "verify-zip": "webforms.commands.dossier:verify_zip_cmd",
    "upgrade": "webforms.commands.database:upgrade",
    "init-db": "webforms.commands.database:upgrade",
    "create-org": "webforms.commands.accounts:create_org",
    "create-user": "webforms.commands.accounts:create_user_cmd",
    "ensure-admin": "webforms.commands.accounts:ensure_admin_cmd",
    "account": "webforms.commands.accounts:account",
    "archive": "webforms.commands.archive:archive",
    "worker": "webforms.commands.worker:worker",
    "api-token": "webforms.commands.api:api_token",
    "openapi": "webforms.commands.api:openapi",
    "purge": "webforms.commands.purge:purge_cmd",
    "fichiers": "webforms.commands.fichiers:fichiers",
    "territories": "webforms.commands.territories:territories_group",
    "grille": "webforms.commands.appel:grille_cmd",
    "courriels": "webforms.commands.courriels:courriels",
}


class LazyGroup(click.Group):
    """A click group whose commands are imported when one runs (click's "Lazily Loading Subcommands")."""

    def __init__(self, *args: Any, lazy_commands: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = lazy_commands

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.lazy_commands:
            return super().get_command(ctx, cmd_name)
        module, _, attribute = self.lazy_commands[cmd_name].partition(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy_commands[cmd_name]} n'est pas une commande click.")
        return command


@click.group(cls=LazyGroup, lazy_commands=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Formulaires et documents AML Logement d'abord et ASLL."""
    # What any command writes is its account's only (factory.PRIVATE_UMASK, not imported: the
    # light commands do not load the application).
    os.umask(0o077)
    try:
        registry()
    except KindDeclarationError as exc:
        raise click.ClickException(f"Catalogue invalide : {exc}") from None


if __name__ == "__main__":  # pragma: no cover
    main()
