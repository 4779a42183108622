"""Measures past their retention term: listed, put on a destruction visa, erased by a second archivist.

A measure holds the household's identity (name, first name), the social worker's name, the
closing comment, the meetings' notes and the renewals' reasons: past the term (``retention.MESURE``,
2 years after the last contact by default, CNIL 2023-095), these are erased, as the signed copies
of documents are destroyed: the Archives départementales' visa recorded by an archivist, the
erasure done by another. What is not personal stays (reference, type, organisation, territory,
commune, dates), so that the statistics and the measure's documents keep their measure.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from webforms.archive.audit import log
from webforms.archive.retention import MESURE, Term, mesure_term, rule_for
from webforms.archive.services import ArchiveError, ArchiveServices
from webforms.models import DestructionVisa, Mesure, MesureElimination, Rencontre, Renouvellement, User
from webforms.territoires.scope import mesure_scope
from webforms.timeutil import paris_date

ERASED = "(éliminé)"  # what stays in place of the household's name


@dataclass(frozen=True)
class DueMesure:
    """A measure past its retention term, not erased yet, with the visa that covers it if any."""

    mesure: Mesure
    term: Term
    pending_visa: DestructionVisa | None


def mesures_past_term(session: Session, today: dt.date, user: User | None = None) -> list[DueMesure]:
    """Measures whose term came by ``today`` and are not erased (of ``user``'s territories when given)."""
    query = select(Mesure).order_by(Mesure.id)
    if user is not None:
        query = query.where(mesure_scope(user))
    rule = rule_for(session, MESURE)
    elims = {e.mesure_id: e for e in session.scalars(select(MesureElimination))}
    due = []
    for mesure in session.scalars(query):
        elim = elims.get(mesure.id)
        if elim is not None and elim.eliminated_at is not None:
            continue
        term = mesure_term(session, mesure, today, rule)
        if term.past(today):
            due.append(DueMesure(mesure, term, elim.visa if elim else None))
    return sorted(due, key=lambda d: (d.term.end, d.mesure.id))  # type: ignore[arg-type, return-value]


def check_chosen(session: Session, today: dt.date, user: User, mesure_ids: Sequence[int]) -> list[Mesure]:
    """Return the chosen measures if each may go on a visa (past its term, on none yet); refuse in French otherwise."""
    eligible = {d.mesure.id: d for d in mesures_past_term(session, today, user)}
    chosen = []
    for mesure_id in dict.fromkeys(mesure_ids):
        due = eligible.get(mesure_id)
        if due is None:
            raise ArchiveError("Une des mesures choisies n'a pas atteint le terme de sa conservation : rien n'a été enregistré.")
        if due.pending_visa is not None:
            raise ArchiveError(f"La mesure {due.mesure.reference} figure déjà sur le visa n° {due.pending_visa.numero} : rien n'a été enregistré.")
        chosen.append(due.mesure)
    return chosen


def put_on_visa(session: Session, visa: DestructionVisa, mesures: Sequence[Mesure]) -> None:
    """Record that ``visa`` covers ``mesures`` (nothing erased yet)."""
    session.add_all(MesureElimination(visa_id=visa.id, mesure_id=m.id) for m in mesures)


def outside(user: User) -> Select[tuple[int]]:
    """The measures of a visa (correlated) outside ``user``'s territories."""
    return (
        select(MesureElimination.id)
        .join(Mesure, Mesure.id == MesureElimination.mesure_id)
        .where(MesureElimination.visa_id == DestructionVisa.id, ~mesure_scope(user))
    )


def mesures_of(session: Session, visa: DestructionVisa) -> list[MesureElimination]:
    """The measures ``visa`` covers, erased or not."""
    return list(session.scalars(select(MesureElimination).where(MesureElimination.visa_id == visa.id).order_by(MesureElimination.mesure_id)))


def erase(session: Session, svc: ArchiveServices, visa: DestructionVisa, *, user: User, now: dt.datetime) -> int:
    """Erase the household data of the measures ``visa`` covers, each still past its term; return how many (committed by the caller)."""
    today = paris_date(now)
    rule = rule_for(session, MESURE)
    done = 0
    for elim in mesures_of(session, visa):
        if elim.eliminated_at is not None:
            continue
        mesure = elim.mesure
        if not mesure_term(session, mesure, today, rule).past(today):
            raise ArchiveError(f"La mesure {mesure.reference} n'a plus atteint le terme de sa conservation (règle modifiée ?) : rien n'a été éliminé.")
        mesure.menage_nom, mesure.menage_prenom, mesure.travailleur_social, mesure.commentaire_fin = ERASED, ERASED, None, None
        session.execute(update(Rencontre).where(Rencontre.mesure_id == mesure.id).values(note=None))
        session.execute(update(Renouvellement).where(Renouvellement.mesure_id == mesure.id).values(motif=ERASED))
        elim.eliminated_at, elim.eliminated_by_id = now, user.id
        log(session, now, "mesure_eliminee", key=svc.seal_key, user=user, mesure=mesure.id, visa_id=visa.id)
        done += 1
    return done
