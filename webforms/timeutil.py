"""Dates as people in the Départements see them: Europe/Paris, whatever the server's zone.

Timestamps are stored in UTC; a day (a deadline met or missed, "today") is the Paris day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def paris_date(moment: dt.datetime) -> dt.date:
    """Return the Paris calendar day of an instant (naive instants are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(PARIS).date()


# Returns the current aware datetime; injected so that tests never depend on today's date.
Clock = Callable[[], dt.datetime]
