"""Export of archive records to the Archives départementales: SEDA 2.2 or BagIt (written by ``export``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schemas import get_kind
from webforms import policy
from webforms.archive.audit import log
from webforms.archive.export import ExportError, ExportFile, ExportUnit, TransferInfo, write_bagit, write_seda
from webforms.archive.retention import RuleInForce, rules, term_of
from webforms.archive.search import destroyed
from webforms.archive.services import ArchiveError, ArchiveServices
from webforms.documents.uploads import extension_of
from webforms.models import NATURES_MESSAGE, SIGNATURE_KINDS, ArchiveLog, ArchiveRecord, Message, PieceJointe, User
from webforms.timeutil import paris_date

WRITERS = {"seda": write_seda, "bagit": write_bagit}


def _sha512_of(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as data:
        for chunk in iter(lambda: data.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _thread_files(session: Session, svc: ArchiveServices, record: ArchiveRecord, workdir: Path) -> tuple[ExportFile, ...]:
    """The document's thread, part of its record (issue 14): ``discussion.json`` and each attachment as stored.

    The transcript is written in ``workdir`` (removed after the export); the attachments are read
    from the working store, their SHA-512 computed here and checked again on the copy.
    """
    messages = list(session.scalars(select(Message).where(Message.document_id == record.document_id).order_by(Message.id)))
    if not messages:
        return ()
    attached = session.scalars(select(PieceJointe).where(PieceJointe.message_id.in_([m.id for m in messages])).order_by(PieceJointe.id)).all()
    names = {pj.id: f"discussion-piece-jointe-{pj.id}.{extension_of(pj.mime)}" for pj in attached}
    transcript = [
        {
            "auteur": m.user.full_name,
            "organisation": m.user.organisation.name if m.user.organisation else "",
            "nature": NATURES_MESSAGE[m.nature],
            "date": m.at.isoformat(timespec="seconds"),
            "texte": m.texte,
            "repondue_le": m.answered_at.isoformat(timespec="seconds") if m.answered_at else None,
            "pieces_jointes": [{"fichier": names[pj.id], "nom_d_origine": pj.original_name} for pj in attached if pj.message_id == m.id],
        }
        for m in messages
    ]
    path = workdir / f"discussion-{record.id}.json"
    path.write_text(json.dumps(transcript, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    files = [ExportFile(path=path, name="discussion.json", sha512=_sha512_of(path), size=path.stat().st_size, mime="application/json", role="Discussion du document (messages)")]
    for pj in attached:
        stored = svc.files.path(pj.sha256)
        files.append(ExportFile(path=stored, name=names[pj.id], sha512=_sha512_of(stored), size=pj.size, mime=pj.mime, role="Pièce jointe d'un message de la discussion"))
    return tuple(files)


def _unit(session: Session, svc: ArchiveServices, record: ArchiveRecord, today: dt.date, rule: RuleInForce, workdir: Path) -> ExportUnit:
    """A record as an export unit: titles carry the kind and reference, never the household."""
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
        files=(signed, pdfa, *_thread_files(session, svc, record, workdir)),
        supersedes=f"archive-{record.supersedes_id}" if record.supersedes_id else None,
    )


def check_export(session: Session, records: Sequence[ArchiveRecord], *, fmt: str, user: User) -> None:
    """Refuse an export the user, the format or the records do not allow (asked, then run)."""
    if not policy.can_export_archive(user):
        raise ArchiveError("Seul un archiviste exporte des enregistrements.")
    if fmt not in WRITERS:
        raise ArchiveError("Format d'export inconnu : SEDA 2.2 ou BagIt.")
    if not records:
        raise ArchiveError("Sélectionnez au moins un enregistrement à exporter.")
    tombs = destroyed(session, [r.id for r in records])
    if tombs:
        gone = ", ".join(r.reference for r in records if r.id in tombs)
        raise ArchiveError(f"Enregistrement éliminé, il ne peut plus être exporté : {gone}.")


def write_logged(session: Session, svc: ArchiveServices, records: Sequence[ArchiveRecord], *, fmt: str, user: User, out: BinaryIO) -> str:
    """Write the ZIP of ``records`` to ``out`` and log the export, uncommitted (``audit.commit`` witnesses it).

    The files are copied in chunks and their SHA-512 checked on the way: a damaged file stops
    the export (``ArchiveError``) rather than travel on. Returns the ZIP's download name.
    """
    check_export(session, records, fmt=fmt, user=user)
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
    with tempfile.TemporaryDirectory(prefix="webforms-export-") as workdir:
        units = [_unit(session, svc, r, paris_date(now), in_force[r.kind], Path(workdir)) for r in records]
        try:
            WRITERS[fmt](units, info, out)
        except ExportError as exc:
            raise ArchiveError(str(exc)) from None
    for record in records:
        log(session, now, "export", key=svc.seal_key, user=user, record=record, format=fmt, message=info.message_identifier)
    return f"{info.message_identifier}-{fmt}.zip"
