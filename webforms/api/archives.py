"""``/api/v1/archives``: the archive's records (read) and the state of its last integrity verification.

The records are those of the pages (``archive.search.visible_records``: the records of the
documents the user may see, ``policy``'s rule), for the accounts that consult the archive
(``policy.can_search_archive``), narrowed to the token's kinds. Reading one record is logged in
the audit trail as its page's view is; a record that cannot be logged is not served (503). The
verification's state is the archiviste's, as on the search page.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE
from sqlalchemy import select

from webforms import db, policy
from webforms.api.access import caller, fail, token
from webforms.api.payloads import MAX_ID, ArchivePage, ArchiveRecordOut, PageArgs, VerificationOut
from webforms.api.views import bp, described
from webforms.archive.audit import log_access
from webforms.archive.search import can_see, destroyed, visible_records
from webforms.archive.services import ArchiveError
from webforms.archive.verify import last_verification
from webforms.models import SIGNATURE_KINDS, ArchiveRecord
from webforms.web import services


def _consults() -> None:
    if not policy.can_search_archive(caller()):
        fail(403, "Ce compte ne consulte pas l'archive.")


def record_out(record: ArchiveRecord) -> dict[str, Any]:
    """Return a record as its page describes it (no household name: the archive's own columns)."""
    session = db.session()
    tomb = destroyed(session, [record.id]).get(record.id)
    successor = session.scalar(select(ArchiveRecord.id).where(ArchiveRecord.supersedes_id == record.id))
    return {
        **{k: getattr(record, k) for k in (
            "id", "document_id", "version", "kind", "reference", "deposited_at", "signature_kind", "signature_check", "signed_sha512",
            "signed_size", "retention_years", "retention_fate", "supersedes_id",
        )},
        "organisation": record.organisation.name, "signature_label": SIGNATURE_KINDS.get(record.signature_kind, record.signature_kind),
        "superseded_by_id": successor, "destroyed_at": tomb.destroyed_at if tomb else None,
    }


@bp.route("/archives", methods=["GET"])
@bp.doc(summary="Enregistrements de l'archive visibles (pagination par curseur)")
@bp.arguments(PageArgs, location="query", as_kwargs=True, unknown=RAISE)
@bp.response(200, ArchivePage, description="Une page d'enregistrements, du plus récent au plus ancien.")
@described(403, 422)
def archives_list(limit: int, cursor: int | None = None) -> Any:
    """List the records the token's user sees, of the token's kinds."""
    _consults()
    query = visible_records(caller()).where(ArchiveRecord.kind.in_(token().kinds)).order_by(ArchiveRecord.id.desc())
    if cursor is not None:
        query = query.where(ArchiveRecord.id < cursor)
    found = list(db.session().scalars(query.limit(limit + 1)))
    page = found[:limit]
    return {"items": [record_out(r) for r in page], "next_cursor": page[-1].id if len(found) > limit else None}


@bp.route("/archives/verification", methods=["GET"])
@bp.doc(summary="État de la dernière vérification d'intégrité de l'archive (archiviste)")
@bp.response(200, VerificationOut, description="La dernière vérification, ou aucune.")
@described(403)
def archives_verification() -> Any:
    """Return the outcome of the archive's latest integrity verification."""
    if not policy.can_manage_retention(caller()):  # the archiviste: the one who sees it on the search page
        fail(403, "Seul un archiviste consulte l'état des vérifications de l'archive.")
    row = last_verification(db.session())
    if row is None:
        return {"verified": False, "at": None, "ok": None, "problems": None, "records": None, "files_hashed": None}
    detail = row.detail or {}
    return {"verified": True, "at": row.at, **{k: detail.get(k) for k in ("ok", "problems", "records", "files_hashed")}}


@bp.route("/archives/<int:record_id>", methods=["GET"])
@bp.doc(summary="Un enregistrement de l'archive (consultation inscrite au journal)")
@bp.response(200, ArchiveRecordOut, description="L'enregistrement.")
@described(403, 404, 503)
def archive(record_id: int) -> Any:
    """Read one record; the view is logged in the audit trail first."""
    _consults()
    session = db.session()
    record = session.get(ArchiveRecord, record_id) if record_id <= MAX_ID else None
    if record is None or record.kind not in token().kinds or not can_see(session, caller(), record):
        fail(404, "Enregistrement introuvable, ou hors de la portée de ce jeton.")
    try:
        log_access(session, services().archive, record, "view", user=caller(), via="api")
    except ArchiveError:
        fail(503, "La consultation n'a pas pu être inscrite au journal de l'archive : réessayez.")
    return record_out(record)
