"""ASLL §4: the referents' Diplôme d'État in social work, recorded by their organisation's writers.

An ASLL measure is not given to a referent without one (``services.check_referent``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.base.records import DIPLOMES_ETAT, DiplomeSchema
from webforms import policy
from webforms.errors import INTEGER_MAX, ValidationFailed
from webforms.mesures.services import load
from webforms.models import DiplomeReferent, Event, User


def team(session: Session, user: User) -> list[dict[str, Any]]:
    """The writers of ``user``'s organisation and their diploma, as plain values."""
    people = session.scalars(
        select(User).where(User.organisation_id == user.organisation_id, User.active.is_(True)).order_by(User.full_name, User.id)
    ).unique().all()
    labels = dict(DIPLOMES_ETAT)
    out = []
    for person in people:
        if not policy.can_create_mesure(person):
            continue
        row = session.get(DiplomeReferent, person.id)
        out.append({"id": person.id, "nom": person.full_name, "diplome": labels.get(row.diplome, row.diplome) if row else None})
    return out


def record_diploma(session: Session, svc: Any, *, user: User, payload: Mapping[str, Any]) -> DiplomeReferent:
    """Record (or correct) the Diplôme d'État of one of the organisation's writers."""
    values = load(DiplomeSchema, payload, "Le diplôme ne peut pas être enregistré : corrigez les erreurs signalées.")
    # A number past what the database holds names no account (issue 15: no overflow in the driver).
    person = session.get(User, values["referent_id"]) if 0 < (values["referent_id"] or 0) <= INTEGER_MAX else None
    if person is None or not person.active or person.organisation_id != user.organisation_id or not policy.can_create_mesure(person):
        raise ValidationFailed(
            "Ce référent n'est pas un compte actif de votre organisation.", {"referent_id": ["Choisissez un référent de votre organisation dans la liste."]}
        )
    now = svc.clock()
    row = session.get(DiplomeReferent, person.id)
    if row is None:
        row = DiplomeReferent(user_id=person.id, diplome=values["diplome"], recorded_at=now, recorded_by_id=user.id)
        session.add(row)
    else:
        row.diplome, row.recorded_at, row.recorded_by_id = values["diplome"], now, user.id
    session.add(Event(user=user, action="record_diploma", at=now, detail={"referent": person.id, "diplome": values["diplome"]}))
    session.commit()
    return row
