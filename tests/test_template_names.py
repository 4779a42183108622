"""Every name a deposited template uses is checked statically, in the branches and loops the example never reaches (issue 18, audit point 1)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from schemas import DOCX_DIR, HTML_DIR, get_kind, registry
from tests.test_modeles import admin, deposit, page, versions, word_template
from webforms.rendering import Renderer
from webforms.rendering.checks import Use, check_candidate, check_templates, example_context
from webforms.rendering.versions import TemplateVersion

SAISINE = "fiche_saisine"
# The example has two children, none called Zorglub: the fill never enters this branch.
UNREACHED = "{% for e in menage.enfants %}{% if e.prenom == 'Zorglub' %}[[E]]{% endif %}{% endfor %}"
ELSEWHERE = "{% if document.organisation == 'Jamais' %}[[E]]{% endif %}"


def problems(kind_name: str, fmt: str, content: bytes) -> list[str]:
    kind = get_kind(kind_name)
    return [str(p) for p in check_candidate(Renderer(), Use(kind.output(fmt), kind), content)]


def saisine_word(text: str) -> bytes:
    return word_template(text, base=DOCX_DIR / f"{SAISINE}.docx")


def example_fills(kind_name: str, fmt: str, content: bytes) -> bool:
    """Whether the example alone fills ``content`` (what the deposit checked before the static walk)."""
    kind = get_kind(kind_name)
    output = kind.output(fmt)
    candidate = TemplateVersion(output.template, 1, hashlib.sha256(content).hexdigest(), content)
    renderer = Renderer().trying(candidate)
    if fmt == "docx":
        renderer.render(output, example_context(kind))
    else:
        renderer.html(output, example_context(kind))
    return True


@pytest.mark.parametrize(
    "used",
    [
        UNREACHED.replace("[[E]]", "{{ e.prenom }}, né le {{ e.date_naissance }}"),
        ELSEWHERE.replace("[[E]]", "{{ menage.demandeur.nom }} {{ libelles.menage.demandeur.nom }} {{ calcul|length }}"),
        ELSEWHERE.replace("[[E]]", "{{ revue.orientation_validee }}"),
        "{% set enfants = menage.enfants %}{% for x in enfants %}{% if loop.last and x.prenom == 'Zorglub' %}{{ x.date_naissance }}{% endif %}{% endfor %}",
        "{% for cle, valeur in calcul.items() %}{{ cle }} {{ valeur }}{% endfor %}{{ departement.nom }}",
    ],
)
def test_correct_names_in_branches_and_loops_the_example_never_takes_are_accepted(used: str) -> None:
    assert problems(SAISINE, "docx", saisine_word(used)) == []


@pytest.mark.parametrize(
    ("used", "said"),
    [
        (UNREACHED.replace("[[E]]", "{{ e.prenomm }}"), "« prenomm » n'existe pas dans « e » (« e.prenomm »)"),
        (ELSEWHERE.replace("[[E]]", "{{ document.inexistant }}"), "« inexistant » n'existe pas dans « document »"),
        (ELSEWHERE.replace("[[E]]", "{{ menage.demandeur.nomm }}"), "« nomm » n'existe pas dans « menage.demandeur »"),
        (ELSEWHERE.replace("[[E]]", "{{ revue.orientation_validee_ }}"), "« orientation_validee_ » n'existe pas dans « revue »"),
        (ELSEWHERE.replace("[[E]]", "{{ departement.logoo }}"), "« logoo » n'existe pas dans « departement »"),
        (ELSEWHERE.replace("[[E]]", "{% for e in menage.enfantss %}{% endfor %}"), "« enfantss » n'existe pas dans « menage »"),
        # A loop's variable does not outlive its loop.
        ("{% for e in menage.enfants %}{% endfor %}" + ELSEWHERE.replace("[[E]]", "{{ e.prenom }}"), "la variable « e » n'existe pas"),
    ],
)
def test_a_misspelt_name_the_example_never_reaches_is_refused_with_its_paragraph(used: str, said: str) -> None:
    content = saisine_word(f"Zone : {used}")
    assert example_fills(SAISINE, "docx", content)  # what the example alone let through
    found = problems(SAISINE, "docx", content)
    assert len(found) == 1 and said in found[0], found
    assert f"« Zone : {used} »" in found[0] and "paragraphe" in found[0]


def test_an_html_template_s_unreached_name_is_refused_with_its_line_and_a_correct_one_accepted() -> None:
    base = '{% extends "_base.html" %}\n{% block contenu %}\n{% import "_blocs.html" as b %}\n'
    good = base + "{% if document.organisation == 'Jamais' %}{{ b.ligne(libelles.mesure, mesure.referent_nom) }}{% endif %}\n{% endblock %}"
    bad = base + "{% if document.organisation == 'Jamais' %}\n<p>{{ mesure.referent_nomm }}</p>{% endif %}\n{% endblock %}"
    assert problems("fiche_incident", "pdf", good.encode()) == []
    assert example_fills("fiche_incident", "pdf", bad.encode())
    found = problems("fiche_incident", "pdf", bad.encode())
    assert len(found) == 1 and "« referent_nomm » n'existe pas dans « mesure »" in found[0] and "ligne 5 : « <p>{{ mesure.referent_nomm }}</p>{% endif %} »" in found[0], found


def test_every_landed_template_passes_the_static_walk() -> None:
    assert check_templates(Renderer()) == []
    assert len(registry()) >= 10


def test_the_deposit_page_refuses_an_unreached_misspelt_name_and_keeps_nothing(app: Flask, login_as: Any) -> None:
    web = admin(login_as)
    used = UNREACHED.replace("[[E]]", "{{ e.prenomm }}")
    response = deposit(web, saisine_word(f"Enfant : {used}"), f"{SAISINE}.docx")
    assert response.status_code == 422 and "« prenomm » n'existe pas dans « e »" in page(response) and f"« Enfant : {used} »" in page(response)
    assert versions(app, f"{SAISINE}.docx") == []
    accepted = deposit(web, saisine_word("Enfant : " + UNREACHED.replace("[[E]]", "{{ e.prenom }}")), f"{SAISINE}.docx")
    assert accepted.status_code == 302 and versions(app, f"{SAISINE}.docx") == [(1, None)]


def test_a_name_in_a_template_the_html_includes_is_checked_and_placed_in_that_file(tmp_path: Path) -> None:
    kind = get_kind("fiche_incident")
    use = Use(kind.output("pdf"), kind)
    source = b'{% extends "_base.html" %}{% block contenu %}{% include "_extra.html" %}{% endblock %}'
    renderer = Renderer(html_dirs=[tmp_path, HTML_DIR])
    (tmp_path / "_extra.html").write_text("<p>\n{% if not document.brouillon %}{{ document.titre }}{% endif %}</p>")
    assert check_candidate(renderer, use, source) == []
    (tmp_path / "_extra.html").write_text("<p>\n{% if not document.brouillon %}{{ document.titree }}{% endif %}</p>")
    found = [str(p) for p in check_candidate(renderer, use, source)]
    assert found == ["Modèle « fiche_incident.html » : « titree » n'existe pas dans « document » (« document.titree ») pour le type « fiche_incident » (_extra.html, ligne 2 : « {% if not document.brouillon %}{{ document.titree }}{% endif %}</p> »)."]
