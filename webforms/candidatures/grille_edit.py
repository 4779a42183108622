"""Saving a call's evaluation grid (AML §6c): from its administration page or the command line.

The grid is frozen once a member has scored against it: the scores would no longer mean what
they were given for. Each save is sealed in the audit trail. Apart from ``grille.py``, which the
command line reads without the database.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from webforms.archive import audit
from webforms.archive.services import ArchiveServices
from webforms.candidatures.grille import GrilleSchema, load_grille
from webforms.errors import ValidationFailed
from webforms.models import Appel, Document, Evaluation, User


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
