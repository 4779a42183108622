"""The archive of signed documents: deposit, search, audit trail, verification, retention.

DESIGN §3: "signed copy uploaded → archived (write-once; never edited or deleted before its
retention ends)". What this module promises, and how:

- bytes are written once, named by their SHA-512, in a store of their own (``ArchiveStore``);
- archive rows are insert-only (ORM guard in ``webforms.models``, database triggers in
  migration 0007); a correction is a new record that supersedes the earlier one;
- every archive event is a row of an append-only log holding the hash of the previous row,
  and each committed row is also written to a journal file beside the files (``witness``);
- ``verify`` recomputes every SHA-512, matches files and records, and replays the chain;
- destruction needs a recorded visa and a second person, and leaves a tombstone.

Services take a session and plain values; views and the command line stay thin.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import math
import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from schemas import get_kind, registry
from schemas.base.kind import Retention
from webforms import policy
from webforms.documents.storage import ArchiveStore, FileStore, StoredFileMissing, sha512_of
from webforms.documents.uploads import check_upload, extension_of
from webforms.mesures.rules import add_months
from webforms.models import (
    RETENTION_FATES,
    SIGNATURE_KINDS,
    ArchiveLog,
    ArchiveRecord,
    DestructionItem,
    DestructionVisa,
    Document,
    RetentionRule,
    Tombstone,
    User,
)
from webforms.rendering import Renderer
from webforms.timeutil import paris_date

ACCESS_LOG_ATTEMPTS = 8
GENESIS = "0" * 128  # the "previous hash" of the first row of the audit trail
SIGNED_FORMATS = frozenset({"pdf", "jpeg", "png"})
ACTIONS = {
    "deposit": "Dépôt de la copie signée",
    "view": "Consultation",
    "download": "Téléchargement",
    "export": "Export",
    "verify": "Vérification de l'intégrité",
    "retention_rule": "Règle de conservation modifiée",
    "destruction_visa": "Visa d'élimination enregistré",
    "destruction": "Élimination",
    "trust_root_added": "Autorité de confiance ajoutée",
    "trust_root_removed": "Autorité de confiance retirée",
}


class ArchiveError(Exception):
    """A refused archive action; the message is French and meant for the user."""


@dataclass(frozen=True)
class ArchiveServices:
    """What the archive needs besides a session."""

    archive: ArchiveStore
    files: FileStore  # the working store, where the generated PDFs are
    renderer: Renderer
    clock: Any  # () -> aware datetime
    # Where the administrator's trust roots are (read at each verification, so that a root
    # added on the web page counts at once in every worker).
    trust_dir: Path | None = None
    max_bytes: int = 30 << 20
    # SEDA identifiers of the receiving Archives and of the service transferring (configuration).
    archival_agency: str = "FRAD062"
    transferring_agency: str = "DEPARTEMENT-62-DPDS"


# --- Audit trail ----------------------------------------------------------------------------
def row_hash(row: ArchiveLog) -> str:
    """The SHA-512 of a row's content and of the previous row's hash."""
    content = {
        "id": row.id,
        "at": row.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
        "user_id": row.user_id,
        "action": row.action,
        "record_id": row.record_id,
        "document_id": row.document_id,
        "detail": row.detail,
        "prev": row.prev_hash,
    }
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha512(canonical.encode()).hexdigest()


def log(
    session: Session,
    at: dt.datetime,
    action: str,
    *,
    user: User | None,
    record: ArchiveRecord | None = None,
    document_id: int | None = None,
    **detail: Any,
) -> ArchiveLog:
    """Append a row to the audit trail (committed by the caller, then witnessed).

    ``detail`` holds identifiers and digests only, never a name or a birth date.
    """
    last = session.scalars(select(ArchiveLog).order_by(ArchiveLog.id.desc()).limit(1)).first()
    if record is not None and record.id is None:
        session.flush()
    row = ArchiveLog(
        id=(last.id + 1) if last else 1,
        at=at.astimezone(dt.UTC),
        user_id=user.id if user else None,
        action=action,
        record_id=record.id if record else None,
        document_id=document_id if document_id is not None else (record.document_id if record else None),
        detail=detail,
        prev_hash=last.hash if last else GENESIS,
    )
    row.hash = row_hash(row)
    session.add(row)
    session.info.setdefault("archive_rows", []).append(row)
    return row


def commit(session: Session, svc: ArchiveServices) -> None:
    """Commit, then write the new audit rows to the journal file.

    Two writers appending at once both claim the same next row: the unique ``prev_hash``
    refuses the second (or SQLite, whose reader cannot become a writer once another has
    written), which is told to try again (nothing half-done is kept).
    """
    rows: list[ArchiveLog] = session.info.pop("archive_rows", [])
    try:
        session.commit()
    except (IntegrityError, OperationalError):
        session.rollback()
        raise ArchiveError("Une autre opération d'archive vient d'être enregistrée au même instant : réessayez.") from None
    for row in rows:
        # A row logged in a transaction rolled back since was never stored: nothing to witness.
        if sa_inspect(row).persistent:
            svc.archive.witness(row.id, row.hash)


def log_access(session: Session, svc: ArchiveServices, record: ArchiveRecord, action: str, *, user: User, **detail: Any) -> None:
    """Log a view or a download of a record in its own short transaction.

    Concurrent writers are retried after a short random pause; a record that cannot be logged
    is not shown (``ArchiveError``), since every view must be in the audit trail.
    """
    for attempt in range(ACCESS_LOG_ATTEMPTS):
        log(session, svc.clock(), action, user=user, record=record, **detail)
        try:
            commit(session, svc)
            return
        except ArchiveError:
            if attempt == ACCESS_LOG_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))


# --- Retention ------------------------------------------------------------------------------
@dataclass(frozen=True)
class RuleInForce:
    """A kind's retention rule as it applies today."""

    kind: str
    years: int
    fate: str
    by_admin: bool
    note: str | None = None
    since: dt.datetime | None = None

    @property
    def fate_label(self) -> str:
        return RETENTION_FATES[self.fate]


def rule_for(session: Session, kind_name: str) -> RuleInForce:
    """The rule in force for a kind: the administrator's latest, else the kind's default."""
    row = session.scalars(select(RetentionRule).where(RetentionRule.kind == kind_name).order_by(RetentionRule.id.desc()).limit(1)).first()
    if row is not None:
        return RuleInForce(kind_name, row.years, row.fate, True, row.note, row.created_at)
    default: Retention = get_kind(kind_name).retention
    return RuleInForce(kind_name, default.years, default.fate, False)


def rules(session: Session) -> list[RuleInForce]:
    """The rule in force of every kind, in the catalogue's order."""
    return [rule_for(session, name) for name in registry()]


def rule_history(session: Session, kind_name: str) -> list[RetentionRule]:
    """Every rule an administrator set for a kind, newest first."""
    return list(session.scalars(select(RetentionRule).where(RetentionRule.kind == kind_name).order_by(RetentionRule.id.desc())))


def set_rule(session: Session, svc: ArchiveServices, *, user: User, kind_name: str, years: int, fate: str, note: str | None) -> RetentionRule:
    """Record a new retention rule for a kind (administrators); the earlier ones stay."""
    if kind_name not in registry():
        raise ArchiveError("Type de document inconnu.")
    if not 1 <= years <= 100:
        raise ArchiveError("La durée de conservation s'exprime en années, de 1 à 100.")
    if fate not in RETENTION_FATES:
        raise ArchiveError("Choisissez le sort final : destruction ou versement aux Archives départementales.")
    now = svc.clock()
    row = RetentionRule(kind=kind_name, years=years, fate=fate, note=(note or "").strip()[:500] or None, created_by_id=user.id, created_at=now)
    session.add(row)
    session.flush()
    log(session, now, "retention_rule", user=user, kind=kind_name, years=years, fate=fate, rule_id=row.id)
    commit(session, svc)
    return row


def retention_start(doc: Document, today: dt.date) -> tuple[dt.date | None, str]:
    """When the retention term starts running for a document, and what that date is.

    The sources are silent on archives (docs/decisions.md): the term runs from the end of what
    the document is about. A measure's document: the measure's end (closed early, or the end
    of its last period once passed); a candidature: the end of its call's funded period;
    anything else: the day it was submitted. ``None`` while the measure runs.
    """
    if doc.mesure is not None:
        mesure = doc.mesure
        if mesure.date_fin_effective is not None:
            return mesure.date_fin_effective, "fin de la mesure"
        from webforms.mesures.services import overview  # measures build on documents

        periods = overview(mesure, today).calendar.periods
        end = periods[-1].end if periods else None
        if end is not None and end < today:
            return end, "fin de la mesure"
        return None, "fin de la mesure (en cours)"
    if doc.appel is not None:
        return dt.date.fromisoformat(doc.appel.data["periode_fin"]), "fin de la période de l'appel"
    if doc.submitted_at is not None:
        return paris_date(doc.submitted_at), "date de soumission"
    return None, "date de soumission"


@dataclass(frozen=True)
class Term:
    """A record's retention as it stands today."""

    rule: RuleInForce
    start: dt.date | None
    basis: str
    end: dt.date | None

    @property
    def reached(self) -> bool:
        return self.end is not None

    def past(self, today: dt.date) -> bool:
        return self.end is not None and self.end <= today


def term_of(session: Session, record: ArchiveRecord, today: dt.date, rule: RuleInForce | None = None) -> Term:
    """The rule, start and end of a record's retention (``rule``: the kind's, when already read)."""
    rule = rule or rule_for(session, record.kind)
    start, basis = retention_start(record.document, today)
    end = add_months(start, 12 * rule.years) if start else None
    return Term(rule, start, basis, end)


# --- Deposit --------------------------------------------------------------------------------
def _hash_stream(stream: BinaryIO) -> tuple[str, int]:
    """SHA-512 and size of an upload as received, then rewind it for the content check."""
    hasher = hashlib.sha512()
    size = 0
    while chunk := stream.read(1 << 20):
        hasher.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return hasher.hexdigest(), size


def current_record(session: Session, doc: Document) -> ArchiveRecord | None:
    """The document's record in force: the latest deposit, which nothing supersedes."""
    return session.scalars(select(ArchiveRecord).where(ArchiveRecord.document_id == doc.id).order_by(ArchiveRecord.id.desc()).limit(1)).first()


def destroyed(session: Session, record_ids: Iterable[int]) -> dict[int, Tombstone]:
    """The tombstones of those records that were destroyed."""
    ids = list(record_ids)
    if not ids:
        return {}
    return {t.record_id: t for t in session.scalars(select(Tombstone).where(Tombstone.record_id.in_(ids)))}


def archived_pdf(doc: Document, version: int, frozen: bytes, now: dt.datetime) -> bytes:
    """Attach the document's data as ``donnees.json`` to its frozen PDF/A-3b of ``version``.

    The frozen rendition is already PDF/A-3b (``Renderer.pdf_from_html``): its pages are kept
    byte for byte as they were submitted and signed, never rendered again from today's template
    (an administrator may have replaced it since, docs/word-templates.md).
    """
    # Deferred: qpdf is loaded by a deposit, not by every start of the command line.
    import pikepdf
    from pikepdf.models.metadata import encode_pdf_date

    kind = get_kind(doc.kind)
    data = {
        "type": doc.kind,
        "titre": kind.title,
        "reference": doc.reference,
        "version": version,
        "soumis_le": doc.submitted_at.isoformat() if doc.submitted_at else None,
        "donnees": doc.submitted_data,
        "decision": doc.review,
    }
    stamp = encode_pdf_date(now)
    with pikepdf.open(io.BytesIO(frozen)) as pdf:
        spec = pikepdf.AttachedFileSpec(
            pdf,
            json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode(),
            description=f"Données de {kind.title} {doc.reference} (version {version})",
            filename="donnees.json",
            mime_type="application/json",
            creation_date=stamp,
            mod_date=stamp,
            relationship=pikepdf.Name.Data,
        )
        # Given a relationship, pikepdf also lists the file in the catalog's /AF: PDF/A-3 wants
        # every embedded file to be an associated file of the document.
        pdf.attachments["donnees.json"] = spec
        out = io.BytesIO()
        pdf.save(out, deterministic_id=True)
    return out.getvalue()


def deposit(
    session: Session,
    svc: ArchiveServices,
    doc: Document,
    *,
    user: User,
    stream: BinaryIO,
    filename: str,
    signature_kind: str,
    workdir: Path,
    motif: str | None = None,
) -> ArchiveRecord:
    """Archive the signed copy of a submitted document; a second deposit is a correction.

    The upload is checked by its content (``webforms.documents.uploads``); a refusal raises
    ``UploadRefused`` or ``ArchiveError`` and leaves the archive exactly as it was.
    """
    from webforms.documents.services import rendition  # archive builds on documents

    if not policy.can_archive(user, doc):
        raise ArchiveError("Seul un archiviste dépose la copie signée d'un document soumis.")
    if doc.status == "draft":
        raise ArchiveError("Le document est en cours de correction : archivez-le une fois soumis à nouveau.")
    if signature_kind not in SIGNATURE_KINDS:
        raise ArchiveError("Indiquez le type de signature : scan d'une signature manuscrite ou PDF signé électroniquement.")
    previous = current_record(session, doc)
    motif = (motif or "").strip() or None
    if previous is not None:
        if destroyed(session, [previous.id]):
            raise ArchiveError("Les copies archivées de ce document ont été éliminées : aucun nouveau dépôt n'est possible.")
        if motif is None:
            raise ArchiveError("Une copie signée est déjà archivée : indiquez le motif de la correction.")
    source = rendition(session, doc, "pdf")
    if source is None:
        raise ArchiveError("Le document n'a pas de version PDF figée à archiver.")
    try:
        source_bytes = svc.files.read(source.sha256, verify=True)
    except StoredFileMissing:
        raise ArchiveError("Le PDF généré de ce document est introuvable dans le stockage : prévenez l'administrateur.") from None
    received_sha512, received_size = _hash_stream(stream)
    checked = check_upload(stream, filename, allowed=SIGNED_FORMATS, max_bytes=svc.max_bytes, workdir=workdir)
    created: list[str] = []
    try:
        check = None
        if signature_kind == "electronique":
            if checked.kind != "pdf":
                raise ArchiveError("Une signature électronique se dépose en PDF : pour une image, choisissez « scan ».")
            from webforms.archive.signatures import TrustRootsError, load_trust_roots, verify_pdf_signatures

            try:
                roots = load_trust_roots(svc.trust_dir)
            except TrustRootsError:
                raise ArchiveError("Les autorités de confiance configurées sont illisibles : prévenez l'administrateur (page « Autorités de confiance »).") from None
            check = verify_pdf_signatures(checked.data_path, roots)
            if not check.signed:
                raise ArchiveError("Ce PDF ne porte aucune signature électronique : choisissez « scan » s'il a été signé à la main.")
        now = svc.clock()
        rule = rule_for(session, doc.kind)
        signed_sha512, signed_size, new = svc.archive.put_file(checked.data_path)
        if new:
            created.append(signed_sha512)
        if previous is not None and signed_sha512 == previous.signed_sha512:
            raise ArchiveError("Ce fichier est identique à la copie déjà archivée : la correction doit apporter un autre fichier.")
        pdfa_sha512, pdfa_size, new = svc.archive.put(archived_pdf(doc, source.version, source_bytes, now))
        if new:
            created.append(pdfa_sha512)
        record = ArchiveRecord(
            document_id=doc.id,
            version=source.version,
            kind=doc.kind,
            organisation_id=doc.organisation_id,
            reference=doc.reference or "",
            household_reference=doc.mesure.reference if doc.mesure else None,
            source_rendition_id=source.id,
            source_sha512=hashlib.sha512(source_bytes).hexdigest(),
            pdfa_sha512=pdfa_sha512,
            pdfa_size=pdfa_size,
            signed_sha512=signed_sha512,
            signed_size=signed_size,
            signed_mime=checked.mime,
            signed_pages=checked.pages,
            received_sha512=received_sha512,
            received_size=received_size,
            original_name=checked.original_name[:255],
            signature_kind=signature_kind,
            signature_check=check.as_json() if check is not None else None,
            retention_years=rule.years,
            retention_fate=rule.fate,
            deposited_by_id=user.id,
            deposited_at=now,
            supersedes_id=previous.id if previous else None,
            motif=motif[:1000] if motif else None,
        )
        session.add(record)
        session.flush()
        log(
            session,
            now,
            "deposit",
            user=user,
            record=record,
            version=record.version,
            signed_sha512=signed_sha512,
            pdfa_sha512=pdfa_sha512,
            source_sha512=record.source_sha512,
            supersedes=record.supersedes_id,
        )
        commit(session, svc)
    except BaseException:
        session.rollback()
        # Files this deposit brought in and no record holds: gone, so verification finds no orphan.
        for digest in created:
            if not session.scalar(select(func.count()).select_from(ArchiveRecord).where((ArchiveRecord.signed_sha512 == digest) | (ArchiveRecord.pdfa_sha512 == digest))):
                svc.archive.remove(digest)
        raise
    finally:
        checked.data_path.unlink(missing_ok=True)
    return record


# --- Finding --------------------------------------------------------------------------------
def visible_records(user: User) -> Any:
    """The query of the records ``user`` may see: those of the documents they may see."""
    documents = policy.visible_documents(user).with_only_columns(Document.id).order_by(None)
    return select(ArchiveRecord).where(ArchiveRecord.document_id.in_(documents))


def can_see(session: Session, user: User, record: ArchiveRecord) -> bool:
    """May ``user`` see this record (the rule of ``visible_records``)?"""
    return policy.can_view(user, record.document)


@dataclass(frozen=True)
class Search:
    """A search of the archive; empty values do not filter."""

    kind: str | None = None
    organisation_id: int | None = None
    household: str | None = None
    reference: str | None = None
    du: dt.date | None = None  # submission of the document, Paris days, inclusive
    au: dt.date | None = None


@dataclass(frozen=True)
class Page:
    items: list[ArchiveRecord]
    total: int
    page: int
    per_page: int
    superseded: set[int] = field(default_factory=set)
    destroyed: dict[int, Tombstone] = field(default_factory=dict)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.per_page))


def _day_start(day: dt.date) -> dt.datetime:
    from webforms.timeutil import PARIS

    return dt.datetime.combine(day, dt.time(), tzinfo=PARIS).astimezone(dt.UTC)


def _prefix(text: str) -> str:
    """A LIKE pattern for what starts with ``text`` (its own % and _ taken literally)."""
    escaped = text.strip().upper().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%"


def _matching(user: User, query: Search) -> Any:
    """The query of the records matching ``query`` among those ``user`` may see."""
    stmt = visible_records(user)
    if query.kind:
        stmt = stmt.where(ArchiveRecord.kind == query.kind)
    if query.organisation_id:
        stmt = stmt.where(ArchiveRecord.organisation_id == query.organisation_id)
    # A reference, or its beginning ("FS-2019" finds every fiche saisine of 2019), any case.
    if query.household:
        stmt = stmt.where(func.upper(ArchiveRecord.household_reference).like(_prefix(query.household), escape="\\"))
    if query.reference:
        stmt = stmt.where(func.upper(ArchiveRecord.reference).like(_prefix(query.reference), escape="\\"))
    if query.du or query.au:
        stmt = stmt.join(Document, Document.id == ArchiveRecord.document_id)
        if query.du:
            stmt = stmt.where(Document.submitted_at >= _day_start(query.du))
        if query.au:
            stmt = stmt.where(Document.submitted_at < _day_start(query.au + dt.timedelta(days=1)))
    return stmt


def search(session: Session, user: User, query: Search, page: int = 1, per_page: int = 20) -> Page:
    """Records matching ``query`` among those ``user`` may see, newest deposit first."""
    stmt = _matching(user, query)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page = max(1, min(page, max(1, math.ceil(total / per_page))))
    items = list(session.scalars(stmt.order_by(ArchiveRecord.deposited_at.desc(), ArchiveRecord.id.desc()).offset((page - 1) * per_page).limit(per_page)))
    ids = [r.id for r in items]
    superseded = set(session.scalars(select(ArchiveRecord.supersedes_id).where(ArchiveRecord.supersedes_id.in_(ids)))) if ids else set()
    return Page(items, total, page, per_page, superseded, destroyed(session, ids))


def awaiting_signed_copy(session: Session, user: User, limit: int = 20) -> tuple[list[Document], int]:
    """Submitted documents ``user`` may archive that have no signed copy yet, oldest first."""
    if user.role != "archiviste":
        return [], 0
    stmt = (
        policy.visible_documents(user)
        .where(Document.status != "draft", Document.id.not_in(select(ArchiveRecord.document_id)))
        .order_by(None)
    )
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    return list(session.scalars(stmt.order_by(Document.submitted_at, Document.id).limit(limit))), total


EXPORT_ALL_MAX = 5000


def all_to_export(session: Session, user: User, query: Search) -> list[ArchiveRecord]:
    """Every record matching ``query`` that still has its files, oldest deposit first."""
    stmt = _matching(user, query).where(ArchiveRecord.id.not_in(select(Tombstone.record_id)))
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    if total > EXPORT_ALL_MAX:
        raise ArchiveError(f"{total} enregistrements correspondent : exportez-en {EXPORT_ALL_MAX} au plus à la fois (précisez la période ou le type).")
    return list(session.scalars(stmt.order_by(ArchiveRecord.deposited_at, ArchiveRecord.id)))


def chain(session: Session, record: ArchiveRecord) -> list[ArchiveRecord]:
    """Every record of the same document, oldest first (deposit, then its corrections)."""
    return list(session.scalars(select(ArchiveRecord).where(ArchiveRecord.document_id == record.document_id).order_by(ArchiveRecord.id)))


def record_log(session: Session, records: Sequence[ArchiveRecord]) -> list[ArchiveLog]:
    """The audit-trail rows about these records, oldest first."""
    ids = [r.id for r in records]
    return list(session.scalars(select(ArchiveLog).where(ArchiveLog.record_id.in_(ids)).order_by(ArchiveLog.id)))


def open_file(svc: ArchiveServices, record: ArchiveRecord, which: str) -> tuple[Path, str, str]:
    """The path, MIME type and download name of a record's signed copy or archived PDF/A."""
    if which == "signe":
        ext = extension_of(record.signed_mime)
        return svc.archive.path(record.signed_sha512), record.signed_mime, f"{record.reference}-v{record.version}-copie-signee-{record.id}.{ext}"
    if which == "pdfa":
        return svc.archive.path(record.pdfa_sha512), "application/pdf", f"{record.reference}-v{record.version}-archive-{record.id}.pdf"
    raise ArchiveError("Fichier inconnu.")


# --- Verification ---------------------------------------------------------------------------
@dataclass
class Report:
    """What ``verify`` found; ``problems`` is empty when everything holds."""

    problems: list[str] = field(default_factory=list)
    records: int = 0
    files_hashed: int = 0
    log_rows: int = 0

    def as_json(self) -> dict[str, Any]:
        return {"ok": not self.problems, "problems": self.problems, "records": self.records, "files_hashed": self.files_hashed, "log_rows": self.log_rows}


def verify(session: Session, svc: ArchiveServices, *, since: dt.date | None = None) -> Report:
    """Check every archived file against its SHA-512, files against records, and the log chain.

    ``since`` limits the rehashing to records deposited from that (Paris) day on; presence of
    every file, orphans and the whole chain are always checked.
    """
    report = Report()
    # Plain columns, not records with their documents joined: a verification reads every row.
    records = session.execute(
        select(
            ArchiveRecord.id, ArchiveRecord.reference, ArchiveRecord.deposited_at,
            ArchiveRecord.signed_sha512, ArchiveRecord.signed_size, ArchiveRecord.pdfa_sha512, ArchiveRecord.pdfa_size,
        ).order_by(ArchiveRecord.id)
    ).all()
    tombs = set(session.scalars(select(Tombstone.record_id)))
    report.records = len(records)
    wanted: dict[str, list[str]] = {}  # digest -> what holds it
    gone: dict[str, str] = {}
    found: dict[str, bool] = {}  # digest -> the file exists
    hashed: dict[str, tuple[str, int]] = {}  # digest -> what the file hashes to (a file held twice is read once)
    threshold = _day_start(since) if since else None
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
    report.problems += verify_chain(session, svc)
    report.log_rows = session.scalar(select(func.count()).select_from(ArchiveLog)) or 0
    return report


def verify_chain(session: Session, svc: ArchiveServices) -> list[str]:
    """Replay the audit trail: numbering, each row's hash, each link, and the journal file."""
    problems: list[str] = []
    expected_prev = GENESIS
    expected_id = 1
    hashes: dict[int, str] = {}
    for row in session.scalars(select(ArchiveLog).order_by(ArchiveLog.id)):
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
    return problems


def last_verification(session: Session) -> ArchiveLog | None:
    """The audit-trail row of the latest integrity verification, if any."""
    return session.scalars(select(ArchiveLog).where(ArchiveLog.action == "verify").order_by(ArchiveLog.id.desc()).limit(1)).first()


def record_verification(session: Session, svc: ArchiveServices, report: Report, *, since: dt.date | None) -> None:
    """Log that a verification ran, with its counts (no names, only numbers)."""
    log(
        session,
        svc.clock(),
        "verify",
        user=None,
        ok=not report.problems,
        problems=len(report.problems),
        records=report.records,
        files_hashed=report.files_hashed,
        since=since.isoformat() if since else None,
    )
    commit(session, svc)


# --- Retention: what is past its term, visas, destruction ----------------------------------
@dataclass(frozen=True)
class Due:
    """A document whose archived copies are past their retention term."""

    document: Document
    records: list[ArchiveRecord]
    term: Term
    pending_visa: DestructionVisa | None


def past_term(session: Session, today: dt.date) -> list[Due]:
    """Documents whose archived copies reached the end of their retention and still exist."""
    records = list(session.scalars(select(ArchiveRecord).order_by(ArchiveRecord.document_id, ArchiveRecord.id)))
    tombs = set(session.scalars(select(Tombstone.record_id)))  # not an IN list as long as the archive
    pending = {item.record_id: item.visa for item in session.scalars(select(DestructionItem))}
    by_doc: dict[int, list[ArchiveRecord]] = {}
    for record in records:
        if record.id not in tombs:
            by_doc.setdefault(record.document_id, []).append(record)
    in_force = {rule.kind: rule for rule in rules(session)}
    due = []
    for group in by_doc.values():
        term = term_of(session, group[-1], today, in_force.get(group[-1].kind))
        if term.past(today):
            due.append(Due(group[-1].document, group, term, next((pending[r.id] for r in group if r.id in pending), None)))
    return sorted(due, key=lambda d: (d.term.end, d.document.id))  # type: ignore[arg-type, return-value]


def record_visa(
    session: Session,
    svc: ArchiveServices,
    *,
    user: User,
    document_ids: Sequence[int],
    numero: str,
    date_visa: dt.date | None,
    signataire: str,
) -> DestructionVisa:
    """Record the Archives départementales' visa authorising to destroy these documents' copies.

    Only documents past their term whose rule ends in destruction qualify; every record of each
    document (the deposit and its corrections) is covered. Nothing is destroyed yet: a second
    archivist carries the destruction out (``execute_visa``).
    """
    if not policy.can_manage_retention(user):
        raise ArchiveError("Seul un archiviste enregistre un visa d'élimination.")
    numero, signataire = numero.strip(), signataire.strip()
    if not numero or not signataire or date_visa is None:
        raise ArchiveError("Le visa d'élimination doit porter un numéro, une date et un signataire.")
    today = paris_date(svc.clock())
    if date_visa > today:
        raise ArchiveError("La date du visa ne peut pas être dans le futur.")
    eligible = {d.document.id: d for d in past_term(session, today)}
    chosen = list(dict.fromkeys(document_ids))
    if not chosen:
        raise ArchiveError("Sélectionnez au moins un document à éliminer.")
    for doc_id in chosen:
        due = eligible.get(doc_id)
        if due is None:
            raise ArchiveError("Un des documents choisis n'a pas atteint le terme de sa conservation : rien n'a été enregistré.")
        if due.term.rule.fate != "destruction":
            raise ArchiveError(f"{due.document.reference} est à verser aux Archives départementales, pas à détruire : rien n'a été enregistré.")
        if due.pending_visa is not None:
            raise ArchiveError(f"{due.document.reference} figure déjà sur le visa n° {due.pending_visa.numero} : rien n'a été enregistré.")
    now = svc.clock()
    visa = DestructionVisa(numero=numero[:100], date_visa=date_visa, signataire=signataire[:200], recorded_by_id=user.id, recorded_at=now)
    session.add(visa)
    session.flush()
    for doc_id in chosen:
        for record in eligible[doc_id].records:
            session.add(DestructionItem(visa_id=visa.id, record_id=record.id))
    session.flush()
    log(session, now, "destruction_visa", user=user, visa_id=visa.id, records=[i.record_id for i in visa.items], documents=chosen)
    commit(session, svc)
    return visa


def pending_visas(session: Session) -> list[tuple[DestructionVisa, bool]]:
    """Every visa, newest first, with whether its destruction was carried out."""
    visas = list(session.scalars(select(DestructionVisa).order_by(DestructionVisa.id.desc())))
    done = destroyed(session, [i.record_id for v in visas for i in v.items])
    return [(v, all(i.record_id in done for i in v.items)) for v in visas]


def execute_visa(session: Session, svc: ArchiveServices, visa: DestructionVisa, *, user: User) -> list[Tombstone]:
    """Destroy the bytes of the records a visa covers; a second archivist must do it.

    Each record leaves a tombstone with its hashes and the visa. A file still held by a record
    that is not destroyed stays. Running it again finishes a destruction interrupted midway.
    """
    if not policy.can_manage_retention(user):
        raise ArchiveError("Seul un archiviste procède à l'élimination.")
    if visa.recorded_by_id == user.id:
        raise ArchiveError("L'élimination doit être faite par un autre archiviste que celui qui a enregistré le visa.")
    now = svc.clock()
    today = paris_date(now)
    tombs = destroyed(session, [i.record_id for i in visa.items])
    in_force = {rule.kind: rule for rule in rules(session)}
    made = []
    for item in visa.items:
        record = item.record
        if record.id in tombs:
            continue
        if not term_of(session, record, today, in_force.get(record.kind)).past(today):
            raise ArchiveError(f"{record.reference} n'a plus atteint le terme de sa conservation (règle modifiée ?) : rien n'a été éliminé.")
        tomb = Tombstone(
            record_id=record.id,
            visa_id=visa.id,
            signed_sha512=record.signed_sha512,
            pdfa_sha512=record.pdfa_sha512,
            destroyed_by_id=user.id,
            destroyed_at=now,
        )
        session.add(tomb)
        made.append(tomb)
    session.flush()
    for tomb in made:
        log(session, now, "destruction", user=user, record=session.get(ArchiveRecord, tomb.record_id), visa_id=visa.id, signed_sha512=tomb.signed_sha512, pdfa_sha512=tomb.pdfa_sha512)
    commit(session, svc)
    _remove_destroyed_bytes(session, svc, [i.record for i in visa.items])
    return made


def _remove_destroyed_bytes(session: Session, svc: ArchiveServices, records: Sequence[ArchiveRecord]) -> None:
    """Delete the files of destroyed records that no living record holds."""
    living = session.execute(
        select(ArchiveRecord.signed_sha512, ArchiveRecord.pdfa_sha512).where(ArchiveRecord.id.not_in(select(Tombstone.record_id)))
    )
    alive = {digest for pair in living for digest in pair}
    for record in records:
        for digest in (record.signed_sha512, record.pdfa_sha512):
            if digest not in alive:
                svc.archive.remove(digest)


# --- Export ---------------------------------------------------------------------------------
def _unit(session: Session, svc: ArchiveServices, record: ArchiveRecord, today: dt.date, rule: RuleInForce) -> Any:
    """A record as an export unit: titles carry the kind and reference, never the household."""
    from webforms.archive.export import ExportFile, ExportUnit

    kind = get_kind(record.kind)
    term = term_of(session, record, today, rule)
    submitted = paris_date(record.document.submitted_at or record.deposited_at)
    signed = ExportFile(
        path=svc.archive.path(record.signed_sha512),
        name=f"copie-signee.{extension_of(record.signed_mime)}",
        sha512=record.signed_sha512,
        size=record.signed_size,
        mime=record.signed_mime,
        role="Copie signée",
        format_id={"application/pdf": None, "image/jpeg": "fmt/43", "image/png": "fmt/11"}.get(record.signed_mime),
    )
    pdfa = ExportFile(
        path=svc.archive.path(record.pdfa_sha512),
        name="document-genere-pdfa.pdf",
        sha512=record.pdfa_sha512,
        size=record.pdfa_size,
        mime="application/pdf",
        role="Document généré (PDF/A-3b)",
        format_id="fmt/480",
    )
    return ExportUnit(
        identifier=f"archive-{record.id}",
        title=f"{kind.title} {record.reference} — copie signée (version {record.version})",
        description=f"{kind.title} {record.reference}, version {record.version}, {SIGNATURE_KINDS[record.signature_kind].lower()}, déposée le {record.deposited_at:%d/%m/%Y}.",
        reference=record.reference,
        kind=record.kind,
        kind_title=kind.title,
        organisation=record.organisation.name,
        # What the record covers runs from the earlier to the later of its submission and the
        # end of what it is about: a final bilan is often submitted after its measure ended.
        start_date=min(submitted, term.start or submitted),
        end_date=max(submitted, term.start or submitted),
        deposited_at=record.deposited_at,
        retention_years=term.rule.years,
        retention_start=term.start,
        final_action=term.rule.fate,
        files=(signed, pdfa),
        supersedes=f"archive-{record.supersedes_id}" if record.supersedes_id else None,
    )


def export(session: Session, svc: ArchiveServices, records: Sequence[ArchiveRecord], *, fmt: str, user: User, out: BinaryIO) -> str:
    """Write a SEDA 2.2 (``seda``) or BagIt (``bagit``) ZIP of ``records`` to ``out``; log it.

    The files are copied in chunks and their SHA-512 checked on the way: a damaged file stops
    the export (``ArchiveError``) rather than travel on. Returns the ZIP's download name.
    """
    from webforms.archive.export import ExportError, TransferInfo, write_bagit, write_seda

    if not policy.can_export_archive(user):
        raise ArchiveError("Seul un archiviste exporte des enregistrements.")
    if not records:
        raise ArchiveError("Sélectionnez au moins un enregistrement à exporter.")
    tombs = destroyed(session, [r.id for r in records])
    if tombs:
        gone = ", ".join(r.reference for r in records if r.id in tombs)
        raise ArchiveError(f"Enregistrement éliminé, il ne peut plus être exporté : {gone}.")
    now = svc.clock()
    number = (session.scalar(select(func.count()).select_from(ArchiveLog).where(ArchiveLog.action == "export")) or 0) + 1
    info = TransferInfo(
        message_identifier=f"WEBFORMS-{paris_date(now):%Y%m%d}-{number:04d}",
        date=now,
        comment=f"Transfert de {len(records)} document{'s' if len(records) > 1 else ''} signé{'s' if len(records) > 1 else ''} (AML Logement d'abord, ASLL)",
        archival_agency=svc.archival_agency,
        transferring_agency=svc.transferring_agency,
    )
    in_force = {rule.kind: rule for rule in rules(session)}
    units = [_unit(session, svc, r, paris_date(now), in_force[r.kind]) for r in records]
    writer = {"seda": write_seda, "bagit": write_bagit}.get(fmt)
    if writer is None:
        raise ArchiveError("Format d'export inconnu : SEDA 2.2 ou BagIt.")
    try:
        writer(units, info, out)
    except ExportError as exc:
        raise ArchiveError(str(exc)) from None
    for record in records:
        log(session, now, "export", user=user, record=record, format=fmt, message=info.message_identifier)
    commit(session, svc)
    return f"{info.message_identifier}-{fmt}.zip"


# --- Trust roots of electronic signatures (administrator) ----------------------------------
@dataclass(frozen=True)
class TrustRoot:
    """A certificate an electronic signature may chain to, as the administrator sees it."""

    fingerprint: str  # SHA-256 of the DER certificate
    subject: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    filename: str


def _describe(cert: Any, filename: str) -> TrustRoot:
    return TrustRoot(
        fingerprint=hashlib.sha256(cert.dump()).hexdigest(),
        subject=cert.subject.human_friendly,
        issuer=cert.issuer.human_friendly,
        not_before=cert.not_valid_before,
        not_after=cert.not_valid_after,
        filename=filename,
    )


def trust_roots(svc: ArchiveServices) -> list[TrustRoot]:
    """Every configured root, file by file (a file may hold several certificates).

    Raises ``TrustRootsError`` naming a file of the directory that is not a certificate.
    """
    from webforms.archive.signatures import TRUST_ROOT_SUFFIXES, read_trust_root_file

    if svc.trust_dir is None or not svc.trust_dir.is_dir():
        return []
    return [
        _describe(cert, path.name)
        for path in sorted(svc.trust_dir.iterdir())
        if path.suffix.lower() in TRUST_ROOT_SUFFIXES and path.is_file()
        for cert in read_trust_root_file(path)
    ]


def _readable_roots(svc: ArchiveServices) -> list[TrustRoot]:
    from webforms.archive.signatures import TrustRootsError

    try:
        return trust_roots(svc)
    except TrustRootsError as exc:
        raise ArchiveError(f"{exc.message} Corrigez le dossier des autorités sur le serveur.") from None


def add_trust_root(session: Session, svc: ArchiveServices, *, user: User, data: bytes) -> list[TrustRoot]:
    """Add the certificate(s) of an authority (PEM or DER) to the trust roots; log it."""
    from asn1crypto import pem as asn1_pem
    from pyhanko.keys import load_certs_from_pemder_data

    if not policy.can_set_retention_rules(user):
        raise ArchiveError("Seul l'administrateur configure les autorités de confiance.")
    if svc.trust_dir is None:
        raise ArchiveError("Aucun dossier d'autorités de confiance n'est configuré (WEBFORMS_ARCHIVE_TRUST_DIR).")
    if not data or len(data) > 1 << 20:
        raise ArchiveError("Déposez le certificat de l'autorité, au format PEM ou DER (1 Mo au plus).")
    try:
        certs = list(load_certs_from_pemder_data(data))
        for cert in certs:
            cert.native  # noqa: B018 - parse it all now (asn1crypto is lazy)
    except Exception:  # asn1crypto raises many kinds of errors on garbage
        raise ArchiveError("Ce fichier n'est pas un certificat PEM ou DER lisible.") from None
    if not certs:
        raise ArchiveError("Ce fichier ne contient aucun certificat.")
    for cert in certs:
        if not cert.ca:
            raise ArchiveError(f"« {cert.subject.human_friendly} » n'est pas le certificat d'une autorité de certification : déposez celui de l'autorité (racine ou intermédiaire).")
    known = {root.fingerprint for root in _readable_roots(svc)}
    added = []
    svc.trust_dir.mkdir(parents=True, exist_ok=True)
    now = svc.clock()
    for cert in certs:
        info = _describe(cert, "")
        if info.fingerprint in known:
            raise ArchiveError(f"« {info.subject} » est déjà une autorité de confiance.")
        name = f"{info.fingerprint[:32]}.pem"
        (svc.trust_dir / name).write_bytes(asn1_pem.armor("CERTIFICATE", cert.dump()))
        added.append(_describe(cert, name))
        log(session, now, "trust_root_added", user=user, fingerprint=info.fingerprint)
    commit(session, svc)
    return added


def remove_trust_root(session: Session, svc: ArchiveServices, *, user: User, fingerprint: str) -> TrustRoot:
    """Stop trusting an authority: its file goes; records already verified keep their result."""
    if not policy.can_set_retention_rules(user):
        raise ArchiveError("Seul l'administrateur configure les autorités de confiance.")
    roots = _readable_roots(svc)
    root = next((r for r in roots if r.fingerprint == fingerprint), None)
    if root is None or svc.trust_dir is None:
        raise ArchiveError("Cette autorité ne fait plus partie des autorités de confiance.")
    if sum(1 for r in roots if r.filename == root.filename) > 1:
        raise ArchiveError(f"Le fichier {root.filename} contient plusieurs certificats : retirez-le du dossier sur le serveur.")
    (svc.trust_dir / root.filename).unlink()
    log(session, svc.clock(), "trust_root_removed", user=user, fingerprint=fingerprint)
    commit(session, svc)
    return root
