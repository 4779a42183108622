"""ASLL §11: the year's ASLL measures per lot and type, against each lot's minimum and maximum.

The lots (their communes, CAMS and PMS, their bounds) are the territories' configuration
(``lot_asll`` territories); a measure's lot is its ``territoire_id``. ``lot_counts`` counts in
PostgreSQL what a user reads, for the statistics page; ``counts_by_lot`` counts measures given
in memory. Both end in ``lot_rows``; a measure without a lot is counted apart ("lot non
déterminé").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webforms import policy
from webforms.models import Mesure, Territoire, User
from webforms.territoires.scope import in_scope

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
    counts: dict[tuple[str | None, str], int] = {}
    for mesure in mesures:
        if mesure.type_mesure not in ASLL_TYPES or mesure.date_bon_commande is None or not first <= mesure.date_bon_commande <= last:
            continue
        key = (lot_of(mesure), mesure.type_mesure)
        counts[key] = counts.get(key, 0) + 1
    return lot_rows(counts, lots)


def lots_of(session: Session, user: User) -> list[Lot]:
    """The ASLL lots ``user`` reads the measures of (none for a reader of AML measures only), by name."""
    if not any(policy.reads_measure_type(user, t) for t in ASLL_TYPES):
        return []
    found = session.scalars(select(Territoire).where(Territoire.nature == "lot_asll", in_scope(user, Territoire.id)).order_by(Territoire.nom))
    return [Lot(t.code, t.nom, t.mesures_min or 0, t.mesures_max if t.mesures_max is not None else 10**9) for t in found]


def lot_counts(session: Session, user: User, year: int) -> list[dict[str, Any]]:
    """ASLL §11 for the statistics page: the measures ``user`` reads, ordered in ``year``, per lot and type."""
    lots = lots_of(session, user)
    if not lots:
        return []
    visible = policy.visible_mesures(user).with_only_columns(Mesure.id).order_by(None)
    code = select(Territoire.code).where(Territoire.id == Mesure.territoire_id).scalar_subquery()
    found = session.execute(
        select(code, Mesure.type_mesure, func.count())
        .where(Mesure.id.in_(visible), Mesure.type_mesure.in_(ASLL_TYPES), Mesure.date_bon_commande.between(dt.date(year, 1, 1), dt.date(year, 12, 31)))
        .group_by(code, Mesure.type_mesure)
    ).all()
    return lot_rows({(c, t): n for c, t, n in found}, lots)


def lot_rows(counts: Mapping[tuple[str | None, str], int], lots: Sequence[Lot]) -> list[dict[str, Any]]:
    """One row per lot (then the measures of no known lot, if any): its count per type against its bounds."""
    by_code = {lot.code: lot for lot in lots}
    per_lot: dict[str | None, dict[str, int]] = {lot.code: dict.fromkeys(ASLL_TYPES, 0) for lot in lots}
    for (code, kind), n in counts.items():
        key = code if code in by_code else None
        per_lot.setdefault(key, dict.fromkeys(ASLL_TYPES, 0))[kind] += n
    rows = []
    for key, per_type in per_lot.items():
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
