"""The reminders of a measure, told to its referent: each a function giving its occurrences on a day.

Every delay comes from the measures' own calendar (``mesures.rules``, ``mesures.services.overview``),
which cites its source; where the sources give no warning delay, docs/decisions.md says why
the one chosen.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from webforms.mesures import rules
from webforms.mesures.services import bilans_done, overview
from webforms.models import Mesure
from webforms.rendering.context import date_fr

# "Un bilan dû dans 7 jours" (issue 14): told from 7 days before its due date, once.
SOON_DAYS = 7
# The start deadline is only 10 or 15 days after the order (ASLL §6.3): told 3 days before it.
START_SOON_DAYS = 3
# A Maintien's end: told 30 days before, time to write the bilan that asks for the renewal (ASLL §9.2).
END_SOON_DAYS = 30
# "Des rencontres en deçà du rythme deux périodes de suite" (issue 14).
SHORT_IN_A_ROW = 2


@dataclass(frozen=True)
class Occurrence:
    """One reminder to send once: its key, its event, what it says."""

    cle: str
    evenement: str
    what: str
    detail: str | None = None  # below the line, in the e-mail's body and not its subject


def bilan_due(mesure: Mesure, today: dt.date) -> Iterator[Occurrence]:
    """A bilan not transmitted, due within ``SOON_DAYS`` days, or overdue (ASLL §9.1, §9.2; AML §4)."""
    for due in overview(mesure, today, bilans_done(mesure)).calendar.dues:
        if not due.slot or due.done:
            continue  # the start of the measure is ``start_due``'s; a bilan done is done
        left = (due.due - today).days
        key = f"{mesure.id}:{due.slot}:{due.due.isoformat()}"
        if left < 0:
            yield Occurrence(f"bilan-retard:{key}", "bilan_en_retard", f"{due.title} en retard, attendu le {date_fr(due.due)} ({due.source})")
        elif left <= SOON_DAYS:
            yield Occurrence(f"bilan-bientot:{key}", "bilan_a_rendre", f"{due.title} à transmettre d'ici le {date_fr(due.due)} ({due.source})")


def start_due(mesure: Mesure, today: dt.date) -> Iterator[Occurrence]:
    """An ASLL measure with no first meeting, its start deadline near or passed (ASLL §6.3)."""
    deadline = rules.start_deadline(mesure.type_mesure, mesure.date_bon_commande)
    if deadline is None or mesure.date_premiere_rencontre is not None or mesure.date_fin_effective is not None:
        return
    left = (deadline - today).days
    key = f"{mesure.id}:{deadline.isoformat()}"
    days = rules.START_DEADLINE_DAYS[mesure.type_mesure]
    if left < 0:
        yield Occurrence(f"demarrage-retard:{key}", "demarrage_en_retard",
                         f"aucune première rencontre, le délai de démarrage ({days} jours après le bon de commande) a expiré le {date_fr(deadline)} (ASLL §6.3)")
    elif left <= START_SOON_DAYS:
        yield Occurrence(f"demarrage-bientot:{key}", "demarrage_a_venir",
                         f"première rencontre à tenir au plus tard le {date_fr(deadline)} ({days} jours après le bon de commande, ASLL §6.3)")


def rhythm_short(mesure: Mesure, today: dt.date) -> Iterator[Occurrence]:
    """The last ``SHORT_IN_A_ROW`` periods over all fell short of the meeting rhythm (ASLL §6.3, AML §4).

    One occurrence per run of short periods: told once when the second one ends, not again
    while the run goes on; a period with its meeting ends the run.
    """
    if mesure.date_fin_effective is not None:
        return
    windows = overview(mesure, today).windows
    run = 0
    for window in reversed(windows):
        if not window.short:
            break
        run += 1
    if run < SHORT_IN_A_ROW:
        return
    first = windows[-run]
    yield Occurrence(f"rythme:{mesure.id}:{first.start.isoformat()}", "rythme_insuffisant",
                     f"rencontres en deçà du rythme {run} périodes de suite depuis le {date_fr(first.start)} : {rules.required_rhythm(mesure.type_mesure)}")


def _renewal_asked(mesure: Mesure, slot: str) -> bool:
    """Was a bilan asking for a renewal transmitted for the period ``slot``?"""
    return any(
        doc.kind == "bilan_asll_maintien" and doc.echeance == slot and doc.statut != "brouillon"
        and ((doc.submitted_data or {}).get("proposition") or {}).get("proposition") == "renouvellement"
        for doc in mesure.documents
    )


def end_without_renewal(mesure: Mesure, today: dt.date) -> Iterator[Occurrence]:
    """A Maintien ending within ``END_SOON_DAYS`` days, still renewable, with no renewal asked (ASLL §2.2, §9.2)."""
    if mesure.type_mesure != "asll_maintien" or mesure.date_fin_effective is not None:
        return
    granted = mesure.duree_mois + sum(r.duree_mois for r in mesure.renouvellements)
    periods = overview(mesure, today).calendar.periods
    if granted >= rules.MAINTIEN_TOTAL_MONTHS or not periods:
        return  # 12 months in all: no renewal possible (ASLL §2.2)
    end, slot = periods[-1].end, f"periode-{len(periods) - 1}"
    if 0 <= (end - today).days <= END_SOON_DAYS and not _renewal_asked(mesure, slot):
        yield Occurrence(f"fin-maintien:{mesure.id}:{end.isoformat()}", "fin_sans_renouvellement",
                         f"fin de l'accompagnement le {date_fr(end)} sans demande de renouvellement ; un renouvellement se demande, motivé, dans le bilan (ASLL §9.2)")


RULES: tuple[Callable[[Mesure, dt.date], Iterator[Occurrence]], ...] = (bilan_due, start_due, rhythm_short, end_without_renewal)
