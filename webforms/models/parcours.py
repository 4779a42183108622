"""One thread per household (issue 13): where a measure comes from, and the ASLL referents' diplomas."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webforms.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:  # relationships name their targets; SQLAlchemy resolves them through its registry
    from webforms.models.documents import Document
    from webforms.models.mesures import Mesure
    from webforms.models.people import User

class MesureOrigine(Base):
    """What opened a measure: the referral the coordinator validated, or the bilan that asked for it.

    A row per measure opened by the thread; a measure opened by hand has none. The link is kept
    apart from ``mesure`` so that a measure and its documents stay joined by one key only.
    """

    __tablename__ = "mesure_origine"

    mesure_id: Mapped[int] = mapped_column(ForeignKey("mesure.id"), primary_key=True)
    # The fiche saisine whose validated decision created this AML measure (AML §4).
    saisine_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"), unique=True, nullable=True)
    # The ASLL Installation bilan whose proposal opened this Maintien request (ASLL §2.1, §9.1).
    bilan_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"), unique=True, nullable=True)
    mesure_precedente_id: Mapped[int | None] = mapped_column(ForeignKey("mesure.id"), index=True, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    mesure: Mapped[Mesure] = relationship(foreign_keys=[mesure_id])
    saisine: Mapped[Document | None] = relationship(foreign_keys=[saisine_id])
    bilan: Mapped[Document | None] = relationship(foreign_keys=[bilan_id])
    precedente: Mapped[Mesure | None] = relationship(foreign_keys=[mesure_precedente_id])


class DiplomeReferent(Base):
    """An ASLL referent's Diplôme d'État in social work (ASLL §4: ``schemas.base.records.DIPLOMES_ETAT``), recorded by their organisation."""

    __tablename__ = "diplome_referent"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    diplome: Mapped[str] = mapped_column(String(10))
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))

    user: Mapped[User] = relationship(foreign_keys=[user_id])
