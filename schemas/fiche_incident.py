"""Fiche d'incident de mise en œuvre (ASLL §8, DESIGN §2.4).

Until measures are records of their own (a later issue), the measure is identified by its
fields: type, bon de commande date, household, referent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, validates_schema

from schemas.base.common import AUTRES_MESURES, MESURE_TYPES
from schemas.base.fields import Bool, Choice, Date, Group, LongText, Section, Text
from schemas.base.formats import Phone
from schemas.base.kind import Kind
from schemas.base.layout import CACHET_OPERATEUR, REFERENT, Field, Heading, Layout, Part, Prose, Signatures, fields
from schemas.base.names import Name

# ASLL §6.3: the operator starts within ten days (Installation) or fifteen days (Maintien) of
# receiving the bon de commande. AML has no bon de commande: the orientation starts it (AML §4).
START_DEADLINE_DAYS = {"asll_installation": 10, "asll_maintien": 15}

# ASLL §8: the deciding body that receives the fiche. For AML the service sends it to the
# Logement d'abord coordinator, who validated the orientation (AML §4, §7); see docs/decisions.md.
INSTANCES = {
    "asll_installation": "Circonscription d'Action Médico-Sociale (instruction de l'ASLL Installation, ASLL §8)",
    "asll_maintien": "Service Logement de la DPDS (instruction de l'ASLL Maintien, ASLL §8)",
    "aml": "Coordinateur Logement d'abord de la plateforme (AML §4 et §7)",
}

TYPES_INCIDENT = [
    ("demarrage_impossible", "Démarrage impossible dans le délai"),
    ("injoignable", "Ménage injoignable ou absent aux rendez-vous"),
    ("adhesion_refusee", "Adhésion refusée ou retirée"),
    ("demenagement", "Départ du logement"),
    ("hospitalisation_incarceration", "Hospitalisation ou incarcération"),
    ("procedure_expulsion", "Procédure d'expulsion"),
    ("inquietude_enfants", "Inquiétude pour les enfants"),
    ("conflit_voisinage", "Conflit de voisinage ou violences"),
    ("autre", "Autre difficulté"),
]

PROPOSITIONS = [
    ("poursuivre", "Poursuivre l'accompagnement"),
    ("suspendre", "Suspendre l'accompagnement"),
    ("fin_anticipee", "Mettre fin à l'accompagnement de façon anticipée"),
    ("orientation", "Orienter vers une autre mesure"),
]


class MesureSchema(Section):
    type_mesure = Choice("Type de mesure", MESURE_TYPES, required=True, widget="radio")
    date_bon_commande = Date(
        "Date de réception du bon de commande",
        help="ASLL : le délai de démarrage court à partir de cette date (ASLL §6.3). Sans objet pour l'AML.",
    )
    date_premiere_rencontre = Date("Date de la première rencontre", help="Début de l'accompagnement (ASLL §8).")
    menage_nom = Name("Nom du ménage", required=True, max_length=150)
    menage_prenom = Name("Prénom du demandeur", required=True, max_length=100)
    menage_commune = Text("Commune", max_length=150)
    referent_nom = Name("Référent de la mesure (opérateur)", required=True, max_length=150)
    operateur = Name("Opérateur", required=True, max_length=200)

    @validates_schema(skip_on_field_errors=False)
    def _dates(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        bdc, first = data.get("date_bon_commande"), data.get("date_premiere_rencontre")
        if data.get("type_mesure") in START_DEADLINE_DAYS and "date_bon_commande" in data and not bdc:
            raise ValidationError("Indiquez la date du bon de commande (ASLL §6.3).", "date_bon_commande")
        if bdc and first and first < bdc:
            raise ValidationError(
                "La première rencontre ne peut pas précéder la réception du bon de commande.",
                "date_premiere_rencontre",
            )


class IncidentSchema(Section):
    date_incident = Date("Date de l'incident ou du constat", required=True)
    type_incident = Choice("Nature de la difficulté", TYPES_INCIDENT, required=True)
    precision_type = Text("Précision", max_length=200, help="Obligatoire pour « Autre difficulté ».")
    faits = LongText("Faits constatés", required=True)
    actions = LongText("Actions menées", required=True)

    @validates_schema(skip_on_field_errors=False)
    def _autre(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data.get("type_incident") == "autre" and not data.get("precision_type"):
            raise ValidationError("Précisez la nature de la difficulté.", "precision_type")


class ProtectionEnfanceSchema(Section):
    information_preoccupante = Bool(
        "Une Information Préoccupante a été transmise à la CED",
        help="ASLL §7.2 : la Cellule Enfance en Danger peut être saisie par une Information Préoccupante.",
    )
    date_ip = Date("Date de transmission de l'IP")

    @validates_schema(skip_on_field_errors=False)
    def _ip(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data.get("information_preoccupante") and "date_ip" in data and not data.get("date_ip"):
            raise ValidationError("Indiquez la date de transmission de l'Information Préoccupante.", "date_ip")
        if data.get("date_ip") and not data.get("information_preoccupante"):
            raise ValidationError("Une date d'IP est indiquée : cochez la transmission de l'IP.", "information_preoccupante")


class PropositionSchema(Section):
    proposition = Choice("Proposition de l'opérateur", PROPOSITIONS, required=True, widget="radio")
    mesure_orientation = Choice("Mesure proposée", AUTRES_MESURES, help="En cas d'orientation (ASLL §1, §9).")
    commentaire = LongText("Argumentaire")

    @validates_schema(skip_on_field_errors=False)
    def _orientation(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data.get("proposition") == "orientation" and "mesure_orientation" in data and not data.get("mesure_orientation"):
            raise ValidationError("Indiquez la mesure vers laquelle orienter le ménage.", "mesure_orientation")


class TravailleurSocialSchema(Section):
    informe = Bool(
        "Le travailleur social référent du ménage a été informé",
        help="ASLL §7.1 : l'opérateur fait le lien avec le travailleur social à l'origine de la demande.",
    )
    nom = Name("Nom et prénom", max_length=150)
    structure = Name("Structure", max_length=200)
    telephone = Phone("Téléphone")
    date_information = Date("Date de l'information")

    @validates_schema(skip_on_field_errors=False)
    def _informe(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data.get("informe"):
            errors = {
                k: [m]
                for k, m in (("nom", "Nommez le travailleur social informé."), ("date_information", "Indiquez quand il a été informé."))
                if k in data and not data.get(k)
            }
            if errors:
                raise ValidationError(errors)


class FicheIncidentSchema(Section):
    mesure = Group(MesureSchema, "Mesure concernée")
    incident = Group(IncidentSchema, "Incident")
    protection_enfance = Group(ProtectionEnfanceSchema, "Protection de l'enfance")
    proposition = Group(PropositionSchema, "Proposition")
    travailleur_social = Group(TravailleurSocialSchema, "Travailleur social référent")

    @validates_schema(skip_on_field_errors=False)
    def _chronologie(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        bdc = (data.get("mesure") or {}).get("date_bon_commande")
        when = (data.get("incident") or {}).get("date_incident")
        if bdc and when and when < bdc:
            raise ValidationError(
                {"incident": {"date_incident": ["L'incident ne peut pas précéder la réception du bon de commande."]}}
            )


def derive(data: Mapping[str, Any]) -> dict[str, Any]:
    """Compute the deciding body and, for ASLL, the start deadline and whether it was met."""
    mesure = data.get("mesure") or {}
    kind = mesure.get("type_mesure")
    out: dict[str, Any] = {"instance_destinataire": INSTANCES.get(kind) if kind else None}
    bdc, first = mesure.get("date_bon_commande"), mesure.get("date_premiere_rencontre")
    days = START_DEADLINE_DAYS.get(kind or "")
    deadline = bdc + dt.timedelta(days=days) if days and isinstance(bdc, dt.date) else None
    out["delai_demarrage_jours"] = days
    out["date_limite_demarrage"] = deadline
    out["demarrage_dans_les_delais"] = (first <= deadline) if deadline and isinstance(first, dt.date) else None
    return out


def summary(data: Mapping[str, Any]) -> str:
    """A short label for lists: the household and the measure."""
    mesure = data.get("mesure") or {}
    name = " ".join(str(p) for p in (mesure.get("menage_nom"), mesure.get("menage_prenom")) if p)
    label = dict(MESURE_TYPES).get(mesure.get("type_mesure") or "", "")
    return " – ".join(p for p in (name, label) if p)


def prefill(mesure: Mapping[str, Any]) -> dict[str, Any]:
    """Start an incident sheet from a measure: the measure's block is filled in."""
    return {
        "mesure": {
            "type_mesure": mesure["type_mesure"],
            "date_bon_commande": mesure.get("date_bon_commande"),
            "date_premiere_rencontre": mesure.get("date_premiere_rencontre"),
            "menage_nom": mesure["menage_nom"],
            "menage_prenom": mesure["menage_prenom"],
            "menage_commune": mesure.get("menage_commune"),
            "referent_nom": mesure["referent_nom"],
            "operateur": mesure["operateur"],
        },
        "travailleur_social": {"nom": mesure.get("travailleur_social")},
    }


EXAMPLE: dict[str, Any] = {
    "mesure": {
        "type_mesure": "asll_installation",
        "date_bon_commande": "2024-03-01",
        "date_premiere_rencontre": "2024-03-08",
        "menage_nom": "Morel",
        "menage_prenom": "Karim",
        "menage_commune": "Annemasse",
        "referent_nom": "Nadia Perret",
        "operateur": "Association Logement Accompagné 74",
    },
    "incident": {
        "date_incident": "2024-04-02",
        "type_incident": "injoignable",
        "precision_type": None,
        "faits": "Trois rendez-vous à domicile sans réponse (19, 26 mars et 2 avril) ; courrier resté sans suite.",
        "actions": "Appel du bailleur, courrier de relance, contact avec le travailleur social de la CAMS.",
    },
    "protection_enfance": {"information_preoccupante": False, "date_ip": None},
    "proposition": {
        "proposition": "suspendre",
        "mesure_orientation": None,
        "commentaire": "Suspension d'un mois le temps de renouer le contact avec le ménage.",
    },
    "travailleur_social": {
        "informe": True,
        "nom": "Hélène Vidal",
        "structure": "Pôle médico-social d'Annemasse",
        "telephone": "04 50 00 00 00",
        "date_information": "2024-04-03",
    },
}

# Printed in this order in the Word and PDF documents and on the document's page.
LAYOUT = Layout(
    meta=(Field("calcul.instance_destinataire"),),
    sections=(
        Part(
            (
                fields(
                    "mesure.type_mesure",
                    "mesure.operateur",
                    "mesure.referent_nom",
                    "mesure.menage_nom",
                    "mesure.menage_prenom",
                    "mesure.menage_commune",
                    "mesure.date_bon_commande",
                    "mesure.date_premiere_rencontre",
                ),
                Heading(text="Délai de démarrage (ASLL §6.3, calculé)"),
                fields(
                    Field("calcul.delai_demarrage_jours", empty="Sans objet", suffix=" jours à compter du bon de commande"),
                    Field("calcul.date_limite_demarrage", empty="Sans objet"),
                    Field("calcul.demarrage_dans_les_delais", empty="Non déterminé"),
                ),
            ),
            path="mesure",
        ),
        Part(
            (
                fields("incident.date_incident", "incident.type_incident", "incident.precision_type"),
                Prose("incident.faits"),
                Prose("incident.actions"),
            ),
            path="incident",
        ),
        Part((fields("protection_enfance.information_preoccupante", "protection_enfance.date_ip"),), path="protection_enfance"),
        Part(
            (fields("proposition.proposition", "proposition.mesure_orientation"), Prose("proposition.commentaire", empty="Non renseigné")),
            path="proposition",
        ),
        Part(
            (
                fields(
                    "travailleur_social.informe",
                    "travailleur_social.nom",
                    "travailleur_social.structure",
                    "travailleur_social.telephone",
                    "travailleur_social.date_information",
                ),
            ),
            path="travailleur_social",
        ),
    ),
    signatures=Signatures("Signature", (REFERENT, CACHET_OPERATEUR), (59, 41)),
)

KIND = Kind(
    name="fiche_incident",
    title="Fiche d'incident de mise en œuvre",
    schema=FicheIncidentSchema,
    docx_template="fiche_incident.docx",
    html_template="fiche_incident.html",
    issuing_body="Fonds de Solidarité pour le Logement – Accompagnement Social Lié au Logement",
    source="CCTP ASLL, §7 et §8",
    reference_prefix="FI",
    example=EXAMPLE,
    recipients=("Instance décisionnelle de la mesure (ASLL §8)", "Travailleur social référent du ménage (ASLL §7.1)"),
    recipient_roles=frozenset({"instructeur", "archiviste"}),
    mesure_types=frozenset({"aml", "asll_installation", "asll_maintien"}),
    prefill=prefill,
    derive=derive,
    derived_labels={
        "instance_destinataire": "Instance destinataire",
        "delai_demarrage_jours": "Délai de démarrage (jours)",
        "date_limite_demarrage": "Date limite de démarrage (calculée)",
        "demarrage_dans_les_delais": "Démarrage dans les délais (calculé)",
    },
    summary=summary,
    layout=LAYOUT,
)
