"""The lifecycle of a document: brouillon -> soumis (frozen) -> decide (DESIGN §3).

Services take a session and plain values and know nothing of the web request. Each move is
checked against ``MOVES`` and logged as an ``Event``.

This is the bottom layer: a document's parent (its call, its measure) adds its own rules
through ``ParentRules``, implemented by the features that own the parent and registered by the
app factory, so that the lifecycle names none of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from schemas import get_kind
from schemas.base.kind import Kind
from webforms.documents.reviews import review_rules
from webforms.documents.storage import FileStore
from webforms.errors import DocumentError, ValidationFailed, merge_errors
from webforms.jobs import PRIORITY, ask, task
from webforms.models import Counter, Document, Event, Rendition, Travail, User
from webforms.rendering import Renderer
from webforms.rendering.context import DocumentMeta, build_context
from webforms.rendering.marque import data_digest
from webforms.timeutil import Clock

# action -> (states it may start from, state it leads to)
MOVES: dict[str, tuple[frozenset[str], str]] = {
    "save": (frozenset({"brouillon"}), "brouillon"),
    "submit": (frozenset({"brouillon"}), "soumis"),
    "review": (frozenset({"soumis", "decide"}), "decide"),
    "reopen": (frozenset({"soumis"}), "brouillon"),
}

@dataclass(frozen=True)
class Services:
    """What the document services need besides a session: storage, renderer and clock."""

    store: FileStore
    renderer: Renderer
    clock: Clock


class ParentRules(Protocol):
    """What a document's parent (its call, its measure) adds to the lifecycle; by default nothing.

    Implementations subclass it to inherit the defaults and override what their parent adds.
    """

    def check_open(self, doc: Document, now: dt.datetime) -> None:
        """Refuse any change to the document, e.g. once its parent's deadline has passed."""

    def normalise(self, doc: Document, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Return ``payload`` with the values the parent fixes, applied at every save."""
        return dict(payload)

    def errors(self, doc: Document, data: Mapping[str, Any]) -> dict[str, Any]:
        """Return what the parent forbids in ``data``, in marshmallow's layout."""
        return {}

    def blockers(self, doc: Document, errors: Mapping[str, Any], now: dt.datetime) -> list[str]:
        """Return what else stops the submission, one French line each (pieces, deadline)."""
        return []

    def on_submit(self, doc: Document, version: int, now: dt.datetime) -> None:
        """Update what the submission changes on the parent's side, before the freeze."""

    def extra_renditions(self, svc: Services, doc: Document, ctx: dict[str, Any], produced: Mapping[tuple[str, str], Rendition], at: dt.datetime) -> list[Rendition]:
        """Store what the parent adds to a frozen version made at ``at``; return its renditions, unattached."""
        return []

    def notices(self, doc: Document, now: dt.datetime) -> list[str]:
        """Return what the draft's form should say about the parent, one French line each (a deadline near)."""
        return []

    def check_fill(self, svc: Services, doc: Document, ctx: dict[str, Any]) -> None:
        """Fill the templates of the pages the parent adds (a cover), without printing them; raise ``TemplateFailure`` if one cannot be."""


class NoParent(ParentRules):
    """A document without a parent: the lifecycle alone."""


_NO_PARENT = NoParent()
# The rules of each kind of parent, by the ``Document`` attribute that holds it ("appel",
# "mesure"). Filled by the app factory, which knows every feature (``register_parent``).
_PARENTS: dict[str, ParentRules] = {}


def register_parent(attribute: str, rules: ParentRules) -> None:
    """Make ``rules`` apply to every document whose ``attribute`` (its parent) is set."""
    _PARENTS[attribute] = rules


def parent_rules(doc: Document) -> ParentRules:
    """Return the rules of ``doc``'s parent, or no rules for a document without one."""
    if not _PARENTS:
        # Without them a candidature would pass its deadline and its call's caps unchecked:
        # fail loudly rather than apply no rule (a process that skipped create_app).
        raise RuntimeError("Règles des parents non inscrites : créez l'application (webforms.create_app) avant d'utiliser les services.")
    return next((rules for attribute, rules in _PARENTS.items() if getattr(doc, attribute) is not None), _NO_PARENT)


def check_move(doc: Document, action: str) -> str:
    """Return the state ``action`` leads to from the document's state; refuse an illegal move."""
    sources, target = MOVES[action]
    if doc.statut not in sources:
        raise DocumentError(
            {
                "save": "Ce document a été soumis : il est verrouillé et ne peut plus être modifié.",
                "submit": "Ce document a déjà été soumis.",
                "review": "La décision ne peut être enregistrée que sur un document soumis.",
                "reopen": "Seul un document déposé peut être rouvert.",
            }[action]
        )
    return target


# What the features do when a document's move is logged (its notifications), by name. Filled by
# the app factory (``register_listener``), so that the lifecycle names none of them.
_LISTENERS: dict[str, Callable[[Session, Event], None]] = {}


def register_listener(name: str, listener: Callable[[Session, Event], None]) -> None:
    """Make ``listener(session, event)`` run, in the move's transaction, for every move logged."""
    _LISTENERS[name] = listener


def log_event(session: Session, doc: Document | None, user: User | None, action: str, now: dt.datetime, **detail: Any) -> Event:
    """Log a move of ``doc`` and tell the listeners, in the caller's transaction."""
    event = Event(document=doc, user=user, action=action, at=now, detail=detail)
    session.add(event)
    for listener in _LISTENERS.values():
        listener(session, event)
    return event



def _summary(kind: Kind, payload: Mapping[str, Any]) -> str:
    valid, _ = kind.load_partial(payload)
    return kind.summary(valid)[:300]


def create_draft(
    session: Session,
    svc: Services,
    *,
    kind_name: str,
    user: User,
    payload: Mapping[str, Any],
    mesure_id: int | None = None,
    appel_id: int | None = None,
) -> Document:
    """Start a draft of ``kind_name`` for the user's organisation, saved as typed.

    A candidature (``appel_id``) is unique per organisation and call: a second one raises
    ``IntegrityError`` (after rolling back), which ``candidatures.open_dossier`` handles.
    """
    kind = get_kind(kind_name)
    now = svc.clock()
    doc = Document(
        kind=kind.name,
        organisation_id=user.organisation_id,
        author_id=user.id,
        statut="brouillon",
        data=dict(payload),
        summary=_summary(kind, payload),
        mesure_id=mesure_id,
        appel_id=appel_id,
        created_at=now,
        updated_at=now,
    )
    session.add(doc)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise
    log_event(session, doc, user, "create", now)  # asks for its previews (documents.previews)
    session.commit()
    return doc


def check_open(doc: Document, now: dt.datetime) -> None:
    """Refuse any change to a document its parent closes (a candidature after its call's deadline)."""
    parent_rules(doc).check_open(doc, now)


def save_draft(session: Session, svc: Services, doc: Document, *, user: User, payload: Mapping[str, Any]) -> Document:
    """Save the form as typed; invalid values are kept, so nothing typed is lost."""
    check_move(doc, "save")
    kind = get_kind(doc.kind)
    now = svc.clock()
    check_open(doc, now)
    payload = parent_rules(doc).normalise(doc, payload)
    doc.data = dict(payload)
    if doc.submitted_at is None:
        # A reopened dossier keeps the label of its deposited version until it is deposited again.
        doc.summary = _summary(kind, payload)
    doc.updated_at = now
    log_event(session, doc, user, "save", now)  # asks for its previews (documents.previews)
    session.commit()
    return doc


def data_for(doc: Document, *, frozen: bool) -> dict[str, Any]:
    """The data a reader reads: the last submitted data when ``frozen`` (a recipient, even while
    a dossier is reopened for correction) and there is some, else the form as last saved."""
    return doc.submitted_data if frozen and doc.submitted_data is not None else doc.data


def reading(doc: Document, *, frozen: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return ``(valid part, problems)`` of the data, read once: the problems stop a submission.

    The parent adds its rules (a call's territories, amount...). ``frozen``: the last submitted data.
    """
    data = data_for(doc, frozen=frozen)
    valid, errors = get_kind(doc.kind).load_partial(data)
    return valid, merge_errors(errors, parent_rules(doc).errors(doc, data))


def problems(doc: Document, *, frozen: bool = False) -> dict[str, Any]:
    """Return what stops the document from being submitted (see ``reading``)."""
    return reading(doc, frozen=frozen)[1]


def next_reference(session: Session, prefix: str, year: int) -> str:
    """Return the next reference number, e.g. ``FS-2019-000001``, unique per prefix and year."""
    # The year's first number: two submissions at once must not both create its counter (one
    # would fail on the duplicate key). The insert waits for the other's, then does nothing.
    session.execute(pg_insert(Counter).values(prefix=prefix, year=year, last=0).on_conflict_do_nothing())
    counter = session.get_one(Counter, (prefix, year), with_for_update=True, populate_existing=True)
    counter.last += 1
    session.flush()
    return f"{prefix}-{year}-{counter.last:06d}"


def document_meta(doc: Document, *, draft: bool, version: int | None, issued_at: dt.datetime | None, digest: str | None = None) -> DocumentMeta:
    return DocumentMeta(
        reference=doc.reference,
        organisation=doc.organisation.name if doc.organisation else None,
        author=doc.author.full_name if doc.author else None,
        issued_at=issued_at,
        draft=draft,
        version=version,
        due=doc.echeance_date,
        late=doc.late,
        digest=digest,
    )


def context_for(doc: Document, *, draft: bool | None = None, frozen: bool | None = None, printed: bool = True) -> dict[str, Any]:
    """Return the render context of a document: the frozen data once submitted, else the draft.

    ``printed=False``: for a page showing the content, which prints no mark (drawing its QR
    code was a quarter of the document page's CPU, issue 11); its ``marque`` is then empty.
    """
    kind = get_kind(doc.kind)
    is_draft = doc.statut == "brouillon" if draft is None else draft
    # A reopened dossier is a draft again: its preview shows the corrections, not the frozen
    # data (unless the reader is a recipient, who reads the last frozen version).
    if frozen is None:
        frozen = doc.statut != "brouillon"
    data = kind.load(data_for(doc, frozen=frozen))
    review = kind.review.schema().load(doc.review) if kind.review and doc.review else None
    version = doc.versions or None
    digest = data_digest(doc.submitted_data, doc.review) if frozen and printed else None
    return build_context(kind, data, document_meta(doc, draft=is_draft, version=version, issued_at=doc.submitted_at, digest=digest), review)


def _ask_render(session: Session, doc: Document, *, user: User, label: str, now: dt.datetime) -> int:
    """Number the next version and ask a worker to render it, in the caller's transaction.

    What the version shows is frozen here (its data, its decision): a worker rendering it later
    renders this version, whatever the document became since (issue 11, point 4).
    """
    doc.versions += 1
    ask(
        session,
        render_version,
        nature="rendu",
        libelle=f"{label} de {doc.reference}",
        now=now,
        user_id=user.id,
        document_id=doc.id,
        parametres={"version": doc.versions, "label": label, "at": now.isoformat(), "data": doc.submitted_data, "review": doc.review,
                    "issued_at": doc.submitted_at.isoformat() if doc.submitted_at else None},
    )
    return doc.versions


@task("rendre_version", queue="rendus", priority=PRIORITY["attendu"])
def render_version(session: Session, travail: Travail) -> dict[str, Any]:
    """Render every output of a frozen version once, store the bytes by SHA-256, record each.

    The outputs are the kind's document (DOCX and PDF) and its annexes; the parent may add its
    own (a candidature's complete dossier: one PDF and one ZIP).
    """
    svc: Services = current_app.extensions["webforms.services"]
    doc = session.get_one(Document, travail.document_id)
    asked = travail.parametres
    version, label, at = asked["version"], asked["label"], dt.datetime.fromisoformat(asked["at"])
    issued_at = dt.datetime.fromisoformat(asked["issued_at"]) if asked["issued_at"] else None
    kind = get_kind(doc.kind)
    review = kind.review.schema().load(asked["review"]) if kind.review and asked["review"] else None
    # The mark printed on each page names this version and digests its frozen data (issue 15).
    meta = document_meta(doc, draft=False, version=version, issued_at=issued_at, digest=data_digest(asked["data"], asked["review"]))
    ctx = build_context(kind, kind.load(asked["data"]), meta, review)
    produced: dict[tuple[str, str], Rendition] = {}
    # Each template's version in force is looked up once for the whole version (issue 18): the
    # file, its recorded digest and its recorded number come from the same version.
    with svc.renderer.pinned():
        for output in kind.outputs():
            version_in_force = svc.renderer.version(output)
            data = svc.renderer.render(output, ctx)
            rendition = Rendition(
                document=doc,
                version=version,
                label=label,
                output=output.name,
                format=output.fmt,
                sha256=svc.store.put(data),
                size=len(data),
                template_name=output.template,
                template_sha256=svc.renderer.template_digest(output),
                template_version=version_in_force.number if version_in_force else None,
                created_at=at,
            )
            session.add(rendition)
            produced[(output.name, output.fmt)] = rendition
        for rendition in parent_rules(doc).extra_renditions(svc, doc, ctx, produced, at):
            rendition.document, rendition.version, rendition.label, rendition.created_at = doc, version, label, at
            session.add(rendition)
    return {"version": version}


def check_fill(svc: Services, doc: Document, *, now: dt.datetime, review: Any = None) -> None:
    """Fill every template of the version about to be frozen, and the parent's pages, without printing (a few ms).

    A template these data cannot fill (issue 18) is refused here in French, while still a draft.
    """
    kind = get_kind(doc.kind)
    if review is None and kind.review and doc.review:
        review = kind.review.schema().load(doc.review)
    ctx = build_context(kind, kind.load(doc.data if doc.statut == "brouillon" else doc.submitted_data), document_meta(doc, draft=False, version=doc.versions + 1, issued_at=doc.submitted_at or now), review)
    for output in kind.outputs():
        svc.renderer.dry_fill(output, ctx)
    parent_rules(doc).check_fill(svc, doc, ctx)


def rendering(session: Session, doc: Document) -> Travail | None:
    """Return the render of ``doc``'s latest version while it is still to be done, else None."""
    return session.scalars(
        select(Travail)
        .where(Travail.document_id == doc.id, Travail.nature == "rendu", Travail.statut != "termine")
        .order_by(Travail.id.desc())
    ).first()


def _claim(session: Session, doc: Document, target: str, now: dt.datetime) -> None:
    """Move the document in the database before anything is numbered or rendered.

    Of two submissions at once (a double click, two tabs), the second waits for the first's
    commit, then finds the document no longer in its state, and is refused.
    """
    claimed = session.execute(
        update(Document).where(Document.id == doc.id, Document.statut == doc.statut).values(statut=target, updated_at=now),
        execution_options={"synchronize_session": False},
    ).rowcount
    if claimed != 1:
        session.rollback()
        raise DocumentError("Ce document vient d'être soumis : il est verrouillé.")


def submit(session: Session, svc: Services, doc: Document, *, user: User) -> Document:
    """Validate, lock, number and freeze the document; refuse with every problem otherwise.

    A document submitted again after a correction (a reopened dossier) keeps its reference and
    gets a new frozen version; the previous versions stay readable.
    """
    target = check_move(doc, "submit")
    kind = get_kind(doc.kind)
    now = svc.clock()
    errors = problems(doc)
    blockers = parent_rules(doc).blockers(doc, errors, now)
    if errors or blockers:
        raise ValidationFailed("Le document ne peut pas être soumis : corrigez les erreurs signalées.", errors, blockers)
    check_fill(svc, doc, now=now)
    _claim(session, doc, target, now)
    version = doc.versions + 1
    parent_rules(doc).on_submit(doc, version, now)
    doc.submitted_data = kind.dump(kind.load(doc.data))
    doc.summary = _summary(kind, doc.data)
    doc.reference = doc.reference or next_reference(session, kind.reference_prefix, now.year)
    doc.submitted_at = now
    doc.updated_at = now
    # Told to the object too: the claim's UPDATE bypasses it, and the freeze reads its statut.
    doc.statut = target
    # The render is a worker's (webforms.jobs): the request only records it, so that no one
    # waits on it and the database's locks are held for milliseconds, not for a render.
    _ask_render(session, doc, user=user, label="Version soumise" if version == 1 else f"Version soumise n° {version}", now=now)
    log_event(session, doc, user, "submit", now, reference=doc.reference, version=version)
    session.commit()
    return doc


def record_review(session: Session, svc: Services, doc: Document, *, user: User, payload: Mapping[str, Any]) -> Document:
    """Record the reviewer's decision and freeze a new version that carries it."""
    kind = get_kind(doc.kind)
    if kind.review is None:
        raise DocumentError("Ce type de document n'appelle pas de décision.")
    target = check_move(doc, "review")
    errors = kind.review.schema().validate(payload)
    if errors:
        raise ValidationFailed("La décision n'est pas complète : corrigez les erreurs signalées.", errors)
    now = svc.clock()
    schema = kind.review.schema()
    rules = review_rules(doc)
    review = rules.complete(session, doc, schema.load(payload), user=user)
    check_fill(svc, doc, now=now, review=review)
    doc.review = schema.dump(review)
    doc.reviewed_at = now
    doc.reviewer_id = user.id
    doc.updated_at = now
    doc.statut = target
    rules.on_review(session, doc, review, user=user, now=now)
    version = _ask_render(session, doc, user=user, label=kind.review.title, now=now)
    log_event(session, doc, user, "review", now, version=version)
    session.commit()
    return doc


def rendition(session: Session, doc: Document, fmt: str, version: int | None = None, output: str = "document") -> Rendition | None:
    """Return the stored rendition of ``doc``'s ``output`` in ``fmt`` (the latest version by default)."""
    query = select(Rendition).where(Rendition.document_id == doc.id, Rendition.format == fmt, Rendition.output == output)
    if version is not None:
        query = query.where(Rendition.version == version)
    return session.scalars(query.order_by(Rendition.version.desc())).first()


def history(session: Session, doc: Document) -> list[Event]:
    """Return the document's events, oldest first."""
    return list(session.scalars(select(Event).where(Event.document_id == doc.id).order_by(Event.at, Event.id)))
