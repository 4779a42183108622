"""Household data is readable by the service's account only: 0700 folders, 0600 files (0400 write-once) (issue 15)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

from flask import Flask

from tests.conftest import pdf_titled
from tests.databases import Databases
from tests.test_archive_web import deposit, exported, people, record_id_from  # noqa: F401 (people: a fixture)
from tests.test_web import doc_id_from, example_form, submitted
from webforms import create_app


def modes_under(root: Path) -> dict[str, int]:
    """Every folder and file under ``root`` (itself included) with its permission bits."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for folder, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            path = Path(folder) / name
            found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def test_everything_under_the_instance_is_private_after_a_submission_an_archive_and_an_export(app: Flask, people: dict[str, Any]) -> None:  # noqa: F811
    writer, archivist = people["writer"], people["archivist"]
    doc_id = submitted(writer, "fiche_saisine")
    draft = doc_id_from(writer.post("/documents/nouveau/fiche_incident", example_form("fiche_incident")))
    assert writer.preview(f"/documents/{draft}/telecharger/pdf").status_code == 200
    record_id = record_id_from(deposit(archivist, doc_id, pdf_titled("copie signée")))
    exported(archivist, {"format": "bagit", "record": [str(record_id)]})
    instance = Path(app.instance_path)
    modes = modes_under(instance)
    stored = [p for p in modes if p.startswith(("files/", "archive/files/")) and (instance / p).is_file()]
    assert len(stored) >= 5 and any(p.startswith("archive/files/") for p in stored)
    assert any(p.startswith("exports/") for p in modes) and "archive/journal.sha512" in modes
    # Write-once files stay visibly read-only (0400); every other file 0600; every folder 0700.
    wrong = {
        path: oct(mode)
        for path, mode in modes.items()
        if mode != (0o700 if (instance / path).is_dir() else 0o400 if path in stored else 0o600)
    }
    assert wrong == {}


def test_a_file_stored_by_any_process_is_private_whatever_the_umask_before(app: Flask, tmp_path: Path) -> None:
    # The store does not rely on the process's umask alone: a command run from a shell (022)
    # before the factory set its own still writes private files.
    previous = os.umask(0o022)
    try:
        digest = app.extensions["webforms.services"].store.put(b"donnees d'un menage")
        path = app.extensions["webforms.services"].store.path(digest)
        assert stat.S_IMODE(path.stat().st_mode) == 0o400
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    finally:
        os.umask(previous)


def test_the_factory_sets_a_private_umask_and_closes_folders_made_before(tmp_path: Path, databases: Databases) -> None:
    instance = tmp_path / "instance"
    (instance / "files" / "ab").mkdir(mode=0o755, parents=True)
    for folder in (instance, instance / "files"):
        folder.chmod(0o755)
    previous = os.umask(0o022)
    try:
        made = create_app({"TESTING": True, "INSTANCE_PATH": str(instance), "DATABASE_URL": databases.fresh(), "SECRET_KEY": "t"})
        made.extensions["webforms.engine"].dispose()
        assert os.umask(0o022) == 0o077
    finally:
        os.umask(previous)
    assert stat.S_IMODE(instance.stat().st_mode) == 0o711  # o+x kept, r taken away
    assert stat.S_IMODE((instance / "files").stat().st_mode) == 0o700


def test_every_command_runs_with_the_private_umask(tmp_path: Path) -> None:
    # A command that loads no application (render, example…) still writes private files.
    script = "import os, sys\nfrom webforms import cli\nsys.argv = ['webforms', 'kinds']\ntry:\n    cli.main()\nexcept SystemExit:\n    pass\nprint(oct(os.umask(0)))"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=os.environ | {"PYTHONIOENCODING": "utf-8"})
    assert done.stdout.strip().splitlines()[-1] == "0o77", done.stderr
