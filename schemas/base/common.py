"""Pieces shared by several kinds: declared once here, used by each kind module."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, validates_schema

from schemas.base.fields import Bool, Choice, Date, Integer, LongText, Rows, Section, Text
from schemas.base.formats import Phone
from schemas.base.names import Name

EPCI_PLATFORMS = {
    # AML §1: the EPCI of the bassin minier co-pilot the two Logement d'abord platforms.
    "CALL": "Lens-Hénin",
    "CAHC": "Lens-Hénin",
    "CABBALR": "Artois",
}

EPCI_CHOICES = [
    ("CALL", "CALL – Communauté d'agglomération de Lens-Liévin"),
    ("CAHC", "CAHC – Communauté d'agglomération d'Hénin-Carvin"),
    ("CABBALR", "CABBALR – Communauté d'agglomération de Béthune-Bruay, Artois-Lys Romane"),
]

MESURE_TYPES = [
    ("aml", "AML Logement d'abord"),
    ("asll_installation", "ASLL Installation"),
    ("asll_maintien", "ASLL Maintien"),
]

# ASLL §1 and §9: the other measures a household can be referred to.
AUTRES_MESURES = [
    ("MASP", "MASP – Mesure d'accompagnement social personnalisé"),
    ("MAJ", "MAJ – Mesure d'accompagnement judiciaire"),
    ("AEB", "AEB – Action éducative budgétaire"),
    ("AESF", "AESF – Accompagnement en économie sociale et familiale"),
]


class PersonneSchema(Section):
    """A named adult of the household."""

    nom = Name("Nom", required=True, max_length=100)
    prenom = Name("Prénom", required=True, max_length=100)
    date_naissance = Date("Date de naissance", required=True)


class ContactSchema(Section):
    """A professional: name, role, telephone."""

    nom = Name("Nom et prénom", required=True, max_length=150)
    fonction = Text("Fonction", max_length=150)
    structure = Name("Structure", max_length=200)
    telephone = Phone("Téléphone")


def age_on(birth: dt.date, on: dt.date) -> int:
    """Return the age in whole years on a given day (a birthday counts from that day)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


# --- Bilans ---------------------------------------------------------------------------------

# ASLL §5: the intervention domains and the operational objectives of each column
# (Installation, Maintien). A bilan reports on each objective (DESIGN §2.5).
_DROITS = "Démarches administratives et accès aux droits"
_PROJET = "Définir le projet logement avec le ménage"
_BUDGET = "Travailler le budget avec le ménage"
_APPROPRIATION = "Aider à l'appropriation du logement"
_MEDIATION = "Assurer une médiation"
_FIN = "Organiser la fin de mesure"

OBJECTIFS_INSTALLATION = [
    ("droits_dossiers_al", _DROITS, "Aider le ménage à constituer les dossiers d'aide au logement (AL, APL)"),
    ("droits_aides_acces", _DROITS, "Solliciter les dispositifs d'aides favorisant l'accès au logement (FSL, Locapass, aides financières)"),
    ("droits_demenagement", _DROITS, "Aider à préparer le déménagement et l'emménagement (compteurs, assurance habitation, organisation)"),
    ("budget_evaluer", _BUDGET, "Évaluer la situation budgétaire"),
    ("budget_nouveau_logement", _BUDGET, "Aider à la constitution du budget du nouveau logement"),
    ("budget_depenses_emmenagement", _BUDGET, "Aider à la maîtrise des dépenses occasionnées par l'emménagement"),
    ("appro_etat_des_lieux", _APPROPRIATION, "Accompagner le ménage dans l'état des lieux"),
    ("appro_contrat", _APPROPRIATION, "Présenter et expliquer le contrat de location"),
    ("appro_droits_devoirs", _APPROPRIATION, "Informer sur les droits et devoirs des locataires"),
    ("appro_equipements", _APPROPRIATION, "Apprendre à utiliser les parties communes et les équipements"),
    ("appro_environnement", _APPROPRIATION, "Favoriser l'appropriation du logement et de son environnement"),
    ("mediation_bailleur", _MEDIATION, "Établir la relation entre le bailleur et le locataire"),
    ("mediation_environnement", _MEDIATION, "Permettre à la personne de s'inscrire dans son environnement"),
    ("mediation_regles", _MEDIATION, "Sensibiliser aux règles de vie sociale"),
    ("mediation_travaux", _MEDIATION, "Évaluer les travaux de remise en état et négocier leur réalisation avec le bailleur"),
    ("mediation_interface", _MEDIATION, "Assurer l'interface avec les travailleurs sociaux, les bailleurs, les élus locaux, le voisinage"),
    ("fin_relais", _FIN, "Préparer, au besoin, la mise en place des relais à la fin de l'intervention"),
]

OBJECTIFS_MAINTIEN = [
    ("droits_solvabilisation", _DROITS, "Mobiliser les dispositifs de solvabilisation (Banque de France, FSL, CILSE)"),
    ("droits_organismes", _DROITS, "Faire le lien avec les organismes versant les aides au logement"),
    ("droits_apurement", _DROITS, "Négocier et aider à la mise en œuvre et au suivi des plans d'apurement"),
    ("projet_comprehension", _PROJET, "Accompagner le locataire dans la compréhension de sa problématique au regard du logement"),
    ("projet_origine", _PROJET, "Identifier le (les) problème(s) à l'origine du dysfonctionnement"),
    ("projet_changement", _PROJET, "Accompagner le ménage à un changement de positionnement et une évolution de la situation"),
    ("budget_evaluer", _BUDGET, "Évaluer la situation budgétaire"),
    ("budget_gestion", _BUDGET, "Accompagner le ménage dans la gestion de son budget (intégration du poste logement)"),
    ("appro_equipements", _APPROPRIATION, "Apprendre à utiliser les parties communes et les équipements"),
    ("appro_environnement", _APPROPRIATION, "Favoriser l'appropriation du logement et de son environnement"),
    ("mediation_bailleur", _MEDIATION, "Favoriser la relation et la médiation avec le bailleur, restaurer des liens afin d'éviter l'expulsion"),
    ("mediation_voisinage", _MEDIATION, "Travailler sur les difficultés de relation avec le voisinage et l'environnement"),
    ("mediation_droits_devoirs", _MEDIATION, "Informer sur les droits et devoirs des locataires"),
    ("mediation_travaux", _MEDIATION, "Évaluer les travaux de remise en état et négocier leur réalisation avec le bailleur"),
    ("mediation_interface", _MEDIATION, "Assurer l'interface avec les travailleurs sociaux, les bailleurs, les élus locaux, le voisinage"),
    ("fin_relais", _FIN, "Préparer, au besoin, la mise en place des relais à la fin de l'intervention"),
]

# DESIGN §2.5: each objective worked on is reached, partly reached, not reached, or not worked.
STATUTS_OBJECTIF = [
    ("atteint", "Atteint"),
    ("partiel", "Partiellement atteint"),
    ("non_atteint", "Non atteint"),
    ("non_travaille", "Non travaillé"),
]


def objective_choices(objectives: list[tuple[str, str, str]]) -> list[tuple[str, str]]:
    """Return an objective list as choices labelled "domain – objective"."""
    return [(code, f"{domain} – {label}") for code, domain, label in objectives]


def objective_rows(objectives: list[tuple[str, str, str]]) -> list[dict[str, object]]:
    """Return one bilan row per objective of a §5 column, its status left to the referent."""
    return [{"objectif": code, "statut": None, "commentaire": None} for code, _, _ in objectives]


class MesureIdentiteSchema(Section):
    """The measure a bilan reports on, as it stands on the bilan (prefilled from the measure)."""

    reference = Text("Référence de la mesure", max_length=40)
    menage_nom = Name("Nom du ménage", required=True, max_length=150)
    menage_prenom = Name("Prénom du demandeur", required=True, max_length=100)
    menage_commune = Text("Commune", max_length=150)
    operateur = Name("Opérateur", required=True, max_length=200)
    referent_nom = Name("Référent de la mesure", required=True, max_length=150)
    travailleur_social = Name("Travailleur social référent du ménage", max_length=150)
    date_debut = Date("Début de la période", required=True)
    date_fin = Date("Fin de la période", required=True)

    @validates_schema(skip_on_field_errors=False)
    def _period(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        check_period(data)


class RencontresBilanSchema(Section):
    """Meetings held during the period, against the required rhythm."""

    nombre = Integer("Nombre de rencontres tenues", required=True, min=0, max=1000)
    periodes_sans_rencontre = Integer(
        "Semaines ou quinzaines écoulées sans rencontre", min=0, max=1000, help="Calculé depuis les rencontres enregistrées."
    )
    commentaire = LongText("Commentaire sur le rythme des rencontres")


class LiaisonsSchema(Section):
    """The ASLL referent's links with the household's partners, recorded on each ASLL bilan (ASLL §7.1, §7.3, §8).

    Optional fields, so that the bilans frozen before them still load; a missing liaison date is
    an alert of the form (``liaison_alerts``), not a refusal (docs/decisions.md).
    """

    date_liaison = Date(
        "Date de la liaison avec le travailleur social référent du ménage",
        help="ASLL §7.1 : liaison organisée notamment lors des bilans intermédiaires et de fin d'intervention.",
    )
    avec_locataire = Bool("Liaison organisée avec le locataire", help="ASLL §7.1 : « ces liaisons doivent être organisées en relation avec le locataire ».")
    ts_premiere_rencontre = Bool(
        "Le travailleur social à l'origine de la demande a assisté à la première rencontre",
        help="ASLL §8 : l'opérateur l'associe si possible à ce rendez-vous.",
    )
    accord_locataire_bailleur = Bool("Le locataire a donné son accord pour informer le bailleur", help="ASLL §7.3")
    bailleur_informe = Bool("Bailleur informé du début de l'intervention", help="ASLL §7.3 : avec l'accord du locataire.")

    @validates_schema(skip_on_field_errors=False)
    def _bailleur(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data.get("bailleur_informe") and not data.get("accord_locataire_bailleur"):
            raise ValidationError("Le bailleur n'est informé qu'avec l'accord du locataire (ASLL §7.3) : cochez l'accord, ou décochez l'information.", "bailleur_informe")
        if data.get("avec_locataire") and not data.get("date_liaison"):
            raise ValidationError("Datez la liaison avec le travailleur social (ASLL §7.1).", "date_liaison")


def liaison_alerts(data: Mapping[str, Any], derived: Mapping[str, Any]) -> list[str]:
    """Remind an ASLL bilan of its liaison with the household's social worker (ASLL §7.1)."""
    if not (data.get("liaisons") or {}).get("date_liaison"):
        return ["La liaison avec le travailleur social référent du ménage n'est pas datée : elle est organisée lors des bilans, avec le locataire (ASLL §7.1)."]
    return []


def identity_prefill(mesure: Mapping[str, Any]) -> dict[str, Any]:
    """Fill a bilan's measure block from the measure's plain values and the bilan's period."""
    return {
        "reference": mesure.get("reference"),
        "menage_nom": mesure["menage_nom"],
        "menage_prenom": mesure["menage_prenom"],
        "menage_commune": mesure.get("menage_commune"),
        "operateur": mesure["operateur"],
        "referent_nom": mesure["referent_nom"],
        "travailleur_social": mesure.get("travailleur_social"),
        "date_debut": mesure.get("periode_debut"),
        "date_fin": mesure.get("periode_fin"),
    }


def rencontres_prefill(mesure: Mapping[str, Any]) -> dict[str, Any]:
    """Fill a bilan's meetings block from the meetings recorded on the measure."""
    return {"nombre": mesure.get("rencontres_tenues"), "periodes_sans_rencontre": mesure.get("periodes_sans_rencontre")}


def check_period(data: Mapping[str, Any]) -> None:
    """Refuse a period that ends before it starts."""
    start, end = data.get("date_debut"), data.get("date_fin")
    if start and end and end < start:
        raise ValidationError("La fin de la période ne peut pas précéder son début.", "date_fin")


OBJECTIVE_COUNT_LABELS = {
    "objectifs_atteint": "Objectifs atteints",
    "objectifs_partiel": "Objectifs partiellement atteints",
    "objectifs_non_atteint": "Objectifs non atteints",
    "objectifs_non_travaille": "Objectifs non travaillés",
}


def objective_counts(data: Mapping[str, Any]) -> dict[str, int]:
    """Count a bilan's objectives by result (its derived values)."""
    rows = [r for r in data.get("objectifs") or [] if isinstance(r, Mapping)]
    return {f"objectifs_{code}": sum(1 for r in rows if r.get("statut") == code) for code, _ in STATUTS_OBJECTIF}


def bilan_summary(data: Mapping[str, Any]) -> str:
    """A bilan's short label for lists: the household."""
    mesure = data.get("mesure") or {}
    return " ".join(str(p) for p in (mesure.get("menage_nom"), mesure.get("menage_prenom")) if p)


def objectives_field(objectives: list[tuple[str, str, str]], column: str) -> Rows:
    """The objectives table of an ASLL bilan: one row per objective of a §5 column, with its result."""
    row = type(
        f"Objectif{column}Schema",
        (Section,),
        {
            "objectif": Choice(f"Objectif (ASLL §5, colonne {column})", objective_choices(objectives), required=True),
            "statut": Choice("Résultat", STATUTS_OBJECTIF, required=True),
            "commentaire": LongText("Commentaire", max_length=5000),
        },
    )
    return Rows(
        row,
        "Objectifs travaillés",
        row_label="Objectif",
        add_label="Ajouter un objectif",
        min=1,
        min_error="Renseignez au moins un objectif (ASLL §5).",
        help="Toutes les actions ne sont pas nécessairement travaillées : indiquez « Non travaillé » le cas échéant (ASLL §5).",
    )
