"""The evaluation grid of a call: configuration, not code (AML §6c, DESIGN §2.2 "jury").

"Les critères de sélection sont les suivants. Ils reprennent en majeure partie les thèmes
présentés précédemment" (AML §6c): six criteria, each with its sub-criteria as the call writes
them, a scale shared by every sub-criterion and a weight per criterion. The call is silent on
the scale and the weights (docs/decisions.md). Declared with the catalogue's field types, so its
messages are the same French ones, and its administration page is built from the same schema
(``grille_edit.py`` saves it). Light on purpose: the command line's ``validate --appel`` reads
a call's grid without the database.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from marshmallow import ValidationError, validate, validates_schema

from schemas.base.fields import Group, Integer, Rows, Section, Text
from schemas.base.names import Name

# The grid of the 2019 call (AML §6c), beside the call's own file.
GRILLE_AML_2019 = Path(__file__).resolve().parent.parent / "data" / "grille_aml_2019.json"


class SousCritereSchema(Section):
    """A sub-criterion, as the call words it."""

    libelle = Name("Sous-critère", required=True, max_length=300)


class CritereSchema(Section):
    """A criterion: its title, its weight, its sub-criteria."""

    code = Text("Code", required=True, max_length=40, extra_validate=[validate.Regexp(r"^[a-z0-9_]+$", error="Lettres minuscules, chiffres et _ seulement.")])
    titre = Name("Critère", required=True, max_length=200)
    poids = Integer("Poids", required=True, min=1, max=100)
    sous_criteres = Rows(SousCritereSchema, "Sous-critères", row_label="Sous-critère", add_label="Ajouter un sous-critère", min=1, min_error="Un critère a au moins un sous-critère.")


class EchelleSchema(Section):
    """The scale every sub-criterion is scored on."""

    min = Integer("Note la plus basse", required=True, min=0, max=100)
    max = Integer("Note la plus haute", required=True, min=1, max=100)

    @validates_schema
    def _ordered(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        if data["max"] <= data["min"]:
            raise ValidationError({"max": ["La note la plus haute doit dépasser la plus basse."]})


# The weights add up to at most this: a total stays a number a jury reads at a glance
# (the call gives no weights, docs/decisions.md).
MAX_POIDS_TOTAL = 100


class GrilleEditSchema(Section):
    """What the administrator edits of a call's grid: its scale and its criteria (the call is the page's)."""

    echelle = Group(EchelleSchema, "Échelle de notation")
    criteres = Rows(CritereSchema, "Critères de sélection", row_label="Critère", add_label="Ajouter un critère", min=1, min_error="Une grille a au moins un critère.")

    @validates_schema
    def _distinct(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        codes = [c["code"] for c in data.get("criteres") or []]
        if len(codes) != len(set(codes)):
            raise ValidationError({"criteres": {"_schema": ["Deux critères ont le même code."]}})

    @validates_schema
    def _weights(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        total = sum(c["poids"] for c in data.get("criteres") or [])
        if total > MAX_POIDS_TOTAL:
            raise ValidationError({"criteres": {"_schema": [f"La somme des poids ne peut dépasser {MAX_POIDS_TOTAL} ; elle est de {total}."]}})


class GrilleSchema(GrilleEditSchema):
    """A call's evaluation grid (AML §6c), with the code of its call (the call's file, the command line)."""

    appel = Text("Code de l'appel", required=True, max_length=60)


def load_grille(payload: Any) -> dict[str, Any]:
    """Return a grid checked by ``GrilleSchema``; its errors, in French, otherwise."""
    return GrilleSchema().load(payload if isinstance(payload, Mapping) else {})


def grille_of(call: Mapping[str, Any]) -> dict[str, Any] | None:
    """Return the evaluation grid of a call's values, or None if the call has none yet."""
    return load_grille(call["grille"]) if call.get("grille") is not None else None


def grille_aml_2019() -> dict[str, Any]:
    """The evaluation grid of the 2019 call (AML §6c), as shipped."""
    return load_grille(json.loads(GRILLE_AML_2019.read_text(encoding="utf-8")))


def weighted_total(grille: Mapping[str, Any], notes: Mapping[str, list[int]]) -> float:
    """The total a dossier scores: each criterion's mean over its sub-criteria times its weight."""
    return sum(c["poids"] * sum(notes[c["code"]]) / len(c["sous_criteres"]) for c in grille["criteres"])

