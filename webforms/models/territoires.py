"""Territories (AML platforms, ASLL lots), their zones, who is attached to them, and Département-wide grants."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webforms.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:  # relationships name their targets; SQLAlchemy resolves them through its registry
    from webforms.models.people import User

# A territory's nature: it says which measures it holds (AML §1; ASLL §11).
NATURES_TERRITOIRE = {
    "plateforme_aml": "Plateforme Logement d'abord (AML)",
    "lot_asll": "Lot ASLL",
}
# What a territory is made of: the EPCI of an AML platform (AML §1), the Circonscriptions d'Action
# Médico-Sociale and Pôles Médico-Sociaux of an ASLL lot (ASLL §11), and communes.
NATURES_ZONE = {
    "epci": "EPCI",
    "cams": "Circonscription d'Action Médico-Sociale",
    "pms": "Pôle Médico-Social",
    "commune": "Commune",
}


class Departement(Base):
    """A Département: the unit of a Département-wide scope, and the home of its Service Logement."""

    __tablename__ = "departement"

    nom: Mapped[str] = mapped_column(String(80), primary_key=True)
    # The service that instructs the ASLL Maintien requests (ASLL §8: "le Service Logement de la DPDS").
    service_logement: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # Where its documents are sent (ASLL §9.2, §10); none shipped: the sources give no address.
    service_logement_adresse: Mapped[str | None] = mapped_column(String(254), nullable=True)


class Territoire(Base):
    """An AML platform or an ASLL lot, with its yearly bounds of measures (ASLL §11)."""

    __tablename__ = "territoire"
    __table_args__ = (
        CheckConstraint("mesures_min IS NULL OR mesures_min >= 0", name="ck_territoire_min"),
        CheckConstraint("mesures_min IS NULL OR mesures_max IS NULL OR mesures_min <= mesures_max", name="ck_territoire_bornes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    nature: Mapped[str] = mapped_column(String(20))
    nom: Mapped[str] = mapped_column(String(120), unique=True)
    departement: Mapped[str] = mapped_column(ForeignKey("departement.nom"), index=True)
    mesures_min: Mapped[int | None] = mapped_column(Integer, nullable=True)
    mesures_max: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # Indicative counts per measure type for a year (ASLL §11: "à titre indicatif, pour l'année 2011").
    annee_indicative: Mapped[int | None] = mapped_column(Integer, nullable=True)
    indicatifs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)

    zones: Mapped[list[TerritoireZone]] = relationship(back_populates="territoire", order_by="(TerritoireZone.nature, TerritoireZone.nom)", cascade="all, delete-orphan")

    @property
    def nature_label(self) -> str:
        return NATURES_TERRITOIRE.get(self.nature, self.nature)


class TerritoireZone(Base):
    """One EPCI, circonscription, PMS or commune of a territory; each belongs to one territory."""

    __tablename__ = "territoire_zone"
    __table_args__ = (UniqueConstraint("nature", "nom", name="uq_territoire_zone"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    territoire_id: Mapped[int] = mapped_column(ForeignKey("territoire.id", ondelete="CASCADE"), index=True)
    nature: Mapped[str] = mapped_column(String(20))
    nom: Mapped[str] = mapped_column(String(150))
    # A CAMS's: its RAST's address, where an Installation's bilan is sent (ASLL §9.1).
    adresse: Mapped[str | None] = mapped_column(String(254), nullable=True)
    # A PMS's or commune's: the name of its CAMS in the same territory, whose RAST receives the
    # household's Installation bilans (ASLL §9.1, §11); none: every CAMS of the territory.
    cams: Mapped[str | None] = mapped_column(String(150), nullable=True)

    territoire: Mapped[Territoire] = relationship(back_populates="zones")


class OrganisationTerritoire(Base):
    """An organisation works on this territory (an operator of a platform or of a lot)."""

    __tablename__ = "organisation_territoire"

    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"), primary_key=True)
    territoire_id: Mapped[int] = mapped_column(ForeignKey("territoire.id", ondelete="CASCADE"), primary_key=True, index=True)


class UserTerritoire(Base):
    """A coordinator, instructeur or archiviste reads this territory's documents and measures."""

    __tablename__ = "user_territoire"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    territoire_id: Mapped[int] = mapped_column(ForeignKey("territoire.id", ondelete="CASCADE"), primary_key=True, index=True)


class PorteeDepartement(Base):
    """An explicit grant: ``user`` reads every territory of the Département, and what has none."""

    __tablename__ = "portee_departement"
    __table_args__ = (UniqueConstraint("user_id", "departement", name="uq_portee_departement"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    departement: Mapped[str] = mapped_column(ForeignKey("departement.nom"))
    accordee_par_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    accordee_le: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    accordee_par: Mapped[User | None] = relationship(foreign_keys=[accordee_par_id], lazy="joined")
