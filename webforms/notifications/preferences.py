"""Each user's choice of e-mail: at once, a daily digest, or none (the centre shows all the same)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from webforms.models import FREQUENCES, NotificationPreference, User

# Without a choice, each notification is e-mailed at once: nothing is missed (docs/decisions.md).
DEFAULT_FREQUENCE = "immediat"


def frequence_of(session: Session, user_id: int) -> str:
    """Return how the user ``user_id`` wants to be told by e-mail (``FREQUENCES``)."""
    found = session.get(NotificationPreference, user_id)
    return found.frequence if found is not None else DEFAULT_FREQUENCE


def set_frequence(session: Session, user: User, frequence: str) -> None:
    """Record ``user``'s choice of e-mail; refuse a value not offered."""
    if frequence not in FREQUENCES:
        raise ValueError(frequence)
    found = session.get(NotificationPreference, user.id)
    if found is None:
        session.add(NotificationPreference(user_id=user.id, frequence=frequence))
    else:
        found.frequence = frequence
    session.commit()
