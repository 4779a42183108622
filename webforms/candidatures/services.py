"""Candidature dossiers for a call: the call's own rules, required pieces, deadline (AML §5, §6).

"Tout dossier incomplet sera rejeté. La régularisation est possible jusqu'à la date limite de
dépôt des projets." (AML §6b)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from schemas import candidature_aml, get_kind
from schemas.base.kind import AttachmentRule, CallForm
from webforms.candidatures import dossier  # the module: the dossier bench wraps its functions there
from webforms.candidatures.appels import call_time, deadline_text, is_open
from webforms.candidatures.conversions import MSG_FAILED, MSG_PENDING, ask_conversion
from webforms.documents.previews import ask_preview_if_complete
from webforms.documents.services import (
    ParentRules,
    Services,
    check_move,
    create_draft,
    data_for,
    log_event,
)
from webforms.documents.uploads import CheckedFile, check_upload, extension_of
from webforms.errors import DocumentError
from webforms.forms import split_unfilled
from webforms.models import Appel, CorrectionRequest, Document, Event, Piece, Rendition, User

# The kind of the dossiers that answer a call.
CANDIDATURE = candidature_aml.KIND.name


def open_dossier(session: Session, svc: Services, *, user: User, appel: Appel) -> Document:
    """Start (or return) the organisation's dossier for a call, prefilled from the call."""
    def existing() -> Document | None:
        return session.scalar(select(Document).where(Document.appel_id == appel.id, Document.organisation_id == user.organisation_id))

    found = existing()
    if found is not None:
        return found
    if not is_open(appel, svc.clock()):
        raise DocumentError(f"L'appel est clos : la date limite de dépôt était le {deadline_text(appel)}.")
    payload = _call_form(CANDIDATURE).prefill(appel.data, user.organisation.name)
    try:
        return create_draft(session, svc, kind_name=CANDIDATURE, user=user, payload=payload, appel_id=appel.id)
    except IntegrityError:
        # Opened at the same moment by another click or colleague: that one is the dossier.
        found = existing()
        if found is None:
            raise
        return found


def call_errors(appel: Appel, data: Mapping[str, Any], *, kind_name: str = CANDIDATURE) -> dict[str, Any]:
    """What the call itself forbids in a dossier's ``data``, in marshmallow's layout (merged with the schema's errors)."""
    return _call_form(kind_name).errors(appel.data, data)


def _call_form(kind_name: str) -> CallForm:
    """How the form of ``kind_name`` follows a call's values (declared with the kind)."""
    form = get_kind(kind_name).call
    if form is None:
        raise ValueError(f"kind {kind_name} answers no call")
    return form


@dataclass(frozen=True)
class PieceSlot:
    """One required piece of a dossier and where it stands."""

    rule: AttachmentRule
    rang: int
    title: str
    # "manquante", "presente", "non_conforme", "produite", "a_completer", "conversion" (a Word
    # piece a worker is converting), "illisible" (its conversion failed: to replace), and for a
    # piece of a row: "a_remplacer" (its row now says something else), "en_trop" (its row is gone)
    statut: str
    piece: Piece | None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.statut in ("presente", "produite")

    @property
    def uploadable(self) -> bool:
        return bool(self.rule.formats) and self.statut != "en_trop"


def _current(doc: Document) -> dict[tuple[str, int], Piece]:
    return {(p.code, p.rang): p for p in doc.pieces if p.replaced_at is None}


def deposited_version(doc: Document) -> int | None:
    """The last deposited version of the dossier whose pieces are recorded, if any."""
    return max((p.version for p in doc.pieces if p.version is not None), default=None)


def _deposited(doc: Document) -> dict[tuple[str, int], Piece]:
    """The pieces of the last deposited version: what recipients read during a régularisation."""
    last = deposited_version(doc)
    return {(p.code, p.rang): p for p in doc.pieces if last is not None and p.version == last}


def mark_deposited(doc: Document, version: int) -> None:
    """Record that the current pieces make up deposited ``version`` (called by ``submit``)."""
    for piece in _current(doc).values():
        piece.version = version


def was_deposited(piece: Piece) -> bool:
    """Was ``piece`` part of a deposited version (what a recipient may open)?"""
    return piece.version is not None


def _row_title(rule: AttachmentRule, rang: int, label: str | None) -> str:
    if rule.rows is None:
        return rule.title
    return f"{rule.title} n° {rang + 1}" + (f" – {label}" if label else "")


def piece_slots(doc: Document, errors: Mapping[str, Any], *, frozen: bool = False) -> list[PieceSlot]:
    """Every piece the call requires, in the order of AML §6b, with its state.

    ``frozen``: the pieces and data of the last deposited version (what recipients read).
    """
    kind = get_kind(doc.kind)
    wanted = set(doc.appel.data.get("pieces") or []) if doc.appel else {a.name for a in kind.attachments}
    valid, _ = kind.load_partial(data_for(doc, frozen=frozen))
    current = _deposited(doc) if frozen else _current(doc)
    slots: list[PieceSlot] = []
    for rule in kind.attachments:
        if rule.name not in wanted:
            continue
        labels = rule.labels(valid)
        slots += [_slot(rule, rang, label, current.get((rule.name, rang)), errors) for rang, label in enumerate(labels)]
        if rule.rows is not None:
            # Pieces left behind by rows since removed: exactly one piece per row (AML §6b).
            for (code, rang), piece in sorted(current.items()):
                if code == rule.name and rang >= len(labels):
                    message = "elle ne correspond plus à aucune ligne du formulaire : retirez-la"
                    slots.append(PieceSlot(rule, rang, _row_title(rule, rang, piece.libelle), "en_trop", piece, message))
    return slots


def _slot(rule: AttachmentRule, rang: int, label: str, piece: Piece | None, errors: Mapping[str, Any]) -> PieceSlot:
    """Where one required piece stands: deposited, to replace, produced, or missing."""
    title = _row_title(rule, rang, label)
    if piece is not None and piece.nonconforme_motif:
        return PieceSlot(rule, rang, title, "non_conforme", piece, piece.nonconforme_motif)
    if piece is not None and rule.rows is not None and piece.libelle is not None and piece.libelle != label:
        # "Une fiche de poste par recrutement": a piece follows its row, not its number.
        message = f"déposée pour « {piece.libelle} » ; la ligne n° {rang + 1} du formulaire est maintenant « {label} » : déposez la pièce qui lui correspond"
        return PieceSlot(rule, rang, title, "a_remplacer", piece, message)
    if piece is not None and piece.conversion == "en_cours":
        return PieceSlot(rule, rang, title, "conversion", piece, MSG_PENDING)
    if piece is not None and piece.conversion == "echec":
        return PieceSlot(rule, rang, title, "illisible", piece, MSG_FAILED)
    if piece is not None:
        return PieceSlot(rule, rang, title, "presente", piece)
    if rule.generated:
        # Produced from the form: ready when the form's part it comes from is valid.
        blocked = bool(errors) if rule.section is None else rule.section in errors
        statut = "a_completer" if blocked else "produite"
        message = "Complétez le formulaire pour la produire." if blocked else "Produite par le service."
        return PieceSlot(rule, rang, title, statut, None, message)
    return PieceSlot(rule, rang, title, "manquante", None)


@dataclass(frozen=True)
class Checklist:
    """Where a dossier stands: its sections, its pieces, what is missing, the deadline."""

    sections: list[dict[str, Any]]
    pieces: list[PieceSlot]
    deadline: str
    open: bool

    @property
    def done(self) -> int:
        return sum(1 for s in self.sections if s["ok"]) + sum(1 for p in self.pieces if p.ok)

    @property
    def total(self) -> int:
        return len(self.sections) + len(self.pieces)

    @property
    def missing(self) -> list[str]:
        """What stops the submission, one French line each."""
        return [line for line, _ in self._blocking()]

    @property
    def next_step(self) -> NextStep | None:
        """The first thing that stops the submission, and where to do it (issue 16, point 7)."""
        blocking = self._blocking()
        return NextStep(*blocking[0]) if blocking else None

    def _blocking(self) -> list[tuple[str, str]]:
        """Each line of ``missing`` with its place: ``etape:N`` (the form's step) or ``piece:CODE-RANG``."""
        lines = [(f"Section « {s['title']} » : {_section_state(s)}.", f"etape:{i}") for i, s in enumerate(self.sections, start=1) if not s["ok"]]
        for p in self.pieces:
            line = _PIECE_LINES.get(p.statut)
            if line is not None:
                lines.append((line.format(title=p.title, message=p.message), f"piece:{p.rule.name}-{p.rang}"))
        return lines


@dataclass(frozen=True)
class NextStep:
    """What to do first, in French, and where: ``etape:N`` or ``piece:CODE-RANG``."""

    text: str
    place: str

    @property
    def step(self) -> int | None:
        """The form's step to open, if it is one."""
        kind, _, value = self.place.partition(":")
        return int(value) if kind == "etape" else None

    @property
    def anchor(self) -> str | None:
        """The id of the piece's place on the checklist page, if it is a piece."""
        kind, _, value = self.place.partition(":")
        return f"piece-{value}" if kind == "piece" else None


_PIECE_LINES = {
    "manquante": "Pièce manquante : {title}.",
    "non_conforme": "Pièce non conforme : {title} ({message}) : déposez-en une nouvelle.",
    "a_completer": "Pièce à produire : {title} ({message})",
    "conversion": "Pièce en cours de conversion en PDF : {title} : patientez quelques secondes, puis déposez le dossier.",
    "illisible": "Pièce refusée : {title} : {message}",
    "a_remplacer": "Pièce à remplacer : {title} ({message}).",
    "en_trop": "Pièce en trop : {title} ({message}).",
}


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'s' if count > 1 else ''}"


def _section_state(section: Mapping[str, Any]) -> str:
    """Say in neutral terms what a section lacks: fields left empty, values to correct (issue 16, point 2)."""
    parts = []
    if section["to_fill"]:
        parts.append(f"{_plural(section['to_fill'], 'champ')} à remplir")
    if section["to_correct"]:
        parts.append(f"{_plural(section['to_correct'], 'point')} à corriger")
    return " ; ".join(parts)


def _count(errors: Any) -> int:
    if isinstance(errors, Mapping):
        return sum(_count(v) for v in errors.values())
    if isinstance(errors, list):
        return sum(_count(v) for v in errors) if errors and not isinstance(errors[0], str) else len(errors)
    return 1


def checklist(doc: Document, errors: Mapping[str, Any], now: dt.datetime, *, frozen: bool = False) -> Checklist:
    """Build the dossier's checklist from its problems and pieces (``frozen``: see piece_slots)."""
    kind = get_kind(doc.kind)
    data = data_for(doc, frozen=frozen)
    sections = []
    for name, field in kind.schema().fields.items():
        # A field only left empty is to fill, not an error, until a deposit is tried (the page's choice).
        unfilled, wrong = split_unfilled({name: errors[name]}, {name: (data or {}).get(name)}) if name in errors else ({}, {})
        to_fill, to_correct = _count(unfilled), _count(wrong)
        problems = to_fill + to_correct
        sections.append({"name": name, "title": field.metadata.get("label", name), "ok": problems == 0, "problems": problems, "to_fill": to_fill, "to_correct": to_correct})
    appel = doc.appel
    return Checklist(
        sections=sections,
        pieces=piece_slots(doc, errors, frozen=frozen),
        deadline=deadline_text(appel) if appel else "",
        open=is_open(appel, now) if appel else True,
    )


def submission_blockers(doc: Document, errors: Mapping[str, Any], now: dt.datetime) -> list[str]:
    """What stops a dossier's deposit besides its field errors (``problems``): pieces, deadline."""
    if doc.appel is None:
        return []
    blockers = checklist(doc, errors, now).missing
    if not is_open(doc.appel, now):
        blockers.insert(0, f"La date limite de dépôt est passée ({deadline_text(doc.appel)}) : le dossier ne peut plus être déposé (AML §6b, §6d).")
    return blockers


def refuse_after_deadline(doc: Document, now: dt.datetime) -> None:
    """After the deadline nothing in a dossier changes any more: neither its form nor its pieces."""
    if doc.appel is not None and not is_open(doc.appel, now):
        raise DocumentError(f"La date limite de dépôt est passée ({deadline_text(doc.appel)}) : le dossier ne peut plus être modifié.")


def add_piece(
    session: Session,
    svc: Services,
    doc: Document,
    *,
    user: User,
    code: str,
    rang: int,
    stream: BinaryIO,
    filename: str,
    workdir: Path,
) -> Piece:
    """Check an upload by its content, store it, and make it the dossier's current piece.

    A refused upload raises ``UploadRefused`` and leaves the dossier exactly as it was.
    """
    if doc.statut != "brouillon":
        raise DocumentError("Le dossier est déposé : rouvrez-le pour le régulariser avant de changer une pièce.")
    refuse_after_deadline(doc, svc.clock())
    kind = get_kind(doc.kind)
    rule = next((a for a in kind.attachments if a.name == code and a.formats), None)
    if rule is None:
        raise DocumentError("Cette pièce ne se dépose pas.")
    valid, _ = kind.load_partial(doc.data)
    labels = rule.labels(valid)
    if not 0 <= rang < len(labels):
        raise DocumentError(f"Il n'y a pas de « {rule.title} » n° {rang + 1} à déposer.")
    checked = check_upload(stream, filename, allowed=frozenset(rule.formats), max_bytes=rule.max_mb * 1024 * 1024, workdir=workdir)
    digest, size = _store_upload(svc, checked)
    now = svc.clock()
    previous = _current(doc).get((code, rang))
    if previous is not None:
        previous.replaced_at = now  # kept, never deleted: nothing uploaded is lost
    piece = Piece(
        document=doc,
        code=code,
        rang=rang,
        sha256=digest,
        size=size,
        mime=checked.mime,
        pages=checked.pages,
        original_name=checked.original_name[:255],
        libelle=labels[rang][:255] if rule.rows is not None else None,
        uploaded_by_id=user.id,
        uploaded_at=now,
    )
    session.add(piece)
    if checked.kind == "docx":
        # Converted by a worker, not while the upload waits; the dossier cannot be deposited
        # before the conversion is done, so a Word file LibreOffice cannot read is still
        # refused while the association can send a PDF.
        ask_conversion(session, piece, user=user, now=now)
    doc.updated_at = now
    session.add(Event(document=doc, user=user, action="add_piece", at=now, detail={"piece": code, "rang": rang, "sha256": digest}))
    session.commit()
    return piece


def _store_upload(svc: Services, checked: CheckedFile) -> tuple[str, int]:
    """Store a checked upload as it is; return its SHA-256 and its size."""
    try:
        with checked.data_path.open("rb") as data:
            return svc.store.put_stream(data)
    finally:
        checked.data_path.unlink(missing_ok=True)


def remove_piece(session: Session, svc: Services, doc: Document, piece: Piece, *, user: User) -> None:
    """Withdraw a piece from a draft dossier (its file stays stored, its history kept)."""
    if doc.statut != "brouillon":
        raise DocumentError("Le dossier est déposé : rouvrez-le pour le régulariser avant de retirer une pièce.")
    if piece.replaced_at is not None:
        # Its history stays as it is: the day it was replaced or withdrawn is not rewritten.
        raise DocumentError("Cette pièce a déjà été remplacée ou retirée.")
    now = svc.clock()
    refuse_after_deadline(doc, now)
    piece.replaced_at = now
    session.add(Event(document=doc, user=user, action="remove_piece", at=now, detail={"piece": piece.code, "rang": piece.rang}))
    session.commit()


def mark_nonconforme(session: Session, svc: Services, piece: Piece, *, user: User, motif: str, commit: bool = True) -> None:
    """An instructeur marks a piece as non-compliant; the association sees the reason.

    ``commit=False``: part of a larger change (a correction request asking for the piece).
    """
    motif = " ".join((motif or "").split())
    if not motif:
        raise DocumentError("Indiquez la raison de la non-conformité : l'association la verra.")
    if len(motif) > 1000:
        raise DocumentError("La raison ne peut dépasser 1 000 caractères.")
    doc = piece.document
    if doc.statut == "brouillon" or piece.version is None or piece.version != deposited_version(doc):
        # The association would never see a reason given on a piece it no longer deposits.
        raise DocumentError("Seule une pièce de la version déposée du dossier peut être marquée non conforme.")
    now = svc.clock()
    piece.nonconforme_motif = motif
    piece.nonconforme_par_id = user.id
    piece.nonconforme_le = now
    log_event(session, piece.document, user, "nonconforme", now, piece=piece.code, rang=piece.rang)
    if commit:
        session.commit()


def answer_corrections(doc: Document, now: dt.datetime) -> None:
    """A new deposit answers the correction requests still open (régularisation, AML §6b)."""
    session = object_session(doc)
    if session is not None:
        session.execute(
            update(CorrectionRequest).where(CorrectionRequest.document_id == doc.id, CorrectionRequest.answered_at.is_(None)).values(answered_at=now)
        )


def reopen(session: Session, svc: Services, doc: Document, *, user: User) -> Document:
    """Reopen a submitted dossier for correction until the deadline ("régularisation", AML §6b)."""
    if doc.appel is None:
        raise DocumentError("Seul un dossier de candidature déposé peut être rouvert.")
    target = check_move(doc, "reopen")
    now = svc.clock()
    if not is_open(doc.appel, now):
        raise DocumentError(f"La date limite de dépôt est passée ({deadline_text(doc.appel)}) : le dossier ne peut plus être régularisé.")
    doc.statut = target
    doc.updated_at = now
    log_event(session, doc, user, "reopen", now)
    ask_preview_if_complete(session, doc, user=user, now=now)  # a draft again: its preview is ready at the click
    session.commit()
    return doc


def dossier_parts(svc: Services, doc: Document, produced: Mapping[tuple[str, str], Rendition]) -> list[dossier.Part]:
    """The pieces of the complete dossier in the kind's order (AML §6b), uploaded or produced."""
    kind = get_kind(doc.kind)
    wanted = set(doc.appel.data.get("pieces") or []) if doc.appel else {a.name for a in kind.attachments}
    current = _current(doc)
    valid, _ = kind.load_partial(doc.data)
    parts: list[dossier.Part] = []
    for rule in kind.attachments:
        if rule.name not in wanted:
            continue
        labels = rule.labels(valid)
        uploaded = sorted((p for (c, rang), p in current.items() if c == rule.name and rang < len(labels)), key=lambda p: p.rang)
        parts += [_uploaded_part(svc, rule, piece, labels[piece.rang]) for piece in uploaded]
        rendition = None if uploaded else produced.get((rule.produced_from or rule.name, "pdf"))
        if rendition is not None:
            parts.append(
                dossier.Part(rule.name, rule.title, f"{rule.filename}.pdf", svc.store.path(rendition.sha256), "application/pdf", rendition.sha256, rendition.size)
            )
    return parts


def _uploaded_part(svc: Services, rule: AttachmentRule, piece: Piece, label: str) -> dossier.Part:
    suffix = f"-{piece.rang + 1}" if rule.rows else ""
    return dossier.Part(
        rule.name, _row_title(rule, piece.rang, label), f"{rule.filename}{suffix}.{extension_of(piece.mime)}",
        svc.store.path(piece.sha256), piece.mime, piece.sha256, piece.size,
        pdf_path=svc.store.path(piece.pdf_sha256) if piece.pdf_sha256 else None,
    )


def _dossier_context(doc: Document, ctx: dict[str, Any]) -> dict[str, Any]:
    """Return the document's context with what the complete dossier's cover adds (its call, its deadline)."""
    return {**ctx, "dossier": {"appel": doc.appel.data["titre"] if doc.appel else "", "date_limite": deadline_text(doc.appel) if doc.appel else ""}}


def check_cover(svc: Services, doc: Document, ctx: dict[str, Any]) -> None:
    """Fill the complete dossier's cover with this dossier's data, without printing it (issue 18).

    The pages are not counted yet: the contents list the pieces uploaded so far, one page each;
    a cover that cannot be filled refuses the submission while the dossier is a draft.
    """
    rows = [{"titre": part.title, "page": 3 + index, "pages": 1, "fichier": part.filename} for index, part in enumerate(dossier_parts(svc, doc, {}))]
    svc.renderer.dry_fill(dossier.COVER, {**_dossier_context(doc, ctx), "sommaire": rows})


def freeze_dossier(svc: Services, doc: Document, ctx: dict[str, Any], produced: Mapping[tuple[str, str], Rendition], at: dt.datetime) -> list[Rendition]:
    """Build and store the complete dossier (one PDF, one ZIP); return their renditions."""
    parts = dossier_parts(svc, doc, produced)
    context = _dossier_context(doc, ctx)
    # Assembled file to file and stored as a stream: the pieces are never all held in memory.
    pdf_path = dossier.temporary_path(".pdf")
    try:
        dossier.complete_pdf_file(svc.renderer, parts, context, pdf_path)
        with pdf_path.open("rb") as data:
            pdf_digest, pdf_size = svc.store.put_stream(data)
    finally:
        pdf_path.unlink(missing_ok=True)
    files = [(p.filename, p.role, p.path) for p in parts]
    # Every file comes from the store, named by its SHA-256: the ZIP does not hash it again.
    digests = {p.path: p.sha256 for p in parts}
    # The kind's own document goes in its Word version too, named as the piece it makes.
    word = produced.get(("document", "docx"))
    main = next((a for a in get_kind(doc.kind).attachments if a.produced_from == "document"), None)
    if word is not None and main is not None:
        files.append((f"{main.filename}.docx", main.name, svc.store.path(word.sha256)))
        digests[svc.store.path(word.sha256)] = word.sha256
    files.append(("dossier-complet.pdf", "dossier_complet", svc.store.path(pdf_digest)))
    digests[svc.store.path(pdf_digest)] = pdf_digest
    target = dossier.temporary_path(".zip")
    try:
        dossier.write_zip(target, files, digests, moment=at)
        with target.open("rb") as data:
            zip_digest, zip_size = svc.store.put_stream(data)
    finally:
        target.unlink(missing_ok=True)
    # The cover may be a version an administrator put in force (issue 18): recorded as a kind's template is.
    cover = svc.renderer.version(dossier.COVER)
    common = {
        "output": "dossier", "template_name": dossier.COVER.template, "template_sha256": svc.renderer.template_digest(dossier.COVER),
        "template_version": cover.number if cover else None,
    }
    return [
        Rendition(format="pdf", sha256=pdf_digest, size=pdf_size, **common),
        Rendition(format="zip", sha256=zip_digest, size=zip_size, **common),
    ]


class CallRules(ParentRules):
    """What a dossier's call adds to the lifecycle: its deadline, its values and rules, the
    pieces it requires, and the complete dossier frozen with each deposited version."""

    def check_open(self, doc: Document, now: dt.datetime) -> None:
        refuse_after_deadline(doc, now)

    def normalise(self, doc: Document, payload: Mapping[str, Any]) -> dict[str, Any]:
        return _call_form(doc.kind).fixed(_call_of(doc).data, payload)

    def errors(self, doc: Document, data: Mapping[str, Any]) -> dict[str, Any]:
        return call_errors(_call_of(doc), data, kind_name=doc.kind)

    def blockers(self, doc: Document, errors: Mapping[str, Any], now: dt.datetime) -> list[str]:
        return submission_blockers(doc, errors, now)

    def on_submit(self, doc: Document, version: int, now: dt.datetime) -> None:
        mark_deposited(doc, version)
        answer_corrections(doc, now)

    def extra_renditions(self, svc: Services, doc: Document, ctx: dict[str, Any], produced: Mapping[tuple[str, str], Rendition], at: dt.datetime) -> list[Rendition]:
        return freeze_dossier(svc, doc, ctx, produced, at)

    def check_fill(self, svc: Services, doc: Document, ctx: dict[str, Any]) -> None:
        check_cover(svc, doc, ctx)

    def notices(self, doc: Document, now: dt.datetime) -> list[str]:
        when = call_time(_call_of(doc), now)
        if not when.near:
            return []
        return [f"La date limite de dépôt approche : il reste {when.left} (jusqu'au {when.deadline}). Après, le dossier ne pourra plus être déposé ni régularisé (AML §6b, §6d)."]


def _call_of(doc: Document) -> Appel:
    if doc.appel is None:
        raise ValueError(f"document {doc.id} answers no call")
    return doc.appel
