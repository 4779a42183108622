"""The reminders the last audit found untested, each at its date edge and through a real SMTP server.

One table: for each reminder, the measure it is about and, day by day, what the referent is
e-mailed. An edge is tried whole: the day before, no e-mail; the day, one e-mail to the
measure's referent, read back from ``aiosmtpd``; a second run of the reminders that day
(another worker), nothing more. Each case keeps to the rule it is about (the measures here
also fall due for other reminders, tested in tests/test_reminders.py and
tests/test_reminder_rules.py). A call's deadline, about a dossier rather than a measure, follows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask

from schemas import get_kind
from tests.conftest import Clock
from tests.test_candidatures import open_dossier, pdf_bytes, upload
from tests.test_mesures_web import AML, meeting, open_mesure, renew
from tests.test_notifications_mail import BASE_URL, Inbox, assert_no_household_data, relay, smtp_server  # noqa: F401 (a fixture)
from tests.test_reminder_rules import CALL, MISSING
from tests.test_reminders import paris_morning, run_on
from tests.workers import run_jobs
from webforms import db
from webforms.notifications import document_reminders, mesure_reminders, reminders
from webforms.notifications.mail import ask_digests

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


def only(monkeypatch: pytest.MonkeyPatch, rule: Callable[..., Any] | None = None, sweep: Callable[..., Any] | None = None) -> None:
    """Keep the daily run to one measure rule or one document sweep."""
    monkeypatch.setattr(reminders, "RULES", (rule,) if rule else ())
    monkeypatch.setattr(reminders, "SWEEPS", (sweep,) if sweep else ())


def one_mail(sent: list[EmailMessage], to: str, line: str, page: str = "/mesures/") -> EmailMessage:
    """Exactly one e-mail, to ``to``, whose subject and first line say ``line``, with no household data."""
    (mail,) = sent
    body = mail.get_content()
    assert mail["To"] == to
    assert line in " ".join(mail["Subject"].split()), mail["Subject"]  # a long subject is folded
    assert line in body and f"Consulter : {BASE_URL}{page}" in body
    assert_no_household_data([f"{mail['Subject']}\n{body}"])
    return mail


def edge(day: Day, date: dt.date, to: str, line: str, page: str = "/mesures/") -> EmailMessage:
    """Nothing the day before ``date``; one e-mail saying ``line`` on ``date``; nothing more from a second run that day."""
    assert day(date - dt.timedelta(days=1)) == []
    mail = one_mail(day(date), to, line, page)
    assert day(date) == []
    return mail


@dataclass(frozen=True)
class Case:
    """A reminder's scenario: its rule, its measure (``open_mesure``'s changes), what happened to it, then each day's e-mails.

    A step is ``(date, line)``: the edge of ``line`` on ``date`` (``edge``); or ``(date, n)``: exactly ``n`` e-mails that day.
    """

    rule: Callable[..., Any]
    mesure: dict[str, str]
    steps: tuple[tuple[dt.date, str | int], ...]
    meetings: tuple[str, ...] = ()  # home visits recorded after the first meeting
    renewal: tuple[str, int, str] | None = None  # decided by the DPDS: (day, months, motif)


CASES = {
    # AML §4: "La durée de l'accompagnement est de 12 mois, avec bilan intermédiaire à 3 mois" and
    # "un bilan d'accompagnement est également réalisé à échéance": first met 3 June 2019, due 3 June 2020.
    # The intermediate bilan (3 months), long overdue, is told once before; due today: already told, not yet late.
    "aml-bilan-12-mois": Case(mesure_reminders.bilan_due, AML, (
        (D(2020, 5, 1), 1),
        (D(2020, 5, 27), "Bilan à échéance (12 mois) à transmettre d'ici le 3 juin 2020 (AML §4)"),
        (D(2020, 6, 3), 0),
        (D(2020, 6, 4), "Bilan à échéance (12 mois) en retard, attendu le 3 juin 2020 (AML §4)"),
    )),
    # AML §4: "1 à 2 rencontres minimum avec le référent par semaine". Met on Monday 3 June 2019,
    # then nobody: the weeks 10–16 and 17–23 June fall short; told when the second one is over;
    # a third short week is the same run, not told again.
    "aml-rythme-hebdomadaire": Case(mesure_reminders.rhythm_short, AML, (
        (D(2019, 6, 24), "rencontres en deçà du rythme 2 périodes de suite depuis le 10 juin 2019 : 1 à 2 rencontres minimum par semaine (AML §4)"),
        (D(2019, 7, 1), 0),
    )),
    # ASLL §6.3: "au minimum d'une par semaine durant le premier mois [...], puis au moins un entretien
    # par quinzaine". First met Thursday 5 September 2019; the weeks 12–18 and 19–25 September fall short.
    "installation-rythme-premier-mois": Case(mesure_reminders.rhythm_short, {"date_premiere_rencontre": "2019-09-05"}, (
        (D(2019, 9, 26), "rencontres en deçà du rythme 2 périodes de suite depuis le 12 septembre 2019"),
    )),
    # Met every week of the first month (5 September–4 October 2019), then nobody: the fortnights
    # 5–18 October and 19 October–1 November fall short. Were the rhythm still weekly, it would be told on 19 October.
    "installation-rythme-quinzaine": Case(mesure_reminders.rhythm_short, {"date_premiere_rencontre": "2019-09-05"}, (
        (D(2019, 10, 19), 0),
        (D(2019, 11, 2), "rencontres en deçà du rythme 2 périodes de suite depuis le 5 octobre 2019 : "
                         "au moins une rencontre par semaine le premier mois, puis une par quinzaine (ASLL §6.3)"),
    ), meetings=("2019-09-12", "2019-09-19", "2019-09-26", "2019-10-03")),
    # ASLL §6.3: Maintien "au plus tard dans les quinze jours" after the bon de commande (2 September 2019):
    # by 17 September, told from 3 days before (14 September), then once passed (18 September).
    "maintien-demarrage-15-jours": Case(mesure_reminders.start_due, {"type_mesure": "asll_maintien", "duree_mois": "6"}, (
        (D(2019, 9, 14), "première rencontre à tenir au plus tard le 17 septembre 2019 (15 jours après le bon de commande, ASLL §6.3)"),
        (D(2019, 9, 17), 0),
        (D(2019, 9, 18), "le délai de démarrage (15 jours après le bon de commande) a expiré le 17 septembre 2019 (ASLL §6.3)"),
    )),
    # ASLL §9.2: "un renouvellement de l'accompagnement peut être accordé dans la limite d'une durée totale
    # de 12 mois"; §8: a renewal "commence le jour de la décision de la DPDS". 3 months from 10 June 2019,
    # renewed on 10 September for 3 more (decided by the Service Logement of the DPDS, ASLL §8, as its
    # page records it, tests/test_thread.py): ends 10 December 2019, 6 months in all, still renewable.
    "maintien-renouvele-fin": Case(mesure_reminders.end_without_renewal, {
        "type_mesure": "asll_maintien", "duree_mois": "3", "date_bon_commande": "2019-06-03", "date_premiere_rencontre": "2019-06-10",
    }, (
        (D(2019, 11, 10), "fin de l'accompagnement le 10 décembre 2019 sans demande de renouvellement"),
        (D(2019, 12, 10), 0),
    ), renewal=("2019-09-10", 3, "Dette locative en cours d'apurement")),
}


@pytest.mark.parametrize("name", list(CASES))
def test_each_measure_reminder_is_mailed_once_at_its_edge(app: Flask, login_as: Any, mails: Day, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    case = CASES[name]
    only(monkeypatch, case.rule)
    web, referent = login_as("redacteur")
    mesure_id = open_mesure(web, **case.mesure)
    for date in case.meetings:
        assert web.post(f"/mesures/{mesure_id}/rencontres", meeting(date, "visite_domicile")).status_code == 302
    if case.renewal:
        assert renew(app, mesure_id, *case.renewal) is None
    for date, expected in case.steps:
        if isinstance(expected, str):
            edge(mails, date, referent.email, expected)
        else:
            assert len(mails(date)) == expected, date


# --- A call's deadline (6 September 2019 at 16:00, Paris; AML §6b, §6d) -----------------------

DOSSIER = get_kind("candidature_aml").title


def test_a_call_s_deadline_names_the_call_in_the_subject_and_what_is_missing_in_the_body(
    app: Flask, login_as: Any, mails: Day, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    only(monkeypatch, sweep=document_reminders.call_deadline)
    clock.now = dt.datetime(2019, 8, 20, 9, 0, tzinfo=dt.UTC)
    web, writer = login_as("redacteur")
    doc_id = open_dossier(app, web)
    page = f"/documents/{doc_id}"
    seven = edge(mails, D(2019, 8, 30), writer.email, f"{DOSSIER} : appel « {CALL} » : non déposé, date limite dans 7 jours (6 septembre 2019 à 16:00)", page)
    subject, body = " ".join(seven["Subject"].split()), seven.get_content()
    assert subject == f"[webforms] {DOSSIER} : appel « {CALL} » : non déposé, date limite dans 7 jours (6 septembre 2019 à 16:00)"
    # What is missing: in the body, not in the subject.
    assert MISSING in body and "compléter" not in subject
    # A piece uploaded since: the next reminder counts one missing piece less.
    assert upload(web, doc_id, "deliberation", pdf_bytes(), "deliberation.pdf").status_code == 302
    two = edge(mails, D(2019, 9, 4), writer.email, f"{DOSSIER} : appel « {CALL} » : non déposé, date limite dans 2 jours (6 septembre 2019 à 16:00)", page)
    assert "Reste à compléter : 11 points (section à corriger : 7, pièce manquante : 1, pièce à produire : 3)" in two.get_content()
    assert mails(D(2019, 9, 6)) == []  # the day of the deadline: told two days before, nothing more


def test_a_daily_digest_carries_what_is_still_missing_below_the_call_s_line(
    app: Flask, login_as: Any, mails: Day, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    only(monkeypatch, sweep=document_reminders.call_deadline)
    clock.now = dt.datetime(2019, 8, 20, 9, 0, tzinfo=dt.UTC)
    web, writer = login_as("redacteur")
    assert web.post("/notifications/preferences", {"frequence": "quotidien"}).status_code == 302
    doc_id = open_dossier(app, web)
    assert mails(D(2019, 8, 30)) == []  # told in the centre; the e-mail waits for the digest
    with app.app_context():
        assert ask_digests(db.session(), now=clock.now) == 1
        db.session().commit()
    (digest,) = mails(D(2019, 8, 30))  # its worker sends it; the reminders, already told, add nothing
    assert digest["To"] == writer.email
    body = digest.get_content()
    line = f"- {DOSSIER} : appel « {CALL} » : non déposé, date limite dans 7 jours (6 septembre 2019 à 16:00) : {BASE_URL}/documents/{doc_id}"
    assert f"{line}\n  {MISSING}" in body.replace("\r\n", "\n"), body
    assert digest["Subject"] == "[webforms] 1 notification en attente"
