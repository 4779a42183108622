"""Organisations and user accounts."""

from __future__ import annotations

import datetime as dt
import re
import secrets

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from webforms.accounts.passwords import password_problem
from webforms.errors import check_name
from webforms.models import ROLES, AccountSecurity, Event, Organisation, User, WebSession

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# Compared against when the e-mail is unknown, so that a wrong address costs the same time.
_DUMMY_HASH = generate_password_hash("webforms-dummy-password")


class AccountError(Exception):
    """A refused account operation; the message is French and meant for the user."""


def create_organisation(session: Session, name: str) -> Organisation:
    """Create an organisation; its name must be new."""
    name = " ".join(check_name(name, "Le nom de l'organisation", AccountError).split())
    if not name:
        raise AccountError("Le nom de l'organisation est obligatoire.")
    if len(name) > 200:
        raise AccountError("Le nom de l'organisation dépasse 200 caractères.")
    if session.scalar(select(Organisation).where(func.lower(Organisation.name) == name.lower())):
        raise AccountError(f"L'organisation « {name} » existe déjà.")
    org = Organisation(name=name)
    session.add(org)
    session.commit()
    return org


def create_user(
    session: Session,
    *,
    email: str,
    full_name: str,
    role: str,
    organisation_id: int,
    password: str,
    created_by: User | None = None,
) -> User:
    """Create an account; the e-mail must be new and the password follow the rule (``passwords.RULE``)."""
    email = check_name(email, "L'adresse électronique", AccountError).strip().lower()
    full_name = " ".join(check_name(full_name, "Le nom complet", AccountError).split())
    if not _EMAIL.match(email) or len(email) > 254:
        raise AccountError("Adresse électronique invalide.")
    if not full_name or len(full_name) > 150:
        raise AccountError("Le nom complet est obligatoire (150 caractères au plus).")
    if role not in ROLES:
        raise AccountError(f"Rôle inconnu : « {role} ». Rôles possibles : {', '.join(ROLES)}.")
    if session.get(Organisation, organisation_id) is None:
        raise AccountError("Organisation inconnue.")
    problem = password_problem(password, email=email, full_name=full_name)
    if problem:
        raise AccountError(problem)
    if session.scalar(select(User).where(User.email == email)):
        raise AccountError(f"Un compte existe déjà pour {email}.")
    user = User(
        email=email,
        full_name=full_name,
        role=role,
        organisation_id=organisation_id,
        password_hash=generate_password_hash(password),
    )
    session.add(user)
    session.flush()
    session.add(Event(user=created_by, action="create_user", detail={"email": email, "role": role}))
    session.commit()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    user = session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.active:
        return None
    return user


def generate_password() -> str:
    """Return a random password to hand to a new user once."""
    return secrets.token_urlsafe(15)


def ensure_admin(session: Session) -> tuple[User, str] | None:
    """Create the first administrator if there is none; return it with its password, once."""
    if session.scalar(select(User).where(User.role == "admin")):
        return None
    org = session.scalar(select(Organisation).where(Organisation.name == "Administration webforms"))
    if org is None:
        org = create_organisation(session, "Administration webforms")
    password = generate_password()
    user = create_user(
        session,
        email="admin@webforms.local",
        full_name="Administrateur",
        role="admin",
        organisation_id=org.id,
        password=password,
    )
    return user, password


def must_change_password(session: Session, user_id: int) -> bool:
    """Return whether the account owes a change of its password (an administrator reset it)."""
    found = session.get(AccountSecurity, user_id)
    return bool(found and found.must_change_password)


def security_of(session: Session, user_id: int) -> AccountSecurity:
    """Return an account's security state (created, blank, on first use)."""
    found = session.get(AccountSecurity, user_id)
    if found is None:
        found = AccountSecurity(user_id=user_id, must_change_password=False, totp_confirmed=False)
        session.add(found)
    return found


def end_sessions(session: Session, user_id: int, reason: str, now: dt.datetime) -> None:
    """End every live session of ``user_id`` (deactivation, password change): its cookies lead to the sign-in page."""
    session.execute(
        update(WebSession).where(WebSession.user_id == user_id, WebSession.ended_at.is_(None)).values(ended_at=now, ended_reason=reason)
    )


def set_password(session: Session, user: User, password: str, *, must_change: bool, now: dt.datetime) -> None:
    user.password_hash = generate_password_hash(password)
    security_of(session, user.id).must_change_password = must_change
    end_sessions(session, user.id, "mot_de_passe", now)


def change_password(session: Session, user: User, *, current: str, new: str, confirm: str, now: dt.datetime) -> None:
    """Change one's own password: the current one checked, the new one following the rule; every session ends."""
    if not check_password_hash(user.password_hash, current or ""):
        raise AccountError("Le mot de passe actuel est incorrect.")
    if new != confirm:
        raise AccountError("Les deux saisies du nouveau mot de passe diffèrent.")
    if new == current:
        raise AccountError("Le nouveau mot de passe doit être différent de l'actuel.")
    problem = password_problem(new, email=user.email, full_name=user.full_name)
    if problem:
        raise AccountError(problem)
    set_password(session, user, new, must_change=False, now=now)
    session.add(Event(user=user, action="password_changed", detail={"email": user.email}))
    session.commit()


def reset_password(session: Session, user: User, *, by: User | None, now: dt.datetime) -> str:
    """Give ``user`` a new random password, to change at their next sign-in; return it (shown once)."""
    password = generate_password()
    set_password(session, user, password, must_change=True, now=now)
    session.add(Event(user=by, action="password_reset", detail={"email": user.email}))
    session.commit()
    return password


def set_active(session: Session, user: User, active: bool, *, by: User | None, now: dt.datetime) -> None:
    """Deactivate (every session ends) or reactivate an account; an administrator cannot deactivate their own."""
    if by is not None and by.id == user.id and not active:
        raise AccountError("Vous ne pouvez pas désactiver votre propre compte.")
    if user.active == active:
        raise AccountError(f"Le compte {user.email} est déjà {'actif' if active else 'désactivé'}.")
    user.active = active
    if not active:
        end_sessions(session, user.id, "desactivation", now)
    session.add(Event(user=by, action="account_reactivated" if active else "account_deactivated", detail={"email": user.email}))
    session.commit()


def find_user(session: Session, email: str) -> User:
    """Return the account of ``email``; refused if there is none."""
    user = session.scalar(select(User).where(User.email == (email or "").strip().lower()))
    if user is None:
        raise AccountError(f"Aucun compte pour {email}.")
    return user
