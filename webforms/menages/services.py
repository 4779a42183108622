"""The household file: the thread of measures a household went through, as one timeline.

A household is not a table: its file is the thread its measures form (``MesureOrigine``: the
referral that opened the first, the bilan that asked for the next). Every entry is filtered by
``policy``, so a reader sees only what they may read elsewhere; every opening is logged in the
audit trail (identifiers only).
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from schemas import registry
from schemas.base.records import MOTIFS_FIN, NATURES_RENCONTRE
from webforms import policy
from webforms.archive import audit
from webforms.archive.services import ArchiveError, ArchiveServices
from webforms.mesures.rules import TYPES
from webforms.models import ArchiveRecord, Document, Event, Mesure, MesureOrigine, User
from webforms.timeutil import paris_date

SEARCH_LIMIT = 50
LOG_ATTEMPTS = 8


@dataclass(frozen=True)
class Entry:
    """One step of the timeline: its day, what happened, and the page to open if the reader may."""

    day: dt.date
    label: str
    mesure: str
    url: tuple[str, dict[str, int]] | None = None


def thread_of(session: Session, mesure: Mesure) -> list[Mesure]:
    """Every measure of the household's thread containing ``mesure``, the first one first."""
    root, seen = mesure, {mesure.id}
    while (origin := session.get(MesureOrigine, root.id)) is not None and origin.precedente is not None and origin.precedente.id not in seen:
        root = origin.precedente
        seen.add(root.id)
    found, queue = [root], [root]
    while queue:
        current = queue.pop(0)
        for nxt in session.scalars(select(MesureOrigine).where(MesureOrigine.mesure_precedente_id == current.id).order_by(MesureOrigine.mesure_id)):
            if nxt.mesure not in found:
                found.append(nxt.mesure)
                queue.append(nxt.mesure)
    return found


def _referral_entries(session: Session, user: User, root: Mesure) -> list[Entry]:
    origin = session.get(MesureOrigine, root.id)
    saisine = origin.saisine if origin else None
    if saisine is None:
        return []
    # Its date and reference belong to the thread; its content only to those who read it.
    link = ("documents.view", {"doc_id": saisine.id}) if policy.can_view(user, saisine) else None
    out = []
    if saisine.submitted_at:
        out.append(Entry(paris_date(saisine.submitted_at), f"Fiche saisine {saisine.reference} déposée", root.reference, link))
    if saisine.reviewed_at:
        out.append(Entry(paris_date(saisine.reviewed_at), "Décision du coordinateur : orientation validée (AML §4)", root.reference, link))
    return out


def _document_entries(session: Session, user: User, mesure: Mesure) -> list[Entry]:
    kinds = registry()
    out = []
    docs = [d for d in mesure.documents if policy.can_view(user, d)]
    for doc in docs:
        title = kinds[doc.kind].title if doc.kind in kinds else doc.kind
        link = ("documents.view", {"doc_id": doc.id})
        if doc.submitted_at is None:
            out.append(Entry(paris_date(doc.created_at), f"{title} : brouillon commencé", mesure.reference, link))
        else:
            late = " (après son échéance)" if doc.late else ""
            out.append(Entry(paris_date(doc.submitted_at), f"{title} {doc.reference} transmis{late}", mesure.reference, link))
    records = session.scalars(select(ArchiveRecord).where(ArchiveRecord.document_id.in_([d.id for d in docs]))).all() if docs else []
    out += [Entry(paris_date(r.deposited_at), f"Copie signée de {r.reference} archivée", mesure.reference, ("documents.view", {"doc_id": r.document_id})) for r in records]
    return out


def _mesure_entries(user: User, mesure: Mesure) -> list[Entry]:
    link = ("mesures.view", {"mesure_id": mesure.id})
    ref = mesure.reference
    natures = dict(NATURES_RENCONTRE)
    out = [Entry(paris_date(mesure.created_at), f"Mesure {TYPES[mesure.type_mesure]} ouverte", ref, link)]
    if mesure.date_bon_commande:
        out.append(Entry(mesure.date_bon_commande, "Bon de commande reçu", ref, link))
    out += [Entry(r.date, f"Rencontre : {natures.get(r.nature, r.nature)}", ref, link) for r in mesure.rencontres]
    out += [Entry(r.date_decision, f"Renouvellement de {r.duree_mois} mois décidé (ASLL §8)", ref, link) for r in mesure.renouvellements]
    if mesure.date_fin_effective:
        out.append(Entry(mesure.date_fin_effective, f"Mesure close : {dict(MOTIFS_FIN).get(mesure.motif_fin, mesure.motif_fin)}", ref, link))
    return out


# A Maintien request follows the Installation bilan that opened it (ASLL §9.1): a correction
# withdraws it, another asks it again (``mesures.thread``); each step logged, each on the file.
_REQUEST_STEPS = {
    "withdraw_maintien": "Demande de Maintien retirée par le bilan d'Installation corrigé (ASLL §9.1)",
    "open_maintien": "Demande de Maintien demandée de nouveau par le bilan d'Installation corrigé (ASLL §9.1)",
}


def _request_entries(session: Session, mesure: Mesure) -> list[Entry]:
    """The withdrawals and reopenings of a Maintien request, in the order logged; its first opening is the measure's own line."""
    if mesure.type_mesure != "asll_maintien":
        return []
    logged = session.scalars(
        select(Event).where(Event.document_id.is_(None), Event.action.in_(tuple(_REQUEST_STEPS)), Event.detail["mesure"].as_integer() == mesure.id).order_by(Event.at, Event.id)
    ).all()
    link = ("mesures.view", {"mesure_id": mesure.id})
    steps = [e for e in logged if e.action == "withdraw_maintien" or any(w.action == "withdraw_maintien" and w.id < e.id for w in logged)]
    return [Entry(paris_date(e.at), _REQUEST_STEPS[e.action], mesure.reference, link) for e in steps]


def timeline(session: Session, user: User, mesure: Mesure) -> dict[str, Any]:
    """The household's file as plain values: its measures and every step, oldest first."""
    mesures = [m for m in thread_of(session, mesure) if policy.can_view_mesure(user, m)]
    entries = _referral_entries(session, user, mesures[0]) if mesures else []
    for m in mesures:
        entries += _mesure_entries(user, m) + _request_entries(session, m) + _document_entries(session, user, m)
    entries.sort(key=lambda e: e.day)
    return {
        "menage": f"{mesure.menage_nom} {mesure.menage_prenom}",
        "mesures": [{"id": m.id, "reference": m.reference, "type": TYPES[m.type_mesure], "operateur": m.organisation.name} for m in mesures],
        "entries": entries,
    }


def _like(text: str) -> str:
    """A LIKE pattern matching ``text`` anywhere, its wildcards taken literally."""
    return "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search(session: Session, user: User, text: str) -> list[dict[str, Any]]:
    """The measures and referrals ``user`` may read whose household name or reference contains ``text``."""
    text = text.strip()[:100]
    if len(text) < 2:
        return []
    pattern = _like(text)
    mesures = session.scalars(
        policy.visible_mesures(user)
        .where(or_(Mesure.menage_nom.ilike(pattern), Mesure.menage_prenom.ilike(pattern), Mesure.reference.ilike(pattern)))
        .limit(SEARCH_LIMIT)
    ).unique().all()
    found = [
        {"label": f"{m.menage_nom} {m.menage_prenom}", "detail": f"{m.reference} – {TYPES[m.type_mesure]} – {m.organisation.name}", "url": ("menages.file", {"mesure_id": m.id})}
        for m in mesures
    ]
    referrals = session.scalars(
        policy.visible_documents(user)
        .where(Document.kind == "fiche_saisine", or_(Document.summary.ilike(pattern), Document.reference.ilike(pattern)))
        .limit(SEARCH_LIMIT)
    ).unique().all()
    opened = {o.saisine_id: o.mesure_id for o in session.scalars(select(MesureOrigine).where(MesureOrigine.saisine_id.in_([d.id for d in referrals])))}
    for doc in referrals:
        mesure_id = opened.get(doc.id)
        visible = mesure_id is not None and policy.can_view_mesure(user, session.get(Mesure, mesure_id))  # type: ignore[arg-type]
        url = ("menages.file", {"mesure_id": mesure_id}) if visible else ("documents.view", {"doc_id": doc.id})
        found.append({"label": doc.summary, "detail": f"Fiche saisine {doc.reference or '(brouillon)'}", "url": url})
    return found


def log_opening(session: Session, svc: ArchiveServices, mesure: Mesure, *, user: User) -> None:
    """Log the opening of a household's file in the audit trail, in its own short transaction.

    Like an archived record's view, a file that cannot be logged is not shown (``ArchiveError``).
    """
    for attempt in range(LOG_ATTEMPTS):
        audit.log(session, svc.clock(), "household_view", key=svc.seal_key, user=user, mesure=mesure.id)
        try:
            audit.commit(session, svc)
            return
        except ArchiveError:
            if attempt == LOG_ATTEMPTS - 1:
                raise
            time.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
