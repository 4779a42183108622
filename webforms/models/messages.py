"""Messages per document (issue 14): a thread between the owning organisation and its recipients."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webforms.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:  # relationships name their targets; SQLAlchemy resolves them through its registry
    from webforms.models.people import User

# What a message is: a plain message, or a correction request that stays open until answered.
NATURES_MESSAGE = {
    "message": "Message",
    "demande_correction": "Demande de correction",
}


class Message(Base):
    """One message of a document's thread; its text is the user's, shown as typed, never evaluated."""

    __tablename__ = "message"
    __table_args__ = (Index("ix_message_document_at", "document_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    nature: Mapped[str] = mapped_column(String(30), default="message")
    texte: Mapped[str] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A correction request: when the document's writers answered it by depositing it again (the
    # correction; a message of theirs does not answer it).
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    user: Mapped[User] = relationship(lazy="joined")


class MessageRead(Base):
    """How far a user has read a document's thread: the last message they saw."""

    __tablename__ = "message_read"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("document.id", ondelete="CASCADE"), primary_key=True)
    last_id: Mapped[int] = mapped_column()
