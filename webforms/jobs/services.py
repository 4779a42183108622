"""What users and administrators read of the queue: a work's progress, failures, a retry."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from webforms import policy
from webforms.errors import DocumentError
from webforms.models import Travail, User

# procrastinate's states, as the queue page names them.
JOB_STATES = {
    "todo": "En attente",
    "doing": "En cours",
    "succeeded": "Terminés",
    "failed": "En échec",
    "cancelled": "Annulés",
    "aborting": "Interruption demandée",
    "aborted": "Interrompus",
}


def can_follow(user: User, travail: Travail) -> bool:
    """May ``user`` follow ``travail``: the one who asked, whoever may see its document, an administrator."""
    if policy.can_administer(user) or travail.user_id == user.id:
        return True
    return travail.document is not None and policy.can_view(user, travail.document)


def progress(travail: Travail) -> dict[str, Any]:
    """Return a work's state as its page and its JSON read it (plain values)."""
    return {
        "id": travail.id,
        "libelle": travail.libelle,
        "statut": travail.statut,
        "statut_label": travail.statut_label,
        "fini": travail.statut in ("termine", "echec"),
        "echec": travail.statut == "echec",
        "essais": travail.essais,
        "message": {
            "en_attente": "En attente d'un processus de travail." if not travail.essais else "Un essai a échoué ; un nouvel essai est prévu dans quelques secondes.",
            "en_cours": "En cours de préparation…",
            "termine": "Terminé.",
            "echec": "Le travail n'a pas pu être fait. L'administrateur en est informé et peut le relancer ; rien de ce que vous avez enregistré n'est perdu.",
        }.get(travail.statut, ""),
    }


@dataclass(frozen=True)
class Overview:
    """The queue as an administrator sees it: jobs by queue and state, failed and current work."""

    counts: list[dict[str, Any]]
    failed: list[Travail]
    current: list[Travail]


def overview(session: Session, limit: int = 200) -> Overview:
    """Return the counts of procrastinate's jobs and the works failed or still to do."""
    rows = session.execute(text("SELECT queue_name, status::text, count(*) FROM procrastinate_jobs GROUP BY 1, 2 ORDER BY 1, 2")).all()
    counts = [{"queue": q, "status": JOB_STATES.get(s, s), "count": n} for q, s, n in rows]
    failed = session.scalars(select(Travail).where(Travail.statut == "echec").order_by(Travail.id.desc()).limit(limit)).all()
    current = session.scalars(
        select(Travail).where(Travail.statut.in_(("en_attente", "en_cours"))).order_by(Travail.id).limit(limit)
    ).all()
    return Overview(counts=counts, failed=list(failed), current=list(current))


def retry(session: Session, travail: Travail, *, now: dt.datetime) -> None:
    """Run a failed work's job once more, now; refuse a work that has not failed."""
    if travail.statut != "echec" or travail.job_id is None:
        raise DocumentError("Seul un travail en échec peut être relancé.")
    # procrastinate's own function (3.10 schema): failed -> todo, one more attempt allowed.
    session.execute(text("SELECT procrastinate_retry_job_v2(:job, :at, NULL, NULL, NULL)"), {"job": travail.job_id, "at": now})
    travail.statut = "en_attente"
    session.commit()


def fail_after_success(session: Session, travail: Travail, erreur: str) -> bool:
    """Show a work whose job succeeded as failed, with ``erreur`` in French, for the administrator to run it again.

    An e-mail accepted by the relay, then bounced (a delivery status notification read later,
    ``notifications.bounces``): its work was done, its job succeeded. Both turn failed here, so
    that the queue page lists it and "Relancer" (``retry``: procrastinate takes only a failed
    job) sends it once more. A job in any other state (asked again, running) is the queue's:
    nothing changes, and False is returned.
    """
    failed = session.execute(
        text("UPDATE procrastinate_jobs SET status = 'failed' WHERE id = :job AND status = 'succeeded' RETURNING id"), {"job": travail.job_id}
    ).first()
    if failed is None:
        return False
    travail.statut, travail.erreur = "echec", erreur
    return True


def cancel_if_waiting(session: Session, travail: Travail, *, now: dt.datetime, why: str) -> bool:
    """Cancel ``travail``'s job if no worker has taken it yet (procrastinate's own cancellation); True if cancelled.

    A cancelled work is recorded as done with nothing produced and ``why`` (as its task would
    have recorded itself). A job already taken runs on: its task must find for itself that it
    has nothing left to do. A work with no job (never deferred) counts as cancelled.
    """
    if travail.job_id is not None:
        cancelled = session.execute(text("SELECT procrastinate_cancel_job_v1(:job, false, false)"), {"job": travail.job_id}).scalar()
        if cancelled is None:
            return False
    travail.statut, travail.finished_at, travail.resultat = "termine", now, {"rendus": [], "annule": why}
    return True
