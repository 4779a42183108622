"""``courriels retours``: read the bounces (delivery status notifications) the relay mailed back."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

from webforms import db
from webforms.commands.app import command_app
from webforms.notifications import bounces


@click.group("courriels")
def courriels() -> None:
    """Courriels du service : lire les avis de non-remise renvoyés par le relais."""


@courriels.command("retours")
@click.argument("boite", type=click.Path(path_type=Path))
def retours(boite: Path) -> None:
    """Lire les avis de non-remise (RFC 3464) d'un dossier Maildir ou d'un fichier mbox, sans le modifier."""
    with command_app().app_context():
        try:
            outcome = bounces.record(db.session(), bounces.read_mailbox(boite), now=dt.datetime.now(dt.UTC))
        except OSError as exc:  # missing, unreadable: nothing was recorded (one commit, at the end)
            raise click.ClickException(f"Boîte aux lettres illisible : {exc}") from None
    for adresse in outcome.non_remis:
        click.echo(f"Non remis : {adresse}")
    click.echo(f"Messages lus : {outcome.lus} ; courriels non remis : {len(outcome.non_remis)} ; "
               f"retards (le relais réessaie, sans effet) : {outcome.retards} ; ignorés : {outcome.ignores}.")
