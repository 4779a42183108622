"""Records that are not printed documents: a support measure, its meetings and its renewals.

Declared with the same field types as the kinds, so their web forms are built the same way
and their messages are the same French ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, validate, validates_schema

from schemas.base.common import MESURE_TYPES
from schemas.base.fields import Choice, Date, Integer, Money, MultiChoice, Rows, Section, Text
from schemas.base.formats import Time
from schemas.base.names import Name

NATURES_RENCONTRE = [
    ("visite_domicile", "Visite à domicile"),
    ("entretien_bureau", "Entretien au bureau"),
    ("accompagnement_exterieur", "Accompagnement à l'extérieur (démarche, rendez-vous)"),
    ("telephone", "Entretien téléphonique"),
]


class MesureSchema(Section):
    """A household's support measure (DESIGN §2.3)."""

    type_mesure = Choice("Type de mesure", MESURE_TYPES, required=True, widget="radio")
    menage_nom = Name("Nom du ménage", required=True, max_length=150)
    menage_prenom = Name("Prénom du demandeur", required=True, max_length=100)
    menage_commune = Text("Commune", max_length=150)
    date_bon_commande = Date(
        "Date de réception du bon de commande",
        help="ASLL : le démarrage doit intervenir dans les 10 jours (Installation) ou 15 jours (Maintien) (ASLL §6.3).",
    )
    date_premiere_rencontre = Date(
        "Date de la première rencontre",
        help="L'accompagnement démarre le jour de la première rencontre (ASLL §8) ; pour l'AML, le jour de l'orientation.",
    )
    # Not a column of the measure: the first meeting is recorded as the measure's first meeting
    # (issue 16, point 5: it was the start date only, and the page said "Aucune rencontre").
    nature_premiere_rencontre = Choice("Nature de la première rencontre", NATURES_RENCONTRE, help="Elle est enregistrée comme la première rencontre du suivi.")
    duree_mois = Integer(
        "Durée décidée (mois)",
        required=True,
        min=1,
        max=12,
        help="AML : 12 mois (AML §4) ; ASLL Installation : 3 mois (ASLL §2.1) ; ASLL Maintien : 6 mois au plus (ASLL §2.2).",
    )
    travailleur_social = Name(
        "Travailleur social référent du ménage",
        max_length=150,
        help="Destinataire des bilans ASLL avec le RAST ou le Service Logement (ASLL §7.1, §9).",
    )

    @validates_schema(skip_on_field_errors=False)
    def _first_meeting(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data.get("date_premiere_rencontre") and not data.get("nature_premiere_rencontre"):
            raise ValidationError("Indiquez la nature de la première rencontre : elle est enregistrée avec les autres.", "nature_premiere_rencontre")


class RencontreSchema(Section):
    """A meeting with the household."""

    date = Date("Date de la rencontre", required=True)
    nature = Choice("Nature", NATURES_RENCONTRE, required=True)
    note = Text("Objet (sans donnée sensible)", max_length=200)


# At most a month of daily meetings in one entry: more is a typing slip, not a catch-up.
MEETINGS_AT_ONCE = 31


class RencontresSchema(Section):
    """Several meetings entered at once: the referent catches up after days away (issue 16, point 5)."""

    saisie = Rows(
        RencontreSchema,
        "Enregistrer une ou plusieurs rencontres",
        row_label="Rencontre",
        add_label="Ajouter une rencontre",
        help="Une ligne par rencontre. Toutes sont enregistrées ensemble, ou aucune si l'une est refusée.",
        min=1,
        min_error="Saisissez au moins une rencontre.",
        initial=1,
    )

    @validates_schema(skip_on_field_errors=False)
    def _at_most(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if len(data.get("saisie") or []) > MEETINGS_AT_ONCE:
            raise ValidationError(f"{MEETINGS_AT_ONCE} rencontres au plus à la fois : enregistrez les autres ensuite.", "saisie")


class RenouvellementSchema(Section):
    """A renewal of an ASLL Maintien decided by the DPDS (ASLL §8, §9.2)."""

    date_decision = Date("Date de la décision de la DPDS", required=True, help="Le renouvellement commence ce jour-là (ASLL §8).")
    duree_mois = Integer("Durée (mois)", required=True, min=1, max=6)
    motif = Text("Motif du renouvellement", required=True, max_length=1000, multiline=True, help="Un renouvellement doit être motivé (ASLL §9).")

    @validates_schema(skip_on_field_errors=False)
    def _motif(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if "motif" in data and data.get("motif") is None:
            raise ValidationError("Un renouvellement doit être motivé (ASLL §9).", "motif")


MOTIFS_FIN = [
    ("terme", "Terme de la mesure"),
    ("fin_anticipee", "Fin anticipée décidée"),
    ("demenagement", "Départ du logement"),
    ("adhesion_retiree", "Adhésion retirée par le ménage"),
    ("autre_mesure", "Orientation vers une autre mesure"),
    ("autre", "Autre motif"),
]


class ClotureSchema(Section):
    """The end of a measure, at its term or before (ASLL §9: "à tout moment de l'intervention")."""

    date_fin = Date("Date de fin de l'accompagnement", required=True)
    motif = Choice("Motif", MOTIFS_FIN, required=True)
    # ASLL §9 ("pour ne pas créer de rupture"); the form closes AML measures too, so its text cites
    # no ASLL article: "ASLL §9" on an AML measure was a slip (issue 16, point 8).
    date_debut_relais = Date(
        "Début de la nouvelle mesure (MASP, MAJ…)",
        help="Orientation vers une autre mesure : le bilan est dû avant son début, pour ne pas créer de rupture.",
    )
    commentaire = Text("Précision", max_length=1000, multiline=True)

    @validates_schema(skip_on_field_errors=False)
    def _relay(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data.get("motif") == "autre_mesure" and not data.get("date_debut_relais") and "date_debut_relais" in data:
            raise ValidationError("Indiquez le début de la nouvelle mesure : le bilan est dû avant.", "date_debut_relais")
        if data.get("date_debut_relais") and data.get("motif") != "autre_mesure":
            raise ValidationError("Le début d'une nouvelle mesure ne vaut que pour une orientation vers une autre mesure.", "date_debut_relais")


# ASLL §4: "un personnel titulaire d'un Diplôme d'Etat en travail social (Assistant
# Socio-Educatif, Educateur Spécialisé, Conseiller en Economie Sociale et Familiale)".
DIPLOMES_ETAT = [
    ("ass", "Diplôme d'État d'assistant de service social (ASS)"),
    ("es", "Diplôme d'État d'éducateur spécialisé (ES)"),
    ("cesf", "Diplôme d'État de conseiller en économie sociale et familiale (CESF)"),
]


class DiplomeSchema(Section):
    """A referent's Diplôme d'État in social work, recorded by their organisation (ASLL §4)."""

    referent_id = Integer("Référent", required=True, min=1, widget="lookup")
    diplome = Choice("Diplôme d'État en travail social", DIPLOMES_ETAT, required=True, help="ASLL §4 : ASS, ES ou CESF.")


class BonCommandeSchema(Section):
    """The order of a measure requested from the thread (a Maintien asked by an Installation bilan, ASLL §8)."""

    date_bon_commande = Date(
        "Date de réception du bon de commande",
        required=True,
        help="Le démarrage doit intervenir dans les 15 jours (ASLL Maintien, ASLL §6.3).",
    )


# AML §6b: the pieces of a candidature dossier, in the order of the call.
PIECES = [
    ("courrier", "Courrier d'acte de candidature signé par le représentant légal"),
    ("deliberation", "Délibération du conseil d'administration"),
    ("fiche_descriptive", "Fiche descriptive du projet"),
    ("organigramme", "Organigramme du service (compétences et ETP)"),
    ("budget", "Budget prévisionnel et montant de la subvention sollicitée"),
    ("fiches_poste", "Fiches de poste des recrutements prévus"),
]



class TerritoireAppelSchema(Section):
    code = Text("Code", required=True, max_length=40, extra_validate=[validate.Regexp(r"^[a-z0-9_]+$", error="Lettres minuscules, chiffres et _ seulement.")])
    nom = Text("Territoire", required=True, max_length=100)
    mesures = Integer("Nombre de mesures", required=True, min=1, max=100000)


class AppelSchema(Section):
    """A call for applications: configuration, not code (DESIGN §2.2)."""

    code = Text(
        "Identifiant", required=True, max_length=60, extra_validate=[validate.Regexp(r"^[a-z0-9-]+$", error="Lettres minuscules, chiffres et - seulement.")]
    )
    titre = Text("Intitulé de l'appel", required=True, max_length=300)
    date_limite = Date("Date limite de dépôt", required=True)
    heure_limite = Time("Heure limite (heure de Paris)", required=True, placeholder="16:00")
    montant_par_mesure = Money("Financement par mesure et par an", required=True)
    periode_debut = Date("Début de la période de financement", required=True)
    periode_fin = Date("Fin de la période de financement", required=True)
    territoires = Rows(TerritoireAppelSchema, "Territoires et nombre de mesures", row_label="Territoire", add_label="Ajouter un territoire", min=1, min_error="Un appel porte sur au moins un territoire.", initial=1)
    pieces = MultiChoice("Pièces exigées", PIECES, min=1, min_error="Cochez au moins une pièce exigée.")

    @validates_schema(skip_on_field_errors=False)
    def _coherence(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        errors: dict[str, Any] = {}
        if data.get("periode_debut") and data.get("periode_fin") and data["periode_fin"] < data["periode_debut"]:
            errors["periode_fin"] = ["La fin de la période précède son début."]
        codes = [t.get("code") for t in data.get("territoires") or []]
        # A dossier names its territories: two of the same name would leave its cap ambiguous.
        names = [" ".join(str(t.get("nom") or "").split()).casefold() for t in data.get("territoires") or []]
        twins = [message for clash, message in ((len(codes) != len(set(codes)), "Deux territoires ont le même code."), (len(names) != len(set(names)), "Deux territoires portent le même nom.")) if clash]
        if twins:
            errors["territoires"] = {"_schema": twins}
        if data.get("montant_par_mesure") is not None and data["montant_par_mesure"] <= 0:
            errors["montant_par_mesure"] = ["Le financement par mesure doit être supérieur à 0 €."]
        if errors:
            raise ValidationError(errors)
