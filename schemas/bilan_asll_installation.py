"""Bilan d'ASLL Installation: short end-of-support bilan (ASLL §9.1, DESIGN §2.5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, validates_schema

from schemas.base.common import (
    AUTRES_MESURES,
    OBJECTIFS_INSTALLATION,
    OBJECTIVE_COUNT_LABELS,
    LiaisonsSchema,
    MesureIdentiteSchema,
    RencontresBilanSchema,
    bilan_summary,
    identity_prefill,
    liaison_alerts,
    objective_counts,
    objective_rows,
    objectives_field,
    rencontres_prefill,
)
from schemas.base.fields import Choice, Group, LongText, Section
from schemas.base.kind import Kind
from schemas.base.layout import (
    LIAISONS,
    MESURE_IDENTITE,
    OBJECTIFS,
    RENCONTRES,
    SIGNATURES_BILAN_ASLL,
    Layout,
    Part,
    proposition,
    text_section,
)

PROPOSITIONS = [
    ("fin", "Fin de l'accompagnement"),
    ("demande_maintien", "Demande d'ASLL Maintien"),
    ("autre_mesure", "Orientation vers une autre mesure"),
]


class PropositionSchema(Section):
    proposition = Choice("Proposition", PROPOSITIONS, required=True, widget="radio")
    motifs = LongText(
        "Motifs",
        help="Obligatoires pour demander un ASLL Maintien : difficultés risquant de mettre en péril le maintien dans les lieux (ASLL §2.1, §9.1).",
    )
    mesure_orientation = Choice("Mesure proposée", AUTRES_MESURES)

    @validates_schema(skip_on_field_errors=False)
    def _coherence(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data.get("proposition") == "demande_maintien" and "motifs" in data and not data.get("motifs"):
            raise ValidationError("Motivez la demande d'ASLL Maintien (ASLL §9.1).", "motifs")
        if data.get("proposition") == "autre_mesure" and "mesure_orientation" in data and not data.get("mesure_orientation"):
            raise ValidationError("Indiquez la mesure proposée (MASP, MAJ, AEB, AESF).", "mesure_orientation")


class BilanInstallationSchema(Section):
    mesure = Group(MesureIdentiteSchema, "Mesure")
    rencontres = Group(RencontresBilanSchema, "Rencontres", help="Au moins une par semaine le premier mois, puis une par quinzaine (ASLL §6.3).")
    objectifs = objectives_field(OBJECTIFS_INSTALLATION, "Installation")
    avis_menage = LongText("Point de vue du ménage", required=True, help="L'évaluation est effectuée avec le bénéficiaire (ASLL §9).")
    evaluation = LongText("Évaluation du travailleur social ASLL", required=True)
    liaisons = Group(LiaisonsSchema, "Liaisons avec les partenaires", help="ASLL §7.1, §7.3 et §8.")
    proposition = Group(PropositionSchema, "Proposition")


def maintien_requested(data: Mapping[str, Any]) -> bool:
    """Does this bilan ask for an ASLL Maintien? (ASLL §2.1: "un accompagnement de type « ASLL Maintien » peut être sollicité"; §9.1)."""
    return (data.get("proposition") or {}).get("proposition") == "demande_maintien"


def prefill(mesure: Mapping[str, Any]) -> dict[str, Any]:
    """Start the bilan from the measure: its identity, its period, its meetings, every objective."""
    return {
        "mesure": identity_prefill(mesure),
        "rencontres": rencontres_prefill(mesure),
        "objectifs": objective_rows(OBJECTIFS_INSTALLATION),
    }


EXAMPLE: dict[str, Any] = {
    "mesure": {
        "reference": "ME-2024-000012",
        "menage_nom": "Morel",
        "menage_prenom": "Karim",
        "menage_commune": "Annemasse",
        "operateur": "Association Logement Accompagné 74",
        "referent_nom": "Nadia Perret",
        "travailleur_social": "Hélène Vidal",
        "date_debut": "2024-03-08",
        "date_fin": "2024-06-08",
    },
    "rencontres": {"nombre": 9, "periodes_sans_rencontre": 1, "commentaire": "Une semaine manquée pendant une hospitalisation."},
    "objectifs": [
        {"objectif": "droits_dossiers_al", "statut": "atteint", "commentaire": "Dossier APL déposé le 15 mars, droits ouverts en avril."},
        {"objectif": "budget_nouveau_logement", "statut": "partiel", "commentaire": "Budget établi ; factures d'énergie à intégrer."},
        {"objectif": "appro_equipements", "statut": "atteint", "commentaire": None},
        {"objectif": "mediation_travaux", "statut": "non_travaille", "commentaire": None},
    ],
    "avis_menage": "M. Morel se sent installé et souhaite continuer seul, avec un point au moment des premières factures.",
    "evaluation": "Installation réussie ; vigilance sur le budget énergie.",
    "liaisons": {
        "date_liaison": "2024-06-10",
        "avec_locataire": True,
        "ts_premiere_rencontre": True,
        "accord_locataire_bailleur": True,
        "bailleur_informe": True,
    },
    "proposition": {"proposition": "fin", "motifs": None, "mesure_orientation": None},
}

# Printed in this order in the Word and PDF documents and on the document's page.
LAYOUT = Layout(
    sections=(
        Part((MESURE_IDENTITE,), path="mesure"),
        Part(RENCONTRES, path="rencontres"),
        Part(OBJECTIFS, path="objectifs", note="(ASLL §5)"),
        text_section("avis_menage", "(ASLL §9)"),
        text_section("evaluation"),
        Part(LIAISONS, path="liaisons", note="(ASLL §7.1, §7.3, §8)"),
        Part(proposition(), path="proposition", note="(ASLL §9.1)"),
    ),
    signatures=SIGNATURES_BILAN_ASLL,
)

KIND = Kind(
    name="bilan_asll_installation",
    title="Bilan de fin d'accompagnement – ASLL Installation",
    schema=BilanInstallationSchema,
    docx_template="bilan_asll_installation.docx",
    html_template="bilan_asll_installation.html",
    issuing_body="Fonds de Solidarité pour le Logement – Accompagnement Social Lié au Logement",
    source="CCTP ASLL, §5 et §9.1",
    reference_prefix="BI",
    example=EXAMPLE,
    recipients=("RAST du territoire concerné (ASLL §9.1)", "Travailleur social référent du ménage (ASLL §9.1)"),
    recipient_roles=frozenset({"instructeur", "archiviste"}),
    alerts=liaison_alerts,
    derive=objective_counts,
    derived_labels=OBJECTIVE_COUNT_LABELS,
    summary=bilan_summary,
    mesure_types=frozenset({"asll_installation"}),
    prefill=prefill,
    is_bilan=True,
    standalone=False,
    layout=LAYOUT,
)
