"""The optional second factor (TOTP, RFC 6238) of administrators and archivistes, with pyotp; its QR code with segno.

An administrator or an archiviste may add a code from an authentication application to their
password (issue 15). Enrolment: a secret is drawn and shown once (a QR code and the text), kept in
the server-side session until a code typed by the user proves the application has it; then it is
stored and a code is asked at each sign-in. An administrator can remove it (a lost telephone).
"""

from __future__ import annotations

import datetime as dt

import pyotp
import segno
from sqlalchemy.orm import Session

from webforms.accounts.services import AccountError, security_of
from webforms.models import AccountSecurity, Event, User

ROLES = frozenset({"admin", "archiviste"})
ISSUER = "webforms"


def eligible(user: User) -> bool:
    """Return whether the account's role may add a second factor."""
    return user.role in ROLES


def new_secret() -> str:
    """Return a new random secret (base32, 160 bits as RFC 4226 recommends)."""
    return pyotp.random_base32(32)


def uri(secret: str, email: str) -> str:
    """Return the ``otpauth://`` URI an authentication application reads."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=ISSUER)


def qr_data_uri(secret: str, email: str) -> str:
    """Return the QR code of the secret's URI, as an SVG ``data:`` URI (allowed by the pages' CSP, made here: nothing fetched)."""
    return str(segno.make(uri(secret, email), error="m").svg_data_uri(scale=5))


def code_matches(secret: str, code: str, now: dt.datetime) -> bool:
    """Return whether ``code`` is the secret's code at ``now`` (or 30 s either side: a clock a little off)."""
    typed = "".join((code or "").split())
    return typed.isdigit() and len(typed) == 6 and pyotp.TOTP(secret).verify(typed, for_time=now, valid_window=1)


def confirmed_secret(session: Session, user_id: int) -> str | None:
    """Return the account's confirmed secret, or None if it has no second factor."""
    found = session.get(AccountSecurity, user_id)
    return found.totp_secret if found is not None and found.totp_confirmed else None


def enable(session: Session, user: User, secret: str, code: str, now: dt.datetime) -> None:
    """Store the secret once ``code`` proves the application has it; refused otherwise."""
    if not eligible(user):
        raise AccountError("La double authentification est réservée aux administrateurs et aux archivistes.")
    if not code_matches(secret, code, now):
        raise AccountError("Code incorrect : saisissez le code à 6 chiffres affiché par l'application, avant qu'il ne change.")
    security = security_of(session, user.id)
    security.totp_secret, security.totp_confirmed = secret, True
    session.add(Event(user=user, action="totp_enabled", detail={"email": user.email}))
    session.commit()


def reset(session: Session, user: User, *, by: User | None) -> None:
    """Remove an account's second factor (a lost telephone); refused if it has none."""
    if confirmed_secret(session, user.id) is None:
        raise AccountError(f"Le compte {user.email} n'a pas de double authentification.")
    security = security_of(session, user.id)
    security.totp_secret, security.totp_confirmed = None, False
    session.add(Event(user=by, action="totp_reset", detail={"email": user.email}))
    session.commit()
