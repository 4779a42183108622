"""``/api/v1/mesures`` and ``/api/v1/appels``: measures with their due dates and meetings, calls and their dossiers' states.

Read only. Who sees what is ``webforms.policy``'s (``visible_mesures``, ``can_view_mesure``,
``visible_documents``, ``can_view``), exactly as on the pages; the token only narrows it to its
kinds: a measure is in its scope when one of its kinds is written about that type of measure
(``Kind.mesure_types``), a call when one of its kinds answers calls (``Kind.per_appel``).
"""

from __future__ import annotations

from typing import Any

from flask import url_for
from marshmallow import RAISE

from schemas import registry
from schemas.base.records import NATURES_RENCONTRE
from webforms import db, policy
from webforms.api.access import caller, fail, token
from webforms.api.payloads import MAX_ID, AppelOut, DossierOut, MesureOut, MesurePage, PageArgs
from webforms.api.views import bp, described
from webforms.candidatures import instruction
from webforms.candidatures.appels import appels as all_appels
from webforms.candidatures.appels import is_open
from webforms.mesures import services as mesures
from webforms.mesures.rules import TYPES
from webforms.models import Appel, Document, Mesure
from webforms.web import services


def measure_types() -> set[str]:
    """Return the types of measure the token's kinds are written about."""
    kinds = registry()
    return {t for name in token().kinds if name in kinds for t in kinds[name].mesure_types}


def answers_calls() -> list[str]:
    """Return the token's kinds that answer calls for applications."""
    kinds = registry()
    return [name for name in token().kinds if name in kinds and kinds[name].per_appel]


def linked(doc: Document) -> dict[str, Any]:
    """Return a document as a measure or a call lists it, with its address in the API."""
    return {
        "id": doc.id, "kind": doc.kind, "reference": doc.reference, "organisation": doc.organisation.name, "statut": doc.statut,
        "statut_label": doc.statut_label, "submitted_at": doc.submitted_at, "url": url_for("api.document", doc_id=doc.id),
    }


def _readable(doc: Document) -> bool:
    return doc.kind in token().kinds and policy.can_view(caller(), doc)


def mesure_out(mesure: Mesure) -> dict[str, Any]:
    """Return a measure as its page shows it: its dates, its computed due dates, its meetings, its documents."""
    today = services().today()
    view = mesures.overview(mesure, today, mesures.bilans_done(mesure))
    cal, natures = view.calendar, dict(NATURES_RENCONTRE)
    return {
        **{k: getattr(mesure, k) for k in (
            "id", "reference", "type_mesure", "menage_nom", "menage_prenom", "menage_commune", "travailleur_social",
            "date_bon_commande", "date_premiere_rencontre", "duree_mois", "date_fin_effective",
        )},
        "type_label": TYPES[mesure.type_mesure], "organisation": mesure.organisation.name, "referent": mesure.referent.full_name,
        "duree_accordee_mois": mesure.duree_mois + sum(r.duree_mois for r in mesure.renouvellements),
        "statut_label": view.statut_label, "date_limite_demarrage": cal.start_deadline, "demarrage_dans_les_delais": cal.start_on_time,
        "fin": cal.end,
        "echeances": [
            {"titre": d.title, "date": d.due, "source": d.source, "bilan": d.slot or None, "faite": d.done, "en_retard": d.late(today)}
            for d in cal.dues
        ],
        "periodes": [{"libelle": p.label, "debut": p.start, "fin": p.end, "bilan_du": p.bilan_due} for p in cal.periods],
        "rencontres": [{"date": r.date, "nature": r.nature, "nature_label": natures.get(r.nature, r.nature), "note": r.note} for r in mesure.rencontres],
        "renouvellements": [{"date_decision": r.date_decision, "duree_mois": r.duree_mois, "motif": r.motif} for r in mesure.renouvellements],
        "documents": [linked(d) for d in mesure.documents if _readable(d)],
    }


@bp.route("/mesures", methods=["GET"])
@bp.doc(summary="Mesures visibles, avec leurs échéances et leurs rencontres (pagination par curseur)")
@bp.arguments(PageArgs, location="query", as_kwargs=True, unknown=RAISE)
@bp.response(200, MesurePage, description="Une page de mesures, de la plus récente à la plus ancienne.")
@described(422)
def mesures_list(limit: int, cursor: int | None = None) -> Any:
    """List the measures the token's user sees, of the types its kinds are about."""
    query = policy.visible_mesures(caller()).where(Mesure.type_mesure.in_(measure_types())).order_by(None).order_by(Mesure.id.desc())
    if cursor is not None:
        query = query.where(Mesure.id < cursor)
    found = list(db.session().scalars(query.limit(limit + 1)))
    page = found[:limit]
    return {"items": [mesure_out(m) for m in page], "next_cursor": page[-1].id if len(found) > limit else None}


@bp.route("/mesures/<int:mesure_id>", methods=["GET"])
@bp.doc(summary="Une mesure, ses échéances et ses rencontres")
@bp.response(200, MesureOut, description="La mesure.")
@described(404)
def mesure(mesure_id: int) -> Any:
    """Read one measure."""
    found = db.session().get(Mesure, mesure_id) if mesure_id <= MAX_ID else None
    if found is None or found.type_mesure not in measure_types() or not policy.can_view_mesure(caller(), found):
        fail(404, "Mesure introuvable, ou hors de la portée de ce jeton.")
    return mesure_out(found)


def appel_out(appel: Appel) -> dict[str, Any]:
    """Return a call as its page shows it."""
    data = appel.data
    return {
        "id": appel.id, "code": appel.code, "titre": data["titre"], "date_limite": appel.deadline, "ouvert": is_open(appel, services().clock()),
        "periode_debut": str(data["periode_debut"]), "periode_fin": str(data["periode_fin"]),
        "territoires": [{"code": t["code"], "nom": t["nom"], "mesures": int(t["mesures"])} for t in data["territoires"]],
        "dossiers_url": url_for("api.appel_dossiers", appel_id=appel.id),
    }


def _appel(appel_id: int) -> Appel:
    found = db.session().get(Appel, appel_id) if appel_id <= MAX_ID else None
    if found is None or not answers_calls():
        fail(404, "Appel introuvable, ou hors de la portée de ce jeton.")
    return found


@bp.route("/appels", methods=["GET"])
@bp.doc(summary="Appels à candidatures (la date limite la plus tardive d'abord)")
@bp.response(200, AppelOut(many=True), description="Les appels ; aucun si le jeton n'a pas de type qui réponde à un appel.")
@described()
def appels_list() -> Any:
    """List the calls, as every signed-in user reads them on the pages."""
    return [appel_out(a) for a in all_appels(db.session())] if answers_calls() else []


@bp.route("/appels/<int:appel_id>", methods=["GET"])
@bp.doc(summary="Un appel à candidatures")
@bp.response(200, AppelOut, description="L'appel.")
@described(404)
def appel(appel_id: int) -> Any:
    """Read one call."""
    return appel_out(_appel(appel_id))


@bp.route("/appels/<int:appel_id>/dossiers", methods=["GET"])
@bp.doc(summary="Les dossiers d'un appel que le jeton peut lire, et l'état de leur instruction")
@bp.response(200, DossierOut(many=True), description="Les dossiers, du premier déposé au dernier (les brouillons ensuite).")
@described(404)
def appel_dossiers(appel_id: int) -> Any:
    """List a call's dossiers the token's user sees (their organisation's, or those they receive)."""
    found = _appel(appel_id)
    query = policy.visible_documents(caller()).where(Document.appel_id == found.id, Document.kind.in_(answers_calls()))
    docs = list(db.session().scalars(query.order_by(None).order_by(Document.submitted_at.asc().nulls_last(), Document.id)))
    session = db.session()
    out = []
    for doc in docs:
        etat = instruction.state_of(session, doc) if doc.submitted_at is not None else None
        out.append({**linked(doc), "etat": etat, "etat_label": instruction.ETATS[etat].label if etat else None})
    return out
