"""The decision of the Commission Permanente and the notification letters (AML §5, §6d)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

from flask import Flask
from sqlalchemy import select

from tests.conftest import Clock, WebClient
from tests.test_candidatures import BEFORE_DEADLINE
from tests.test_catalogue import docx_text, pdf_text
from tests.test_instruction import instruction_rows, shown, text_of
from tests.test_jury_work import deposit, examined, jury, requesting, scores, sign_all  # noqa: F401 - the fixture, used by name
from webforms import db
from webforms.models import Decision, Document, Lettre, Rendition

AFTER_CP = dt.datetime(2019, 11, 5, 9, 0, tzinfo=dt.UTC)


def decide(web: WebClient, appel_id: int, date: str) -> str:
    web.post(f"/appels/{appel_id}/decision", {"date": date})
    return shown(web)


def squashed(text: str) -> str:
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").replace("\u2010\n", "").split())


def test_a_decision_before_the_jury_signed_off_is_refused_then_letters_are_frozen_and_read_back(app: Flask, login_as: Any, clock: Clock, jury: dict[str, Any]) -> None:  # noqa: F811
    instructeur, docs, appel_id = jury["instructeur"], jury["docs"], jury["appel"]
    examined(app, jury, docs["A"])
    instructeur.post(f"/documents/{docs['A']}/instruction", {"action": "retenir", "mesures-Artois": "20", "mesures-Lens-Hénin": "20"})
    clock.now = AFTER_CP
    # B not yet scored: the jury has not signed off (four members, none signed B).
    assert "Le jury n'a pas signé : il manque 4 évaluations signées" in decide(instructeur, appel_id, "2019-11-04")
    # Three members signed B, the last one holds a draft: still refused, nothing recorded (AML §6c, §6d).
    jury["members"][0].post(f"/documents/{docs['B']}/evaluation", {**scores(3), "action": "signer"})
    jury["members"][1].post(f"/documents/{docs['B']}/evaluation", {**scores(3), "action": "enregistrer"})
    sign_all(app, {**jury, "accounts": jury["accounts"][2:]}, docs["B"])
    assert "Le jury n'a pas signé : il manque 1 évaluation signée (" in decide(instructeur, appel_id, "2019-11-04")
    # The last member signs: the jury has signed B, which still waits for its examination.
    jury["members"][1].post(f"/documents/{docs['B']}/evaluation", {**scores(3), "action": "signer"})
    assert "Le jury n'a pas terminé : le dossier" in decide(instructeur, appel_id, "2019-11-04")
    examined(app, jury, docs["B"])
    assert "est examiné mais ni retenu ni non retenu" in decide(instructeur, appel_id, "2019-11-04")
    instructeur.post(f"/documents/{docs['B']}/instruction", {"action": "ne_pas_retenir", "texte": "Partenariats insuffisamment décrits"})
    # The date's edges: not before the jury (25 September 2019), not after today.
    assert "délibère après le jury de sélection" in decide(instructeur, appel_id, "2019-09-24")
    assert "ne peut pas être dans le futur" in decide(instructeur, appel_id, "2019-11-06")
    assert "Indiquez la date" in decide(instructeur, appel_id, "04/11")
    # No letter before the decision; only the instructeur decides.
    instructeur.post(f"/appels/{appel_id}/lettres")
    assert "Enregistrez d'abord la date de la Commission Permanente" in shown(instructeur)
    for web in (jury["members"][0], login_as("redacteur", org="Association A")[0]):
        assert web.post(f"/appels/{appel_id}/decision", {"date": "2019-11-04"}).status_code == 403
        assert web.post(f"/appels/{appel_id}/lettres").status_code == 403
    with app.app_context():
        assert db.session().get(Decision, appel_id) is None and db.session().scalars(select(Lettre)).all() == []
    assert "Décision de la Commission Permanente enregistrée" in decide(instructeur, appel_id, "2019-09-25")  # the jury's day: the edge
    assert "Décision de la Commission Permanente enregistrée" in decide(instructeur, appel_id, "2019-11-05")  # today (Paris): the other edge
    with app.app_context():
        assert db.session().get(Decision, appel_id).date == dt.date(2019, 11, 5)
    assert "Décision de la Commission Permanente enregistrée" in decide(instructeur, appel_id, "2019-11-04")
    # The letters: one per decided dossier, rendered by a worker (the test client runs it after the POST).
    instructeur.post(f"/appels/{appel_id}/lettres")
    assert "Lettres de notification établies : 2" in shown(instructeur)
    assert instruction_rows(app, docs["A"])[0] == "notifie" and instruction_rows(app, docs["B"])[0] == "notifie"
    with app.app_context():
        s = db.session()
        letters = {link.dossier_id: s.get(Document, link.lettre_id) for link in s.scalars(select(Lettre))}
        refs = {n: (letters[i].id, letters[i].reference, letters[i].statut) for n, i in docs.items()}
        hashes = {(r.document_id, r.format): r.sha256 for r in s.scalars(select(Rendition).where(Rendition.document_id.in_([v[0] for v in refs.values()])))}
    assert all(ref.startswith("NA-2019-") and statut == "soumis" for _, ref, statut in refs.values())
    association_a, _ = login_as("redacteur", org="Association A")
    texts = {}
    for fmt, read in (("docx", docx_text), ("pdf", pdf_text)):
        got = association_a.get(f"/documents/{refs['A'][0]}/telecharger/{fmt}")
        assert got.status_code == 200 and hashlib.sha256(got.data).hexdigest() == hashes[(refs["A"][0], fmt)]  # frozen, with its hash
        texts[fmt] = squashed(read(got.data))
    for text in texts.values():
        for expected in ("Projet retenu", "Artois 20 100 000,00 €", "Lens-Hénin 20 100 000,00 €", "40 200 000,00 €", "4 novembre 2019", "25 septembre 2019", "convention de financement", refs["A"][1]):
            assert expected in text, (expected, text)
        assert "Partenariats insuffisamment décrits" not in text
    # Association A reads its letter, not B's; B's letter gives the jury's reasons.
    assert association_a.get(f"/documents/{refs['B'][0]}").status_code == 404
    association_b, _ = login_as("redacteur", org="Association B")
    b_text = squashed(pdf_text(association_b.get(f"/documents/{refs['B'][0]}/telecharger/pdf").data))
    assert "Projet non retenu" in b_text and "Partenariats insuffisamment décrits" in b_text and "Mesures accordées" not in b_text
    # Listed on the summary; sending again makes nothing new (every decided dossier is notified).
    assert refs["A"][1] in text_of(instructeur.get(f"/appels/{appel_id}/synthese").get_data(as_text=True))
    instructeur.post(f"/appels/{appel_id}/lettres")
    assert "Aucun dossier retenu, non retenu ou irrecevable n'attend sa lettre" in shown(instructeur)


def test_a_retained_dossier_has_its_draft_convention_aml_7(app: Flask, login_as: Any, clock: Clock, jury: dict[str, Any]) -> None:  # noqa: F811
    instructeur, docs, appel_id = jury["instructeur"], jury["docs"], jury["appel"]
    for name in ("A", "B"):
        examined(app, jury, docs[name])
    instructeur.post(f"/documents/{docs['A']}/instruction", {"action": "retenir", "mesures-Artois": "20", "mesures-Lens-Hénin": "12"})
    url = f"/documents/{docs['A']}/convention.pdf"
    # Before the decision: refused in French, back to the dossier.
    assert instructeur.get(url).status_code == 302 and "La décision de la Commission Permanente n'est pas encore enregistrée" in shown(instructeur)
    instructeur.post(f"/documents/{docs['B']}/instruction", {"action": "ne_pas_retenir", "texte": "Hors périmètre"})
    clock.now = AFTER_CP
    assert "Décision de la Commission Permanente enregistrée" in decide(instructeur, appel_id, "2019-11-04")
    association, _ = login_as("redacteur", org="Association A")
    for web in (instructeur, association):
        page = text_of(web.get(f"/documents/{docs['A']}/liste").get_data(as_text=True))
        assert "Projet de convention de financement" in page
        for fmt, read in (("pdf", pdf_text), ("docx", docx_text)):
            got = web.get(f"/documents/{docs['A']}/convention.{fmt}")
            assert got.status_code == 200, got.status_code
            text = squashed(read(got.data))
            for expected in ("Direction Départementale de la Cohésion Sociale", "Association Habitat Solidaire", "Artois 20 100 000,00 €", "Lens-Hénin 12 60 000,00 €", "32 160 000,00 €", "1er septembre 2019", "31 décembre 2020", "4 novembre 2019", "compte-rendu financier (formulaire Cerfa)", "envoyés aux coordinateurs"):
                assert expected in text, (fmt, expected, text)
    # Not retained: no convention; another association: not found; a jury member: refused.
    assert instructeur.get(f"/documents/{docs['B']}/convention.pdf").status_code == 302 and "Seul un projet retenu" in shown(instructeur)
    assert login_as("redacteur", org="Association B")[0].get(url).status_code == 404
    assert jury["members"][0].get(url).status_code == 403
    assert instructeur.get(f"/documents/{docs['A']}/convention.odt").status_code == 302 and "Format inconnu" in shown(instructeur)


def test_the_decision_waits_for_every_deposited_dossier_to_be_instructed_and_an_irrecevable_one_is_notified_aml_6d(
    app: Flask, login_as: Any, clock: Clock, jury: dict[str, Any],  # noqa: F811
) -> None:
    instructeur, docs, appel_id = jury["instructeur"], jury["docs"], jury["appel"]
    # A third association deposits before the deadline; nobody opens its dossier yet.
    clock.now = BEFORE_DEADLINE
    association_c, _ = login_as("redacteur", org="Association C")
    c = deposit(app, association_c, requesting(2, 2))
    for name in ("A", "B"):
        examined(app, jury, docs[name])
    instructeur.post(f"/documents/{docs['A']}/instruction", {"action": "retenir", "mesures-Artois": "20", "mesures-Lens-Hénin": "20"})
    instructeur.post(f"/documents/{docs['B']}/instruction", {"action": "ne_pas_retenir", "texte": "Hors périmètre"})
    clock.now = AFTER_CP
    # "Déposé", then "en instruction": refused, naming how many are not instructed; nothing recorded.
    assert "1 dossier déposé n'est pas encore instruit" in decide(instructeur, appel_id, "2019-11-04")
    instructeur.post(f"/documents/{c}/instruction", {"action": "instruire"})
    assert "1 dossier déposé n'est pas encore instruit" in decide(instructeur, appel_id, "2019-11-04")
    with app.app_context():
        assert db.session().get(Decision, appel_id) is None
    # Declared irrecevable (AML §6b): none left to instruct, the decision is recorded.
    instructeur.post(f"/documents/{c}/instruction", {"action": "irrecevable", "motif": "incomplet", "texte": "Délibération du conseil d'administration absente."})
    assert "Décision de la Commission Permanente enregistrée" in decide(instructeur, appel_id, "2019-11-03")
    # Before the letters the date may still be corrected…
    assert "Décision de la Commission Permanente enregistrée" in decide(instructeur, appel_id, "2019-11-04")
    instructeur.post(f"/appels/{appel_id}/lettres")
    assert "Lettres de notification établies : 3" in shown(instructeur)
    # … not once they are established: they state it (AML §6d).
    assert "La décision de la Commission Permanente du 04/11/2019 est figée : 3 lettres de notification l'ont déjà notifiée" in decide(instructeur, appel_id, "2019-11-05")
    with app.app_context():
        s = db.session()
        assert s.get(Decision, appel_id).date == dt.date(2019, 11, 4)
        letter = s.get(Document, s.get(Lettre, c).lettre_id)
        letter_id, reference = letter.id, letter.reference
    # The irrecevable dossier reaches "notifié" like the others; its letter states the reason recorded at instruction.
    assert instruction_rows(app, c)[0] == "notifie"
    text = squashed(pdf_text(association_c.get(f"/documents/{letter_id}/telecharger/pdf").data))
    for expected in ("Dossier irrecevable", "Dossier incomplet à la date limite de dépôt (AML §6b)", "Délibération du conseil d'administration absente.", "4 novembre 2019", reference):
        assert expected in text, (expected, text)
    assert "Mesures accordées" not in text and "convention de financement" not in text
    # Notified without measures (irrecevable, or not retained): no draft convention offered on its page.
    for web, doc_id in ((association_c, c), (login_as("redacteur", org="Association B")[0], docs["B"])):
        assert "Projet de convention de financement" not in text_of(web.get(f"/documents/{doc_id}/liste").get_data(as_text=True))
    assert "Projet de convention de financement" in text_of(login_as("redacteur", org="Association A")[0].get(f"/documents/{docs['A']}/liste").get_data(as_text=True))
    assert reference in text_of(instructeur.get(f"/appels/{appel_id}/synthese").get_data(as_text=True))
    # Notified, it was still never presented to the jury: a member reads neither it nor its score page.
    member = jury["members"][0]
    assert member.get(f"/documents/{c}").status_code == 404 and member.get(f"/documents/{c}/evaluation").status_code == 404
    assert member.get(f"/documents/{docs['A']}").status_code == 200
