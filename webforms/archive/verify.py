"""Integrity verification: every file against its SHA-512, files against records, the audit chain."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import current_app
from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from webforms.archive.audit import GENESIS, commit, log, record_digest, row_hash
from webforms.archive.seal import anchor_seal_holds, anchor_seal_of, seal_holds
from webforms.archive.search import day_start
from webforms.archive.services import ArchiveError, ArchiveServices
from webforms.archive.signatures import load_trust_roots
from webforms.archive.staging import settle_committed
from webforms.archive.timestamps import check_token
from webforms.documents.storage import sha512_of
from webforms.errors import parse_id
from webforms.jobs import daily
from webforms.models import ArchiveLog, ArchiveRecord, Tombstone

logger = logging.getLogger(__name__)


@dataclass
class Report:
    """What ``verify`` found; ``problems`` is empty when everything holds."""

    problems: list[str] = field(default_factory=list)
    records: int = 0
    files_hashed: int = 0
    log_rows: int = 0
    # The chain's head (last row's number and hash) as verified: printed in the daily report, so
    # that a copy of it lives outside the server (issue 15: anchor the head outside the data).
    head: str | None = None
    # What the verdict says besides anomalies (issue 15): a sealing key or an anchor inside the
    # data directory, a journal not yet anchored. They change neither the verdict nor the exit code.
    notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """The report as the command line's ``--json`` prints it."""
        return {
            "ok": not self.problems, "problems": self.problems, "records": self.records,
            "files_hashed": self.files_hashed, "log_rows": self.log_rows, "head": self.head,
            "notes": self.notes,
        }


def verify(session: Session, svc: ArchiveServices, *, since: dt.date | None = None) -> Report:
    """Check every archived file against its SHA-512, files against records, and the log chain.

    ``since`` limits the rehashing to records deposited from that (Paris) day on; presence of
    every file, orphans and the whole chain are always checked.
    """
    report = Report()
    # A deposit killed between its commit and the move of its files left them staged: finish it
    # first, so that its record's files are where they belong (not a "missing file").
    settle_committed(session, svc)
    # Plain columns, not records with their documents joined: a verification reads every row.
    records = session.execute(select(ArchiveRecord.__table__).order_by(ArchiveRecord.id)).all()
    tombs = set(session.scalars(select(Tombstone.record_id)))
    report.records = len(records)
    wanted: dict[str, list[str]] = {}  # digest -> what holds it
    gone: dict[str, str] = {}
    found: dict[str, bool] = {}  # digest -> the file exists
    hashed: dict[str, tuple[str, int]] = {}  # digest -> what the file hashes to (a file held twice is read once)
    threshold = day_start(since) if since else None
    for record in records:
        for what, digest, size in (("copie signée", record.signed_sha512, record.signed_size), ("PDF/A archivé", record.pdfa_sha512, record.pdfa_size)):
            label = f"Enregistrement {record.id} ({record.reference}), {what}"
            if record.id in tombs:
                gone.setdefault(digest, label)
                continue
            wanted.setdefault(digest, []).append(label)
            path = svc.archive.path(digest)
            if digest not in found:
                found[digest] = path.is_file()
            if not found[digest]:
                report.problems.append(f"{label} : fichier manquant ({digest[:16]}…).")
                continue
            if threshold is None or record.deposited_at >= threshold:
                if digest not in hashed:
                    hashed[digest] = sha512_of(path)
                report.files_hashed += 1  # files of records checked (a file two records hold is read once)
                if hashed[digest] != (digest, size):
                    report.problems.append(f"{label} : fichier altéré, son SHA-512 ne correspond plus ({digest[:16]}…).")
    for name in svc.archive.digests():
        if name in wanted:
            continue
        if name in gone:
            report.problems.append(f"{gone[name]} : fichier éliminé encore présent ({name[:16]}…).")
        else:
            report.problems.append(f"Fichier orphelin sans enregistrement : {name[:40]}{'…' if len(name) > 40 else ''}.")
    report.problems += verify_records_sealed(session, records)
    report.problems += verify_tombstones(session, records)
    report.problems += verify_timestamps(session, svc, records)
    report.problems += verify_chain(session, svc)
    report.problems += verify_anchor(session, svc)
    report.notes = svc.placement_warnings()
    if svc.anchor is not None and not svc.anchor.exists() and anchored_by_log(session) is None:
        report.notes.append(
            f"Journal pas encore ancré : aucune vérification sans anomalie n'a encore posé son ancre ({svc.anchor}) ; "
            "la prochaine le fera, et les suivantes la contrôleront."
        )
    report.log_rows = session.scalar(select(func.count()).select_from(ArchiveLog)) or 0
    last = session.execute(select(ArchiveLog.id, ArchiveLog.hash).order_by(ArchiveLog.id.desc()).limit(1)).first()
    report.head = f"{last.id}:{last.hash}" if last else None
    return report


# What a deposit row written before the record's own digest (issue 15) says of its record.
_LEGACY_SEALED = ("version", "signed_sha512", "pdfa_sha512", "source_sha512")


def verify_records_sealed(session: Session, records: Sequence[Row[Any]]) -> list[str]:
    """Check each record against the digest its deposit wrote in the audit trail (chained and sealed)."""
    problems: list[str] = []
    deposits: dict[int, dict[str, Any]] = {}
    for record_id, detail in session.execute(select(ArchiveLog.record_id, ArchiveLog.detail).where(ArchiveLog.action == "deposit")):
        if record_id is not None:
            deposits.setdefault(record_id, detail or {})
    for record in records:
        values = record._mapping
        label = f"Enregistrement {record.id} ({record.reference})"
        detail = deposits.get(record.id)
        if detail is None:
            problems.append(f"{label} : aucune ligne de dépôt au journal (inséré hors du service ?).")
        elif "record_sha512" in detail:
            if detail["record_sha512"] != record_digest(values):
                problems.append(f"{label} : contenu modifié depuis son dépôt (il ne correspond plus à l'empreinte scellée au journal).")
        elif any(name in detail and detail[name] != values[name] for name in _LEGACY_SEALED):
            problems.append(f"{label} : contenu modifié depuis son dépôt (version ou fichiers différents de ceux du journal).")
    return problems


def verify_timestamps(session: Session, svc: ArchiveServices, records: Sequence[Row[Any]]) -> list[str]:
    """Check each deposit's RFC 3161 token against its record's signed copy and the trusted roots."""
    rows = session.execute(select(ArchiveLog.record_id, ArchiveLog.detail).where(ArchiveLog.action == "deposit"))
    tokens = {record_id: detail["horodatage"] for record_id, detail in rows if isinstance(detail, dict) and "horodatage" in detail}
    if not tokens:
        return []
    roots = load_trust_roots(svc.trust_dir)
    problems = []
    for record in records:
        if record.id in tokens and (problem := check_token(tokens[record.id], record.signed_sha512, roots).problem):
            problems.append(f"Enregistrement {record.id} ({record.reference}), horodatage : {problem}.")
    return problems


def verify_tombstones(session: Session, records: Sequence[Row[Any]]) -> list[str]:
    """Check each tombstone against the « destruction » row its elimination wrote in the audit trail.

    A tombstone inserted by hand, with the record's files deleted, would otherwise make the
    files' absence look lawful (issue 15's audit): its visa and digests must be those the
    chained, sealed row recorded.
    """
    problems: list[str] = []
    logged: dict[int, dict[str, Any]] = {}
    for record_id, detail in session.execute(select(ArchiveLog.record_id, ArchiveLog.detail).where(ArchiveLog.action == "destruction")):
        if record_id is not None:
            logged.setdefault(record_id, detail or {})
    references = {record.id: record.reference for record in records}
    for tomb in session.execute(select(Tombstone.record_id, Tombstone.visa_id, Tombstone.signed_sha512, Tombstone.pdfa_sha512).order_by(Tombstone.record_id)):
        label = f"Enregistrement {tomb.record_id} ({references.get(tomb.record_id, '?')})"
        detail = logged.get(tomb.record_id)
        if detail is None:
            problems.append(f"{label} : marqué éliminé sans ligne « destruction » au journal (élimination forgée hors du service ?).")
        elif (detail.get("visa_id"), detail.get("signed_sha512"), detail.get("pdfa_sha512")) != (tomb.visa_id, tomb.signed_sha512, tomb.pdfa_sha512):
            problems.append(f"{label} : élimination différente de celle du journal (visa ou empreintes modifiés).")
    return problems


def verify_chain(session: Session, svc: ArchiveServices) -> list[str]:
    """Replay the audit trail: numbering, each row's hash, each link, its seal, and the journal file."""
    problems: list[str] = []
    expected_prev = GENESIS
    expected_id = 1
    hashes: dict[int, str] = {}
    sealing = _Seals(svc.seal_key)
    for row in session.scalars(select(ArchiveLog).order_by(ArchiveLog.id)):
        problems += sealing.check(row)
        if row.id != expected_id:
            missing = f"{expected_id}" if row.id == expected_id + 1 else f"{expected_id} à {row.id - 1}"
            problems.append(f"Journal : ligne(s) {missing} supprimée(s).")
        if row.hash != row_hash(row):
            problems.append(f"Journal, ligne {row.id} : contenu modifié (son empreinte ne correspond plus).")
        elif row.prev_hash != expected_prev and row.id == expected_id:
            problems.append(f"Journal, ligne {row.id} : chaînage rompu avec la ligne précédente.")
        hashes[row.id] = row.hash
        expected_prev, expected_id = row.hash, row.id + 1
    witnessed = svc.archive.witnessed()
    for number, digest in witnessed:
        if number < 0:
            problems.append(f"Témoin du journal : ligne illisible « {digest[:40]} ».")
        elif number not in hashes:
            problems.append(f"Journal, ligne {number} : supprimée (présente dans le témoin {svc.archive.journal.name}).")
        elif hashes[number] != digest:
            problems.append(f"Journal, ligne {number} : différente de celle scellée dans le témoin {svc.archive.journal.name}.")
    sealed = {n for n, _ in witnessed}
    for number in sorted(set(hashes) - sealed):
        problems.append(f"Journal, ligne {number} : absente du témoin {svc.archive.journal.name} (ajoutée hors du service ?).")
    return problems + sealing.missing(len(hashes))


def verify_anchor(session: Session, svc: ArchiveServices) -> list[str]:
    """Check that the head the last clean verification anchored is still in the journal, unchanged.

    Deleting the journal's last rows and trimming the witness file to match leaves a chain that
    replays cleanly; only a copy of its head kept outside the database shows it was longer.
    """
    if svc.anchor is None:
        return []
    # The anchor a clean verification put down is named in its own row (chained, sealed): once
    # the journal has been anchored, a missing or older anchor is an alteration, not "nothing to check".
    claimed = anchored_by_log(session)
    if not svc.anchor.exists():
        if claimed is None:
            return []  # never anchored: the verdict says so (``verify``'s notes), no alarm
        return [f"Ancre du journal absente ({svc.anchor}) alors que la vérification de la ligne {claimed[0]} l'a posée (sur la ligne {claimed[1]} au moins) : ancre supprimée ?"]
    try:
        content = svc.anchor.read_text(encoding="ascii", errors="replace")
    except OSError as exc:
        return [f"Ancre du journal illisible ({svc.anchor}) : {exc.strerror or exc}."]
    text, _, rest = content.strip().partition(" ")
    digest, _, seal = rest.partition(" ")
    number = parse_id(text)
    if number is None:
        return [f"Ancre du journal illisible ({svc.anchor}) : « {text[:40]} » (ancre tronquée ou réécrite ?)."]
    # The anchor line is sealed with the sealing key (issue 15): whoever can write the anchor file
    # but not read the key cannot cut the journal's tail and rewrite the anchor to match. An
    # anchor put down before sealing (no seal, and no claim of a sealed one) is checked as before
    # and sealed by the next clean verification.
    if (seal or _claims_sealed(session)) and not anchor_seal_holds(svc.seal_key, number, digest, seal):
        return [f"Ancre du journal falsifiée ({svc.anchor.name}) : son sceau ne correspond pas à la ligne {number} qu'elle désigne (ancre réécrite hors du service, ou clé de scellement changée)."]
    if claimed is not None and number < claimed[1]:
        return [f"Ancre du journal remplacée par une plus ancienne ({svc.anchor.name}) : elle désigne la ligne {number}, la vérification de la ligne {claimed[0]} l'a posée sur la ligne {claimed[1]} au moins."]
    found = session.scalar(select(ArchiveLog.hash).where(ArchiveLog.id == number))
    if found is None:
        last = session.scalar(select(func.max(ArchiveLog.id))) or 0
        return [f"Journal : la ligne {number}, tête ancrée par une vérification précédente ({svc.anchor.name}), a disparu ; le journal s'arrête à la ligne {last} (fin du journal supprimée ?)."]
    if found != digest:
        return [f"Journal, ligne {number} : différente de la tête ancrée par une vérification précédente ({svc.anchor.name})."]
    return []


def anchored_by_log(session: Session) -> tuple[int, int] | None:
    """The latest verification row that anchored the head, and the row it anchored; None if none did."""
    rows = session.execute(select(ArchiveLog.id, ArchiveLog.detail).where(ArchiveLog.action == "verify").order_by(ArchiveLog.id.desc()))
    for row_id, detail in rows:
        if isinstance(detail, dict) and isinstance(detail.get("ancre"), int):
            return row_id, detail["ancre"]
    return None


def _claims_sealed(session: Session) -> bool:
    """Whether the latest verification that anchored the head says it sealed its anchor."""
    for detail in session.scalars(select(ArchiveLog.detail).where(ArchiveLog.action == "verify").order_by(ArchiveLog.id.desc())):
        if isinstance(detail, dict) and isinstance(detail.get("ancre"), int):
            return detail.get("ancre_scellee") is True
    return False


def anchor_head(svc: ArchiveServices, head: str | None) -> int | None:
    """Write the head a clean verification checked (``Report.head``) to the anchor file; return its row.

    Written (0600, synced, replaced atomically) before the verification's own row, which names
    it, then moved onto that row: a process killed in between leaves an anchor on a real row and
    no claim, or an anchor at or past its claim, never a claim without its anchor. The anchor
    never moves back (two verifications at once).
    """
    if svc.anchor is None or head is None:
        return None
    number, digest = int(head.split(":", 1)[0]), head.split(":", 1)[1]
    if svc.anchor.exists():
        held = parse_id(svc.anchor.read_text(encoding="ascii", errors="replace").strip().partition(" ")[0])
        if held is not None and held > number:
            return held
    svc.anchor.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = svc.anchor.with_name(svc.anchor.name + ".partiel")
    with partial.open("w", encoding="ascii") as out:
        out.write(f"{number} {digest} {anchor_seal_of(svc.seal_key, number, digest)}\n")
        out.flush()
        os.fsync(out.fileno())
    partial.chmod(0o600)
    partial.replace(svc.anchor)
    return number


class _Seals:
    """Check the rows' seals: each seal present holds, and none is missing after the first.

    Rows written before sealing existed (migration 0025) have none: the first sealed row vouches
    for them, its hash covering theirs through the chain. So unsealed rows are allowed only
    before it; and a trail with rows but no seal at all is reported (``webforms archive
    sceller`` seals it after the upgrade), or removing every seal would pass.
    """

    def __init__(self, key: bytes) -> None:
        self.key = key
        self.seen_seal = False

    def check(self, row: ArchiveLog) -> list[str]:
        if row.seal is None:
            return [f"Journal, ligne {row.id} : non scellée (ajoutée ou réécrite hors du service ?)."] if self.seen_seal else []
        self.seen_seal = True
        if not seal_holds(self.key, row.id, row.hash, row.seal):
            about = f" (enregistrement {row.record_id})" if row.record_id is not None else ""
            return [f"Journal, ligne {row.id}{about} : sceau invalide, la ligne a été réécrite hors du service (ou la clé de scellement a changé)."]
        return []

    def missing(self, rows: int) -> list[str]:
        if rows and not self.seen_seal:
            return ["Journal : aucune ligne n'est scellée ; après la mise à jour, lancez « webforms archive sceller » (docs/archive.md)."]
        return []


def last_verification(session: Session) -> ArchiveLog | None:
    """The audit-trail row of the latest integrity verification, if any."""
    return session.scalars(select(ArchiveLog).where(ArchiveLog.action == "verify").order_by(ArchiveLog.id.desc()).limit(1)).first()


def record_verification(session: Session, svc: ArchiveServices, report: Report, *, since: dt.date | None) -> None:
    """Log that a verification ran, with its counts (no names, only numbers); a clean one anchors its head first."""
    # Only a clean verdict moves the anchor: anchoring a truncated journal would make it lawful.
    anchored = None
    if not report.problems:
        try:
            anchored = anchor_head(svc, report.head)
        except OSError as exc:  # a folder not writable, a disk full: said in the verdict, not a traceback
            report.notes.append(f"Ancre du journal non écrite ({svc.anchor}) : {exc.strerror or exc} ; la tête n'est pas ancrée (WEBFORMS_ARCHIVE_ANCHOR_FILE).")
    row = log(
        session,
        svc.clock(),
        "verify",
        key=svc.seal_key,
        user=None,
        ok=not report.problems,
        problems=len(report.problems),
        records=report.records,
        files_hashed=report.files_hashed,
        since=since.isoformat() if since else None,
        **({"ancre": anchored, "ancre_scellee": True} if anchored is not None else {}),
    )
    commit(session, svc)
    if anchored is not None:
        # Then on the verification's own row, so that cutting the journal from it on is caught too
        # (if that fails, the anchor stays on the row the journal names: nothing is wrong).
        with contextlib.suppress(OSError):
            anchor_head(svc, f"{row.id}:{row.hash}")


def seal_trail(session: Session, svc: ArchiveServices) -> int:
    """Seal an audit trail written before sealing existed: replay it, then append a sealed row vouching for it.

    Refused if the trail does not replay cleanly (an alteration must not be sealed over) or is
    already sealed. Returns the number of rows vouched for.
    """
    problems = [p for p in verify_chain(session, svc) if not p.startswith("Journal : aucune ligne n'est scellée")]
    if problems:
        raise ArchiveError("Le journal ne peut pas être scellé : il présente des anomalies. " + " ".join(problems))
    if session.scalar(select(func.count()).select_from(ArchiveLog).where(ArchiveLog.seal.is_not(None))):
        raise ArchiveError("Le journal est déjà scellé : rien à faire.")
    rows = session.scalar(select(func.count()).select_from(ArchiveLog)) or 0
    log(session, svc.clock(), "seal", key=svc.seal_key, user=None, rows=rows)
    commit(session, svc)
    return rows


def _verify_daily(session: Session, *, now: dt.datetime) -> int:
    """The daily task's body: verify the whole archive, log the verdict, anchor a clean head; return the anomalies."""
    svc = current_app.extensions["webforms.archive"]
    report = verify(session, svc)
    record_verification(session, svc, report, since=None)
    for problem in report.problems:
        logger.error("Vérification de l'archive : %s", problem)
    for note in report.notes:  # a key or an anchor in the data directory, an anchor not written
        logger.warning("Vérification de l'archive : %s", note)
    return len(report.problems)


# Daily even when no operator runs ``webforms archive verify``: the head is anchored at least once a day.
verify_daily = daily("verifier_archive", cron="47 3 * * *", periodic_id="verification-archive", done="Vérification quotidienne de l'archive, anomalies : %s")(_verify_daily)
