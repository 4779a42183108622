"""The figures of the measures per territory and type over a period, computed by PostgreSQL.

Every figure is one grouped query over the measures ``user`` may read (``policy.visible_mesures``:
their territories, or every one of a Département they were granted); a territory or a type the
user does not read is never counted, not even in a total. The definitions, and where the sources
are silent, are in docs/statistics.md and docs/decisions.md.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Date, Interval, Select, and_, case, cast, func, select
from sqlalchemy.orm import Session, selectinload
from sqlalchemy.sql.elements import ColumnElement

from schemas import registry
from schemas.base.records import MOTIFS_FIN
from schemas.fiche_incident import TYPES_INCIDENT
from webforms import policy
from webforms.mesures.rules import TYPES
from webforms.mesures.services import calendar
from webforms.models import Document, Mesure, Renouvellement, Territoire, User
from webforms.timeutil import paris_date

PARIS = "Europe/Paris"
NO_TERRITORY = "Sans territoire (Département)"
# The one value of the territory filter that means "no territory" (a Département-wide grant reads it).
NONE_CODE = "aucun"
INCIDENT_LABELS = dict(TYPES_INCIDENT)
OUTCOME_LABELS = dict(MOTIFS_FIN)
# The figures of a row, in the page's, the PDF's and the spreadsheet's order, with their French titles.
FIGURES = {
    "commandees": "Mesures commandées",
    "commencees": "Mesures commencées",
    "terminees": "Mesures terminées",
    "duree_moyenne": "Durée moyenne (jours)",
    "renouvellements": "Renouvellements",
    "bilans_a_temps": "Bilans à temps",
    "bilans_en_retard": "Bilans en retard",
    "closes_sans_debut": "Closes sans avoir commencé",
}


class StatisticsError(ValueError):
    """A period or a territory refused; the message is French."""


@dataclass(frozen=True)
class Period:
    """The days counted, both included."""

    first: dt.date
    last: dt.date


@dataclass
class Figures:
    """Everything the page, the PDF and the spreadsheet show for one period."""

    period: Period
    today: dt.date
    territoire: str | None  # the territory filter's name, None: every territory read
    rows: list[dict[str, Any]] = field(default_factory=list)
    total: dict[str, Any] = field(default_factory=dict)
    incidents: list[dict[str, Any]] = field(default_factory=list)
    outcomes: list[dict[str, Any]] = field(default_factory=list)


def parse_period(first: str | None, last: str | None, today: dt.date) -> Period:
    """Read the period typed (AAAA-MM-JJ); by default the current calendar year."""
    try:
        start = dt.date.fromisoformat(first.strip()) if first and first.strip() else dt.date(today.year, 1, 1)
        end = dt.date.fromisoformat(last.strip()) if last and last.strip() else dt.date(today.year, 12, 31)
    except ValueError:
        raise StatisticsError("Période invalide : les dates s'écrivent AAAA-MM-JJ.") from None
    if end < start:
        raise StatisticsError("Période invalide : la fin précède le début.")
    if (end - start).days > 366 * 20:
        raise StatisticsError("Période invalide : vingt ans au plus.")
    return Period(start, end)


def readable_territories(session: Session, user: User) -> list[Territoire]:
    """The territories holding a measure ``user`` reads, by name (the choices of the filter)."""
    ids = visible_ids(user).with_only_columns(Mesure.territoire_id).distinct()
    return list(session.scalars(select(Territoire).where(Territoire.id.in_(ids)).order_by(Territoire.nom)))


def visible_ids(user: User) -> Select[tuple[int]]:
    """The ids of the measures ``user`` reads (the policy's one rule)."""
    return policy.visible_mesures(user).with_only_columns(Mesure.id).order_by(None)


def _paris_day(column: Any) -> ColumnElement[dt.date]:
    """The Paris calendar day of a stored instant (a day starts at midnight in Paris, not UTC)."""
    return cast(func.timezone(PARIS, column), Date)


def _plus_months(day: Any, months: Any) -> ColumnElement[dt.date]:
    # PostgreSQL keeps the day number or takes the month's last day, as add_months does (French
    # law's way of counting months, rules.add_months): 31 January + 1 month = 28 February.
    return cast(day + func.make_interval(0, months, type_=Interval()), Date)


def measure_end() -> ColumnElement[dt.date | None]:
    """The SQL of the day a started measure ends: its term (the last renewal's, ASLL §8), or the
    day it was closed if sooner; NULL for a measure never started (ASLL §8, §10)."""
    last_renewal = (
        select(_plus_months(Renouvellement.date_decision, Renouvellement.duree_mois))
        .where(Renouvellement.mesure_id == Mesure.id)
        .order_by(Renouvellement.date_decision.desc(), Renouvellement.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    term = func.coalesce(last_renewal, _plus_months(Mesure.date_premiere_rencontre, Mesure.duree_mois))
    return case(
        (Mesure.date_premiere_rencontre.is_(None), None),
        (Mesure.date_fin_effective.is_not(None), func.least(Mesure.date_fin_effective, term)),
        else_=term,
    )


def ordered_on() -> ColumnElement[dt.date | None]:
    """The SQL of the day a measure was ordered: its bon de commande (ASLL §6.3); an AML has none
    (AML §4), it is ordered by the referral's decision, the day the measure was opened."""
    return case((Mesure.type_mesure == "aml", _paris_day(Mesure.created_at)), else_=Mesure.date_bon_commande)


def _within(column: ColumnElement[Any], first: dt.date, last: dt.date) -> ColumnElement[bool]:
    return and_(column >= first, column <= last)


def _scope(user: User, territoire: str | None) -> list[ColumnElement[bool]]:
    """The conditions on the measures counted: those ``user`` reads, of the chosen territory."""
    where = [Mesure.id.in_(visible_ids(user))]
    if territoire == NONE_CODE:
        where.append(Mesure.territoire_id.is_(None))
    elif territoire:
        where.append(Mesure.territoire_id.in_(select(Territoire.id).where(Territoire.code == territoire)))
    return where


def figures(session: Session, user: User, period: Period, *, today: dt.date, territoire: str | None = None) -> Figures:
    """Count, per territory and measure type, what happened in ``period`` to the measures ``user`` reads."""
    first, last = period.first, period.last
    name = None
    if territoire and territoire != NONE_CODE:
        found = next((t for t in readable_territories(session, user) if t.code == territoire), None)
        if found is None:
            raise StatisticsError("Territoire inconnu, ou dont vous ne lisez pas les mesures.")
        name = found.nom
    elif territoire == NONE_CODE:
        name = NO_TERRITORY
    where = _scope(user, territoire)
    end, start = measure_end(), Mesure.date_premiere_rencontre
    ended = and_(end >= first, end <= last, end <= today)  # a term still to come has not ended yet
    keys = (Mesure.territoire_id, Mesure.type_mesure)
    measures = session.execute(
        select(
            *keys,
            func.count().filter(_within(ordered_on(), first, last)),
            func.count().filter(_within(start, first, last)),
            func.count().filter(ended),
            func.avg(end - start).filter(ended),
            func.count().filter(start.is_(None), _within(Mesure.date_fin_effective, first, last)),
        ).where(*where).group_by(*keys)
    ).all()
    rows: dict[tuple[int | None, str], dict[str, Any]] = {
        (t, kind): {"commandees": a, "commencees": b, "terminees": c, "duree_moyenne": None if d is None else float(d), "closes_sans_debut": e,
                    "renouvellements": 0, "bilans_a_temps": 0, "bilans_en_retard": 0}
        for t, kind, a, b, c, d, e in measures
    }
    renewals = session.execute(
        select(*keys, func.count()).join(Renouvellement, Renouvellement.mesure_id == Mesure.id)
        .where(*where, _within(Renouvellement.date_decision, first, last)).group_by(*keys)
    ).all()
    for t, kind, n in renewals:
        rows[(t, kind)]["renouvellements"] = n
    sent = _paris_day(Document.submitted_at)
    bilans = [k for k, kind in registry().items() if kind.is_bilan]
    # A bilan is late when sent after its due date (Document.late); one without a due date is on time.
    for t, kind, on_time, late in session.execute(
        select(*keys, func.count().filter(func.coalesce(sent <= Document.echeance_date, True)), func.count().filter(sent > Document.echeance_date))
        .join(Document, Document.mesure_id == Mesure.id)
        .where(*where, Document.kind.in_(bilans), _within(sent, first, last)).group_by(*keys)
    ).all():
        rows[(t, kind)].update(bilans_a_temps=on_time, bilans_en_retard=late)
    # Each calendar reads its measure's renewals and the slots of its bilans: loaded in two queries,
    # not two per measure, and of the documents only what the count reads (not their data).
    related = (
        selectinload(Mesure.documents).load_only(Document.kind, Document.echeance, Document.submitted_at),
        selectinload(Mesure.renouvellements),
    )
    for mesure in session.scalars(select(Mesure).where(*where).options(*related)):
        rows[(mesure.territoire_id, mesure.type_mesure)]["bilans_en_retard"] += unsent_late(mesure, first, last, today)
    names: dict[int, str] = {t: n for t, n in session.execute(select(Territoire.id, Territoire.nom))}
    result = Figures(period, today, name)
    result.rows = [
        {"territoire": names.get(t, NO_TERRITORY) if t else NO_TERRITORY, "type_mesure": TYPES.get(kind, kind), **counts}
        for (t, kind), counts in sorted(rows.items(), key=lambda item: (names.get(item[0][0]) or "~", item[0][1]))
    ]
    result.total = _total(result.rows, measures)
    incident_type = func.json_extract_path_text(Document.submitted_data, "incident", "type_incident")
    result.incidents = _labelled(session.execute(
        select(*keys, incident_type, func.count()).join(Document, Document.mesure_id == Mesure.id)
        .where(*where, Document.kind == "fiche_incident", _within(sent, first, last)).group_by(*keys, incident_type)
    ).all(), names, INCIDENT_LABELS, "nature")
    outcome = func.coalesce(Mesure.motif_fin, "terme")
    result.outcomes = _labelled(session.execute(
        select(*keys, outcome, func.count()).where(*where, ended).group_by(*keys, outcome)
    ).all(), names, OUTCOME_LABELS, "issue")
    return result


def unsent_late(mesure: Mesure, first: dt.date, last: dt.date, today: dt.date) -> int:
    """Count the measure's bilans due in the period and still not sent at its end: late, though never sent there."""
    # A bilan sent in the period is counted above by its sending day; one due in the period and
    # not sent by its last day (sent later, or never) is late all the same (ASLL §9, AML §4): a
    # Département counting only what arrived would see no late bilan from a silent operator.
    kinds = registry()
    sent = {
        d.echeance for d in mesure.documents
        if d.echeance and d.submitted_at is not None and kinds.get(d.kind) is not None and kinds[d.kind].is_bilan and paris_date(d.submitted_at) <= last
    }
    dues = calendar(mesure, sent).dues  # the dues only: the meeting rhythm is not counted here
    return sum(1 for d in dues if d.slot and not d.done and first <= d.due <= last and d.due < today)


def _total(rows: list[dict[str, Any]], measures: Iterable[Any]) -> dict[str, Any]:
    """The sum of the rows; the average duration weighted by the measures ended."""
    total: dict[str, Any] = {key: sum(r[key] for r in rows) for key in FIGURES if key != "duree_moyenne"}
    weighted = [(r[5], r[4]) for r in measures if r[5] is not None]  # (average, ended)
    ended = sum(n for _, n in weighted)
    total["duree_moyenne"] = sum(float(avg) * n for avg, n in weighted) / ended if ended else None
    return {"territoire": "Total", "type_mesure": "", **total}


def _labelled(found: Iterable[Any], names: dict[int, str], labels: dict[str, str], what: str) -> list[dict[str, Any]]:
    """Rows (territory, type, French label, count), by territory, type and label."""
    out = [
        {"territoire": names.get(t, NO_TERRITORY) if t else NO_TERRITORY, "type_mesure": TYPES.get(kind, kind), what: labels.get(code or "", code or "non renseigné"), "nombre": n}
        for t, kind, code, n in found
    ]
    return sorted(out, key=lambda r: (r["territoire"], r["type_mesure"], r[what]))
