"""An upload refusal is said beside its file field, not at the top of the page (issue 16, point 7).

The signed copy's deposit and the administrator's template deposit, as the messages page and the
checklist already did: 422, the reason just before the field, the field marked invalid and
described by it, and what else was typed kept. Both sides: an accepted file leaves no error, and a
refusal that is not the file's stays at the top with the field unmarked.
"""

from __future__ import annotations

import html
import re
from typing import Any

from flask import Flask

from tests.conftest import Clock, pdf_titled
from tests.test_archive import jpeg_scan
from tests.test_archive_web import deposit as deposit_copy
from tests.test_archive_web import records
from tests.test_candidatures import BEFORE_DEADLINE, open_dossier, upload
from tests.test_modeles import HTML, WORD, admin, versions, word_template
from tests.test_modeles import deposit as deposit_template
from tests.test_web import submitted

FIELD = re.compile(
    # "Erreur : " is read out before the reason by a screen reader, as beside every other field.
    r'<p class="error-message" id="fichier-error"><span class="visually-hidden">Erreur : </span>(?P<reason>[^<]*)</p>\s*'
    r'(?:<ul class="error-message" id="fichier-error-details">(?P<details>.*?)</ul>\s*)?'
    r'<input type="file" id="fichier"[^>]*>',
    re.S,
)


def text_of(response: Any) -> str:
    return html.unescape(response.get_data(as_text=True))


def beside(text: str) -> re.Match[str]:
    """The refusal said just before the file field, which is marked invalid and described by it."""
    field = FIELD.search(text)
    assert field, text[text.find("<form") :][:3000]
    assert 'aria-invalid="true"' in field.group(0) and 'aria-describedby="fichier-help fichier-error' in field.group(0)
    assert "error-summary" not in text  # nothing at the top
    return field


def unmarked(text: str) -> None:
    assert 'id="fichier-error"' not in text and 'aria-invalid="true"' not in text


def test_a_refused_signed_copy_is_said_beside_its_field_and_the_motif_and_signature_typed_stay(app: Flask, login_as: Any) -> None:
    writer, _ = login_as("redacteur")
    archivist, _ = login_as("archiviste", "Département du Pas-de-Calais")
    doc_id = submitted(writer, "fiche_saisine")
    page = text_of(archivist.get(f"/documents/{doc_id}/archiver"))
    unmarked(page)
    # A disguised file: its content refused, beside the field.
    refused = deposit_copy(archivist, doc_id, b"<html><body>faux</body></html>", "scan.pdf")
    assert refused.status_code == 422
    reason = beside(text_of(refused)).group("reason")
    assert reason.startswith("Copie signée refusée : ") and "Rien n'a été modifié dans l'archive." in reason
    # The accepted side: a real scan is archived, no error.
    done = deposit_copy(archivist, doc_id, pdf_titled("Copie signée"))
    assert done.status_code == 302 and len(records(app)) == 1
    # A correction: the motif and the signature kind typed stay when the file is refused, here
    # an image said to carry an electronic signature (refused by the deposit, not the upload check).
    motif = "Scan illisible : la deuxième page était coupée."
    wrong = deposit_copy(archivist, doc_id, jpeg_scan(), "scan.jpg", signature="electronique", motif=motif)
    text = text_of(wrong)
    assert wrong.status_code == 422 and "se dépose en PDF" in beside(text).group("reason")
    assert f">{motif}</textarea>" in text and re.search(r'id="signature-electronique"[^>]*checked', text)
    assert text.count("se dépose en PDF") == 1
    # The other side: a refusal that is not the file's (the motif missing) stays at the top.
    no_motif = text_of(deposit_copy(archivist, doc_id, pdf_titled("deuxième")))
    assert "error-summary" in no_motif and "motif de la correction" in no_motif
    unmarked(no_motif)
    # No file chosen at all: said beside the field.
    missing = archivist.post(f"/documents/{doc_id}/archiver", {"signature": "scan", "motif": motif}, content_type="multipart/form-data")
    text = text_of(missing)
    assert missing.status_code == 422 and "Choisissez le fichier" in beside(text).group("reason") and f">{motif}</textarea>" in text
    assert len(records(app)) == 1


def test_a_refused_template_is_said_beside_its_field_with_its_details(app: Flask, login_as: Any) -> None:
    web = admin(login_as)
    unmarked(text_of(web.get(f"/admin/modeles/{WORD}")))
    refused = deposit_template(web, word_template("Ménage : {{ menage_inconnu.nom }}"))
    assert refused.status_code == 422
    field = beside(text_of(refused))
    assert field.group("reason") and "menage_inconnu" in (field.group("details") or "")
    assert 'aria-describedby="fichier-help fichier-error fichier-error-details"' in field.group(0)
    empty = web.post(f"/admin/modeles/{WORD}", {})
    assert empty.status_code == 422 and "Choisissez le fichier" in beside(text_of(empty)).group("reason")
    assert versions(app) == []
    # The accepted side: a good template is kept, and its page shows no error.
    kept = '{% extends "_base.html" %}{% block contenu %}<h1>{{ document.titre }}</h1>{% endblock %}'
    done = deposit_template(web, kept.encode(), HTML, "fiche.html")
    assert done.status_code == 302 and versions(app, HTML) != []
    unmarked(text_of(web.get(done.headers["Location"])))
    # A refusal that is not an upload's (putting in force a version not previewed) stays at the top.
    top = web.post(f"/admin/modeles/{HTML}/versions/1/vigueur", {})
    assert top.status_code == 422 and "error-summary" in text_of(top)
    unmarked(text_of(top))


def test_a_refused_piece_is_said_beside_its_own_field_on_the_checklist(app: Flask, login_as: Any, clock: Clock) -> None:
    """The checklist's file fields are the same field as everywhere else (``file_input``)."""
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    checklist = text_of(web.get(f"/documents/{doc_id}/liste"))
    assert 'id="fichier-courrier-0-error"' not in checklist and 'aria-invalid="true"' not in checklist
    assert upload(web, doc_id, "courrier", b"<html><script>alert(1)</script></html>", "courrier.pdf").status_code == 302
    text = text_of(web.get(f"/documents/{doc_id}/liste"))
    field = re.search(
        r'<p class="error-message" id="fichier-courrier-0-error" role="alert"><span class="visually-hidden">Erreur : </span>(?P<reason>[^<]*)</p>\s*'
        r'<input type="file" id="fichier-courrier-0" name="fichier"[^>]*>',
        text,
    )
    assert field, text[text.find("fichier-courrier-0") - 600 :][:2000]
    assert "pas un vrai PDF" in field.group("reason")
    assert 'aria-invalid="true"' in field.group(0) and 'aria-describedby="fichier-courrier-0-error"' in field.group(0)
    # The other pieces' fields are not marked.
    assert text.count('aria-invalid="true"') == 1
