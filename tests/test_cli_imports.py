"""The command line stays light: each command imports only what it uses (issue 11, point 6).

Each command runs in a fresh interpreter with ``-X importtime``, which names every module the
process imports; how long they take is measured in bench/cli_bench.py, never here.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from schemas import get_kind
from webforms import create_app
from webforms.commands.render import instance_renderer
from webforms.web import services_of

ENV = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"PYTHONIOENCODING": "utf-8"}
# The database and the web application, which no document command needs.
DATABASE = frozenset({"sqlalchemy", "alembic", "flask_sqlalchemy", "psycopg", "flask"})
# Signature checks, PDF assembly, archive manifests: the archive's and the dossier's libraries.
ARCHIVE = frozenset({"pyhanko", "pyhanko_certvalidator", "pikepdf", "pypdf"})
WEASYPRINT = frozenset({"weasyprint"})


def imported(*args: str, cwd: Path) -> set[str]:
    """Run ``python -m webforms ARGS`` in a fresh interpreter; return the top-level packages it imported."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "webforms", *args],
        capture_output=True, text=True, env=ENV, cwd=cwd, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    names = set()
    for line in result.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            names.add(line.rsplit("|", 1)[1].strip().split(".")[0])
    assert "webforms" in names  # the probe reads the report it should
    return names


@pytest.fixture
def example(tmp_path: Path) -> Path:
    path = tmp_path / "exemple.json"
    path.write_text(json.dumps(dict(get_kind("fiche_incident").example), ensure_ascii=False))
    return path


@pytest.mark.parametrize(
    "args",
    [
        ("kinds",),
        ("example", "fiche_incident"),
        ("validate", "fiche_incident", "exemple.json"),
        ("render", "fiche_incident", "exemple.json", "--format", "docx", "--output", "out.docx"),
    ],
    ids=["kinds", "example", "validate", "render-docx"],
)
def test_a_document_command_loads_neither_the_database_nor_weasyprint(args: tuple[str, ...], example: Path) -> None:
    names = imported(*args, cwd=example.parent)
    assert names & (DATABASE | ARCHIVE | WEASYPRINT) == set()
    assert ("docxtpl" in names) == (args[0] == "render")  # the renderer comes with render only


def test_render_pdf_loads_weasyprint_but_not_the_database(example: Path) -> None:
    names = imported("render", "fiche_incident", "exemple.json", "--format", "pdf", "--output", "out.pdf", cwd=example.parent)
    assert "weasyprint" in names
    assert names & (DATABASE | ARCHIVE) == set()


def test_a_database_command_loads_the_application(tmp_path: Path) -> None:
    # The other side of the edge: the probe does see the database where a command needs it.
    names = imported("upgrade", "--help", cwd=tmp_path)
    assert {"sqlalchemy", "flask"} <= names


@pytest.mark.parametrize("configured", [False, True], ids=["instance-in-cwd", "environment"])
def test_render_reads_the_templates_the_application_reads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, configured: bool) -> None:
    # render builds its renderer without the application: it must find the administrator's
    # override directories where the application does (docs/word-templates.md).
    monkeypatch.chdir(tmp_path)
    for name in ("INSTANCE_PATH", "DOCX_OVERRIDE_DIR", "HTML_OVERRIDE_DIR"):
        monkeypatch.delenv(f"WEBFORMS_{name}", raising=False)
    if configured:
        monkeypatch.setenv("WEBFORMS_INSTANCE_PATH", str(tmp_path / "ailleurs"))
        monkeypatch.setenv("WEBFORMS_DOCX_OVERRIDE_DIR", str(tmp_path / "mes_modeles_word"))
    app = create_app({"DATABASE_URL": "postgresql+psycopg://personne@/aucune?host=/nulle-part"})
    expected = services_of(app).documents.renderer
    renderer = instance_renderer()
    assert (renderer.docx_dirs, renderer.html_dirs) == (expected.docx_dirs, expected.html_dirs)
    assert renderer.docx_dirs[0] == tmp_path / ("mes_modeles_word" if configured else "instance/templates_docx")
    assert renderer.html_dirs[0] == tmp_path / ("ailleurs" if configured else "instance") / "templates_html"
