"""Tokens of the JSON API (issue 17), the log of their uses and their rate counters."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webforms.models.base import Base, UTCDateTime, utcnow

if TYPE_CHECKING:  # relationships name their targets; SQLAlchemy resolves them through its registry
    from webforms.models.people import Organisation, User

API_SCOPES = {"lecture": "Lecture", "ecriture": "Lecture et écriture"}


class ApiToken(Base):
    """A token of the API: acts for one user of one organisation, on some kinds, reading or writing.

    Only the SHA-256 of the secret is kept; ``prefix`` (shown in lists) finds the row.
    """

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    secret_sha256: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id"))
    # The kinds it reaches, by name: a list written out, never "every kind" by default.
    kinds: Mapped[list[str]] = mapped_column(JSON)
    scope: Mapped[str] = mapped_column(String(10))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), nullable=True)
    # Made on the command line (no account acting): the operator who ran it, by login (« --par »).
    created_by_operator: Mapped[str | None] = mapped_column(String(100), nullable=True)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    organisation: Mapped[Organisation] = relationship(lazy="joined")


class ApiTokenUse(Base):
    """One request made with a token: which token, which route, when, and the answer's status."""

    __tablename__ = "api_token_use"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id"), index=True)
    method: Mapped[str] = mapped_column(String(10))
    route: Mapped[str] = mapped_column(String(200))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utcnow)


class ApiRateCounter(Base):
    """Requests of a token in one window: shared by every host through the database."""

    __tablename__ = "api_rate_counter"

    token_id: Mapped[int] = mapped_column(ForeignKey("api_token.id"), primary_key=True)
    window_start: Mapped[dt.datetime] = mapped_column(UTCDateTime(), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
