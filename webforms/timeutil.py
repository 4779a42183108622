"""Dates as people in the Départements see them: Europe/Paris, whatever the server's zone.

Timestamps are stored in UTC; a day (a deadline met or missed, "today") is the Paris day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def paris_time(moment: dt.datetime) -> dt.datetime:
    """Return an instant in Paris time (naive instants are taken as UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(PARIS)


def paris_date(moment: dt.datetime) -> dt.date:
    """Return the Paris calendar day of an instant (naive instants are taken as UTC)."""
    return paris_time(moment).date()


def zip_date_time(moment: dt.datetime) -> tuple[int, int, int, int, int, int]:
    """Return an instant as a ZIP entry's date: Paris time (a ZIP date has no zone; people read
    it as theirs), 1 January 1980 for anything earlier (the format's first day)."""
    local = paris_time(moment)
    if local.year < 1980:
        return (1980, 1, 1, 0, 0, 0)
    return (local.year, local.month, local.day, local.hour, local.minute, local.second)


def paris_instant(day: dt.date, hour: str) -> dt.datetime:
    """Return the UTC instant of a Paris day at "HH:MM" (a call's deadline, AML §6d)."""
    hours, minutes = (int(p) for p in str(hour).split(":"))
    return dt.datetime.combine(day, dt.time(hours, minutes), tzinfo=PARIS).astimezone(dt.UTC)


# Returns the current aware datetime; injected so that tests never depend on today's date.
Clock = Callable[[], dt.datetime]
