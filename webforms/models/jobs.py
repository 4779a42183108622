"""What was asked of the background workers."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webforms.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:  # relationships name their targets; SQLAlchemy resolves them through its registry
    from webforms.models.documents import Document
    from webforms.models.people import User

STATUTS_TRAVAIL = {
    "en_attente": "En attente",
    "en_cours": "En cours",
    "termine": "Terminé",
    "echec": "Échec",
}


class Travail(Base):
    """Work asked of the job queue for a user: a render, a dossier, an export (webforms.jobs).

    The request that asks for it records it with its procrastinate job, in one transaction; the
    worker updates its state, its outcome and what it produced; its page shows the progress.
    """

    __tablename__ = "travail"

    id: Mapped[int] = mapped_column(primary_key=True)
    nature: Mapped[str] = mapped_column(String(40))
    libelle: Mapped[str] = mapped_column(String(200))
    statut: Mapped[str] = mapped_column(String(20), default="en_attente", server_default="en_attente")
    job_id: Mapped[int | None] = mapped_column(BigInteger, index=True, nullable=True)
    document_id: Mapped[int | None] = mapped_column(ForeignKey("document.id"), index=True, nullable=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    # What the task needs, frozen at the request (a version's data, not the document's latest).
    parametres: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    resultat: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    erreur: Mapped[str | None] = mapped_column(Text, nullable=True)
    essais: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    document: Mapped[Document | None] = relationship()
    user: Mapped[User | None] = relationship()

    @property
    def statut_label(self) -> str:
        """Return the state as users read it."""
        return STATUTS_TRAVAIL.get(self.statut, self.statut)
