"""Write the Word templates of the document kinds (docxtpl syntax), deterministically.

    .venv/bin/python templates_docx/build.py        (or: make docx-templates)

Plain kinds (those declaring ``Kind.layout``) get theirs from their layout, through the same
generator the renderer uses when a kind has no file (``webforms.rendering.word.layout``): the
layout is the one description of what their Word and PDF documents say. The letters and the
contract are written here by hand: ``contrat_tripartite.docx``, ``candidature_aml.docx`` and
``candidature_courrier.docx`` (the letter of the dossier, an annex of ``candidature_aml``),
with the blocks of ``webforms.rendering.word`` (each Jinja tag a run of its own, PITFALLS §1).

Labels are written once, in the schemas (``schemas/<kind>.py``, ``schemas/base/common.py``): each
one is looked up here at build time (``Labels``: ``label("prescripteur.nom")``) and written
literally in the .docx, so administrators editing the files in Word read real words, not
``{{ libelles.… }}`` tags. A path that names no field makes this script fail. Rebuild (and
commit the .docx) after changing a label or a layout in a schema.

Two runs give byte-identical files: fixed core-property dates, zip entries dated 1980-01-01.
"""

from __future__ import annotations

import sys
from pathlib import Path

from docx.document import Document
from docx.shared import Mm, Pt

HERE = Path(__file__).resolve().parent
if str(HERE.parent) not in sys.path:  # run as a script: make the project's packages importable
    sys.path.insert(0, str(HERE.parent))

from schemas import candidature_aml, contrat_tripartite, registry  # noqa: E402
from webforms.rendering import normalise_docx  # noqa: E402
from webforms.rendering.word.blocks import (  # noqa: E402
    Alert,
    Bold,
    Box,
    Labels,
    Parts,
    add_runs,
    cell_paragraph,
    field_rows,
    heading,
    kv_table,
    long_text,
    row_columns,
    rows_table,
    signature_block,
    signature_table,
    tag,
    title_block,
    to_bytes,
)
from webforms.rendering.word.layout import layout_docx  # noqa: E402
from webforms.rendering.word.styles import TEXT_W, fixed_layout, new_document, row_props, style, table_borders  # noqa: E402


class Sections:
    """Numbered section headings: ``section(label("mesure"))`` -> "1. Mesure"."""

    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.number = 0

    def __call__(self, text: str) -> None:
        self.number += 1
        heading(self.doc, f"{self.number}. {text}")


def finish(doc: Document, name: str) -> Path:
    """Write ``doc`` next to this script with fixed zip dates."""
    return write(name, to_bytes(doc))


def write(name: str, data: bytes) -> Path:
    """Write a Word file next to this script with fixed zip dates."""
    path = HERE / name
    path.write_bytes(normalise_docx(data))
    return path


def build_layouts(*, new: bool = False) -> list[Path]:
    """Write again, from its layout, the shipped Word template of each kind that declares one.

    A kind added since has no file to ship until asked (``--nouveaux``): the renderer makes its
    template from the layout, so adding a plain kind touches its declaration only.
    """
    kinds = [k for k in registry().values() if k.generates(k.docx_template)]
    return [write(k.docx_template, layout_docx(k)) for k in kinds if new or (HERE / k.docx_template).exists()]


# --------------------------------------------------------------------------------------------
# --------------------------------------------------------------------------------------------
# Contrat tripartite
# --------------------------------------------------------------------------------------------


def build_contrat_tripartite() -> Path:
    kind = contrat_tripartite.KIND
    label = Labels(kind)
    doc = new_document(kind.title, "Contrat tripartite bailleur – association – ménage (AML §4)")
    title_block(doc)

    def text(parts: Parts, keep_with_next: bool = False) -> None:
        p = doc.add_paragraph(style=style(doc, "Texte du contrat"))
        add_runs(p, parts)
        p.paragraph_format.keep_with_next = keep_with_next

    def lower_first(words: str) -> str:
        return words[:1].lower() + words[1:]

    heading(doc, "Entre les soussignés")
    for party, designation in (
        ("bailleur", "ci-après dénommé « le bailleur »,"),
        ("association", "ci-après dénommée « l'association »,"),
    ):
        heading(doc, label(party), 2)
        kv_table(doc, field_rows(label, f"{party}.nom", f"{party}.adresse", f"{party}.representant"))
        doc.add_paragraph(designation, style=style(doc, "Désignation de partie"))
    heading(doc, label("menage"), 2)
    kv_table(
        doc,
        [
            *field_rows(label, "menage.nom", "menage.prenom"),
            (label("menage.autres_occupants"), "{{ menage.autres_occupants or \"Aucun\" }}"),
        ],
    )
    doc.add_paragraph("ci-après dénommé « le ménage ».", style=style(doc, "Désignation de partie"))
    text("Il a été convenu ce qui suit, dans le cadre de l'accompagnement AML Logement d'abord (bail glissant, AML §4).")

    heading(doc, "Article 1 – Logement")
    kv_table(
        doc,
        [
            *field_rows(label, "logement.adresse", "logement.type", "logement.loyer", "logement.charges"),
            (label("calcul.total_mensuel"), "{{ calcul.total_mensuel or \"Non déterminé\" }}"),
            *field_rows(label, "logement.date_entree"),
        ],
    )

    heading(doc, f"Article 2 – {label('engagements')}")
    for number, party in enumerate(("bailleur", "association", "menage"), start=1):
        heading(doc, f"2.{number} {label(f'engagements.{party}')}", 2)
        long_text(doc, None, f"{{{{ engagements.{party} }}}}")

    heading(doc, "Article 3 – Durée et rythme des rencontres")
    kv_table(doc, field_rows(label, "modalites.duree_mois", "modalites.date_debut", "modalites.rythme"))

    heading(doc, "Signatures des parties")
    text(
        [
            f"{label('modalites.lieu_signature')} ",
            "{{ modalites.lieu_signature }}",
            f", {lower_first(label('modalites.date_signature'))} ",
            "{{ modalites.date_signature }}",
            ".",
        ],
        keep_with_next=True,
    )
    text("En trois exemplaires originaux, un pour chacune des parties.", keep_with_next=True)
    approved = "Lu et approuvé"
    signature_table(
        doc,
        None,
        [
            Box(label("bailleur"), ["{{ bailleur.nom }}", "{{ bailleur.representant }}"], mention=approved),
            Box(label("association"), ["{{ association.nom }}", "{{ association.representant }}"], mention=approved),
            Box(label("menage"), [["{{ menage.prenom }}", " ", "{{ menage.nom }}"]], mention=approved),
        ],
        [Mm(57), Mm(57), TEXT_W - Mm(114)],
    )
    return finish(doc, kind.docx_template)


# --------------------------------------------------------------------------------------------
# Dossier de candidature AML Logement d'abord: the "fiche descriptive du projet" (AML §6b)
# --------------------------------------------------------------------------------------------


def build_candidature_aml() -> Path:
    """The themes of the call's "nature des projets attendus" (AML §6a), in its order, after the
    administrative identification of the applicant (AML §6b), then the budget (AML §5, §6b)."""
    kind = candidature_aml.KIND
    label = Labels(kind)
    doc = new_document(kind.title, "Fiche descriptive du projet – candidature AML Logement d'abord (AML §5 et §6)")
    title_block(doc, subtitle="Fiche descriptive du projet")
    section = Sections(doc)

    def texts(*paths: str) -> None:
        for path in paths:
            long_text(doc, label(path), f"{{{{ {path} }}}}")

    section(label("porteur"))
    kv_table(
        doc,
        [
            *field_rows(
                label,
                "porteur.raison_sociale",
                "porteur.siret",
                "porteur.adresse",
                "porteur.representant_nom",
                "porteur.representant_qualite",
                "porteur.contact_nom",
                "porteur.contact_telephone",
                "porteur.contact_email",
            ),
            *field_rows(label, "porteur.eligibilite", filter="oui_non"),
        ],
    )

    section(label("mesures"))
    rows_table(
        doc,
        "mesures",
        "m",
        row_columns(label, "mesures", [("territoire", 120), ("nombre", 50)]),
        "Aucune mesure sollicitée.",
        total=(label("calcul.total_mesures"), "{{ calcul.total_mesures }}"),
    )

    section(label("projet"))
    texts("projet.besoins_non_couverts", "projet.reponse_aml")

    section(label("fonctionnement"))
    texts("fonctionnement.vision", "fonctionnement.modularite", "fonctionnement.place_usager")
    heading(doc, label("fonctionnement.horaires"), 2)
    rows_table(
        doc,
        "fonctionnement.horaires",
        "h",
        row_columns(label, "fonctionnement.horaires", [("jour", 70), ("debut", 50), ("fin", 50)]),
        "Aucune plage horaire indiquée.",
    )
    kv_table(doc, field_rows(label, "calcul.amplitude_hebdomadaire"))

    section(label("partenariat"))
    heading(doc, label("partenariat.partenaires"), 2)
    rows_table(
        doc,
        "partenariat.partenaires",
        "p",
        row_columns(
            label,
            "partenariat.partenaires",
            [("nom", 36), ("type", 24), ("domaines", 36, 'domaines|join(", ")'), ("statut", 22), ("implication", 52)],
        ),
        "Aucun partenaire indiqué.",
    )
    texts("partenariat.ancrage")

    section(label("moyens"))
    heading(doc, label("moyens.equipe"), 2)
    rows_table(
        doc,
        "moyens.equipe",
        "membre",
        row_columns(
            label,
            "moyens.equipe",
            [("poste", 42), ("competences", 40), ("etp", 14), ("statut", 22), ("besoins", 52, 'besoins|join(", ")')],
        ),
        "Aucun membre de l'équipe indiqué.",
    )
    kv_table(doc, field_rows(label, "calcul.etp_total"))
    # AML §6a: "a minima", the coverage of five needs, by the team or by a partner.
    heading(doc, "Couverture des besoins (AML §6a)", 2)
    rows_table(
        doc,
        "calcul.couverture_besoins",
        "c",
        [
            ("Besoin", "besoin", 60),
            ("Couvert par", ["{% if c.couvert %}", "{{ c.par }}", "{% else %}", Alert("{{ c.par }}"), "{% endif %}"], 110),
        ],
        "Aucun besoin à couvrir.",
    )
    heading(doc, label("moyens.recrutements"), 2)
    rows_table(
        doc,
        "moyens.recrutements",
        "r",
        row_columns(label, "moyens.recrutements", [("poste", 110), ("date_prevue", 60)]),
        "Aucun recrutement prévu.",
    )
    texts("moyens.formations")
    tag(doc, "{%p if moyens.pair_aidance %}")
    texts("moyens.pair_aidance")
    tag(doc, "{%p endif %}")

    section(label("budget"))
    for path, total, empty in (
        ("budget.charges", "calcul.total_charges", "Aucune charge."),
        ("budget.produits", "calcul.total_produits", "Aucun produit."),
    ):
        heading(doc, label(path), 2)
        rows_table(
            doc,
            path,
            "ligne",
            row_columns(label, path, [("libelle", 125), ("montant", 45)]),
            empty,
            total=(label(total), f"{{{{ {total} }}}}"),
        )
    kv_table(doc, field_rows(label, "budget.subvention_ddcs", "budget.montant_par_mesure", "calcul.subvention_attendue"))
    tag(doc, "{%p if calcul.subvention_coherente is false %}")
    doc.add_paragraph(
        "La subvention sollicitée ne correspond pas au nombre de mesures × financement par mesure.",
        style=style(doc, "Avertissement"),
    )
    tag(doc, "{%p endif %}")

    signature_block(
        doc,
        "Le représentant légal",
        ["{{ porteur.representant_nom }}", "{{ porteur.representant_qualite }}", "{{ porteur.raison_sociale }}"],
        "{{ document.date_emission }}",
        "Cachet de l'association",
    )
    return finish(doc, kind.docx_template)


# --------------------------------------------------------------------------------------------
# Courrier d'acte de candidature AML Logement d'abord (AML §6b), an annex of the dossier
# --------------------------------------------------------------------------------------------

# AML §6b: the dossier is sent to this address (one line per part of the call's address).
AML_DESTINATAIRE = (
    "M. le Président du Conseil départemental du Pas-de-Calais",
    "Direction du Développement des Solidarités",
    "Hôtel du Département, rue Ferdinand Buisson",
    "62018 ARRAS Cedex",
)
AML_OBJET = "Candidature à l'appel « Aide à la Médiation Locative » – Logement d'abord"
BLANK = "…" * 8  # written by hand before signing


def build_candidature_courrier() -> Path:
    """The letter the legal representative signs (AML §6b): "indiquant le nombre de mesures
    sollicitées et portant engagement du porteur de projet". A letter, not a form: sender and
    addressee, subject, the request per territory and its total, the commitment and the
    subsidy, the closing formula, the signatory; place and date are left to fill by hand."""
    kind = candidature_aml.KIND
    label = Labels(kind)
    doc = new_document(
        "Courrier d'acte de candidature – AML Logement d'abord",
        "Courrier d'acte de candidature signé par le représentant légal (AML §6b)",
    )

    def text(parts: Parts, name: str = "Texte du courrier", space_before: float | None = None, keep: bool = False) -> None:
        p = doc.add_paragraph(style=style(doc, name))
        add_runs(p, parts)
        if space_before is not None:
            p.paragraph_format.space_before = Pt(space_before)
        if keep:
            p.paragraph_format.keep_with_next = True

    tag(doc, "{%p if document.brouillon %}")
    doc.add_paragraph("BROUILLON – document non soumis", style=doc.styles["Mention brouillon"])
    tag(doc, "{%p endif %}")

    # Sender top left, addressee top right (a little lower, as on a French letter).
    table = doc.add_table(rows=1, cols=2)
    table_borders(table, none=True)
    row = table.rows[0]
    row_props(row)
    sender, addressee = row.cells
    cell_paragraph(sender, "{{ porteur.raison_sociale }}", bold=True)
    for parts in (
        "{{ porteur.adresse }}",
        [f"{label('porteur.siret')} : ", "{{ porteur.siret }}"],
        [f"{label('porteur.contact_nom')} : ", "{{ porteur.contact_nom }}"],
        [f"{label('porteur.contact_telephone')} : ", "{{ porteur.contact_telephone }}"],
        "{{ porteur.contact_email }}",
    ):
        add_runs(sender.add_paragraph(style=doc.styles["Cellule"]), parts)
    first = addressee.paragraphs[0]
    first.style = doc.styles["Cellule"]
    first.paragraph_format.space_before = Pt(30)
    add_runs(first, AML_DESTINATAIRE[0], bold=True)
    for line in AML_DESTINATAIRE[1:]:
        addressee.add_paragraph(line, style=doc.styles["Cellule"])
    fixed_layout(table, [Mm(72), TEXT_W - Mm(72)])

    text([Bold("Objet : "), AML_OBJET], space_before=30)
    text(
        [
            Bold("Pièces jointes : "),
            "délibération du conseil d'administration, fiche descriptive du projet, organigramme du service, budget prévisionnel",
            "{% if moyens.recrutements %}",
            ", fiches de poste",
            "{% endif %}",
            ".",
        ],
        space_before=0,
    )
    text("Monsieur le Président,", space_before=14)
    text(
        [
            "Je soussigné(e), ",
            "{{ porteur.representant_nom }}",
            ", ",
            "{{ porteur.representant_qualite }}",
            ", représentant légal de « ",
            "{{ porteur.raison_sociale }}",
            " » (SIRET ",
            "{{ porteur.siret }}",
            "), ai l'honneur de vous présenter la candidature de notre organisme à l'appel « Aide à "
            "la Médiation Locative » – Logement d'abord, et de solliciter à ce titre ",
            # "4 mesures sur le territoire Artois, 6 mesures sur le territoire Lens-Hénin"
            "{% for m in mesures %}",
            "{{ m.nombre }}",
            " mesure",
            "{% if m.nombre is number and m.nombre > 1 %}",
            "s",
            "{% endif %}",
            " sur le territoire ",
            "{{ m.territoire }}",
            "{% if not loop.last %}",
            "{% if loop.revindex == 2 %}",
            " et ",
            "{% else %}",
            ", ",
            "{% endif %}",
            "{% endif %}",
            "{% endfor %}",
            ", soit ",
            Bold("{{ calcul.total_mesures }}"),
            Bold(" mesure"),
            "{% if calcul.total_mesures > 1 %}",
            Bold("s"),
            "{% endif %}",
            Bold(" au total"),
            ".",
        ]
    )
    text(
        [
            "Notre organisme s'engage à mettre en œuvre les mesures d'accompagnement AML Logement "
            "d'abord qui lui seront confiées dans le respect du cahier des charges de l'appel, pour "
            "la période de financement qu'il fixe, et sollicite auprès de la Direction "
            "Départementale de la Cohésion Sociale (DDCS) une subvention de ",
            Bold("{{ budget.subvention_ddcs }}"),
            ", conformément au budget prévisionnel joint.",
        ]
    )
    text(
        [
            "Pour tout renseignement complémentaire, ",
            "{{ porteur.contact_nom }}",
            " se tient à votre disposition (",
            "{{ porteur.contact_telephone }}",
            ", ",
            "{{ porteur.contact_email }}",
            ").",
        ]
    )
    text(
        "Je vous prie d'agréer, Monsieur le Président, l'expression de ma haute considération.",
        keep=True,
    )

    text(f"Fait à {BLANK}, le {BLANK}", "Signature du courrier", space_before=18)
    text(["{{ porteur.representant_qualite }}", ","], "Signature du courrier", space_before=10)
    text("{{ porteur.representant_nom }}", "Signature du courrier")
    p = doc.add_paragraph("Signature et cachet de l'organisme", style=style(doc, "Signature du courrier"))
    p.runs[0].italic = True
    p.paragraph_format.space_before = Pt(4)
    for _ in range(4):  # room for the signature
        doc.add_paragraph(style=style(doc, "Signature du courrier"))
    return finish(doc, "candidature_courrier.docx")



def main() -> None:
    new = "--nouveaux" in sys.argv[1:]  # also write the templates of kinds that ship none yet
    paths = [*build_layouts(new=new), build_contrat_tripartite(), build_candidature_aml(), build_candidature_courrier()]
    for path in paths:
        print(f"{path.relative_to(HERE.parent)} ({path.stat().st_size} octets)")


if __name__ == "__main__":
    main()
