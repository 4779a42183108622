"""A plain kind declared here, and nowhere else: its Word and PDF documents come from its layout.

No template file is written for it; the renderer makes both from ``Kind.layout``.
"""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from schemas import HTML_DIR, build_registry
from schemas.base.fields import Bool, Date, Group, LongText, Money, Rows, Section, Text
from schemas.base.kind import Kind, KindDeclarationError
from schemas.base.layout import Box, Field, Fields, Heading, Layout, Part, Prose, Signatures, Table, fields, text_section
from tests.test_catalogue import docx_text, pdf_text
from webforms.display import sections
from webforms.rendering import Renderer, normalise_docx
from webforms.rendering.checks import example_context
from webforms.rendering.word.layout import layout_docx


class DepenseSchema(Section):
    libelle = Text("Nature de la dépense", required=True, max_length=80)
    montant = Money("Montant engagé", required=True)


class DemandeurSchema(Section):
    nom = Text("Nom du demandeur", required=True, max_length=80)
    urgence = Bool("Demande urgente")
    date_demande = Date("Date de la demande", required=True)


class EssaiSchema(Section):
    demandeur = Group(DemandeurSchema, "Demandeur de l'aide")
    depenses = Rows(DepenseSchema, "Dépenses prévues", row_label="Dépense", add_label="Ajouter une dépense")
    motif = LongText("Motif de la demande", required=True, max_length=2000)
    observations = LongText("Observations du service", max_length=2000)


def derive(data: Mapping[str, Any]) -> dict[str, Any]:
    return {"total": sum((d["montant"] for d in data.get("depenses") or []), Decimal(0))}


EXAMPLE = {
    "demandeur": {"nom": "Quetzalcoatl Arbogaste", "urgence": True, "date_demande": "2019-09-02"},
    "depenses": [{"libelle": "Dépôt de garantie", "montant": "420.00"}, {"libelle": "Premier loyer", "montant": "385.50"}],
    "motif": "Entrée dans un logement autonome après un hébergement.",
    "observations": None,
}

ESSAI = Kind(
    name="essai_aide",
    title="Demande d'aide ponctuelle (type d'essai)",
    schema=EssaiSchema,
    docx_template="essai_aide.docx",
    html_template="essai_aide.html",
    issuing_body="Service d'essai du catalogue",
    source="Aucun texte : type déclaré par les tests",
    reference_prefix="ES",
    example=EXAMPLE,
    derive=derive,
    derived_labels={"total": "Total des dépenses (calculé)"},
    layout=Layout(
        sections=(
            Part((fields("demandeur.nom", "demandeur.urgence", "demandeur.date_demande"),), path="demandeur"),
            Part(
                (
                    Heading(text="Détail"),
                    Table("depenses", (("libelle", 70), ("montant", 30)), "Aucune dépense.", numbers=("montant",), total=("calcul.total",)),
                ),
                path="depenses",
            ),
            text_section("motif"),
            Part((Prose("observations", empty="Aucune observation."), Fields((Field("calcul.total", optional=True),))), text="Avis"),
        ),
        signatures=Signatures("Signature", (Box("Le demandeur", (("demandeur.nom",),), "demandeur.date_demande"),), (100,)),
    ),
)


@pytest.fixture(scope="module")
def renderer(tmp_path_factory: pytest.TempPathFactory) -> Renderer:
    # No Word template anywhere for the kind; the HTML directory holds only the shared ones.
    return Renderer(docx_dirs=[tmp_path_factory.mktemp("docx")], html_dirs=[HTML_DIR])


def test_the_kind_is_accepted_without_template_files(tmp_path: Path) -> None:
    assert build_registry([ESSAI], docx_dirs=[tmp_path], html_dirs=[HTML_DIR]) == {"essai_aide": ESSAI}
    misnamed = Kind(**{**ESSAI.__dict__, "docx_template": "autre.docx"})
    with pytest.raises(KindDeclarationError, match=r"autre\.docx"):
        build_registry([misnamed], docx_dirs=[tmp_path], html_dirs=[HTML_DIR])


WORDS = [
    "Demande d'aide ponctuelle (type d'essai)",
    "1. Demandeur de l'aide",
    "Nom du demandeur",
    "Quetzalcoatl Arbogaste",
    "Demande urgente",
    "Oui",
    "2 septembre 2019",
    "2. Dépenses prévues",
    "Nature de la dépense",
    "Dépôt de garantie",
    "385,50",
    "Total des dépenses (calculé)",
    "805,50",
    "3. Motif de la demande",
    "Entrée dans un logement autonome",
    "4. Avis",
    "Aucune observation.",
    "Le demandeur",
    "ES-2019-000001",
]


def test_docx_and_pdf_are_made_from_the_layout_and_say_it_in_order(renderer: Renderer) -> None:
    ctx = example_context(ESSAI)
    word = docx_text(renderer.render(ESSAI.output("docx"), ctx))
    pdf = " ".join(pdf_text(renderer.render(ESSAI.output("pdf"), ctx)).split())
    for text in WORDS:
        assert text in word, f"DOCX lacks {text!r}"
        assert text in pdf, f"PDF lacks {text!r}"
    titles = [t for t in WORDS if t[:2] in ("1.", "2.", "3.", "4.")]
    assert [pdf.index(t) for t in titles] == sorted(pdf.index(t) for t in titles)
    assert "{{" not in word and "None" not in pdf


def test_generated_templates_use_only_the_context_and_are_made_once(renderer: Renderer) -> None:
    ctx = example_context(ESSAI)
    for output in ESSAI.outputs():
        names = renderer.template_variables(output)
        assert names <= set(ctx), (output.template, names - set(ctx))
    digest = renderer.template_digest(ESSAI.output("docx"))
    assert digest == renderer.template_digest(ESSAI.output("docx")) == hashlib.sha256(renderer._layout_docx(ESSAI)).hexdigest()
    assert renderer.template_digest(ESSAI.output("pdf")) != renderer.template_digest(ESSAI.output("docx"))


def test_an_override_file_takes_precedence_over_the_layout(tmp_path: Path) -> None:
    override = tmp_path / "override"
    override.mkdir()
    shutil.copy(Path(HTML_DIR).parent / "templates_docx" / "fiche_incident.docx", override / "essai_aide.docx")
    renderer = Renderer(docx_dirs=[override], html_dirs=[HTML_DIR])
    assert renderer.template_digest(ESSAI.output("docx")) == hashlib.sha256((override / "essai_aide.docx").read_bytes()).hexdigest()


def test_the_generator_is_deterministic() -> None:
    assert normalise_docx(layout_docx(ESSAI)) == normalise_docx(layout_docx(ESSAI))


def test_the_web_page_walks_the_same_layout() -> None:
    page = sections(ESSAI, example_context(ESSAI))
    assert [s["title"] for s in page] == ["1. Demandeur de l'aide", "2. Dépenses prévues", "3. Motif de la demande", "4. Avis"]
    assert {"label": "Demande urgente", "value": "Oui"} in page[0]["items"]
    table = page[1]["tables"][0]
    assert (table["title"], table["headers"]) == ("Dépenses prévues", ["Nature de la dépense", "Montant engagé"])
    assert table["rows"][:2] == [["Dépôt de garantie", "420,00\xa0€"], ["Premier loyer", "385,50\xa0€"]]
