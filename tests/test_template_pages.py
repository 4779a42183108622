"""The complete dossier's cover and the jury's procès-verbal are replaced like a kind's template (issue 18, audit point 4)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from schemas import HTML_DIR
from tests.conftest import Clock
from tests.test_candidatures import BEFORE_DEADLINE, fill_complete, open_dossier, submit_complete
from tests.test_cli import run
from tests.test_jury_work import jury, scores  # noqa: F401 (the fixture of a call with a jury and two dossiers)
from tests.test_modeles import admin, deposit, moves, page, put_in_force, versions
from tests.test_web import pdf_text
from webforms import db
from webforms.candidatures import exports
from webforms.models import Appel, Document, Rendition
from webforms.rendering.names import LEAF, Fields, Rows, Shape, shape_of_value
from webforms.rendering.pages import COVER, PAGES, PROCES_VERBAL

MARK = "Gabarit départemental"
COUVERTURE, PV = COVER.template, PROCES_VERBAL.template


def shipped(template: str) -> str:
    return (HTML_DIR / template).read_text()


def with_mark(template: str, after: str, added: str) -> bytes:
    source = shipped(template)
    assert after in source
    return source.replace(after, after + added, 1).encode()


def _previewed_in_force(app: Flask, web: Any, template: str, data: bytes) -> str:
    """Deposit ``data``, open its preview (a PDF), put it in force; return the preview's text."""
    response = deposit(web, data, template, "modele.html")
    assert response.status_code == 302, page(response)
    number = versions(app, template)[-1][0]
    preview = web.get(f"/admin/modeles/{template}/versions/{number}/apercu")
    assert preview.status_code == 200 and preview.mimetype == "application/pdf"
    assert put_in_force(web, number, template).status_code == 302
    return " ".join(pdf_text(preview.data).split())


def test_both_pages_are_listed_with_the_kinds_templates(app: Flask, login_as: Any) -> None:
    listing = page(admin(login_as).get("/admin/modeles"))
    assert f">{COUVERTURE}<" in listing and "Couverture et sommaire du dossier complet" in listing
    assert f">{PV}<" in listing and "Procès-verbal du jury de sélection" in listing
    shipped_file = admin(login_as).get(f"/admin/modeles/{COUVERTURE}/versions/0")
    assert shipped_file.data.decode() == shipped(COUVERTURE)


def test_a_new_cover_is_previewed_put_in_force_printed_on_the_next_dossier_recorded_and_rolled_back(app: Flask, login_as: Any, clock: Clock) -> None:
    web = admin(login_as)
    data = with_mark(COUVERTURE, "<h1>Dossier de candidature complet</h1>", f"\n<p>{MARK} – {{{{ dossier.appel }}}}</p>")
    preview = _previewed_in_force(app, web, COUVERTURE, data)
    assert f"{MARK} – {PAGES[COUVERTURE].example['dossier']['appel']}" in preview  # the page's own example
    clock.now = BEFORE_DEADLINE
    writer, _ = login_as("redacteur")
    doc_id = open_dossier(app, writer)
    submit_complete(app, writer, doc_id)
    with app.app_context():
        rendition = db.session().scalars(select(Rendition).where(Rendition.document_id == doc_id, Rendition.output == "dossier", Rendition.format == "pdf")).one()
        title = db.session().scalars(select(Appel)).one().data["titre"]
        assert rendition.template_version == 1
        stored = app.extensions["webforms.services"].store.read(rendition.sha256)
    assert f"{MARK} – {title}" in " ".join(PdfReader(io.BytesIO(stored)).pages[0].extract_text().split())
    assert put_in_force(web, 0, COUVERTURE).status_code == 302
    assert moves(app) == [("depot", 1), ("apercu", 1), ("mise_en_vigueur", 1), ("retour", 0)]


def test_a_misspelt_name_on_a_page_is_refused_with_its_line_even_in_a_branch_the_example_never_takes(app: Flask, login_as: Any) -> None:
    web = admin(login_as)
    bad = with_mark(COUVERTURE, "{% for ligne in sommaire %}", "{% if ligne.page > 999 %}{{ ligne.fichierr }}{% endif %}")
    response = deposit(web, bad, COUVERTURE, "couverture.html")
    text = page(response)
    assert response.status_code == 422 and "« fichierr » n'existe pas dans « ligne » (« ligne.fichierr ») pour la page « Couverture et sommaire du dossier complet »" in text, text[-3000:]
    line = next(n for n, text_line in enumerate(bad.decode().splitlines(), 1) if "ligne.fichierr" in text_line)
    assert f"ligne {line} : « {{% for ligne in sommaire %}}{{% if ligne.page > 999 %}}" in text and versions(app, COUVERTURE) == []
    pv = with_mark(PV, "<h2>Membres du jury</h2>", "{% if jury.president %}{{ jury.president.organism }}{% endif %}")
    refused = deposit(web, pv, PV, "pv.html")
    assert refused.status_code == 422 and "« organism » n'existe pas dans « jury.president »" in page(refused) and versions(app, PV) == []


def test_a_new_proces_verbal_is_printed_by_the_jury_s_export(app: Flask, login_as: Any) -> None:
    web = admin(login_as)
    data = with_mark(PV, "<h2>Membres du jury</h2>", f"\n<p>{MARK} {{{{ appel.code }}}}{{% for a in allocation %}}{{% if a.reste > 999 %}}{{{{ a.montant }}}}{{% endif %}}{{% endfor %}}</p>")
    assert f"{MARK} AML-2019" in _previewed_in_force(app, web, PV, data)
    with app.app_context():
        appel = db.session().scalars(select(Appel)).one()
        pdf = exports.proces_verbal_pdf(db.session(), app.extensions["webforms.services"], appel)
        assert f"{MARK} {appel.code}" in " ".join(pdf_text(pdf).split())


def _undeclared(real: Shape, declared: Shape, path: str = "") -> list[str]:
    """Return the paths of ``real`` that ``declared`` lacks (a plain value matches anything)."""
    if isinstance(real, Fields):
        if not isinstance(declared, Fields):
            return [path]
        return [p for key, sub in real.keys.items() for p in (_undeclared(sub, declared.keys[key], f"{path}.{key}") if key in declared.keys else [f"{path}.{key}"])]
    if isinstance(real, Rows) and real.row is not LEAF:
        return _undeclared(real.row, declared.row, f"{path}[]") if isinstance(declared, Rows) else [path]
    return []


def test_the_proces_verbal_s_example_declares_every_name_its_real_context_has(app: Flask, jury: dict[str, Any]) -> None:  # noqa: F811
    """The example is the page's declaration: a name the service adds later must be declared there too."""
    (first, _second), docs = jury["members"], jury["docs"]
    first.post(f"/documents/{docs['A']}/evaluation", {**scores(3), "action": "signer"})  # a signed evaluation: its scores in the context
    with app.app_context():
        appel = db.session().get(Appel, jury["appel"])
        real = shape_of_value(exports.proces_verbal_context(db.session(), appel))
    declared = shape_of_value(dict(PAGES[PV].example))
    assert isinstance(real, Fields) and set(real.keys) == set(declared.keys)  # type: ignore[union-attr]
    assert _undeclared(real, declared) == []


def test_check_templates_checks_a_page_s_candidate_file_named_like_it(tmp_path: Path) -> None:
    """No kind to name for a page outside the kinds: the file's name says which page; both sides of the check."""
    good, bad = tmp_path / "bon" / PV, tmp_path / "mauvais" / PV
    for path, added in ((good, "{{ appel.code }}"), (bad, "{% if decision %}{{ appel.codee }}{% endif %}")):
        path.parent.mkdir()
        path.write_bytes(with_mark(PV, "<h2>Membres du jury</h2>", added))
    ok = run("check-templates", "--template", str(good), cwd=tmp_path)
    assert ok.returncode == 0 and f"peut remplacer « {PV} »" in ok.stdout, ok.stdout + ok.stderr
    refused = run("check-templates", "--template", str(bad), cwd=tmp_path)
    assert refused.returncode == 1 and "« codee » n'existe pas dans « appel »" in refused.stdout, refused.stdout + refused.stderr
    (tmp_path / "autre.html").write_text("<p>x</p>")
    unnamed = run("check-templates", "--template", str(tmp_path / "autre.html"), cwd=tmp_path)
    assert unnamed.returncode == 2 and "--template demande --kind" in unnamed.stderr


PV_TRAP = "{% if jury.president and jury.president.nom == 'Claire Martin' %}ok{% else %}Piège : {{ allocation[99].montant }}{% endif %}"


def test_a_proces_verbal_template_that_fails_on_the_call_s_data_is_said_in_french(app: Flask, login_as: Any, jury: dict[str, Any]) -> None:  # noqa: F811
    """Passes its checks (the example's chair is Claire Martin), fails on the real call: a French message, no 500."""
    instructeur, url = jury["instructeur"], f"/appels/{jury['appel']}/proces-verbal.pdf"
    assert instructeur.get(url).status_code == 200  # the shipped template prints this call
    _previewed_in_force(app, admin(login_as), PV, with_mark(PV, "<h2>Membres du jury</h2>", PV_TRAP))
    refused = instructeur.get(url)
    assert refused.status_code == 302 and refused.location.endswith(f"/appels/{jury['appel']}/synthese")
    shown = page(instructeur.get(refused.location))
    assert f"Modèle « {PV} » : l'élément [99] d'une liste manque" in shown, shown


COVER_TRAP = "{% if document.organisation == 'Organisation exemple' %}ok{% else %}Piège : {{ sommaire[99].titre }}{% endif %}"


def test_a_cover_that_fails_on_the_dossier_s_data_refuses_its_submission_in_french_and_keeps_it_a_draft(app: Flask, login_as: Any, clock: Clock) -> None:
    """The cover passes its checks (the example's organisation) but not this dossier: refused at submission, not in the worker."""
    web = admin(login_as)
    _previewed_in_force(app, web, COUVERTURE, with_mark(COUVERTURE, "<h1>Dossier de candidature complet</h1>", COVER_TRAP))
    clock.now = BEFORE_DEADLINE
    writer, _ = login_as("redacteur")
    doc_id = open_dossier(app, writer)
    fill_complete(writer, doc_id)
    refused = writer.post(f"/documents/{doc_id}/soumettre", follow_redirects=True)
    assert f"Modèle « {COUVERTURE} » : l'élément [99] d'une liste manque" in page(refused), page(refused)[-3000:]
    with app.app_context():
        assert db.session().get(Document, doc_id).statut == "brouillon"
    # The other side: the shipped cover back in force, the same dossier is submitted.
    assert put_in_force(web, 0, COUVERTURE).status_code == 302
    assert writer.post(f"/documents/{doc_id}/soumettre").status_code == 302
    with app.app_context():
        assert db.session().get(Document, doc_id).statut != "brouillon"
