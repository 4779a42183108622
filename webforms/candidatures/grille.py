"""The evaluation grid of a call: configuration, not code (AML §6c, DESIGN §2.2 "jury").

"Les critères de sélection sont les suivants. Ils reprennent en majeure partie les thèmes
présentés précédemment" (AML §6c): six criteria, each with its sub-criteria as the call writes
them, a scale shared by every sub-criterion and a weight per criterion. The call is silent on
the scale and the weights (docs/decisions.md). Declared with the catalogue's field types, so its
messages are the same French ones, and its administration page is built from the same schema.
A grid is frozen once a member has scored against it (``save_grille``): the scores would no
longer mean what they were given for.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from marshmallow import ValidationError, validate, validates_schema
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from schemas.base.fields import Group, Integer, Rows, Section, Text
from webforms.archive import audit
from webforms.archive.services import ArchiveServices
from webforms.errors import ValidationFailed
from webforms.models import Appel, Document, Evaluation, User

# The grid of the 2019 call (AML §6c), beside the call's own file.
GRILLE_AML_2019 = Path(__file__).resolve().parent.parent / "data" / "grille_aml_2019.json"


class SousCritereSchema(Section):
    """A sub-criterion, as the call words it."""

    libelle = Text("Sous-critère", required=True, max_length=300)


class CritereSchema(Section):
    """A criterion: its title, its weight, its sub-criteria."""

    code = Text("Code", required=True, max_length=40, extra_validate=[validate.Regexp(r"^[a-z0-9_]+$", error="Lettres minuscules, chiffres et _ seulement.")])
    titre = Text("Critère", required=True, max_length=200)
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


def scores_against(session: Session, appel: Appel) -> int:
    """How many evaluations (drafts included) the call's jury has made against its grid."""
    query = select(func.count()).select_from(Evaluation).join(Document, Document.id == Evaluation.document_id)
    return session.scalar(query.where(Document.appel_id == appel.id)) or 0


def save_grille(session: Session, svc: ArchiveServices, appel: Appel, *, user: User | None, payload: Mapping[str, Any]) -> Appel:
    """Replace the call's evaluation grid, sealed in the audit trail; refuse in French once a score exists."""
    # The call's row, locked: a member's first score waits for the edit, or the edit sees it.
    session.get_one(Appel, appel.id, with_for_update=True, populate_existing=True)
    scored = scores_against(session, appel)
    if scored:
        session.rollback()
        # A refusal of the data (the page shows it again), not of the call.
        raise ValidationFailed(
            f"La grille de cet appel est figée : le jury a déjà noté avec elle ({scored} évaluation{'s' if scored > 1 else ''}). "
            "Elle ne change plus, pour que chaque note garde le sens qu'elle a reçu (AML §6c).",
            {},
        )
    try:
        values = load_grille({**payload, "appel": appel.code})
    except ValidationError as err:
        session.rollback()
        raise ValidationFailed("La grille ne peut pas être enregistrée : corrigez les erreurs signalées.", err.normalized_messages()) from None  # type: ignore[arg-type]
    grille = GrilleSchema().dump(values)
    appel.data = {**appel.data, "grille": grille}
    now = svc.clock()
    digest = hashlib.sha256(json.dumps(grille, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
    audit.log(session, now, "grille_appel", key=svc.seal_key, user=user, appel=appel.id, sha256=digest)
    audit.commit(session, svc)
    return appel
