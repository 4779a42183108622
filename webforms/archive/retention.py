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
from webforms.models import RETENTION_FATES, ArchiveRecord, Document, Mesure, RetentionRule, User
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


# The measures themselves (the household's identity, meetings, renewals), ruled beside the kinds.
# The sources are silent; CNIL deliberation 2023-095 (social and medico-social sector): the data
# stay in the active base "2 ans à compter du dernier contact", then are erased (docs/decisions.md).
MESURE = "mesure"
MESURE_TITLE = "Mesure d'accompagnement (identité du ménage, rencontres, renouvellements)"
MESURE_DEFAULT = Retention(years=2, fate="destruction")


def rule_for(session: Session, kind_name: str) -> RuleInForce:
    """The rule in force for a kind (or for the measures): the administrator's latest, else the default."""
    row = session.scalars(select(RetentionRule).where(RetentionRule.kind == kind_name).order_by(RetentionRule.id.desc()).limit(1)).first()
    if row is not None:
        return RuleInForce(kind_name, row.years, row.fate, True, row.note, row.created_at)
    default: Retention = MESURE_DEFAULT if kind_name == MESURE else get_kind(kind_name).retention
    return RuleInForce(kind_name, default.years, default.fate, False)


def rules(session: Session) -> list[RuleInForce]:
    """The rule in force of every kind, in the catalogue's order, then the measures'."""
    return [rule_for(session, name) for name in [*registry(), MESURE]]


def titles() -> dict[str, str]:
    """What each rule is about, in French: the kinds' titles and the measures."""
    return {**{name: k.title for name, k in registry().items()}, MESURE: MESURE_TITLE}


def rule_history(session: Session, kind_name: str) -> list[RetentionRule]:
    """Every rule an administrator set for a kind, newest first."""
    return list(session.scalars(select(RetentionRule).where(RetentionRule.kind == kind_name).order_by(RetentionRule.id.desc())))


def set_rule(session: Session, svc: ArchiveServices, *, user: User, kind_name: str, years: int, fate: str, note: str | None) -> RetentionRule:
    """Record a new retention rule for a kind (administrators); the earlier ones stay."""
    if kind_name not in registry() and kind_name != MESURE:
        raise ArchiveError("Type de document inconnu.")
    if kind_name == MESURE and fate != "destruction":
        raise ArchiveError("Une mesure n'est pas versée aux Archives départementales (ses documents le sont) : son sort final est la destruction.")
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
        end = mesure_end(doc.mesure, today)
        return end, "fin de la mesure" + ("" if end else " (en cours)")
    if doc.appel is not None:
        return dt.date.fromisoformat(doc.appel.data["periode_fin"]), "fin de la période de l'appel"
    if doc.submitted_at is not None:
        return paris_date(doc.submitted_at), "date de soumission"
    return None, "date de soumission"


def mesure_end(mesure: Mesure, today: dt.date) -> dt.date | None:
    """The end of a measure: closed early, or the end of its last period once passed; None while it runs."""
    if mesure.date_fin_effective is not None:
        return mesure.date_fin_effective
    periods = overview(mesure, today).calendar.periods
    end = periods[-1].end if periods else None
    return end if end is not None and end < today else None


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


def mesure_term(session: Session, mesure: Mesure, today: dt.date, rule: RuleInForce | None = None) -> Term:
    """The rule, start and end of a measure's retention: from the last contact, its end or a later meeting."""
    rule = rule or rule_for(session, MESURE)
    end = mesure_end(mesure, today)
    # The last contact with the household (CNIL 2023-095): a meeting recorded after the end counts.
    start = max([end, *(r.date for r in mesure.rencontres)]) if end else None
    return Term(rule, start, "fin de la mesure ou la dernière rencontre", add_months(start, 12 * rule.years) if start else None)
