"""Bilan social d'ASLL Maintien, with the renewal request (ASLL §9.2, DESIGN §2.5)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, validates_schema

from schemas.base.common import (
    AUTRES_MESURES,
    OBJECTIFS_MAINTIEN,
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
from schemas.base.fields import Bool, Choice, Group, Integer, LongText, Money, Section
from schemas.base.kind import Kind
from schemas.base.layout import (
    LIAISONS,
    MESURE_IDENTITE,
    OBJECTIFS,
    RENCONTRES,
    SIGNATURES_BILAN_ASLL,
    Field,
    Layout,
    Part,
    Prose,
    fields,
    proposition,
    text_section,
)
from schemas.fiche_saisine import STADES_EXPULSION

MAX_TOTAL_MONTHS = 12  # ASLL §2.2, §9.2

PROPOSITIONS = [
    ("fin", "Fin de l'accompagnement"),
    ("renouvellement", "Demande de renouvellement"),
    ("autre_mesure", "Orientation vers une autre mesure"),
]


class SituationSchema(Section):
    dette_locative = Money("Dette locative à ce jour")
    plan_apurement = Bool("Un plan d'apurement est en place")
    plan_apurement_detail = LongText("Plan d'apurement : montant mensuel, échéances respectées")
    stade_procedure = Choice(
        "Stade de la procédure d'expulsion",
        [("aucune", "Aucune procédure"), *STADES_EXPULSION],
        required=True,
    )
    projet_logement = LongText("Projet logement défini avec le ménage", required=True, help="ASLL §5 : « Définir le projet logement avec le ménage ».")

    @validates_schema(skip_on_field_errors=False)
    def _plan(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data.get("plan_apurement") and "plan_apurement_detail" in data and not data.get("plan_apurement_detail"):
            raise ValidationError("Décrivez le plan d'apurement.", "plan_apurement_detail")


class PropositionSchema(Section):
    proposition = Choice("Proposition", PROPOSITIONS, required=True, widget="radio")
    motifs = LongText("Motifs", help="Un renouvellement doit être motivé (ASLL §9).")
    duree_demandee_mois = Integer("Durée du renouvellement demandée (mois)", min=1, max=6)
    duree_deja_accordee_mois = Integer(
        "Durée déjà accordée (mois)", min=1, max=12, help="Période initiale et renouvellements déjà décidés (prérempli depuis la mesure)."
    )
    mesure_orientation = Choice("Mesure proposée", AUTRES_MESURES)

    @validates_schema(skip_on_field_errors=False)
    def _coherence(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        if data.get("proposition") == "renouvellement":
            if "motifs" in data and not data.get("motifs"):
                errors["motifs"] = ["Un renouvellement doit être motivé (ASLL §9)."]
            if "duree_demandee_mois" in data and not data.get("duree_demandee_mois"):
                errors["duree_demandee_mois"] = ["Indiquez la durée du renouvellement demandée."]
            if "duree_deja_accordee_mois" in data and not data.get("duree_deja_accordee_mois"):
                errors["duree_deja_accordee_mois"] = ["Indiquez la durée déjà accordée."]
            asked, granted = data.get("duree_demandee_mois"), data.get("duree_deja_accordee_mois")
            if asked and granted and asked + granted > MAX_TOTAL_MONTHS:
                errors["duree_demandee_mois"] = [
                    f"Avec {granted} mois déjà accordés, le renouvellement ne peut pas dépasser "
                    f"{max(MAX_TOTAL_MONTHS - granted, 0)} mois : la durée totale est limitée à 12 mois (ASLL §2.2, §9.2)."
                ]
        if data.get("proposition") == "autre_mesure" and "mesure_orientation" in data and not data.get("mesure_orientation"):
            errors["mesure_orientation"] = ["Indiquez la mesure proposée (MASP, MAJ, AEB, AESF)."]
        if errors:
            raise ValidationError(errors)


class BilanMaintienSchema(Section):
    mesure = Group(MesureIdentiteSchema, "Mesure")
    rencontres = Group(RencontresBilanSchema, "Rencontres", help="Au moins une par quinzaine (ASLL §6.3).")
    situation = Group(SituationSchema, "Situation au regard du logement")
    objectifs = objectives_field(OBJECTIFS_MAINTIEN, "Maintien")
    avis_menage = LongText("Point de vue du ménage", required=True, help="L'évaluation est effectuée avec le bénéficiaire (ASLL §9).")
    evaluation = LongText("Bilan social du travailleur social ASLL", required=True)
    liaisons = Group(LiaisonsSchema, "Liaisons avec les partenaires", help="ASLL §7.1, §7.3 et §8.")
    proposition = Group(PropositionSchema, "Proposition")


def derive(data: Mapping[str, Any]) -> dict[str, Any]:
    """Count the objectives and, for a renewal request, the total duration it would reach."""
    out: dict[str, Any] = objective_counts(data)
    proposition = data.get("proposition") or {}
    asked, granted = proposition.get("duree_demandee_mois"), proposition.get("duree_deja_accordee_mois")
    out["duree_totale_mois"] = asked + granted if proposition.get("proposition") == "renouvellement" and asked and granted else None
    return out


def renewal_requested(data: Mapping[str, Any]) -> dict[str, Any] | None:
    """The renewal this bilan asks for (its months and reasons), or None (ASLL §9.2: "si un renouvellement est demandé, il doit être motivé")."""
    proposition = data.get("proposition") or {}
    if proposition.get("proposition") != "renouvellement":
        return None
    return {"duree_mois": proposition.get("duree_demandee_mois"), "motif": proposition.get("motifs")}


def prefill(mesure: Mapping[str, Any]) -> dict[str, Any]:
    """Start the bilan from the measure, with every objective of the Maintien column."""
    return {
        "mesure": identity_prefill(mesure),
        "rencontres": rencontres_prefill(mesure),
        "objectifs": objective_rows(OBJECTIFS_MAINTIEN),
        "proposition": {"duree_deja_accordee_mois": mesure.get("duree_accordee_mois")},
    }


EXAMPLE: dict[str, Any] = {
    "mesure": {
        "reference": "ME-2024-000020",
        "menage_nom": "Lefèvre",
        "menage_prenom": "Sandrine",
        "menage_commune": "Thonon-les-Bains",
        "operateur": "Association Logement Accompagné 74",
        "referent_nom": "Nadia Perret",
        "travailleur_social": "Marc Girod",
        "date_debut": "2024-01-15",
        "date_fin": "2024-07-15",
    },
    "rencontres": {"nombre": 14, "periodes_sans_rencontre": 0, "commentaire": None},
    "situation": {
        "dette_locative": "2350.00",
        "plan_apurement": True,
        "plan_apurement_detail": "150 € par mois depuis mars, échéances respectées.",
        "stade_procedure": "commandement_payer",
        "projet_logement": "Maintien dans le logement actuel ; demande de mutation vers un T2 moins cher.",
    },
    "objectifs": [
        {"objectif": "droits_apurement", "statut": "atteint", "commentaire": "Plan signé avec le bailleur."},
        {"objectif": "budget_gestion", "statut": "partiel", "commentaire": None},
        {"objectif": "mediation_bailleur", "statut": "atteint", "commentaire": None},
    ],
    "avis_menage": "Mme Lefèvre souhaite poursuivre jusqu'à l'apurement complet de la dette.",
    "evaluation": "Le plan est respecté ; la dette aura diminué de moitié en septembre.",
    "liaisons": {
        "date_liaison": "2024-06-10",
        "avec_locataire": True,
        "ts_premiere_rencontre": True,
        "accord_locataire_bailleur": True,
        "bailleur_informe": True,
    },
    "proposition": {
        "proposition": "renouvellement",
        "motifs": "Consolider le plan d'apurement jusqu'à son terme et préparer la demande de mutation.",
        "duree_demandee_mois": 4,
        "duree_deja_accordee_mois": 6,
        "mesure_orientation": None,
    },
}

# Printed in this order in the Word and PDF documents and on the document's page.
LAYOUT = Layout(
    sections=(
        Part((MESURE_IDENTITE,), path="mesure"),
        Part(RENCONTRES, path="rencontres"),
        Part(
            (
                fields(Field("situation.dette_locative", empty="Non renseigné"), "situation.plan_apurement"),
                Prose("situation.plan_apurement_detail", optional=True),
                fields("situation.stade_procedure"),
                Prose("situation.projet_logement"),
            ),
            path="situation",
        ),
        Part(OBJECTIFS, path="objectifs", note="(ASLL §5)"),
        text_section("avis_menage", "(ASLL §9)"),
        text_section("evaluation"),
        Part(LIAISONS, path="liaisons", note="(ASLL §7.1, §7.3, §8)"),
        Part(
            proposition("proposition.duree_demandee_mois", "proposition.duree_deja_accordee_mois", "calcul.duree_totale_mois"),
            path="proposition",
            note="(ASLL §9.2)",
        ),
    ),
    signatures=SIGNATURES_BILAN_ASLL,
)

KIND = Kind(
    name="bilan_asll_maintien",
    title="Bilan social – ASLL Maintien",
    schema=BilanMaintienSchema,
    docx_template="bilan_asll_maintien.docx",
    html_template="bilan_asll_maintien.html",
    issuing_body="Fonds de Solidarité pour le Logement – Accompagnement Social Lié au Logement",
    source="CCTP ASLL, §2.2, §5 et §9.2",
    reference_prefix="BM",
    example=EXAMPLE,
    recipients=("Service Logement de la DPDS (ASLL §9.2)", "Travailleur social référent du ménage (ASLL §9.2)"),
    recipient_roles=frozenset({"instructeur", "archiviste"}),
    alerts=liaison_alerts,
    derive=derive,
    derived_labels={**OBJECTIVE_COUNT_LABELS, "duree_totale_mois": "Durée totale après renouvellement (mois, calculée)"},
    summary=bilan_summary,
    mesure_types=frozenset({"asll_maintien"}),
    prefill=prefill,
    is_bilan=True,
    standalone=False,
    layout=LAYOUT,
)
