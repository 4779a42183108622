"""The measures without a territory (opened before territories existed, or none could be told) and their assignment.

Migration 0026 gave the existing measures the territory their data tells; what remains is listed
for the administrator, who assigns each one (page ``/admin/territoires/mesures``, or
``webforms territories assign``). Each assignment is sealed in the archive's audit log, since it
decides who reads the household's measure (issue 13).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from webforms.archive import audit
from webforms.archive.services import ArchiveServices
from webforms.models import Mesure, Territoire, User
from webforms.territoires.scope import NATURE_OF_MEASURE
from webforms.territoires.services import TerritoireError


def unassigned(session: Session) -> list[Mesure]:
    """The measures without a territory, oldest first."""
    return list(session.scalars(select(Mesure).where(Mesure.territoire_id.is_(None)).order_by(Mesure.id)))


def choices(session: Session, mesure: Mesure) -> list[Territoire]:
    """The territories a measure may be given: those of its nature (AML: a platform; ASLL: a lot)."""
    return list(session.scalars(select(Territoire).where(Territoire.nature == NATURE_OF_MEASURE.get(mesure.type_mesure)).order_by(Territoire.nom)))


def assign(session: Session, svc: ArchiveServices, mesure: Mesure, code: str, *, by: User | None, now: dt.datetime) -> Territoire:
    """Give ``mesure``, still without one, the territory ``code`` of its nature; sealed in the audit log."""
    if mesure.territoire_id is not None:
        raise TerritoireError(f"La mesure {mesure.reference} a déjà un territoire : rien n'a changé.")
    territoire = next((t for t in choices(session, mesure) if t.code == code), None)
    if territoire is None:
        raise TerritoireError(f"Choisissez, pour la mesure {mesure.reference}, un territoire de sa nature (plateforme pour l'AML, lot pour l'ASLL).")
    mesure.territoire_id = territoire.id
    audit.log(session, now, "territoire_mesure", key=svc.seal_key, user=by, mesure=mesure.id, territoire=territoire.code)
    audit.commit(session, svc)
    return territoire
