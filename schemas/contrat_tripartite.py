"""Contrat tripartite bailleur – association – ménage (AML §4)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, validates_schema

from schemas.base.fields import Choice, Date, Group, Integer, LongText, Money, Section, Text
from schemas.base.kind import Kind
from schemas.base.names import Name

TYPES_LOGEMENT = [("T1", "T1"), ("T2", "T2"), ("T3", "T3"), ("T4", "T4"), ("T5", "T5 ou plus")]

# Default commitments, written from AML §4; each party's text stays editable on the contract.
ENGAGEMENTS_BAILLEUR = (
    "Louer le logement à l'association dans le cadre d'un bail glissant ; désigner un interlocuteur ; "
    "faire glisser le bail au nom du ménage dès que les conditions convenues sont réunies."
)
ENGAGEMENTS_ASSOCIATION = (
    "Être locataire du logement pendant la durée du bail glissant et le sous-louer au ménage ; nommer un "
    "référent qui assure un accompagnement global (évaluation des besoins, démarches, budget, vie "
    "quotidienne, relations avec le voisinage, coordination des intervenants) ; rencontrer le ménage "
    "1 à 2 fois par semaine au minimum ; réaliser un bilan à 3 mois et à l'échéance."
)
ENGAGEMENTS_MENAGE = (
    "Occuper le logement et en payer la redevance ; accepter les rencontres avec le référent ; "
    "participer aux bilans ; respecter le voisinage et le règlement de l'immeuble."
)
RYTHME = "1 à 2 rencontres minimum par semaine avec le référent, à moduler selon les besoins (AML §4)"


class PartieSchema(Section):
    nom = Name("Dénomination", required=True, max_length=200)
    adresse = Text("Adresse", required=True, max_length=300)
    representant = Name("Représenté par (nom et qualité)", required=True, max_length=200)


class MenageSchema(Section):
    nom = Name("Nom", required=True, max_length=150)
    prenom = Name("Prénom", required=True, max_length=100)
    autres_occupants = Text("Autres occupants", max_length=500)


class LogementSchema(Section):
    adresse = Text("Adresse du logement", required=True, max_length=300)
    type = Choice("Type", TYPES_LOGEMENT, required=True)
    loyer = Money("Loyer mensuel hors charges", required=True)
    charges = Money("Charges mensuelles", required=True)
    date_entree = Date("Date d'entrée dans les lieux", required=True)


class EngagementsSchema(Section):
    bailleur = LongText("Engagements du bailleur", required=True)
    association = LongText("Engagements de l'association", required=True)
    menage = LongText("Engagements du ménage", required=True)


class ModalitesSchema(Section):
    duree_mois = Integer("Durée de l'accompagnement (mois)", required=True, min=1, max=24, help="12 mois (AML §4).")
    date_debut = Date("Début de l'accompagnement", required=True)
    rythme = Text("Rythme des rencontres", required=True, max_length=300)
    lieu_signature = Text("Fait à", required=True, max_length=100)
    date_signature = Date("Le", required=True)

    @validates_schema(skip_on_field_errors=False)
    def _dates(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data.get("date_debut") and data.get("date_signature") and data["date_signature"] > data["date_debut"]:
            raise ValidationError("Le contrat se signe au plus tard le jour où l'accompagnement commence.", "date_signature")


class ContratSchema(Section):
    bailleur = Group(PartieSchema, "Le bailleur")
    association = Group(PartieSchema, "L'association")
    menage = Group(MenageSchema, "Le ménage")
    logement = Group(LogementSchema, "Le logement")
    engagements = Group(EngagementsSchema, "Engagements de chacun", help="AML §4 : le contrat tripartite fixe les engagements de chacun.")
    modalites = Group(ModalitesSchema, "Durée et modalités")


def derive(data: Mapping[str, Any]) -> dict[str, Any]:
    """The monthly total the household's occupation costs."""
    logement = data.get("logement") or {}
    loyer, charges = logement.get("loyer"), logement.get("charges")
    return {"total_mensuel": loyer + charges if loyer is not None and charges is not None else None}


def prefill(mesure: Mapping[str, Any]) -> dict[str, Any]:
    """Start the contract from an AML measure, with the default commitments of AML §4."""
    return {
        "association": {"nom": mesure["operateur"]},
        "menage": {"nom": mesure["menage_nom"], "prenom": mesure["menage_prenom"]},
        "engagements": {"bailleur": ENGAGEMENTS_BAILLEUR, "association": ENGAGEMENTS_ASSOCIATION, "menage": ENGAGEMENTS_MENAGE},
        "modalites": {"duree_mois": mesure.get("duree_mois") or 12, "date_debut": mesure.get("periode_debut"), "rythme": RYTHME},
    }


EXAMPLE: dict[str, Any] = {
    "bailleur": {"nom": "Pas-de-Calais Habitat", "adresse": "Rue Émile Zola, 62300 Lens", "representant": "Mme Claire Dubois, responsable d'agence"},
    "association": {"nom": "Association Habitat Solidaire", "adresse": "12 rue des Écoles, 62800 Liévin", "representant": "M. Jean Petit, directeur"},
    "menage": {"nom": "Durand", "prenom": "Julie", "autres_occupants": "Léo (2015), Inès (2018)"},
    "logement": {"adresse": "4 allée des Tilleuls, 62800 Liévin", "type": "T3", "loyer": "412.30", "charges": "85.00", "date_entree": "2019-11-04"},
    "engagements": {"bailleur": ENGAGEMENTS_BAILLEUR, "association": ENGAGEMENTS_ASSOCIATION, "menage": ENGAGEMENTS_MENAGE},
    "modalites": {"duree_mois": 12, "date_debut": "2019-11-04", "rythme": RYTHME, "lieu_signature": "Liévin", "date_signature": "2019-11-04"},
}

KIND = Kind(
    name="contrat_tripartite",
    title="Contrat tripartite – AML Logement d'abord",
    schema=ContratSchema,
    docx_template="contrat_tripartite.docx",
    html_template="contrat_tripartite.html",
    issuing_body="Département du Pas-de-Calais – Plateforme Logement d'abord",
    source="Appel à candidature AML Logement d'abord, §4",
    reference_prefix="CT",
    example=EXAMPLE,
    recipients=("Le bailleur", "L'association", "Le ménage"),
    recipient_roles=frozenset({"coordinateur", "instructeur", "archiviste"}),
    derive=derive,
    derived_labels={"total_mensuel": "Loyer et charges par mois (calculé)"},
    summary=lambda data: " ".join(str(p) for p in ((data.get("menage") or {}).get("nom"), (data.get("menage") or {}).get("prenom")) if p),
    mesure_types=frozenset({"aml"}),
    prefill=prefill,
)
