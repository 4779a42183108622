"""A module's world: an app on a database of its own, built once, put back as built before each test.

Building a world (documents submitted and rendered, a dossier deposited and judged recevable, an
archive record...) costs seconds; putting its rows and files back costs milliseconds
(``Databases.restore``). The permission matrices build theirs once per module.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from flask import Flask

from tests.conftest import Clock
from tests.databases import Databases
from webforms.factory import create_app

# The folders of an app a request may write to, put back with the database.
FOLDERS = ("STORAGE_DIR", "ARCHIVE_DIR", "ARCHIVE_TRUST_DIR")


def module_app(databases: Databases, root: Path, clock: Clock) -> Flask:
    """An app on a new copy of the migrated database, its instance under ``root``."""
    return create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(root / "instance"),
            "DATABASE_URL": databases.copy(),
            "STORAGE_DIR": str(root / "files"),
            "SECRET_KEY": "tests-only-secret",
            "CLOCK": clock,
        }
    )


class Pristine:
    """The rows and files of ``app`` as built, kept once and put back on demand."""

    def __init__(self, app: Flask, databases: Databases, root: Path) -> None:
        self.app, self.databases, self.root = app, databases, root

    @property
    def _database(self) -> str:
        return str(self.app.config["DATABASE_URL"])

    def keep(self) -> None:
        """Save the database's rows and copy the app's folders, as they are now."""
        self.app.extensions["webforms.engine"].dispose()
        self.databases.save(self._database)
        for key in FOLDERS:
            Path(self.app.config[key]).mkdir(parents=True, exist_ok=True)  # a folder not written to yet
            shutil.copytree(self.app.config[key], self.root / f"pristine-{key.lower()}")

    def restore(self) -> None:
        """Put back the database and the folders as kept."""
        self.app.extensions["webforms.engine"].dispose()
        self.databases.restore(self._database)
        for key in FOLDERS:
            shutil.rmtree(self.app.config[key], ignore_errors=True)
            shutil.copytree(self.root / f"pristine-{key.lower()}", self.app.config[key])
        # The versions of templates in force are kept a moment by the renderer: read them again.
        self.app.extensions["webforms.services"].renderer.in_force.forget()
