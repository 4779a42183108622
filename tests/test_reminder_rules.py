"""The other reminders of issue 14, each at its edge on the Paris day, each sent once.

Start deadline (ASLL §6.3), meeting rhythm (ASLL §6.3, AML §4), a Maintien ending with no
renewal asked (ASLL §2.2, §9.2), a call's deadline (AML §6d), a referral waiting for its
decision (AML §4), a signed copy waiting. The race of two workers is tried with two real
``webforms worker`` processes on the test's database.
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Callable
from typing import Any

import procrastinate
from flask import Flask
from sqlalchemy import DateTime, bindparam, select, text

from schemas import get_kind
from tests.conftest import Clock
from tests.test_candidatures import open_dossier, submit_complete
from tests.test_jobs import _count, _wait, worker_command  # noqa: F401 (a fixture)
from tests.test_mesures_web import meeting, open_mesure, start, started_doc
from tests.test_reminders import paris_morning, run_on
from tests.test_web import submitted
from webforms import db, jobs
from webforms.models import Appel, Document, Notification, Rappel, Renouvellement
from webforms.notifications import document_reminders
from webforms.notifications.document_reminders import CALL_TITLE_CHARS
from webforms.notifications.workdays import easter, holidays, is_working_day, working_days_between

HOUSEHOLD_NAMES = ("Morel", "Karim", "Durand", "Julie")
DOSSIER = get_kind("candidature_aml").title
CALL = "Appel à candidature « Aide à la Médiation Locative » – Logement d'abord (Pas-de-Calais, 2019)"  # webforms/data/appel_aml_2019.json
MISSING = ("Reste à compléter : 12 points (section à corriger : 7, pièce manquante : 2, pièce à produire : 3), "
           "détaillés sur la page du dossier.")
D = dt.date


def told(app: Flask, user_id: int, *evenements: str) -> list[str]:
    """The messages ``user_id`` was told, of the events given (all without)."""
    with app.app_context():
        query = select(Notification).where(Notification.user_id == user_id).order_by(Notification.id)
        return [n.message for n in db.session().scalars(query) if not evenements or n.evenement in evenements]


def details(app: Flask, user_id: int) -> list[str | None]:
    """What ``user_id`` was told below each line (``Notification.detail``)."""
    with app.app_context():
        return list(db.session().scalars(select(Notification.detail).where(Notification.user_id == user_id).order_by(Notification.id)))


def events(app: Flask, user_id: int) -> list[str]:
    with app.app_context():
        return list(db.session().scalars(select(Notification.evenement).where(Notification.user_id == user_id).order_by(Notification.id)))


def no_household(lines: list[str]) -> None:
    for line in lines:
        assert not any(name in line for name in HOUSEHOLD_NAMES), line


# --- French working days ------------------------------------------------------------------


def test_easter_and_the_public_holidays() -> None:
    assert [easter(y) for y in (2019, 2024, 2025, 2038)] == [D(2019, 4, 21), D(2024, 3, 31), D(2025, 4, 20), D(2038, 4, 25)]
    assert {D(2019, 4, 22), D(2019, 5, 30), D(2019, 6, 10), D(2019, 11, 11), D(2019, 7, 14)} <= holidays(2019)
    assert len(holidays(2019)) == 11
    assert not is_working_day(D(2019, 11, 11)) and is_working_day(D(2019, 11, 12))  # Monday 11 November, then Tuesday
    assert not is_working_day(D(2019, 10, 19)) and not is_working_day(D(2019, 10, 20)) and is_working_day(D(2019, 10, 21))
    assert working_days_between(D(2019, 10, 14), D(2019, 10, 14)) == 0
    assert working_days_between(D(2019, 10, 14), D(2019, 10, 21)) == 5
    assert working_days_between(D(2019, 11, 4), D(2019, 11, 12)) == 5  # over the 11 November


# --- Measures ------------------------------------------------------------------------------


def test_the_start_deadline_is_reminded_three_days_before_then_once_passed_asll_6_3(app: Flask, login_as: Any) -> None:
    web, referent = login_as("redacteur")
    open_mesure(web)  # Installation, bon de commande 2 September 2019: start by 12 September (10 days)
    assert run_on(app, paris_morning(D(2019, 9, 8))) == 0
    assert run_on(app, paris_morning(D(2019, 9, 9))) == 1
    assert run_on(app, paris_morning(D(2019, 9, 12))) == 0
    assert run_on(app, paris_morning(D(2019, 9, 13))) == 1
    assert run_on(app, paris_morning(D(2019, 9, 14))) == 0
    assert events(app, referent.id) == ["demarrage_a_venir", "demarrage_en_retard"]
    soon, late = told(app, referent.id)
    assert soon.endswith("première rencontre à tenir au plus tard le 12 septembre 2019 (10 jours après le bon de commande, ASLL §6.3)"), soon
    assert "le délai de démarrage (10 jours après le bon de commande) a expiré le 12 septembre 2019" in late
    no_household([soon, late])


def test_a_measure_started_is_not_reminded_of_its_start(app: Flask, login_as: Any) -> None:
    web, referent = login_as("redacteur")
    open_mesure(web, type_mesure="asll_maintien", duree_mois="6", date_premiere_rencontre="2019-09-10")
    assert run_on(app, paris_morning(D(2019, 9, 16))) == 0  # 15 days after the order: Maintien's deadline, not yet
    assert run_on(app, paris_morning(D(2019, 9, 18))) == 0  # passed, but started
    assert events(app, referent.id) == []


def test_two_short_periods_in_a_row_are_reminded_once(app: Flask, login_as: Any) -> None:
    web, referent = login_as("redacteur")
    # Maintien: a meeting per fortnight (ASLL §6.3); met on 2 September, then nobody.
    open_mesure(web, type_mesure="asll_maintien", duree_mois="6", date_premiere_rencontre="2019-09-02")
    # Fortnights: 2–15 September (met), 16–29 (short), 30 September–13 October (short).
    assert run_on(app, paris_morning(D(2019, 10, 13))) == 0  # the second one is not over
    assert run_on(app, paris_morning(D(2019, 10, 14))) == 1
    (message,) = told(app, referent.id, "rythme_insuffisant")
    assert "rencontres en deçà du rythme 2 périodes de suite depuis le 16 septembre 2019 : au moins une rencontre par quinzaine (ASLL §6.3)" in message
    # The run goes on (a third short fortnight): the same occurrence, not told again.
    assert run_on(app, paris_morning(D(2019, 10, 28))) == 0
    assert events(app, referent.id) == ["rythme_insuffisant"]


def test_one_short_period_between_met_ones_is_no_reminder(app: Flask, login_as: Any) -> None:
    web, referent = login_as("redacteur")
    mesure_id = open_mesure(web, type_mesure="asll_maintien", duree_mois="6", date_premiere_rencontre="2019-09-02")
    assert web.post(f"/mesures/{mesure_id}/rencontres", meeting("2019-10-01", "visite_domicile")).status_code == 302
    assert run_on(app, paris_morning(D(2019, 10, 14))) == 0  # 16–29 short, 30 September–13 October met
    assert events(app, referent.id) == []


def test_a_maintien_ending_without_renewal_asked_is_reminded_30_days_before(app: Flask, login_as: Any) -> None:
    web, referent = login_as("redacteur")
    mesure_id = open_mesure(web, type_mesure="asll_maintien", duree_mois="6", date_premiere_rencontre="2019-09-02")
    # Ends on 2 March 2020 (6 months from the first meeting, ASLL §8).
    run_on(app, paris_morning(D(2020, 1, 31)))
    assert told(app, referent.id, "fin_sans_renouvellement") == []
    run_on(app, paris_morning(D(2020, 2, 1)))
    (message,) = told(app, referent.id, "fin_sans_renouvellement")
    assert "fin de l'accompagnement le 2 mars 2020 sans demande de renouvellement" in message and "(ASLL §9.2)" in message
    run_on(app, paris_morning(D(2020, 3, 2)))
    assert len(told(app, referent.id, "fin_sans_renouvellement")) == 1
    # Renewed by the DPDS for 6 more months: a new end, a new occurrence, 30 days before it.
    with app.app_context():
        session = db.session()
        session.add(Renouvellement(mesure_id=mesure_id, date_decision=D(2020, 3, 2), duree_mois=6, motif="Maintien fragile", created_by_id=referent.id))
        session.commit()
    run_on(app, paris_morning(D(2020, 8, 10)))
    assert len(told(app, referent.id, "fin_sans_renouvellement")) == 1  # 12 months in all: no renewal possible (ASLL §2.2)


def test_a_renewal_asked_in_the_bilan_is_no_reminder(app: Flask, login_as: Any) -> None:
    web, referent = login_as("redacteur")
    mesure_id = open_mesure(web, type_mesure="asll_maintien", duree_mois="6", date_premiere_rencontre="2019-09-02")
    doc = started_doc(app, start(web, mesure_id, "bilan_asll_maintien"))
    with app.app_context():
        bilan = db.session().get_one(Document, doc.id)
        bilan.statut, bilan.submitted_at, bilan.reference = "soumis", paris_morning(D(2020, 1, 20)), "BM-2020-000001"
        bilan.submitted_data = {"proposition": {"proposition": "renouvellement", "duree_demandee_mois": 6}}
        db.session().commit()
    run_on(app, paris_morning(D(2020, 2, 1)))
    assert told(app, referent.id, "fin_sans_renouvellement") == []


def test_an_installation_is_never_reminded_of_a_renewal_asll_2_1(app: Flask, login_as: Any) -> None:
    web, referent = login_as("redacteur")
    open_mesure(web, date_premiere_rencontre="2019-09-05")  # ends 5 December 2019
    run_on(app, paris_morning(D(2019, 11, 20)))
    assert told(app, referent.id, "fin_sans_renouvellement") == []


# --- A call's deadline (6 September 2019 at 16:00, Paris) ----------------------------------


def test_a_dossier_not_deposited_is_reminded_7_then_2_days_before_the_deadline(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = dt.datetime(2019, 8, 20, 9, 0, tzinfo=dt.UTC)
    web, writer = login_as("redacteur")
    _, colleague_account = login_as("redacteur")
    _, other = login_as("redacteur", org="Association B")
    open_dossier(app, web)
    assert run_on(app, paris_morning(D(2019, 8, 29))) == 0
    assert run_on(app, paris_morning(D(2019, 8, 30))) == 1
    assert run_on(app, paris_morning(D(2019, 9, 3))) == 0
    assert run_on(app, paris_morning(D(2019, 9, 4))) == 1
    assert run_on(app, paris_morning(D(2019, 9, 6))) == 0
    seven, two = told(app, colleague_account.id)
    assert seven == f"{DOSSIER} : appel « {CALL} » : non déposé, date limite dans 7 jours (6 septembre 2019 à 16:00)", seven
    assert two == f"{DOSSIER} : appel « {CALL} » : non déposé, date limite dans 2 jours (6 septembre 2019 à 16:00)", two
    # What is missing, below the line (the e-mail's body, not its subject), within its length.
    assert details(app, colleague_account.id) == [MISSING, MISSING]
    assert told(app, writer.id) == [seven, two]
    assert MISSING in web.get("/notifications").get_data(as_text=True)  # the centre shows it below the line
    assert told(app, other.id) == []
    # After the deadline, nothing: the dossier can no longer be deposited.
    assert run_on(app, dt.datetime(2019, 9, 6, 14, 1, tzinfo=dt.UTC)) == 0


def test_a_long_call_title_is_shortened_in_the_line_a_short_one_is_whole() -> None:
    def named(title: str) -> str:
        return document_reminders._call_name(Appel(code="aml-2020", data={"titre": title}))

    assert named("A" * CALL_TITLE_CHARS) == "A" * CALL_TITLE_CHARS
    assert named("A" * (CALL_TITLE_CHARS + 1)) == "A" * (CALL_TITLE_CHARS - 1) + "…"
    assert named("  Appel\n 2020 ") == "Appel 2020"


def test_a_complete_dossier_not_deposited_is_told_it_remains_to_deposit_it() -> None:
    assert document_reminders._missing_text([]) == "Le dossier est complet : il reste à le déposer."
    assert document_reminders._missing_text(["Pièce manquante : Délibération"]) == (
        "Reste à compléter : 1 point (pièce manquante : 1), détaillé sur la page du dossier.")


def test_a_dossier_first_seen_two_days_before_gets_only_the_last_reminder(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = dt.datetime(2019, 8, 20, 9, 0, tzinfo=dt.UTC)
    web, writer = login_as("redacteur")
    open_dossier(app, web)
    assert run_on(app, paris_morning(D(2019, 9, 5))) == 1
    assert "date limite demain" in told(app, writer.id)[0]


def test_a_dossier_first_seen_on_the_deadline_day_is_told_it_is_today_until_the_deadline_hour(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = dt.datetime(2019, 8, 20, 9, 0, tzinfo=dt.UTC)
    web, writer = login_as("redacteur")
    open_dossier(app, web)
    assert run_on(app, dt.datetime(2019, 9, 6, 14, 0, tzinfo=dt.UTC)) == 0  # 16:00 in Paris: closed
    assert run_on(app, dt.datetime(2019, 9, 6, 13, 59, tzinfo=dt.UTC)) == 1
    assert told(app, writer.id) == [f"{DOSSIER} : appel « {CALL} » : non déposé, date limite aujourd'hui (6 septembre 2019 à 16:00)"]


def test_a_deposited_dossier_is_not_reminded(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = dt.datetime(2019, 8, 20, 9, 0, tzinfo=dt.UTC)
    web, writer = login_as("redacteur")
    doc_id = open_dossier(app, web)
    submit_complete(app, web, doc_id)
    assert run_on(app, paris_morning(D(2019, 9, 4))) == 0
    assert told(app, writer.id) == []


# --- Referrals waiting, signed copies waiting ----------------------------------------------


def test_a_referral_waiting_more_than_five_working_days_is_reminded_to_its_deciders(app: Flask, login_as: Any) -> None:
    author, author_account = login_as("redacteur")
    _, coordinator = login_as("coordinateur", org="Plateforme Lens-Hénin")
    _, instructeur = login_as("instructeur", org="Département du Pas-de-Calais")
    submitted(author, "fiche_saisine")  # Monday 14 October 2019 (the tests' clock)
    assert run_on(app, paris_morning(D(2019, 10, 21))) == 0  # 5 working days: not more
    assert run_on(app, paris_morning(D(2019, 10, 22))) == 1
    assert run_on(app, paris_morning(D(2019, 10, 23))) == 0
    (message,) = told(app, coordinator.id, "decision_en_attente")
    assert message.endswith("FS-2019-000001 : décision du coordinateur attendue depuis le 14 octobre 2019 (plus de 5 jours ouvrés)"), message
    assert told(app, instructeur.id, "decision_en_attente") == [] and told(app, author_account.id) == []


def test_public_holidays_are_not_working_days(app: Flask, login_as: Any, clock: Clock) -> None:
    author, _ = login_as("redacteur")
    _, coordinator = login_as("coordinateur", org="Plateforme Lens-Hénin")
    clock.now = dt.datetime(2019, 11, 4, 9, 0, tzinfo=dt.UTC)  # Monday; Monday 11 November is a holiday
    submitted(author, "fiche_saisine")
    run_on(app, paris_morning(D(2019, 11, 12)))
    assert told(app, coordinator.id, "decision_en_attente") == []
    run_on(app, paris_morning(D(2019, 11, 13)))
    assert len(told(app, coordinator.id, "decision_en_attente")) == 1


def test_a_referral_decided_is_not_reminded(app: Flask, login_as: Any) -> None:
    author, _ = login_as("redacteur", territoires=("aml-lens-henin",))  # the operator the example decision names (account 1): it works on Lens-Hénin (AML §1)
    coordinator_web, coordinator = login_as("coordinateur", org="Plateforme Lens-Hénin")
    doc_id = submitted(author, "fiche_saisine")
    review = {k: v for k, v in get_kind("fiche_saisine").review.example.items() if v}  # type: ignore[union-attr]
    assert coordinator_web.post(f"/documents/{doc_id}/decision", review).status_code == 302
    run_on(app, paris_morning(D(2019, 10, 30)))
    assert told(app, coordinator.id, "decision_en_attente") == []


def test_a_signed_copy_waiting_more_than_15_days_is_reminded_to_the_archivistes(app: Flask, login_as: Any) -> None:
    author, author_account = login_as("redacteur")
    _, archiviste = login_as("archiviste", org="Archives départementales")
    _, coordinator = login_as("coordinateur", org="Plateforme Lens-Hénin")
    doc_id = submitted(author, "fiche_saisine")  # 14 October 2019
    run_on(app, paris_morning(D(2019, 10, 29)))
    assert told(app, archiviste.id) == []
    run_on(app, paris_morning(D(2019, 10, 30)))
    (message,) = told(app, archiviste.id)
    assert message.endswith("FS-2019-000001 : copie signée toujours pas archivée, document transmis le 14 octobre 2019 (plus de 15 jours)")
    run_on(app, paris_morning(D(2019, 11, 30)))
    assert len(told(app, archiviste.id)) == 1
    assert told(app, coordinator.id, "copie_signee_attendue") == [] and told(app, author_account.id) == []
    # Archived: no longer waiting (a new submission date would be a new occurrence).
    with app.app_context():
        db.session().execute(text("DELETE FROM rappel"))
        db.session().commit()
    _archive(app, doc_id)
    run_on(app, paris_morning(D(2019, 12, 1)))
    assert len(told(app, archiviste.id, "copie_signee_attendue")) == 1


def test_a_document_submitted_again_waits_for_the_signed_copy_of_its_new_version(app: Flask, login_as: Any) -> None:
    """The copy of version 1 archived, the document reopened and submitted again: version 2's copy is awaited."""
    author, _ = login_as("redacteur")
    _, archiviste = login_as("archiviste", org="Archives départementales")
    doc_id = submitted(author, "fiche_saisine")  # 14 October 2019
    _archive(app, doc_id, at=dt.datetime(2019, 10, 20, 9, tzinfo=dt.UTC))
    run_on(app, paris_morning(D(2019, 10, 30)))
    assert told(app, archiviste.id) == []
    with app.app_context():  # reopened by a correction request, submitted again on 1 November
        doc = db.session().get_one(Document, doc_id)
        doc.submitted_at, doc.versions = dt.datetime(2019, 11, 1, 9, tzinfo=dt.UTC), doc.versions + 1
        db.session().commit()
    run_on(app, paris_morning(D(2019, 11, 16)))
    assert told(app, archiviste.id) == []
    run_on(app, paris_morning(D(2019, 11, 17)))
    (message,) = told(app, archiviste.id)
    assert message.endswith("copie signée toujours pas archivée, document transmis le 1er novembre 2019 (plus de 15 jours)"), message
    # Version 2's copy archived: no longer waiting.
    with app.app_context():
        db.session().execute(text("DELETE FROM rappel"))
        db.session().commit()
    _archive(app, doc_id, at=dt.datetime(2019, 11, 20, 9, tzinfo=dt.UTC), version=2)
    run_on(app, paris_morning(D(2019, 11, 21)))
    assert len(told(app, archiviste.id)) == 1


def _archive(app: Flask, doc_id: int, *, at: dt.datetime | None = None, version: int = 1) -> None:
    """Pretend the signed copy was archived (``at``: now): the sweep only asks whether a record exists since the last submission."""
    with app.app_context():
        session = db.session()
        session.execute(text(
            "INSERT INTO archive_record (document_id, version, kind, organisation_id, reference, source_rendition_id, source_sha512,"
            " pdfa_sha512, pdfa_size, signed_sha512, signed_size, signed_mime, received_sha512, received_size, original_name,"
            " signature_kind, retention_years, retention_fate, deposited_by_id, deposited_at)"
            " SELECT d.id, :version, d.kind, d.organisation_id, d.reference, r.id, 'x', 'x', 1, 'x', 1, 'application/pdf', 'x', 1, 'c.pdf',"
            " 'scan', 10, 'detruire', d.author_id, COALESCE(:at, now()) FROM document d JOIN rendition r ON r.document_id = d.id WHERE d.id = :id LIMIT 1"
        ).bindparams(bindparam("at", type_=DateTime(timezone=True))), {"id": doc_id, "at": at, "version": version})
        session.commit()


# --- Two real workers ------------------------------------------------------------------------


def _defer_reminders(app: Flask, count: int) -> None:
    """Defer ``count`` runs of the daily reminders at once, without the lock that keeps one waiting."""
    task = jobs.queue_of(app).tasks["envoyer_rappels"]
    manager = procrastinate.manager.JobManager(procrastinate.SyncPsycopgConnector())
    with app.app_context():
        session = db.session()
        raw = session.connection().connection.driver_connection
        for n in range(count):
            manager.defer_job(task.configure(queueing_lock=f"essai-{n}").make_new_job(timestamp=n), connection=raw)
        session.commit()


DONE = "SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'envoyer_rappels' AND status = 'succeeded'"


def test_two_worker_processes_running_the_reminders_at_once_tell_once(
    app: Flask, login_as: Any, worker_command: Callable[..., subprocess.Popen[bytes]]  # noqa: F811
) -> None:
    author, _ = login_as("redacteur")
    _, coordinator = login_as("coordinateur", org="Plateforme Lens-Hénin")
    _, archiviste = login_as("archiviste", org="Archives départementales")
    doc_id = submitted(author, "fiche_saisine")
    # The worker processes read the real clock: the referral was submitted 20 days before it.
    with app.app_context():
        doc = db.session().get_one(Document, doc_id)
        doc.submitted_at = dt.datetime.now(dt.UTC) - dt.timedelta(days=20)
        db.session().commit()
    _defer_reminders(app, 2)
    workers = worker_command("--processus", "2")
    _wait(lambda: _count(app, DONE) == 2, 120, "les deux rappels faits")
    workers.terminate()
    assert workers.wait(timeout=60) == 0
    assert len(told(app, coordinator.id, "decision_en_attente")) == 1
    assert len(told(app, archiviste.id, "copie_signee_attendue")) == 1
    with app.app_context():
        assert [c.rpartition(":")[0] for c in sorted(db.session().scalars(select(Rappel.cle)))] == [f"copie-signee:{doc_id}", f"decision-attente:{doc_id}"]
