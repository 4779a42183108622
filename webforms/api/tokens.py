"""Tokens of the JSON API: issue, list, revoke, recognise, count (issue 17).

A token is shown once, at its creation: ``wf_<prefix>_<secret>``. Only the SHA-256 of the
secret is kept (256 random bits need no slow hash: nothing to guess from a dictionary), with
the prefix that finds the row. A token acts for its user, within its organisation, on the
kinds it names, reading or also writing, until it expires or is revoked; each use is logged.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from schemas import registry
from webforms.archive import audit
from webforms.archive.services import ArchiveServices
from webforms.errors import name_problem
from webforms.models import API_SCOPES, ApiRateCounter, ApiToken, ApiTokenUse, User

MAX_DAYS = 366
MAX_OPERATOR = 100
_FORMAT = re.compile(r"wf_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


class TokenError(Exception):
    """A token refused or a request for one refused; the message is French and meant for the user."""


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def may_issue(actor: User | None, user: User) -> bool:
    """May ``actor`` create or revoke a token acting for ``user``? Themselves, or an administrator.

    ``None`` is the command line, run by the operator of the service (an administrator).
    """
    return actor is None or (actor.active and (actor.id == user.id or actor.role == "admin"))


def create_token(
    session: Session,
    svc: ArchiveServices,
    *,
    actor: User | None,
    user: User,
    name: str,
    kinds: Iterable[str],
    scope: str,
    days: int,
    now: dt.datetime,
    operator: str | None = None,
) -> tuple[ApiToken, str]:
    """Create a token for ``user``, logged in the audit trail; return it with its full value, which is shown once and never kept.

    ``operator`` is who runs the command line when no account acts (``actor`` None): required then.
    """
    kinds = sorted(set(kinds))
    operator = (operator or "").strip() or None
    if actor is None and (operator is None or len(operator) > MAX_OPERATOR):
        raise TokenError(f"Indiquez qui crée ce jeton (« --par », son identifiant, 1 à {MAX_OPERATOR} caractères) : il est enregistré avec le jeton.")
    if not may_issue(actor, user):
        raise TokenError("Seul un administrateur peut créer un jeton pour un autre compte.")
    if not user.active:
        raise TokenError("Ce compte est désactivé : aucun jeton ne peut lui être donné.")
    unknown = [k for k in kinds if k not in registry()]
    if unknown or not kinds:
        raise TokenError(f"Types de document inconnus ou absents : {', '.join(unknown) or 'aucun type donné'}. Types disponibles : {', '.join(registry())}.")
    if scope not in API_SCOPES:
        raise TokenError(f"Portée inconnue « {scope} » : « lecture » ou « ecriture ».")
    if not 1 <= days <= MAX_DAYS:
        raise TokenError(f"Durée de validité de 1 à {MAX_DAYS} jours.")
    if problem := name_problem(name, "Le nom du jeton"):
        raise TokenError(problem)
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise TokenError("Le nom du jeton (à quoi il sert) compte de 1 à 100 caractères.")
    prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    token = ApiToken(
        prefix=prefix,
        secret_sha256=_digest(secret),
        name=name,
        user_id=user.id,
        organisation_id=user.organisation_id,
        kinds=kinds,
        scope=scope,
        expires_at=now + dt.timedelta(days=days),
        created_at=now,
        created_by_id=actor.id if actor else None,
        created_by_operator=operator if actor is None else None,
    )
    session.add(token)
    session.flush()
    # The prefix and ids only (audit.log keeps identifiers, never a secret).
    audit.log(session, now, "jeton_cree", key=svc.seal_key, user=actor, jeton=token.id, prefixe=prefix, compte=user.id, par=token.created_by_operator)
    audit.commit(session, svc)
    return token, f"wf_{prefix}_{secret}"


def made_by(token: ApiToken) -> str:
    """Say who made ``token``: an account on the pages, or an operator on the command line."""
    if token.created_by is not None:
        return token.created_by.email
    return f"ligne de commande ({token.created_by_operator})" if token.created_by_operator else "ligne de commande (opérateur non enregistré)"


def tokens_of(session: Session, user: User | None = None) -> list[ApiToken]:
    """Return the tokens of ``user`` (every token if None), newest first."""
    query = select(ApiToken).order_by(ApiToken.id.desc())
    if user is not None:
        query = query.where(ApiToken.user_id == user.id)
    return list(session.scalars(query))


def token_by_prefix(session: Session, prefix: str) -> ApiToken | None:
    """Return the token whose prefix is ``prefix`` (as shown by ``tokens_of``)."""
    return session.scalar(select(ApiToken).where(ApiToken.prefix == prefix.removeprefix("wf_")))


def revoke_token(session: Session, token: ApiToken, *, actor: User | None, now: dt.datetime) -> ApiToken:
    """Revoke ``token`` at once; its next request is refused."""
    if not may_issue(actor, token.user):
        raise TokenError("Seul un administrateur peut révoquer le jeton d'un autre compte.")
    if token.revoked_at is None:
        token.revoked_at = now
        session.commit()
    return token


def recognise(session: Session, authorization: str | None, now: dt.datetime) -> ApiToken:
    """Return the valid token of an ``Authorization: Bearer …`` header; refuse any other."""
    scheme, _, value = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise TokenError("Authentification requise : envoyez un jeton d'API dans l'en-tête « Authorization: Bearer … » (les sessions du navigateur ne sont pas acceptées).")
    match = _FORMAT.fullmatch(value.strip())
    token = token_by_prefix(session, match.group(1)) if match else None
    # compare_digest: the comparison takes the same time wherever the digests differ.
    if token is None or match is None or not hmac.compare_digest(token.secret_sha256, _digest(match.group(2))):
        raise TokenError("Jeton d'API inconnu.")
    if token.revoked_at is not None:
        raise TokenError("Ce jeton d'API a été révoqué.")
    if token.expires_at <= now:
        raise TokenError("Ce jeton d'API a expiré : demandez-en un nouveau.")
    user = token.user
    # It acts for its user within the organisation it was given for: a user gone elsewhere, or
    # deactivated, takes none of its rights along.
    if not user.active or user.organisation_id != token.organisation_id:
        raise TokenError("Le compte de ce jeton est désactivé ou a changé d'organisation : le jeton ne vaut plus.")
    return token


def log_use(session: Session, token: ApiToken, *, method: str, route: str, now: dt.datetime) -> None:
    """Record one request made with ``token`` (in the caller's transaction)."""
    session.add(ApiTokenUse(token_id=token.id, method=method, route=route[:200], at=now))
    token.last_used_at = now


def count_request(session: Session, token: ApiToken, *, now: dt.datetime, window_seconds: int) -> int:
    """Count one request of ``token`` in the current window and return the window's count.

    The counter is a row of the database, incremented in one statement: every host of the
    service shares it, and two requests at once never read the same count.
    """
    epoch = int(now.timestamp())
    start = dt.datetime.fromtimestamp(epoch - epoch % window_seconds, dt.UTC)
    insert = pg_insert(ApiRateCounter).values(token_id=token.id, window_start=start, count=1)
    upsert = insert.on_conflict_do_update(
        index_elements=[ApiRateCounter.token_id, ApiRateCounter.window_start], set_={"count": ApiRateCounter.count + 1}
    ).returning(ApiRateCounter.count)
    count = int(session.execute(upsert).scalar_one())
    # The windows before are of no use any more: the table keeps one row per active token.
    session.execute(delete(ApiRateCounter).where(ApiRateCounter.token_id == token.id, ApiRateCounter.window_start < start))
    return count


def seconds_left(now: dt.datetime, window_seconds: int) -> int:
    """Return the seconds until the current window ends (the ``Retry-After`` of a 429)."""
    return window_seconds - int(now.timestamp()) % window_seconds
