"""Password resets by e-mail (issue 15): a single-use link, of which only the SHA-256 is stored."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webforms.models.base import Base, UTCDateTime
from webforms.models.people import User


class PasswordReset(Base):
    """A reset link asked for an account: valid until ``expires_at``, used once, ended by a newer one."""

    __tablename__ = "password_reset"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    # The link's token is never stored: a copy of the database opens no account.
    jeton_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # "utilise" (the password was set with it), "remplace" (a newer link was asked or it was used).
    ended_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)

    user: Mapped[User] = relationship()
