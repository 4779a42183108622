"""Reminders (issue 14): a bilan due in 7 days, then overdue (ASLL §9.1, §9.2; AML §4), each sent once.

The clock is the app's (injected); each reminder is tried on both sides of its edge, on the
Paris day, and by two transactions at once (two workers on the same day).
"""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import WebClient
from tests.test_mesures_web import AML, open_mesure, start, started_doc
from webforms import db, jobs
from webforms.models import Document, Notification, Rappel, User
from webforms.notifications import reminders
from webforms.notifications.mesure_reminders import bilan_due
from webforms.notifications.reminders import send_reminders
from webforms.rendering.context import date_fr

# The AML measure's intermediate bilan (3 months, AML §4) is due on 3 September 2019.
DUE = dt.date(2019, 9, 3)


@pytest.fixture(autouse=True)
def bilans_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """These tests are the bilan rule's: the measure here, met once, also falls short of its rhythm (tests/test_reminder_rules.py)."""
    monkeypatch.setattr(reminders, "RULES", (bilan_due,))
    monkeypatch.setattr(reminders, "SWEEPS", ())


def paris_morning(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, 6, 0, tzinfo=dt.UTC)  # 8:00 in Paris (summer time)


def run_on(app: Flask, now: dt.datetime) -> int:
    with app.app_context():
        session = db.session()
        count = send_reminders(session, now=now)
        session.commit()
        return count


def told(app: Flask, user_id: int) -> list[tuple[str, str]]:
    with app.app_context():
        return [(n.evenement, n.message) for n in db.session().scalars(select(Notification).where(Notification.user_id == user_id).order_by(Notification.id))]


def aml_measure(login_as: Any) -> tuple[WebClient, Any, int]:
    web, referent = login_as("redacteur")
    return web, referent, open_mesure(web, **AML)


def test_a_bilan_is_reminded_from_seven_days_before_then_once_overdue_aml_4(app: Flask, login_as: Any) -> None:
    web, referent, mesure_id = aml_measure(login_as)
    _, other = login_as("redacteur", org="Association B")
    assert run_on(app, paris_morning(DUE - dt.timedelta(days=8))) == 0
    assert run_on(app, paris_morning(DUE - dt.timedelta(days=7))) == 1
    (evenement, message), = told(app, referent.id)
    assert evenement == "bilan_a_rendre"
    assert message.endswith("Bilan intermédiaire (3 mois) à transmettre d'ici le 3 septembre 2019 (AML §4)"), message
    assert "Durand" not in message and "Julie" not in message
    # Every later day until the due date: already told.
    for days_left in (6, 1, 0):
        assert run_on(app, paris_morning(DUE - dt.timedelta(days=days_left))) == 0
    assert run_on(app, paris_morning(DUE + dt.timedelta(days=1))) == 1
    assert [e for e, _ in told(app, referent.id)] == ["bilan_a_rendre", "bilan_en_retard"]
    assert "en retard, attendu le 3 septembre 2019" in told(app, referent.id)[-1][1]
    assert run_on(app, paris_morning(DUE + dt.timedelta(days=2))) == 0
    assert told(app, other.id) == []
    # In the referent's centre, linking to the measure.
    page = web.get("/notifications").get_data(as_text=True)
    assert f'href="/mesures/{mesure_id}"' in page and "en retard" in page


def test_the_edge_is_the_paris_day(app: Flask, login_as: Any) -> None:
    _, referent, _ = aml_measure(login_as)
    eve = DUE - dt.timedelta(days=8)
    # 23:59 in Paris, 8 days before: nothing; 00:00 in Paris (22:00 UTC), 7 days before: told.
    assert run_on(app, dt.datetime(eve.year, eve.month, eve.day, 21, 59, tzinfo=dt.UTC)) == 0
    assert run_on(app, dt.datetime(eve.year, eve.month, eve.day, 22, 0, tzinfo=dt.UTC)) == 1
    assert len(told(app, referent.id)) == 1


def test_a_bilan_transmitted_is_not_reminded_asll_9(app: Flask, login_as: Any) -> None:
    web, referent, mesure_id = aml_measure(login_as)
    doc = started_doc(app, start(web, mesure_id, "bilan_aml"))
    assert doc.echeance == "intermediaire"
    with app.app_context():
        bilan = db.session().get_one(Document, doc.id)
        bilan.statut, bilan.submitted_at, bilan.reference = "soumis", paris_morning(DUE), "BA-2019-000099"
        db.session().commit()
    assert run_on(app, paris_morning(DUE + dt.timedelta(days=1))) == 0
    assert told(app, referent.id) == []


def test_two_workers_on_the_same_day_tell_once(app: Flask, login_as: Any) -> None:
    _, referent, _ = aml_measure(login_as)
    now = paris_morning(DUE - dt.timedelta(days=7))
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def worker() -> None:
        with app.app_context():
            session = db.session()
            barrier.wait()  # both compute the same occurrence at the same moment
            counts.append(send_reminders(session, now=now))
            session.commit()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(counts) == [0, 1]
    assert len(told(app, referent.id)) == 1
    with app.app_context():
        assert len(db.session().scalars(select(Rappel)).all()) == 1


def test_the_reminders_run_every_day_as_a_periodic_task(app: Flask) -> None:
    periodic = {task.periodic_id: task for task in jobs.queue_of(app).periodic_registry.periodic_tasks.values()}
    assert periodic["rappels-quotidiens"].cron == "0 5 * * *" and periodic["rappels-quotidiens"].task.name == "envoyer_rappels"
    assert periodic["resume-quotidien"].cron == "0 6 * * *"


@pytest.mark.parametrize(("changes", "due", "source", "title"), [
    # Installation: 3 months from the first meeting, the bilan "au plus tard 15 jours après le terme" (ASLL §9.1).
    ({"type_mesure": "asll_installation", "duree_mois": "3"}, dt.date(2019, 12, 20), "ASLL §9.1", "Bilan de fin de période initiale"),
    # Maintien: 6 months, the same 15 days (ASLL §9.2).
    ({"type_mesure": "asll_maintien", "duree_mois": "6"}, dt.date(2020, 3, 20), "ASLL §9.2", "Bilan de fin de période initiale"),
], ids=["installation", "maintien"])
def test_an_asll_bilan_is_reminded_from_seven_days_before_then_once_overdue_asll_9(
    app: Flask, login_as: Any, changes: dict[str, str], due: dt.date, source: str, title: str
) -> None:
    web, referent = login_as("redacteur")
    open_mesure(web, date_premiere_rencontre="2019-09-05", **changes)
    assert run_on(app, paris_morning(due - dt.timedelta(days=8))) == 0
    assert run_on(app, paris_morning(due - dt.timedelta(days=7))) == 1
    assert told(app, referent.id)[-1][1].endswith(f"{title} à transmettre d'ici le {date_fr(due)} ({source})")
    assert run_on(app, paris_morning(due)) == 0  # due today: already told, not yet late
    assert run_on(app, paris_morning(due + dt.timedelta(days=1))) == 1
    assert f"{title} en retard, attendu le {date_fr(due)} ({source})" in told(app, referent.id)[-1][1]
    assert run_on(app, paris_morning(due + dt.timedelta(days=2))) == 0
    assert [e for e, _ in told(app, referent.id)] == ["bilan_a_rendre", "bilan_en_retard"]


def set_active(app: Flask, user_id: int, active: bool) -> None:
    with app.app_context():
        session = db.session()
        session.get_one(User, user_id).active = active
        session.commit()


def test_a_reminder_nobody_received_is_sent_to_whoever_is_named_later(app: Flask, login_as: Any) -> None:
    """The key of an occurrence is kept only once someone was told (docs/decisions.md, "A reminder nobody received")."""
    _, referent, _ = aml_measure(login_as)
    set_active(app, referent.id, False)
    assert run_on(app, paris_morning(DUE - dt.timedelta(days=7))) == 0
    assert told(app, referent.id) == []
    with app.app_context():
        assert db.session().scalars(select(Rappel)).all() == []
    set_active(app, referent.id, True)
    assert run_on(app, paris_morning(DUE - dt.timedelta(days=6))) == 1
    assert [e for e, _ in told(app, referent.id)] == ["bilan_a_rendre"]
    # Told now: never again.
    assert run_on(app, paris_morning(DUE - dt.timedelta(days=5))) == 0
    assert len(told(app, referent.id)) == 1
