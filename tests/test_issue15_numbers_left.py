"""Numbers read outside the one helper (issue 15: "every number … is parsed by one helper"), found by the h22 audit.

``str.isdigit()`` is true for "١" (Arabic-Indic) and "²", and ``int()`` of more than 4,300
digits raises: a call named "١" on the command line was call n° 1, a hostile witness line of
5,000 digits made ``archive verify`` end on a traceback without its verdict.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from flask import Flask

from tests.test_archive import _problems, three_deposits, world  # noqa: F401 (fixtures)
from tests.test_grille_admin import CODE, sealed, stored
from webforms.candidatures.grille import grille_aml_2019
from webforms.commands.appel import grille_cmd


def test_a_witness_line_with_a_huge_or_non_ascii_number_is_named_not_a_traceback(app: Flask, three_deposits: list[int]) -> None:  # noqa: F811
    journal = app.extensions["webforms.archive"].archive.journal
    journal.chmod(0o600)
    lines = journal.read_text()
    journal.write_text(lines + "9" * 5000 + " abc\n" + "١ abc\n")
    problems = _problems(app)
    assert problems == [f"Témoin du journal : ligne illisible « {'9' * 40} ».", "Témoin du journal : ligne illisible « ١ abc »."]
    journal.write_text(lines)  # the other side: the witness as written
    assert _problems(app) == []


def test_the_command_line_reads_a_calls_number_as_the_requests_do(app: Flask, tmp_path: Path) -> None:
    appel_id, before = stored(app)
    source = tmp_path / "grille.json"
    source.write_text(json.dumps(grille_aml_2019(), ensure_ascii=False), encoding="utf-8")
    env: dict[str, Any] = {"WEBFORMS_INSTANCE_PATH": app.instance_path, "DATABASE_URL": app.config["DATABASE_URL"]}
    runner = CliRunner()
    for ref in ("١" * len(str(appel_id)), "9" * 18):  # "١" was read as 1; 18 digits overflowed the database's integer
        refused = runner.invoke(grille_cmd, [ref, str(source)], env=env)
        assert refused.exit_code == 1 and f"Appel « {ref} » introuvable" in refused.output, refused.output
    assert stored(app)[1] == before and sealed(app) == []
    # The other side: its number in ASCII digits, and its code, are found.
    assert runner.invoke(grille_cmd, [str(appel_id), str(source)], env=env).exit_code == 0
    assert runner.invoke(grille_cmd, [CODE, str(source)], env=env).exit_code == 0
