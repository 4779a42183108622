"""``/api/v1/``: kinds and documents, through the same services and the same policy as the pages.

Every write goes through ``webforms.documents.services`` (the lifecycle, its checks, its log);
every read through ``webforms.policy`` (``visible_documents``, ``can_view``, ``can_edit``),
narrowed to the token's kinds and organisation. What the token may not see answers 404.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import request, send_file, url_for
from flask.typing import ResponseReturnValue
from marshmallow import RAISE
from sqlalchemy import select
from werkzeug.exceptions import HTTPException

from schemas import get_kind, registry
from schemas.base.draft import draft_of, readable
from schemas.base.kind import Kind
from webforms import db, policy
from webforms.api import access
from webforms.api.access import caller, fail, in_scope, require_write, token, visible
from webforms.api.payloads import MAX_ID, DocumentOut, DocumentPage, ErrorsOut, KindOut, ListArgs, ValidationOut
from webforms.api.spec import ApiBlueprint, schema_name
from webforms.documents import services as docs
from webforms.errors import DocumentError, ValidationFailed
from webforms.models import Document, Rendition
from webforms.rendering import MIME
from webforms.web import services

bp = ApiBlueprint("api", __name__, url_prefix="/api/v1", description="Types de document, documents, mesures, appels.")
bp.before_request(access.authenticate)
# The application answers some codes with its own HTML pages (webforms.factory): a handler for a
# code is chosen before one for a class, so the API names each to keep its errors JSON.
for _code in (400, 401, 403, 404, 405, 413, 415, 422, 429, 500):
    bp.register_error_handler(_code, access.handle_http)
bp.register_error_handler(HTTPException, access.handle_http)
bp.register_error_handler(Exception, access.handle_unexpected)

DESCRIPTIONS = {
    400: "Requête illisible (JSON invalide).",
    401: "Jeton absent, inconnu, expiré ou révoqué (les cookies de session ne sont pas acceptés).",
    403: "Le jeton ou le compte ne permet pas cette action (lecture seule, type hors de portée, document verrouillé).",
    404: "Introuvable, ou hors de la portée du jeton (son existence n'est pas révélée).",
    422: "Données refusées : les messages par champ, au format de la ligne de commande.",
    429: "Trop de requêtes pour ce jeton ; réessayer après « Retry-After » secondes.",
    503: "Service momentanément indisponible (une consultation de l'archive qui n'a pas pu être journalisée) ; réessayer.",
}


def described(*codes: int) -> Callable[[Any], Any]:
    """Describe the errors a route answers (401 and 429 on every one), each with the errors' layout."""

    def wrap(view: Any) -> Any:
        for code in sorted({401, 429, *codes}, reverse=True):
            view = bp.alt_response(code, schema=ErrorsOut, description=DESCRIPTIONS[code])(view)
        return view

    return wrap


def document_out(doc: Document) -> dict[str, Any]:
    """Return ``doc`` as the token's user reads it (the frozen data for a recipient)."""
    session = db.session()
    return {
        "id": doc.id, "kind": doc.kind, "statut": doc.statut, "statut_label": doc.statut_label,
        "reference": doc.reference, "organisation": doc.organisation.name, "summary": doc.summary,
        "created_at": doc.created_at, "updated_at": doc.updated_at, "submitted_at": doc.submitted_at,
        "versions": doc.versions, "rendering": docs.rendering(session, doc) is not None,
        "data": readable(get_kind(doc.kind).schema, docs.data_for(doc, frozen=policy.sees_frozen(caller(), doc)) or {}),
        "renditions": [
            {"id": r.id, "version": r.version, "output": r.output, "label": r.label, "format": r.format, "size": r.size,
             "sha256": r.sha256, "url": url_for("api.rendition", doc_id=doc.id, rendition_id=r.id)}
            for r in doc.renditions
        ],
    }


def _document(doc_id: int) -> Document:
    return visible(db.session().get(Document, doc_id) if doc_id <= MAX_ID else None, policy.can_view)


def _writable(doc_id: int) -> Document:
    """Return a draft the token may change; 404 if it may not see it, 403 if it may not change it."""
    require_write()
    doc = _document(doc_id)
    if not policy.can_edit(caller(), doc):
        fail(403, "Ce document n'est pas un brouillon de votre organisation : il ne peut pas être modifié.")
    return doc


def _refused(exc: DocumentError) -> ResponseReturnValue:
    """Answer a service's refusal as a 422: its field errors, then its message and what else blocks."""
    db.session().rollback()
    errors = dict(exc.errors) if isinstance(exc, ValidationFailed) else {}
    blockers = exc.blockers if isinstance(exc, ValidationFailed) else []
    errors["_schema"] = [*blockers]
    return access.error_response(422, str(exc), errors)


@bp.route("/kinds", methods=["GET"])
@bp.doc(summary="Types de document accessibles au jeton")
@bp.response(200, KindOut(many=True), description="Les types du jeton.")
@described()
def kinds() -> Any:
    """List the kinds within the token's scope."""
    return [
        {"name": k.name, "title": k.title, "standalone": k.standalone, "schema": f"#/components/schemas/{schema_name(k.schema)}"}
        for k in registry().values() if in_scope(k.name)
    ]


@bp.route("/documents", methods=["GET"])
@bp.doc(summary="Documents visibles, du plus récent au plus ancien (pagination par curseur)")
@bp.arguments(ListArgs, location="query", as_kwargs=True, unknown=RAISE)
@bp.response(200, DocumentPage, description="Une page de documents.")
@described(422)
def documents(limit: int, kind: str | None = None, statut: str | None = None, cursor: int | None = None) -> Any:
    """List the documents the token's user sees, within its kinds, newest first."""
    query = policy.visible_documents(caller()).where(Document.kind.in_(token().kinds)).order_by(None).order_by(Document.id.desc())
    if kind is not None:
        query = query.where(Document.kind == kind)
    if statut is not None:
        query = query.where(Document.statut == statut)
    if cursor is not None:
        query = query.where(Document.id < cursor)
    found = list(db.session().scalars(query.limit(limit + 1)))
    page = found[:limit]
    return {"items": [document_out(d) for d in page], "next_cursor": page[-1].id if len(found) > limit else None}


@bp.route("/documents/<int:doc_id>", methods=["GET"])
@bp.doc(summary="Un document")
@bp.response(200, DocumentOut, description="Le document.")
@described(404)
def document(doc_id: int) -> Any:
    """Read one document."""
    return document_out(_document(doc_id))


@bp.route("/documents/<int:doc_id>/validation", methods=["POST"])
@bp.doc(summary="Vérifier ce qui empêcherait la soumission (ne modifie rien)")
@bp.response(200, ValidationOut, description="Ce qui empêcherait la soumission (vide : rien).")
@described(404)
def validation(doc_id: int) -> Any:
    """Return what stops the document from being submitted, as the command line prints it."""
    doc = _document(doc_id)
    errors = docs.problems(doc, frozen=policy.sees_frozen(caller(), doc))
    blockers = docs.parent_rules(doc).blockers(doc, errors, services().clock()) if doc.statut == "brouillon" else []
    out = dict(access.plain_keys(errors))
    if blockers:
        out["_schema"] = [*out.get("_schema", []), *blockers]
    return {"valid": not out, "errors": out}


@bp.route("/documents/<int:doc_id>/submission", methods=["POST"])
@bp.doc(summary="Soumettre un brouillon : validé, numéroté, figé ; ses fichiers sont rendus ensuite")
@bp.response(200, DocumentOut, description="Le document soumis.")
@described(403, 404, 422)
def submission(doc_id: int) -> Any:
    """Submit a draft through the lifecycle service."""
    doc = _writable(doc_id)
    try:
        doc = docs.submit(db.session(), services().documents, doc, user=caller())
    except DocumentError as exc:
        return _refused(exc)
    return document_out(doc)


@bp.route("/documents/<int:doc_id>/renditions/<int:rendition_id>", methods=["GET"])
@bp.doc(
    summary="Télécharger un fichier figé (PDF, DOCX, ZIP) d'une version soumise",
    responses={"200": {"description": "Le fichier conservé, jamais rendu à nouveau.",
                       "content": {mime: {"schema": {"type": "string", "format": "binary"}} for mime in sorted(set(MIME.values()))}}},
)
@described(404)
def rendition(doc_id: int, rendition_id: int) -> Any:
    """Serve a frozen rendition of a document, as stored."""
    doc = _document(doc_id)
    found = db.session().scalar(select(Rendition).where(Rendition.id == rendition_id, Rendition.document_id == doc.id)) if rendition_id <= MAX_ID else None
    if found is None:
        fail(404, "Fichier introuvable pour ce document.")
    response = send_file(
        services().documents.store.path(found.sha256), mimetype=MIME[found.format], as_attachment=True,
        download_name=f"{doc.reference}-v{found.version}{'' if found.output == 'document' else '-' + found.output}.{found.format}",
        etag=found.sha256,
    )
    response.headers["X-Content-SHA256"] = found.sha256
    return response


def _kind_routes(kind: Kind) -> None:
    """Add the routes that create and update a draft of ``kind``, its body described by the kind's own schema."""
    # What a draft may hold, as its description says: the kind's fields, none required, no cross-field rule.
    draft = draft_of(kind.schema)

    if kind.standalone:
        @bp.route(f"/kinds/{kind.name}/documents", methods=["POST"], endpoint=f"create_{kind.name}")
        @bp.doc(summary=f"Créer un brouillon : {kind.title}", description="Les champs absents restent à remplir ; la validation dit ce qui manque.")
        @bp.arguments(draft)
        @bp.response(201, DocumentOut, description="Le brouillon créé.")
        @described(400, 403, 422)
        def create(payload: dict[str, Any]) -> Any:
            """Create a draft of the kind, as sent."""
            require_write()
            if not in_scope(kind.name) or not policy.can_create_standalone(caller(), kind.name):
                fail(403, "Ce jeton ou ce compte ne permet pas de créer ce type de document.")
            doc = docs.create_draft(db.session(), services().documents, kind_name=kind.name, user=caller(), payload=_as_sent())
            return document_out(doc), 201

    @bp.route(f"/kinds/{kind.name}/documents/<int:doc_id>", methods=["PUT"], endpoint=f"update_{kind.name}")
    @bp.doc(summary=f"Remplacer les données d'un brouillon : {kind.title}")
    @bp.arguments(draft)
    @bp.response(200, DocumentOut, description="Le brouillon enregistré.")
    @described(400, 403, 404, 422)
    def update(payload: dict[str, Any], doc_id: int) -> Any:
        """Replace the data of a draft of the kind, as sent."""
        doc = _writable(doc_id)
        if doc.kind != kind.name:
            fail(404, "Document introuvable parmi ce type.")
        try:
            doc = docs.save_draft(db.session(), services().documents, doc, user=caller(), payload=_as_sent())
        except DocumentError as exc:
            return _refused(exc)
        return document_out(doc)


def _review_route(kind: Kind) -> None:
    """Add the route that records the decision on a submitted document of ``kind``, its body described by the kind's decision schema."""
    assert kind.review is not None
    review = kind.review

    @bp.route(f"/kinds/{kind.name}/documents/<int:doc_id>/decision", methods=["POST"], endpoint=f"decide_{kind.name}")
    @bp.doc(
        summary=f"{review.title} : {kind.title}",
        description=f"Par le rôle {review.role}, sur un document soumis ; une nouvelle version figée porte la décision (comme « {review.action_label} » sur la page).",
    )
    @bp.arguments(review.schema)
    @bp.response(200, DocumentOut, description="Le document décidé ; ses fichiers sont rendus ensuite.")
    @described(400, 403, 404, 422)
    def decide(payload: dict[str, Any], doc_id: int) -> Any:
        """Record the decision through the lifecycle service, as the page does."""
        require_write()
        doc = _document(doc_id)
        if doc.kind != kind.name:
            fail(404, "Document introuvable parmi ce type.")
        if not policy.can_review(caller(), doc):
            fail(403, "Ce compte ne peut pas enregistrer de décision sur ce document.")
        try:
            doc = docs.record_review(db.session(), services().documents, doc, user=caller(), payload=_as_sent())
        except DocumentError as exc:
            return _refused(exc)
        return document_out(doc)


def _as_sent() -> dict[str, Any]:
    """Return the JSON body as sent: a draft keeps what was typed (the schema has checked its types)."""
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


for _kind in registry().values():
    _kind_routes(_kind)
    if _kind.review is not None:
        _review_route(_kind)
