"""Deposit of the signed copy of a submitted document (a second deposit is a correction)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import uuid
from pathlib import Path
from typing import BinaryIO

from sqlalchemy.orm import Session

from schemas import get_kind
from webforms import policy
from webforms.archive.audit import commit, log, record_digest
from webforms.archive.marks import check_copy, expected_of, read_marks
from webforms.archive.retention import RuleInForce, rule_for
from webforms.archive.search import current_record, destroyed
from webforms.archive.services import ArchiveError, ArchiveServices, CopyRefused
from webforms.archive.signatures import SignatureCheck, TrustRootsError, load_trust_roots, verify_pdf_signatures
from webforms.archive.timestamps import stamp
from webforms.documents.services import rendition
from webforms.documents.storage import StoredFileMissing
from webforms.documents.uploads import CheckedFile, check_upload
from webforms.models import SIGNATURE_KINDS, ArchiveRecord, Document, Rendition, User

SIGNED_FORMATS = frozenset({"pdf", "jpeg", "png"})
# A Word file signed in Word is not archived as such (docs/decisions.md, "La marque de la version
# Word"): its signature cannot be verified here, and its pages are laid out anew by each reader.
WORD_SUFFIXES = frozenset({".docx", ".docm", ".doc", ".odt"})
MSG_SIGNED_WORD = (
    "Un document Word signé ne s'archive pas tel quel : sa signature ne peut pas être vérifiée ici et "
    "sa mise en page change selon le logiciel qui l'ouvre. Déposez un fichier PDF, JPEG ou PNG : "
    "enregistrez la version Word en PDF puis signez ce PDF, ou imprimez-la, signez-la et "
    "numérisez-la ; la marque de la version (référence, version, empreinte, code QR) y reste "
    "lisible. Rien n'a été archivé."
)


def _hash_stream(stream: BinaryIO) -> tuple[str, int]:
    """SHA-512 and size of an upload as received, then rewind it for the content check."""
    hasher = hashlib.sha512()
    size = 0
    while chunk := stream.read(1 << 20):
        hasher.update(chunk)
        size += len(chunk)
    stream.seek(0)
    return hasher.hexdigest(), size


def archived_pdf(doc: Document, version: int, frozen: bytes, now: dt.datetime) -> bytes:
    """Attach the document's data as ``donnees.json`` to its frozen PDF/A-3b of ``version``.

    The frozen rendition is already PDF/A-3b (``Renderer.render``): its pages are kept
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
    notes: list[str] | None = None,
) -> ArchiveRecord:
    """Archive the signed copy of a submitted document; a second deposit is a correction.

    The upload is checked by its content (``webforms.documents.uploads``); a refusal raises
    ``UploadRefused`` or ``ArchiveError`` (``CopyRefused`` for the file itself) and leaves the archive exactly as it was. A copy that
    names another document or version is refused; one whose mark cannot be read is archived
    with a French warning appended to ``notes``.
    """
    motif = (motif or "").strip() or None
    previous = _previous_if_allowed(session, doc, user=user, signature_kind=signature_kind, motif=motif)
    source, source_bytes = _frozen_source(session, svc, doc)
    if Path(filename).suffix.lower() in WORD_SUFFIXES:
        raise CopyRefused(MSG_SIGNED_WORD)
    received = _hash_stream(stream)
    checked = check_upload(stream, filename, allowed=SIGNED_FORMATS, max_bytes=svc.max_bytes, workdir=workdir)
    # The files wait in a staging folder of their own until the record is committed (issue 15):
    # a deposit refused or killed before its commit leaves nothing in the archive's files.
    batch = uuid.uuid4().hex
    try:
        check = _signature_check(svc, checked, signature_kind)
        warning = _copy_check(doc, source, source_bytes, checked)
        now = svc.clock()
        rule = rule_for(session, doc.kind)
        signed = svc.archive.stage(batch, checked.data_path)
        if previous is not None and signed[0] == previous.signed_sha512:
            raise CopyRefused("Ce fichier est identique à la copie déjà archivée : la correction doit apporter un autre fichier.")
        pdfa = svc.archive.stage(batch, archived_pdf(doc, source.version, source_bytes, now))
        record = _new_record(
            doc, source, hashlib.sha512(source_bytes).hexdigest(), checked,
            received=received, signed=signed, pdfa=pdfa, signature_kind=signature_kind, check=check,
            rule=rule, user=user, now=now, previous=previous, motif=motif,
        )
        session.add(record)
        session.flush()
        _log_deposit(session, svc, record, user=user, now=now, mark_read=warning is None)
        commit(session, svc)
    except BaseException:
        session.rollback()
        svc.archive.discard(batch)
        raise
    finally:
        checked.data_path.unlink(missing_ok=True)
    # Committed: the files join the archive. Killed between the commit and here, the folder is
    # settled later (``webforms.archive.staging``: by verification and daily), never lost.
    svc.archive.settle(batch)
    if warning is not None and notes is not None:
        notes.append(warning)
    return record


def _previous_if_allowed(session: Session, doc: Document, *, user: User, signature_kind: str, motif: str | None) -> ArchiveRecord | None:
    """Refuse a deposit the user, the document or its archive does not allow; return the record it corrects."""
    if not policy.can_archive(user, doc):
        raise ArchiveError("Seul un archiviste dépose la copie signée d'un document soumis.")
    if doc.statut == "brouillon":
        raise ArchiveError("Le document est en cours de correction : archivez-le une fois soumis à nouveau.")
    if signature_kind not in SIGNATURE_KINDS:
        raise ArchiveError("Indiquez le type de signature : scan d'une signature manuscrite ou PDF signé électroniquement.")
    previous = current_record(session, doc)
    if previous is not None:
        if destroyed(session, [previous.id]):
            raise ArchiveError("Les copies archivées de ce document ont été éliminées : aucun nouveau dépôt n'est possible.")
        if motif is None:
            raise ArchiveError("Une copie signée est déjà archivée : indiquez le motif de la correction.")
    return previous


def _frozen_source(session: Session, svc: ArchiveServices, doc: Document) -> tuple[Rendition, bytes]:
    """The stored PDF rendition of the document's frozen version, and its bytes (checked)."""
    source = rendition(session, doc, "pdf")
    if source is None:
        raise ArchiveError("Le document n'a pas de version PDF figée à archiver.")
    try:
        return source, svc.files.read(source.sha256, verify=True)
    except StoredFileMissing:
        raise ArchiveError("Le PDF généré de ce document est introuvable dans le stockage : prévenez l'administrateur.") from None


def _signature_check(svc: ArchiveServices, checked: CheckedFile, signature_kind: str) -> SignatureCheck | None:
    """Verify an electronically signed PDF against the trust roots; a scan has nothing to verify."""
    if signature_kind != "electronique":
        return None
    if checked.kind != "pdf":
        raise CopyRefused("Une signature électronique se dépose en PDF : pour une image, choisissez « scan ».")
    try:
        roots = load_trust_roots(svc.trust_dir)
    except TrustRootsError:
        raise ArchiveError("Les autorités de confiance configurées sont illisibles : prévenez l'administrateur (page « Autorités de confiance »).") from None
    check = verify_pdf_signatures(checked.data_path, roots)
    if not check.signed:
        raise CopyRefused("Ce PDF ne porte aucune signature électronique : choisissez « scan » s'il a été signé à la main.")
    # Issue 15: a PDF whose signed content was altered, whose signature does not match its
    # certificate, or that was changed after signing is not the signed copy: refused, the
    # document keeps waiting for one. A valid signature of an authority that is not configured
    # is archived, and the record says so (docs/archive.md).
    if not (check.intact and check.valid and check.covers_whole_file):
        raise CopyRefused(f"La signature électronique de ce PDF ne tient pas : {check.summary} Rien n'a été archivé : déposez le PDF tel qu'il a été signé.")
    return check


def _copy_check(doc: Document, source: Rendition, source_bytes: bytes, checked: CheckedFile) -> str | None:
    """Refuse the copy of another document or version (issue 15); return a warning when its mark cannot be read."""
    expected = expected_of(source_bytes, reference=doc.reference or "", version=source.version)
    return check_copy(expected, read_marks(checked.data_path, checked.kind), pages=checked.pages)


def _new_record(
    doc: Document,
    source: Rendition,
    source_sha512: str,
    checked: CheckedFile,
    *,
    received: tuple[str, int],
    signed: tuple[str, int],
    pdfa: tuple[str, int],
    signature_kind: str,
    check: SignatureCheck | None,
    rule: RuleInForce,
    user: User,
    now: dt.datetime,
    previous: ArchiveRecord | None,
    motif: str | None,
) -> ArchiveRecord:
    """The archive record of a deposit: its files' digests and sizes (SHA-512), who, when, what rule."""
    return ArchiveRecord(
        document_id=doc.id,
        version=source.version,
        kind=doc.kind,
        organisation_id=doc.organisation_id,
        reference=doc.reference or "",
        household_reference=doc.mesure.reference if doc.mesure else None,
        source_rendition_id=source.id,
        source_sha512=source_sha512,
        pdfa_sha512=pdfa[0],
        pdfa_size=pdfa[1],
        signed_sha512=signed[0],
        signed_size=signed[1],
        signed_mime=checked.mime,
        signed_pages=checked.pages,
        received_sha512=received[0],
        received_size=received[1],
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


def _log_deposit(session: Session, svc: ArchiveServices, record: ArchiveRecord, *, user: User, now: dt.datetime, mark_read: bool) -> None:
    """Append the deposit to the audit trail, with the digests of the three files it concerns and of the record itself."""
    log(
        session,
        now,
        "deposit",
        key=svc.seal_key,
        user=user,
        record=record,
        version=record.version,
        signed_sha512=record.signed_sha512,
        pdfa_sha512=record.pdfa_sha512,
        source_sha512=record.source_sha512,
        supersedes=record.supersedes_id,
        record_sha512=record_digest(record),
        marque="lue" if mark_read else "illisible",
        **(stamp(svc.timestamper, record.signed_sha512) if svc.timestamper is not None else {}),
    )
