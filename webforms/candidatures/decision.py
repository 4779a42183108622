"""The decision on a call's dossiers and the letters that notify it (AML §5, §6d).

"Ces projets seront soumis à la délibération de la Commission Permanente du 4 novembre 2019. Le
porteur de projet sera informé par courrier des suites données à son dossier" (AML §6d). The
instructeur records the Commission Permanente's date once the jury has signed off (every dossier
presented to it examined and retained or not); then each decided dossier gets its letter, a
``notification_aml`` document filled from the decision and submitted through the one lifecycle
(numbered, frozen, rendered DOCX and PDF by a worker, with its hash; archivable), and the dossier
moves to "notifié". An irrecevable dossier was never presented to the jury, but "le porteur de
projet sera informé par courrier des suites données à son dossier" (AML §6d) all the same: it gets
its letter of refusal, stating the reason recorded at instruction (AML §6a, §6b), and reaches
"notifié" like the others. The decision waits until every deposited dossier is instructed, and
is frozen once its letters exist: they state its date.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, aliased

from schemas.notification_aml import SUITE_RETENU
from webforms.candidatures import convention, instruction, notation
from webforms.candidatures.synthese import presented
from webforms.documents.services import Services, log_event, submit
from webforms.errors import DocumentError
from webforms.models import Appel, Decision, Document, Instruction, Jury, Lettre, User
from webforms.timeutil import paris_date

# The states whose dossier gets its letter once the decision is recorded (AML §6d).
DECIDED = ("retenu", "non_retenu")
NOTIFIED = (*DECIDED, "irrecevable")
# A deposited dossier in these states is not yet instructed: recevable or irrecevable is still to say.
NOT_INSTRUCTED = ("depose", "en_instruction")


def _not_instructed(session: Session, appel: Appel) -> None:
    """Refuse while a deposited dossier of the call is still "déposé" or "en instruction", saying how many."""
    query = (
        select(func.count(Document.id))
        .outerjoin(Instruction, Instruction.document_id == Document.id)
        .where(Document.appel_id == appel.id, Document.submitted_at.is_not(None))
        # A deposited dossier without an instruction row is "déposé" (nothing done with it yet).
        .where(or_(Instruction.etat.is_(None), Instruction.etat.in_(NOT_INSTRUCTED)))
    )
    count = session.scalar(query) or 0
    if count:
        which = "dossier déposé n'est" if count == 1 else "dossiers déposés ne sont"
        raise DocumentError(
            f"{count} {which} pas encore instruit{'s' if count > 1 else ''} (« déposé » ou « en instruction ») : déclarez chaque dossier "
            "recevable ou irrecevable avant d'enregistrer la décision (AML §6b, §6d)."
        )


def _frozen(session: Session, appel: Appel) -> None:
    """Refuse to change a decision whose letters exist: they state its date (AML §6d)."""
    decision = session.get(Decision, appel.id)
    count = session.scalar(select(func.count(Lettre.lettre_id)).join(Document, Document.id == Lettre.dossier_id).where(Document.appel_id == appel.id)) or 0
    if decision is not None and count:
        raise DocumentError(
            f"La décision de la Commission Permanente du {decision.date.strftime('%d/%m/%Y')} est figée : "
            f"{count} lettre{'s' if count > 1 else ''} de notification l'{'ont' if count > 1 else 'a'} déjà notifiée (AML §6d)."
        )


def _pending(session: Session, appel: Appel) -> None:
    """Refuse while the jury has not signed off: an evaluation unsigned, a presented dossier not yet examined, or examined but undecided."""
    rows = presented(session, appel)
    if not rows:
        raise DocumentError("Aucun dossier n'a été présenté au jury de cet appel : il n'y a rien à décider.")
    # "A decision before the jury signed off" is refused: every member has signed the evaluation
    # of every dossier presented (declared recevable), whatever its state since.
    count = notation.missing_signatures(session, appel.id, [doc.id for doc, _ in rows])
    if count:
        raise DocumentError(
            f"Le jury n'a pas signé : {notation.missing_text(count)} (chaque membre du jury évalue chaque dossier recevable, "
            "AML §6c, §6d). La décision se prend après le jury."
        )
    for doc, inst in rows:
        if inst.etat == "recevable":
            raise DocumentError(
                f"Le jury n'a pas terminé : le dossier {doc.reference} n'est pas encore examiné (avis du jury et évaluations signées, "
                "AML §6c, §6d). La décision se prend après le jury."
            )
        if inst.etat == "examine":
            raise DocumentError(f"Le dossier {doc.reference} est examiné mais ni retenu ni non retenu : la décision porte sur chaque dossier présenté.")


def record_decision(session: Session, svc: Services, appel: Appel, *, user: User, date: str) -> Decision:
    """Record the date of the Commission Permanente that decided the call's dossiers; refuse in French and change nothing otherwise."""
    if user.role != "instructeur":
        raise DocumentError("La décision est enregistrée par un instructeur du Département.")
    _frozen(session, appel)
    try:
        day = dt.date.fromisoformat((date or "").strip())
    except ValueError:
        raise DocumentError("Indiquez la date de la Commission Permanente (jj/mm/aaaa).") from None
    jury = session.get(Jury, appel.id)
    if jury is None:
        raise DocumentError("Le jury de cet appel n'est pas configuré : la décision suit son avis (AML §6d).")
    if day < jury.date:
        raise DocumentError(f"La Commission Permanente délibère après le jury de sélection (réuni le {jury.date.strftime('%d/%m/%Y')}, AML §6d).")
    if day > paris_date(svc.clock()):
        raise DocumentError("La date de la Commission Permanente ne peut pas être dans le futur : enregistrez la décision une fois prise.")
    # The call's row, locked: a move of one of its dossiers waits for the decision, or the reverse.
    session.get_one(Appel, appel.id, with_for_update=True)
    try:
        _frozen(session, appel)  # again, under the lock: letters established meanwhile
        _not_instructed(session, appel)
        _pending(session, appel)
    except DocumentError:
        session.rollback()
        raise
    values = {"date": day, "user_id": user.id, "at": svc.clock()}
    session.execute(pg_insert(Decision).values(appel_id=appel.id, **values).on_conflict_do_update(index_elements=["appel_id"], set_=values))
    log_event(session, None, user, "decision_appel", svc.clock(), appel=appel.id, date=day.isoformat())
    session.commit()
    return session.get_one(Decision, appel.id, populate_existing=True)


def letter_data(appel: Appel, doc: Document, inst: Instruction, jury: Jury, decision: Decision) -> dict[str, Any]:
    """What the dossier's letter says, frozen from the decision (the dossier's deposited version for the association)."""
    per_measure = Decimal(str(appel.data.get("montant_par_mesure") or "5000"))
    granted = inst.mesures or {} if inst.etat == "retenu" else {}
    return {
        "destinataire": convention.association_block(doc),
        "decision": {
            "dossier": doc.reference, "appel": appel.data["titre"], "date_jury": jury.date.isoformat(),
            "date_commission": decision.date.isoformat(), "decision": inst.etat,
        },
        "mesures": [{"territoire": name, "nombre": n, "montant": str(per_measure * n)} for name, n in granted.items() if n > 0],
        "suite": SUITE_RETENU if inst.etat == "retenu" else None,
        "raisons": inst.texte if inst.etat == "non_retenu" else None,
        "motif": irrecevability(inst) if inst.etat == "irrecevable" else None,
    }


def irrecevability(inst: Instruction) -> str:
    """The reason of an irrecevabilité as recorded at instruction: its motif (AML §6a, §6b), then its text."""
    label = instruction.MOTIFS_IRRECEVABLE.get(inst.motif or "", "")
    return " : ".join(part for part in (label if inst.motif != "autre" else "", inst.texte or "") if part) or label


def letters_of(session: Session, appel: Appel) -> list[tuple[Document, Document]]:
    """The notification letter of each of the call's dossiers that has one, irrecevable ones included: (dossier, letter), by reference."""
    dossier = aliased(Document)
    query = select(dossier, Document).join(Lettre, Lettre.dossier_id == dossier.id).join(Document, Document.id == Lettre.lettre_id)
    return [(d, letter) for d, letter in session.execute(query.where(dossier.appel_id == appel.id).order_by(dossier.reference, dossier.id)).all()]


def to_notify(session: Session, appel: Appel) -> list[tuple[Document, Instruction]]:
    """The call's dossiers whose letter the decision sets off: retained or not by the jury, or irrecevable (AML §6d)."""
    query = select(Document, Instruction).join(Instruction, Instruction.document_id == Document.id)
    query = query.where(Document.appel_id == appel.id, Instruction.etat.in_(NOTIFIED)).order_by(Document.reference, Document.id)
    return [(d, i) for d, i in session.execute(query).all()]


def send_letters(session: Session, svc: Services, appel: Appel, *, user: User) -> list[Document]:
    """Write, submit and link the letter of each decided or irrecevable dossier, then move it to "notifié"; a rerun skips what is done."""
    if user.role != "instructeur":
        raise DocumentError("Les lettres de notification sont établies par un instructeur du Département.")
    decision, jury = session.get(Decision, appel.id), session.get(Jury, appel.id)
    if decision is None or jury is None:
        raise DocumentError("Enregistrez d'abord la date de la Commission Permanente : les lettres notifient sa décision (AML §6d).")
    # The call's row, locked: the decision is not changed while its letters are being established.
    _lock(session, appel)
    decided = to_notify(session, appel)
    if not decided:
        session.rollback()
        raise DocumentError("Aucun dossier retenu, non retenu ou irrecevable n'attend sa lettre de notification.")
    made = []
    for doc, inst in decided:
        # Each letter commits on its own (the one lifecycle's submit), which lets the call's lock
        # go: another instructeur asking the letters meanwhile may have made this dossier's letter,
        # or notified it. Read again under the lock, what is done is skipped, never refused.
        _lock(session, appel)
        if session.get(Lettre, doc.id, populate_existing=True) is None:
            now = svc.clock()
            letter = Document(
                kind="notification_aml", organisation_id=doc.organisation_id, author_id=user.id, statut="brouillon",
                data=letter_data(appel, doc, inst, jury, decision), summary="", created_at=now, updated_at=now,
            )
            session.add(letter)
            session.flush()
            session.add(Lettre(dossier_id=doc.id, lettre_id=letter.id))
            submit(session, svc, letter, user=user)  # numbers, freezes, asks the render; commits the link with it
            made.append(letter)
            _lock(session, appel)
        if session.get_one(Instruction, doc.id, populate_existing=True).etat == "notifie":
            session.rollback()  # notified by the other request: the lock goes
            continue
        instruction.move(session, svc, doc, user=user, action="notifier")
    return made


def _lock(session: Session, appel: Appel) -> None:
    """Lock the call's row until the next commit: its decision and its letters wait for each other."""
    session.get_one(Appel, appel.id, with_for_update=True)
