"""``/api/v1/documents/<id>/pieces``: a dossier's pieces, listed and downloaded as the pages serve them.

The writers of the dossier read its current pieces; its recipients (``policy.sees_frozen``) the
pieces of its last deposited version only, never a correction not yet deposited (as
``candidatures.views.download_piece``). The document itself is reached as every API route
reaches one (``access.visible``: the token's kinds, ``policy.can_view``).
"""

from __future__ import annotations

from typing import Any

from flask import send_file, url_for

from webforms import db, policy
from webforms.api.access import caller, fail, visible
from webforms.api.payloads import MAX_ID, PieceOut
from webforms.api.views import bp, described
from webforms.candidatures.services import deposited_version
from webforms.documents.uploads.detect import MIME_TYPES
from webforms.models import Document, Piece
from webforms.web import services


def readable_pieces(doc: Document) -> list[Piece]:
    """Return the pieces of ``doc`` the token's user reads: current ones for its writers, the deposited ones for its recipients."""
    if policy.sees_frozen(caller(), doc):
        last = deposited_version(doc)
        return [p for p in doc.pieces if last is not None and p.version == last]
    return [p for p in doc.pieces if p.replaced_at is None]


def _document(doc_id: int) -> Document:
    return visible(db.session().get(Document, doc_id) if doc_id <= MAX_ID else None, policy.can_view)


@bp.route("/documents/<int:doc_id>/pieces", methods=["GET"])
@bp.doc(summary="Les pièces jointes d'un dossier")
@bp.response(200, PieceOut(many=True), description="Les pièces que le compte lit (aucune pour un document sans pièces).")
@described(404)
def pieces(doc_id: int) -> Any:
    """List a document's pieces the token's user reads."""
    doc = _document(doc_id)
    return [
        {**{k: getattr(p, k) for k in ("id", "code", "rang", "libelle", "original_name", "mime", "size", "sha256", "nonconforme_motif")},
         "url": url_for("api.piece", doc_id=doc.id, piece_id=p.id)}
        for p in readable_pieces(doc)
    ]


@bp.route("/documents/<int:doc_id>/pieces/<int:piece_id>", methods=["GET"])
@bp.doc(
    summary="Télécharger une pièce jointe, telle que déposée",
    responses={"200": {"description": "Le fichier déposé (une image, ré-encodée au dépôt).",
                       "content": {mime: {"schema": {"type": "string", "format": "binary"}} for mime in sorted(set(MIME_TYPES.values()))}}},
)
@described(404)
def piece(doc_id: int, piece_id: int) -> Any:
    """Serve a piece as stored, under its original name."""
    doc = _document(doc_id)
    found = next((p for p in readable_pieces(doc) if p.id == piece_id), None)
    if found is None:
        fail(404, "Pièce introuvable pour ce document.")
    response = send_file(
        services().documents.store.path(found.sha256), mimetype=found.mime, as_attachment=True, download_name=found.original_name, etag=found.sha256,
    )
    response.headers["X-Content-SHA256"] = found.sha256
    return response
