"""The reminders the last audit found untested, each at its date edge and through a real SMTP server.

For each: the day before, no e-mail; the day, one e-mail to the measure's referent, read back
from ``aiosmtpd``; a second run of the reminders that day (another worker), nothing more. Each
test keeps to the rule it is about (the measures here also fall due for other reminders,
tested in tests/test_reminders.py and tests/test_reminder_rules.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask

from tests.conftest import Clock
from tests.test_mesures_web import AML, meeting, open_mesure, renew
from tests.test_notifications_mail import Inbox, assert_no_household_data, relay, smtp_server  # noqa: F401 (a fixture)
from tests.test_reminders import paris_morning, run_on
from tests.workers import run_jobs
from webforms.notifications import mesure_reminders, reminders

D = dt.date
Day = Callable[[dt.date], list[EmailMessage]]


@pytest.fixture
def mails(app: Flask, smtp_server: Any, clock: Clock) -> Iterator[Day]:  # noqa: F811
    """Return ``day(date) -> e-mails``: run that morning's reminders as the daily task does, then the mail worker."""
    inbox: Inbox
    inbox, port = smtp_server()
    relay(app, port)

    def day(date: dt.date) -> list[EmailMessage]:
        before = len(inbox.messages)
        clock.now = paris_morning(date)
        run_on(app, clock.now)
        run_jobs(app)
        return inbox.messages[before:]

    yield day


def only(monkeypatch: pytest.MonkeyPatch, rule: Callable[..., Any]) -> None:
    monkeypatch.setattr(reminders, "RULES", (rule,))
    monkeypatch.setattr(reminders, "SWEEPS", ())


def one_mail(sent: list[EmailMessage], to: str, line: str) -> None:
    """Exactly one e-mail, to ``to``, whose subject and first line say ``line``, with no household data."""
    (mail,) = sent
    body = mail.get_content()
    assert mail["To"] == to
    assert line in " ".join(mail["Subject"].split()), mail["Subject"]  # a long subject is folded
    assert line in body and "Consulter : https://webforms.example.fr/mesures/" in body
    assert_no_household_data([f"{mail['Subject']}\n{body}"])


def edge(day: Day, date: dt.date, to: str, line: str) -> None:
    """Nothing the day before ``date``; one e-mail saying ``line`` on ``date``; nothing more from a second run that day."""
    assert day(date - dt.timedelta(days=1)) == []
    one_mail(day(date), to, line)
    assert day(date) == []


def test_the_aml_12_month_bilan_is_mailed_7_days_before_then_once_overdue_aml_4(
    app: Flask, login_as: Any, mails: Day, monkeypatch: pytest.MonkeyPatch
) -> None:
    # AML §4: "La durée de l'accompagnement est de 12 mois, avec bilan intermédiaire à 3 mois" and
    # "un bilan d'accompagnement est également réalisé à échéance": first met 3 June 2019, due 3 June 2020.
    only(monkeypatch, mesure_reminders.bilan_due)
    web, referent = login_as("redacteur")
    open_mesure(web, **AML)
    assert len(mails(D(2020, 5, 1))) == 1  # the intermediate bilan (3 months), long overdue: told once, before
    edge(mails, D(2020, 5, 27), referent.email, "Bilan à échéance (12 mois) à transmettre d'ici le 3 juin 2020 (AML §4)")
    assert mails(D(2020, 6, 3)) == []  # due today: already told, not yet late
    edge(mails, D(2020, 6, 4), referent.email, "Bilan à échéance (12 mois) en retard, attendu le 3 juin 2020 (AML §4)")


def test_the_aml_weekly_rhythm_short_two_weeks_in_a_row_is_mailed_once_aml_4(
    app: Flask, login_as: Any, mails: Day, monkeypatch: pytest.MonkeyPatch
) -> None:
    # AML §4: "1 à 2 rencontres minimum avec le référent par semaine". Met on Monday 3 June 2019,
    # then nobody: the weeks 10–16 and 17–23 June fall short; told when the second one is over.
    only(monkeypatch, mesure_reminders.rhythm_short)
    web, referent = login_as("redacteur")
    open_mesure(web, **AML)
    edge(mails, D(2019, 6, 24), referent.email, "rencontres en deçà du rythme 2 périodes de suite depuis le 10 juin 2019 : 1 à 2 rencontres minimum par semaine (AML §4)")
    assert mails(D(2019, 7, 1)) == []  # a third short week: the same run, not told again


def test_the_installation_rhythm_is_weekly_the_first_month_asll_6_3(
    app: Flask, login_as: Any, mails: Day, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ASLL §6.3: "au minimum d'une par semaine durant le premier mois [...], puis au moins un entretien
    # par quinzaine". First met Thursday 5 September 2019; the weeks 12–18 and 19–25 September fall short.
    only(monkeypatch, mesure_reminders.rhythm_short)
    web, referent = login_as("redacteur")
    open_mesure(web, date_premiere_rencontre="2019-09-05")
    edge(mails, D(2019, 9, 26), referent.email, "rencontres en deçà du rythme 2 périodes de suite depuis le 12 septembre 2019")


def test_the_installation_rhythm_is_a_fortnight_after_the_first_month_asll_6_3(
    app: Flask, login_as: Any, mails: Day, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Met every week of the first month (5 September–4 October 2019), then nobody: the fortnights
    # 5–18 October and 19 October–1 November fall short. Were the rhythm still weekly, it would be told on 19 October.
    only(monkeypatch, mesure_reminders.rhythm_short)
    web, referent = login_as("redacteur")
    mesure_id = open_mesure(web, date_premiere_rencontre="2019-09-05")
    for date in ("2019-09-12", "2019-09-19", "2019-09-26", "2019-10-03"):
        assert web.post(f"/mesures/{mesure_id}/rencontres", meeting(date, "visite_domicile")).status_code == 302
    assert mails(D(2019, 10, 19)) == []
    edge(mails, D(2019, 11, 2), referent.email,
         "rencontres en deçà du rythme 2 périodes de suite depuis le 5 octobre 2019 : au moins une rencontre par semaine le premier mois, puis une par quinzaine (ASLL §6.3)")


def test_the_maintien_start_deadline_is_15_days_after_the_order_asll_6_3(
    app: Flask, login_as: Any, mails: Day, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ASLL §6.3: Maintien "au plus tard dans les quinze jours" after the bon de commande (2 September 2019):
    # by 17 September, told from 3 days before (14 September), then once passed (18 September).
    only(monkeypatch, mesure_reminders.start_due)
    web, referent = login_as("redacteur")
    open_mesure(web, type_mesure="asll_maintien", duree_mois="6")
    edge(mails, D(2019, 9, 14), referent.email, "première rencontre à tenir au plus tard le 17 septembre 2019 (15 jours après le bon de commande, ASLL §6.3)")
    assert mails(D(2019, 9, 17)) == []
    edge(mails, D(2019, 9, 18), referent.email, "le délai de démarrage (15 jours après le bon de commande) a expiré le 17 septembre 2019 (ASLL §6.3)")


def test_the_end_of_a_renewed_maintien_is_mailed_30_days_before_asll_9_2(
    app: Flask, login_as: Any, mails: Day, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ASLL §9.2: "un renouvellement de l'accompagnement peut être accordé dans la limite d'une durée totale
    # de 12 mois"; §8: a renewal "commence le jour de la décision de la DPDS". 3 months from 10 June 2019,
    # renewed on 10 September for 3 more: ends 10 December 2019, 6 months in all, still renewable.
    only(monkeypatch, mesure_reminders.end_without_renewal)
    web, referent = login_as("redacteur")
    mesure_id = open_mesure(web, type_mesure="asll_maintien", duree_mois="3", date_bon_commande="2019-06-03", date_premiere_rencontre="2019-06-10")
    # Decided by the Service Logement of the DPDS (ASLL §8), as its page records it (tests/test_thread.py).
    assert renew(app, mesure_id, "2019-09-10", 3, "Dette locative en cours d'apurement") is None
    edge(mails, D(2019, 11, 10), referent.email, "fin de l'accompagnement le 10 décembre 2019 sans demande de renouvellement")
    assert mails(D(2019, 12, 10)) == []
