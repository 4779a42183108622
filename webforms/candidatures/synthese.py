"""What the jury's work comes to for a call: per-dossier summary, ranking per territory, allocation (AML §5, §6c, §6d).

Plain values for the page and the exports: only signed evaluations count (a draft is its
member's own). A criterion's score by a member is the mean of its sub-criteria; the dossier's
per-criterion mean and spread (highest minus lowest) are over the members; its total is the
weighted sum of the criterion means (``grille.weighted_total``), out of the grid's maximum.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from statistics import fmean
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from schemas.base.fields import euros
from webforms import policy
from webforms.candidatures import notation
from webforms.candidatures.grille import grille_of, weighted_total
from webforms.candidatures.instruction import ETATS, allocated, requested
from webforms.models import Appel, Decision, Document, Evaluation, Instruction, User


def score_text(value: float) -> str:
    """Write a score as French documents do: two decimals after a comma ("3,50")."""
    return f"{value:.2f}".replace(".", ",")


def can_read(session: Session, user: User, appel: Appel) -> bool:
    """May ``user`` read the jury's summary of the call? The members of its jury, its instructeurs with a Département-wide grant."""
    return notation.reads_call(session, user, appel.id)


def presented(session: Session, appel: Appel) -> list[tuple[Document, Instruction]]:
    """The call's dossiers presented to the jury (declared recevable, whatever came after), by reference."""
    query = (
        select(Document, Instruction)
        .join(Instruction, Instruction.document_id == Document.id)
        .where(Document.appel_id == appel.id, Document.id.in_(policy.read_by_jury()))
        .order_by(Document.reference, Document.id)
    )
    return [(d, i) for d, i in session.execute(query).all()]


def _criteria(grille: Mapping[str, Any], evals: list[Evaluation]) -> list[dict[str, Any]]:
    """Per criterion: each member's score (mean of its sub-criteria), their mean and spread."""
    out = []
    for c in grille["criteres"]:
        scores = [fmean(e.notes[c["code"]]) for e in evals if c["code"] in e.notes and None not in e.notes[c["code"]]]
        out.append({
            "titre": c["titre"], "poids": c["poids"],
            "moyenne": fmean(scores) if scores else None,
            "ecart": (max(scores) - min(scores)) if scores else None,
        })
    return out


def _comments(grille: Mapping[str, Any], evals: list[Evaluation]) -> list[dict[str, str]]:
    """Every comment of the signed evaluations: who, on which sub-criterion, what."""
    out = []
    for e in evals:
        for c in grille["criteres"]:
            for n, text in enumerate(e.commentaires.get(c["code"]) or []):
                if text:
                    out.append({"membre": e.user.full_name, "critere": c["titre"], "sous_critere": c["sous_criteres"][n]["libelle"], "texte": text})
    return out


def summary(session: Session, appel: Appel) -> dict[str, Any]:
    """Return the jury's summary of a call: each presented dossier's scores, total, comments, avis; ranking; allocation."""
    grille = grille_of(appel.data)
    rows = presented(session, appel)
    ids = [d.id for d, _ in rows]
    evaluations = notation.signed_evaluations(session, ids)
    avis = notation.avis_of(session, ids)
    dossiers = []
    for doc, inst in rows:
        evals = [e for e in evaluations if e.document_id == doc.id]
        totals = [weighted_total(grille, e.notes) for e in evals] if grille else []
        dossiers.append({
            "id": doc.id, "reference": doc.reference, "association": doc.summary or doc.organisation.name,
            "etat": inst.etat, "etat_label": ETATS[inst.etat].label,
            "evaluations": len(evals), "criteres": _criteria(grille, evals) if grille else [],
            "total": fmean(totals) if totals else None, "commentaires": _comments(grille, evals) if grille else [],
            "avis": notation.AVIS[avis[doc.id].avis] if doc.id in avis else None, "avis_texte": avis[doc.id].texte if doc.id in avis else None,
            "demandees": requested(doc), "accordees": inst.mesures if inst.etat in ("retenu", "notifie") else None,
            "motifs": inst.texte if inst.etat == "non_retenu" else None,
        })
    decision = session.get(Decision, appel.id)
    return {
        "appel": appel, "grille": grille, "dossiers": dossiers, "classement": ranking(appel, dossiers),
        "allocation": allocation(session, appel), "maximum": sum(c["poids"] for c in grille["criteres"]) * grille["echelle"]["max"] if grille else None,
        "decision": decision,
    }


def ranking(appel: Appel, dossiers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rank, per territory of the call, the dossiers requesting measures there: highest total first, unscored last."""
    out = []
    for t in appel.data["territoires"]:
        there = [d for d in dossiers if d["demandees"].get(t["nom"], 0) > 0]
        there.sort(key=lambda d: (d["total"] is None, -(d["total"] or 0), d["reference"]))
        out.append({"territoire": t["nom"], "dossiers": there})
    return out


def allocation(session: Session, appel: Appel) -> list[dict[str, Any]]:
    """Per territory: the call's count, the measures granted so far, what remains, the amount granted (AML §5)."""
    granted = allocated(session, appel.id)
    per_measure = Decimal(str(appel.data.get("montant_par_mesure") or "5000"))
    out = []
    for t in appel.data["territoires"]:
        done = granted.get(t["nom"], 0)
        out.append({"territoire": t["nom"], "appel": int(t["mesures"]), "accordees": done, "reste": int(t["mesures"]) - done, "montant": euros(per_measure * done)})
    return out
