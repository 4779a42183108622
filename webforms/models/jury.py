"""The jury's work on a call's recevable dossiers: each member's evaluation, the jury's avis (AML §6c, §6d).

The grid is the call's configuration (``appel.data["grille"]``); an evaluation keeps one member's
scores and comments against it, a draft until the member signs it off.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, Date, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webforms.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:  # relationships name their targets; SQLAlchemy resolves them through its registry
    from webforms.models.people import User


class Evaluation(Base):
    """One jury member's scores of one dossier, per sub-criterion, with comments (AML §6c).

    ``notes``: criterion code → one score (or None, not yet scored) per sub-criterion, in the
    grid's order; ``commentaires``: criterion code → one comment per sub-criterion. A draft until
    ``signed_at``; a signed evaluation no longer changes.
    """

    __tablename__ = "jury_evaluation"

    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True, index=True)
    notes: Mapped[dict[str, Any]] = mapped_column(JSON)
    commentaires: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    signed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    # Not joined: the row is read FOR UPDATE, which PostgreSQL refuses through an outer join.
    user: Mapped[User] = relationship()


class Avis(Base):
    """The jury's avis on a dossier (AML §6d: the jury "émettra un avis"): favorable, défavorable or réservé, with its text."""

    __tablename__ = "jury_avis"

    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), primary_key=True)
    # "favorable", "defavorable", "reserve"
    avis: Mapped[str] = mapped_column(String(20))
    texte: Mapped[str] = mapped_column(String(2000))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship()


class Decision(Base):
    """The decision on a call's dossiers: the date of the Commission Permanente that deliberated (AML §6d)."""

    __tablename__ = "jury_decision"

    appel_id: Mapped[int] = mapped_column(ForeignKey("appel.id"), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Lettre(Base):
    """The notification letter of a decided dossier (AML §6d): a submitted ``notification_aml`` document."""

    __tablename__ = "jury_lettre"

    dossier_id: Mapped[int] = mapped_column(ForeignKey("document.id"), primary_key=True)
    lettre_id: Mapped[int] = mapped_column(ForeignKey("document.id"), unique=True)
