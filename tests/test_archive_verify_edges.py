"""Each check of ``archive verify`` from both sides of its edge (issue 15, "tests that would have caught these").

A bug planted in the witness check (rows missing from ``journal.sha512`` no longer reported)
left every archive test green; a small mutation pass over ``archive/verify.py`` found the
other checks below that could be inverted without a test failing.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from flask import Flask

from tests.conftest import Clock, pdf_titled
from tests.test_archive import World, _problems, _tamper, three_deposits, world  # noqa: F401 (fixtures)
from webforms import db, jobs
from webforms.archive.search import day_start
from webforms.archive.verify import _verify_daily, last_verification, record_verification, verify
from webforms.archive.visas import execute_visa, record_visa
from webforms.models import ArchiveRecord


def _journal(app: Flask) -> Path:
    return app.extensions["webforms.archive"].archive.journal


def test_a_log_row_missing_from_the_witness_is_named(app: Flask, three_deposits: list[int]) -> None:  # noqa: F811
    journal = _journal(app)
    lines = journal.read_text().splitlines(keepends=True)
    assert _problems(app) == []  # the witness holds every row: nothing to say
    journal.chmod(0o600)
    journal.write_text("".join(lines[:-1]))  # the last row, written to the base but never witnessed
    assert _problems(app) == ["Journal, ligne 3 : absente du témoin journal.sha512 (ajoutée hors du service ?)."]
    journal.write_text("".join(lines[1:]))  # the first one
    assert _problems(app) == ["Journal, ligne 1 : absente du témoin journal.sha512 (ajoutée hors du service ?)."]


def test_an_unreadable_witness_line_is_named(app: Flask, three_deposits: list[int]) -> None:  # noqa: F811
    journal = _journal(app)
    journal.chmod(0o600)
    with journal.open("a") as out:
        out.write("pas une ligne du journal\n")
    assert _problems(app) == ["Témoin du journal : ligne illisible « pas une ligne du journal »."]


def test_a_record_whose_size_no_longer_matches_its_file_is_named(app: Flask, three_deposits: list[int]) -> None:  # noqa: F811
    with app.app_context():
        record = db.session().get(ArchiveRecord, three_deposits[0])
        label = f"Enregistrement {record.id} ({record.reference}), copie signée"
    _tamper(app, "UPDATE archive_record SET signed_size = signed_size + 1 WHERE id = ?", record.id)
    assert _problems(app) == [
        f"{label} : fichier altéré, son SHA-512 ne correspond plus ({record.signed_sha512[:16]}…).",
        # The record itself no longer matches the digest its deposit sealed in the journal (issue 15).
        f"Enregistrement {record.id} ({record.reference}) : contenu modifié depuis son dépôt (il ne correspond plus à l'empreinte scellée au journal).",
    ]


def test_since_rehashes_a_deposit_made_at_midnight_that_day_and_not_the_day_before(app: Flask, world: World, clock: Clock, tmp_path: Path) -> None:  # noqa: F811
    clock.now = day_start(dt.date(2019, 10, 14))  # the first instant of the day, in Paris
    with app.app_context():
        record = world.deposit(pdf_titled("à minuit"), tmp=tmp_path)
        path = world.services().archive.path(record.signed_sha512)
    path.chmod(0o600)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    assert any("fichier altéré" in p for p in _problems(app, since=dt.date(2019, 10, 14)))
    assert _problems(app, since=dt.date(2019, 10, 15)) == []


def test_a_destroyed_file_put_back_is_named(app: Flask, world: World, clock: Clock, tmp_path: Path) -> None:  # noqa: F811
    scan = pdf_titled("Copie signée à éliminer")
    with app.app_context():
        session = db.session()
        record = world.deposit(scan, tmp=tmp_path)
        clock.now = dt.datetime(2025, 1, 10, 9, 0, tzinfo=dt.UTC)  # past the fiche saisine's 5 years
        visa = record_visa(session, world.services(), user=world.user(world.archivist), document_ids=[world.doc_id], numero="2025-001", date_visa=dt.date(2025, 1, 5), signataire="Directrice des Archives")
        execute_visa(session, world.services(), visa, user=world.user(world.second))
        store = world.services().archive
        assert verify(session, world.services()).problems == []  # destroyed, gone: nothing to say
        store.put(scan)  # the bytes come back (a restored backup, a copy put back)
        assert verify(session, world.services()).problems == [
            f"Enregistrement {record.id} ({record.reference}), copie signée : fichier éliminé encore présent ({record.signed_sha512[:16]}…)."
        ]


def test_a_forged_tombstone_with_its_files_deleted_is_named(app: Flask, three_deposits: list[int]) -> None:  # noqa: F811
    # The intruder marks a record "éliminé" by hand and deletes its files: without a "destruction"
    # row in the journal, the files' absence is no lawful elimination (issue 15's audit).
    with app.app_context():
        record = db.session().get(ArchiveRecord, three_deposits[0])
        store = app.extensions["webforms.archive"].archive
        signed = store.path(record.signed_sha512)  # its PDF/A is shared with the next version's record: it stays
    _tamper(
        app,
        "INSERT INTO tombstone (record_id, visa_id, signed_sha512, pdfa_sha512, destroyed_by_id, destroyed_at) "
        "SELECT id, 1, signed_sha512, pdfa_sha512, (SELECT min(id) FROM user_account), now() FROM archive_record WHERE id = ?",
        record.id,
    )
    signed.unlink()
    assert _problems(app) == [f"Enregistrement {record.id} ({record.reference}) : marqué éliminé sans ligne « destruction » au journal (élimination forgée hors du service ?)."]


def test_a_lawful_tombstone_changed_afterwards_is_named(app: Flask, world: World, clock: Clock, tmp_path: Path) -> None:  # noqa: F811
    with app.app_context():
        session = db.session()
        record = world.deposit(pdf_titled("Copie signée à éliminer"), tmp=tmp_path)
        clock.now = dt.datetime(2025, 1, 10, 9, 0, tzinfo=dt.UTC)  # past the fiche saisine's 5 years
        visa = record_visa(session, world.services(), user=world.user(world.archivist), document_ids=[world.doc_id], numero="2025-001", date_visa=dt.date(2025, 1, 5), signataire="Directrice des Archives")
        execute_visa(session, world.services(), visa, user=world.user(world.second))
        label = f"Enregistrement {record.id} ({record.reference})"
    assert _problems(app) == []  # the tombstone matches its destruction row
    _tamper(app, "UPDATE tombstone SET visa_id = visa_id + 1 WHERE record_id = ?", record.id)
    assert _problems(app) == [f"{label} : élimination différente de celle du journal (visa ou empreintes modifiés)."]


def verified(app: Flask) -> list[str]:
    """Verify and log it as the command and the daily task do (a clean verdict anchors the head)."""
    with app.app_context():
        svc = app.extensions["webforms.archive"]
        report = verify(db.session(), svc)
        record_verification(db.session(), svc, report, since=None)
        return report.problems


def test_a_truncated_journal_tail_is_named_against_the_anchored_head(app: Flask, world: World, three_deposits: list[int], tmp_path: Path) -> None:  # noqa: F811
    assert verified(app) == []  # rows 1-3 and the verification's row 4: the head, 4, is anchored
    anchor = app.extensions["webforms.archive"].anchor
    assert anchor.read_text().startswith("4 ") and oct(anchor.stat().st_mode & 0o777) == "0o600"
    # The other side: the journal growing past the anchor is no anomaly.
    with app.app_context():
        world.deposit(pdf_titled("un de plus"), motif="Copie corrigée", tmp=tmp_path)
    assert _problems(app) == []
    # The last rows deleted and the witness trimmed to match: the chain replays cleanly, the anchor names the cut.
    _tamper(app, "DELETE FROM archive_log WHERE id >= 4")
    journal = _journal(app)
    journal.chmod(0o600)
    journal.write_text("".join(journal.read_text().splitlines(keepends=True)[:3]))
    _tamper(app, "DELETE FROM archive_record WHERE id NOT IN (SELECT record_id FROM archive_log WHERE record_id IS NOT NULL)")
    problems = verified(app)
    assert [p for p in problems if p.startswith("Journal")] == [
        "Journal : la ligne 4, tête ancrée par une vérification précédente (ancre_journal_archive), a disparu ; le journal s'arrête à la ligne 3 (fin du journal supprimée ?)."
    ]
    assert anchor.read_text().startswith("4 ")  # a verdict with anomalies does not move the anchor


def test_the_daily_verification_logs_its_verdict_and_anchors_a_clean_head(app: Flask, three_deposits: list[int]) -> None:  # noqa: F811
    periodic = {task.periodic_id: task for task in jobs.queue_of(app).periodic_registry.periodic_tasks.values()}
    assert periodic["verification-archive"].cron == "47 3 * * *" and periodic["verification-archive"].task.name == "verifier_archive"
    anchor = app.extensions["webforms.archive"].anchor
    assert not anchor.exists()
    with app.app_context():
        assert _verify_daily(db.session(), now=dt.datetime.now(dt.UTC)) == 0
        assert last_verification(db.session()).detail["ok"] is True
    assert anchor.read_text().startswith("4 ")
    # With an anomaly: counted, logged, the anchor left where it was.
    _tamper(app, "UPDATE archive_record SET signed_size = signed_size + 1 WHERE id = ?", three_deposits[0])
    with app.app_context():
        assert _verify_daily(db.session(), now=dt.datetime.now(dt.UTC)) == 2
        assert last_verification(db.session()).detail["ok"] is False
    assert anchor.read_text().startswith("4 ")
