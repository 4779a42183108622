"""Sign-in throttling: failures counted by account and by address, in the database.

200 wrong passwords went through ``/connexion`` in 55 s and the right one worked just after
(issue 15). The counters are rows of ``sign_in_counter``, locked while an attempt is checked, so
that several workers and hosts count together and parallel attempts cannot slip past a limit.
Past its threshold, a key is locked for a delay that doubles with each further failure (ANSSI,
« Recommandations relatives à l'authentification multifacteur et aux mots de passe », 2021:
temporisation after repeated failures); during the lock even the right password is refused.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from webforms.accounts.services import AccountError
from webforms.models import SignInCounter, User
from webforms.timeutil import PARIS


@dataclass(frozen=True)
class Limit:
    """How many failures a key may make before it is locked, and for how long then."""

    threshold: int
    first_delay: dt.timedelta
    max_delay: dt.timedelta

    def delay(self, failures: int) -> dt.timedelta | None:
        """Return the lock owed after ``failures`` failures (None below the threshold)."""
        if failures < self.threshold:
            return None
        return min(self.first_delay * (2 ** min(failures - self.threshold, 20)), self.max_delay)


# An account: 5 failures, then 1 min, 2, 4 … up to 1 h. An address (several people behind one
# office's gateway): 20 failures, then the same.
ACCOUNT = Limit(threshold=5, first_delay=dt.timedelta(minutes=1), max_delay=dt.timedelta(hours=1))
ADDRESS = Limit(threshold=20, first_delay=dt.timedelta(minutes=1), max_delay=dt.timedelta(hours=1))
# Failures older than this are forgotten (a counter starts again from zero).
FORGET_AFTER = dt.timedelta(hours=24)
WRONG = "Adresse électronique ou mot de passe incorrect."


class SignInLocked(AccountError):
    """Sign-in refused without checking the password: too many failures for the account or the address."""


def account_key(email: str) -> str:
    """Return the counter key of an e-mail address."""
    return "compte:" + (email or "").strip().lower()[:254]


def address_key(address: str | None) -> str:
    """Return the counter key of a client address."""
    return "adresse:" + (address or "inconnue")[:100]


def _at_paris(moment: dt.datetime) -> str:
    local = moment.astimezone(PARIS)
    return f"{local.hour} h {local.minute:02d}"


def locked_message(until: dt.datetime, now: dt.datetime, *, by_address: bool) -> str:
    """Return the French message of a lock: why, and when to try again."""
    minutes = max(1, -(-int((until - now).total_seconds()) // 60))
    where = "depuis cette adresse" if by_address else "pour ce compte"
    return (
        f"Trop de tentatives de connexion infructueuses {where} : par sécurité, la connexion est suspendue. "
        f"Réessayez à partir de {_at_paris(until)} (dans {minutes} minute{'s' if minutes > 1 else ''})."
    )


def _counters(session: Session, keys: list[str]) -> list[SignInCounter]:
    """Return the counters of ``keys``, created if new, locked until the transaction ends (in key order: no deadlock)."""
    keys = sorted(set(keys))
    session.execute(insert(SignInCounter).values([{"key": k, "failures": 0} for k in keys]).on_conflict_do_nothing(index_elements=["key"]))
    return list(session.scalars(select(SignInCounter).where(SignInCounter.key.in_(keys)).order_by(SignInCounter.key).with_for_update()))


def checked_sign_in(
    session: Session,
    *,
    email: str,
    address: str | None,
    now: dt.datetime,
    check: Callable[[], User | None],
    wrong: str = WRONG,
) -> User:
    """Run ``check`` (the credentials) unless the account or the address is locked; count its failure, or reset the account on success.

    Raises ``SignInLocked`` (nothing checked) or ``AccountError`` (wrong credentials); commits either way.
    """
    account, address_k = account_key(email), address_key(address)
    counters = {c.key: c for c in _counters(session, [account, address_k])}
    for key, counter in counters.items():
        if counter.locked_until is not None and counter.locked_until > now:
            session.commit()
            raise SignInLocked(locked_message(counter.locked_until, now, by_address=key == address_k))
    user = check()
    if user is not None:
        counters[account].failures, counters[account].locked_until = 0, None
        # Counters of old failures with no lock left are forgotten (the table does not grow).
        session.execute(
            delete(SignInCounter).where(
                SignInCounter.last_failure_at < now - FORGET_AFTER,
                or_(SignInCounter.locked_until.is_(None), SignInCounter.locked_until < now),
                and_(SignInCounter.key != account, SignInCounter.key != address_k),
            )
        )
        session.commit()
        return user
    message = wrong
    for key, counter in counters.items():
        if counter.last_failure_at is not None and now - counter.last_failure_at > FORGET_AFTER:
            counter.failures = 0
        counter.failures += 1
        counter.last_failure_at = now
        delay = (ADDRESS if key == address_k else ACCOUNT).delay(counter.failures)
        if delay is not None:
            counter.locked_until = now + delay
            message = f"{wrong} {locked_message(counter.locked_until, now, by_address=key == address_k)}"
    session.commit()
    raise AccountError(message)
