"""The web application, for the commands that use the database."""

from __future__ import annotations

import click
from flask import Flask

from webforms import create_app, db


def command_app() -> Flask:
    """Build the web application for a command; its database connections close when the command ends."""
    try:
        app = create_app()
    except db.DatabaseUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    # The command's database connections are closed when it ends, not left to the collector.
    click.get_current_context().call_on_close(app.extensions["webforms.engine"].dispose)
    return app

