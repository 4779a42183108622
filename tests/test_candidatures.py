"""A candidature dossier for the 2019 AML call: complete or refused, on time or refused (AML §5, §6)."""

from __future__ import annotations

import contextlib
import copy
import datetime as dt
import html
import io
import json
import re
import threading
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from pypdf import PdfWriter

from schemas import get_kind
from tests.conftest import Clock, WebClient
from tests.test_web import flatten
from webforms import db
from webforms.models import Appel, Document, Piece

BEFORE_DEADLINE = dt.datetime(2019, 9, 2, 9, 0, tzinfo=dt.UTC)
STEPS = list(get_kind("candidature_aml").schema().fields)


def pdf_bytes(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def open_dossier(app: Flask, web: WebClient) -> int:
    appel_id = appel_id_of(app)
    response = web.post(f"/appels/{appel_id}/dossier")
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(re.search(r"/documents/(\d+)/liste", response.headers["Location"]).group(1))  # type: ignore[union-attr]


def fill_steps(web: WebClient, doc_id: int, data: dict[str, Any]) -> None:
    for index, name in enumerate(STEPS, start=1):
        response = web.post(f"/documents/{doc_id}/modifier?etape={index}", {**flatten({name: data[name]}), "action": "next"})
        assert response.status_code == 302, response.get_data(as_text=True)


def upload(web: WebClient, doc_id: int, code: str, content: bytes, name: str, rang: int = 0) -> Any:
    return web.post(
        f"/documents/{doc_id}/pieces/{code}",
        {"fichier": (io.BytesIO(content), name), "rang": str(rang)},
        content_type="multipart/form-data",
    )


def example() -> dict[str, Any]:
    return copy.deepcopy(dict(get_kind("candidature_aml").example))


def test_a_dossier_is_prefilled_from_the_call_and_filled_step_by_step(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    assert open_dossier(app, web) == doc_id  # one dossier per organisation and call
    with app.app_context():
        doc = db.session().get(Document, doc_id)
        assert [r["territoire"] for r in doc.data["mesures"]] == ["Artois", "Lens-Hénin"]
        assert doc.data["budget"]["montant_par_mesure"] == "5000,00"  # as a French user types it
    page = web.get(f"/documents/{doc_id}/modifier?etape=2").get_data(as_text=True)
    assert "Étape 2 sur 7" in page and 'name="mesures-0-nombre"' in page and 'name="porteur-siret"' not in page
    budget = web.get(f"/documents/{doc_id}/modifier?etape=7").get_data(as_text=True)
    assert re.search(r'<input[^>]*name="budget-montant_par_mesure"[^>]*readonly[^>]*value="5000,00"|<input[^>]*readonly[^>]*name="budget-montant_par_mesure"', budget)
    # One step saved leaves the other steps as they were.
    web.post(f"/documents/{doc_id}/modifier?etape=1", {**flatten({"porteur": example()["porteur"]}), "action": "next"})
    with app.app_context():
        doc = db.session().get(Document, doc_id)
        assert doc.data["porteur"]["siret"] == "73282932000074" and doc.data["mesures"][0]["territoire"] == "Artois"


def test_the_call_caps_the_measures_per_territory_aml_1_5(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    data = example()
    data["mesures"] = [{"territoire": "Artois", "nombre": 27}, {"territoire": "Lens-Hénin", "nombre": 0}]
    fill_steps(web, doc_id, data)
    page = web.get(f"/documents/{doc_id}/modifier?etape=2").get_data(as_text=True)
    assert "Au plus 26 mesures sur le territoire Artois (AML §1, §5)." in page
    data["mesures"] = [{"territoire": "Calais", "nombre": 1}]
    fill_steps(web, doc_id, data)
    assert "n&#39;est pas un territoire de l&#39;appel" in web.get(f"/documents/{doc_id}/modifier?etape=2").get_data(as_text=True)


def test_incomplete_dossier_is_refused_with_what_is_missing_aml_6b(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    fill_steps(web, doc_id, example())
    page = web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    assert "Pièce manquante : Courrier d&#39;acte de candidature" in page
    assert "Fiche de poste n° 1" in page  # one per planned recruitment
    response = web.post(f"/documents/{doc_id}/soumettre")
    assert response.status_code == 302
    with app.app_context():
        assert db.session().get(Document, doc_id).statut == "brouillon"
    page = web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    assert "Pièce manquante : Délibération du conseil" in page


def test_hostile_upload_is_refused_and_the_dossier_unchanged(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    with app.app_context():
        before = (db.session().get(Document, doc_id).data, db.session().query(Piece).count())
    response = upload(web, doc_id, "courrier", b"<html><script>alert(1)</script></html>", "courrier.pdf")
    assert response.status_code == 302
    page = web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    assert "Pièce refusée" in page and "pas un vrai PDF" in page
    with app.app_context():
        assert (db.session().get(Document, doc_id).data, db.session().query(Piece).count()) == before


def fill_complete(web: WebClient, doc_id: int, data: dict[str, Any] | None = None) -> None:
    """Every step filled (the example by default) and every piece uploaded: ready to deposit."""
    fill_steps(web, doc_id, data if data is not None else example())
    for code in ("courrier", "deliberation", "fiches_poste"):
        assert upload(web, doc_id, code, pdf_bytes(), f"{code}.pdf").status_code == 302


def submit_complete(app: Flask, web: WebClient, doc_id: int) -> None:
    fill_complete(web, doc_id)
    page = web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    assert "Le dossier est complet" in page, page
    assert web.post(f"/documents/{doc_id}/soumettre").status_code == 302


def reopened_and_renamed(app: Flask, web: WebClient, name: str) -> int:
    """A dossier deposited complete, reopened (régularisation), its association renamed in the draft."""
    doc_id = open_dossier(app, web)
    submit_complete(app, web, doc_id)
    web.post(f"/documents/{doc_id}/rouvrir")
    data = example()
    data["porteur"]["raison_sociale"] = name
    web.post(f"/documents/{doc_id}/modifier?etape=1", {**flatten({"porteur": data["porteur"]}), "action": "save"})
    return doc_id


def appel_id_of(app: Flask) -> int:
    """The id of the one call of the tests' database (the 2019 call shipped as data)."""
    with app.app_context():
        return db.session().query(Appel).one().id


def test_complete_dossier_is_submitted_reopened_and_submitted_again_aml_6b(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    submit_complete(app, web, doc_id)
    with app.app_context():
        doc = db.session().get(Document, doc_id)
        assert (doc.statut, doc.reference) == ("soumis", "CA-2019-000001")
    # Régularisation until the deadline: reopened, a piece replaced, deposited again.
    assert web.post(f"/documents/{doc_id}/rouvrir").status_code == 302
    assert upload(web, doc_id, "deliberation", pdf_bytes(2), "deliberation-v2.pdf").status_code == 302
    assert web.post(f"/documents/{doc_id}/soumettre").status_code == 302
    with app.app_context():
        doc = db.session().get(Document, doc_id)
        assert (doc.statut, doc.reference) == ("soumis", "CA-2019-000001")
        assert sorted({r.version for r in doc.renditions}) == [1, 2]
        pieces = db.session().query(Piece).filter_by(document_id=doc_id, code="deliberation").all()
        assert len(pieces) == 2 and sum(p.replaced_at is None for p in pieces) == 1  # nothing lost
    assert web.get(f"/documents/{doc_id}/telecharger/pdf?version=1").status_code == 200


def test_after_the_deadline_nothing_is_deposited_aml_6d(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    fill_complete(web, doc_id)
    clock.now = dt.datetime(2019, 9, 6, 14, 0, tzinfo=dt.UTC)  # 16:00 in Paris: closed
    web.post(f"/documents/{doc_id}/soumettre")
    page = web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    assert "6 septembre 2019 à 16:00" in page
    with app.app_context():
        assert db.session().get(Document, doc_id).statut == "brouillon"
    other, _ = login_as("redacteur", org="Association en retard")
    appel_id = appel_id_of(app)
    other.post(f"/appels/{appel_id}/dossier")
    assert "L&#39;appel est clos" in other.get("/appels").get_data(as_text=True)


def test_instructeur_sees_dossiers_and_marks_a_piece_non_compliant(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    submit_complete(app, web, doc_id)
    instructeur, _ = login_as("instructeur", org="Département du Pas-de-Calais")
    appel_id = appel_id_of(app)
    with app.app_context():
        piece_id = db.session().query(Piece).filter_by(document_id=doc_id, code="deliberation").one().id
    listing = instructeur.get(f"/appels/{appel_id}/dossiers").get_data(as_text=True)
    assert "CA-2019-000001" in listing and "Association Habitat Solidaire" in listing
    assert instructeur.post(f"/documents/{doc_id}/pieces/{piece_id}/non-conforme", {"motif": ""}).status_code == 302
    assert instructeur.post(f"/documents/{doc_id}/pieces/{piece_id}/non-conforme", {"motif": "Délibération non signée"}).status_code == 302
    page = web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    assert "non conforme" in page and "Délibération non signée" in page
    assert web.post(f"/documents/{doc_id}/pieces/{piece_id}/non-conforme", {"motif": "x"}).status_code == 403
    assert instructeur.get(f"/documents/{doc_id}/pieces/{piece_id}").data.startswith(b"%PDF")


def test_a_withdrawn_piece_keeps_its_history(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    upload(web, doc_id, "courrier", pdf_bytes(), "v1.pdf")
    upload(web, doc_id, "courrier", pdf_bytes(2), "v2.pdf")
    with app.app_context():
        old = db.session().query(Piece).filter_by(document_id=doc_id, original_name="v1.pdf").one()
        old_id, replaced_at = old.id, old.replaced_at
    assert replaced_at is not None
    clock.now = BEFORE_DEADLINE + dt.timedelta(hours=1)
    web.post(f"/documents/{doc_id}/pieces/{old_id}/retirer")
    assert "déjà été remplacée" in web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    with app.app_context():
        assert db.session().get(Piece, old_id).replaced_at == replaced_at


def test_the_preview_of_a_reopened_dossier_shows_the_corrections(app: Flask, login_as: Any, clock: Clock) -> None:
    from tests.test_web import pdf_text

    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = reopened_and_renamed(app, web, "Association Habitat Solidaire Corrigée")
    preview = web.preview(f"/documents/{doc_id}/telecharger/pdf")
    assert "Corrigée" in pdf_text(preview.data)


def test_pieces_no_longer_change_after_the_deadline_aml_6d(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    upload(web, doc_id, "courrier", pdf_bytes(), "courrier.pdf")
    clock.now = dt.datetime(2019, 9, 6, 14, 0, tzinfo=dt.UTC)
    with app.app_context():
        before = [(p.id, p.replaced_at) for p in db.session().query(Piece).filter_by(document_id=doc_id)]
    upload(web, doc_id, "deliberation", pdf_bytes(), "deliberation.pdf")
    web.post(f"/documents/{doc_id}/pieces/{before[0][0]}/retirer")
    page = web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    assert "ne peut plus être modifié" in page and 'enctype="multipart/form-data"' not in page
    with app.app_context():
        assert [(p.id, p.replaced_at) for p in db.session().query(Piece).filter_by(document_id=doc_id)] == before


def test_a_step_not_yet_filled_shows_no_errors(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    page = web.get(f"/documents/{doc_id}/modifier?etape=3").get_data(as_text=True)
    assert "points à corriger" not in page and "(à compléter)" in page
    web.post(f"/documents/{doc_id}/modifier?etape=3", {"action": "save"})
    page = web.get(f"/documents/{doc_id}/modifier?etape=3").get_data(as_text=True)
    assert "2 points à corriger" in page and "Ce champ est obligatoire." in page


def test_a_new_dossier_s_checklist_lists_fields_to_fill_until_a_deposit_is_tried(app: Flask, login_as: Any, clock: Clock) -> None:
    """Issue 16, point 2: no red « à corriger » on a new dossier; once a deposit was tried, the same sections are errors."""
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    red = r'<strong class="badge-late">(\d+) points? à corriger</strong>'
    page = html.unescape(web.get(f"/documents/{doc_id}/liste").get_data(as_text=True))
    # Nothing red: the two rules an empty dossier breaks only ask for a choice not made yet
    # (eligibility not declared, AML §6a; no measure asked, AML §5: ``to_fill``), and the pieces
    # not deposited yet are "manquante" in neutral terms. Empty fields are to fill.
    assert re.findall(red, page) == [] and 'class="badge-late"' not in page
    assert len(re.findall(r"\d+ champs? à remplir", page)) >= 7
    response = web.post(f"/documents/{doc_id}/soumettre")
    assert response.status_code in (302, 303) and "verifier=1" in response.headers["Location"]
    page = html.unescape(web.get(response.headers["Location"]).get_data(as_text=True))
    assert len(re.findall(red, page)) >= 5 and sum(int(n) for n in re.findall(red, page)) > 10
    assert not re.search(r'<li class="todo">', page)


def test_a_dossier_s_pages_share_one_breadcrumb(app: Flask, login_as: Any, clock: Clock) -> None:
    """Issue 16, point 7: a step, the checklist and the dossier's page read the same trail; another document keeps its own."""
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    trails = {
        re.search(r'<p class="breadcrumb">.*?</p>', web.get(page).get_data(as_text=True), re.S).group(0)  # type: ignore[union-attr]
        for page in (f"/documents/{doc_id}/modifier?etape=2", f"/documents/{doc_id}/liste", f"/documents/{doc_id}")
    }
    assert len(trails) == 1
    (trail,) = trails
    assert "Appels à candidatures" in trail and f'href="/documents/{doc_id}"' in trail and "Document n°" not in trail
    other = web.post("/documents/nouveau/fiche_saisine", {"action": "save"})
    form = web.get(other.headers["Location"]).get_data(as_text=True)
    assert re.search(r'<p class="breadcrumb"><a href="/">Documents</a> › <a href="/documents/\d+">Document n° \d+</a></p>', form)


def test_recipients_keep_reading_a_reopened_dossier_s_deposited_version_aml_6b(app: Flask, login_as: Any, clock: Clock) -> None:
    from tests.test_web import pdf_text

    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = reopened_and_renamed(app, web, "Nom en cours de correction")
    instructeur, _ = login_as("instructeur", org="Département du Pas-de-Calais")
    appel_id = appel_id_of(app)
    assert "En régularisation" in instructeur.get(f"/appels/{appel_id}/dossiers").get_data(as_text=True)
    page = instructeur.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Association Habitat Solidaire" in page and "Nom en cours de correction" not in page
    assert "Aperçu du brouillon" not in page and "Versions déposées" in page
    pdf = instructeur.get(f"/documents/{doc_id}/telecharger/pdf")
    assert pdf.status_code == 200 and "Nom en cours de correction" not in pdf_text(pdf.data)
    assert instructeur.get(f"/documents/{doc_id}/telecharger/pdf?version=1&sortie=dossier").status_code == 200


def test_the_letter_to_sign_is_offered_once_the_form_is_complete_aml_6b(app: Flask, login_as: Any, clock: Clock) -> None:
    """AML §6b: "un courrier d'acte de candidature indiquant le nombre de mesures sollicitées et
    portant engagement": the association downloads it before the deposit, to have it signed."""
    from tests.test_web import docx_text, pdf_text

    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    page = web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    assert "Le courrier à signer se télécharge ici une fois le formulaire complet." in page
    response = web.get(f"/documents/{doc_id}/telecharger/docx?sortie=courrier")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/documents/{doc_id}/liste")
    fill_steps(web, doc_id, example())
    page = web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    assert f'href="/documents/{doc_id}/telecharger/docx?sortie=courrier"' in page
    letter = web.preview(f"/documents/{doc_id}/telecharger/docx?sortie=courrier")
    assert letter.status_code == 200 and letter.mimetype.endswith("wordprocessingml.document")
    assert "filename=candidature_aml-courrier-" in letter.headers["Content-Disposition"]
    text = docx_text(letter.data)
    # The letter itself, ready to sign: its signatory, the measures requested, the commitment.
    assert "Jean Petit" in text and "Association Habitat Solidaire" in text and "73282932000074" in text
    assert "Artois" in text and "Lens-Hénin" in text and "10" in text
    assert "s'engage à mettre en œuvre" in text
    assert "BROUILLON" not in text and "{{" not in text
    # The other outputs are previews, marked as such.
    chart = web.get(f"/documents/{doc_id}/telecharger/pdf?sortie=organigramme")
    assert chart.status_code == 200 and "brouillon-" in chart.headers["Content-Disposition"]
    chart_text = pdf_text(chart.data)
    assert "BROUILLON" in chart_text and "Conseillère en économie sociale et familiale" in chart_text
    assert web.get(f"/documents/{doc_id}/telecharger/pdf?sortie=inconnue").status_code == 404
    assert web.get(f"/documents/{doc_id}/telecharger/docx?sortie=budget").status_code == 404  # the budget is a PDF


def test_a_letter_for_measures_the_call_refuses_is_not_offered_aml_1_5(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    data = example()
    data["mesures"] = [{"territoire": "Artois", "nombre": 27}, {"territoire": "Lens-Hénin", "nombre": 0}]
    fill_steps(web, doc_id, data)
    response = web.get(f"/documents/{doc_id}/telecharger/docx?sortie=courrier")
    assert response.status_code == 302
    assert "L&#39;aperçu n&#39;est possible qu&#39;une fois le brouillon complet." in web.get(response.headers["Location"]).get_data(as_text=True)


def _in_threads(*calls: Any) -> list[Any]:
    """Run ``calls`` at the same moment, each in its own thread; return their results."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        results[index] = calls[index]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def each_waits_for_the_other(meeting: Any, function: Any) -> Any:
    """``function``, then a wait (3 s at most) at ``meeting`` (a ``threading.Barrier``) for the other request to get there too.

    Two requests so wrapped reach the race together: without a lock both go on; with it, the one
    waiting for the lock never gets there, and the other goes on alone after 3 s.
    """
    def waiting(*args: Any, **kwargs: Any) -> Any:
        found = function(*args, **kwargs)
        with contextlib.suppress(threading.BrokenBarrierError):
            meeting.wait(timeout=3)
        return found

    return waiting

def test_two_submissions_at_once_make_one_version(app: Flask, login_as: Any, clock: Clock) -> None:
    """A double click or two tabs: one deposit, one reference, one frozen version."""
    clock.now = BEFORE_DEADLINE
    web, account = login_as("redacteur")
    doc_id = open_dossier(app, web)
    fill_complete(web, doc_id)
    other_tab = WebClient(app.test_client())
    other_tab.login(account)
    responses = _in_threads(lambda: web.post(f"/documents/{doc_id}/soumettre"), lambda: other_tab.post(f"/documents/{doc_id}/soumettre"))
    assert [r.status_code for r in responses] == [302, 302]
    with app.app_context():
        doc = db.session().get(Document, doc_id)
        assert (doc.statut, doc.reference) == ("soumis", "CA-2019-000001")
        assert {r.version for r in doc.renditions} == {1}
        assert [e.action for e in doc_events(doc_id)].count("submit") == 1
    pages = web.get(f"/documents/{doc_id}").get_data(as_text=True) + other_tab.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Document soumis sous la référence CA-2019-000001" in pages
    assert "Ce document vient d&#39;être soumis" in pages or "Ce document a déjà été soumis" in pages
    # Later, from a page left open: told, not refused.
    again = web.post(f"/documents/{doc_id}/soumettre")
    assert again.status_code == 302 and "Ce document a déjà été soumis" in web.get(again.headers["Location"]).get_data(as_text=True)


def doc_events(doc_id: int) -> list[Any]:
    from webforms.models import Event

    return list(db.session().query(Event).filter_by(document_id=doc_id).order_by(Event.id))


def test_two_clicks_at_once_open_one_dossier(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    colleague, _ = login_as("redacteur")  # same organisation
    appel_id = appel_id_of(app)
    responses = _in_threads(lambda: web.post(f"/appels/{appel_id}/dossier"), lambda: colleague.post(f"/appels/{appel_id}/dossier"))
    assert [r.status_code for r in responses] == [302, 302]
    assert responses[0].headers["Location"] == responses[1].headers["Location"]
    with app.app_context():
        assert db.session().query(Document).filter_by(appel_id=appel_id).count() == 1


def two_recruitments() -> dict[str, Any]:
    data = example()
    data["moyens"]["recrutements"] = [
        {"poste": "Conseillère en économie sociale et familiale", "date_prevue": "2019-10-01"},
        {"poste": "Travailleur pair", "date_prevue": "2019-11-01"},
    ]
    return data


def test_job_descriptions_follow_their_recruitment_aml_6b(app: Flask, login_as: Any, clock: Clock) -> None:
    """AML §6b: one fiche de poste per planned recruitment, exactly as many as recruitments."""
    import zipfile

    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    data = two_recruitments()
    fill_steps(web, doc_id, data)
    for code in ("courrier", "deliberation"):
        upload(web, doc_id, code, pdf_bytes(), f"{code}.pdf")
    upload(web, doc_id, "fiches_poste", pdf_bytes(), "fiche-cesf.pdf", rang=0)
    upload(web, doc_id, "fiches_poste", pdf_bytes(), "fiche-pair.pdf", rang=1)
    page = web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    assert "Fiche de poste n° 1 – Conseillère en économie sociale et familiale" in page and "Le dossier est complet" in page
    # The first recruitment is dropped: the pair worker is now n° 1, and two fiches remain.
    data["moyens"]["recrutements"] = data["moyens"]["recrutements"][1:]
    web.post(f"/documents/{doc_id}/modifier?etape=6", {**flatten({"moyens": data["moyens"]}), "action": "save"})
    page = web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    assert "Pièce à remplacer : Fiche de poste n° 1 – Travailleur pair (déposée pour « Conseillère en économie sociale et familiale »" in page
    assert "<strong>Fiche de poste n° 2 – Travailleur pair</strong> –\n      <strong class=\"badge-late\">en trop</strong> : elle ne correspond plus à aucune ligne du formulaire : retirez-la" in page
    assert "Le dossier est complet" not in page
    web.post(f"/documents/{doc_id}/soumettre")
    with app.app_context():
        doc = db.session().get(Document, doc_id)
        assert doc.statut == "brouillon"
        extra = db.session().query(Piece).filter_by(document_id=doc_id, code="fiches_poste", rang=1, replaced_at=None).one().id
    web.post(f"/documents/{doc_id}/pieces/{extra}/retirer")
    upload(web, doc_id, "fiches_poste", pdf_bytes(2), "fiche-pair.pdf", rang=0)
    assert "Le dossier est complet" in web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    assert web.post(f"/documents/{doc_id}/soumettre").status_code == 302
    archive = web.get(f"/documents/{doc_id}/telecharger/zip?sortie=dossier")
    with zipfile.ZipFile(io.BytesIO(archive.data)) as z:
        assert [n for n in z.namelist() if n.startswith("06-")] == ["06-fiche-de-poste-1.pdf"]


def test_a_job_description_left_without_recruitment_blocks_the_deposit_aml_6b(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    data = example()
    fill_complete(web, doc_id, data)
    data["moyens"]["recrutements"] = []
    data["moyens"]["pair_aidance"] = ""
    web.post(f"/documents/{doc_id}/modifier?etape=6", {**flatten({"moyens": data["moyens"]}), "action": "save"})
    page = web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    assert "Pièce en trop : Fiche de poste n° 1 – Travailleur pair (elle ne correspond plus à aucune ligne du formulaire : retirez-la)." in page
    web.post(f"/documents/{doc_id}/soumettre")
    with app.app_context():
        assert db.session().get(Document, doc_id).statut == "brouillon"


def test_recipients_see_the_deposited_pieces_not_the_corrections_aml_6b(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    submit_complete(app, web, doc_id)
    with app.app_context():
        deposited = db.session().query(Piece).filter_by(document_id=doc_id, code="courrier").one().id
    appel_id = appel_id_of(app)
    web.post(f"/documents/{doc_id}/rouvrir")
    web.post(f"/documents/{doc_id}/pieces/{deposited}/retirer")
    upload(web, doc_id, "deliberation", pdf_bytes(3), "deliberation-en-cours.pdf")
    with app.app_context():
        draft_piece = db.session().query(Piece).filter_by(document_id=doc_id, original_name="deliberation-en-cours.pdf").one().id
    mine = web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    assert "deliberation-en-cours.pdf" in mine and "Pièce manquante : Courrier" in mine
    instructeur, _ = login_as("instructeur", org="Département du Pas-de-Calais")
    page = instructeur.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    assert "vous lisez sa dernière version déposée" in page
    assert "deliberation-en-cours.pdf" not in page and "courrier.pdf" in page and "deliberation.pdf" in page
    assert "manquante" not in page
    assert instructeur.get(f"/documents/{doc_id}/pieces/{draft_piece}").status_code == 404
    assert instructeur.get(f"/documents/{doc_id}/pieces/{deposited}").data.startswith(b"%PDF")
    listing = instructeur.get(f"/appels/{appel_id}/dossiers").get_data(as_text=True)
    assert "point à reprendre" not in listing
    # A correction not deposited cannot be judged; the deposited piece can't either while it is corrected.
    response = instructeur.post(f"/documents/{doc_id}/pieces/{deposited}/non-conforme", {"motif": "Illisible"})
    assert response.status_code == 403


def test_the_form_is_not_saved_after_the_deadline_aml_6d(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    fill_steps(web, doc_id, example())
    clock.now = dt.datetime(2019, 9, 6, 14, 0, tzinfo=dt.UTC)  # 16:00 in Paris
    with app.app_context():
        before = db.session().get(Document, doc_id).data
    data = example()
    data["porteur"]["raison_sociale"] = "Modifié après la date limite"
    # Enregistrer or « Enregistrer et continuer » after the deadline: what was typed is shown again
    # with why nothing was saved (issue 16, point 1), never dropped by a redirect.
    for action in ("save", "next"):
        response = web.post(f"/documents/{doc_id}/modifier?etape=1", {**flatten({"porteur": data["porteur"]}), "action": action})
        page = html.unescape(response.get_data(as_text=True))
        assert response.status_code == 409
        assert "La date limite de dépôt est passée (6 septembre 2019 à 16:00) : le dossier ne peut plus être modifié." in page
        assert 'value="Modifié après la date limite"' in page and "Rien n'a été enregistré" in page
    assert web.get(f"/documents/{doc_id}/modifier?etape=1").status_code == 302
    with app.app_context():
        assert db.session().get(Document, doc_id).data == before


def test_a_non_compliance_needs_a_reason_and_a_deposited_piece(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    upload(web, doc_id, "deliberation", pdf_bytes(), "premiere.pdf")
    submit_complete(app, web, doc_id)  # replaces the délibération before the deposit
    instructeur, _ = login_as("instructeur", org="Département du Pas-de-Calais")
    with app.app_context():
        replaced = db.session().query(Piece).filter_by(document_id=doc_id, original_name="premiere.pdf").one().id
        current = db.session().query(Piece).filter_by(document_id=doc_id, code="deliberation", replaced_at=None).one().id
    for motif, message in (("", "Indiquez la raison de la non-conformité"), ("x" * 1001, "La raison ne peut dépasser 1 000 caractères.")):
        response = instructeur.post(f"/documents/{doc_id}/pieces/{current}/non-conforme", {"motif": motif})
        assert message in instructeur.get(response.headers["Location"]).get_data(as_text=True)
    response = instructeur.post(f"/documents/{doc_id}/pieces/{replaced}/non-conforme", {"motif": "Non signée"})
    assert "Seule une pièce de la version déposée" in instructeur.get(response.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert all(p.nonconforme_motif is None for p in db.session().query(Piece).filter_by(document_id=doc_id))


def test_a_piece_over_its_limit_gets_its_own_message(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    big = pdf_bytes() + b"%" + b"0" * (10 * 1024 * 1024)  # a PDF just over the piece's 10 MB
    response = upload(web, doc_id, "deliberation", big, "deliberation.pdf")
    assert response.status_code == 302
    assert "Le fichier dépasse la taille maximale de 10 Mo" in web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    far_too_big = upload(web, doc_id, "deliberation", b"0" * (12 * 1024 * 1024), "deliberation.pdf")
    assert far_too_big.status_code == 413 and "taille maximale de 10 Mo" in far_too_big.get_data(as_text=True)
    with app.app_context():
        assert db.session().query(Piece).filter_by(document_id=doc_id).count() == 0


def _set(path: tuple[Any, ...], value: Any) -> Any:
    def change(data: dict[str, Any]) -> None:
        target: Any = data
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


def _errors_at(errors: Any, path: tuple[Any, ...]) -> list[str]:
    for key in path:
        errors = errors.get(key, errors.get(str(key), {})) if isinstance(errors, dict) else {}
    return errors if isinstance(errors, list) else []


CALL_2019 = json.loads((Path(__file__).resolve().parent.parent / "webforms" / "data" / "appel_aml_2019.json").read_text(encoding="utf-8"))

# Each rule of the dossier, by its source: a change to the complete example that breaks it, and
# the French message expected where the user will look for it.
RULES = [
    pytest.param(_set(("porteur", "eligibilite"), False), ("porteur", "eligibilite"), "Seuls les organismes exerçant déjà des mesures d'AML au titre du FSL", id="AML-6a-eligibilite"),
    pytest.param(_set(("porteur", "siret"), "73282932000075"), ("porteur", "siret"), "sa clé de contrôle est fausse", id="DESIGN-2.2-siret"),
    pytest.param(_set(("mesures",), [{"territoire": "Artois", "nombre": 0}, {"territoire": "Lens-Hénin", "nombre": 0}]), ("mesures", "_schema"), "Sollicitez au moins une mesure (AML §5).", id="AML-5-au-moins-une-mesure"),
    pytest.param(_set(("mesures",), [{"territoire": "Artois", "nombre": 27}]), ("mesures", 0, "nombre"), "Au plus 26 mesures sur le territoire Artois (AML §1, §5).", id="AML-1-5-plafond-du-territoire"),
    pytest.param(_set(("mesures",), [{"territoire": "Artois", "nombre": 20}, {"territoire": "Artois", "nombre": 20}]), ("mesures", 1, "territoire"), "Le territoire Artois figure déjà à la ligne 1", id="AML-1-5-une-ligne-par-territoire"),
    pytest.param(_set(("mesures",), [{"territoire": "Calais", "nombre": 1}]), ("mesures", 0, "territoire"), "« Calais » n'est pas un territoire de l'appel", id="AML-1-territoire-inconnu"),
    pytest.param(_set(("mesures",), [{"territoire": "Artois", "nombre": "2,5"}]), ("mesures", 0, "nombre"), "Nombre entier attendu.", id="AML-5-nombre-entier"),
    pytest.param(_set(("mesures",), [{"territoire": "Artois", "nombre": "٣"}]), ("mesures", 0, "nombre"), "Nombre entier attendu.", id="AML-5-chiffres-0-a-9"),
    pytest.param(_set(("fonctionnement", "horaires", 0, "fin"), "07:00"), ("fonctionnement", "horaires", 0, "fin"), "L'heure de fin doit suivre l'heure de début.", id="AML-6a-horaires-ordonnes"),
    pytest.param(_set(("moyens", "equipe", 0, "etp"), "0"), ("moyens", "equipe", 0, "etp"), "compris entre 0 (exclu) et 1", id="AML-6b-etp-positif"),
    pytest.param(_set(("moyens", "equipe", 0, "etp"), "1,01"), ("moyens", "equipe", 0, "etp"), "compris entre 0 (exclu) et 1", id="AML-6b-etp-au-plus-1"),
    pytest.param(_set(("moyens", "equipe", 0, "etp"), "0,001"), ("moyens", "equipe", 0, "etp"), "Deux décimales au plus", id="AML-6b-etp-pas-arrondi-a-0"),
    pytest.param(_set(("budget", "charges", 0, "montant"), "44000.00"), ("budget", "_schema"), "Le budget n'est pas équilibré : charges 51 000,00 €, produits 50 000,00 € (écart 1 000,00 €).", id="AML-6b-budget-equilibre"),
    pytest.param(_set(("budget", "subvention_ddcs"), "60000.00"), ("budget", "subvention_ddcs"), "La subvention sollicitée dépasse le total des produits", id="AML-5-6b-subvention-parmi-les-produits"),
    pytest.param(_set(("budget", "montant_par_mesure"), "4000.00"), ("budget", "montant_par_mesure"), "L'appel fixe le financement à 5 000,00 € par mesure (AML §5).", id="AML-5-financement-de-l-appel"),
    pytest.param(_set(("budget", "charges", 0, "montant"), "999999999999,999"), ("budget", "charges", 0, "montant"), "Montant au centime près", id="montant-pas-arrondi"),
]


@pytest.mark.parametrize(("change", "path", "message"), RULES)
def test_each_rule_of_the_dossier_gives_its_message_where_it_applies(change: Any, path: tuple[Any, ...], message: str) -> None:
    from types import SimpleNamespace

    from webforms.candidatures.services import call_errors
    from webforms.errors import merge_errors

    kind = get_kind("candidature_aml")
    data = example()
    call = SimpleNamespace(data=CALL_2019)
    assert merge_errors(kind.validate(data), call_errors(call, data)) == {}  # the example is complete
    change(data)
    errors = merge_errors(kind.validate(data), call_errors(call, data))
    # French amounts are spaced with narrow no-break spaces: compared as plain spaces.
    assert any(message in " ".join(line.split()) for line in _errors_at(errors, path)), errors


def test_computed_values_flag_an_uncovered_need_and_an_incoherent_subsidy_aml_5_6a() -> None:
    """AML §6a: the five needs each covered, an uncovered one flagged; AML §5: subsidy = measures × 5 000 €."""
    kind = get_kind("candidature_aml")
    data = example()
    computed = kind.derive(kind.load(data))
    assert computed["besoins_non_couverts"] == [] and computed["subvention_coherente"] is True
    assert computed["amplitude_hebdomadaire"] == "53 h 00" and computed["etp_total"] == "1,5"
    data["moyens"]["equipe"][1]["besoins"] = ["insertion"]  # nobody for parentalité any more
    data["mesures"] = [{"territoire": "Artois", "nombre": 4}, {"territoire": "Lens-Hénin", "nombre": 5}]  # 45 000 € expected
    computed = kind.derive(kind.load(data))
    assert [str(b) for b in computed["besoins_non_couverts"]] == ["Parentalité"]
    assert computed["subvention_coherente"] is False and str(computed["subvention_attendue"]) == "45000.00"
    # Two referents reachable at overlapping times: the time is counted once.
    data["fonctionnement"]["horaires"] = [{"jour": "lundi", "debut": "08:00", "fin": "12:00"}, {"jour": "lundi", "debut": "11:00", "fin": "14:00"}]
    assert kind.derive(kind.load(data))["amplitude_hebdomadaire"] == "6 h 00"


def test_pages_show_an_uncovered_need_and_an_incoherent_subsidy_aml_5_6a(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    data = example()
    fill_steps(web, doc_id, data)
    assert "Points d'attention" not in web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    data["moyens"]["equipe"][1]["besoins"] = ["insertion"]
    data["mesures"][1]["nombre"] = 5
    fill_steps(web, doc_id, data)
    for url in (f"/documents/{doc_id}/liste", f"/documents/{doc_id}/modifier?etape=7", f"/documents/{doc_id}"):
        page = " ".join(web.get(url).get_data(as_text=True).split())
        assert "Points d'attention" in page, url
        assert "que ni l&#39;équipe ni un partenaire ne couvre : Parentalité." in page, url
        assert "ne correspond pas aux mesures sollicitées × financement par mesure (9 × 5" in page, url


def test_a_reopened_dossier_s_owner_still_downloads_its_deposited_versions_aml_6b(app: Flask, login_as: Any, clock: Clock) -> None:
    from tests.test_web import pdf_text

    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = reopened_and_renamed(app, web, "Nom en cours de correction")
    page = web.get(f"/documents/{doc_id}").get_data(as_text=True)
    links = re.findall(r'href="(/documents/\d+/telecharger/[^"]*version=1[^"]*)"', page)
    assert len(links) >= 5  # the fiche (PDF, DOCX), the annexes, the complete dossier (PDF, ZIP)
    for link in (link.replace("&amp;", "&") for link in links):
        response = web.get(link)
        assert response.status_code == 200, link
        assert response.headers["X-Content-SHA256"]  # the stored file, not a preview
    deposited = web.get(f"/documents/{doc_id}/telecharger/pdf?version=1")
    assert "Nom en cours de correction" not in pdf_text(deposited.data) and "CA-2019-000001" in pdf_text(deposited.data)
    assert "Nom en cours de correction" in pdf_text(web.preview(f"/documents/{doc_id}/telecharger/pdf").data)  # the preview


def test_a_refused_deposit_says_how_many_more_points_remain(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)  # nothing filled: 7 sections and the pieces to do
    response = web.post(f"/documents/{doc_id}/soumettre")
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    shown = re.findall(r"Section « [^»]+ » : \d+ (?:champs? à remplir|points? à corriger)(?: ; \d+ points? à corriger)?\.", page)
    assert len(shown) >= 5 and re.search(r"Et \d+ autres points : voir la liste de contrôle ci-dessous\.", page)


def test_the_amount_per_measure_follows_the_call_aml_5(app: Flask, login_as: Any, clock: Clock) -> None:
    """Shown read-only in the form: a posted value is ignored, and a corrected call reaches the drafts."""
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    data = example()
    data["budget"]["montant_par_mesure"] = "9999,00"  # a tampered read-only field
    fill_steps(web, doc_id, data)
    with app.app_context():
        assert db.session().get(Document, doc_id).data["budget"]["montant_par_mesure"] == "5000,00"
        appel = db.session().query(Appel).one()
        appel.data = {**appel.data, "montant_par_mesure": "5500.00"}
        db.session().commit()
    web.post(f"/documents/{doc_id}/modifier?etape=1", {**flatten({"porteur": data["porteur"]}), "action": "save"})
    with app.app_context():
        assert db.session().get(Document, doc_id).data["budget"]["montant_par_mesure"] == "5500,00"
    assert "55 000,00" in " ".join(web.get(f"/documents/{doc_id}/liste").get_data(as_text=True).replace("\u202f", " ").replace("\xa0", " ").split())


def test_a_reopened_dossier_s_page_computes_from_what_each_reader_reads_aml_6b(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    submit_complete(app, web, doc_id)  # 4 + 6 measures
    web.post(f"/documents/{doc_id}/rouvrir")
    web.post(f"/documents/{doc_id}/modifier?etape=2", {**flatten({"mesures": [{"territoire": "Artois", "nombre": 5}, {"territoire": "Lens-Hénin", "nombre": 6}]}), "action": "save"})
    total = re.compile(r"<dt>Mesures sollicitées \(total\)</dt><dd>(\d+)</dd>")
    assert total.findall(web.get(f"/documents/{doc_id}").get_data(as_text=True)) == ["11"]  # the corrections
    instructeur, _ = login_as("instructeur", org="Département du Pas-de-Calais")
    assert total.findall(instructeur.get(f"/documents/{doc_id}").get_data(as_text=True)) == ["10"]  # the deposited version


def next_step_link(page: str) -> str | None:
    """Return where the checklist's "Prochaine étape" links, or None if it is plain text."""
    panel = page.split("<h2>Prochaine étape</h2>", 1)[1].split("</div>", 1)[0]
    found = re.search(r'<a href="([^"]+)"', panel)
    return html.unescape(found.group(1)) if found else None


def test_the_next_step_is_a_link_to_where_it_is_done(app: Flask, login_as: Any, clock: Clock) -> None:
    """A section to complete opens its step; a missing piece goes to its file field (issue 16, point 7)."""
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    first = next_step_link(web.get(f"/documents/{doc_id}/liste").get_data(as_text=True))
    assert first == f"/documents/{doc_id}/modifier?etape=1"
    fill_steps(web, doc_id, example())
    page = web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    assert next_step_link(page) == "#piece-courrier-0"
    assert 'id="piece-courrier-0"' in page and 'id="fichier-courrier-0"' in page

