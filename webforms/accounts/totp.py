"""The optional second factor (TOTP, RFC 6238) of administrators and archivistes, with pyotp; its QR code with segno.

An administrator or an archiviste may add a code from an authentication application to their
password (issue 15). Enrolment: a secret is drawn and shown once (a QR code and the text), kept in
the server-side session until a code typed by the user proves the application has it; then it is
stored and a code is asked at each sign-in. An administrator can remove it (a lost telephone).
"""

from __future__ import annotations

import datetime as dt
import hmac

import pyotp
import segno
from sqlalchemy import or_, update
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


def matching_step(secret: str, code: str, now: dt.datetime) -> int | None:
    """Return the 30-second step whose code ``code`` is, at ``now`` or one step either side (a clock a little off); None if none."""
    typed = "".join((code or "").split())
    if not (typed.isascii() and typed.isdigit() and len(typed) == 6):
        return None
    generator = pyotp.TOTP(secret)
    current = generator.timecode(now)
    for step in (current - 1, current, current + 1):
        if hmac.compare_digest(generator.generate_otp(step), typed):
            return step
    return None


def use_code(session: Session, user_id: int, code: str, now: dt.datetime) -> bool:
    """Accept the account's code once (RFC 6238 §5.2): refused when wrong, or when its step or a later one was already used.

    One conditional UPDATE: of two requests bearing the same code at once, the second waits for
    the first's row lock, then finds the step taken. The caller commits.
    """
    secret = confirmed_secret(session, user_id)
    step = matching_step(secret, code, now) if secret else None
    return step is not None and _spend(session, user_id, step)


def _spend(session: Session, user_id: int, step: int) -> bool:
    """Record ``step`` as the account's last used one, unless it or a later one already is."""
    used = session.execute(
        update(AccountSecurity)
        .where(AccountSecurity.user_id == user_id, or_(AccountSecurity.totp_last_step.is_(None), AccountSecurity.totp_last_step < step))
        .values(totp_last_step=step)
        .execution_options(synchronize_session="fetch")
    )
    return bool(used.rowcount)  # type: ignore[attr-defined]


def confirmed_secret(session: Session, user_id: int) -> str | None:
    """Return the account's confirmed secret, or None if it has no second factor."""
    found = session.get(AccountSecurity, user_id)
    return found.totp_secret if found is not None and found.totp_confirmed else None


def enable(session: Session, user: User, secret: str, code: str, now: dt.datetime) -> None:
    """Store the secret once ``code`` proves the application has it; refused otherwise."""
    if not eligible(user):
        raise AccountError("La double authentification est réservée aux administrateurs et aux archivistes.")
    step = matching_step(secret, code, now)
    if step is None:
        raise AccountError("Code incorrect : saisissez le code à 6 chiffres affiché par l'application, avant qu'il ne change.")
    security = security_of(session, user.id)
    # The enrolment's code is spent: it does not sign in afterwards.
    security.totp_secret, security.totp_confirmed, security.totp_last_step = secret, True, step
    session.add(Event(user=user, action="totp_enabled", detail={"email": user.email}))
    session.commit()


def reset(session: Session, user: User, *, by: User | None) -> None:
    """Remove an account's second factor (a lost telephone); refused if it has none."""
    if confirmed_secret(session, user.id) is None:
        raise AccountError(f"Le compte {user.email} n'a pas de double authentification.")
    security = security_of(session, user.id)
    security.totp_secret, security.totp_confirmed, security.totp_last_step = None, False, None
    session.add(Event(user=by, action="totp_reset", detail={"email": user.email}))
    session.commit()
