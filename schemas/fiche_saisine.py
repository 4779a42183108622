"""Fiche saisine: a partner refers a household to a Logement d'abord platform (AML §4, DESIGN §2.1)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from marshmallow import ValidationError, validates_schema

from schemas.base.common import EPCI_CHOICES, EPCI_PLATFORMS, PersonneSchema, age_on
from schemas.base.fields import (
    Bool,
    Choice,
    Date,
    Group,
    Integer,
    LongText,
    Money,
    MultiChoice,
    Rows,
    Section,
    Text,
    to_fill,
)
from schemas.base.formats import Email, Phone
from schemas.base.kind import Kind, Review
from schemas.base.layout import Box, Bullets, Field, Heading, Layout, Part, Prose, Signatures, Table, fields
from schemas.base.names import Name

# A box not ticked yet, a date not given yet: to fill, not errors, until the user tries to submit (issue 16, point 2).
NO_ADHESION = to_fill("L'adhésion du ménage est requise pour saisir la plateforme (ASLL §1, §6).")
NO_ADHESION_DATE = to_fill("Indiquez la date à laquelle l'adhésion a été recueillie.")

# AML §4: "la saisine de la plateforme peut se faire par tout partenaire (SIAO, CCAS et
# communes, travailleurs sociaux notamment internes au Département, professionnels du champ de
# la psychiatrie, bailleurs, …)".
PARTENAIRES = [
    ("siao", "SIAO"),
    ("ccas_commune", "CCAS ou commune"),
    ("departement", "Travailleur social du Département"),
    ("psychiatrie", "Professionnel du champ de la psychiatrie"),
    ("bailleur", "Bailleur"),
    ("autre", "Autre partenaire"),
]

SITUATIONS_FAMILIALES = [
    ("personne_seule", "Personne seule"),
    ("couple_sans_enfant", "Couple sans enfant"),
    ("couple_avec_enfants", "Couple avec enfant(s)"),
    ("monoparentale", "Famille monoparentale"),
    ("autre", "Autre"),
]

TYPES_RESSOURCES = [
    ("salaire", "Salaire"),
    ("rsa", "RSA"),
    ("aah", "AAH"),
    ("chomage", "Allocation chômage (ARE, ASS)"),
    ("prestations_familiales", "Prestations familiales"),
    ("aide_logement", "Aide au logement (APL, AL)"),
    ("pension_retraite", "Pension ou retraite"),
    ("prime_activite", "Prime d'activité"),
    ("autre", "Autre ressource"),
]

# AML §1 and DESIGN §2.1: stages of an eviction procedure, in order.
STADES_EXPULSION = [
    ("commandement_payer", "Commandement de payer"),
    ("assignation", "Assignation"),
    ("resiliation_bail", "Résiliation du bail"),
    ("commandement_quitter", "Commandement de quitter les lieux"),
    ("concours_force_publique", "Concours de la force publique"),
]

SITUATIONS_LOGEMENT = [
    ("sans_domicile", "Sans domicile"),
    ("heberge_tiers", "Hébergé chez un tiers"),
    ("hebergement_institutionnel", "Hébergement d'urgence ou d'insertion (CHU, CHRS…)"),
    ("logement_menace", "Logement autonome, maintien menacé"),
    ("logement_autonome", "Logement autonome"),
    ("sortie_institution", "Sortie d'institution (ASE, hôpital, détention…)"),
    ("autre", "Autre"),
]

# AML §6a lists the five needs; DESIGN §2.1 adds budget and voisinage (AML §4 services).
BESOINS = [
    ("acces_droits", "Accès aux droits"),
    ("sante", "Santé"),
    ("vie_quotidienne", "Vie quotidienne"),
    ("insertion", "Insertion sociale et professionnelle"),
    ("parentalite", "Parentalité"),
    ("budget", "Gestion budgétaire"),
    ("voisinage", "Relations de voisinage"),
]

ORIENTATIONS = [
    ("aml", "AML Logement d'abord"),
    ("asrl", "ASRL – Accompagnement social renforcé au logement"),
    ("commission", "Commission des parcours complexes"),
    ("a_evaluer", "À évaluer par la plateforme"),
]


class PrescripteurSchema(Section):
    organisme = Name("Organisme", required=True, max_length=200)
    type_partenaire = Choice("Type de partenaire", PARTENAIRES, required=True, help="AML §4 : tout partenaire peut saisir la plateforme.")
    nom = Name("Nom et prénom du prescripteur", required=True, max_length=150)
    fonction = Text("Fonction", required=True, max_length=150)
    telephone = Phone("Téléphone", required=True)
    email = Email("Adresse électronique", required=True)


class TerritoireSchema(Section):
    commune = Text("Commune de résidence du ménage", required=True, max_length=150)
    epci = Choice(
        "EPCI",
        EPCI_CHOICES,
        required=True,
        help="L'EPCI détermine la plateforme : CALL et CAHC → Lens-Hénin ; CABBALR → Artois (AML §1).",
        error="Territoire hors périmètre : seuls les EPCI CALL, CAHC et CABBALR relèvent d'une plateforme Logement d'abord (AML §1).",
    )


class AdulteSchema(PersonneSchema):
    lien = Text("Lien avec le demandeur", max_length=100)


class EnfantSchema(Section):
    prenom = Name("Prénom", required=True, max_length=100)
    date_naissance = Date("Date de naissance", required=True)


class RessourceSchema(Section):
    type = Choice("Type de ressource", TYPES_RESSOURCES, required=True)
    montant_mensuel = Money("Montant mensuel", required=True, help="En euros, par exemple 712,50.")


class MenageSchema(Section):
    demandeur = Group(PersonneSchema, "Demandeur")
    situation_familiale = Choice("Situation familiale", SITUATIONS_FAMILIALES, required=True)
    autres_adultes = Rows(AdulteSchema, "Autres adultes du ménage", row_label="Adulte", add_label="Ajouter un adulte")
    enfants = Rows(EnfantSchema, "Enfants", row_label="Enfant", add_label="Ajouter un enfant")
    ressources = Rows(
        RessourceSchema,
        "Ressources mensuelles",
        row_label="Ressource",
        add_label="Ajouter une ressource",
        help="Une ligne par type de ressource ; le total est calculé.",
        initial=1,
    )


class PublicPrioritaireSchema(Section):
    famille_monoparentale = Bool(
        "Famille monoparentale sans domicile ou hébergée",
        help="AML §1, premier public prioritaire.",
    )
    victime_violences = Bool("Notamment victime de violences familiales")
    parcours_institutionnel = Bool(
        "Jeune ayant eu un parcours institutionnel (ASE…)",
        help="Le critère « moins de 25 ans » est calculé depuis la date de naissance du demandeur à la date de la saisine.",
    )
    expulsion = Bool("Ménage récemment expulsé ou menacé d'expulsion")
    stade_procedure = Choice(
        "Stade de la procédure d'expulsion",
        STADES_EXPULSION,
        help="À renseigner si le ménage est expulsé ou menacé d'expulsion.",
    )

    @validates_schema(skip_on_field_errors=False)
    def _coherence(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data.get("expulsion") and not data.get("stade_procedure"):
            raise ValidationError("Précisez le stade de la procédure d'expulsion.", "stade_procedure")
        if data.get("stade_procedure") and not data.get("expulsion"):
            raise ValidationError(
                "Un stade de procédure est indiqué : cochez « menacé d'expulsion » ou videz le stade.",
                "expulsion",
            )
        if data.get("victime_violences") and not data.get("famille_monoparentale"):
            raise ValidationError(
                "Les violences familiales précisent le public « famille monoparentale » : cochez-le aussi.",
                "famille_monoparentale",
            )


class AccompagnementSchema(Section):
    type = Text("Type d'accompagnement", required=True, max_length=150)
    referent = Name("Référent", required=True, max_length=150)
    structure = Name("Structure", max_length=200)
    telephone = Phone("Téléphone")


class SituationSchema(Section):
    logement_actuel = Choice("Situation de logement actuelle", SITUATIONS_LOGEMENT, required=True)
    description = LongText(
        "Description de la situation",
        required=True,
        help="Parcours, difficultés liées au logement, éléments utiles à l'étude de la situation.",
    )
    accompagnements = Rows(
        AccompagnementSchema,
        "Accompagnements déjà en place",
        row_label="Accompagnement",
        add_label="Ajouter un accompagnement",
    )
    besoins = MultiChoice(
        "Besoins identifiés",
        BESOINS,
        min=1,
        min_error="Cochez au moins un besoin identifié (AML §6a).",
        help="Domaines de l'accompagnement global (AML §2 et §6a).",
    )
    precisions_besoins = LongText("Précisions sur les besoins")


class OrientationSchema(Section):
    orientation = Choice("Orientation demandée", ORIENTATIONS, required=True, widget="radio")
    motif = LongText("Motif de la demande", required=True)


class AdhesionSchema(Section):
    adhesion = Bool(
        "Le ménage adhère à la démarche et a été informé de la saisine",
        help="L'accompagnement repose sur l'adhésion préalable du ménage (ASLL §1, §6).",
    )
    date_adhesion = Date("Date de recueil de l'adhésion")

    @validates_schema(skip_on_field_errors=False)
    def _adhesion(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        errors: dict[str, list[str]] = {}
        if not data.get("adhesion"):
            errors["adhesion"] = [NO_ADHESION]
        if not data.get("date_adhesion") and "date_adhesion" in data:
            errors["date_adhesion"] = [NO_ADHESION_DATE]
        if errors:
            raise ValidationError(errors)


class FicheSaisineSchema(Section):
    date_saisine = Date("Date de la saisine", required=True, help="Sert au calcul de l'âge du demandeur.")
    prescripteur = Group(PrescripteurSchema, "Prescripteur")
    territoire = Group(TerritoireSchema, "Territoire")
    menage = Group(MenageSchema, "Ménage")
    public_prioritaire = Group(
        PublicPrioritaireSchema,
        "Public prioritaire",
        help="AML §1 : au moins un des trois publics prioritaires du Logement d'abord.",
    )
    situation = Group(SituationSchema, "Situation et besoins")
    orientation = Group(OrientationSchema, "Orientation demandée")
    adhesion = Group(AdhesionSchema, "Adhésion du ménage")

    @validates_schema(skip_on_field_errors=False)
    def _rules(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        errors: dict[str, Any] = {}
        derived = derive(data)
        public = data.get("public_prioritaire") or {}
        demandeur = (data.get("menage") or {}).get("demandeur") or {}
        if (
            "public_prioritaire" in data
            and demandeur.get("date_naissance")
            and not (public.get("famille_monoparentale") or public.get("expulsion") or derived.get("moins_de_25_ans"))
        ):
            errors["public_prioritaire"] = {
                "_schema": [
                    "Le ménage doit relever d'au moins un public prioritaire (AML §1) : famille "
                    "monoparentale, jeune de moins de 25 ans (calculé) ou ménage expulsé ou menacé d'expulsion."
                ]
            }
        if public.get("parcours_institutionnel") and derived.get("moins_de_25_ans") is False:
            errors.setdefault("public_prioritaire", {})["parcours_institutionnel"] = [
                f"Le parcours institutionnel concerne les jeunes de moins de 25 ans ; le demandeur a {derived['age_demandeur']} ans à la date de la saisine."
            ]
        saisine = data.get("date_saisine")
        if saisine and demandeur.get("date_naissance") and demandeur["date_naissance"] > saisine:
            errors.setdefault("menage", {}).setdefault("demandeur", {})["date_naissance"] = [
                "La date de naissance est postérieure à la date de la saisine."
            ]
        adhesion_date = (data.get("adhesion") or {}).get("date_adhesion")
        if saisine and adhesion_date and adhesion_date > saisine:
            errors.setdefault("adhesion", {})["date_adhesion"] = [
                "L'adhésion doit être recueillie au plus tard le jour de la saisine."
            ]
        if errors:
            raise ValidationError(errors)


class DecisionSchema(Section):
    """The coordinator's decision on a referral (AML §4)."""

    orientation_validee = Choice(
        "Orientation",
        [("validee", "Orientation validée"), ("non_validee", "Orientation non validée")],
        required=True,
        widget="radio",
    )
    mesure = Choice(
        "Mesure décidée",
        [("aml", "AML Logement d'abord"), ("asrl", "ASRL"), ("commission", "Commission des parcours complexes"), ("autre", "Autre réponse")],
    )
    # Issue 13: the operator and the referent are chosen from lists (the operators' accounts);
    # the application fills the lists and records the names beside the ids, as they were on the
    # day of the decision. A decision recorded before the lists has the names only (typed by
    # hand): it stays readable and printed as it was (docs/decisions.md, "Un fil par ménage").
    operateur_id = Integer("Opérateur désigné", min=1, widget="lookup", help="Choisissez l'organisation qui assurera la mesure.")
    referent_id = Integer(
        "Référent nommé",
        min=1,
        widget="lookup",
        help="AML §4 : dans le cadre d'une orientation AML, un référent est nommé, parmi les comptes de l'opérateur désigné.",
    )
    operateur = Name("Opérateur désigné", max_length=200, widget="recorded")
    referent = Name("Référent nommé", max_length=150, widget="recorded")
    date_decision = Date("Date de la décision", required=True)
    motif = LongText("Motif ou observations")

    @validates_schema(skip_on_field_errors=False)
    def _decision(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data.get("orientation_validee") != "validee":
            if data.get("orientation_validee") == "non_validee" and not data.get("motif"):
                raise ValidationError("Motivez une orientation non validée.", "motif")
            return
        errors = {
            name: [message]
            for name, legacy, message in (
                ("mesure", "mesure", "Indiquez la mesure décidée."),
                ("operateur_id", "operateur", "Choisissez l'opérateur désigné."),
                ("referent_id", "referent", "Choisissez le référent nommé (AML §4)."),
            )
            if not data.get(name) and not data.get(legacy)
        }
        if errors:
            raise ValidationError(errors)


def derive(data: Mapping[str, Any]) -> dict[str, Any]:
    """Compute what is never typed: the platform, the applicant's age, the resources' total."""
    out: dict[str, Any] = {}
    epci = (data.get("territoire") or {}).get("epci")
    out["plateforme"] = EPCI_PLATFORMS.get(epci) if epci else None
    menage = data.get("menage") or {}
    birth = (menage.get("demandeur") or {}).get("date_naissance")
    saisine = data.get("date_saisine")
    if isinstance(birth, dt.date) and isinstance(saisine, dt.date) and birth <= saisine:
        out["age_demandeur"] = age_on(birth, saisine)
        out["moins_de_25_ans"] = out["age_demandeur"] < 25
    else:
        out["age_demandeur"] = None
        out["moins_de_25_ans"] = None
    out["total_ressources"] = sum(
        (r.get("montant_mensuel") or Decimal(0) for r in menage.get("ressources") or [] if isinstance(r, Mapping)),
        Decimal("0.00"),
    )
    out["nombre_personnes"] = 1 + len(menage.get("autres_adultes") or []) + len(menage.get("enfants") or [])
    return out


def summary(data: Mapping[str, Any]) -> str:
    """A short label for lists: the applicant's name and the commune."""
    demandeur = ((data.get("menage") or {}).get("demandeur")) or {}
    name = " ".join(str(p) for p in (demandeur.get("nom"), demandeur.get("prenom")) if p)
    commune = (data.get("territoire") or {}).get("commune")
    return " – ".join(p for p in (name, commune) if p)


EXAMPLE: dict[str, Any] = {
    "date_saisine": "2019-10-14",
    "prescripteur": {
        "organisme": "CCAS de Liévin",
        "type_partenaire": "ccas_commune",
        "nom": "Claire Martin",
        "fonction": "Conseillère en économie sociale et familiale",
        "telephone": "03 21 44 85 00",
        "email": "c.martin@ccas-lievin.example.fr",
    },
    "territoire": {"commune": "Liévin", "epci": "CALL"},
    "menage": {
        "demandeur": {"nom": "Durand", "prenom": "Julie", "date_naissance": "1996-03-02"},
        "situation_familiale": "monoparentale",
        "autres_adultes": [],
        "enfants": [
            {"prenom": "Léo", "date_naissance": "2015-06-11"},
            {"prenom": "Inès", "date_naissance": "2018-01-23"},
        ],
        "ressources": [
            {"type": "rsa", "montant_mensuel": "712.50"},
            {"type": "prestations_familiales", "montant_mensuel": "310.12"},
            {"type": "salaire", "montant_mensuel": "1250.00"},
        ],
    },
    "public_prioritaire": {
        "famille_monoparentale": True,
        "victime_violences": True,
        "parcours_institutionnel": True,
        "expulsion": False,
        "stade_procedure": None,
    },
    "situation": {
        "logement_actuel": "heberge_tiers",
        "description": "Mme Durand est hébergée chez sa mère avec ses deux enfants depuis son départ du domicile conjugal.",
        "accompagnements": [
            {"type": "Suivi RSA", "referent": "Paul Leroy", "structure": "Maison du Département Solidarité", "telephone": "03 21 00 00 00"}
        ],
        "besoins": ["acces_droits", "parentalite", "budget"],
        "precisions_besoins": "Ouverture des droits CAF à actualiser après la séparation.",
    },
    "orientation": {"orientation": "aml", "motif": "Accès direct à un logement en bail glissant avec un accompagnement global."},
    "adhesion": {"adhesion": True, "date_adhesion": "2019-10-10"},
}

DECISION_EXAMPLE: dict[str, Any] = {
    "orientation_validee": "validee",
    "mesure": "aml",
    "operateur_id": 1,
    "referent_id": 1,
    "operateur": "Association Habitat Solidaire",
    "referent": "Sophie Bernard",
    "date_decision": "2019-10-28",
    "motif": "Situation relevant du public prioritaire ; logement identifié sur Liévin.",
}

# Printed in this order in the Word and PDF documents and on the document's page.
LAYOUT = Layout(
    sections=(
        Part(
            (
                fields(
                    "date_saisine",
                    "prescripteur.organisme",
                    "prescripteur.type_partenaire",
                    "prescripteur.nom",
                    "prescripteur.fonction",
                    "prescripteur.telephone",
                    "prescripteur.email",
                ),
            ),
            text="Saisine et prescripteur",
        ),
        Part((fields("territoire.commune", "territoire.epci", Field("calcul.plateforme", empty="Non déterminée")),), path="territoire"),
        Part(
            (
                Heading("menage.demandeur"),
                fields(
                    "menage.demandeur.nom",
                    "menage.demandeur.prenom",
                    "menage.demandeur.date_naissance",
                    Field("calcul.age_demandeur", empty="Non déterminé", suffix=" ans"),
                    "menage.situation_familiale",
                    "calcul.nombre_personnes",
                ),
                Heading("menage.autres_adultes"),
                Table(
                    "menage.autres_adultes",
                    (("nom", 26.5), ("prenom", 23.5), ("date_naissance", 23.5), ("lien", 26.5)),
                    "Aucun autre adulte dans le ménage.",
                ),
                Heading("menage.enfants"),
                Table("menage.enfants", (("prenom", 59), ("date_naissance", 41)), "Aucun enfant."),
                Heading("menage.ressources"),
                Table(
                    "menage.ressources",
                    (("type", 70.5), ("montant_mensuel", 29.5)),
                    "Aucune ressource déclarée.",
                    numbers=("montant_mensuel",),
                    total=("calcul.total_ressources",),
                ),
            ),
            path="menage",
        ),
        Part(
            (
                fields(
                    "public_prioritaire.famille_monoparentale",
                    "public_prioritaire.victime_violences",
                    Field("calcul.moins_de_25_ans", empty="Non déterminé"),
                    "public_prioritaire.parcours_institutionnel",
                    "public_prioritaire.expulsion",
                    "public_prioritaire.stade_procedure",
                ),
            ),
            path="public_prioritaire",
            note="(AML §1)",
        ),
        Part(
            (
                fields("situation.logement_actuel"),
                Prose("situation.description"),
                Heading("situation.accompagnements"),
                Table(
                    "situation.accompagnements",
                    (("type", 26.5), ("referent", 23.5), ("structure", 29.5), ("telephone", 20.5)),
                    "Aucun accompagnement en place.",
                ),
                Heading("situation.besoins"),
                Bullets("situation.besoins", "Aucun besoin indiqué."),
                Prose("situation.precisions_besoins", empty="Non renseigné"),
            ),
            path="situation",
        ),
        Part((fields("orientation.orientation"), Prose("orientation.motif")), path="orientation"),
        Part((fields("adhesion.adhesion", "adhesion.date_adhesion"),), path="adhesion"),
        Part(
            (
                fields("revue.orientation_validee", "revue.mesure", "revue.operateur", "revue.referent", "revue.date_decision"),
                Prose("revue.motif", empty="Néant"),
            ),
            text="Cadre réservé à la plateforme – ",
            value="revue.titre",
            when="revue",
            numbered=False,
        ),
    ),
    signatures=Signatures(
        "Signature",
        (
            Box("Le prescripteur", (("prescripteur.nom",), ("prescripteur.fonction",), ("prescripteur.organisme",)), "date_saisine"),
            Box("Cachet de l'organisme", zone=""),
        ),
        (59, 41),
    ),
)

KIND = Kind(
    name="fiche_saisine",
    title="Fiche saisine – plateforme Logement d'abord",
    schema=FicheSaisineSchema,
    docx_template="fiche_saisine.docx",
    html_template="fiche_saisine.html",
    issuing_body="Département du Pas-de-Calais – Plateforme Logement d'abord",
    source="Appel à candidature AML Logement d'abord, §1 et §4",
    reference_prefix="FS",
    example=EXAMPLE,
    recipients=("Coordinateur Logement d'abord de la plateforme", "Chef du SLISL concerné"),
    recipient_roles=frozenset({"coordinateur", "instructeur", "archiviste"}),
    derive=derive,
    derived_labels={
        "plateforme": "Plateforme Logement d'abord (calculée d'après l'EPCI)",
        "age_demandeur": "Âge du demandeur à la date de la saisine (calculé)",
        "moins_de_25_ans": "Jeune de moins de 25 ans (calculé à la date de la saisine)",
        "total_ressources": "Total des ressources mensuelles (calculé)",
        "nombre_personnes": "Nombre de personnes du ménage (calculé)",
    },
    summary=summary,
    review=Review(
        schema=DecisionSchema,
        role="coordinateur",
        title="Décision du coordinateur",
        action_label="Enregistrer la décision",
        example=DECISION_EXAMPLE,
    ),
    layout=LAYOUT,
)
