"""ASLL §11: the year's ASLL measures per lot and type, against each lot's minimum and maximum.

The lots (their communes, CAMS and PMS, their bounds) are the territories' configuration, built
by another piece of work: until it lands, ``counts_by_lot`` takes them as arguments — the lots
and a function giving a measure's lot — and a measure without a lot is counted apart, so the
table is right today (one "lot non déterminé" row) and complete once the territories exist.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from webforms.models import Mesure

UNKNOWN = "Lot non déterminé"
ASLL_TYPES = ("asll_installation", "asll_maintien")


@dataclass(frozen=True)
class Lot:
    """A lot of the ASLL market and its yearly bounds (ASLL §11: e.g. lot 1, 140 to 230 measures)."""

    code: str
    name: str
    minimum: int
    maximum: int


def _state(total: int, lot: Lot | None) -> str:
    if lot is None:
        return ""
    if total < lot.minimum:
        return "sous le minimum"
    if total > lot.maximum:
        return "au-delà du maximum"
    return "dans la fourchette"


def counts_by_lot(mesures: Iterable[Mesure], year: int, lots: Sequence[Lot], lot_of: Callable[[Mesure], str | None]) -> list[dict[str, Any]]:
    """Count the ASLL measures ordered in ``year`` per lot and type, each lot against its bounds.

    A measure counts in the year of its bon de commande: the order is what the Département
    commissions from the lot's operator (ASLL §6.3, §11).
    """
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    by_code = {lot.code: lot for lot in lots}
    counts: dict[str | None, dict[str, int]] = {lot.code: dict.fromkeys(ASLL_TYPES, 0) for lot in lots}
    for mesure in mesures:
        if mesure.type_mesure not in ASLL_TYPES or mesure.date_bon_commande is None or not first <= mesure.date_bon_commande <= last:
            continue
        code = lot_of(mesure)
        key = code if code in by_code else None
        counts.setdefault(key, dict.fromkeys(ASLL_TYPES, 0))[mesure.type_mesure] += 1
    rows = []
    for key, per_type in counts.items():
        lot = by_code.get(key) if key is not None else None
        total = sum(per_type.values())
        rows.append({
            "lot": lot.name if lot else UNKNOWN,
            **per_type,
            "total": total,
            "minimum": lot.minimum if lot else None,
            "maximum": lot.maximum if lot else None,
            "etat": _state(total, lot),
        })
    return rows
