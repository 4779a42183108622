"""Every kind of e-mail the service sends, from a real event, read back from a real SMTP server.

Each kind (``Courriel.nature``: an immediate notification of each event, the daily digest, the
link and the code for a recipient without an account) is brought about as in use: a page
posted, a worker run, the daily reminders run on their day. Its e-mail is received by
``aiosmtpd``; its subject is checked whole, a line of its body too, in French, and every
e-mail of the scenario is checked for unrendered placeholders and household names.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from schemas import get_kind
from tests.conftest import Clock
from tests.test_candidatures import BEFORE_DEADLINE, open_dossier, pdf_bytes, submit_complete, upload
from tests.test_mesures_web import AML, open_mesure
from tests.test_notifications_mail import BASE_URL, HOUSEHOLD_NAMES, logged, relay, smtp_server  # noqa: F401 (a fixture)
from tests.test_reminder_rules import CALL, MISSING
from tests.test_reminders import paris_morning, run_on
from tests.test_sharing import ADDRESS, visitor
from tests.test_thread import _submit_installation_bilan
from tests.test_transmissions import RAST, configure_addresses
from tests.test_web import submitted
from tests.workers import run_jobs
from webforms import db
from webforms.models import Mesure, NotificationPreference, Partage, Piece, TerritoireZone
from webforms.notifications.mail import ask_digests
from webforms.notifications.sharing import CODE_MINUTES, secret_of
from webforms.notifications.subjects import EVENEMENTS

D = dt.date
SAISINE = get_kind("fiche_saisine").title
DOSSIER = get_kind("candidature_aml").title
DELIBERATION = next(r.title for r in get_kind("candidature_aml").attachments if r.name == "deliberation")
# What a template left unrendered would show: a Jinja or format field, a %-placeholder, a Python None.
PLACEHOLDER = re.compile(r"\{|\}|%s|%\(|\bNone\b|\$\{")


@dataclass(frozen=True)
class Expected:
    """The e-mail a kind's scenario must produce: to whom, its whole subject, a line of its body."""

    to: str
    subject: str
    line: str


def _saisine(login_as: Any) -> tuple[Any, Any, Any, int]:
    """A fiche saisine submitted by an operator of Lens-Hénin: (writer web, writer, coordinator web+account, doc id)."""
    writer_web, writer = login_as("redacteur", territoires=("aml-lens-henin",))  # the operator the example decision names
    coordinator = login_as("coordinateur", org="Plateforme Lens-Hénin")
    return writer_web, writer, coordinator, submitted(writer_web, "fiche_saisine")


def _dossier(app: Flask, login_as: Any, clock: Clock) -> tuple[Any, Any, Any, Any, int]:
    """A candidature deposited complete: (writer web, writer, instructeur web, instructeur, doc id)."""
    clock.now = BEFORE_DEADLINE
    web, writer = login_as("redacteur")
    instructeur_web, instructeur = login_as("instructeur", org="Département du Pas-de-Calais")
    doc_id = open_dossier(app, web)
    submit_complete(app, web, doc_id)
    return web, writer, instructeur_web, instructeur, doc_id


def _reminders_on(app: Flask, clock: Clock, day: dt.date) -> None:
    clock.now = paris_morning(day)
    run_on(app, clock.now)
    run_jobs(app)


def _consult(line: str, page: str) -> str:
    return f"{line}.\n\nConsulter : {BASE_URL}{page}"


def depot(app: Flask, login_as: Any, clock: Clock) -> Expected:
    _, _, (_, coordinator), doc_id = _saisine(login_as)
    line = f"{SAISINE} FS-2019-000001 : nouvelle saisine transmise (décision du coordinateur attendue)"
    return Expected(coordinator.email, f"[webforms] {line}", _consult(line, f"/documents/{doc_id}"))


def decision(app: Flask, login_as: Any, clock: Clock) -> Expected:
    _, writer, (coordinator_web, _), doc_id = _saisine(login_as)
    review = {k: v for k, v in get_kind("fiche_saisine").review.example.items() if v}  # type: ignore[union-attr]
    assert coordinator_web.post(f"/documents/{doc_id}/decision", review).status_code == 302
    line = f"{SAISINE} FS-2019-000001 : décision enregistrée"
    return Expected(writer.email, f"[webforms] {line}", _consult(line, f"/documents/{doc_id}"))


def non_conforme(app: Flask, login_as: Any, clock: Clock) -> Expected:
    _, writer, instructeur_web, _, doc_id = _dossier(app, login_as, clock)
    with app.app_context():
        piece_id = db.session().scalars(select(Piece.id).where(Piece.document_id == doc_id, Piece.code == "deliberation")).one()
    assert instructeur_web.post(f"/documents/{doc_id}/pieces/{piece_id}/non-conforme", {"motif": "Délibération non signée"}).status_code == 302
    line = f"{DOSSIER} CA-2019-000001 : pièce non conforme : {DELIBERATION}"
    return Expected(writer.email, f"[webforms] {line}", _consult(line, f"/documents/{doc_id}"))


def reouverture(app: Flask, login_as: Any, clock: Clock) -> Expected:
    web, _, _, instructeur, doc_id = _dossier(app, login_as, clock)
    assert web.post(f"/documents/{doc_id}/rouvrir").status_code == 302
    line = f"{DOSSIER} CA-2019-000001 : rouvert par l'association pour régularisation"
    return Expected(instructeur.email, f"[webforms] {line}", _consult(line, f"/documents/{doc_id}"))


def redepot(app: Flask, login_as: Any, clock: Clock) -> Expected:
    web, _, _, instructeur, doc_id = _dossier(app, login_as, clock)
    web.post(f"/documents/{doc_id}/rouvrir")
    assert upload(web, doc_id, "deliberation", pdf_bytes(2), "deliberation-v2.pdf").status_code == 302
    assert web.post(f"/documents/{doc_id}/soumettre").status_code == 302
    line = f"{DOSSIER} CA-2019-000001 : déposé de nouveau après régularisation"
    return Expected(instructeur.email, f"[webforms] {line}", _consult(line, f"/documents/{doc_id}"))


def instruction(app: Flask, login_as: Any, clock: Clock) -> Expected:
    _, writer, instructeur_web, _, doc_id = _dossier(app, login_as, clock)
    assert instructeur_web.post(f"/documents/{doc_id}/instruction", {"action": "instruire"}).status_code == 302
    line = f"{DOSSIER} CA-2019-000001 : dossier en instruction"
    return Expected(writer.email, f"[webforms] {line}", _consult(line, f"/documents/{doc_id}"))


def message(app: Flask, login_as: Any, clock: Clock) -> Expected:
    writer_web, _, (_, coordinator), doc_id = _saisine(login_as)
    assert writer_web.post(f"/documents/{doc_id}/messages", {"texte": "La pièce d'identité de Mme Durand suit."}).status_code == 302
    line = f"{SAISINE} FS-2019-000001 : nouveau message"
    return Expected(coordinator.email, f"[webforms] {line}", _consult(line, f"/documents/{doc_id}"))


def demande_correction(app: Flask, login_as: Any, clock: Clock) -> Expected:
    _, writer, (coordinator_web, _), doc_id = _saisine(login_as)
    asked = {"texte": "La date de naissance de Julie semble erronée.", "nature": "demande_correction"}
    assert coordinator_web.post(f"/documents/{doc_id}/messages", asked).status_code == 302
    line = f"{SAISINE} FS-2019-000001 : demande de correction"
    return Expected(writer.email, f"[webforms] {line}", _consult(line, f"/documents/{doc_id}"))


def appel_echeance(app: Flask, login_as: Any, clock: Clock) -> Expected:
    clock.now = dt.datetime(2019, 8, 20, 9, 0, tzinfo=dt.UTC)
    web, writer = login_as("redacteur")
    doc_id = open_dossier(app, web)
    _reminders_on(app, clock, D(2019, 8, 30))
    line = f"{DOSSIER} : appel « {CALL} » : non déposé, date limite dans 7 jours (6 septembre 2019 à 16:00)"
    return Expected(writer.email, f"[webforms] {line}", f"{line}.\n\n{MISSING}\n\nConsulter : {BASE_URL}/documents/{doc_id}")


def decision_en_attente(app: Flask, login_as: Any, clock: Clock) -> Expected:
    _, _, (_, coordinator), doc_id = _saisine(login_as)  # Monday 14 October 2019
    _reminders_on(app, clock, D(2019, 10, 22))
    line = f"{SAISINE} FS-2019-000001 : décision du coordinateur attendue depuis le 14 octobre 2019 (plus de 5 jours ouvrés)"
    return Expected(coordinator.email, f"[webforms] {line}", _consult(line, f"/documents/{doc_id}"))


def copie_signee_attendue(app: Flask, login_as: Any, clock: Clock) -> Expected:
    _, _, _, doc_id = _saisine(login_as)
    _, archiviste = login_as("archiviste", org="Archives départementales")
    _reminders_on(app, clock, D(2019, 10, 30))
    line = f"{SAISINE} FS-2019-000001 : copie signée toujours pas archivée, document transmis le 14 octobre 2019 (plus de 15 jours)"
    return Expected(archiviste.email, f"[webforms] {line}", _consult(line, f"/documents/{doc_id}"))


def _measure_reminder(app: Flask, login_as: Any, clock: Clock, day: dt.date, line: str, **mesure: str) -> Expected:
    web, referent = login_as("redacteur")
    mesure_id = open_mesure(web, **mesure)
    _reminders_on(app, clock, day)
    return Expected(referent.email, f"[webforms] {line}", _consult(line, f"/mesures/{mesure_id}"))


def bilan_a_rendre(app: Flask, login_as: Any, clock: Clock) -> Expected:
    line = "Mesure AML Logement d'abord ME-2019-000001 : Bilan intermédiaire (3 mois) à transmettre d'ici le 3 septembre 2019 (AML §4)"
    return _measure_reminder(app, login_as, clock, D(2019, 8, 27), line, **AML)


def bilan_en_retard(app: Flask, login_as: Any, clock: Clock) -> Expected:
    line = "Mesure AML Logement d'abord ME-2019-000001 : Bilan intermédiaire (3 mois) en retard, attendu le 3 septembre 2019 (AML §4)"
    return _measure_reminder(app, login_as, clock, D(2019, 9, 4), line, **AML)


def demarrage_a_venir(app: Flask, login_as: Any, clock: Clock) -> Expected:
    line = ("Mesure ASLL Installation ME-2019-000001 : première rencontre à tenir au plus tard le 12 septembre 2019 "
            "(10 jours après le bon de commande, ASLL §6.3)")
    return _measure_reminder(app, login_as, clock, D(2019, 9, 9), line)


def demarrage_en_retard(app: Flask, login_as: Any, clock: Clock) -> Expected:
    line = ("Mesure ASLL Installation ME-2019-000001 : aucune première rencontre, le délai de démarrage "
            "(10 jours après le bon de commande) a expiré le 12 septembre 2019 (ASLL §6.3)")
    return _measure_reminder(app, login_as, clock, D(2019, 9, 13), line)


def rythme_insuffisant(app: Flask, login_as: Any, clock: Clock) -> Expected:
    line = ("Mesure AML Logement d'abord ME-2019-000001 : rencontres en deçà du rythme 2 périodes de suite depuis le 10 juin 2019 : "
            "1 à 2 rencontres minimum par semaine (AML §4)")
    return _measure_reminder(app, login_as, clock, D(2019, 6, 24), line, **AML)


def fin_sans_renouvellement(app: Flask, login_as: Any, clock: Clock) -> Expected:
    line = ("Mesure ASLL Maintien ME-2019-000001 : fin de l'accompagnement le 2 mars 2020 sans demande de renouvellement ; "
            "un renouvellement se demande, motivé, dans le bilan (ASLL §9.2)")
    return _measure_reminder(app, login_as, clock, D(2020, 2, 1), line, type_mesure="asll_maintien", duree_mois="6", date_premiere_rencontre="2019-09-02")


def transmission(app: Flask, login_as: Any, clock: Clock) -> Expected:
    # ASLL §9.1: the Installation's bilan "est transmis au RAST du territoire concerné"; here the
    # RAST's address is an account, an archiviste's: it reads the bilan, and its deposit told it nothing.
    _, archiviste = login_as("archiviste", territoires=("asll-lot-2",))
    configure_addresses(app, rast={**RAST, "Faucigny": archiviste.email}, dpds=None)
    web, _ = login_as("redacteur")
    mesure = open_mesure(web, menage_commune="Cluses", date_bon_commande="2019-06-28", date_premiere_rencontre="2019-07-01")
    bilan = _submit_installation_bilan(app, web, mesure, {"proposition": "fin"})
    line = f"{get_kind('bilan_asll_installation').title} BI-2019-000001 : transmis au RAST de la CAMS"
    return Expected(archiviste.email, f"[webforms] {line}", _consult(line, f"/documents/{bilan}"))


def resume(app: Flask, login_as: Any, clock: Clock) -> Expected:
    author, _ = login_as("redacteur")
    _, coordinator = login_as("coordinateur", org="Plateforme Lens-Hénin")
    with app.app_context():
        db.session().add(NotificationPreference(user_id=coordinator.id, frequence="quotidien"))
        db.session().commit()
    doc_id = submitted(author, "fiche_saisine")
    clock.now = dt.datetime(2019, 10, 15, 6, 0, tzinfo=dt.UTC)
    with app.app_context():
        assert ask_digests(db.session(), now=clock.now) == 1
        db.session().commit()
    run_jobs(app)
    line = f"- {SAISINE} FS-2019-000001 : nouvelle saisine transmise (décision du coordinateur attendue) : {BASE_URL}/documents/{doc_id}"
    return Expected(coordinator.email, "[webforms] 1 notification en attente", line)


def _shared(login_as: Any) -> tuple[int, str]:
    writer, _ = login_as("redacteur")
    doc_id = submitted(writer, "fiche_saisine")
    response = writer.post(f"/documents/{doc_id}/destinataires", {"adresse": ADDRESS, "qualite": "travailleur_social"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return doc_id, ADDRESS


def partage_lien(app: Flask, login_as: Any, clock: Clock) -> Expected:
    _shared(login_as)
    line = f"Association Habitat Solidaire vous transmet le document « {SAISINE} FS-2019-000001 » en votre qualité de travailleur social référent du ménage."
    return Expected(ADDRESS, f"[webforms] {SAISINE} FS-2019-000001 : document transmis par Association Habitat Solidaire", line)


def partage_code(app: Flask, login_as: Any, clock: Clock) -> Expected:
    _shared(login_as)
    with app.app_context():
        partage = db.session().scalars(select(Partage)).one()
        path = f"/partage/{partage.id}/{secret_of(partage)}"  # the link the first e-mail carries
    assert visitor(app).post(path, {"action": "code"}).status_code == 200
    return Expected(ADDRESS, "[webforms] Votre code d'accès", f"Il est valable {CODE_MINUTES} minutes et ne sert qu'une fois.")


SCENARIOS: dict[str, Callable[[Flask, Any, Clock], Expected]] = {
    **{f"immediat:{name}": scenario for name, scenario in {
        "depot": depot, "redepot": redepot, "reouverture": reouverture, "non_conforme": non_conforme, "decision": decision,
        "instruction": instruction, "message": message, "demande_correction": demande_correction, "appel_echeance": appel_echeance,
        "decision_en_attente": decision_en_attente, "copie_signee_attendue": copie_signee_attendue, "bilan_a_rendre": bilan_a_rendre,
        "bilan_en_retard": bilan_en_retard, "demarrage_a_venir": demarrage_a_venir, "demarrage_en_retard": demarrage_en_retard,
        "rythme_insuffisant": rythme_insuffisant, "fin_sans_renouvellement": fin_sans_renouvellement, "transmission": transmission,
    }.items()},
    "resume": resume,
    "partage:lien": partage_lien,
    "partage:code": partage_code,
}


def test_every_kind_of_e_mail_has_its_scenario() -> None:
    assert set(SCENARIOS) == {f"immediat:{name}" for name in EVENEMENTS} | {"resume", "partage:lien", "partage:code"}


def _places(app: Flask) -> re.Pattern[str]:
    """Every commune, PMS and CAMS the territories name, and each measure's commune, as whole words."""
    with app.app_context():
        zones = db.session().scalars(select(TerritoireZone.nom).where(TerritoireZone.nature.in_(("cams", "pms", "commune")))).all()
        communes = db.session().scalars(select(Mesure.menage_commune).where(Mesure.menage_commune.is_not(None))).all()
    names = sorted({n for n in (*zones, *communes) if n}, key=len, reverse=True)
    assert "Faucigny" in names and "Cluses" in names  # the transmission scenario's CAMS and commune
    return re.compile(r"\b(?:" + "|".join(map(re.escape, names)) + r")\b")


def _text(mail: EmailMessage) -> str:
    return str(mail.get_content()).replace("\r\n", "\n")


@pytest.mark.parametrize("nature", list(SCENARIOS))
def test_each_kind_of_e_mail_from_its_real_event_reaches_a_real_smtp_server_in_french(
    app: Flask, login_as: Any, clock: Clock, smtp_server: Any, nature: str  # noqa: F811
) -> None:
    inbox, port = smtp_server()
    relay(app, port)
    expected = SCENARIOS[nature](app, login_as, clock)
    # The e-mail, whole subject and all (encoded words read back with their spaces).
    found = [m for m in inbox.messages if m["To"] == expected.to and m["Subject"] == expected.subject]
    assert len(found) == 1, [(m["To"], m["Subject"]) for m in inbox.messages]
    assert expected.line in _text(found[0]), _text(found[0])
    assert (expected.to, nature, "envoye") in logged(app)
    # Every e-mail of the scenario: nothing left unrendered, no household name, no place that
    # locates the household (its commune, the CAMS or PMS that serves it: CNIL).
    places = _places(app)
    for mail in inbox.messages:
        text = f"{mail['Subject']}\n{_text(mail)}"
        assert not PLACEHOLDER.search(text), text
        assert not any(name in text for name in (*HOUSEHOLD_NAMES, "Karim")), text
        assert not places.search(text), (places.search(text), text)
        assert mail["Subject"].startswith("[webforms] ") and "Bonjour," in text
