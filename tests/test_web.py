"""The web journey of a fiche saisine and a fiche d'incident, through the Flask test client."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
from pathlib import Path
from typing import Any

import docx
from flask import Flask
from pypdf import PdfReader

from schemas import get_kind
from tests.conftest import WebClient
from webforms import db
from webforms.models import Document


def flatten(payload: Any, prefix: str = "") -> dict[str, Any]:
    """Turn a nested payload into the flat field names of the web form (menage-enfants-0-prenom)."""
    out: dict[str, Any] = {}
    if isinstance(payload, dict):
        for key, value in payload.items():
            out.update(flatten(value, f"{prefix}{key}-"))
    elif isinstance(payload, list):
        if payload and not isinstance(payload[0], dict):
            out[prefix[:-1]] = payload
        for index, value in enumerate(payload):
            if isinstance(value, dict):
                out.update(flatten(value, f"{prefix}{index}-"))
    elif payload is True:
        out[prefix[:-1]] = "y"
    elif payload not in (None, False):
        out[prefix[:-1]] = str(payload)
    return out


def example_form(kind: str) -> dict[str, Any]:
    return flatten(dict(get_kind(kind).example))


def doc_id_from(response: Any) -> int:
    match = re.search(r"/documents/(\d+)", response.headers["Location"])
    assert match
    return int(match.group(1))


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def docx_text(data: bytes) -> str:
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts += [cell.text for cell in row.cells]
    return "\n".join(parts)


def test_sign_in_refuses_wrong_password_in_french(web: WebClient, make_user: Any) -> None:
    account = make_user("redacteur")
    web.get("/connexion")
    response = web.post("/connexion", {"email": account.email, "password": "faux"})
    assert response.status_code == 401
    assert "mot de passe incorrect" in response.get_data(as_text=True)
    assert web.get("/").status_code == 302  # still signed out


def test_pages_need_a_signed_in_user(web: WebClient) -> None:
    response = web.get("/documents/nouveau/fiche_saisine")
    assert response.status_code == 302 and "/connexion" in response.headers["Location"]


def test_fiche_saisine_draft_errors_correction_submission(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    form = example_form("fiche_saisine")
    form["territoire-epci"] = "CUA"  # out of scope
    form["menage-demandeur-date_naissance"] = "pas une date"
    form["prescripteur-nom"] = ""
    form["action"] = "save"
    response = web.post("/documents/nouveau/fiche_saisine", form)
    assert response.status_code == 302
    doc_id = doc_id_from(response)

    # Coming back later: what was typed is there, every problem is listed next to its field.
    page = web.get(f"/documents/{doc_id}/modifier").get_data(as_text=True)
    assert 'value="pas une date"' in page
    assert "2 points à corriger" in page
    assert 'id="menage-demandeur-date_naissance-error"' in page
    assert 'aria-describedby="menage-demandeur-date_naissance-error"' in page
    assert "Date invalide : utilisez le format JJ/MM/AAAA." in page
    assert "Territoire hors périmètre" in page
    # A field only left empty is not an error before a submission: it is listed in neutral terms
    # (issue 16, point 2), with a link to it, and the field is not marked invalid.
    assert "Avant de soumettre : 1 champ obligatoire à remplir" in page and 'href="#prescripteur-nom"' in page
    assert 'id="prescripteur-nom-error"' not in page

    # Submitting while invalid is refused and keeps everything typed. The refusal is a redirect
    # to the draft's page (a GET): the back button after the corrected submission finds a
    # page, not the browser's "confirm form resubmission" (issue 16, point 7).
    form["action"] = "submit"
    response = web.post(f"/documents/{doc_id}/modifier", form)
    assert response.status_code == 303 and response.headers["Location"] == f"/documents/{doc_id}/modifier?verifier=1"
    refused = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "Le document ne peut pas être soumis : corrigez les erreurs signalées." in refused
    # Once the user tried to submit, the empty required field is an error like the others.
    assert "3 points à corriger" in refused and 'id="prescripteur-nom-error"' in refused and "Avant de soumettre" not in refused
    assert "Date invalide : utilisez le format JJ/MM/AAAA." in refused and 'value="pas une date"' in refused
    with app.app_context():
        doc = db.session().get(Document, doc_id)
        assert doc.statut == "brouillon" and doc.reference is None
        assert doc.data["menage"]["demandeur"]["date_naissance"] == "pas une date"

    # Corrected, it is submitted, numbered and locked.
    form.update({"territoire-epci": "CABBALR", "menage-demandeur-date_naissance": "2000-05-04", "prescripteur-nom": "Claire Martin"})
    response = web.post(f"/documents/{doc_id}/modifier", form)
    assert response.status_code == 302
    page = web.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "FS-2019-000001" in page
    assert "Artois" in page  # the platform computed from the EPCI
    with app.app_context():
        doc = db.session().get(Document, doc_id)
        assert doc.statut == "soumis" and doc.reference == "FS-2019-000001"
        assert {r.format for r in doc.renditions} == {"pdf", "docx"}

    # Locked: the edit page sends back to the document, a forced POST changes nothing.
    assert web.get(f"/documents/{doc_id}/modifier").status_code == 302
    form["prescripteur-nom"] = "Quelqu'un d'autre"
    web.post(f"/documents/{doc_id}/modifier", {**form, "action": "save"})
    with app.app_context():
        assert db.session().get(Document, doc_id).data["prescripteur"]["nom"] == "Claire Martin"


def test_rows_are_added_and_removed_without_losing_input(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    form = example_form("fiche_saisine")
    form["action"] = "add:menage-enfants"
    doc_id = doc_id_from(web.post("/documents/nouveau/fiche_saisine", form))
    with app.app_context():
        assert len(db.session().get(Document, doc_id).data["menage"]["enfants"]) == 3
    page = web.get(f"/documents/{doc_id}/modifier").get_data(as_text=True)
    assert 'name="menage-enfants-2-prenom"' in page
    form["action"] = "remove:menage-enfants:0"
    web.post(f"/documents/{doc_id}/modifier", form)
    with app.app_context():
        enfants = db.session().get(Document, doc_id).data["menage"]["enfants"]
        assert [e["prenom"] for e in enfants] == ["Inès"]


def submitted(web: WebClient, kind: str) -> int:
    form = example_form(kind)
    form["action"] = "submit"
    response = web.post(f"/documents/nouveau/{kind}", form)
    assert response.status_code == 302, response.get_data(as_text=True)
    return doc_id_from(response)


def test_submitted_files_are_served_byte_for_byte_even_after_a_template_change(app: Flask, login_as: Any, tmp_path: Path) -> None:
    web, _ = login_as("redacteur")
    doc_id = submitted(web, "fiche_saisine")
    with app.app_context():
        stored = {r.format: r.sha256 for r in db.session().get(Document, doc_id).renditions}
    pdf = web.get(f"/documents/{doc_id}/telecharger/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert hashlib.sha256(pdf.data).hexdigest() == stored["pdf"]
    assert pdf.headers["X-Content-Type-Options"] == "nosniff"
    text = pdf_text(pdf.data)
    assert "FS-2019-000001" in text and "Durand" in text and "14 octobre 2019" in text

    # An administrator replaces the Word template: the submitted version does not change.
    override = Path(app.config["DOCX_OVERRIDE_DIR"])
    override.mkdir(parents=True, exist_ok=True)
    shutil.copy(Path(app.root_path).parent / "templates_docx" / "fiche_incident.docx", override / "fiche_saisine.docx")
    word = web.get(f"/documents/{doc_id}/telecharger/docx")
    assert hashlib.sha256(word.data).hexdigest() == stored["docx"]
    assert "Durand" in docx_text(word.data)


def test_fiche_incident_is_filled_submitted_and_downloaded(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    doc_id = submitted(web, "fiche_incident")
    page = web.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "FI-2019-000001" in page
    assert "Circonscription d&#39;Action Médico-Sociale" in page
    text = docx_text(web.get(f"/documents/{doc_id}/telecharger/docx").data)
    assert "Morel" in text and "Circonscription d'Action Médico-Sociale" in text
    assert "11 mars 2024" in text  # start deadline: bon de commande + 10 days (ASLL §6.3)


def test_coordinator_records_the_decision_as_a_new_version(app: Flask, login_as: Any) -> None:
    writer, _ = login_as("redacteur")
    doc_id = submitted(writer, "fiche_saisine")
    coordinator, _ = login_as("coordinateur", org="Plateforme Logement d'abord Lens-Hénin")
    page = coordinator.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Décision du coordinateur" in page

    # Incomplete: refused, with what was chosen kept.
    response = coordinator.post(f"/documents/{doc_id}/decision", {"orientation_validee": "validee", "mesure": "aml", "date_decision": "2019-10-28"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "Choisissez le référent nommé" in body and '<option selected value="aml">' in body

    # The operator and the référent are chosen from the lists (issue 13): the writer's account.
    referent = login_as("redacteur", org="Association Habitat Solidaire", territoires=("aml-lens-henin",))[1]
    decision = {k: v for k, v in get_kind("fiche_saisine").review.example.items() if v}  # type: ignore[union-attr]
    decision |= {"operateur_id": referent.organisation_id, "referent_id": referent.id}
    response = coordinator.post(f"/documents/{doc_id}/decision", decision)
    assert response.status_code == 302
    with app.app_context():
        doc = db.session().get(Document, doc_id)
        assert doc.statut == "decide"
        assert sorted((r.version, r.format) for r in doc.renditions) == [(1, "docx"), (1, "pdf"), (2, "docx"), (2, "pdf")]
    v2 = pdf_text(coordinator.get(f"/documents/{doc_id}/telecharger/pdf").data)
    assert "Redacteur 3" in v2  # the name recorded beside the id chosen
    v1 = pdf_text(coordinator.get(f"/documents/{doc_id}/telecharger/pdf?version=1").data)
    assert "Redacteur 3" not in v1
    # The writer reads the decision too.
    assert "Redacteur 3" in writer.get(f"/documents/{doc_id}").get_data(as_text=True)


def test_hostile_text_is_shown_literally_everywhere(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    nasty = "Dupont & Fils <SARL> \"q\" 'a' {{ 7*7 }} {% raw %} 😀 <img src=\"file:///etc/passwd\"> url(http://127.0.0.1:9/x)"
    form = example_form("fiche_saisine")
    form["prescripteur-organisme"] = nasty[:200]
    form["situation-description"] = nasty + "\x07\x0c fin " + "long " * 4000
    form["action"] = "submit"
    doc_id = doc_id_from(web.post("/documents/nouveau/fiche_saisine", form))
    page = web.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in page and "{{ 7*7 }}" in page and "49" not in page.split("{{ 7*7 }}")[0][-5:]
    word = docx_text(web.get(f"/documents/{doc_id}/telecharger/docx").data)
    assert nasty in word and "fin long long" in word
    assert "Adhésion" in word or "adhésion" in word  # the rest of the document survived
    pdf = pdf_text(web.get(f"/documents/{doc_id}/telecharger/pdf").data)
    assert "{{ 7*7 }}" in pdf and "file:///etc/passwd" in pdf


def test_bad_requests_get_french_pages_not_500(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    assert web.get("/documents/999999").status_code == 404
    assert web.get("/documents/nouveau/inexistant").status_code == 404
    assert web.get("/documents/1/telecharger/exe").status_code == 404
    response = web.post("/documents/nouveau/fiche_saisine", {"action": "remove:../../x:99", "menage-enfants-abc-prenom": "x"})
    assert response.status_code == 302
    response = web.post("/documents/nouveau/fiche_saisine", {"situation-description": "x" * (11 * 1024 * 1024)})
    assert response.status_code == 413 and "trop volumineux" in response.get_data(as_text=True)
    response = web.post("/documents/nouveau/fiche_saisine", {"action": "save"}, csrf=False)
    assert response.status_code == 400 and "Ce formulaire n'est plus valable" in response.get_data(as_text=True).replace("&#39;", "'")
    # Numbers past 63 bits, and digits that are not ASCII ("²".isdigit() is true): no overflow
    # in the database driver, no ValueError.
    huge = "9" * 25
    for url in (f"/documents/{huge}", f"/mesures/{huge}", f"/archives/{huge}", f"/documents/{huge}/archiver"):
        assert web.get(url).status_code == 404, url
    for url in (f"/archives?organisation={huge}&page={huge}", "/archives?organisation=%C2%B2&page=%C2%B9"):
        assert web.get(url).status_code == 200, url
    response = web.post("/documents/nouveau/fiche_saisine", {"action": "remove:menage-enfants:\u00b2"})
    assert response.status_code == 302
    response = web.post("/mesures/bilan-annuel", {"annee": "\u00b2\u00b2"})
    assert response.status_code == 302 and "Indiquez l'année du bilan annuel" in web.get("/mesures/").get_data(as_text=True).replace("&#39;", "'")


def test_forged_row_actions_change_nothing(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    form = example_form("fiche_incident")
    for action in ("add:mesure", "add:pirate-x", "remove:../../x:99", "remove:mesure-menage_nom:0", "add:", "remove:menage-enfants:abc"):
        form["action"] = action
        doc_id = doc_id_from(web.post("/documents/nouveau/fiche_incident", form))
        with app.app_context():
            # No key was invented and no row removed: the example is still exactly valid.
            assert get_kind("fiche_incident").validate(db.session().get(Document, doc_id).data) == {}, action


def test_rows_left_blank_keep_their_place_when_a_row_is_added_or_removed(app: Flask, login_as: Any) -> None:
    """Issue 16, point 6: "Ajouter" pressed three times gives three more rows, even left blank; removing a
    blank row between two filled ones removes that row, never the filled one after it (nothing typed lost)."""
    web, _ = login_as("redacteur")
    form = example_form("fiche_saisine")  # two children, Léo and Inès
    doc_id = doc_id_from(web.post("/documents/nouveau/fiche_saisine", {**form, "action": "save"}))
    shown = dict(form)
    for count in (3, 4, 5):  # each add, as the page posts it, with the blank rows it shows
        web.post(f"/documents/{doc_id}/modifier", {**shown, "action": "add:menage-enfants"})
        page = web.get(f"/documents/{doc_id}/modifier").get_data(as_text=True)
        assert f'id="menage-enfants-{count - 1}"' in page and f'id="menage-enfants-{count}"' not in page, count
        shown[f"menage-enfants-{count - 1}-prenom"] = ""
    # Rows: Léo, Inès, blank, blank, Zoé; remove the blank third one.
    shown["menage-enfants-4-prenom"] = "Zoé"
    web.post(f"/documents/{doc_id}/modifier", {**shown, "action": "remove:menage-enfants:2"})
    with app.app_context():
        enfants = db.session().get(Document, doc_id).data["menage"]["enfants"]
    assert [e.get("prenom") for e in enfants] == ["Léo", "Inès", None, "Zoé"]
    # And removing a filled row after a blank one removes that one.
    shown = {k: v for k, v in shown.items() if not k.startswith("menage-enfants-4")}
    shown["menage-enfants-3-prenom"] = "Zoé"
    web.post(f"/documents/{doc_id}/modifier", {**shown, "action": "remove:menage-enfants:3"})
    with app.app_context():
        enfants = db.session().get(Document, doc_id).data["menage"]["enfants"]
    assert [e.get("prenom") for e in enfants] == ["Léo", "Inès", None]


def test_adding_a_row_keeps_the_initial_empty_one(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    form = {"action": "add:menage-ressources"}  # the blank form's one resource row left empty
    doc_id = doc_id_from(web.post("/documents/nouveau/fiche_saisine", form))
    page = web.get(f"/documents/{doc_id}/modifier").get_data(as_text=True)
    assert 'id="menage-ressources-1"' in page and 'id="menage-ressources-2"' not in page
