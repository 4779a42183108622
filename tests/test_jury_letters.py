"""The notification letters are documents like the others: a replaced template prints them, the archive keeps them (AML §6d, issue 18)."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from schemas import DOCX_DIR
from tests.conftest import Clock, WebClient, pdf_titled
from tests.test_archive_web import deposit, record_id_from
from tests.test_catalogue import docx_text, pdf_text
from tests.test_jury_decision import AFTER_CP, decide, squashed
from tests.test_jury_work import examined, jury, scores  # noqa: F401 - the fixture, used by name
from tests.test_modeles import deposit as deposit_template
from tests.test_modeles import page, put_in_force, word_template
from webforms import db
from webforms.models import Document, Lettre, Rendition

WORD, HTML = "notification_aml.docx", "notification_aml.html"
MARK = "Courrier du Département, modèle 2026"


def notified(app: Flask, jury: dict[str, Any]) -> dict[str, int]:  # noqa: F811
    """Decide the jury fixture's call (A retained, B not) and establish its letters; return dossier name → letter id."""
    instructeur, docs, appel_id = jury["instructeur"], jury["docs"], jury["appel"]
    for name in ("A", "B"):
        examined(app, jury, docs[name])
    instructeur.post(f"/documents/{docs['A']}/instruction", {"action": "retenir", "mesures-Artois": "10", "mesures-Lens-Hénin": "12"})
    instructeur.post(f"/documents/{docs['B']}/instruction", {"action": "ne_pas_retenir", "texte": "Hors périmètre"})
    app.config["CLOCK"].now = AFTER_CP
    assert "Décision de la Commission Permanente enregistrée" in decide(instructeur, appel_id, "2019-11-04")
    assert instructeur.post(f"/appels/{appel_id}/lettres").status_code == 302
    with app.app_context():
        links = {link.dossier_id: link.lettre_id for link in db.session().scalars(select(Lettre))}
    return {name: links[doc_id] for name, doc_id in docs.items()}


def test_a_replaced_letter_template_prints_the_next_letters_docx_and_pdf(app: Flask, login_as: Any, clock: Clock, jury: dict[str, Any]) -> None:  # noqa: F811
    admin, _ = login_as("admin", "Département du Pas-de-Calais")
    # The Word template: the shipped letter with one more paragraph; the HTML one: a letter of the Département's own.
    word = word_template(f"{MARK} : {{{{ destinataire.association }}}}", base=DOCX_DIR / WORD)
    html = ('{% extends "_base.html" %}\n{% block contenu %}<h1>' + MARK + "</h1><p>{{ destinataire.association }} – {{ decision.dossier }}</p>{% endblock %}").encode()
    for template, data, name in ((WORD, word, "lettre.docx"), (HTML, html, "lettre.html")):
        assert deposit_template(admin, data, template, name).status_code == 302
        assert admin.get(f"/admin/modeles/{template}/versions/1/apercu").status_code == 200  # seen before it is put in force
        response = put_in_force(admin, 1, template)
        assert response.status_code == 302, page(response)
    letters = notified(app, jury)
    with app.app_context():
        s = db.session()
        reference = s.get(Document, letters["A"]).reference
        used = {r.format: r.template_version for r in s.scalars(select(Rendition).where(Rendition.document_id == letters["A"]))}
    assert used == {"docx": 1, "pdf": 1}
    association, _ = login_as("redacteur", org="Association A")
    docx = squashed(docx_text(association.get(f"/documents/{letters['A']}/telecharger/docx").data))
    assert f"{MARK} : Association Habitat Solidaire" in docx and "Projet retenu" in docx  # the shipped letter, and the Département's line
    pdf = squashed(pdf_text(association.get(f"/documents/{letters['A']}/telecharger/pdf").data))
    assert MARK in pdf and reference in pdf and "Association Habitat Solidaire" in pdf
    assert "Projet retenu" not in pdf  # the Département's HTML letter replaced the shipped one whole


def test_a_letter_is_archived_with_its_signed_copy_and_found_in_the_archive(app: Flask, login_as: Any, clock: Clock, jury: dict[str, Any]) -> None:  # noqa: F811
    letters = notified(app, jury)
    archivist, _ = login_as("archiviste", "Département du Pas-de-Calais")
    with app.app_context():
        reference = db.session().get(Document, letters["A"]).reference
    # Waiting for its signed copy, like every submitted document it receives.
    waiting = archivist.get("/archives").get_data(as_text=True)
    assert f'href="/documents/{letters["A"]}/archiver"' in waiting and f'href="/documents/{letters["B"]}/archiver"' in waiting
    signed = pdf_titled(f"Lettre {reference} signée par le Président")
    done = deposit(archivist, letters["A"], signed, "lettre-signee.pdf")
    assert done.status_code == 302, done.get_data(as_text=True)
    record_id = record_id_from(done)
    record = archivist.get(f"/archives/{record_id}").get_data(as_text=True)
    assert "Copie signée archivée." in record and reference in record
    found = archivist.get(f"/archives?reference={reference}").get_data(as_text=True)
    assert f'href="/archives/{record_id}"' in found
    assert archivist.get(f"/archives/{record_id}/fichiers/signe").data == signed
    # The association finds its own letter's record; another association does not.
    own: WebClient = login_as("redacteur", org="Association A")[0]
    assert f'href="/archives/{record_id}"' in own.get(f"/archives?reference={reference}").get_data(as_text=True)
    other: WebClient = login_as("redacteur", org="Association B")[0]
    assert f'href="/archives/{record_id}"' not in other.get(f"/archives?reference={reference}").get_data(as_text=True)
