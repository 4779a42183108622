"""``worker``: run the queue's jobs (renders, dossiers, exports) until stopped (webforms.jobs)."""

from __future__ import annotations

import os
import socket
import sys

import click

from webforms import db, jobs
from webforms.commands.app import command_app


@click.command()
@click.option("--processus", "processes", type=click.IntRange(1, 64), default=1, show_default=True, help="Nombre de processus de travail (un par cœur disponible pour les rendus).")
def worker(processes: int) -> None:
    """Exécuter les travaux en file (rendus, dossiers, exports) jusqu'à l'arrêt (Ctrl-C)."""
    if processes > 1:
        sys.exit(jobs.run_processes(processes, [sys.executable, "-m", "webforms", "worker"]))
    app = command_app()
    os.nice(int(app.config["QUEUE_NICE"]))
    try:
        jobs.run_worker(app, name=f"{socket.gethostname()}-{os.getpid()}")
    except db.DatabaseUnavailable as exc:
        raise click.ClickException(str(exc)) from None
