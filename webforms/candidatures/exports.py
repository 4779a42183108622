"""The jury's work exported: the grid and the allocation as a spreadsheet, the procès-verbal as a PDF (AML §5, §6c, §6d).

Both read the same plain values as the summary page (``synthese.summary``), plus every signed
score for the spreadsheet. The procès-verbal goes through the one HTML → PDF path (the
renderer's locked-down environment and fetcher), signed by the jury's chair: the Département's
member (the call's author, AML §6d; docs/decisions.md).
"""

from __future__ import annotations

import io
from statistics import fmean
from typing import Any

from openpyxl import Workbook
from sqlalchemy.orm import Session

from webforms.candidatures import notation, synthese
from webforms.candidatures.grille import weighted_total
from webforms.candidatures.jury import ORGANISMES, jury_of
from webforms.documents.services import Services
from webforms.models import Appel, Evaluation
from webforms.rendering.context import date_fr
from webforms.rendering.pages import PROCES_VERBAL


def _scores_rows(session: Session, summary: dict[str, Any]) -> list[list[Any]]:
    """One row per signed score: dossier, association, member, body, criterion, sub-criterion, score, comment."""
    grille = summary["grille"]
    if grille is None:  # a call without a grid has no score
        return []
    by_id = {d["id"]: d for d in summary["dossiers"]}
    _, members = jury_of(session, summary["appel"])
    bodies = {m.user_id: ORGANISMES.get(m.organisme, m.organisme) for m in members}
    rows = []
    for e in notation.signed_evaluations(session, list(by_id)):
        d = by_id[e.document_id]
        for c in grille["criteres"]:
            for n, sub in enumerate(c["sous_criteres"]):
                rows.append([d["reference"], d["association"], e.user.full_name, bodies.get(e.user_id, ""), c["titre"], sub["libelle"], e.notes[c["code"]][n], e.commentaires[c["code"]][n]])
    return rows


def _member_rows(session: Session, summary: dict[str, Any]) -> list[list[Any]]:
    """One row per signed evaluation: dossier, association, member, body, the member's score per criterion, its weighted total."""
    grille = summary["grille"]
    if grille is None:
        return []
    by_id = {d["id"]: d for d in summary["dossiers"]}
    _, members = jury_of(session, summary["appel"])
    bodies = {m.user_id: ORGANISMES.get(m.organisme, m.organisme) for m in members}
    return [
        [by_id[e.document_id]["reference"], by_id[e.document_id]["association"], e.user.full_name, bodies.get(e.user_id, ""),
         *(round(fmean(e.notes[c["code"]]), 2) for c in grille["criteres"]), round(weighted_total(grille, e.notes), 2)]
        for e in notation.signed_evaluations(session, list(by_id))
    ]


def grid_xlsx(session: Session, appel: Appel) -> bytes:
    """The call's jury grid (every signed score), its summary and its allocation, as an XLSX workbook."""
    summary = synthese.summary(session, appel)
    book = Workbook()
    notes = book.active
    notes.title = "Notes"
    notes.append(["Dossier", "Association", "Membre du jury", "Organisme", "Critère", "Sous-critère", "Note", "Commentaire"])
    for row in _scores_rows(session, summary):
        notes.append(row)
    titles = [c["titre"] for c in (summary["grille"] or {"criteres": []})["criteres"]]
    # Each member's score per criterion (the mean of its sub-criteria) and total, per dossier (issue 12).
    per_member = book.create_sheet("Notes par critère")
    per_member.append(["Dossier", "Association", "Membre du jury", "Organisme", *titles, "Total", "Sur"])
    for row in _member_rows(session, summary):
        per_member.append([*row, summary["maximum"]])
    recap = book.create_sheet("Synthèse")
    recap.append(["Dossier", "Association", "État", *(f"{t} (moyenne)" for t in titles), "Total", "Sur", "Avis du jury", "Texte de l'avis"])
    for d in summary["dossiers"]:
        means = [None if c["moyenne"] is None else round(c["moyenne"], 2) for c in d["criteres"]]
        total = None if d["total"] is None else round(d["total"], 2)
        recap.append([d["reference"], d["association"], d["etat_label"], *means, total, summary["maximum"], d["avis"], d["avis_texte"]])
    allocation = book.create_sheet("Allocation")
    allocation.append(["Territoire", "Mesures de l'appel", "Accordées", "Reste à allouer", "Montant accordé"])
    for a in summary["allocation"]:
        allocation.append([a["territoire"], a["appel"], a["accordees"], a["reste"], a["montant"]])
    allocation.append([])
    allocation.append(["Dossier", "Association", *(a["territoire"] for a in summary["allocation"])])
    for d in summary["dossiers"]:
        if d["accordees"]:
            allocation.append([d["reference"], d["association"], *(d["accordees"].get(a["territoire"], 0) for a in summary["allocation"])])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _by_member(grille: dict[str, Any] | None, evaluation: Evaluation | None) -> tuple[list[str], str]:
    """A member's signed scores of a dossier: per criterion the mean of its sub-criteria, and the weighted total ("–" unsigned)."""
    if grille is None or evaluation is None:
        return ["–"] * len((grille or {"criteres": []})["criteres"]), "–"
    means = [synthese.score_text(fmean(evaluation.notes[c["code"]])) for c in grille["criteres"]]
    return means, synthese.score_text(weighted_total(grille, evaluation.notes))


def proces_verbal_context(session: Session, appel: Appel) -> dict[str, Any]:
    """The procès-verbal's plain values: the jury, its members, each dossier's scores (each member's and their mean) and avis, the allocation, the decision."""
    summary = synthese.summary(session, appel)
    jury, members = jury_of(session, appel)
    seated = [{"nom": m.user.full_name, "organisme": ORGANISMES.get(m.organisme, m.organisme), "code": m.organisme} for m in members]
    chair = next((m for m in seated if m["code"] == "departement"), None)
    # "members, date, scores, avis, allocation" (issue 12): each member's own scores, not only the means.
    signed = {(e.document_id, e.user_id): e for e in notation.signed_evaluations(session, [d["id"] for d in summary["dossiers"]])}
    own = {d["id"]: [_by_member(summary["grille"], signed.get((d["id"], m.user_id))) for m in members] for d in summary["dossiers"]}
    dossiers = [
        {
            **{k: d[k] for k in ("reference", "association", "etat_label", "avis", "avis_texte", "evaluations")},
            "criteres": [
                {
                    "titre": c["titre"], "notes": [means[i] for means, _ in own[d["id"]]],
                    "moyenne": "–" if c["moyenne"] is None else synthese.score_text(c["moyenne"]), "ecart": "–" if c["ecart"] is None else synthese.score_text(c["ecart"]),
                }
                for i, c in enumerate(d["criteres"])
            ],
            "totaux": [total for _, total in own[d["id"]]],
            "total": "non noté" if d["total"] is None else synthese.score_text(d["total"]),
            "accordees": [f"{t} : {n}" for t, n in (d["accordees"] or {}).items()],
            "motifs": d["motifs"],
        }
        for d in summary["dossiers"]
    ]
    return {
        "appel": {"titre": appel.data["titre"], "code": appel.code},
        "jury": {"date": date_fr(jury.date) if jury else "non configuré", "membres": seated, "president": chair},
        "maximum": summary["maximum"],
        "dossiers": dossiers,
        "allocation": summary["allocation"],
        "decision": date_fr(summary["decision"].date) if summary["decision"] else None,
    }


def proces_verbal_pdf(session: Session, svc: Services, appel: Appel) -> bytes:
    """The jury's procès-verbal as a PDF, signed by its chair (AML §6d)."""
    return svc.renderer.render(PROCES_VERBAL, proces_verbal_context(session, appel))
