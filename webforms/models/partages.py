"""Recipients without an account (issue 14): a personal, expiring link to one document, and its log."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webforms.models.base import Base, UTCDateTime, utcnow

# Who may receive a document without an account (issue 14: the household's referent social
# worker, the RAST, the bailleur of a contrat tripartite).
QUALITES_PARTAGE = {
    "travailleur_social": "Travailleur social référent du ménage",
    "rast": "RAST du territoire",
    "service_logement": "Service Logement de la DPDS",
    "bailleur": "Bailleur (contrat tripartite)",
}
# What the log of a link records.
TRACES_PARTAGE = {
    "lien_envoye": "Lien envoyé",
    "code_envoye": "Code envoyé",
    "code_refuse": "Code refusé",
    "ouverture": "Document ouvert",
    "telechargement": "Document téléchargé",
    "revocation": "Lien révoqué",
}


class Partage(Base):
    """A personal link to one document for one address, valid until ``expires_at`` unless revoked.

    Neither the link's secret nor the one-time code is stored: each is an HMAC of the app's
    secret key over the row's random ``sel`` (``code_sel`` for the code), computed again to send
    it and to check it. A database read alone gives neither.
    """

    __tablename__ = "partage"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), index=True)
    adresse: Mapped[str] = mapped_column(String(254))
    qualite: Mapped[str] = mapped_column(String(30))
    sel: Mapped[str] = mapped_column(String(64))
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The one-time code asked last: its salt, until when it is valid, how many wrong tries.
    code_sel: Mapped[str | None] = mapped_column(String(64), nullable=True)
    code_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    code_essais: Mapped[int] = mapped_column(Integer, default=0)

    traces: Mapped[list[PartageTrace]] = relationship(order_by="PartageTrace.id", back_populates="partage")


class PartageTrace(Base):
    """One thing done with a link: sent, code sent or refused, opening, download, revocation."""

    __tablename__ = "partage_trace"

    id: Mapped[int] = mapped_column(primary_key=True)
    partage_id: Mapped[int] = mapped_column(ForeignKey("partage.id", ondelete="CASCADE"), index=True)
    quoi: Mapped[str] = mapped_column(String(20))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    partage: Mapped[Partage] = relationship(back_populates="traces")
