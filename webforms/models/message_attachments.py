"""Attachments of a thread's messages (issue 14): files checked like every upload, stored privately."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from webforms.models.base import Base, UTCDateTime, utcnow


class PieceJointe(Base):
    """One file attached to a message; its bytes are in the file store under ``sha256``, never served by name."""

    __tablename__ = "piece_jointe"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[int] = mapped_column(ForeignKey("message.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))  # the stored file's name in the store, like ``Piece.sha256``
    size: Mapped[int] = mapped_column(Integer)
    mime: Mapped[str] = mapped_column(String(100))
    original_name: Mapped[str] = mapped_column(String(255))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
