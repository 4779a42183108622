"""Projet de convention de financement d'un projet retenu (AML §5, §6d, §7).

"Une convention de financement avec la Direction Départementale de la Cohésion Sociale viendra
préciser les modalités de mise en œuvre et d'évaluation du projet ainsi que de versement de la
subvention" (AML §6d). A draft only: filled by the service from the retained dossier and the
decision (``candidatures/convention.py``), downloaded marked "brouillon" to be completed and
signed by the parties; never submitted through the service. Its Word and PDF come from its
layout, replaceable in the templates' administration.
"""

from __future__ import annotations

from typing import Any

from schemas.base.association import AssociationSchema, MesureAccordeeSchema, measures_table, written_by_the_service
from schemas.base.fields import Date, Group, LongText, Rows, Section, Text
from schemas.base.kind import Kind
from schemas.base.layout import Box, Layout, Part, Prose, Signatures, fields

FINANCEUR = "Direction Départementale de la Cohésion Sociale du Pas-de-Calais (DDCS)"

# The evaluation duties of the call (AML §7), written into every convention.
EVALUATION = (
    "Un compte-rendu financier (formulaire Cerfa) est transmis à la demande de la Direction Départementale de la "
    "Cohésion Sociale. Le dispositif est suivi et évalué dans le cadre du groupe de travail « accompagnements sociaux "
    "Logement d'abord ». Les évaluations et bilans des accompagnements individuels sont envoyés aux coordinateurs (AML §7)."
)


class PartiesSchema(AssociationSchema):
    """The association (the shared header block), its SIRET, and the financer."""

    financeur = Text("Le financeur", required=True, max_length=200)
    siret = Text("SIRET", max_length=20)


class ObjetSchema(Section):
    appel = Text("Appel à candidature", required=True, max_length=300)
    dossier = Text("Dossier de candidature", required=True, max_length=40)
    date_commission = Date("Décision de la Commission Permanente du", required=True)
    periode_debut = Date("Période : du", required=True)
    periode_fin = Date("au", required=True)


class ConventionSchema(Section):
    parties = Group(PartiesSchema, "Les parties")
    objet = Group(ObjetSchema, "Objet de la convention")
    mesures = Rows(MesureAccordeeSchema, "Mesures financées (5 000 € par ménage et par an, AML §5)", row_label="Territoire", add_label="Ajouter un territoire")
    evaluation = LongText("Évaluation (AML §7)", required=True, max_length=2000)


EXAMPLE: dict[str, Any] = {
    "parties": {
        "financeur": FINANCEUR,
        "association": "Association Habitat Solidaire",
        "adresse": "12 rue des Écoles, 62800 Liévin",
        "siret": "73282932000074",
        "representant": "Jean Petit, Président",
    },
    "objet": {
        "appel": "Appel à candidature « Aide à la Médiation Locative » – Logement d'abord (Pas-de-Calais, 2019)",
        "dossier": "CA-2019-000001",
        "date_commission": "2019-11-04",
        "periode_debut": "2019-09-01",
        "periode_fin": "2020-12-31",
    },
    "mesures": [{"territoire": "Artois", "nombre": 4, "montant": "20000.00"}, {"territoire": "Lens-Hénin", "nombre": 6, "montant": "30000.00"}],
    "evaluation": EVALUATION,
}

KIND = Kind(
    name="convention_aml",
    title="Projet de convention de financement – AML Logement d'abord",
    schema=ConventionSchema,
    docx_template="convention_aml.docx",
    html_template="convention_aml.html",
    issuing_body=FINANCEUR,
    source="Appel à candidature AML Logement d'abord, §5, §6d et §7",
    reference_prefix="CF",
    example=EXAMPLE,
    **written_by_the_service("parties", "L'association retenue", ("Mesures financées (total)", "Subvention (total)")),
    layout=Layout(
        sections=(
            Part((fields("parties.financeur", "parties.association", "parties.adresse", "parties.siret", "parties.representant"),), path="parties"),
            Part((fields("objet.appel", "objet.dossier", "objet.date_commission", "objet.periode_debut", "objet.periode_fin"),), path="objet"),
            Part(
                (measures_table("Aucune mesure."),),
                path="mesures",
            ),
            Part((Prose("evaluation", bare=True),), path="evaluation"),
        ),
        signatures=Signatures("Signatures", (Box("Pour la DDCS"), Box("Pour l'association")), (50, 50)),
    ),
)
