"""The jury's scoring of a call's recevable dossiers, and its avis (AML §6c, §6d).

Each member of the call's jury scores each sub-criterion of the call's grid (configuration, not
code: ``grille.py``) on its scale, with a comment; the evaluation is a draft (comments and
scores may be missing) until the member signs it off, every score commented, then it no longer
changes. The jury's avis on a dossier (favorable, défavorable,
réservé, with its text) is recorded by the instructeur, who keeps the jury's secretariat. A
dossier is "examiné par le jury" once it has its avis and the signed evaluation of every member
of the call's jury (``check_examined``, the guard of the ``examiner`` move): "scores are saved as
drafts until the member signs off", and the jury has signed off only when each member has.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session

from webforms import policy
from webforms.candidatures.grille import grille_of
from webforms.documents.services import Services
from webforms.errors import DocumentError, parse_id
from webforms.models import Appel, Avis, Document, Evaluation, Instruction, JuryMember, User
from webforms.territoires.scope import has_departement_grant

AVIS = {"favorable": "Favorable", "defavorable": "Défavorable", "reserve": "Réservé"}
MAX_COMMENT = 2000


def grid(doc: Document) -> dict[str, Any]:
    """Return the evaluation grid of the dossier's call; refuse in French if the call has none."""
    found = grille_of(doc.appel.data) if doc.appel is not None else None
    if found is None:
        raise DocumentError("L'appel n'a pas de grille d'évaluation : le jury ne peut pas noter ses dossiers (AML §6c).")
    return found


def _state(session: Session, doc: Document) -> str:
    row = session.get(Instruction, doc.id)
    return row.etat if row is not None else "depose"


def sits_on(session: Session, user: User, appel_id: int | None) -> bool:
    """Does ``user`` sit on the jury of call ``appel_id``?"""
    if user.role != "jury" or appel_id is None:
        return False
    return session.scalar(select(JuryMember.user_id).where(JuryMember.appel_id == appel_id, JuryMember.user_id == user.id)) is not None


def reads_call(session: Session, user: User, appel_id: int | None) -> bool:
    """May ``user`` read the jury's work on a whole call (summary, exports) or decide it? A member of its
    jury, or an instructeur with a Département-wide grant: the call's dossiers span its territories, and an
    instructeur of one platform reads only that platform's dossiers (issue 13)."""
    return sits_on(session, user, appel_id) or (user.role == "instructeur" and has_departement_grant(session, user))


def evaluation_of(session: Session, doc: Document, user: User) -> Evaluation | None:
    """Return ``user``'s evaluation of the dossier, draft or signed, or None."""
    return session.get(Evaluation, (doc.id, user.id))


def blank(grille: Mapping[str, Any]) -> tuple[dict[str, list[int | None]], dict[str, list[str]]]:
    """Return empty scores and comments for every sub-criterion of the grid."""
    notes = {c["code"]: [None] * len(c["sous_criteres"]) for c in grille["criteres"]}
    comments = {c["code"]: [""] * len(c["sous_criteres"]) for c in grille["criteres"]}
    return notes, comments


def read_form(form: Mapping[str, Any], grille: Mapping[str, Any]) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """Read the scores and comments typed on the page: ``note-<code>-<n>``, ``commentaire-<code>-<n>`` (n from 1)."""
    notes: dict[str, list[str]] = {}
    comments: dict[str, list[str]] = {}
    for c in grille["criteres"]:
        positions = range(1, len(c["sous_criteres"]) + 1)
        notes[c["code"]] = [str(form.get(f"note-{c['code']}-{n}", "")) for n in positions]
        comments[c["code"]] = [str(form.get(f"commentaire-{c['code']}-{n}", "")) for n in positions]
    return notes, comments


def _checked(grille: Mapping[str, Any], notes: Mapping[str, list[str]], comments: Mapping[str, list[str]], *, sign: bool) -> tuple[dict[str, Any], dict[str, Any]]:
    """Check every score against the call's scale; on sign-off, every sub-criterion must be scored and commented."""
    low, high = grille["echelle"]["min"], grille["echelle"]["max"]
    kept_notes: dict[str, list[int | None]] = {}
    kept_comments: dict[str, list[str]] = {}
    missing: list[str] = []
    silent: list[str] = []  # scored without a comment
    for c in grille["criteres"]:
        typed = list(notes.get(c["code"]) or [])
        said = list(comments.get(c["code"]) or [])
        kept_notes[c["code"]], kept_comments[c["code"]] = [], []
        for n, sub in enumerate(c["sous_criteres"]):
            where = f"« {c['titre']} », sous-critère {n + 1} ({sub['libelle'][:60]})"
            text = str(typed[n] if n < len(typed) else "").strip()
            comment = " ".join(str(said[n] if n < len(said) else "").split())
            if len(comment) > MAX_COMMENT:
                raise DocumentError(f"{where} : le commentaire ne peut dépasser 2 000 caractères.")
            if not text:
                kept_notes[c["code"]].append(None)
                missing.append(where)
            # The one number parser (ASCII digits only, "١" is no note).
            elif (note := parse_id(text)) is None or not low <= note <= high:
                raise DocumentError(f"{where} : la note est un nombre entier de {low} à {high} (échelle de l'appel, AML §6c) ; « {text[:20]} » ne l'est pas.")
            else:
                kept_notes[c["code"]].append(note)
                if not comment:
                    silent.append(where)
            kept_comments[c["code"]].append(comment)
    if sign and missing:
        raise DocumentError(f"Notez chaque sous-critère avant de signer votre évaluation : il manque {missing[0]}" + (f" et {len(missing) - 1} autre(s)." if len(missing) > 1 else "."))
    # "chaque membre note chaque sous-critère avec un commentaire" (issue 12, AML §6c): a draft may
    # leave a comment empty, a signed evaluation may not; every sub-criterion lacking one is named.
    if sign and silent:
        raise DocumentError(f"Commentez chaque note avant de signer votre évaluation ; sans commentaire : {' ; '.join(silent)}.")
    return kept_notes, kept_comments


def score(
    session: Session,
    svc: Services,
    doc: Document,
    *,
    user: User,
    notes: Mapping[str, list[str]],
    commentaires: Mapping[str, list[str]],
    sign: bool = False,
) -> Evaluation:
    """Save ``user``'s scores of the dossier as a draft, or sign them off; refuse in French and change nothing otherwise."""
    if not sits_on(session, user, doc.appel_id):
        raise DocumentError("Vous ne siégez pas au jury de cet appel : vous ne pouvez pas noter ce dossier (AML §6d).")
    state = _state(session, doc)
    if state != "recevable":
        raise DocumentError("Le jury note les dossiers recevables qu'il n'a pas encore examinés ; ce dossier ne se note plus.")
    # The call's row, shared lock: an edit of its grid (grille.save_grille) waits for this score,
    # or this score reads the edited grid; never a score against a grid changed under it.
    session.get_one(Appel, doc.appel_id, with_for_update={"read": True}, populate_existing=True)
    grille = grid(doc)
    kept_notes, kept_comments = _checked(grille, notes, commentaires, sign=sign)
    found = session.get(Evaluation, (doc.id, user.id), with_for_update=True, populate_existing=True)
    if found is not None and found.signed_at is not None:
        raise DocumentError("Votre évaluation de ce dossier est signée : elle ne change plus.")
    now = svc.clock()
    values = {"notes": kept_notes, "commentaires": kept_comments, "updated_at": now, "signed_at": now if sign else None}
    # One statement whether the row exists or not (two first saves at once: no duplicate), and
    # never over a signed evaluation (signed by another tab since the lock above).
    upsert = pg_insert(Evaluation).values(document_id=doc.id, user_id=user.id, **values)
    session.execute(upsert.on_conflict_do_update(index_elements=["document_id", "user_id"], set_=values, where=Evaluation.signed_at.is_(None)))
    session.commit()
    return session.get_one(Evaluation, (doc.id, user.id), populate_existing=True)


def signed_evaluations(session: Session, doc_ids: list[int]) -> list[Evaluation]:
    """The signed evaluations of these dossiers (drafts are the members' own, never counted)."""
    query = select(Evaluation).where(Evaluation.document_id.in_(doc_ids), Evaluation.signed_at.is_not(None))
    return list(session.scalars(query.order_by(Evaluation.document_id, Evaluation.user_id)))


def avis_of(session: Session, doc_ids: list[int]) -> dict[int, Avis]:
    """The jury's avis on each of these dossiers that has one."""
    return {a.document_id: a for a in session.scalars(select(Avis).where(Avis.document_id.in_(doc_ids)))}


def record_avis(session: Session, svc: Services, doc: Document, *, user: User, avis: str, texte: str) -> Avis:
    """Record the jury's avis on a recevable dossier (AML §6d); refuse in French and change nothing otherwise."""
    if not policy.can_instruct(user, doc):
        raise DocumentError("L'avis du jury est enregistré par un instructeur du Département.")
    if _state(session, doc) != "recevable":
        raise DocumentError("L'avis du jury porte sur un dossier recevable qui n'est pas encore examiné.")
    if avis not in AVIS:
        raise DocumentError("Choisissez l'avis du jury : favorable, défavorable ou réservé (AML §6d).")
    texte = " ".join((texte or "").split())
    if not texte:
        raise DocumentError("Écrivez le texte de l'avis du jury.")
    if len(texte) > MAX_COMMENT:
        raise DocumentError("Le texte ne peut dépasser 2 000 caractères.")
    values = {"avis": avis, "texte": texte, "user_id": user.id, "at": svc.clock()}
    session.execute(pg_insert(Avis).values(document_id=doc.id, **values).on_conflict_do_update(index_elements=["document_id"], set_=values))
    session.commit()
    return session.get_one(Avis, doc.id, populate_existing=True)


def missing_signatures(session: Session, appel_id: int | None, doc_ids: list[int]) -> int:
    """Count the evaluations still to sign on these dossiers: one per member of the call's jury and dossier."""
    members = set(session.scalars(select(JuryMember.user_id).where(JuryMember.appel_id == appel_id)))
    signed = {(e.document_id, e.user_id) for e in signed_evaluations(session, doc_ids)}
    return sum(1 for doc_id in doc_ids for user_id in members if (doc_id, user_id) not in signed)


def missing_text(count: int) -> str:
    """Say in French how many signed evaluations are missing."""
    return f"il manque {count} évaluation{'s' if count > 1 else ''} signée{'s' if count > 1 else ''}"


def check_examined(session: Session, doc: Document) -> None:
    """Refuse to record the jury's examination of a dossier without its avis or every member's signed evaluation."""
    if session.get(Avis, doc.id) is None:
        raise DocumentError("Enregistrez d'abord l'avis du jury sur ce dossier (AML §6d).")
    if session.scalar(select(JuryMember.user_id).where(JuryMember.appel_id == doc.appel_id).limit(1)) is None:
        raise DocumentError("Le jury de cet appel n'est pas configuré : il n'a pas pu examiner ce dossier (AML §6d).")
    count = missing_signatures(session, doc.appel_id, [doc.id])
    if count:
        raise DocumentError(
            f"Le jury n'a pas signé ce dossier : {missing_text(count)} (chaque membre du jury évalue chaque dossier recevable et signe "
            "son évaluation, AML §6c, §6d)."
        )
