"""Bilan d'AML Logement d'abord: intermediate (3 months) or at term (12 months) (AML §4, §7)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, validates_schema

from schemas.base.common import (
    AUTRES_MESURES,
    MesureIdentiteSchema,
    RencontresBilanSchema,
    bilan_summary,
    identity_prefill,
    rencontres_prefill,
)
from schemas.base.fields import Bool, Choice, Date, Group, LongText, MultiChoice, Section
from schemas.base.kind import Kind
from schemas.base.layout import (
    CACHET_OPERATEUR,
    MESURE_IDENTITE,
    REFERENT,
    RENCONTRES,
    Bullets,
    Field,
    Layout,
    Part,
    Signatures,
    fields,
    proposition,
    text_section,
)

TYPES_BILAN = [("intermediaire", "Bilan intermédiaire (3 mois)"), ("echeance", "Bilan à échéance (12 mois)")]

# AML §4: the services the named referent organises and delivers, in whole or in part.
PRESTATIONS = [
    ("evaluation", "Évaluation des besoins"),
    ("identification_aides", "Identification des aides à mettre en œuvre et conseils personnalisés"),
    ("actes_quotidiens", "Aide dans les actes quotidiens de la vie domestique et sociale"),
    ("demarches", "Accompagnement dans les démarches administratives"),
    ("budget", "Accompagnement dans la gestion budgétaire"),
    ("relations", "Soutien des relations avec l'environnement familial et social, notamment le voisinage"),
    ("coordination", "Suivi et coordination des intervenants (santé, parentalité, insertion…)"),
]

GLISSEMENT = [
    ("realise", "Glissement du bail réalisé"),
    ("prevu", "Glissement prévu"),
    ("non_envisage", "Glissement pas encore envisagé"),
]

PROPOSITIONS = [
    ("poursuite", "Poursuite de l'accompagnement (bilan intermédiaire)"),
    ("renouvellement", "Renouvellement proposé"),
    ("fin", "Fin de l'accompagnement"),
    ("autre_mesure", "Orientation vers une autre mesure"),
]


class BailGlissantSchema(Section):
    sous_location = Bool("Le ménage est sous-locataire (bail glissant)", help="AML §4 : l'association est locataire, le ménage sous-locataire.")
    date_signature = Date("Date de signature du contrat de sous-location")
    glissement = Choice("Glissement du bail", GLISSEMENT)
    date_glissement = Date("Date du glissement (réalisé ou prévu)")

    @validates_schema(skip_on_field_errors=False)
    def _bail(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        if data.get("sous_location"):
            if "date_signature" in data and not data.get("date_signature"):
                errors["date_signature"] = ["Indiquez la date de signature de la sous-location."]
            if "glissement" in data and not data.get("glissement"):
                errors["glissement"] = ["Indiquez où en est le glissement du bail."]
        if data.get("glissement") in ("realise", "prevu") and "date_glissement" in data and not data.get("date_glissement"):
            errors["date_glissement"] = ["Indiquez la date du glissement."]
        signed, slid = data.get("date_signature"), data.get("date_glissement")
        if signed and slid and slid < signed:
            errors["date_glissement"] = ["Le glissement ne peut pas précéder la signature de la sous-location."]
        if errors:
            raise ValidationError(errors)


class PropositionSchema(Section):
    proposition = Choice("Proposition", PROPOSITIONS, required=True, widget="radio")
    motifs = LongText("Motifs", help="Un renouvellement se propose à l'issue du bilan à échéance (AML §4).")
    mesure_orientation = Choice("Mesure proposée", [("ASRL", "ASRL – Accompagnement social renforcé au logement"), *AUTRES_MESURES])

    @validates_schema(skip_on_field_errors=False)
    def _coherence(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data.get("proposition") == "renouvellement" and "motifs" in data and not data.get("motifs"):
            raise ValidationError("Motivez le renouvellement proposé.", "motifs")
        if data.get("proposition") == "autre_mesure" and "mesure_orientation" in data and not data.get("mesure_orientation"):
            raise ValidationError("Indiquez la mesure proposée.", "mesure_orientation")


class BilanAmlSchema(Section):
    type_bilan = Choice("Bilan", TYPES_BILAN, required=True, widget="radio")
    mesure = Group(MesureIdentiteSchema, "Mesure")
    rencontres = Group(RencontresBilanSchema, "Rencontres", help="1 à 2 rencontres minimum par semaine (AML §4).")
    prestations = MultiChoice(
        "Prestations délivrées", PRESTATIONS, min=1, min_error="Cochez au moins une prestation délivrée (AML §4).", help="AML §4."
    )
    evolution = LongText("Évolution de la situation et des besoins", required=True)
    bail = Group(BailGlissantSchema, "Bail glissant")
    voisinage = LongText("Relations de voisinage", required=True, help="Le référent s'assure que les relations avec le voisinage sont aussi bonnes que possible (AML §4).")
    avis_menage = LongText("Point de vue du ménage", required=True)
    proposition = Group(PropositionSchema, "Proposition")

    @validates_schema(skip_on_field_errors=False)
    def _type(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        proposition = (data.get("proposition") or {}).get("proposition")
        if data.get("type_bilan") == "intermediaire" and proposition == "renouvellement":
            raise ValidationError(
                {"proposition": {"proposition": ["Le renouvellement se propose au bilan à échéance, pas au bilan intermédiaire (AML §4)."]}}
            )
        if data.get("type_bilan") == "echeance" and proposition == "poursuite":
            raise ValidationError({"proposition": {"proposition": ["À échéance, proposez la fin, un renouvellement ou une autre mesure."]}})


def derive(data: Mapping[str, Any]) -> dict[str, Any]:
    """How many of the seven services of AML §4 were delivered."""
    return {"prestations_delivrees": f"{len(data.get('prestations') or [])} sur {len(PRESTATIONS)}"}


def prefill(mesure: Mapping[str, Any]) -> dict[str, Any]:
    """Start the bilan from the measure: which bilan is due, the measure, its meetings."""
    slot = mesure.get("echeance")
    return {
        "type_bilan": slot if slot in dict(TYPES_BILAN) else None,
        "mesure": identity_prefill(mesure),
        "rencontres": rencontres_prefill(mesure),
    }


EXAMPLE: dict[str, Any] = {
    "type_bilan": "intermediaire",
    "mesure": {
        "reference": "ME-2019-000004",
        "menage_nom": "Durand",
        "menage_prenom": "Julie",
        "menage_commune": "Liévin",
        "operateur": "Association Habitat Solidaire",
        "referent_nom": "Sophie Bernard",
        "travailleur_social": "Paul Leroy",
        "date_debut": "2019-11-04",
        "date_fin": "2020-02-04",
    },
    "rencontres": {"nombre": 17, "periodes_sans_rencontre": 0, "commentaire": "Deux rencontres par semaine le premier mois."},
    "prestations": ["evaluation", "demarches", "budget", "relations"],
    "evolution": "Installation dans un T3 à Liévin ; droits CAF ouverts ; scolarité des enfants organisée.",
    "bail": {"sous_location": True, "date_signature": "2019-11-04", "glissement": "prevu", "date_glissement": "2020-11-04"},
    "voisinage": "Bonnes relations ; présentation au gardien et aux voisins de palier.",
    "avis_menage": "Mme Durand se sent en sécurité et souhaite que le bail glisse à son nom.",
    "proposition": {"proposition": "poursuite", "motifs": None, "mesure_orientation": None},
}

# Printed in this order in the Word and PDF documents and on the document's page; the type of
# bilan (intermediate or at term) is the document's subtitle.
LAYOUT = Layout(
    subtitle=(Field("type_bilan"),),
    sections=(
        Part((MESURE_IDENTITE,), path="mesure"),
        Part(RENCONTRES, path="rencontres"),
        Part((Bullets("prestations", "Aucune prestation cochée."), fields("calcul.prestations_delivrees")), path="prestations", note="(AML §4)"),
        text_section("evolution"),
        Part((fields("bail.sous_location", "bail.date_signature", "bail.glissement", "bail.date_glissement"),), path="bail"),
        text_section("voisinage"),
        text_section("avis_menage"),
        Part(proposition(), path="proposition"),
    ),
    signatures=Signatures("Signature", (REFERENT, CACHET_OPERATEUR), (59, 41)),
)

KIND = Kind(
    name="bilan_aml",
    title="Bilan d'accompagnement – AML Logement d'abord",
    schema=BilanAmlSchema,
    docx_template="bilan_aml.docx",
    html_template="bilan_aml.html",
    issuing_body="Département du Pas-de-Calais – Plateforme Logement d'abord",
    source="Appel à candidature AML Logement d'abord, §4 et §7",
    reference_prefix="BA",
    example=EXAMPLE,
    recipients=("Coordinateur Logement d'abord de la plateforme (AML §7)",),
    recipient_roles=frozenset({"coordinateur", "instructeur", "archiviste"}),
    derive=derive,
    derived_labels={"prestations_delivrees": "Prestations de l'AML §4 délivrées"},
    summary=bilan_summary,
    mesure_types=frozenset({"aml"}),
    prefill=prefill,
    is_bilan=True,
    standalone=False,
    layout=LAYOUT,
)
