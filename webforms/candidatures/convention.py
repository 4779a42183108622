"""The draft convention de financement of a retained project (AML §5, §6d, §7).

Filled from the retained dossier (its association, the measures granted per territory at 5 000 €
each) and the Commission Permanente's decision, for the call's period; rendered on request as a
draft (DOCX or PDF, marked "brouillon") through the one rendering path, to be completed and signed
by the DDCS and the association. Nothing is stored: the convention is signed outside the service.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.orm import Session

from schemas import get_kind
from schemas.convention_aml import EVALUATION, FINANCEUR
from webforms import policy
from webforms.documents.services import Services
from webforms.errors import DocumentError
from webforms.models import Decision, Document, Instruction, User
from webforms.rendering.context import DocumentMeta, build_context

FORMATS = ("docx", "pdf")


def may_read(user: User, doc: Document) -> bool:
    """May ``user`` download the dossier's draft convention? Its instructeurs and its association."""
    return policy.can_instruct(user, doc) or (user.role == "redacteur" and policy.can_view(user, doc))


def association_block(doc: Document) -> dict[str, Any]:
    """The header block of a document the service writes to the dossier's association, from its deposited version."""
    porteur = (doc.submitted_data or {}).get("porteur") or {}
    return {
        "association": porteur.get("raison_sociale") or doc.organisation.name,
        "adresse": porteur.get("adresse"),
        "representant": " ".join(p for p in (porteur.get("representant_nom"), porteur.get("representant_qualite")) if p) or None,
    }


def convention_data(session: Session, doc: Document) -> dict[str, Any]:
    """The draft's values for a retained dossier; refuse in French for any other."""
    inst = session.get(Instruction, doc.id)
    if inst is None or inst.etat not in ("retenu", "notifie") or not inst.mesures:
        raise DocumentError("Seul un projet retenu, avec ses mesures accordées, a une convention de financement (AML §6d).")
    decision = session.get(Decision, doc.appel_id)
    if decision is None or doc.appel is None:
        raise DocumentError("La décision de la Commission Permanente n'est pas encore enregistrée : la convention la suit (AML §6d).")
    call = doc.appel.data
    porteur = (doc.submitted_data or {}).get("porteur") or {}
    per_measure = Decimal(str(call.get("montant_par_mesure") or "5000"))
    return {
        "parties": {"financeur": FINANCEUR, **association_block(doc), "siret": porteur.get("siret")},
        "objet": {
            "appel": call["titre"], "dossier": doc.reference, "date_commission": decision.date.isoformat(),
            "periode_debut": call.get("periode_debut"), "periode_fin": call.get("periode_fin"),
        },
        "mesures": [{"territoire": t, "nombre": n, "montant": str(per_measure * n)} for t, n in inst.mesures.items() if n > 0],
        "evaluation": EVALUATION,
    }


def draft_convention(session: Session, svc: Services, doc: Document, *, user: User, fmt: str) -> bytes:
    """Render the dossier's draft convention in ``fmt`` (docx or pdf); refuse in French otherwise."""
    if fmt not in FORMATS:
        raise DocumentError("Format inconnu : la convention se télécharge en DOCX ou en PDF.")
    kind = get_kind("convention_aml")
    data = kind.load(convention_data(session, doc))
    meta = DocumentMeta(organisation=doc.organisation.name if doc.organisation else None, author=user.full_name, issued_at=svc.clock(), draft=True)
    return svc.renderer.render(kind.output(fmt), build_context(kind, data, meta))
