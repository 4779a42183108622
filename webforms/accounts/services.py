"""Organisations and user accounts."""

from __future__ import annotations

import re
import secrets

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from webforms.errors import check_name
from webforms.models import ROLES, Event, Organisation, User

MIN_PASSWORD = 12
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
    """Create an account; the e-mail must be new and the password long enough."""
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
    if len(password or "") < MIN_PASSWORD:
        raise AccountError(f"Le mot de passe doit compter au moins {MIN_PASSWORD} caractères.")
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
