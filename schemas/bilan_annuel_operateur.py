"""Bilan annuel d'un opérateur ASLL: one per operator and year, due in January (ASLL §10).

Its figures are generated from the records (measures, renewals, submitted bilans) when the
draft is started, and frozen with the document when it is submitted; the operator writes
the qualitative parts that ASLL §10 lists.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError, validates_schema

from schemas.base.common import AUTRES_MESURES, MESURE_TYPES
from schemas.base.fields import Choice, Group, Integer, LongText, Rows, Section, Text
from schemas.base.kind import Kind, Retention
from schemas.base.layout import (
    CACHET_OPERATEUR,
    Box,
    Chart,
    Field,
    Heading,
    Layout,
    Part,
    Prose,
    Signatures,
    Table,
    fields,
)
from schemas.base.names import Name


class LigneTypeSchema(Section):
    type_mesure = Choice("Type de mesure", MESURE_TYPES, required=True)
    suivies = Integer("Mesures suivies dans l'année", required=True, min=0)
    commencees = Integer("Commencées", required=True, min=0)
    terminees = Integer("Terminées", required=True, min=0)
    renouvelees = Integer("Renouvelées", required=True, min=0)


class LigneNombreSchema(Section):
    libelle = Text("Libellé", required=True, max_length=200)
    nombre = Integer("Nombre", required=True, min=0)


class ChiffresSchema(Section):
    par_type = Rows(LigneTypeSchema, "Mesures par type", row_label="Type", add_label="Ajouter un type de mesure")
    objectifs_atteint = Integer("Objectifs atteints", required=True, min=0)
    objectifs_partiel = Integer("Objectifs partiellement atteints", required=True, min=0)
    objectifs_non_atteint = Integer("Objectifs non atteints", required=True, min=0)
    objectifs_non_travaille = Integer("Objectifs non travaillés", required=True, min=0)
    propositions = Rows(LigneNombreSchema, "Propositions faites dans les bilans", row_label="Proposition", add_label="Ajouter une proposition")
    orientations = Rows(LigneNombreSchema, "Orientations vers une autre mesure", row_label="Orientation", add_label="Ajouter une orientation")
    bilans_transmis = Integer("Bilans transmis dans l'année", required=True, min=0)
    bilans_en_retard = Integer("Dont transmis après leur échéance", required=True, min=0)


# ASLL §10: "il doit notamment mettre en évidence pour chaque type de mesure les éléments
# qualitatifs suivants".
ELEMENTS_QUALITATIFS = [
    ("situation_menages", "Situation des ménages accompagnés (situation familiale et professionnelle, difficultés, objectifs visés, atteints ou non)"),
    ("moyens_mobilises", "Moyens mobilisés (dispositifs…)"),
    ("partenariat", "Partenariat développé"),
    ("competences", "Compétences sollicitées (juridique, budgétaire…)"),
    ("difficultes", "Difficultés rencontrées dans l'exercice de la mission"),
    ("axes_progres", "Axes de progrès"),
]
TYPES_ASLL = [(code, label) for code, label in MESURE_TYPES if code.startswith("asll")]


class QualitatifSchema(Section):
    type_mesure = Choice("Type de mesure", TYPES_ASLL, required=True)
    element = Choice("Élément (ASLL §10)", ELEMENTS_QUALITATIFS, required=True)
    texte = LongText("Texte", required=True)


def _legacy(label: str) -> Text:
    # The texts common to every type, as written before the elements per type: a yearly bilan
    # frozen with them still loads and prints them; a new one is not asked for them.
    return Text(label, max_length=50_000, multiline=True, widget="recorded")


class BilanAnnuelSchema(Section):
    operateur = Name("Opérateur", required=True, max_length=200)
    annee = Integer("Année", required=True, min=2000, max=2100)
    chiffres = Group(ChiffresSchema, "Chiffres de l'année", help="Calculés depuis les mesures et les bilans enregistrés dans le service ; vérifiez-les.")
    qualitatif = Rows(
        QualitatifSchema,
        "Éléments qualitatifs par type de mesure",
        row_label="Élément",
        add_label="Ajouter un élément",
        help="ASLL §10 : pour chaque type de mesure suivi dans l'année, les six éléments (une ligne par type et par élément, préremplie).",
    )
    situation_menages = _legacy("Situation des ménages accompagnés")
    moyens_mobilises = _legacy("Moyens mobilisés (dispositifs…)")
    partenariat = _legacy("Partenariat développé")
    competences = _legacy("Compétences sollicitées (juridique, budgétaire…)")
    difficultes = _legacy("Difficultés rencontrées dans l'exercice de la mission")
    axes_progres = _legacy("Axes de progrès")

    @validates_schema(skip_on_field_errors=False)
    def _each_type(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if any(data.get(name) for name, _ in ELEMENTS_QUALITATIFS) or "qualitatif" not in data:
            return  # a bilan of the former layout, frozen with its common texts
        followed = {r.get("type_mesure") for r in (data.get("chiffres") or {}).get("par_type") or [] if isinstance(r, Mapping) and r.get("suivies")}
        written = {(r.get("type_mesure"), r.get("element")) for r in data.get("qualitatif") or [] if isinstance(r, Mapping) and r.get("texte")}
        labels, types = dict(ELEMENTS_QUALITATIFS), dict(MESURE_TYPES)
        missing = [f"{types[t]} : {labels[e]}" for t in sorted(t for t in followed if t in dict(TYPES_ASLL)) for e, _ in ELEMENTS_QUALITATIFS if (t, e) not in written]
        if missing:
            raise ValidationError("ASLL §10 : écrivez chaque élément qualitatif pour chaque type de mesure suivi ; manquent : " + " ; ".join(missing) + ".", "qualitatif")


def qualitative_rows(figures: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One row per element for each ASLL type followed in the year, its text left to the operator (ASLL §10)."""
    types = [r["type_mesure"] for r in figures.get("par_type") or [] if r.get("suivies") and r["type_mesure"] in dict(TYPES_ASLL)]
    return [{"type_mesure": t, "element": e, "texte": None} for t in types for e, _ in ELEMENTS_QUALITATIFS]


def due(year: int) -> dt.date:
    """ASLL §10: the yearly bilan is sent "dans le courant du premier mois de l'année suivante"."""
    return dt.date(year + 1, 1, 31)


# ASLL §10: what the figures count in the bilans sent in the year, besides the result of each
# objective (``objective_counts``): the proposals they make and the measures they refer the
# households to. Figure (a table of labels and numbers) -> (group, field) in the bilans' data.
TALLIES = {
    "propositions": ("proposition", "proposition"),
    "orientations": ("proposition", "mesure_orientation"),
}


def derive(data: Mapping[str, Any]) -> dict[str, Any]:
    """Totals over the types, and the share of objectives reached (for the chart and the text)."""
    chiffres = data.get("chiffres") or {}
    rows = [r for r in chiffres.get("par_type") or [] if isinstance(r, Mapping)]
    statuses = [chiffres.get(k) or 0 for k in ("objectifs_atteint", "objectifs_partiel", "objectifs_non_atteint", "objectifs_non_travaille")]
    worked = sum(statuses[:3])
    return {
        "total_suivies": sum(r.get("suivies") or 0 for r in rows),
        "total_commencees": sum(r.get("commencees") or 0 for r in rows),
        "total_terminees": sum(r.get("terminees") or 0 for r in rows),
        "total_renouvelees": sum(r.get("renouvelees") or 0 for r in rows),
        "part_objectifs_atteints": f"{round(100 * statuses[0] / worked)} %" if worked else "",
        # Bar lengths (0-100) for the PDF's chart, so the template only draws.
        "barres_objectifs": [round(100 * v / max(max(statuses), 1)) for v in statuses],
    }


EXAMPLE: dict[str, Any] = {
    "operateur": "Association Logement Accompagné 74",
    "annee": 2024,
    "chiffres": {
        "par_type": [
            {"type_mesure": "asll_installation", "suivies": 14, "commencees": 11, "terminees": 12, "renouvelees": 0},
            {"type_mesure": "asll_maintien", "suivies": 31, "commencees": 20, "terminees": 18, "renouvelees": 9},
        ],
        "objectifs_atteint": 84,
        "objectifs_partiel": 37,
        "objectifs_non_atteint": 12,
        "objectifs_non_travaille": 140,
        "propositions": [{"libelle": "Fin de l'accompagnement", "nombre": 21}, {"libelle": "Demande de renouvellement", "nombre": 9}],
        "orientations": [{"libelle": dict(AUTRES_MESURES)["MASP"], "nombre": 2}],
        "bilans_transmis": 39,
        "bilans_en_retard": 4,
    },
    "qualitatif": [
        *({"type_mesure": "asll_installation", "element": e, "texte": t} for e, t in (
            ("situation_menages", "Surtout des personnes isolées entrant dans leur premier logement."),
            ("moyens_mobilises", "FSL accès, aides à l'équipement."),
            ("partenariat", "Bailleurs sociaux du Genevois, CAF."),
            ("competences", "Budgétaire (premières factures)."),
            ("difficultes", "Délais de démarrage tenus difficilement en août."),
            ("axes_progres", "Astreinte estivale."),
        )),
        *({"type_mesure": "asll_maintien", "element": e, "texte": t} for e, t in (
            ("situation_menages", "Un tiers de familles monoparentales ; dettes locatives moyennes de 1 800 €."),
            ("moyens_mobilises", "FSL maintien, plans d'apurement, commission de surendettement."),
            ("partenariat", "CCAS d'Annemasse, CCAPEX."),
            ("competences", "Juridique (procédures d'expulsion), budgétaire."),
            ("difficultes", "Ménages difficiles à joindre avant l'audience."),
            ("axes_progres", "Formation des nouveaux intervenants à la prévention des expulsions."),
        )),
    ],
}

# Printed in this order in the Word and PDF documents and on the document's page. The chart of
# the objectives is drawn in the PDF only (its bar lengths: calcul.barres_objectifs).
_COUNTS = ("suivies", "commencees", "terminees", "renouvelees")
LAYOUT = Layout(
    subtitle=(Field("operateur"), Field("annee", labelled=True)),
    sections=(
        Part(
            (
                Heading("chiffres.par_type"),
                Table(
                    "chiffres.par_type",
                    (("type_mesure", 32), *((name, 20 if name == "suivies" else 16) for name in _COUNTS)),
                    "Aucune mesure dans l'année.",
                    numbers=_COUNTS,
                    total=tuple(f"calcul.total_{name}" for name in _COUNTS),
                    total_label="Total",
                ),
            ),
            text="Mesures de l'année",
        ),
        Part(
            (
                Chart(
                    tuple(f"chiffres.objectifs_{status}" for status in ("atteint", "partiel", "non_atteint", "non_travaille")),
                    "calcul.barres_objectifs",
                    "calcul.part_objectifs_atteints",
                    "Non déterminée",
                ),
            ),
            text="Objectifs",
        ),
        Part(
            (
                Heading("chiffres.propositions"),
                Table("chiffres.propositions", (("libelle", 80), ("nombre", 20)), "Aucune", numbers=("nombre",)),
                Heading("chiffres.orientations"),
                Table("chiffres.orientations", (("libelle", 80), ("nombre", 20)), "Aucune", numbers=("nombre",)),
            ),
            text="Propositions et orientations",
        ),
        Part((fields("chiffres.bilans_transmis", "chiffres.bilans_en_retard"),), text="Bilans transmis"),
        Part((Table("qualitatif", (("type_mesure", 20), ("element", 28), ("texte", 52)), "Aucun élément qualitatif."),), path="qualitatif", note="(ASLL §10)"),
        # The common texts of a bilan frozen before the elements per type, printed only if present.
        *(Part((Prose(path, bare=True),), path=path, when=path) for path in ("situation_menages", "moyens_mobilises", "partenariat", "competences", "difficultes", "axes_progres")),
    ),
    signatures=Signatures(
        "Signature",
        (Box("Pour l'opérateur, le responsable", (("operateur",),), "document.date_emission", zone="Nom, qualité et signature :"), CACHET_OPERATEUR),
        (59, 41),
    ),
)

KIND = Kind(
    name="bilan_annuel_operateur",
    title="Bilan annuel des interventions – opérateur ASLL",
    schema=BilanAnnuelSchema,
    docx_template="bilan_annuel_operateur.docx",
    html_template="bilan_annuel_operateur.html",
    issuing_body="Fonds de Solidarité pour le Logement – Accompagnement Social Lié au Logement",
    source="CCTP ASLL, §10",
    reference_prefix="BO",
    example=EXAMPLE,
    recipients=("Service Logement de la DPDS (ASLL §10)",),
    recipient_roles=frozenset({"instructeur", "archiviste"}),
    derive=derive,
    derived_labels={
        "total_suivies": "Mesures suivies (total)",
        "total_commencees": "Mesures commencées (total)",
        "total_terminees": "Mesures terminées (total)",
        "total_renouvelees": "Mesures renouvelées (total)",
        "part_objectifs_atteints": "Part des objectifs travaillés qui ont été atteints",
    },
    summary=lambda data: " ".join(str(p) for p in (data.get("operateur"), data.get("annee")) if p),
    standalone=False,  # started from the measures page, its figures computed from the records
    # The operator's yearly account of public money: kept ten years, then offered to the Archives.
    retention=Retention(10, "transfert"),
    layout=LAYOUT,
)
