"""The Département's templates (issue 18): deposited from the admin page, checked, previewed, put in force, rolled back."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import zipfile
from pathlib import Path
from typing import Any

import docx
import pytest
from flask import Flask
from PIL import Image
from sqlalchemy import select, update

from schemas import DOCX_DIR, HTML_DIR, get_kind
from tests.conftest import WebClient
from tests.test_cli import run
from tests.test_web import docx_text, example_form, pdf_text, submitted
from tests.workers import run_jobs
from webforms import db
from webforms.modeles import services as svc_modeles
from webforms.modeles.services import InForceTemplates
from webforms.models import Document, ModeleEnVigueur, ModeleMouvement, ModeleVersion, Rendition, Travail, User
from webforms.rendering import Renderer
from webforms.rendering.checks import example_context
from webforms.rendering.diagnose import TemplateFailure
from webforms.rendering.versions import TemplateVersion

WORD = "fiche_incident.docx"
HTML = "fiche_incident.html"
MARK = "Version départementale"


def word_template(*paragraphs: str, base: Path = DOCX_DIR / WORD, picture: bool = False) -> bytes:
    """The shipped fiche d'incident's Word template with ``paragraphs`` added at its end."""
    document = docx.Document(str(base))
    for text in paragraphs:
        document.add_paragraph(text)
    if picture:
        png = io.BytesIO()
        Image.new("RGB", (4, 4), "navy").save(png, "PNG")
        document.add_paragraph("Logo du Département : ").add_run().add_picture(io.BytesIO(png.getvalue()))
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def rewritten(data: bytes, change: Any) -> bytes:
    """``data`` (a zip) with each entry passed through ``change(name, bytes)`` (None drops it), plus its extra entries."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():
            content = change(name, src.read(name))
            if content is not None:
                dst.writestr(name, content)
        for name, content in getattr(change, "extra", {}).items():
            dst.writestr(name, content)
    return out.getvalue()


def macro_enabled(data: bytes) -> bytes:
    def change(name: str, content: bytes) -> bytes:
        if name == "[Content_Types].xml":
            return content.replace(b"document.main+xml", b"document.macroEnabled.main+xml")
        return content

    change.extra = {"word/vbaProject.bin": b"\xd0\xcf\x11\xe0macro"}  # type: ignore[attr-defined]
    return rewritten(data, change)


def outside_image(data: bytes) -> bytes:
    """The picture of ``data`` linked to an address instead of embedded (an external relationship)."""

    def change(name: str, content: bytes) -> bytes | None:
        if name == "word/_rels/document.xml.rels":
            return re.sub(rb'Target="media/image1\.png"', b'Target="http://serveur.exemple.fr/logo.png" TargetMode="External"', content)
        if name == "word/document.xml":
            return content.replace(b"r:embed=", b"r:link=")
        return None if name.startswith("word/media/") else content

    return rewritten(data, change)


def admin(login_as: Any) -> WebClient:
    web, _ = login_as("admin", "Département du Pas-de-Calais")
    return web


def deposit(web: WebClient, data: bytes, template: str = WORD, name: str | None = None) -> Any:
    return web.post(f"/admin/modeles/{template}", {"fichier": (io.BytesIO(data), name or template)}, content_type="multipart/form-data")


def page(response: Any) -> str:
    return response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"').replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def versions(app: Flask, template: str = WORD) -> list[tuple[int, str | None]]:
    with app.app_context():
        return [(v.number, v.previewed_at and "vu") for v in db.session().scalars(select(ModeleVersion).where(ModeleVersion.template == template).order_by(ModeleVersion.number))]


def moves(app: Flask) -> list[tuple[str, int]]:
    with app.app_context():
        return [(m.action, m.number) for m in db.session().scalars(select(ModeleMouvement).order_by(ModeleMouvement.id))]


def in_force(app: Flask, template: str = WORD) -> TemplateVersion | None:
    with app.app_context():
        return app.extensions["webforms.services"].renderer.in_force(template)


def put_in_force(web: WebClient, number: int, template: str = WORD) -> Any:
    return web.post(f"/admin/modeles/{template}/versions/{number}/vigueur", {})


def test_the_list_comes_from_the_kinds_declarations(app: Flask, login_as: Any) -> None:
    listing = page(admin(login_as).get("/admin/modeles"))
    for kind in ("fiche_incident", "candidature_aml", "contrat_tripartite"):
        for output in get_kind(kind).outputs():
            assert output.template in listing
    assert "candidature_courrier.docx" in listing  # an annex's letter, declared by its kind


def test_a_good_word_template_goes_into_force_after_its_preview_and_prints_new_documents(app: Flask, login_as: Any) -> None:
    web = admin(login_as)
    response = deposit(web, word_template(f"{MARK} : {{{{ document.titre }}}}"))
    assert response.status_code == 302, page(response)
    assert versions(app) == [(1, None)] and in_force(app) is None

    # Not in force before its preview was seen: refused, nothing changes.
    refused = put_in_force(web, 1)
    assert refused.status_code == 422 and "Ouvrez l'aperçu" in page(refused)
    assert in_force(app) is None and moves(app) == [("depot", 1)]

    preview = web.get(f"/admin/modeles/{WORD}/versions/1/apercu")
    assert preview.status_code == 200 and preview.mimetype.endswith("wordprocessingml.document")
    assert f"{MARK} : {get_kind('fiche_incident').title}" in docx_text(preview.data)
    assert put_in_force(web, 1).status_code == 302
    version = in_force(app)
    assert version is not None and version.number == 1
    assert moves(app) == [("depot", 1), ("apercu", 1), ("mise_en_vigueur", 1)]

    writer, _ = login_as("redacteur")
    doc_id = submitted(writer, "fiche_incident")
    with app.app_context():
        rendition = db.session().scalars(select(Rendition).where(Rendition.document_id == doc_id, Rendition.format == "docx")).one()
        assert (rendition.template_version, rendition.template_sha256) == (1, version.sha256)
        pdf = db.session().scalars(select(Rendition).where(Rendition.document_id == doc_id, Rendition.format == "pdf")).one()
        assert pdf.template_version is None  # the HTML template was not replaced
    assert MARK in docx_text(writer.get(f"/documents/{doc_id}/telecharger/docx").data)
    assert "modèle fiche_incident.docx, version 1" in page(writer.get(f"/documents/{doc_id}"))


def _refused(app: Flask, web: WebClient, data: bytes, *expected: str, template: str = WORD) -> None:
    files = sorted(p.name for p in Path(app.config["STORAGE_DIR"]).rglob("*") if p.is_file()) if Path(app.config["STORAGE_DIR"]).exists() else []
    response = deposit(web, data, template)
    assert response.status_code == 422
    text = page(response)
    for piece in expected:
        assert piece in text, (piece, text[text.find("error-summary") :][:1500])
    assert versions(app, template) == [] and moves(app) == [] and in_force(app, template) is None
    stored = Path(app.config["STORAGE_DIR"])
    assert (sorted(p.name for p in stored.rglob("*") if p.is_file()) if stored.exists() else []) == files


def test_an_unknown_variable_is_refused_with_its_paragraph(app: Flask, login_as: Any) -> None:
    _refused(app, admin(login_as), word_template("Ménage : {{ menage_inconnu.nom }}"), "la variable « menage_inconnu » n'existe pas", "« Ménage : {{ menage_inconnu.nom }} »", "paragraphe")


def test_an_unclosed_if_is_refused_with_the_paragraph_that_opens_it(app: Flask, login_as: Any) -> None:
    _refused(app, admin(login_as), word_template("Avant", "{% if document.brouillon %}Brouillon", "Après"), "« {% if document.brouillon %} » n'est jamais fermé : il manque {% endif %}", "« {% if document.brouillon %}Brouillon »")


def test_a_misspelt_nested_name_in_a_table_cell_is_refused_with_its_cell(app: Flask, login_as: Any) -> None:
    document = docx.Document(str(DOCX_DIR / WORD))
    document.add_table(rows=1, cols=2).cell(0, 1).text = "{{ document.titre_inconnu }}"
    out = io.BytesIO()
    document.save(out)
    _refused(app, admin(login_as), out.getvalue(), "« titre_inconnu »", "cellule de tableau", "ligne 1, colonne 2")


def test_a_macro_enabled_word_file_is_refused(app: Flask, login_as: Any) -> None:
    _refused(app, admin(login_as), macro_enabled(word_template()), "macros")


def test_an_image_linked_outside_the_file_is_refused_with_its_paragraph(app: Flask, login_as: Any) -> None:
    data = outside_image(word_template(picture=True))
    _refused(app, admin(login_as), data, "une image liée à l'extérieur du fichier « http://serveur.exemple.fr/logo.png »", "« Logo du Département : »")


def test_an_html_template_with_an_outside_resource_or_a_syntax_error_is_refused(app: Flask, login_as: Any) -> None:
    web = admin(login_as)
    base = '{% extends "_base.html" %}\n{% block contenu %}\n'
    _refused(app, web, f'{base}<img src="https://traceur.exemple.fr/p.gif">\n{{% endblock %}}'.encode(), "ressource extérieure « https://traceur.exemple.fr/p.gif »", "ligne 3", template=HTML)
    _refused(app, web, f"{base}{{% for e in menage.enfants %}}\n{{% endblock %}}".encode(), "n'est jamais fermé : il manque {% endfor %}", "ligne 3", template=HTML)


def _checked_in_the_queue(app: Flask, web: WebClient, data: bytes, number: int, *expected: str) -> None:
    """Deposited at once (no PDF printed in the request), then refused by the worker's check, in French, and never put in force."""
    before = versions(app, HTML)
    pending = WebClient(web.client, work=False)
    pending.token = web.token
    response = deposit(pending, data, HTML, "fiche.html")
    assert response.status_code == 302, page(response)
    assert "en vérification" in page(web.client.get(f"/admin/modeles/{HTML}")) and "data-progress-url" in page(web.client.get(f"/admin/modeles/{HTML}"))
    assert web.get(f"/admin/modeles/{HTML}/versions/{number}/apercu").status_code == 200  # opened: only the check holds it back
    waiting = put_in_force(pending, number, HTML)
    assert waiting.status_code == 422 and "vérification de cette version est en cours" in page(waiting)
    run_jobs(app)
    text = page(web.get(f"/admin/modeles/{HTML}"))
    assert "refusée à la vérification" in text and "data-progress-url" not in text
    for piece in expected:
        assert piece in text, (piece, text[text.find("error-summary") :][:1500])
    refused = put_in_force(web, number, HTML)
    assert refused.status_code == 422 and "n'a pas passé sa vérification" in page(refused)
    assert versions(app, HTML) == [*before, (number, "vu")] and in_force(app, HTML) is None


def test_an_html_template_without_the_mark_on_every_page_is_refused(app: Flask, login_as: Any) -> None:
    """Issue 15: the mark (reference, version, digest, QR code) is the archive's only way to tell a signed copy's document.

    Issue 11, point 4: the check prints a PDF (seconds), so a worker does it after the deposit.
    """
    web = admin(login_as)
    missing = "la marque du document (référence, version et empreinte, en texte et en QR code) manque"
    # Not extending _base.html: no mark at all.
    _checked_in_the_queue(app, web, b"<html><body><h1>{{ document.titre }}</h1></body></html>", 1, missing, "page 1 sur 1", "étendre « _base.html »")
    # Extending it, but hiding the mark.
    hidden = '{% extends "_base.html" %}{% block contenu %}<style>.marque { display: none }</style><h1>{{ document.titre }}</h1>{% endblock %}'
    _checked_in_the_queue(app, web, hidden.encode(), 2, missing)
    # Printed once instead of on each page: the second page is named.
    once = '{% extends "_base.html" %}{% block contenu %}<style>.marque { position: static }</style>' \
        '<h1>{{ document.titre }}</h1><p style="break-before: page">Suite</p>{% endblock %}'
    _checked_in_the_queue(app, web, once.encode(), 3, missing, "page 2 sur 2")
    # The other side: extending _base.html and leaving the mark alone passes the check and goes into force.
    kept = '{% extends "_base.html" %}{% block contenu %}<h1>{{ document.titre }}</h1><p style="break-before: page">Suite</p>{% endblock %}'
    assert deposit(web, kept.encode(), HTML, "fiche.html").status_code == 302
    assert web.get(f"/admin/modeles/{HTML}/versions/4/apercu").status_code == 200
    assert "refusée à la vérification" in page(web.get(f"/admin/modeles/{HTML}"))  # the earlier ones still say it
    assert put_in_force(web, 4, HTML).status_code == 302
    version = in_force(app, HTML)
    assert version is not None and version.number == 4


def test_a_template_deposit_and_its_putting_in_force_print_no_pdf(app: Flask, login_as: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 11, point 4: no request waits on a render; the mark's check prints in the worker only."""
    web = admin(login_as)
    pending = WebClient(web.client, work=False)
    pending.token = web.token
    printed: list[str] = []
    real = Renderer.render

    def counted(self: Renderer, output: Any, ctx: Any) -> bytes:
        printed.append(output.fmt)
        return real(self, output, ctx)

    monkeypatch.setattr(Renderer, "render", counted)
    source = '{% extends "_base.html" %}{% block contenu %}<h1>{{ document.titre }}</h1>{% endblock %}'
    assert deposit(pending, source.encode(), HTML, "fiche.html").status_code == 302
    assert "pdf" not in printed
    run_jobs(app)
    assert "pdf" in printed  # the worker printed it
    assert web.get(f"/admin/modeles/{HTML}/versions/1/apercu").status_code == 200
    printed.clear()
    assert put_in_force(pending, 1, HTML).status_code == 302
    assert printed == []


@pytest.mark.parametrize(
    ("template", "name", "data", "message"),
    [
        (WORD, "vide.docx", b"", "Le fichier est vide."),
        (WORD, "faux.docx", b"<html>pas un document Word</html>", "vrai document Word"),
        (WORD, "modele.pdf", b"%PDF-1.7", "Word"),
        (HTML, "modele.txt", b"<p>x</p>", "fichier HTML"),
        (HTML, "latin1.html", "<p>Modèle</p>".encode("latin-1"), "UTF-8"),
        (HTML, "parent.html", b'{% extends "../../etc/passwd" %}', "« fiche_incident.html »"),
        (WORD, "entete.docx", None, "Ce document Word est endommagé"),
        (WORD, "image-absente.docx", "absente", "n'a pas pu être lu comme un modèle"),
    ],
)
def test_any_other_file_is_refused_in_french_and_changes_nothing(app: Flask, login_as: Any, template: str, name: str, data: Any, message: str) -> None:
    if data == "absente":  # a DOCX that passes the upload checks, but points to an image it does not hold
        missing = b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/image" Target="media/absente.png"/>'
        data = rewritten(word_template(), lambda n, c: c.replace(b"</Relationships>", missing + b"</Relationships>") if n == "word/_rels/document.xml.rels" else c)
    if data is None:  # a real DOCX whose header part is not XML
        data = rewritten(word_template(), lambda n, c: b"<w:hdr><" if n.startswith("word/header") else c)
        assert b"<w:hdr><" in zipfile.ZipFile(io.BytesIO(data)).read(next(n for n in zipfile.ZipFile(io.BytesIO(data)).namelist() if n.startswith("word/header")))
    web = admin(login_as)
    files = sorted(p.name for p in Path(app.config["STORAGE_DIR"]).rglob("*") if p.is_file()) if Path(app.config["STORAGE_DIR"]).exists() else []
    response = deposit(web, data, template, name)
    assert response.status_code == 422 and message in page(response), page(response)[:3000]
    assert versions(app, template) == [] and moves(app) == []
    assert (sorted(p.name for p in Path(app.config["STORAGE_DIR"]).rglob("*") if p.is_file()) if Path(app.config["STORAGE_DIR"]).exists() else []) == files


def test_unknown_templates_and_versions_are_pages_not_found(app: Flask, login_as: Any) -> None:
    web = admin(login_as)
    for url in ("/admin/modeles/inconnu.docx", f"/admin/modeles/{WORD}/versions/3", f"/admin/modeles/{WORD}/versions/3/apercu", f"/admin/modeles/{WORD}/versions/0/apercu"):
        assert web.get(url).status_code == 404, url
    assert put_in_force(web, 1, "inconnu.docx").status_code == 404
    assert web.post("/admin/modeles/inconnu.docx", {}).status_code == 404
    empty = web.post(f"/admin/modeles/{WORD}", {})
    assert empty.status_code == 422 and "Choisissez le fichier" in page(empty)


def test_an_html_template_is_previewed_as_a_pdf_that_reads_back(app: Flask, login_as: Any) -> None:
    web = admin(login_as)
    source = '{% extends "_base.html" %}\n{% block contenu %}<h1>' + MARK + " {{ document.titre }}</h1>{% endblock %}"
    assert deposit(web, source.encode(), HTML, "fiche.html").status_code == 302
    preview = web.get(f"/admin/modeles/{HTML}/versions/1/apercu")
    assert preview.mimetype == "application/pdf" and f"{MARK} {get_kind('fiche_incident').title}" in pdf_text(preview.data)
    assert put_in_force(web, 1, HTML).status_code == 302
    writer, _ = login_as("redacteur")
    doc_id = submitted(writer, "fiche_incident")
    assert MARK in pdf_text(writer.get(f"/documents/{doc_id}/telecharger/pdf").data)


def test_a_word_template_is_previewed_as_a_pdf_made_by_a_worker_that_reads_back(app: Flask, login_as: Any) -> None:
    web = admin(login_as)
    assert deposit(web, word_template(f"{MARK} : {{{{ document.titre }}}}")).status_code == 302
    asked = web.post(f"/admin/modeles/{WORD}/versions/1/apercu-pdf", {})
    assert asked.status_code == 302 and "/apercus/" in asked.location
    ready = page(web.get(asked.location))
    assert "L'aperçu est prêt" in ready
    pdf = web.get(asked.location + "/pdf")
    assert pdf.mimetype == "application/pdf" and pdf.headers["Content-Disposition"].endswith("apercu-fiche_incident-v1.pdf")
    assert f"{MARK} : {get_kind('fiche_incident').title}" in " ".join(pdf_text(pdf.data).split())
    # Opening the PDF is opening the preview: logged once, and the version may go into force.
    assert versions(app) == [(1, "vu")] and moves(app) == [("depot", 1), ("apercu", 1)]
    assert put_in_force(web, 1).status_code == 302


def test_a_pdf_preview_not_yet_made_shows_its_progress_and_allows_nothing(app: Flask, login_as: Any) -> None:
    web = admin(login_as)
    assert deposit(web, word_template(MARK)).status_code == 302
    pending = WebClient(web.client, work=False)
    pending.token = web.token
    asked = pending.post(f"/admin/modeles/{WORD}/versions/1/apercu-pdf", {})
    waiting = page(web.get(asked.location))
    assert "data-progress-url" in waiting and "Télécharger l'aperçu" not in waiting
    # The file's address before the work is done leads back to the progress page; nothing is recorded.
    early = web.get(asked.location + "/pdf")
    assert early.status_code == 302 and early.location.endswith(asked.location.rsplit("/", 1)[-1])
    assert versions(app) == [(1, None)] and put_in_force(web, 1).status_code == 422


def test_a_pdf_preview_libreoffice_cannot_make_is_said_in_french(app: Flask, login_as: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    web = admin(login_as)
    assert deposit(web, word_template(MARK)).status_code == 302
    monkeypatch.setattr("webforms.rendering.office.soffice", lambda: None)
    asked = web.post(f"/admin/modeles/{WORD}/versions/1/apercu-pdf", {})
    failed = page(web.get(asked.location))
    assert "n'a pas pu être préparé" in failed and "LibreOffice n'a pas pu convertir" in failed
    assert web.get(asked.location + "/pdf").status_code == 302 and versions(app) == [(1, None)]


def test_a_pdf_preview_is_refused_for_an_html_template_and_unknown_ones_are_not_found(app: Flask, login_as: Any) -> None:
    web = admin(login_as)
    source = '{% extends "_base.html" %}\n{% block contenu %}<h1>{{ document.titre }}</h1>{% endblock %}'
    assert deposit(web, source.encode(), HTML, "fiche.html").status_code == 302
    refused = web.post(f"/admin/modeles/{HTML}/versions/1/apercu-pdf", {})
    assert refused.status_code == 422 and "s'imprime déjà en PDF" in page(refused)
    assert web.post(f"/admin/modeles/{WORD}/versions/1/apercu-pdf", {}).status_code == 404
    assert deposit(web, word_template(MARK)).status_code == 302
    asked = web.post(f"/admin/modeles/{WORD}/versions/1/apercu-pdf", {})
    number = asked.location.rsplit("/", 1)[-1]
    # A work of another template, or no work at all: not found.
    for url in (f"/admin/modeles/{HTML}/apercus/{number}", f"/admin/modeles/{HTML}/apercus/{number}/pdf", f"/admin/modeles/{WORD}/apercus/99999"):
        assert web.get(url).status_code == 404, url
    with app.app_context():
        assert db.session().scalars(select(Travail.nature).where(Travail.nature != svc_modeles.CHECK_NATURE)).all() == ["apercu_modele"]


def _in_force(web: WebClient, data: bytes) -> int:
    response = deposit(web, data)
    assert response.status_code == 302, page(response)
    number = int(re.search(r"Version (\d+) vérifiée", page(web.get(response.location))).group(1))  # type: ignore[union-attr]
    web.get(f"/admin/modeles/{WORD}/versions/{number}/apercu")
    assert put_in_force(web, number).status_code == 302
    return number


def test_rollback_to_an_earlier_version_and_to_the_shipped_template(app: Flask, login_as: Any) -> None:
    web = admin(login_as)
    _in_force(web, word_template("Première"))
    _in_force(web, word_template("Deuxième"))
    assert in_force(app).number == 2  # type: ignore[union-attr]
    assert put_in_force(web, 1).status_code == 302 and in_force(app).number == 1  # type: ignore[union-attr]
    again = put_in_force(web, 1)
    assert again.status_code == 422 and "déjà en vigueur" in page(again)
    assert put_in_force(web, 0).status_code == 302 and in_force(app) is None
    assert put_in_force(web, 9).status_code == 404
    assert [m for m in moves(app) if m[0] in ("mise_en_vigueur", "retour")] == [("mise_en_vigueur", 1), ("mise_en_vigueur", 2), ("retour", 1), ("retour", 0)]
    # Every version and the shipped template stay downloadable, byte for byte.
    assert web.get(f"/admin/modeles/{WORD}/versions/0").data == (DOCX_DIR / WORD).read_bytes()
    with app.app_context():
        second = db.session().scalars(select(ModeleVersion).where(ModeleVersion.number == 2)).one()
    assert hashlib.sha256(web.get(f"/admin/modeles/{WORD}/versions/2").data).hexdigest() == second.sha256


def test_a_frozen_document_is_unchanged_by_a_later_template(app: Flask, login_as: Any) -> None:
    writer, _ = login_as("redacteur")
    doc_id = submitted(writer, "fiche_incident")
    before = {fmt: writer.get(f"/documents/{doc_id}/telecharger/{fmt}").data for fmt in ("docx", "pdf")}
    _in_force(admin(login_as), word_template(MARK))
    after = {fmt: writer.get(f"/documents/{doc_id}/telecharger/{fmt}").data for fmt in ("docx", "pdf")}
    assert after == before and MARK not in docx_text(after["docx"])
    assert MARK in docx_text(writer.get(f"/documents/{submitted(writer, 'fiche_incident')}/telecharger/docx").data)


# Filled with the example (its organisation is "Organisation exemple"), empty otherwise: the
# deposit's check passes (every name exists); a real document's data reach a row it lacks.
TRAP = "{% if document.organisation == 'Organisation exemple' %}ok{% else %}Piège : {{ document.destinataires[9] }}{% endif %}"
TRAP_SAID = "Modèle « fiche_incident.docx » : l'élément [9] d'une liste manque dans les données de ce document"


def test_a_template_that_fails_on_a_document_s_data_keeps_it_a_draft_with_a_french_message(app: Flask, login_as: Any) -> None:
    _in_force(admin(login_as), word_template(TRAP))
    writer, _ = login_as("redacteur")
    response = writer.post("/documents/nouveau/fiche_incident", {**example_form("fiche_incident"), "action": "submit"})
    message = page(writer.get(response.location))
    assert TRAP_SAID in message and "Piège" in message
    with app.app_context():
        doc = db.session().scalars(select(Document)).one()
        assert doc.statut == "brouillon" and doc.reference is None and doc.versions == 0


def test_a_template_failing_in_the_worker_ends_its_work_in_french(app: Flask, login_as: Any) -> None:
    writer, _ = login_as("redacteur")
    administrator = admin(login_as)
    writer.work = administrator.work = False  # the worker runs only once the template is in force
    doc_id = submitted(writer, "fiche_incident")  # asked with the shipped template, which fills
    _in_force(administrator, word_template(TRAP))
    run_jobs(app)
    with app.app_context():
        work = db.session().scalars(select(Travail).where(Travail.document_id == doc_id, Travail.nature == "rendu")).one()
        # Ended at its first run, in the service's French words: the same failure at every run.
        assert (work.statut, work.essais) == ("echec", 1) and "Traceback" not in (work.erreur or "")
        assert (work.erreur or "").startswith(TRAP_SAID)


def test_the_renderer_says_a_template_error_in_french(tmp_path: Path) -> None:
    kind = get_kind("fiche_incident")
    bad = word_template("Référent : {{ mesure.referent_nomm }}")
    version = TemplateVersion(WORD, 3, hashlib.sha256(bad).hexdigest(), bad)
    with pytest.raises(TemplateFailure) as caught:
        Renderer().trying(version).render(kind.output("docx"), example_context(kind))
    assert caught.value.variable == "referent_nomm" and "« Référent : {{ mesure.referent_nomm }} »" in str(caught.value)


def test_check_templates_checks_a_candidate_file_and_render_says_a_template_error(tmp_path: Path) -> None:
    good, bad = tmp_path / "bon.docx", tmp_path / WORD
    good.write_bytes(word_template(f"{MARK} {{{{ document.titre }}}}"))
    bad.write_bytes(word_template("{% if document.brouillon %}"))
    ok = run("check-templates", "--template", str(good), "--kind", "fiche_incident", cwd=tmp_path)
    assert ok.returncode == 0 and "Modèle conforme" in ok.stdout, ok.stdout + ok.stderr
    refused = run("check-templates", "--template", str(bad), "--kind", "fiche_incident", cwd=tmp_path)
    assert refused.returncode == 1 and "n'est jamais fermé : il manque {% endif %}" in refused.stdout, refused.stdout + refused.stderr

    override = tmp_path / "instance" / "templates_docx"
    override.mkdir(parents=True)
    (override / WORD).write_bytes(word_template("Référent : {{ mesure.referent_nomm }}"))
    (tmp_path / "data.json").write_text(run("example", "fiche_incident").stdout)
    result = run("render", "fiche_incident", str(tmp_path / "data.json"), "--format", "docx", "--output", str(tmp_path / "out.docx"), cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "Modèle « fiche_incident.docx »" in result.stderr and "referent_nomm" in result.stderr and not (tmp_path / "out.docx").exists()


@pytest.mark.parametrize("ttl", [0.0, 3600.0])
def test_a_version_put_in_force_elsewhere_is_seen_once_the_kept_map_expires(app: Flask, login_as: Any, ttl: float) -> None:
    _in_force(admin(login_as), word_template("Première"))
    services = app.extensions["webforms.services"]
    other_host = InForceTemplates(app.extensions["webforms.sessions"], services.store, ttl=ttl)
    assert other_host(WORD).number == 1  # type: ignore[union-attr]
    with app.app_context():  # another host goes back to the shipped template
        db.session().execute(update(ModeleEnVigueur).values(version_id=None))
        db.session().commit()
    assert (other_host(WORD) is None) == (ttl == 0.0)  # kept for ttl seconds, read again after
    other_host.forget()
    assert other_host(WORD) is None


def test_a_damaged_template_placed_by_hand_is_said_in_french_not_a_traceback(tmp_path: Path, app: Flask, login_as: Any) -> None:
    """A file that is not a Word document in the override folder: French refusals on the command line and on the web, no 500."""
    (tmp_path / "data.json").write_text(run("example", "fiche_incident").stdout)
    override = tmp_path / "instance" / "templates_docx"
    override.mkdir(parents=True)
    (override / WORD).write_bytes(b"ceci n'est pas un document Word")
    result = run("render", "fiche_incident", str(tmp_path / "data.json"), "--format", "docx", "--output", str(tmp_path / "out.docx"), cwd=tmp_path)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "Modèle « fiche_incident.docx » : le fichier n'est pas un document Word (.docx) lisible" in result.stderr

    Path(app.config["DOCX_OVERRIDE_DIR"]).mkdir(parents=True, exist_ok=True)
    (Path(app.config["DOCX_OVERRIDE_DIR"]) / WORD).write_bytes(b"ceci n'est pas un document Word")
    writer, _ = login_as("redacteur")
    response = writer.post("/documents/nouveau/fiche_incident", {**example_form("fiche_incident"), "action": "submit"})
    assert response.status_code in (302, 303)
    assert "le fichier n&#39;est pas un document Word (.docx) lisible" in writer.get(response.location).get_data(as_text=True)
    with app.app_context():
        assert db.session().scalars(select(Document)).one().statut == "brouillon"


def test_a_non_utf8_html_template_placed_by_hand_is_said_in_french(tmp_path: Path) -> None:
    kind = get_kind("fiche_incident")
    (tmp_path / kind.output("pdf").template).write_bytes("<p>modèle en Latin-1</p>".encode("latin-1"))
    with pytest.raises(TemplateFailure, match="n'est pas un texte HTML en UTF-8 lisible"):
        Renderer(html_dirs=[tmp_path, HTML_DIR]).html(kind.output("pdf"), example_context(kind))


def test_one_render_prints_and_records_the_version_it_first_found_though_another_goes_into_force_meanwhile(app: Flask, login_as: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Version 2 is put in force just after the worker looked up version 1: the file, its digest and its number all say 1."""
    web = admin(login_as)
    _in_force(web, word_template("Première"))
    assert deposit(web, word_template("Deuxième")).status_code == 302
    web.get(f"/admin/modeles/{WORD}/versions/2/apercu")
    writer, _ = login_as("redacteur")
    writer.work = False
    doc_id = submitted(writer, "fiche_incident")
    services = app.extensions["webforms.services"]
    real = services.renderer.in_force
    switched: list[int] = []

    def in_force_then_another(name: str) -> TemplateVersion | None:
        found = real(name)
        if name == WORD and not switched:  # another administrator's move, between two lookups
            switched.append(found.number)
            with app.extensions["webforms.sessions"]() as session:
                someone = session.scalars(select(User).where(User.role == "admin")).first()
                svc_modeles.put_in_force(session, services, WORD, 2, user=someone)
            real.forget()
        return found

    monkeypatch.setattr(services.renderer, "in_force", in_force_then_another)
    run_jobs(app)
    assert switched == [1] and in_force(app).number == 2  # type: ignore[union-attr]
    with app.app_context():
        rendition = db.session().scalars(select(Rendition).where(Rendition.document_id == doc_id, Rendition.format == "docx")).one()
        first = db.session().scalars(select(ModeleVersion).where(ModeleVersion.template == WORD, ModeleVersion.number == 1)).one()
        assert (rendition.template_version, rendition.template_sha256) == (1, first.sha256)
    text = docx_text(writer.get(f"/documents/{doc_id}/telecharger/docx").data)
    assert "Première" in text and "Deuxième" not in text


def test_the_history_page_shows_who_deposited_each_version_when_in_paris_time_and_its_sha256(app: Flask, login_as: Any, clock: Any) -> None:
    """Read back from the page: each version's depositor, its date in Paris time and French words, and its SHA-256; the journal likewise."""
    first, second = admin(login_as), login_as("admin", "Département du Pas-de-Calais")[0]
    clock.now = dt.datetime(2025, 12, 31, 23, 30, tzinfo=dt.UTC)  # already New Year's Day in Paris (UTC+1)
    assert deposit(first, word_template("Première"), name="hiver.docx").status_code == 302
    clock.now = dt.datetime(2026, 7, 14, 8, 5, tzinfo=dt.UTC)  # summer time: UTC+2
    assert deposit(second, word_template("Deuxième"), name="ete.docx").status_code == 302
    second.get(f"/admin/modeles/{WORD}/versions/2/apercu")
    assert put_in_force(second, 2).status_code == 302
    html = page(second.get(f"/admin/modeles/{WORD}"))
    rows = re.findall(r"<tr>\s*<td>(\d+)[^<]*(?:<strong>[^<]*</strong>)?</td>\s*<td>([^<]*)</td>\s*<td class=\"digest\"><code>([0-9a-f]{64})</code>", html)
    with app.app_context():
        digests = {v.number: v.sha256 for v in db.session().scalars(select(ModeleVersion))}
    assert digests[1] != digests[2]
    assert rows == [
        ("2", "le 14 juillet 2026 à 10:05 par Admin 2 (ete.docx)", digests[2]),
        ("1", "le 1er janvier 2026 à 00:30 par Admin 1 (hiver.docx)", digests[1]),
    ]
    assert hashlib.sha256(second.get(f"/admin/modeles/{WORD}/versions/1").data).hexdigest() == digests[1]
    journal = re.findall(r"<li>([^<]*par Admin \d)</li>", html)
    assert journal == [
        "14 juillet 2026 à 10:05 – Mise en vigueur : version 2, par Admin 2",
        "14 juillet 2026 à 10:05 – Aperçu de l'exemple : version 2, par Admin 2",
        "14 juillet 2026 à 10:05 – Dépôt d'une version vérifiée : version 2, par Admin 2",
        "1er janvier 2026 à 00:30 – Dépôt d'une version vérifiée : version 1, par Admin 1",
    ]
