"""French working days: Monday to Friday, less the eleven public holidays (code du travail, L3133-1)."""

from __future__ import annotations

import datetime as dt

# The fixed public holidays (L3133-1), as (month, day).
FIXED_HOLIDAYS = ((1, 1), (5, 1), (5, 8), (7, 14), (8, 15), (11, 1), (11, 11), (12, 25))


def easter(year: int) -> dt.date:
    """Return Easter Sunday of ``year`` (Gregorian calendar, the anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    r = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * r) // 451
    month, day = divmod(h + r - 7 * m + 114, 31)
    return dt.date(year, month, day + 1)


def holidays(year: int) -> set[dt.date]:
    """Return the French public holidays of ``year``: the fixed ones, Easter Monday, Ascension, Whit Monday."""
    sunday = easter(year)
    movable = {sunday + dt.timedelta(days=n) for n in (1, 39, 50)}
    return {dt.date(year, month, day) for month, day in FIXED_HOLIDAYS} | movable


def is_working_day(day: dt.date) -> bool:
    """Is ``day`` a working day (a weekday that is no public holiday)?"""
    return day.weekday() < 5 and day not in holidays(day.year)


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Count the working days after ``start`` up to ``end`` included (0 when ``end`` is not later)."""
    count, day = 0, start + dt.timedelta(days=1)
    while day <= end:
        count += is_working_day(day)
        day += dt.timedelta(days=1)
    return count
