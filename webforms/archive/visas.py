"""Records past their retention term, destruction visas, and destruction by a second archivist."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, exists, select
from sqlalchemy.orm import Session

from webforms import policy
from webforms.archive import mesure_retention
from webforms.archive.audit import commit, log
from webforms.archive.retention import Term, rules, term_of
from webforms.archive.search import destroyed
from webforms.archive.services import ArchiveError, ArchiveServices
from webforms.models import ArchiveRecord, DestructionItem, DestructionVisa, Document, Tombstone, User
from webforms.timeutil import paris_date


@dataclass(frozen=True)
class Due:
    """A document whose archived copies are past their retention term."""

    document: Document
    records: list[ArchiveRecord]
    term: Term
    pending_visa: DestructionVisa | None


def past_term(session: Session, today: dt.date, user: User | None = None) -> list[Due]:
    """Documents whose archived copies reached the end of their retention and still exist (of
    ``user``'s territories when given: an archiviste sees and clears only theirs, issue 13)."""
    query = select(ArchiveRecord).order_by(ArchiveRecord.document_id, ArchiveRecord.id)
    if user is not None:
        query = query.where(ArchiveRecord.document_id.in_(policy.visible_documents(user).with_only_columns(Document.id).order_by(None)))
    records = list(session.scalars(query))
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
    mesure_ids: Sequence[int] = (),
    numero: str,
    date_visa: dt.date | None,
    signataire: str,
) -> DestructionVisa:
    """Record the Archives départementales' visa authorising to destroy these documents' copies and to erase these measures.

    Only documents past their term whose rule ends in destruction qualify; every record of each
    document (the deposit and its corrections) is covered. Measures qualify past their own term
    (``mesure_retention``). Nothing is destroyed yet: a second archivist carries the destruction
    out (``execute_visa``).
    """
    if not policy.can_manage_retention(user):
        raise ArchiveError("Seul un archiviste enregistre un visa d'élimination.")
    numero, signataire = numero.strip(), signataire.strip()
    if not numero or not signataire or date_visa is None:
        raise ArchiveError("Le visa d'élimination doit porter un numéro, une date et un signataire.")
    today = paris_date(svc.clock())
    if date_visa > today:
        raise ArchiveError("La date du visa ne peut pas être dans le futur.")
    eligible = {d.document.id: d for d in past_term(session, today, user)}
    chosen = list(dict.fromkeys(document_ids))
    if not chosen and not mesure_ids:
        raise ArchiveError("Sélectionnez au moins un document ou une mesure à éliminer.")
    mesures = mesure_retention.check_chosen(session, today, user, mesure_ids)
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
    mesure_retention.put_on_visa(session, visa, mesures)
    session.flush()
    log(session, now, "destruction_visa", key=svc.seal_key, user=user, visa_id=visa.id, records=[i.record_id for i in visa.items], documents=chosen,
        mesures=[m.id for m in mesures])
    commit(session, svc)
    return visa


def _outside(user: User) -> Select[tuple[int]]:
    """The items of a visa (correlated) whose document ``user`` does not read."""
    readable = policy.visible_documents(user).with_only_columns(Document.id).order_by(None)
    return (
        select(DestructionItem.id)
        .join(ArchiveRecord, ArchiveRecord.id == DestructionItem.record_id)
        .where(DestructionItem.visa_id == DestructionVisa.id, ArchiveRecord.document_id.not_in(readable))
    )


def pending_visas(session: Session, user: User | None = None) -> list[tuple[DestructionVisa, bool]]:
    """Every visa, newest first, with whether its destruction was carried out; with ``user``, only
    the visas whose every document ``user`` reads (an archiviste sees their territories', issue 13)."""
    query = select(DestructionVisa).order_by(DestructionVisa.id.desc())
    if user is not None:
        query = query.where(~exists(_outside(user)), ~exists(mesure_retention.outside(user)))
    visas = list(session.scalars(query))
    done = destroyed(session, [i.record_id for v in visas for i in v.items])
    return [(v, all(i.record_id in done for i in v.items) and all(e.eliminated_at for e in mesure_retention.mesures_of(session, v))) for v in visas]


def visa_in_scope(session: Session, visa: DestructionVisa, user: User) -> bool:
    """Does ``user`` read every document ``visa`` covers (else, to them, the visa does not exist)?"""
    return not session.scalar(select(exists(_outside(user)) | exists(mesure_retention.outside(user))).where(DestructionVisa.id == visa.id))


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
    mesure_retention.erase(session, svc, visa, user=user, now=now)
    session.flush()
    for tomb in made:
        log(session, now, "destruction", key=svc.seal_key, user=user, record=session.get(ArchiveRecord, tomb.record_id), visa_id=visa.id, signed_sha512=tomb.signed_sha512, pdfa_sha512=tomb.pdfa_sha512)
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
