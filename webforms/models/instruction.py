"""The instruction of a deposited candidature dossier: its state, its moves, correction requests, annotations.

The state is the candidature's own (``webforms/candidatures/instruction.py`` holds its table of
moves); the generic lifecycle of documents knows nothing of it.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    JSON,
    Date,
    ForeignKey,
    String,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webforms.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:  # relationships name their targets; SQLAlchemy resolves them through its registry
    from webforms.models.candidatures import Piece
    from webforms.models.people import User


class Instruction(Base):
    """Where a deposited dossier stands in its instruction (one row, created by its first move).

    A deposited dossier without a row is "déposé": nothing has been done with it yet.
    """

    __tablename__ = "instruction"

    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), primary_key=True)
    # "depose", "en_instruction", "recevable", "irrecevable", "examine", "retenu", "non_retenu", "notifie"
    etat: Mapped[str] = mapped_column(String(20))
    # The reason of the last move that needs one (irrecevable: "incomplet", "non_eligible", "autre").
    motif: Mapped[str | None] = mapped_column(String(20), nullable=True)
    texte: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    # Retenu: the measures granted per territory ({"Artois": 4, ...}, AML §5).
    mesures: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class InstructionMove(Base):
    """One move of a dossier's instruction: who, when, from which state to which, why."""

    __tablename__ = "instruction_move"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), index=True)
    action: Mapped[str] = mapped_column(String(30))
    depuis: Mapped[str] = mapped_column(String(20))
    vers: Mapped[str] = mapped_column(String(20))
    motif: Mapped[str | None] = mapped_column(String(20), nullable=True)
    texte: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    mesures: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class CorrectionRequest(Base):
    """An instructeur's request for a correction before the deadline (régularisation, AML §6b).

    Tied to the dossier, or to one of its deposited pieces (which is then marked non-compliant);
    answered by the dossier's next deposit.
    """

    __tablename__ = "correction_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), index=True)
    piece_id: Mapped[int | None] = mapped_column(ForeignKey("piece.id"), nullable=True)
    texte: Mapped[str] = mapped_column(String(2000))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    user: Mapped[User] = relationship(lazy="joined")
    piece: Mapped[Piece | None] = relationship()


class Annotation(Base):
    """An instructeur's private note on a dossier: never shown to the association."""

    __tablename__ = "annotation"

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id"), index=True)
    texte: Mapped[str] = mapped_column(String(4000))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(lazy="joined")


class Jury(Base):
    """The selection jury of a call: its date (AML §6d: "Jury de sélection […] le 25 septembre 2019")."""

    __tablename__ = "jury"

    appel_id: Mapped[int] = mapped_column(ForeignKey("appel.id"), primary_key=True)
    date: Mapped[dt.date] = mapped_column(Date)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class JuryMember(Base):
    """A user sitting on a call's jury, for one of the bodies that compose it (AML §6d)."""

    __tablename__ = "jury_member"

    appel_id: Mapped[int] = mapped_column(ForeignKey("jury.appel_id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True, index=True)
    # "departement", "call", "cahc", "cabbalr"
    organisme: Mapped[str] = mapped_column(String(20))

    user: Mapped[User] = relationship(lazy="joined")
