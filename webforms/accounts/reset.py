"""A forgotten password, reset by e-mail (issue 15): a single-use link, valid one hour.

"Mot de passe oublié ?" asks an address; the answer is the same whether an account has it or not
(no account enumeration), and only an active account's owner gets an e-mail, by the queue
``courriels``. The link's token is random (256 bits); the database keeps its SHA-256 only. The
worker that sends it receives it sealed with a pad derived from the app's key, and forgets it
once it is sent: neither a copy of the database nor the queue's rows open an account. Setting
the new password is throttled like a sign-in (``checked_sign_in``: by account and by address),
follows the password rule, ends every session of the account and every other link, keeps the
second factor (it is asked at the next sign-in), and is logged in the sealed audit trail.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from typing import Any

from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from webforms.accounts.passwords import password_problem
from webforms.accounts.services import AccountError, set_password
from webforms.accounts.sessions import session_clock
from webforms.accounts.throttle import checked_sign_in
from webforms.archive import audit
from webforms.archive.services import ArchiveServices
from webforms.jobs import ask, task
from webforms.models import Event, PasswordReset, Travail, User
from webforms.notifications.mail import hand_over, link
from webforms.notifications.services import mail_enabled

VALID_FOR = dt.timedelta(hours=1)
# At most this many links e-mailed per account in an hour: each is an e-mail, and someone typing
# another's address must not flood their mailbox. Past it, the same answer and no e-mail.
MAX_PER_HOUR = 3
ROWS_KEPT = dt.timedelta(days=7)
# The counter key of a token that names no link (the throttle counts it by address too).
UNKNOWN = "lien-de-reinitialisation-inconnu"
SENT = (
    "Si un compte actif correspond à cette adresse, un courriel vient de lui être envoyé avec un lien "
    "pour choisir un nouveau mot de passe. Ce lien est valable une heure et ne sert qu'une fois."
)
INVALID = "Ce lien de réinitialisation n'est pas valide, a expiré (une heure) ou a déjà servi : demandez-en un nouveau."


def digest(token: str) -> str:
    """Return the stored form of a link's token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _pad(reset_id: int) -> bytes:
    """Return the one-time pad that seals a link's token for the worker (derived from the app's key and the link's id)."""
    key = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(key, f"reinitialisation:{reset_id}".encode(), hashlib.sha256).digest()


def _seal(reset_id: int, raw: bytes) -> str:
    return bytes(a ^ b for a, b in zip(raw, _pad(reset_id), strict=True)).hex()


def ask_reset(session: Session, email: str, *, now: dt.datetime) -> None:
    """E-mail a reset link to the active account of ``email``, if there is one; say nothing either way.

    The caller shows ``SENT`` whatever happened. A new link ends the account's earlier ones.
    """
    user = session.scalar(select(User).where(User.email == (email or "").strip().lower()[:254]))
    if user is None or not user.active or not mail_enabled():
        return
    # Locked: two requests at once count each other.
    session.execute(select(User.id).where(User.id == user.id).with_for_update())
    recent = session.scalar(select(func.count()).select_from(PasswordReset).where(
        PasswordReset.user_id == user.id, PasswordReset.created_at > now - dt.timedelta(hours=1)))
    if recent is not None and recent >= MAX_PER_HOUR:
        session.commit()
        return
    _end_links(session, user.id, "remplace", now)
    # Links past their hour for a week are forgotten (the table does not grow; the log keeps the events).
    session.execute(delete(PasswordReset).where(PasswordReset.expires_at < now - ROWS_KEPT))
    raw = secrets.token_bytes(32)
    token = raw.hex()
    reset = PasswordReset(user_id=user.id, jeton_sha256=digest(token), created_at=now, expires_at=now + VALID_FOR)
    session.add(reset)
    session.flush()
    ask(session, send_reset_link, nature="courriel", libelle="Lien de réinitialisation du mot de passe", now=now,
        user_id=user.id, parametres={"reinitialisation": reset.id, "jeton_scelle": _seal(reset.id, raw)})
    session.add(Event(user=user, action="password_reset_asked", detail={"email": user.email}))
    session.commit()


def _end_links(session: Session, user_id: int, reason: str, now: dt.datetime) -> None:
    session.execute(update(PasswordReset).where(PasswordReset.user_id == user_id, PasswordReset.ended_at.is_(None))
                    .values(ended_at=now, ended_reason=reason))


def usable(session: Session, token: str, now: dt.datetime) -> PasswordReset | None:
    """Return the link of ``token`` if it still opens (not used, not replaced, not expired, its account active), else None."""
    reset = session.scalar(select(PasswordReset).where(PasswordReset.jeton_sha256 == digest(token)))
    if reset is None or reset.ended_at is not None or now >= reset.expires_at or not reset.user.active:
        return None
    return reset


def reset_password(
    session: Session, svc: ArchiveServices, token: str, *, new: str, confirm: str, address: str | None, now: dt.datetime
) -> User:
    """Set the account's new password with a link; throttled like a sign-in, every session and link of the account ends.

    Raises ``SignInLocked`` (too many failures: nothing checked), ``AccountError`` with ``INVALID``
    (counted as a failure) or with the password rule's message (the link stays usable).
    """
    found = usable(session, token, now)
    # Locked rows and counters: the same link posted twice at once sets one password.
    user = checked_sign_in(session, email=found.user.email if found else UNKNOWN, address=address, now=now,
                           check=lambda: found.user if found else None, wrong=INVALID)
    reset = usable(session, token, now)
    if reset is None:  # used by a request that committed in between
        raise AccountError(INVALID)
    session.execute(select(PasswordReset.id).where(PasswordReset.id == reset.id).with_for_update())
    session.refresh(reset)
    if reset.ended_at is not None:
        session.rollback()
        raise AccountError(INVALID)
    if new != confirm:
        raise AccountError("Les deux saisies du nouveau mot de passe diffèrent.")
    if problem := password_problem(new, email=user.email, full_name=user.full_name):
        raise AccountError(problem)
    set_password(session, user, new, must_change=False, now=now)
    reset.ended_at, reset.ended_reason = now, "utilise"
    _end_links(session, user.id, "remplace", now)
    session.add(Event(user=user, action="password_reset_by_mail", detail={"email": user.email}))
    # Identifiers only in the audit trail (never an address nor a secret).
    audit.log(session, svc.clock(), "mot_de_passe_reinitialise", key=svc.seal_key, user=user, compte=user.id, lien=reset.id)
    audit.commit(session, svc)
    return user


@task("envoyer_reinitialisation", queue="courriels")
def send_reset_link(session: Session, travail: Travail) -> dict[str, Any]:
    """E-mail a reset link to its account, unless it ended since; the sealed token is then forgotten."""
    reset = session.get(PasswordReset, travail.parametres["reinitialisation"])
    now = session_clock(current_app)  # the clock the link was made and is checked by (the sign-in's)
    sealed = travail.parametres.get("jeton_scelle")
    # Forgotten with the work's success (committed together): a rerun finds nothing to send.
    travail.parametres = {"reinitialisation": travail.parametres["reinitialisation"]}
    if reset is None or sealed is None or reset.ended_at is not None or now >= reset.expires_at:
        return {"envoye": False}
    token = bytes(a ^ b for a, b in zip(bytes.fromhex(sealed), _pad(reset.id), strict=True)).hex()
    url = link("auth.reset", {"token": token})
    body = (
        "Bonjour,\n\nUne réinitialisation du mot de passe de votre compte webforms a été demandée.\n\n"
        f"Pour choisir un nouveau mot de passe, ouvrez ce lien dans l'heure : {url}\n\n"
        "Il ne sert qu'une fois. Vos sessions ouvertes prendront fin ; si votre compte a une double "
        "authentification, son code vous sera toujours demandé à la connexion.\n\n"
        "Si vous n'êtes pas à l'origine de cette demande, ignorez ce courriel : votre mot de passe ne change pas.\n"
    )
    hand_over(session, travail, reset.user.email, "[webforms] Réinitialisation de votre mot de passe", body,
              {"user_id": reset.user_id, "nature": "reinitialisation", "notifications": []})
    return {"envoye": True}
