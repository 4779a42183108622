"""A Word template's half-written tag and an unknown filter or test, placed and said in French (issue 18, audit gap 4)."""

from __future__ import annotations

import hashlib
import io

import docx
import pytest

from schemas import HTML_DIR, get_kind
from tests.test_modeles import HTML, WORD, word_template
from webforms.modeles.checks import problems_of, slot_of
from webforms.rendering import Renderer
from webforms.rendering.checks import example_context
from webforms.rendering.diagnose import TemplateFailure
from webforms.rendering.versions import TemplateVersion

NOWHERE = "emplacement introuvable"
ENGLISH = ("No filter", "No test", "named", "unexpected")


def problems(data: bytes, template: str = WORD) -> str:
    return "\n".join(problems_of(Renderer(), slot_of(template), data))


def in_a_cell(text: str) -> bytes:
    document = docx.Document(io.BytesIO(word_template()))
    document.add_table(rows=1, cols=2).cell(0, 1).text = text
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


@pytest.mark.parametrize(
    ("paragraph", "said"),
    [
        ("Titre : {{ document.titre }", "balise jamais fermée « {{ document.titre } » : il manque « }} » dans le même paragraphe"),
        ("Titre : {{ document.titre", "balise jamais fermée « {{ document.titre » : il manque « }} »"),
        ("Début {% if document.brouillon", "balise jamais fermée « {% if document.brouillon » : il manque « %} »"),
        ("Titre : document.titre }}", "« }} » sans « {{ » qui l'ouvre"),
    ],
)
def test_a_half_written_tag_is_placed_in_its_paragraph(paragraph: str, said: str) -> None:
    text = problems(word_template("Avant", paragraph, "Après {{ document.reference }}"))
    assert said in text and f"« {paragraph} »" in text and NOWHERE not in text, text


def test_an_unknown_filter_in_a_cell_and_an_unknown_test_in_a_paragraph_are_placed_in_french() -> None:
    text = problems(in_a_cell("{{ document.titre|inconnu }}"))
    assert "filtre inconnu « inconnu »" in text and "cellule de tableau" in text and "ligne 1, colonne 2" in text, text
    text = problems(word_template("{% if document.brouillon is inconnu %}Brouillon{% endif %}"))
    assert "test inconnu « inconnu »" in text and "« {% if document.brouillon is inconnu %}Brouillon{% endif %} »" in text, text
    assert not any(word in text for word in ENGLISH) and NOWHERE not in text


def test_known_filters_tests_and_plain_braces_are_accepted() -> None:
    """The other side of each edge: nothing refused."""
    assert problems(word_template("{{ document.titre|upper }}", "{% if document.brouillon is true %}Brouillon{% endif %}", "Texte {entre accolades} et } seule")) == ""


def test_an_html_template_s_unknown_filter_is_placed_on_its_line() -> None:
    source = (HTML_DIR / "_layout.html").read_text()
    bad = source.replace("{{ mise_en_page.subtitle }}", "{{ mise_en_page.subtitle|inconnu }}", 1)
    line = next(n for n, text in enumerate(bad.splitlines(), 1) if "|inconnu" in text)
    text = problems(bad.encode(), HTML)
    assert f"filtre inconnu « inconnu » (ligne {line} :" in text and NOWHERE not in text, text


def test_the_renderer_places_an_unknown_test_met_while_filling() -> None:
    """Jinja checks an if's test only when it runs: the render path says it in French at its paragraph."""
    kind = get_kind("fiche_incident")
    bad = word_template("{% if document.brouillon is inconnu %}Brouillon{% endif %}")
    version = TemplateVersion(WORD, 3, hashlib.sha256(bad).hexdigest(), bad)
    with pytest.raises(TemplateFailure) as caught:
        Renderer().trying(version).render(kind.output("docx"), example_context(kind))
    said = str(caught.value)
    assert "test inconnu « inconnu »" in said and "paragraphe" in said and not any(word in said for word in ENGLISH), said
