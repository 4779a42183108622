"""Support measures, their meetings and renewals."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import (
    Date,
    ForeignKey,
    Integer,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webforms.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:  # relationships name their targets; SQLAlchemy resolves them through its registry
    from webforms.models.documents import Document
    from webforms.models.people import Organisation, User


class Mesure(Base):
    """A household's support measure: the record bilans and incident sheets refer to."""

    __tablename__ = "mesure"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"), index=True)
    referent_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    type_mesure: Mapped[str] = mapped_column(String(30))
    menage_nom: Mapped[str] = mapped_column(String(150))
    menage_prenom: Mapped[str] = mapped_column(String(100))
    menage_commune: Mapped[str | None] = mapped_column(String(150), nullable=True)
    date_bon_commande: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    date_premiere_rencontre: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    duree_mois: Mapped[int] = mapped_column(Integer)
    travailleur_social: Mapped[str | None] = mapped_column(String(150), nullable=True)
    statut: Mapped[str] = mapped_column(String(20), default="en_cours")
    # The platform or lot the measure belongs to, fixed when it is opened (webforms/territoires/scope.py,
    # ``territory_for_mesure``); NULL: none could be told, the Département's (docs/territories.md).
    territoire_id: Mapped[int | None] = mapped_column(ForeignKey("territoire.id"), index=True, nullable=True)
    # A measure closed before (or at) its term: the day it ended and why.
    date_fin_effective: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    motif_fin: Mapped[str | None] = mapped_column(String(40), nullable=True)
    commentaire_fin: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    # Ended for another measure (MASP, MAJ…): the day that measure starts; the bilan is due before it (ASLL §9).
    date_debut_relais: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    organisation: Mapped[Organisation] = relationship(lazy="joined")
    referent: Mapped[User] = relationship(lazy="joined")
    rencontres: Mapped[list[Rencontre]] = relationship(back_populates="mesure", order_by="Rencontre.date")
    renouvellements: Mapped[list[Renouvellement]] = relationship(back_populates="mesure", order_by="Renouvellement.date_decision")
    documents: Mapped[list[Document]] = relationship(back_populates="mesure", order_by="Document.id")


class Rencontre(Base):
    """A meeting with the household, counted against the required rhythm."""

    __tablename__ = "rencontre"

    id: Mapped[int] = mapped_column(primary_key=True)
    mesure_id: Mapped[int] = mapped_column(ForeignKey("mesure.id"), index=True)
    date: Mapped[dt.date] = mapped_column(Date)
    nature: Mapped[str] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(String(200), nullable=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    mesure: Mapped[Mesure] = relationship(back_populates="rencontres")


class Renouvellement(Base):
    """A renewal of an ASLL Maintien, starting on the day of the DPDS decision (ASLL §8)."""

    __tablename__ = "renouvellement"

    id: Mapped[int] = mapped_column(primary_key=True)
    mesure_id: Mapped[int] = mapped_column(ForeignKey("mesure.id"), index=True)
    date_decision: Mapped[dt.date] = mapped_column(Date)
    duree_mois: Mapped[int] = mapped_column(Integer)
    motif: Mapped[str] = mapped_column(String(1000))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    mesure: Mapped[Mesure] = relationship(back_populates="renouvellements")
