"""The calendar of a support measure: start deadline, end, bilans due, meeting rhythm.

Pure functions over plain values (no database, no request), so every rule is tested at its
edges. Each rule cites the section of the source document that sets it; the choices made
where the documents are silent or disagree are in docs/decisions.md ("Mesures").
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

TYPES = {
    "aml": "AML Logement d'abord",
    "asll_installation": "ASLL Installation",
    "asll_maintien": "ASLL Maintien",
}

# ASLL §6.3: start "dès réception du bon de commande et au plus tard dans les dix jours"
# (Installation) or "quinze jours" (Maintien). AML has no bon de commande (AML §4).
START_DEADLINE_DAYS = {"asll_installation": 10, "asll_maintien": 15}

# Duration in months: AML 12 (AML §4); Installation 3, not renewable (ASLL §2.1, §8);
# Maintien at most 6 (ASLL §2.2, §8), renewable up to 12 in total (ASLL §2.2, §9.2).
DURATION_MONTHS = {"aml": 12, "asll_installation": 3, "asll_maintien": 6}
MAINTIEN_TOTAL_MONTHS = 12

# ASLL §9.1, §9.2: the bilan is sent "au plus tard 15 jours après le terme de l'intervention".
BILAN_DELAY_DAYS = 15


class MesureRuleError(ValueError):
    """A refused change of a measure; the message is French and meant for the user.

    ``field`` names the field the message belongs next to.
    """

    def __init__(self, message: str, field: str = "_schema") -> None:
        super().__init__(message)
        self.field = field


def add_months(start: dt.date, months: int) -> dt.date:
    """Return the day ``months`` later with the same day number, or the month's last day.

    This is how French law counts a delay in months (code de procédure civile, art. 641):
    from 31 January, one month ends on 28 (or 29) February.
    """
    month_index = start.month - 1 + months
    year, month = start.year + month_index // 12, month_index % 12 + 1
    day = min(start.day, calendar.monthrange(year, month)[1])
    return dt.date(year, month, day)


@dataclass(frozen=True)
class Renewal:
    """A Maintien renewal: it starts on the day of the DPDS decision (ASLL §8)."""

    decision_date: dt.date
    months: int
    reason: str


@dataclass(frozen=True)
class Period:
    """One period of support (the initial one, then each renewal) and its bilan."""

    label: str
    start: dt.date
    end: dt.date
    bilan_due: dt.date


@dataclass(frozen=True)
class Due:
    """Something due by a date: a bilan, the start of the measure."""

    title: str
    due: dt.date
    source: str
    done: bool = False
    slot: str = ""  # which bilan this is ("periode-0", "intermediaire"…), "" for the start

    def late(self, today: dt.date) -> bool:
        return not self.done and today > self.due


@dataclass(frozen=True)
class MeasureCalendar:
    """Everything the service computes for a measure."""

    start_deadline: dt.date | None
    start_on_time: bool | None
    start: dt.date | None
    end_from_order: dt.date | None  # ASLL §2.1 reading: counted from the bon de commande
    periods: tuple[Period, ...]
    dues: tuple[Due, ...] = field(default=())

    @property
    def end(self) -> dt.date | None:
        return self.periods[-1].end if self.periods else None


def start_deadline(kind: str, order_date: dt.date | None) -> dt.date | None:
    """Return the last day to start (ASLL §6.3): calendar days after receiving the order."""
    days = START_DEADLINE_DAYS.get(kind)
    if days is None or order_date is None:
        return None
    return order_date + dt.timedelta(days=days)


def check(
    kind: str,
    *,
    order_date: dt.date | None,
    first_meeting: dt.date | None,
    months: int,
    renewals: Sequence[Renewal] = (),
    ended: dt.date | None = None,
) -> None:
    """Refuse an impossible measure with a clear French message."""
    if kind not in TYPES:
        raise MesureRuleError(f"Type de mesure inconnu : « {kind} ».", "type_mesure")
    if kind in START_DEADLINE_DAYS and order_date is None:
        raise MesureRuleError("Indiquez la date de réception du bon de commande (ASLL §6.3).", "date_bon_commande")
    if order_date and first_meeting and first_meeting < order_date:
        raise MesureRuleError("La première rencontre ne peut pas précéder la réception du bon de commande.", "date_premiere_rencontre")
    _check_duration(kind, months, renewals)
    start = first_meeting or order_date
    if ended and start and ended < start:
        raise MesureRuleError("La fin de la mesure ne peut pas précéder son début.", "date_fin")


def _check_duration(kind: str, months: int, renewals: Sequence[Renewal]) -> None:
    """Refuse a duration, or renewals, the type of measure does not allow."""
    if kind == "asll_installation" and months != 3:
        raise MesureRuleError("L'ASLL Installation est décidée pour 3 mois (ASLL §2.1, §8).", "duree_mois")
    if kind == "asll_maintien" and not 1 <= months <= DURATION_MONTHS["asll_maintien"]:
        raise MesureRuleError("L'ASLL Maintien est décidé pour 6 mois au plus (ASLL §2.2, §8).", "duree_mois")
    if kind == "aml" and months != 12:
        raise MesureRuleError("L'AML Logement d'abord dure 12 mois (AML §4).", "duree_mois")
    if renewals and kind != "asll_maintien":
        if kind == "asll_installation":
            raise MesureRuleError(
                "L'ASLL Installation n'est pas renouvelable (ASLL §2.1, §9.1) : "
                "si des difficultés persistent, demandez un ASLL Maintien."
            )
        raise MesureRuleError("Le renouvellement d'une AML suit un bilan à échéance : créez une nouvelle mesure.")
    total = months
    for renewal in renewals:
        if not renewal.reason.strip():
            raise MesureRuleError("Un renouvellement doit être motivé (ASLL §9).", "motif")
        if renewal.months < 1:
            raise MesureRuleError("La durée d'un renouvellement est d'au moins un mois.", "duree_mois")
        total += renewal.months
    if total > MAINTIEN_TOTAL_MONTHS and kind == "asll_maintien":
        raise MesureRuleError(
            f"La durée totale de l'ASLL Maintien ne peut pas dépasser {MAINTIEN_TOTAL_MONTHS} mois "
            f"(ASLL §2.2, §9.2) : {total} mois demandés.",
            "duree_mois",
        )


def compute(
    kind: str,
    *,
    order_date: dt.date | None,
    first_meeting: dt.date | None,
    months: int,
    renewals: Sequence[Renewal] = (),
    bilans_done: Iterable[str] = (),
    ended: dt.date | None = None,
    relay_start: dt.date | None = None,
) -> MeasureCalendar:
    """Compute the start deadline, the periods, their end and every bilan due.

    ``ended`` is the day a measure was closed before its term (fin anticipée, move, other
    measure): the support stops that day, and its bilan is due as at a term (ASLL §9).
    ``relay_start`` is the day the other measure it was ended for (MASP, MAJ…) starts: the
    last bilan is then due before it (ASLL §9), if that comes before the usual 15 days.
    """
    deadline = start_deadline(kind, order_date)
    on_time = (first_meeting <= deadline) if deadline and first_meeting else None
    # ASLL §8: "L'accompagnement démarre à partir du jour de la rencontre avec le ménage."
    # Until that first meeting, the provisional start is the order (§2.1) or, for AML, unknown.
    start = first_meeting or order_date
    end_from_order = add_months(order_date, months) if order_date else None
    done = set(bilans_done)
    periods: list[Period] = []
    dues: list[Due] = []
    if deadline is not None:
        dues.append(Due("Démarrage de l'accompagnement", deadline, "ASLL §6.3", done=first_meeting is not None))
    planned = _planned(kind, start, months, renewals, ended)
    for index, (label, p_start, p_end, slot) in enumerate(planned):
        relay = relay_start if ended is not None and index == len(planned) - 1 else None
        period, period_dues = _period(kind, label, p_start, p_end, slot, done, ended, relay)
        periods.append(period)
        dues += period_dues
    dues.sort(key=lambda d: d.due)
    return MeasureCalendar(deadline, on_time, start, end_from_order, tuple(periods), tuple(dues))


def _planned(
    kind: str, start: dt.date | None, months: int, renewals: Sequence[Renewal], ended: dt.date | None
) -> list[tuple[str, dt.date, dt.date, str]]:
    """The periods of support as (label, start, end, slot): the initial one, then each renewal."""
    planned: list[tuple[str, dt.date, dt.date, str]] = []
    if start is not None:
        planned.append(("Accompagnement" if kind == "aml" else "Période initiale", start, add_months(start, months), "periode-0"))
        planned += [
            (f"Renouvellement {i}", r.decision_date, add_months(r.decision_date, r.months), f"periode-{i}")
            for i, r in enumerate(renewals, start=1)
        ]
    if ended is not None:
        planned = [(label, s, min(e, ended), slot) for label, s, e, slot in planned if s <= ended]
    return planned


def _period(
    kind: str, label: str, start: dt.date, end: dt.date, slot: str, done: set[str], ended: dt.date | None, relay: dt.date | None = None
) -> tuple[Period, list[Due]]:
    """One period of support and the bilans it makes due."""
    if kind == "aml":
        dues: list[Due] = []
        intermediate = add_months(start, 3)
        if intermediate < end:
            dues.append(Due("Bilan intermédiaire (3 mois)", intermediate, "AML §4", "intermediaire" in done, "intermediaire"))
        title = "Bilan à échéance (12 mois)" if ended is None else "Bilan de fin d'accompagnement"
        dues.append(Due(title, end, "AML §4", "echeance" in done, "echeance"))
        return Period(label, start, end, end), dues
    bilan = end + dt.timedelta(days=BILAN_DELAY_DAYS)
    section = "ASLL §9.2" if slot != "periode-0" or kind == "asll_maintien" else "ASLL §9.1"
    # ASLL §9: ended for another measure (MASP, MAJ…), "il convient d'anticiper la production du
    # bilan afin de ne pas créer de rupture": due the day before that measure starts (never
    # before the end itself), when that is sooner than the usual 15 days.
    if relay is not None and max(end, relay - dt.timedelta(days=1)) < bilan:
        bilan, section = max(end, relay - dt.timedelta(days=1)), "ASLL §9"
    if slot == "periode-0":
        due = Due("Bilan de fin de période initiale", bilan, section, slot in done, slot)
    else:
        due = Due(f"Bilan du {label[0].lower()}{label[1:]}", bilan, section, slot in done, slot)
    return Period(label, start, end, bilan), [due]


@dataclass(frozen=True)
class Window:
    """A week or a fortnight of support and the meetings held in it."""

    start: dt.date
    end: dt.date  # inclusive
    required: int
    held: int

    @property
    def short(self) -> bool:
        return self.held < self.required


def required_rhythm(kind: str) -> str:
    """Describe the minimum meeting rhythm in French (ASLL §6.3, AML §4)."""
    return {
        "aml": "1 à 2 rencontres minimum par semaine (AML §4)",
        "asll_installation": "au moins une rencontre par semaine le premier mois, puis une par quinzaine (ASLL §6.3)",
        "asll_maintien": "au moins une rencontre par quinzaine (ASLL §6.3)",
    }[kind]


def rhythm(kind: str, start: dt.date, end: dt.date, today: dt.date, meetings: Iterable[dt.date]) -> list[Window]:
    """Cut the elapsed support into the windows the rhythm requires and count the meetings.

    Only windows already over on ``today`` are judged. Installation: weekly windows during the
    first month, then fortnights (ASLL §6.3, reading "le premier mois de signature du bail" as
    the first month of support); Maintien: fortnights; AML: weeks with at least one meeting
    (AML §4: "1 à 2 rencontres minimum par semaine").
    """
    held = sorted(meetings)
    limit = min(end, today - dt.timedelta(days=1))
    windows: list[Window] = []
    cursor = start
    first_month_end = add_months(start, 1)
    while True:
        if kind == "aml":
            days = 7
        elif kind == "asll_installation":
            days = 7 if cursor < first_month_end else 14
        else:
            days = 14
        w_end = cursor + dt.timedelta(days=days - 1)
        if kind == "asll_installation" and cursor < first_month_end:
            # The weekly month ends with the first month, even mid-week.
            w_end = min(w_end, first_month_end - dt.timedelta(days=1))
        if w_end > limit:
            break
        count = sum(1 for d in held if cursor <= d <= w_end)
        windows.append(Window(cursor, w_end, 1, count))
        cursor = w_end + dt.timedelta(days=1)
    return windows
