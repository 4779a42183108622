"""Retention rules (the kind's default or the administrator's) and the term of each record."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas import get_kind, registry
from schemas.base.kind import Retention
from webforms.archive.audit import commit, log
from webforms.archive.services import ArchiveError, ArchiveServices
from webforms.mesures.rules import add_months
from webforms.mesures.services import overview
from webforms.models import RETENTION_FATES, ArchiveRecord, Document, RetentionRule, User
from webforms.timeutil import paris_date


@dataclass(frozen=True)
class RuleInForce:
    """A kind's retention rule as it applies today."""

    kind: str
    years: int
    fate: str
    by_admin: bool
    note: str | None = None
    since: dt.datetime | None = None

    @property
    def fate_label(self) -> str:
        """The final fate in French (destruction, or transfer to the Archives départementales)."""
        return RETENTION_FATES[self.fate]


def rule_for(session: Session, kind_name: str) -> RuleInForce:
    """The rule in force for a kind: the administrator's latest, else the kind's default."""
    row = session.scalars(select(RetentionRule).where(RetentionRule.kind == kind_name).order_by(RetentionRule.id.desc()).limit(1)).first()
    if row is not None:
        return RuleInForce(kind_name, row.years, row.fate, True, row.note, row.created_at)
    default: Retention = get_kind(kind_name).retention
    return RuleInForce(kind_name, default.years, default.fate, False)


def rules(session: Session) -> list[RuleInForce]:
    """The rule in force of every kind, in the catalogue's order."""
    return [rule_for(session, name) for name in registry()]


def rule_history(session: Session, kind_name: str) -> list[RetentionRule]:
    """Every rule an administrator set for a kind, newest first."""
    return list(session.scalars(select(RetentionRule).where(RetentionRule.kind == kind_name).order_by(RetentionRule.id.desc())))


def set_rule(session: Session, svc: ArchiveServices, *, user: User, kind_name: str, years: int, fate: str, note: str | None) -> RetentionRule:
    """Record a new retention rule for a kind (administrators); the earlier ones stay."""
    if kind_name not in registry():
        raise ArchiveError("Type de document inconnu.")
    if not 1 <= years <= 100:
        raise ArchiveError("La durée de conservation s'exprime en années, de 1 à 100.")
    if fate not in RETENTION_FATES:
        raise ArchiveError("Choisissez le sort final : destruction ou versement aux Archives départementales.")
    now = svc.clock()
    row = RetentionRule(kind=kind_name, years=years, fate=fate, note=(note or "").strip()[:500] or None, created_by_id=user.id, created_at=now)
    session.add(row)
    session.flush()
    log(session, now, "retention_rule", key=svc.seal_key, user=user, kind=kind_name, years=years, fate=fate, rule_id=row.id)
    commit(session, svc)
    return row


def retention_start(doc: Document, today: dt.date) -> tuple[dt.date | None, str]:
    """When the retention term starts running for a document, and what that date is.

    The sources are silent on archives (docs/decisions.md): the term runs from the end of what
    the document is about. A measure's document: the measure's end (closed early, or the end
    of its last period once passed); a candidature: the end of its call's funded period;
    anything else: the day it was submitted. ``None`` while the measure runs.
    """
    if doc.mesure is not None:
        mesure = doc.mesure
        if mesure.date_fin_effective is not None:
            return mesure.date_fin_effective, "fin de la mesure"
        periods = overview(mesure, today).calendar.periods
        end = periods[-1].end if periods else None
        if end is not None and end < today:
            return end, "fin de la mesure"
        return None, "fin de la mesure (en cours)"
    if doc.appel is not None:
        return dt.date.fromisoformat(doc.appel.data["periode_fin"]), "fin de la période de l'appel"
    if doc.submitted_at is not None:
        return paris_date(doc.submitted_at), "date de soumission"
    return None, "date de soumission"


@dataclass(frozen=True)
class Term:
    """A record's retention as it stands today."""

    rule: RuleInForce
    start: dt.date | None
    basis: str
    end: dt.date | None

    @property
    def reached(self) -> bool:
        """Whether the term is known (a measure still running has none yet)."""
        return self.end is not None

    def past(self, today: dt.date) -> bool:
        """Whether the term has come by ``today``."""
        return self.end is not None and self.end <= today


def term_of(session: Session, record: ArchiveRecord, today: dt.date, rule: RuleInForce | None = None) -> Term:
    """The rule, start and end of a record's retention (``rule``: the kind's, when already read)."""
    rule = rule or rule_for(session, record.kind)
    start, basis = retention_start(record.document, today)
    end = add_months(start, 12 * rule.years) if start else None
    return Term(rule, start, basis, end)
