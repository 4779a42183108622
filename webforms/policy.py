"""Who may see and do what. Deny by default: each rule grants one thing explicitly.

- A ``redacteur`` writes documents for their own organisation and sees only those.
- A recipient role declared by a kind (``Kind.recipient_roles``: e.g. ``coordinateur`` for a
  fiche saisine, ``instructeur``, ``archiviste``) sees the *submitted* documents of that kind,
  never another organisation's drafts.
- The role named by a kind's ``review`` (the coordinator) records the decision.
- An ``admin`` manages accounts and organisations; household data is not theirs to read.
- Measures: the operator's writers see and follow their organisation's measures; an
  ``instructeur`` reads the measures, a ``coordinateur`` the AML measures (AML §7). A Maintien's
  renewal is asked by its operator (the bilan) and decided by the DPDS: the instructeur (ASLL §8).
- Territories (issue 13): a recipient, the coordinator deciding, an instructeur or a coordinator
  reading measures sees only what belongs to their territories, or to a Département they were
  explicitly granted (``webforms.territoires.scope`` derives each territory, in one place).
"""

from __future__ import annotations

from sqlalchemy import Select, and_, false, or_, select
from sqlalchemy.orm import object_session

from schemas import registry
from webforms.models import Document, InstructionMove, JuryMember, Mesure, User
from webforms.territoires.scope import document_in_scope, document_scope, mesure_in_scope, mesure_scope

WRITERS = {"redacteur"}


def can_create(user: User, kind_name: str) -> bool:
    """May ``user`` start a document of this kind?"""
    return user.role in WRITERS and kind_name in registry()


def can_create_standalone(user: User, kind_name: str) -> bool:
    """May ``user`` start this kind from "Nouveau document" (not from a measure or a call)?"""
    return can_create(user, kind_name) and registry()[kind_name].standalone


def _own(user: User, doc: Document) -> bool:
    return user.role in WRITERS and doc.organisation_id == user.organisation_id


def was_submitted(doc: Document) -> bool:
    """Has the document been submitted at least once? A reopened dossier has (AML §6b)."""
    return doc.statut != "brouillon" or doc.submitted_at is not None


def _receives(user: User, doc: Document) -> bool:
    kind = registry().get(doc.kind)
    return kind is not None and was_submitted(doc) and user.role in kind.recipient_roles and document_in_scope(user, doc)




def _juries(user: User) -> Select[tuple[int]]:
    """The calls whose jury ``user`` sits on."""
    return select(JuryMember.appel_id).where(JuryMember.user_id == user.id)


def read_by_jury() -> Select[tuple[int]]:
    """The dossiers presented to their call's jury: those once declared recevable (AML §6d).

    Not a set of states: an irrecevable dossier also ends "notifié" (its letter, AML §6d) without
    ever being presented; a recevable one never goes back, so "once recevable" is "presented".
    """
    return select(InstructionMove.document_id).where(InstructionMove.vers == "recevable")


def _sits_on(user: User, doc: Document) -> bool:
    """Is ``user`` a member of the jury of ``doc``'s call, and is the dossier one the jury reads?"""
    session = object_session(doc)
    if user.role != "jury" or doc.appel_id is None or session is None:
        return False
    member = session.scalar(_juries(user).where(JuryMember.appel_id == doc.appel_id))
    return member is not None and session.scalar(read_by_jury().where(InstructionMove.document_id == doc.id).limit(1)) is not None


def can_view(user: User, doc: Document) -> bool:
    """May ``user`` read this document and download it? A jury member: the recevable dossiers of its calls."""
    return _own(user, doc) or _receives(user, doc) or _sits_on(user, doc)


def owns(user: User, doc: Document) -> bool:
    """Is ``user`` one of the writers of the document's organisation?"""
    return _own(user, doc)


def can_read_thread(user: User, doc: Document) -> bool:
    """May ``user`` read the document's thread (messages, correction requests, attachments)? Its readers, not a jury member.

    A jury member reads the recevable dossiers of its calls "and nothing else" (issue 12): the
    exchanges between the association and the Département (the régularisation, AML §6b) are not
    the dossier the jury scores.
    """
    return can_view(user, doc) and user.role != "jury"


def can_open_checklist(user: User, doc: Document) -> bool:
    """May ``user`` open a dossier's checklist (its sections, pieces, instruction)? Its readers, not a jury member.

    The checklist is the association's working page and the instructeur's desk (corrections,
    moves); a jury member reads the recevable dossiers of its calls "and nothing else" (issue
    12): the deposited dossier (its page and files) and the grid it scores (AML §6c, §6d).
    """
    return can_view(user, doc) and user.role != "jury"


def can_discuss(user: User, doc: Document) -> bool:
    """May ``user`` write in the document's thread? Its organisation's writers and the recipients
    who answer it; not the archiviste (who files it) nor a jury (who reads it) (issue 14)."""
    return _own(user, doc) or (_receives(user, doc) and user.role not in ("archiviste", "jury"))


def can_request_correction(user: User, doc: Document) -> bool:
    """May ``user`` ask for a correction in the document's thread? A recipient who may write in it."""
    return can_discuss(user, doc) and not _own(user, doc)


def can_share(user: User, doc: Document) -> bool:
    """May ``user`` send the document to a recipient without an account, and revoke its links? Its writers, once submitted."""
    return _own(user, doc) and was_submitted(doc)


def can_edit(user: User, doc: Document) -> bool:
    """May ``user`` change and submit this document? Only a draft of their organisation."""
    return _own(user, doc) and doc.statut == "brouillon"


def can_review(user: User, doc: Document) -> bool:
    """May ``user`` record the second step (the coordinator's decision) on this document?"""
    kind = registry().get(doc.kind)
    return (
        kind is not None
        and kind.review is not None
        and user.role == kind.review.role
        and doc.statut in ("soumis", "decide")
        and document_in_scope(user, doc)
    )


def can_administer(user: User) -> bool:
    """May ``user`` manage accounts and organisations?"""
    return user.role == "admin"


def visible_documents(user: User) -> Select[tuple[Document]]:
    """Return the query of every document ``user`` may see (the same rule as ``can_view``)."""
    clauses = []
    if user.role in WRITERS:
        clauses.append(Document.organisation_id == user.organisation_id)
    received = [name for name, kind in registry().items() if user.role in kind.recipient_roles]
    if received:
        # A reopened dossier stays with its recipients: they read its last frozen version.
        clauses.append(
            and_(
                Document.kind.in_(received),
                or_(Document.statut != "brouillon", Document.submitted_at.is_not(None)),
                document_scope(user),
            )
        )
    if user.role == "jury":
        clauses.append(and_(Document.appel_id.in_(_juries(user)), Document.id.in_(read_by_jury())))
    where = or_(*clauses) if clauses else false()
    return select(Document).where(where).order_by(Document.updated_at.desc(), Document.id.desc())


def awaiting_decision(user: User) -> Select[tuple[Document]]:
    """Return the query of the submitted documents waiting for ``user``'s decision, the oldest first."""
    # The same rule as ``can_review``, restricted to those not yet decided.
    deciding = [name for name, kind in registry().items() if kind.review is not None and kind.review.role == user.role]
    return (
        select(Document)
        .where(Document.kind.in_(deciding) if deciding else false(), Document.statut == "soumis", document_scope(user))
        .order_by(Document.submitted_at, Document.id)
    )


def visible_mesures(user: User) -> Select[tuple[Mesure]]:
    """Return the query of every measure ``user`` may see (the same rule as ``can_view_mesure``)."""
    if user.role in WRITERS:
        where = Mesure.organisation_id == user.organisation_id
    elif user.role == "instructeur":
        where = mesure_scope(user)
    elif user.role == "coordinateur":
        where = and_(Mesure.type_mesure == "aml", mesure_scope(user))
    else:
        where = false()
    return select(Mesure).where(where).order_by(Mesure.id)


def can_view_mesure(user: User, mesure: Mesure) -> bool:
    """May ``user`` read this measure and its calendar?"""
    if user.role in WRITERS:
        return mesure.organisation_id == user.organisation_id
    reads = user.role == "instructeur" or (user.role == "coordinateur" and mesure.type_mesure == "aml")
    return reads and mesure_in_scope(user, mesure)


def reads_measure_type(user: User, type_mesure: str) -> bool:
    """Does ``user`` read measures of this type at all (the rule of ``visible_mesures``, before territories)?"""
    return user.role in WRITERS or user.role == "instructeur" or (user.role == "coordinateur" and type_mesure == "aml")


def can_view_statistics(user: User) -> bool:
    """May ``user`` open the figures of the measures (issue 13)? The Département's readers of
    measures: the instructeur and the coordinateur, each counting only what ``visible_mesures`` gives."""
    return user.role in ("instructeur", "coordinateur")


def can_assign_territory(user: User) -> bool:
    """May ``user`` list the measures without a territory and give each one? The administrator."""
    return user.role == "admin"


def can_edit_mesure(user: User, mesure: Mesure) -> bool:
    """May ``user`` record meetings and documents of this measure? Its operator's writers (a renewal: ``can_decide_renewal``)."""
    return user.role in WRITERS and mesure.organisation_id == user.organisation_id


def can_decide_renewal(user: User, mesure: Mesure) -> bool:
    """May ``user`` record the decision on a Maintien's renewal? The Service Logement of the DPDS,
    which instructs the Maintien (ASLL §8): the instructeur who reads the measure; never its operator, who asks."""
    return user.role == "instructeur" and mesure.type_mesure == "asll_maintien" and can_view_mesure(user, mesure)


def can_create_mesure(user: User) -> bool:
    """May ``user`` open a measure? An operator's writer."""
    return user.role in WRITERS


def can_reopen(user: User, doc: Document) -> bool:
    """May ``user`` reopen a submitted candidature for correction? Its organisation's writers."""
    return user.role in WRITERS and doc.organisation_id == user.organisation_id and doc.appel_id is not None and doc.statut == "soumis"


def can_judge_pieces(user: User, doc: Document) -> bool:
    """May ``user`` mark a piece of a submitted dossier as non-compliant? The instructeur."""
    return user.role == "instructeur" and doc.statut != "brouillon" and can_view(user, doc)


def can_instruct(user: User, doc: Document) -> bool:
    """May ``user`` move a deposited dossier's instruction, ask for a correction, read and write
    its private annotations? The instructeur who receives it (AML §6b–§6d)."""
    return user.role == "instructeur" and doc.appel_id is not None and can_view(user, doc)


def sees_frozen(user: User, doc: Document) -> bool:
    """Does ``user`` read the last frozen version rather than the draft? All but its writers."""
    return not _own(user, doc)


def can_list_dossiers(user: User) -> bool:
    """May ``user`` see the dossiers submitted to a call? Instructeurs and archivistes."""
    return user.role in ("instructeur", "archiviste")


def can_archive(user: User, doc: Document) -> bool:
    """May ``user`` deposit the signed copy of this document? An archiviste, once submitted."""
    return user.role == "archiviste" and doc.statut != "brouillon" and can_view(user, doc)


def can_search_archive(user: User) -> bool:
    """May ``user`` open the archive's search? Anyone who reads documents (each sees their scope)."""
    return user.role in ("archiviste", "instructeur", "coordinateur", "redacteur")


def can_export_archive(user: User) -> bool:
    """May ``user`` export records (SEDA, BagIt)? The archiviste."""
    return user.role == "archiviste"


def can_manage_retention(user: User) -> bool:
    """May ``user`` list records past their term, record a visa and destroy? The archiviste."""
    return user.role == "archiviste"


def can_manage_templates(user: User) -> bool:
    """May ``user`` replace, preview, put in force and roll back the document templates? The administrator."""
    return user.role == "admin"


def can_manage_territories(user: User) -> bool:
    """May ``user`` edit the territories, attach organisations and accounts, grant a Département-wide scope? The administrator."""
    return user.role == "admin"


def can_set_retention_rules(user: User) -> bool:
    """May ``user`` change the retention rule of a kind? The administrator."""
    return user.role == "admin"


def can_search_households(user: User) -> bool:
    """May ``user`` search the households' files? Whoever follows or reads measures; each finds only what ``visible_mesures`` and ``visible_documents`` give them."""
    return user.role in WRITERS or user.role in ("instructeur", "coordinateur")
