"""The Département's document templates (issue 18): each uploaded version, the one in force, the log of moves."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webforms.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:  # relationships name their targets; SQLAlchemy resolves them through its registry
    from webforms.models.people import User

MOUVEMENTS_MODELE = {
    "depot": "Dépôt d'une version vérifiée",
    "apercu": "Aperçu de l'exemple",
    "mise_en_vigueur": "Mise en vigueur",
    "retour": "Retour à une version antérieure",
}


class ModeleVersion(Base):
    """One uploaded version of a template, checked before it was kept; its bytes are in the file store.

    ``number`` counts the versions of one template from 1 (0 names the shipped template, which
    has no row). A version goes into force only once its preview has been seen (``previewed_at``).
    """

    __tablename__ = "modele_version"
    __table_args__ = (UniqueConstraint("template", "number", name="uq_modele_version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(String(200), index=True)  # the file name a kind declares
    format: Mapped[str] = mapped_column(String(10))  # "docx", or "pdf" for an HTML template
    number: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    original_name: Mapped[str] = mapped_column(String(200))
    deposited_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    deposited_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    previewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    deposited_by: Mapped[User] = relationship()


class ModeleEnVigueur(Base):
    """Which version of a template is in force, for every host sharing the database (none: the shipped one)."""

    __tablename__ = "modele_en_vigueur"

    template: Mapped[str] = mapped_column(String(200), primary_key=True)
    version_id: Mapped[int | None] = mapped_column(ForeignKey("modele_version.id"), nullable=True)
    since: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))

    version: Mapped[ModeleVersion | None] = relationship()


class ModeleMouvement(Base):
    """One logged move on a template: a deposit, a preview, a putting in force, a rollback."""

    __tablename__ = "modele_mouvement"

    id: Mapped[int] = mapped_column(primary_key=True)
    template: Mapped[str] = mapped_column(String(200), index=True)
    action: Mapped[str] = mapped_column(String(20))
    number: Mapped[int] = mapped_column(Integer)  # the version concerned (0: the shipped template)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()

    @property
    def action_label(self) -> str:
        """Return the move as administrators read it."""
        return MOUVEMENTS_MODELE.get(self.action, self.action)
