"""A tamper-proof audit trail (issue 15): sealed rows, records sealed in their deposit row, the chain's head reported.

The intruder here has the database's superuser (triggers bypassed) and the data disk (the witness
file ``journal.sha512`` rewritten to match), but not the sealing key, which lives outside both.
"""

from __future__ import annotations

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import pdf_titled
from tests.test_archive import World, _problems, _tamper, jpeg_scan
from webforms import db
from webforms.archive.audit import RECORD_COLUMNS, log_access, record_digest, row_hash
from webforms.archive.seal import SealKeyError, load_seal_key, seal_holds
from webforms.archive.services import ArchiveError
from webforms.archive.verify import seal_trail, verify
from webforms.models import ArchiveLog, ArchiveRecord


@pytest.fixture
def world(app: Flask, login_as: Any) -> World:
    return World(app, login_as)


@pytest.fixture
def deposits(app: Flask, world: World, tmp_path: Path) -> list[int]:
    """Two deposits and a view: three sealed rows, verified clean."""
    with app.app_context():
        first = world.deposit(pdf_titled("un"), tmp=tmp_path)
        second = world.deposit(jpeg_scan(), "scan.jpg", motif="Scan en couleur", tmp=tmp_path)
        log_access(db.session(), world.services(), second, "view", user=world.user(world.archivist))
        assert verify(db.session(), world.services()).problems == []
        return [first.id, second.id]


def _rows(app: Flask) -> list[ArchiveLog]:
    with app.app_context():
        rows = list(db.session().scalars(select(ArchiveLog).order_by(ArchiveLog.id)))
        db.session().expunge_all()
        return rows


def _rewrite_chain_from(app: Flask, first: int, change: dict[int, dict[str, Any]]) -> None:
    """Recompute every hash from row ``first`` on, as an intruder with the database would, and rewrite the witness file to match."""
    rows = _rows(app)
    prev = rows[first - 2].hash if first > 1 else "0" * 128
    for row in rows[first - 1 :]:
        row.detail = {**row.detail, **change.get(row.id, {})}
        row.prev_hash = prev
        row.hash = row_hash(row)
        _tamper(app, "UPDATE archive_log SET detail = ?, prev_hash = ?, hash = ? WHERE id = ?", json.dumps(row.detail), row.prev_hash, row.hash, row.id)
        prev = row.hash
    journal = app.extensions["webforms.archive"].archive.journal
    journal.chmod(0o600)
    journal.write_text("".join(f"{r.id} {r.hash}\n" for r in rows))


# --- Sealing ----------------------------------------------------------------------------------
def test_every_row_is_sealed_with_a_key_kept_outside_the_database(app: Flask, deposits: list[int]) -> None:
    key_file = Path(app.config["ARCHIVE_SEAL_KEY_FILE"])
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    key = load_seal_key(key_file)
    rows = _rows(app)
    assert len(rows) == 3 and all(row.seal and seal_holds(key, row.id, row.hash, row.seal) for row in rows)
    # The seal depends on the key: another key does not make the same seals.
    assert not seal_holds(b"k" * 32, rows[0].id, rows[0].hash, rows[0].seal)


def test_a_record_rewritten_with_the_whole_chain_recomputed_is_caught_and_named(app: Flask, deposits: list[int]) -> None:
    record_id = deposits[0]
    with app.app_context():
        record = db.session().get(ArchiveRecord, record_id)
        values = {name: getattr(record, name) for name in RECORD_COLUMNS} | {"retention_years": 99}
    # The intruder changes the record, writes its new digest in its deposit row, recomputes the
    # whole chain after it and rewrites the witness file: hashes, links and witness all agree.
    _tamper(app, "UPDATE archive_record SET retention_years = 99 WHERE id = ?", record_id)
    _rewrite_chain_from(app, 1, {1: {"record_sha512": record_digest(values)}})
    problems = _problems(app)
    assert problems[0] == f"Journal, ligne 1 (enregistrement {record_id}) : sceau invalide, la ligne a été réécrite hors du service (ou la clé de scellement a changé)."
    assert [p for p in problems if "sceau invalide" in p] == [p for p in problems if p.startswith("Journal, ligne")] and len(problems) == 3


def test_removing_every_seal_after_a_rewrite_is_caught(app: Flask, deposits: list[int]) -> None:
    _rewrite_chain_from(app, 2, {2: {"motif": "autre"}})
    _tamper(app, "UPDATE archive_log SET seal = NULL")
    assert _problems(app) == ["Journal : aucune ligne n'est scellée ; après la mise à jour, lancez « webforms archive sceller » (docs/archive.md)."]


def test_unsealed_rows_pass_only_before_the_first_sealed_row(app: Flask, deposits: list[int]) -> None:
    # Rows written before sealing existed: the first sealed row vouches for them through the chain.
    _tamper(app, "UPDATE archive_log SET seal = NULL WHERE id < 3")
    assert _problems(app) == []
    # Rows without their seal after a sealed one were written outside the service (here row 1
    # carries a seal copied from another row, which does not hold for it either).
    _tamper(app, "UPDATE archive_log SET seal = (SELECT seal FROM archive_log WHERE id = 3) WHERE id = 1")
    _tamper(app, "UPDATE archive_log SET seal = NULL WHERE id = 3")
    assert _problems(app) == [
        f"Journal, ligne 1 (enregistrement {deposits[0]}) : sceau invalide, la ligne a été réécrite hors du service (ou la clé de scellement a changé).",
        "Journal, ligne 2 : non scellée (ajoutée ou réécrite hors du service ?).",
        "Journal, ligne 3 : non scellée (ajoutée ou réécrite hors du service ?).",
    ]


def test_a_changed_key_makes_every_seal_fail(app: Flask, deposits: list[int], tmp_path: Path) -> None:
    other = tmp_path / "autre_cle"
    other_key = load_seal_key(other)
    svc = app.extensions["webforms.archive"]
    app.extensions["webforms.archive"] = type(svc)(**{**svc.__dict__, "seal_key": other_key})
    assert [p.split(" : ")[1][:15] for p in _problems(app)] == ["sceau invalide,"] * 3


@pytest.mark.parametrize("content", ["", "pas de l'hexadécimal", "ab" * 8])
def test_an_unreadable_or_short_key_file_is_an_error_naming_it(tmp_path: Path, content: str) -> None:
    path = tmp_path / "cle"
    path.write_text(content)
    with pytest.raises(SealKeyError, match=str(path)):
        load_seal_key(path)


# --- Records sealed in their deposit row ------------------------------------------------------
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE archive_record SET signed_sha512 = (SELECT signed_sha512 FROM archive_record WHERE id = 2) WHERE id = 1",  # another signed file
        """UPDATE archive_record SET signature_check = '{"signed": true, "intact": true}' WHERE id = 1""",  # a falsified verdict
        "UPDATE archive_record SET organisation_id = (SELECT max(id) FROM organisation) WHERE id = 1",
        "UPDATE archive_record SET reference = 'FS-2019-999999' WHERE id = 1",
        "UPDATE archive_record SET retention_years = 1 WHERE id = 1",
    ],
)
def test_a_record_changed_after_its_deposit_is_named(app: Flask, deposits: list[int], statement: str) -> None:
    _tamper(app, statement)
    problems = _problems(app)
    assert any(p.startswith("Enregistrement 1 (") and p.endswith("contenu modifié depuis son dépôt (il ne correspond plus à l'empreinte scellée au journal).") for p in problems), problems


def test_a_record_inserted_without_its_deposit_row_is_named(app: Flask, deposits: list[int]) -> None:
    columns = [c for c in RECORD_COLUMNS if c not in ("id", "supersedes_id")]
    _tamper(app, f"INSERT INTO archive_record (id, {', '.join(columns)}) SELECT 77, {', '.join(columns)} FROM archive_record WHERE id = 1")
    problems = _problems(app)
    assert any(p.startswith("Enregistrement 77 (") and p.endswith(": aucune ligne de dépôt au journal (inséré hors du service ?).") for p in problems), problems
    assert not any(p.startswith("Enregistrement 1 ") for p in problems)


# --- Sealing a trail written before seals existed ---------------------------------------------
def test_seal_a_legacy_trail_once_and_never_an_altered_one(app: Flask, world: World, deposits: list[int]) -> None:
    _tamper(app, "UPDATE archive_log SET seal = NULL")  # as after the upgrade to migration 0025
    with app.app_context():
        assert seal_trail(db.session(), world.services()) == 3
    assert _problems(app) == []
    assert [(r.id, r.action, bool(r.seal)) for r in _rows(app)][-1] == (4, "seal", True)
    with app.app_context(), pytest.raises(ArchiveError, match="déjà scellé"):
        seal_trail(db.session(), world.services())
    # An altered trail is not sealed over.
    _tamper(app, "UPDATE archive_log SET seal = NULL")
    _tamper(app, "UPDATE archive_log SET user_id = NULL WHERE id = 2")
    with app.app_context(), pytest.raises(ArchiveError, match="Journal, ligne 2 : contenu modifié"):
        seal_trail(db.session(), world.services())


def test_the_verify_command_reports_the_chain_head_and_the_seal_command_seals(app: Flask, deposits: list[int]) -> None:
    from click.testing import CliRunner

    from webforms import cli

    runner = CliRunner()
    env = {"WEBFORMS_INSTANCE_PATH": app.instance_path, "DATABASE_URL": app.config["DATABASE_URL"]}
    head = _rows(app)[-1]
    ok = runner.invoke(cli.main, ["archive", "verify"], env=env)
    assert ok.exit_code == 0, ok.output
    assert f"Tête du journal : ligne 3, empreinte {head.hash[:32]}…" in ok.output
    refused = runner.invoke(cli.main, ["archive", "sceller"], env=env)
    assert refused.exit_code == 1 and "déjà scellé" in refused.output
