"""A draft's previews: rendered by a worker a moment after a save, served by the click (issue 11, point 4).

A stored preview is served only while it shows the draft as it is: its source (every input of
the render, ``preview_source``) is compared with the draft's at each click. The lifecycle does
not call this module: ``on_event``, registered by the app factory as a listener of the moves,
asks for the previews after a draft's creation or save.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import hashlib
import inspect
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

import schemas
from schemas import get_kind
from schemas.base.kind import Output
from webforms.documents.services import Services, document_meta, parent_rules, problems
from webforms.errors import ValidationFailed
from webforms.jobs import ask, task
from webforms.jobs import services as jobs_services
from webforms.models import Apercu, Document, Event, Travail, User
from webforms.rendering import Renderer
from webforms.rendering.context import DocumentMeta, build_context

# The moves after which a complete draft's previews are asked for.
_ASKING_MOVES = frozenset({"create", "save"})


def on_event(session: Session, event: Event) -> None:
    """After a draft's creation or save: ask for its previews if it is complete; at its submission, call off those waiting."""
    if event.action in _ASKING_MOVES and event.document is not None and event.user is not None:
        ask_preview_if_complete(session, event.document, user=event.user, now=event.at)
    elif event.action == "submit" and event.document is not None:
        call_off_previews(session, event.document, now=event.at)


def call_off_previews(session: Session, doc: Document, *, now: dt.datetime) -> None:
    """Cancel the previews still waiting for ``doc``, in the submission's transaction (issue 11, CPU per submission).

    A draft saved, then submitted within the debounce (the submit button saves first), asked
    for previews that would find it submitted and render nothing: their jobs are not even run.
    Each is recorded as done with nothing rendered, as it would have recorded itself. A render
    already running stops before its next output (``render_previews``).
    """
    waiting = session.scalars(select(Travail).where(Travail.document_id == doc.id, Travail.nature == "apercu", Travail.statut == "en_attente"))
    for travail in waiting:
        # A worker that took it meanwhile finds the document submitted and renders nothing.
        jobs_services.cancel_if_waiting(session, travail, now=now, why="document soumis")


def preview_output(doc: Document, fmt: str, output: str = "document") -> Output | None:
    """The output of ``doc``'s kind a draft may download as ``fmt``, if there is one."""
    return next((o for o in get_kind(doc.kind).outputs() if o.name == output and o.fmt == fmt), None)


# Issue 11, point 4: a draft's previews are rendered by a worker a moment after a save, so that
# the click serves a stored file. The saves of the next second join the same render (a debounce):
# it reads the draft as it is when it runs.
PREVIEW_DELAY_SECONDS = 1.0


def _preview_inputs(doc: Document, output: Output) -> tuple[Mapping[str, Any], Any, DocumentMeta]:
    """Return what a draft's ``output`` is rendered from: the draft's data, its decision, its meta.

    It is marked as a draft, except a letter to sign before the submission (its signed scan
    is a piece of the dossier: what is signed is the letter itself).
    """
    return doc.data, doc.review, document_meta(doc, draft=not output.to_sign, version=doc.versions or None, issued_at=doc.submitted_at)


@functools.cache
def _code_digest() -> str:
    """Return the SHA-256 of the code that turns data into a document (kinds, context, renderer), read once."""
    roots = (Path(schemas.__file__).parent, Path(inspect.getfile(Renderer)).parent)
    digest = hashlib.sha256()
    for path in sorted(p for root in roots for p in root.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()


def preview_source(svc: Services, doc: Document, output: Output) -> str:
    """Return the SHA-256 of what a draft's ``output`` would be rendered from now.

    Every input of the render: the data, the decision, the meta (reference, organisation,
    author, due date, version), the template and the code. A stored preview whose source
    differs is stale and never served.
    """
    data, review, meta = _preview_inputs(doc, output)
    source = {
        "kind": doc.kind,
        "output": [output.name, output.fmt],
        "template": svc.renderer.template_digest(output),
        "code": _code_digest(),
        "data": data,
        "review": review,
        "meta": dataclasses.asdict(meta),
    }
    return hashlib.sha256(json.dumps(source, sort_keys=True, default=str).encode()).hexdigest()


def ask_preview(session: Session, doc: Document, *, user: User | None, now: dt.datetime, delay: float = PREVIEW_DELAY_SECONDS) -> Travail | None:
    """Ask a worker to render a draft's previews in ``delay`` seconds, unless a render already waits.

    In the caller's transaction: a change rolled back asks for nothing.
    """
    return ask(
        session,
        render_previews,
        nature="apercu",
        libelle=f"Aperçu de « {get_kind(doc.kind).title} »",
        now=now,
        user_id=user.id if user else None,
        document_id=doc.id,
        lock=f"apercu-{doc.id}",
        schedule_in=delay,
    )


def ask_preview_if_complete(session: Session, doc: Document, *, user: User, now: dt.datetime) -> None:
    """After a change of a draft: ask for its previews if it is complete (an incomplete one has none)."""
    if doc.statut == "brouillon" and not problems(doc):
        ask_preview(session, doc, user=user, now=now)


@task("rendre_apercu", queue="apercus")
def render_previews(session: Session, travail: Travail) -> dict[str, Any]:
    """Render the outputs of a draft as it is now, and store those whose source changed.

    Read when it runs, not when asked: the saves made while it waited are in it. Idempotent:
    an output already stored for the same source is not rendered again.
    """
    svc: Services = current_app.extensions["webforms.services"]
    doc = session.get(Document, travail.document_id)
    if doc is None or doc.statut != "brouillon" or problems(doc):
        return {"rendus": []}  # submitted, or made incomplete, since it was asked
    kind = get_kind(doc.kind)
    stored = {(a.output, a.format): a.source_sha256 for a in session.scalars(select(Apercu).where(Apercu.document_id == doc.id))}
    rendered = []
    for output in kind.outputs():
        if rendered:
            session.refresh(doc, ["statut"])  # submitted since this render started: the rest is of no use
            if doc.statut != "brouillon":
                break
        source = preview_source(svc, doc, output)
        if stored.get((output.name, output.fmt)) == source:
            continue
        data, review, meta = _preview_inputs(doc, output)
        ctx = build_context(kind, kind.load(data), meta, kind.review.schema().load(review) if kind.review and review else None)
        content = svc.renderer.render(output, ctx)
        row = {"sha256": svc.store.put(content), "size": len(content), "source_sha256": source, "source_at": doc.updated_at, "created_at": svc.clock()}
        insert = pg_insert(Apercu).values(document_id=doc.id, output=output.name, format=output.fmt, **row)
        # Two renders at once (a save during a render): the newer state's file stays.
        session.execute(
            insert.on_conflict_do_update(constraint="uq_apercu_output", set_=row, where=Apercu.source_at <= insert.excluded.source_at)
        )
        rendered.append(f"{output.name}.{output.fmt}")
    return {"rendus": rendered}


def preview(session: Session, svc: Services, doc: Document, output: Output, *, user: User) -> Apercu | None:
    """Return a valid draft's stored ``output`` if it shows the draft as it is; refuse an invalid draft.

    Otherwise ask for its render now, unless one is waiting or running (it will store it),
    commit, and return None: the request never renders.
    """
    found = stored_preview(session, svc, doc, output)
    if found is None and preview_work(session, doc, waiting=True) is None:
        ask_preview(session, doc, user=user, now=svc.clock(), delay=0)
        session.commit()
    return found


def stored_preview(session: Session, svc: Services, doc: Document, output: Output) -> Apercu | None:
    """Return the stored preview of ``output`` if it shows the draft as it is now; refuse an invalid draft."""
    found = session.scalars(
        select(Apercu).where(Apercu.document_id == doc.id, Apercu.output == output.name, Apercu.format == output.fmt)
    ).first()
    if found is not None and found.source_sha256 == preview_source(svc, doc, output):
        # Rendered only once valid, from these very data with this very code: the kind's checks,
        # which read nothing else, still pass (and cost most of the click, 4 to 16 ms). The
        # parent's rules read more (a call's caps, which its administrator may change).
        errors = parent_rules(doc).errors(doc, doc.data)
    else:
        found, errors = None, problems(doc)
    if errors:
        raise ValidationFailed("L'aperçu n'est possible qu'une fois le brouillon complet.", errors)
    return found


def preview_work(session: Session, doc: Document, *, waiting: bool = False) -> Travail | None:
    """Return the latest render of ``doc``'s previews (only one waiting or running if ``waiting``)."""
    query = select(Travail).where(Travail.document_id == doc.id, Travail.nature == "apercu")
    if waiting:
        query = query.where(Travail.statut.in_(("en_attente", "en_cours")))
    return session.scalars(query.order_by(Travail.id.desc())).first()
