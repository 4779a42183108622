"""Measures covered by a destruction visa (issue 15): the household's identity erased once the term is past."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webforms.models.archive import DestructionVisa
from webforms.models.base import Base, UTCDateTime
from webforms.models.mesures import Mesure
from webforms.models.people import User


class MesureElimination(Base):
    """A measure a visa authorises to erase; done by a second archivist (``eliminated_at``)."""

    __tablename__ = "mesure_elimination"

    id: Mapped[int] = mapped_column(primary_key=True)
    visa_id: Mapped[int] = mapped_column(ForeignKey("destruction_visa.id"), index=True)
    # A measure is on one visa only: once erased, nothing of the household is left to erase.
    mesure_id: Mapped[int] = mapped_column(ForeignKey("mesure.id"), unique=True)
    eliminated_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    eliminated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)

    visa: Mapped[DestructionVisa] = relationship()
    mesure: Mapped[Mesure] = relationship()
    eliminated_by: Mapped[User | None] = relationship()
