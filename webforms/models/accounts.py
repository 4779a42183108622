"""What keeps accounts safe: server-side sessions, sign-in counters, an account's security state, forms kept after a session ended.

They live in the database, not in a process: several workers on several hosts see the same
sessions and the same counters (issue 15, "Accounts and sessions").
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from webforms.models.base import Base, UTCDateTime


class WebSession(Base):
    """A browser's session: the cookie carries a random id, only its SHA-256 is stored here."""

    __tablename__ = "web_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # None while nobody is signed in (the sign-in form's own CSRF token lives here too).
    user_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True, nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # "deconnexion", "inactivite", "desactivation", "mot_de_passe", "connexion" (replaced at sign-in).
    ended_reason: Mapped[str | None] = mapped_column(String(20), nullable=True)


class SignInCounter(Base):
    """Failed sign-ins counted for one account (``compte:<e-mail>``) or one address (``adresse:<ip>``)."""

    __tablename__ = "sign_in_counter"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    locked_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AccountSecurity(Base):
    """An account's security state beside its row: a change of password owed, its second factor."""

    __tablename__ = "account_security"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), primary_key=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The secret is used at sign-in only once a code typed by the user proved the enrolment.
    totp_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    # The 30-second step of the last code accepted: a code is good once (RFC 6238 §5.2).
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class KeptForm(Base):
    """What a user posted when their session had ended: offered back on the page once signed in again."""

    __tablename__ = "kept_form"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    page: Mapped[str] = mapped_column(String(500))  # where the user lands back
    action: Mapped[str] = mapped_column(String(500))  # the form's target, to find it on the page
    fields: Mapped[dict[str, Any]] = mapped_column(JSON)  # name -> list of the values posted
    files_dropped: Mapped[bool] = mapped_column(Boolean, default=False)
    kept_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
