"""Date rules of a measure at their edges; each test names the section it checks."""

from __future__ import annotations

import datetime as dt

import pytest

from webforms.mesures.rules import (
    MesureRuleError,
    Renewal,
    add_months,
    check,
    compute,
    rhythm,
    start_deadline,
)

D = dt.date


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2024, 1, 31), 1, D(2024, 2, 29)),  # leap year: no 31 February, last day of the month
        (D(2023, 1, 31), 1, D(2023, 2, 28)),
        (D(2024, 2, 29), 12, D(2025, 2, 28)),
        (D(2024, 11, 30), 3, D(2025, 2, 28)),
        (D(2024, 3, 1), 3, D(2024, 6, 1)),
        (D(2024, 8, 31), 6, D(2025, 2, 28)),
        (D(2019, 9, 15), 12, D(2020, 9, 15)),
    ],
)
def test_months_are_counted_as_french_law_does(start: dt.date, months: int, expected: dt.date) -> None:
    assert add_months(start, months) == expected


@pytest.mark.parametrize(
    ("kind", "order", "deadline"),
    [
        ("asll_installation", D(2024, 3, 1), D(2024, 3, 11)),  # a Friday: the deadline is the Monday after next
        ("asll_installation", D(2024, 2, 26), D(2024, 3, 7)),  # across the end of February (leap year)
        ("asll_maintien", D(2024, 12, 20), D(2025, 1, 4)),  # across the new year
        ("aml", D(2024, 3, 1), None),  # AML has no bon de commande (AML §4)
    ],
)
def test_start_deadline_asll_6_3(kind: str, order: dt.date, deadline: dt.date | None) -> None:
    assert start_deadline(kind, order) == deadline


def test_installation_starts_at_the_first_meeting_and_lasts_three_months_asll_8() -> None:
    cal = compute("asll_installation", order_date=D(2024, 3, 1), first_meeting=D(2024, 3, 8), months=3)
    assert cal.start == D(2024, 3, 8)
    assert cal.end == D(2024, 6, 8)
    assert cal.end_from_order == D(2024, 6, 1)  # the ASLL §2.1 reading, shown beside it
    assert cal.start_on_time is True
    bilan = next(d for d in cal.dues if d.title.startswith("Bilan"))
    assert (bilan.due, bilan.source) == (D(2024, 6, 23), "ASLL §9.1")


def test_late_start_is_flagged_asll_6_3() -> None:
    cal = compute("asll_installation", order_date=D(2024, 3, 1), first_meeting=D(2024, 3, 12), months=3)
    assert cal.start_on_time is False
    cal = compute("asll_installation", order_date=D(2024, 3, 1), first_meeting=None, months=3)
    start_due = cal.dues[0]
    assert start_due.title == "Démarrage de l'accompagnement"
    assert start_due.late(D(2024, 3, 12)) and not start_due.late(D(2024, 3, 11))


def test_aml_bilans_at_3_and_12_months_aml_4() -> None:
    cal = compute("aml", order_date=None, first_meeting=D(2019, 11, 30), months=12)
    assert [(d.title, d.due) for d in cal.dues] == [
        ("Bilan intermédiaire (3 mois)", D(2020, 2, 29)),
        ("Bilan à échéance (12 mois)", D(2020, 11, 30)),
    ]


def test_maintien_renewals_start_on_the_dpds_decision_asll_8_9_2() -> None:
    renewals = [Renewal(D(2024, 9, 20), 3, "Plan d'apurement en cours"), Renewal(D(2024, 12, 20), 3, "Relogement")]
    cal = compute("asll_maintien", order_date=D(2024, 3, 1), first_meeting=D(2024, 3, 14), months=6, renewals=renewals)
    assert [(p.start, p.end) for p in cal.periods] == [
        (D(2024, 3, 14), D(2024, 9, 14)),
        (D(2024, 9, 20), D(2024, 12, 20)),
        (D(2024, 12, 20), D(2025, 3, 20)),
    ]
    assert cal.end == D(2025, 3, 20)
    assert [d.due for d in cal.dues if d.title.startswith("Bilan")] == [D(2024, 9, 29), D(2025, 1, 4), D(2025, 4, 4)]


@pytest.mark.parametrize(
    ("kind", "kwargs", "message"),
    [
        ("asll_installation", {"renewals": [Renewal(D(2024, 7, 1), 3, "x")]}, "n'est pas renouvelable"),
        ("asll_maintien", {"months": 6, "renewals": [Renewal(D(2024, 9, 1), 6, "a"), Renewal(D(2025, 3, 1), 1, "b")]}, "13 mois demandés"),
        ("asll_maintien", {"months": 6, "renewals": [Renewal(D(2024, 9, 1), 3, "  ")]}, "motivé"),
        ("asll_maintien", {"months": 7}, "6 mois au plus"),
        ("asll_installation", {"first_meeting": D(2024, 2, 28)}, "précéder la réception du bon de commande"),
        ("asll_installation", {"order_date": None}, "bon de commande"),
        ("asll_installation", {"first_meeting": D(2024, 3, 5), "ended": D(2024, 3, 4)}, "précéder son début"),
    ],
)
def test_impossible_measures_are_refused_in_french(kind: str, kwargs: dict, message: str) -> None:
    args = {"order_date": D(2024, 3, 1), "first_meeting": None, "months": 3 if kind == "asll_installation" else 6}
    args.update(kwargs)
    with pytest.raises(MesureRuleError, match=message):
        check(kind, **args)


def test_maintien_up_to_exactly_twelve_months_is_allowed_asll_2_2() -> None:
    check("asll_maintien", order_date=D(2024, 3, 1), first_meeting=None, months=6, renewals=[Renewal(D(2024, 9, 1), 6, "motif")])


def test_installation_rhythm_weekly_then_fortnightly_asll_6_3() -> None:
    start = D(2024, 3, 8)
    meetings = [D(2024, 3, 8), D(2024, 3, 15), D(2024, 3, 29), D(2024, 4, 5), D(2024, 4, 20)]
    windows = rhythm("asll_installation", start, D(2024, 6, 8), D(2024, 5, 10), meetings)
    weekly = [w for w in windows if w.start < D(2024, 4, 8)]
    assert [(w.start, w.end) for w in weekly][:2] == [(D(2024, 3, 8), D(2024, 3, 14)), (D(2024, 3, 15), D(2024, 3, 21))]
    assert weekly[-1].end == D(2024, 4, 7)  # the weekly month ends with the first month
    assert [w.start for w in windows if w.short] == [D(2024, 3, 22), D(2024, 4, 22)]
    fortnights = [w for w in windows if w.start >= D(2024, 4, 8)]
    assert [(w.start, w.end, w.held) for w in fortnights] == [(D(2024, 4, 8), D(2024, 4, 21), 1), (D(2024, 4, 22), D(2024, 5, 5), 0)]


def test_rhythm_judges_only_windows_already_over() -> None:
    windows = rhythm("asll_maintien", D(2024, 3, 1), D(2024, 9, 1), D(2024, 3, 14), [])
    assert windows == []
    windows = rhythm("asll_maintien", D(2024, 3, 1), D(2024, 9, 1), D(2024, 3, 15), [])
    assert len(windows) == 1 and windows[0].short


def test_aml_rhythm_is_weekly_aml_4() -> None:
    windows = rhythm("aml", D(2024, 1, 1), D(2025, 1, 1), D(2024, 1, 22), [D(2024, 1, 3), D(2024, 1, 17)])
    assert [(w.start, w.short) for w in windows] == [(D(2024, 1, 1), False), (D(2024, 1, 8), True), (D(2024, 1, 15), False)]


def test_an_early_end_stops_the_support_and_brings_the_bilan_forward_asll_9() -> None:
    cal = compute("asll_installation", order_date=D(2024, 3, 1), first_meeting=D(2024, 3, 8), months=3, ended=D(2024, 4, 15))
    assert cal.end == D(2024, 4, 15)
    assert [(d.slot, d.due) for d in cal.dues if d.slot] == [("periode-0", D(2024, 4, 30))]
    renewals = [Renewal(D(2024, 9, 20), 3, "x")]
    cal = compute("asll_maintien", order_date=D(2024, 3, 1), first_meeting=D(2024, 3, 14), months=6, renewals=renewals, ended=D(2024, 8, 1))
    assert len(cal.periods) == 1  # the renewal decided after the end does not count
    cal = compute("aml", order_date=None, first_meeting=D(2019, 6, 3), months=12, ended=D(2019, 8, 1))
    assert [(d.slot, d.title, d.due) for d in cal.dues] == [("echeance", "Bilan de fin d'accompagnement", D(2019, 8, 1))]
