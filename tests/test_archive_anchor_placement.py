"""The sealing key and the anchor outside the data directory, and an anchor that cannot vanish unseen (issue 15).

The issue asks to anchor the journal's head "outside the data directory … a key kept off the
data disk". Both default to files under ``instance/``: a default left in place is said in the
verdict of ``archive verify``, on the administrator's pages and in the log at start; placed
elsewhere, nothing is said. Once a clean verification has anchored the head, its own sealed
row says so: a deleted, truncated or older anchor is an alteration, not "nothing to check".
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from tests.databases import Databases
from tests.test_archive import World, three_deposits, world  # noqa: F401 (fixtures)
from tests.test_archive_verify_edges import verified
from webforms import cli, create_app, db
from webforms.archive import verify as verify_module
from webforms.archive.audit import log as audit_log
from webforms.archive.placement import placement_warnings
from webforms.archive.seal import anchor_seal_of
from webforms.archive.verify import record_verification, verify
from webforms.models import ArchiveLog

KEY_INSIDE = "Attention : La clé de scellement du journal"
ANCHOR_INSIDE = "Attention : L'ancre du journal"
NOT_YET = "Journal pas encore ancré"


def _outside(app: Flask, tmp_path: Path) -> None:
    """Put the key and the anchor in a folder apart from the data (as docs/archive.md says)."""
    svc = app.extensions["webforms.archive"]
    apart = tmp_path / "hors-donnees"
    apart.mkdir()
    key = apart / "cle"
    key.write_text(svc.seal_key.hex())
    app.extensions["webforms.archive"] = dataclasses.replace(svc, seal_key_file=key, anchor=apart / "ancre")


def _report(app: Flask) -> Any:
    with app.app_context():
        return verify(db.session(), app.extensions["webforms.archive"])


# -- 1. Key and anchor inside the data directory: said; outside: not -----------------------------


def test_the_placement_rule_on_both_sides_of_the_folder(tmp_path: Path) -> None:
    data = tmp_path / "instance"
    (data / "archive").mkdir(parents=True)
    inside = placement_warnings({"seal_key": data / "cle", "anchor": data / "archive" / "ancre"}, [data])
    assert [w.split(" (")[0] for w in inside] == [KEY_INSIDE, ANCHOR_INSIDE]
    assert "WEBFORMS_ARCHIVE_SEAL_KEY_FILE" in inside[0] and "WEBFORMS_ARCHIVE_ANCHOR_FILE" in inside[1]
    # A neighbour whose name starts like the folder's is outside it; so is a link leading out.
    (tmp_path / "instance-cles").mkdir()
    (data / "lien").symlink_to(tmp_path / "instance-cles")
    assert placement_warnings({"seal_key": tmp_path / "instance-cles" / "cle", "anchor": data / "lien" / "ancre"}, [data]) == []
    assert placement_warnings({"seal_key": None, "anchor": None}, [data]) == []


def test_verify_says_the_defaults_lie_in_the_data_directory_and_not_once_moved(app: Flask, tmp_path: Path, three_deposits: list[int]) -> None:  # noqa: F811
    report = _report(app)
    assert report.problems == []  # said, not an anomaly: the verdict and exit code stay
    assert [n.split(" (")[0] for n in report.notes[:2]] == [KEY_INSIDE, ANCHOR_INSIDE]
    assert app.instance_path in report.notes[0]
    _outside(app, tmp_path)
    assert not any(n.startswith("Attention") for n in _report(app).notes)


def test_the_verify_command_prints_the_warning_in_its_verdict_only_when_inside(app: Flask, tmp_path: Path, three_deposits: list[int]) -> None:  # noqa: F811
    runner = CliRunner()
    env = {"WEBFORMS_INSTANCE_PATH": app.instance_path, "DATABASE_URL": app.config["DATABASE_URL"]}
    inside = runner.invoke(cli.main, ["archive", "verify"], env=env)
    assert inside.exit_code == 0, inside.output
    assert "Archive intègre" in inside.output and KEY_INSIDE in inside.output and ANCHOR_INSIDE in inside.output
    apart = tmp_path / "ailleurs"
    apart.mkdir()
    (apart / "cle").write_text(app.extensions["webforms.archive"].seal_key.hex())
    # Moved as docs/archive.md says: the files themselves, not only the settings (a journal
    # once anchored with its anchor gone is an alteration, below).
    (apart / "ancre").write_text(Path(app.extensions["webforms.archive"].anchor).read_text())
    env |= {"WEBFORMS_ARCHIVE_SEAL_KEY_FILE": str(apart / "cle"), "WEBFORMS_ARCHIVE_ANCHOR_FILE": str(apart / "ancre")}
    outside = runner.invoke(cli.main, ["archive", "verify", "--json"], env=env)
    assert outside.exit_code == 0, outside.output
    report = json.loads(outside.output)
    assert report["ok"] is True and not any(n.startswith("Attention") for n in report["notes"])
    assert (apart / "ancre").read_text().startswith("5 ")  # the clean verdict anchored where it was told


def test_the_administrator_sees_the_warning_on_his_pages_only_when_inside(app: Flask, login_as: Any, tmp_path: Path) -> None:
    admin, _ = login_as("admin", "Département du Pas-de-Calais")
    for url in ("/", "/admin/certificats"):
        page = admin.get(url).get_data(as_text=True)
        assert "clé de scellement et ancre à placer hors des données" in page and "WEBFORMS_ARCHIVE_ANCHOR_FILE" in page, url
    # Not shown to those who cannot move them.
    archivist, _ = login_as("archiviste", "Département du Pas-de-Calais")
    assert "à placer hors des données" not in archivist.get("/").get_data(as_text=True)
    _outside(app, tmp_path)
    for url in ("/", "/admin/certificats"):
        assert "à placer hors des données" not in admin.get(url).get_data(as_text=True), url


def test_the_service_logs_the_warning_at_start_only_when_inside(tmp_path: Path, databases: Databases, caplog: pytest.LogCaptureFixture) -> None:
    url = databases.fresh()
    with caplog.at_level(logging.WARNING, logger="webforms"):
        inside = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "un"), "DATABASE_URL": url, "SECRET_KEY": "x"})
    inside.extensions["webforms.engine"].dispose()
    said = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [m.split(" (")[0] for m in said if m.startswith("Attention")] == [KEY_INSIDE, ANCHOR_INSIDE]
    caplog.clear()
    apart = tmp_path / "hors"
    with caplog.at_level(logging.WARNING, logger="webforms"):
        outside = create_app({
            "TESTING": True, "INSTANCE_PATH": str(tmp_path / "deux"), "DATABASE_URL": url, "SECRET_KEY": "x",
            "ARCHIVE_SEAL_KEY_FILE": str(apart / "cle"), "ARCHIVE_ANCHOR_FILE": str(apart / "ancre"),
        })
    outside.extensions["webforms.engine"].dispose()
    assert not [r for r in caplog.records if r.getMessage().startswith("Attention")]
    assert (apart / "cle").is_file()  # drawn where it was told, not in the instance


# -- 2. A deleted or truncated anchor, once anchored, is an alteration ----------------------------


def test_a_journal_never_anchored_says_so_and_raises_no_alarm(app: Flask, three_deposits: list[int]) -> None:  # noqa: F811
    report = _report(app)
    assert report.problems == []
    assert any(n.startswith(NOT_YET) for n in report.notes)
    assert verified(app) == []  # the first clean verification anchors it
    report = _report(app)
    assert report.problems == [] and not any(n.startswith(NOT_YET) for n in report.notes)


def test_a_deleted_anchor_is_named_once_the_journal_was_anchored(app: Flask, three_deposits: list[int]) -> None:  # noqa: F811
    assert verified(app) == []  # rows 1-3 verified; the verification's row 4 names the anchor (3) and the anchor moves onto it
    anchor = app.extensions["webforms.archive"].anchor
    assert anchor.read_text().startswith("4 ")
    anchor.unlink()
    report = _report(app)
    assert report.problems == [f"Ancre du journal absente ({anchor}) alors que la vérification de la ligne 4 l'a posée (sur la ligne 3 au moins) : ancre supprimée ?"]
    assert not any(n.startswith(NOT_YET) for n in report.notes)  # not "nothing to check"
    assert verified(app) != [] and not anchor.exists()  # a verdict with anomalies does not put it back


@pytest.mark.parametrize(("content", "expected"), [
    ("", "Ancre du journal illisible"),
    ("4", "Ancre du journal falsifiée"),  # cut after the number: its seal gone
    ("4 0123", "Ancre du journal falsifiée"),  # cut inside the digest
])
def test_a_truncated_anchor_is_named(app: Flask, three_deposits: list[int], content: str, expected: str) -> None:  # noqa: F811
    assert verified(app) == []
    app.extensions["webforms.archive"].anchor.write_text(content)
    problems = _report(app).problems
    assert len(problems) == 1 and problems[0].startswith(expected), problems


def test_a_forged_anchor_is_named_and_the_sealed_one_holds(app: Flask, three_deposits: list[int]) -> None:  # noqa: F811
    """The journal's tail cut and the anchor rewritten to match: without the key, its seal is named (issue 15)."""
    svc = app.extensions["webforms.archive"]
    assert verified(app) == []  # row 4 (the verification) anchored, sealed
    number, digest, seal = svc.anchor.read_text().split()
    assert (number, seal) == ("4", anchor_seal_of(svc.seal_key, 4, digest))
    assert seal != anchor_seal_of(b"x" * 32, 4, digest) and _report(app).problems == []  # the sealed anchor holds
    with app.app_context():
        row3 = db.session().scalar(select(ArchiveLog).where(ArchiveLog.id == 3))
        forged = [f"3 {row3.hash}", f"3 {row3.hash} {row3.seal}", f"3 {row3.hash} {anchor_seal_of(b'x' * 32, 3, row3.hash)}"]
    # Each forgery names a real row with its real hash: unsealed, sealed with the row's own seal, or another key.
    for content in forged:
        svc.anchor.write_text(content + "\n")
        assert _report(app).problems == [
            "Ancre du journal falsifiée (ancre_journal_archive) : son sceau ne correspond pas à la ligne 3 qu'elle désigne (ancre réécrite hors du service, ou clé de scellement changée)."
        ], content
    svc.anchor.write_text(f"4 {digest} {seal}\n")  # the genuine one put back
    assert _report(app).problems == []


def test_an_anchor_put_down_before_sealing_is_checked_then_sealed(app: Flask, three_deposits: list[int], monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    """An unsealed anchor from before the upgrade, with no sealed claim in the log, raises no false alarm."""
    svc = app.extensions["webforms.archive"]

    def earlier_log(*args: Any, ancre_scellee: bool = False, **detail: Any) -> Any:
        return audit_log(*args, **detail)  # the earlier version: no "ancre_scellee" in its row

    monkeypatch.setattr(verify_module, "log", earlier_log)
    assert verified(app) == []
    number, digest, _ = svc.anchor.read_text().split()
    svc.anchor.write_text(f"{number} {digest}\n")  # the earlier version's anchor: no seal
    assert _report(app).problems == []
    svc.anchor.write_text(f"{number} {'0' * len(digest)}\n")  # still checked against the journal
    assert _report(app).problems == [f"Journal, ligne {number} : différente de la tête ancrée par une vérification précédente (ancre_journal_archive)."]
    svc.anchor.write_text(f"{number} {digest}\n")
    monkeypatch.undo()
    assert verified(app) == [] and len(svc.anchor.read_text().split()) == 3  # the next clean verification seals it
    svc.anchor.write_text(" ".join(svc.anchor.read_text().split()[:2]) + "\n")  # from now on, unsealed is a forgery
    assert _report(app).problems[0].startswith("Ancre du journal falsifiée")


def test_an_older_anchor_put_back_is_named(app: Flask, three_deposits: list[int]) -> None:  # noqa: F811
    anchor = app.extensions["webforms.archive"].anchor
    assert verified(app) == []
    older = anchor.read_text()  # row 4
    assert verified(app) == []  # row 5 names row 4, the anchor moves onto row 5
    assert _report(app).problems == []  # the anchor past its claim: no alarm
    assert verified(app) == []  # row 6 names row 5, the anchor moves onto row 6
    anchor.write_text(older)  # an old copy put back (row 4 still exists, unchanged)
    assert _report(app).problems == [
        "Ancre du journal remplacée par une plus ancienne (ancre_journal_archive) : elle désigne la ligne 4, la vérification de la ligne 6 l'a posée sur la ligne 5 au moins."
    ]


def test_an_anchor_that_cannot_be_written_is_said_in_the_verdict_not_a_traceback(app: Flask, tmp_path: Path, three_deposits: list[int]) -> None:  # noqa: F811
    blocker = tmp_path / "un-fichier"
    blocker.write_text("pas un dossier")
    svc = app.extensions["webforms.archive"]
    app.extensions["webforms.archive"] = dataclasses.replace(svc, anchor=blocker / "ancre")
    with app.app_context():
        report = verify(db.session(), app.extensions["webforms.archive"])
        record_verification(db.session(), app.extensions["webforms.archive"], report, since=None)
    assert report.problems == [] and any(n.startswith(f"Ancre du journal non écrite ({blocker / 'ancre'})") for n in report.notes)
    # Nothing claimed: the next verification, anchor still unwritable, raises no false alarm.
    assert _report(app).problems == []
    app.extensions["webforms.archive"] = svc  # the other side: a writable place, anchored
    assert verified(app) == [] and svc.anchor.is_file()
