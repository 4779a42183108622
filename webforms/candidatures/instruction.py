"""The instruction of a deposited candidature dossier, up to its notification (AML §6b–§6d).

déposé → en instruction → recevable | irrecevable → examiné par le jury → retenu | non retenu →
notifié. Each move is declared once in ``MOVES`` (who may, from which states, what it needs),
checked by ``check_move`` and logged (``InstructionMove``: who, when, why) by ``move``, the one
function through which every change of state goes (``register_state_hook``: e.g. notifications).

The state is the candidature's own: the generic lifecycle of documents (brouillon, soumis) does
not know it. Besides the moves: correction requests before the deadline (régularisation, §6b),
answered by the dossier's next deposit, and the instructeurs' private annotations.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from schemas.base.fields import euros
from webforms import policy
from webforms.candidatures import convention, notation
from webforms.candidatures.appels import deadline_text, is_open
from webforms.candidatures.services import checklist, mark_nonconforme
from webforms.documents.services import Services, problems
from webforms.errors import DocumentError, NumberRefused, parse_number
from webforms.models import Annotation, Appel, CorrectionRequest, Document, Instruction, InstructionMove, Lettre, Piece, User


@dataclass(frozen=True)
class Etat:
    """A state as the association reads it: its name, what it means, what comes next."""

    label: str
    meaning: str
    next: str


ETATS: dict[str, Etat] = {
    "depose": Etat(
        "Déposé",
        "Votre dossier a été déposé ; le Département ne l'a pas encore ouvert.",
        "Jusqu'à la date limite de dépôt, vous pouvez le régulariser (AML §6b) ; le Département en examinera ensuite la recevabilité.",
    ),
    "en_instruction": Etat(
        "En instruction",
        "Le Département examine votre dossier : ses pièces et votre éligibilité (AML §6a, §6b).",
        "Il sera déclaré recevable ou irrecevable après la date limite de dépôt ; une demande de correction vous serait adressée ici avant cette date.",
    ),
    "recevable": Etat(
        "Recevable",
        "Votre dossier est complet et votre organisme éligible : il sera présenté au jury de sélection.",
        "Le jury, composé du Département et des trois EPCI, émettra un avis (AML §6d).",
    ),
    "irrecevable": Etat(
        "Irrecevable",
        "Votre dossier ne sera pas présenté au jury.",
        "Le motif est indiqué ci-dessous ; vous en serez informé par courrier (AML §6d).",
    ),
    "examine": Etat(
        "Examiné par le jury",
        "Le jury de sélection a examiné votre dossier et émis un avis.",
        "La décision sera prise par la Commission Permanente du Département (AML §6d).",
    ),
    "retenu": Etat(
        "Retenu",
        "Votre projet est retenu, avec les mesures accordées par territoire indiquées ci-dessous.",
        "Vous serez informé par courrier ; une convention de financement avec la DDCS suivra (AML §6d).",
    ),
    "non_retenu": Etat(
        "Non retenu",
        "Votre projet n'est pas retenu, pour les raisons indiquées ci-dessous.",
        "Vous serez informé par courrier des suites données à votre dossier (AML §6d).",
    ),
    "notifie": Etat(
        "Notifié",
        "La décision vous a été notifiée par courrier.",
        "Pour un projet retenu : la convention de financement avec la DDCS (AML §6d).",
    ),
}

# Why a dossier is irrecevable: "Tout dossier incomplet sera rejeté" (AML §6b); "Sont éligibles
# […] les organismes gestionnaires exerçant des mesures dans le cadre de l'AML, au titre du FSL"
# (AML §6a); anything else is written out.
MOTIFS_IRRECEVABLE = {
    "incomplet": "Dossier incomplet à la date limite de dépôt (AML §6b)",
    "non_eligible": "Organisme non éligible (AML §6a)",
    "autre": "Autre motif",
}


@dataclass(frozen=True)
class Move:
    """A move of the instruction: its button, who may make it, from where, to where, what it needs."""

    label: str
    sources: frozenset[str]
    target: str
    role: str = "instructeur"
    # Only once the deposit deadline has passed: until then the association may still correct
    # its dossier ("La régularisation est possible jusqu'à la date limite", AML §6b).
    after_deadline: bool = False
    # Offered as a button on the dossier's page (the notification goes through the letters).
    offered: bool = True


MOVES: dict[str, Move] = {
    "instruire": Move("Commencer l'instruction", frozenset({"depose"}), "en_instruction"),
    "recevable": Move("Déclarer recevable", frozenset({"en_instruction"}), "recevable", after_deadline=True),
    "irrecevable": Move("Déclarer irrecevable", frozenset({"en_instruction"}), "irrecevable", after_deadline=True),
    # The jury (AML §6c, §6d): examined once it has its avis and every member's signed
    # evaluation (notation.check_examined); retained with the measures granted (the allocation, AML §5).
    "examiner": Move("Enregistrer l'examen par le jury", frozenset({"recevable"}), "examine"),
    "retenir": Move("Retenir le projet", frozenset({"examine"}), "retenu"),
    "ne_pas_retenir": Move("Ne pas retenir le projet", frozenset({"examine"}), "non_retenu"),
    # Through the notification letters (the decision of the Commission Permanente), not a button;
    # an irrecevable dossier is informed too ("Le porteur de projet sera informé par courrier des
    # suites données à son dossier", AML §6d).
    "notifier": Move("Enregistrer la notification", frozenset({"retenu", "non_retenu", "irrecevable"}), "notifie", offered=False),
}

MAX_TEXT = 2000

# Called, in the mover's transaction, after each change of state: (session, dossier, move logged).
StateHook = Callable[[Session, Document, InstructionMove], None]
_STATE_HOOKS: list[StateHook] = []


def register_state_hook(hook: StateHook) -> None:
    """Call ``hook`` after every change of a dossier's instruction state, before its commit (once, however many apps are made)."""
    if hook not in _STATE_HOOKS:
        _STATE_HOOKS.append(hook)


# Called, in the asker's transaction, after each correction request is recorded: (session,
# dossier, request, asker). The thread makes it a message there and tells the association.
CorrectionHook = Callable[[Session, Document, CorrectionRequest, User], None]
_CORRECTION_HOOKS: list[CorrectionHook] = []


def register_correction_hook(hook: CorrectionHook) -> None:
    """Call ``hook`` after every correction request on a dossier, before its commit (once, however many apps are made)."""
    if hook not in _CORRECTION_HOOKS:
        _CORRECTION_HOOKS.append(hook)


def state_of(session: Session, doc: Document) -> str:
    """Return the dossier's instruction state ("depose" until its first move)."""
    row = session.get(Instruction, doc.id)
    return row.etat if row is not None else "depose"


def labels_of(session: Session, docs: list[Document]) -> dict[int, str]:
    """Return each deposited dossier's instruction state as read ("Déposé" until its first move)."""
    rows = dict(session.execute(select(Instruction.document_id, Instruction.etat).where(Instruction.document_id.in_([d.id for d in docs]))).all())
    return {d.id: ETATS[rows.get(d.id, "depose")].label for d in docs}


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def check_move(doc: Document, state: str, action: str, *, user: User, now: dt.datetime) -> Move:
    """Return the move ``action`` from ``state``; refuse it, in French, if it is not allowed now."""
    found = MOVES.get(action)
    if found is None:
        raise DocumentError("Cette étape de l'instruction n'existe pas.")
    if doc.appel is None or doc.submitted_at is None:
        raise DocumentError("Seul un dossier de candidature déposé s'instruit.")
    if user.role != found.role:
        raise DocumentError(f"« {found.label} » revient à un instructeur du Département.")
    if state not in found.sources:
        allowed = " ou ".join(f"« {ETATS[s].label.lower()} »" for s in sorted(found.sources))
        raise DocumentError(f"« {found.label} » n'est possible que pour un dossier {allowed} ; ce dossier est « {ETATS[state].label.lower()} ».")
    if found.after_deadline and is_open(doc.appel, now):
        raise DocumentError(
            f"La recevabilité se prononce après la date limite de dépôt ({deadline_text(doc.appel)}) : "
            "jusque-là, l'association peut encore régulariser son dossier (AML §6b)."
        )
    return found


def _reason(action: str, motif: str | None, texte: str) -> tuple[str | None, str]:
    """Check what a move needs: the reason of an irrecevabilité, the reasons of a non-retenu."""
    if len(texte) > MAX_TEXT:
        raise DocumentError("Le texte ne peut dépasser 2 000 caractères.")
    if action == "irrecevable":
        if motif not in MOTIFS_IRRECEVABLE:
            raise DocumentError("Choisissez le motif de l'irrecevabilité : dossier incomplet (AML §6b), organisme non éligible (AML §6a), ou autre.")
        if motif == "autre" and not texte:
            raise DocumentError("Précisez le motif de l'irrecevabilité : l'association le lira.")
        return motif, texte
    if action == "ne_pas_retenir" and not texte:
        raise DocumentError("Indiquez les raisons pour lesquelles le projet n'est pas retenu : l'association les lira.")
    return None, texte


# The states of a dossier whose measures are granted: they count against the call's allocation.
GRANTED = ("retenu", "notifie")


def allocated(session: Session, appel_id: int, *, exclude: int | None = None) -> dict[str, int]:
    """The measures granted so far per territory over the call's retained dossiers (AML §5)."""
    query = select(Instruction.document_id, Instruction.mesures).join(Document, Document.id == Instruction.document_id)
    query = query.where(Document.appel_id == appel_id, Instruction.etat.in_(GRANTED))
    out: dict[str, int] = {}
    for doc_id, mesures in session.execute(query).all():
        if doc_id != exclude:
            for name, number in (mesures or {}).items():
                out[name] = out.get(name, 0) + int(number)
    return out


def _within_call(session: Session, doc: Document, granted: Mapping[str, int]) -> None:
    """Refuse a grant that would take a territory past the call's count over all its dossiers (AML §5)."""
    # The call's row, locked: of two grants at once, the second counts the first.
    session.get_one(Appel, doc.appel_id, with_for_update=True)
    already = allocated(session, doc.appel_id, exclude=doc.id)  # type: ignore[arg-type]
    counts = {t["nom"]: int(t["mesures"]) for t in doc.appel.data["territoires"]} if doc.appel else {}
    for name, number in granted.items():
        left = counts[name] - already.get(name, 0)
        if number > left:
            raise DocumentError(
                f"Territoire {name} : {number} mesures demandées à l'allocation, il n'en reste que {left} "
                f"({counts[name]} pour l'appel, {already.get(name, 0)} déjà accordées, AML §5)."
            )


def to_allocate(session: Session, doc: Document) -> dict[str, Any]:
    """What the allocation form shows (AML §5): per territory the call's count, the measures granted to other dossiers,
    what remains, what this dossier requests; the amount per measure, the amount granted and the amount left on the call."""
    appel = doc.appel
    territoires = appel.data["territoires"] if appel is not None else []
    already = allocated(session, doc.appel_id, exclude=doc.id) if doc.appel_id is not None else {}  # type: ignore[arg-type]
    asked = requested(doc)
    rows = [
        {"territoire": t["nom"], "appel": int(t["mesures"]), "accordees": already.get(t["nom"], 0),
         "reste": int(t["mesures"]) - already.get(t["nom"], 0), "demandees": asked.get(t["nom"], 0)}
        for t in territoires
    ]
    # "Le financement d'une mesure est de 5000€/ménage/an" (AML §5): the call's amount, 5 000 € when it names none.
    per_measure = Decimal(str((appel.data.get("montant_par_mesure") if appel is not None else None) or "5000"))
    granted = sum(r["accordees"] for r in rows)
    left = sum(r["reste"] for r in rows)
    return {"territoires": rows, "par_mesure": euros(per_measure), "montant_accorde": euros(per_measure * granted), "montant_reste": euros(per_measure * left)}


def requested(doc: Document) -> dict[str, int]:
    """The measures the dossier's deposited version requests per territory (AML §5)."""
    out: dict[str, int] = {}
    for r in (doc.submitted_data or {}).get("mesures") or []:
        try:
            out[r["territoire"]] = out.get(r["territoire"], 0) + int(r.get("nombre") or 0)
        except (TypeError, ValueError, KeyError):
            continue
    return out


def _granted(doc: Document, mesures: Mapping[str, Any] | None) -> dict[str, int]:
    """Check the measures granted per territory: whole, at most requested and the call's count (AML §5)."""
    requested_ = requested(doc)
    counts = {t["nom"]: int(t["mesures"]) for t in doc.appel.data["territoires"]} if doc.appel else {}
    granted: dict[str, int] = {}
    for name, value in (mesures or {}).items():
        if name not in counts:
            raise DocumentError(f"« {name} » n'est pas un territoire de l'appel.")
        try:
            # The one number parser: "١" is not 1, "-1" or "1.0" no count of measures.
            number = parse_number(str(value).strip() or "0", what=f"Territoire {name} : le nombre de mesures")
        except NumberRefused as refusal:
            raise DocumentError(f"Territoire {name} : indiquez un nombre entier de mesures ({refusal}).") from None
        if number > min(requested_.get(name, 0), counts[name]):
            raise DocumentError(f"Territoire {name} : entre 0 et {min(requested_.get(name, 0), counts[name])} mesures (demandées : {requested_.get(name, 0)}, appel : {counts[name]}, AML §5).")
        granted[name] = number
    if sum(granted.values()) < 1:
        raise DocumentError("Un projet retenu se voit accorder au moins une mesure (AML §5).")
    return granted


def _still_incomplete(doc: Document, now: dt.datetime) -> None:
    """Refuse to declare recevable a deposited version that misses something: "Tout dossier incomplet sera rejeté" (AML §6b)."""
    missing = checklist(doc, problems(doc, frozen=True), now, frozen=True).missing
    if missing:
        raise DocumentError(f"Le dossier déposé n'est pas complet ({missing[0]}) : « Tout dossier incomplet sera rejeté » (AML §6b).")


def move(
    session: Session,
    svc: Services,
    doc: Document,
    *,
    user: User,
    action: str,
    motif: str | None = None,
    texte: str = "",
    mesures: Mapping[str, Any] | None = None,
) -> InstructionMove:
    """Move the dossier's instruction by ``action``, log who, when and why; refuse and change nothing otherwise."""
    now = svc.clock()
    # The dossier's row, locked: of two moves at once, the second sees the first's state.
    session.execute(pg_insert(Instruction).values(document_id=doc.id, etat="depose", updated_at=now).on_conflict_do_nothing())
    row = session.get_one(Instruction, doc.id, with_for_update=True, populate_existing=True)
    try:
        found = check_move(doc, row.etat, action, user=user, now=now)
        motif, texte = _reason(action, motif, _clean(texte))
        granted = _granted(doc, mesures) if action == "retenir" else None
        if granted is not None:
            _within_call(session, doc, granted)
        if action == "recevable":
            _still_incomplete(doc, now)
        if action == "examiner":
            notation.check_examined(session, doc)
        if action == "notifier" and session.get(Lettre, doc.id) is None:
            # Notified means its letter exists (decision.send_letters links it first): "Le porteur
            # de projet sera informé par courrier des suites données à son dossier" (AML §6d).
            raise DocumentError(
                "Un dossier est notifié par sa lettre de notification : enregistrez la date de la Commission Permanente "
                "puis établissez les lettres de l'appel (AML §6d)."
            )
    except DocumentError:
        session.rollback()
        raise
    entry = InstructionMove(
        document_id=doc.id, action=action, depuis=row.etat, vers=found.target, motif=motif, texte=texte or None, mesures=granted, user_id=user.id, at=now
    )
    session.add(entry)
    row.etat, row.updated_at = found.target, now
    if motif is not None or texte or granted is not None:
        row.motif, row.texte, row.mesures = motif, texte or None, granted
    session.flush()
    _state_changed(session, doc, entry)
    session.commit()
    return entry


def _state_changed(session: Session, doc: Document, entry: InstructionMove) -> None:
    """What else a change of state sets off, in the same transaction (registered hooks)."""
    for hook in _STATE_HOOKS:
        hook(session, doc, entry)


def request_correction(session: Session, svc: Services, doc: Document, *, user: User, texte: str, piece: Piece | None = None) -> CorrectionRequest:
    """Ask the association to correct its dossier (or one piece) before the deadline (AML §6b).

    A piece asked for is marked non-compliant (``mark_nonconforme``): the association replaces
    it after reopening its dossier; the request is answered by the dossier's next deposit.
    """
    texte = _clean(texte)
    now = svc.clock()
    if doc.appel is None or doc.submitted_at is None:
        raise DocumentError("Seul un dossier de candidature déposé peut faire l'objet d'une demande de correction.")
    if not is_open(doc.appel, now):
        # "La régularisation est possible jusqu'à la date limite de dépôt des projets." (AML §6b)
        raise DocumentError(
            f"La date limite de dépôt est passée ({deadline_text(doc.appel)}) : « la régularisation est possible jusqu'à la date "
            "limite de dépôt des projets » (AML §6b) ; aucune correction ne peut plus être demandée."
        )
    if state_of(session, doc) not in ("depose", "en_instruction"):
        raise DocumentError("La recevabilité de ce dossier est déjà prononcée : aucune correction ne peut plus être demandée.")
    if not texte:
        raise DocumentError("Écrivez la correction demandée : l'association la lira.")
    if len(texte) > MAX_TEXT:
        raise DocumentError("Le texte ne peut dépasser 2 000 caractères.")
    if piece is not None:
        mark_nonconforme(session, svc, piece, user=user, motif=texte, commit=False)
    request = CorrectionRequest(document_id=doc.id, piece_id=piece.id if piece else None, texte=texte, user_id=user.id, at=now)
    session.add(request)
    session.flush()
    for hook in _CORRECTION_HOOKS:
        hook(session, doc, request, user)
    session.commit()
    return request


def corrections(session: Session, doc: Document) -> list[CorrectionRequest]:
    """The dossier's correction requests, oldest first."""
    return list(session.scalars(select(CorrectionRequest).where(CorrectionRequest.document_id == doc.id).order_by(CorrectionRequest.at, CorrectionRequest.id)))


def annotate(session: Session, svc: Services, doc: Document, *, user: User, texte: str) -> Annotation:
    """Record an instructeur's private note on a dossier; the association never reads it."""
    if not policy.can_instruct(user, doc):
        raise DocumentError("Seul un instructeur annote un dossier déposé.")
    texte = (texte or "").strip()
    if not texte:
        raise DocumentError("L'annotation est vide.")
    if len(texte) > 4000:
        raise DocumentError("Une annotation ne peut dépasser 4 000 caractères.")
    note = Annotation(document_id=doc.id, texte=texte, user_id=user.id, at=svc.clock())
    session.add(note)
    session.commit()
    return note


def annotations(session: Session, doc: Document, *, user: User) -> list[Annotation]:
    """The dossier's private annotations for an instructeur; nothing for anyone else."""
    if not policy.can_instruct(user, doc):
        return []
    return list(session.scalars(select(Annotation).where(Annotation.document_id == doc.id).order_by(Annotation.at, Annotation.id)))


def history(session: Session, doc: Document) -> list[InstructionMove]:
    """The dossier's instruction moves, oldest first."""
    return list(session.scalars(select(InstructionMove).where(InstructionMove.document_id == doc.id).order_by(InstructionMove.at, InstructionMove.id)))


def panel(session: Session, doc: Document, *, user: User, now: dt.datetime) -> dict[str, Any] | None:
    """What the dossier's page shows of its instruction to ``user`` (None for a dossier never deposited)."""
    if doc.submitted_at is None:
        return None
    row = session.get(Instruction, doc.id)
    state = row.etat if row is not None else "depose"
    instructs = policy.can_instruct(user, doc)
    offered = [(name, m) for name, m in MOVES.items() if m.offered and state in m.sources] if instructs else []
    return {
        "etat": state,
        "info": ETATS[state],
        "motif": MOTIFS_IRRECEVABLE.get(row.motif or "") if row is not None else None,
        "texte": row.texte if row is not None else None,
        "mesures": row.mesures if row is not None else None,
        "moves": offered,
        "motifs": MOTIFS_IRRECEVABLE,
        "etats": ETATS,
        "instructs": instructs,
        "corrections": corrections(session, doc),
        "can_request": instructs and is_open(doc.appel, now) and state in ("depose", "en_instruction") if doc.appel else False,
        "annotations": annotations(session, doc, user=user),
        # "Every move says who and when" (issue 12): whoever reads the dossier's page reads its history,
        # the association too (its motifs and texts are already written for it; docs/decisions.md).
        "history": history(session, doc),
        # The jury (AML §6c, §6d): its avis, the member's evaluation, the measures to grant.
        "avis": notation.avis_of(session, [doc.id]).get(doc.id),
        "avis_choices": notation.AVIS,
        "can_avis": instructs and state == "recevable",
        "scores": notation.sits_on(session, user, doc.appel_id),
        "synthese": notation.reads_call(session, user, doc.appel_id),
        "demandees": requested(doc),
        # The allocation form shows what remains on the call per territory and the amounts (AML §5).
        "allocation": to_allocate(session, doc) if any(name == "retenir" for name, _ in offered) else None,
        # Only a retained dossier has one: "notifié" also ends a non-retained or irrecevable one.
        "convention": state in ("retenu", "notifie") and bool(row is not None and row.mesures) and convention.may_read(user, doc),
    }
