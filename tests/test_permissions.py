"""Permission matrix: every route × every actor × every document state, and CSRF on every POST.

The rules are those of ``webforms/policy.py``:

- a ``redacteur`` sees and edits only its own organisation's documents, and edits only drafts;
- the recipient roles of a kind (fiche saisine: coordinateur, instructeur, archiviste; fiche
  d'incident: instructeur, archiviste) see the *submitted* documents of that kind, never drafts;
- only the coordinateur records the decision on a submitted fiche saisine;
- the admin manages ``/admin/*`` and sees no document; downloads follow the view rule;
- measures (``/mesures/*``): a ``redacteur`` sees, follows and opens only its organisation's
  measures (meetings, renewals, documents started from a measure); the ``instructeur`` reads
  every measure; the ``coordinateur`` reads the AML measures only; the archiviste and the admin
  see none (their list and CSV export are empty); only a ``redacteur`` opens a measure, closes
  one of its organisation's, or starts its organisation's yearly bilan; a Maintien's renewal is
  the DPDS's decision, granted or refused (the instructeur reading it, on a bilan's pending request: ASLL §8, §9.2);
- calls for applications (``/admin/appels``) are the admin's, like the rest of ``/admin/*``;
- the API tokens' page (``/compte/jetons``, issue 17): every signed-in user lists and creates
  their own tokens (the new one shown once) and revokes only their own (another's → 404);
- the document templates (``/admin/modeles``: list, history, deposit, download, preview as DOCX
  and as PDF – asked of a worker, its progress, its file –, putting in force and rollback) are the
  admin's only (issue 18);
- candidature dossiers (``/appels``, ``/documents/<id>/liste``, their pieces): every signed-in
  user reads the calls; only a ``redacteur`` opens its organisation's dossier (``documents.new``
  sends it to the calls: a dossier answers a call); the dossier follows the document rule (its
  organisation, and the recipients of ``candidature_aml`` – instructeur, archiviste – once it is
  submitted, never a draft); pieces are uploaded and withdrawn by the owner on a draft only (403
  on a submitted dossier: the view refuses before the service would); a piece is reached only
  through its own dossier (another dossier's piece id → 404); only the instructeur marks a
  submitted piece non-conforme; only the owner reopens a submitted dossier, and only before the
  call's deadline (after it: back to the checklist with a message, nothing changed); the list of
  a call's submitted dossiers is the instructeur's and the archiviste's.

- the ``jury`` actor sits on the shipped call's jury (AML §6d, for the CALL): it reads that call's
  summary and its exports (XLSX, procès-verbal), and the dossiers of the call once declared
  recevable – none in the world, whose dossier is only deposited: every document, measure and
  archive route is a 404 or a 403 for it; the call's grid (``/admin/appels/<id>/grille``) is the
  admin's, like the call. The state ``dossier_submitted@presente_au_jury`` declares the dossier
  recevable for its request only: the jury reads its page (with the way to the grid), never its
  checklist, the association's working page (403; issue 12); it is tried on every instruction and
  jury route by every actor, and ``appel_2019@presente_au_jury`` on every route of the call's jury
  work (the member scores a draft; the instructeur records the avis; the decision waits for the
  signatures). ``dossier_submitted@retenu`` takes it on to "retenu" (examined, 1 Lens-Hénin
  measure) for its page, its download and a move: still read by its jury. The summary, its exports, the decision and the letters span the call's territories:
  an instructeur without a Département-wide grant is refused them (its Artois twin: 403);
- territories (issue 13, ``/admin/territoires``: configuration, attachments, Département-wide
  grants) are the admin's; organisation A works on Lens-Hénin, the coordinateur is attached to
  it, the instructeur and the archiviste hold the Pas-de-Calais grant. Each of these three has an
  Artois twin (``ARTOIS_ACTORS``): generated from the matrix, every route an original may use is
  tried by its twin on the same Lens-Hénin (or Département) object: 0 reads, 0 writes. The jury's
  twin is a member of the other call's jury only (a jury's scope is its calls, not a territory).

- messages (issue 14): each document's thread is posted to as a plain message and, in the states
  ``…@correction``, as a "demande de correction": asked by a recipient who writes in the thread
  (coordinateur, instructeur), it reopens the document and stays open until its re-deposit; a
  dossier's is the instruction's request, before the deadline only (AML §6b); the writer may not
  ask their own document one (422), the archiviste writes in no thread (403).

Expected answers: anonymous → 302 to /connexion; a document the user may not see → 404 (its
existence is not revealed); seen but not allowed → 403, or the documented redirect (editing a
submitted document sends to its page); allowed → 200 or the success redirect; allowed but refused
by a rule of the measure → 422 (a renewal of an ASLL Installation or of an AML: only an ASLL
Maintien is renewable, ASLL §2.1, §9.2). A request that is not an allowed change must leave the
database exactly as it was, measures, meetings, renewals, a dossier's pieces and the stored files
included; a refusal never shows a household's name, nor a dossier's association or file names.

Speed: one app per module. Its world (organisations, one account per actor, organisation A's
three documents, two of them submitted and so rendered, its three measures – ASLL Installation,
ASLL Maintien with a renewal, AML – with their meetings, a draft started from the AML measure,
a second call created by the admin, and organisation A's two candidature dossiers: a submitted
one, complete with its pieces, on the shipped call, and a draft with one piece on the second
call, both built with the clock before the deadline) is built once, then kept as a pristine
copy of the database and of the stored files.
Every test starts from that state: after a test that changed anything (an allowed change, or a
bug), the pristine copy is put back, and checked. A snapshot of the world is taken once per test,
after its last request (the fixture reuses it to decide). Accounts get a cheap password hash so
that each real sign-in through the form costs nothing. Only the cases that must render (submit,
decision, draft preview) render a PDF; only the allowed upload runs the upload sandbox.

Time: the world's clock is 14 October 2019, after the calls' deadline (6 September 2019 16:00,
Paris). A state ending in ``@avant_limite`` runs its request on 5 September 2019 instead; the
routes whose code reads the deadline (opening a dossier, reopening one) are tried on both sides
of it. Uploads and withdrawals do not read it (only the submission does): they run at the
world's clock.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import hashlib
import html
import io
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import docx
import pytest
from flask import Flask, url_for
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import delete, select
from werkzeug.security import generate_password_hash

from schemas import DOCX_DIR, get_kind
from tests.conftest import PASSWORD, Account, Clock, WebClient, pdf_titled
from tests.databases import Databases
from tests.test_candidatures import BEFORE_DEADLINE, example, fill_steps
from tests.test_candidatures import upload as upload_piece
from tests.test_web import doc_id_from, docx_text, example_form, flatten, pdf_text, submitted
from tests.workers import run_later_jobs
from tests.worlds import Pristine, module_app
from webforms import db
from webforms.accounts.services import create_organisation
from webforms.api.tokens import create_token
from webforms.archive.trust import trust_roots
from webforms.archive.visas import record_visa
from webforms.candidatures.decision import letter_data
from webforms.candidatures.grille import grille_aml_2019
from webforms.documents.services import submit
from webforms.mesures.services import add_renouvellement
from webforms.models import (
    ApiToken,
    Appel,
    ArchiveLog,
    ArchiveRecord,
    Avis,
    Base,
    Counter,
    Decision,
    DiplomeReferent,
    Document,
    Evaluation,
    Event,
    Instruction,
    InstructionMove,
    Jury,
    JuryMember,
    Lettre,
    Message,
    Mesure,
    Notification,
    Organisation,
    OrganisationTerritoire,
    Partage,
    Piece,
    PieceJointe,
    PorteeDepartement,
    Rencontre,
    Rendition,
    Renouvellement,
    Territoire,
    Travail,
    User,
    UserTerritoire,
)
from webforms.notifications import sharing
from webforms.web import services_of

# --------------------------------------------------------------------------------------------
# Actors and fixture documents
# --------------------------------------------------------------------------------------------

ORG_A = "Association A"
ORG_B = "Association B"

# actor -> (role, organisation); the anonymous visitor has no account.
ACTORS: dict[str, tuple[str, str] | None] = {
    "anonymous": None,
    "redacteur_A": ("redacteur", ORG_A),
    "redacteur_B": ("redacteur", ORG_B),
    "coordinateur": ("coordinateur", "Plateforme Logement d'abord Lens-Hénin"),
    "instructeur": ("instructeur", "Département du Pas-de-Calais"),
    "archiviste": ("archiviste", "Archives départementales"),
    "admin": ("admin", "Administration webforms"),
    # A member of the shipped call's jury (AML §6d), for the CALL: its scope is that call's
    # dossiers presented to the jury (none in the world: its dossier is only deposited).
    "jury": ("jury", "CALL (Communauté d'Agglomération de Lens-Liévin)"),
}
ACTOR_NAMES = tuple(ACTORS)

# Territories (issue 13): the world is Lens-Hénin's (organisation A, the coordinateur) and the
# Pas-de-Calais Département's (the grants of the instructeur and the archiviste). Each scoped
# actor has a twin attached to Artois only, not in the matrix's rows: see test_artois_*.
LENS, ARTOIS = "aml-lens-henin", "aml-artois"
# The jury's scope is its calls, not a territory: its twin, a CABBALR (Artois) member, sits on the
# jury of the other call only (the admin's, holding organisation A's draft), never on the shipped one.
ARTOIS_ACTORS = {"coordinateur_artois": "coordinateur", "instructeur_artois": "instructeur", "archiviste_artois": "archiviste", "jury_artois": "jury"}
TERRITOIRE_STATE = "territoire_lens"  # Lens-Hénin's configuration page
PORTEE_STATE = "portee_instructeur"  # the instructeur's Département-wide grant

# Organisation A's documents: state -> (kind, status)
STATES: dict[str, tuple[str, str]] = {
    "draft_saisine": ("fiche_saisine", "brouillon"),
    "submitted_saisine": ("fiche_saisine", "soumis"),
    "submitted_incident": ("fiche_incident", "soumis"),
    # The notification letter of organisation A's submitted dossier, decided "retenu" (1 Lens-Hénin
    # measure) and notified (AML §6d): written and submitted by the service for the instructeur,
    # frozen with its reference and hash, rendered DOCX and PDF. Each of its requests runs with the
    # dossier notified (its instruction, the Commission Permanente's decision, the link to it: see
    # World.presented), so that what the dossier's state opens is tried too (issue 12).
    "lettre_retenu": ("notification_aml", "soumis"),
}
LETTER_STATE = "lettre_retenu"
# A name typed in each document; it must never appear in a refusal.
HOUSEHOLD = {"fiche_saisine": "Durand", "fiche_incident": "Morel", "notification_aml": "Porteur Dépôt Matrice"}  # the letter: its association

# Organisation A's measures, opened through the web by redacteur_A (their referent):
# state -> the form of /mesures/nouvelle. Each household name is found nowhere else.
MESURES: dict[str, dict[str, str]] = {
    "mesure_asll": {
        "type_mesure": "asll_installation", "menage_nom": "Lefebvre", "menage_prenom": "Yasmine", "menage_commune": "Liévin",
        "date_bon_commande": "2019-09-02", "duree_mois": "3", "travailleur_social": "Hélène Vidal",
    },
    "mesure_maintien": {
        "type_mesure": "asll_maintien", "menage_nom": "Rousseau", "menage_prenom": "Mathilde", "menage_commune": "Carvin",
        "date_bon_commande": "2019-03-04", "date_premiere_rencontre": "2019-03-11", "nature_premiere_rencontre": "visite_domicile", "duree_mois": "6",
    },
    "mesure_aml": {
        "type_mesure": "aml", "menage_nom": "Garnier", "menage_prenom": "Anatole", "menage_commune": "Avion",
        "date_premiere_rencontre": "2019-09-16", "nature_premiere_rencontre": "entretien_bureau", "duree_mois": "12",
    },
}
MESURE_HOUSEHOLD = {state: form["menage_nom"] for state, form in MESURES.items()}
ALL_HOUSEHOLDS = (*HOUSEHOLD.values(), *MESURE_HOUSEHOLD.values())
# Recorded while building the world, so that a refused request is seen not to touch them.
WORLD_MEETINGS = {"mesure_maintien": {"date": "2019-03-11", "nature": "entretien_bureau"}, "mesure_aml": {"date": "2019-09-23", "nature": "visite_domicile"}}
WORLD_RENEWAL = {"date_decision": "2019-09-05", "duree_mois": "3", "motif": "Plan d'apurement de la dette locative"}
# mesures.start_document: "<measure state>:<kind_name>" for each measure and each kind tried.
START_KINDS = ("fiche_incident", "fiche_saisine", "inconnu")
START_STATES = tuple(f"{m}:{k}" for m in MESURES for k in START_KINDS)


# The call for applications shipped by the migrations (admin.appel).
APPEL_SEED = Path(__file__).resolve().parent.parent / "webforms" / "data" / "appel_aml_2019.json"
APPEL_STATE = "appel_2019"

# Candidature dossiers (AML §5, §6). The shipped call holds organisation A's submitted dossier;
# a second call, created by the admin with the same deadline, holds its draft (one dossier per
# organisation and call).
CANDIDATURE = "candidature_aml"
DRAFT_APPEL = {"code": "appel-de-la-matrice", "titre": "Appel de la matrice (brouillon de l'association A)"}
# state -> status of organisation A's dossier
DOSSIERS: dict[str, str] = {"dossier_draft": "brouillon", "dossier_submitted": "soumis"}
# The association's name typed in each dossier: it must never appear in a refusal.
DOSSIER_NAME = {"dossier_draft": "Porteur Brouillon Matrice", "dossier_submitted": "Porteur Dépôt Matrice"}
# The piece each dossier's piece states use: the draft's only piece, and one of the submitted ones.
WORLD_PIECE = {"dossier_draft": "courrier", "dossier_submitted": "deliberation"}
PIECE_NAME = {"dossier_draft": "courrier-brouillon-matrice.pdf", "dossier_submitted": "deliberation-depot-matrice.pdf"}
# Piece states: "<dossier>:<piece>" -> (the dossier in the URL, the dossier the piece belongs to).
# The crossed ones try a piece through another dossier of the same organisation.
PIECE_STATES: dict[str, tuple[str, str]] = {
    "dossier_draft:piece": ("dossier_draft", "dossier_draft"),
    "dossier_submitted:piece": ("dossier_submitted", "dossier_submitted"),
    "dossier_submitted:piece_of_draft": ("dossier_submitted", "dossier_draft"),
    "dossier_draft:piece_of_submitted": ("dossier_draft", "dossier_submitted"),
}
DOSSIER_SECRETS = (*DOSSIER_NAME.values(), *PIECE_NAME.values())
# "<state>@avant_limite": the request runs before the deadline (6 September 2019 16:00 Paris).
BEFORE = "@avant_limite"
BEFORE_NOW = dt.datetime(2019, 9, 5, 10, 0, tzinfo=dt.UTC)
# "dossier_submitted@presente_au_jury": for its request only, the submitted dossier is declared
# recevable, so presented to the shipped call's jury, on which the jury actor sits (AML §6d).
PRESENTED = "@presente_au_jury"
PRESENTED_DOSSIER = "dossier_submitted" + PRESENTED
# "<document>@correction": the thread's post is a "demande de correction" (issue 14), not a plain message.
CORRECTION = "@correction"
# "dossier_submitted@retenu": for its request only, the dossier has gone through the jury and is
# retained (1 Lens-Hénin measure): past "recevable", still read by the jury (issue 12, audit point 7).
RETAINED = "@retenu"
RETAINED_DOSSIER = "dossier_submitted" + RETAINED
# "dossier_submitted@notifie": for its request only, the retained dossier has its Commission
# Permanente's decision (1 October 2019) and its letter (LETTER_STATE), and is "notifié": its
# draft convention de financement is then drawn up (AML §6d, §7; issue 12).
NOTIFIED = "@notifie"
NOTIFIED_DOSSIER = "dossier_submitted" + NOTIFIED
DECISION_DATE = dt.date(2019, 10, 1)  # before the world's clock (14 October 2019), after the jury (25 September)
# Every jury and instruction route of a call is tried with the call's dossier presented too (issue 12).
APPEL_STATES = (APPEL_STATE, APPEL_STATE + PRESENTED)

# The archive (DESIGN §3): the archiviste deposited the signed scan of the submitted fiche
# saisine; a destruction visa was recorded for it (while its term was set to have passed:
# at the world's clock it has not, so carrying it out is refused).
RECORD_STATE = "archive_saisine"
# The render of the draft fiche saisine's previews, asked by its save (issue 11, point 4): the
# work's pages are its requester's, whoever sees its document, and the admin's.
PREVIEW_WORK_STATE = "apercu_draft_saisine"
VISA_STATE = "visa_saisine"
SIGNED_NAME = "fiche-saisine-signee-matrice.pdf"
# The administrator trusts one authority (built with the world); another is offered to add.
TRUST_STATE = "autorite_de_confiance"
# The queue (webforms.jobs): the render of the submitted fiche saisine, asked by redacteur_A.
TRAVAIL_STATE = "travail_saisine"
# An account the administrator acts on (reset its password, deactivate, reactivate): not an actor.
ACCOUNT_STATE = "compte_cible"
TARGET_EMAIL = "compte-cible@matrice.example.fr"
EXPORT_STATE = "export_archiviste"  # the export the archiviste asked (a work of the queue)
NOTIFICATION_STATE = "notification_coordinateur"  # the coordinateur's notice of the submitted fiche saisine
# A personal link to the submitted fiche saisine for a recipient without an account (issue 14),
# sent by redacteur_A; the visitor holds its secret but has asked no code.
PARTAGE_STATE = "lien_sans_compte"
# An attachment of a message of the submitted fiche saisine's thread (issue 14), by redacteur_A;
# asked through its own document's thread, then through another document's (never found there).
ATTACHMENT_STATES = {"submitted_saisine:piece_jointe": "submitted_saisine", "submitted_incident:piece_jointe_d_autrui": "submitted_incident"}
ATTACHMENT_NAME = "justificatif-matrice.pdf"
# The document templates (issue 18): the admin deposited version 1 of the fiche d'incident's
# Word template and saw its preview (it is not in force); a deposit adds version 2.
MODELE_STATE = "modele"
MODELE_VERSION_STATE = "modele_v1"
MODELE_TEMPLATE = "fiche_incident.docx"
# The PDF preview of that version 1, asked by the admin and made by a worker (LibreOffice).
MODELE_PDF_STATE = "modele_v1_apercu_pdf"
# redacteur_A's API token (issue 17), made with the world: only its owner revokes it.
TOKEN_STATE = "jeton_redacteur_A"
WORLD_NOW = Clock().now  # 14 October 2019: after the deadline
UPLOAD_CODE = "deliberation"  # uploaded to the draft (which has only its courrier)
UPLOAD_NAME = "deliberation-matrice.pdf"
NONCONFORME_MOTIF = "Délibération non signée (matrice)"
CORRECTION_TEXT = "Correction demandée par la matrice"
ANNOTATION_TEXT = "Annotation privée de la matrice"


UPLOAD_PDF = pdf_titled("Pièce déposée par la matrice")


def squashed(text: str) -> str:
    """A PDF's text with its spaces made plain and its line breaks closed up."""
    return " ".join(text.replace("\u202f", " ").replace("\xa0", " ").split())


def base_state(state: str | None) -> str | None:
    """The state without its time ("dossier_submitted" for "dossier_submitted@avant_limite")."""
    return None if state is None else state.partition("@")[0]


def mesure_state(state: str | None) -> str | None:
    """The measure a state is about ("mesure_aml" for "mesure_aml:fiche_incident"), or None."""
    head = str(state).partition(":")[0]
    return head if head in MESURES else None


def email_of(actor: str) -> str:
    return f"{actor.lower()}@matrice.example.fr"


@dataclass
class World:
    app: Flask
    root: Path
    databases: Databases
    accounts: dict[str, Account] = field(default_factory=dict)
    docs: dict[str, int] = field(default_factory=dict)  # state (and "draft_from_mesure") -> document id
    mesures: dict[str, int] = field(default_factory=dict)  # measure state -> measure id
    appel_id: int = 0  # the call shipped by the migrations
    draft_appel_id: int = 0  # the call created by the admin, holding organisation A's draft dossier
    pieces: dict[str, int] = field(default_factory=dict)  # dossier state -> the id of its WORLD_PIECE
    orgs: dict[str, int] = field(default_factory=dict)  # organisation name -> id
    record_id: int = 0  # the archive record of the submitted fiche saisine
    preview_travail_id: int = 0  # the render of the draft fiche saisine's previews (done)
    modele_pdf_id: int = 0  # the work that made the PDF preview of the template's version 1 (done)
    visa_id: int = 0  # the destruction visa recorded for it
    fingerprint: str = ""  # the trusted authority's SHA-256
    travail_id: int = 0  # the worker's render of the submitted fiche saisine (done)
    export_id: int = 0  # the work building the archiviste's export
    notification_id: int = 0  # the coordinateur's notification of the submitted fiche saisine (unread)
    partage_id: int = 0  # the link of PARTAGE_STATE
    partage_secret: str = ""  # its secret, as its e-mail carries it
    attachment_id: int = 0  # the attachment of ATTACHMENT_STATES
    token_id: int = 0  # redacteur_A's API token
    target_id: int = 0  # the account of ACCOUNT_STATE
    territoire_id: int = 0  # Lens-Hénin
    portee_id: int = 0  # the instructeur's Pas-de-Calais grant
    pristine: dict[str, Any] = field(default_factory=dict)  # snapshot() of the world as built
    kept: Pristine | None = None  # its rows and files, put back by restore()
    settled: dict[str, Any] | None = None  # the snapshot a test took last, after its last request

    def settle(self) -> dict[str, Any]:
        """Snapshot the world once a test made its last request (the fixture reuses it)."""
        self.settled = snapshot(self.app)
        return self.settled

    @property
    def database(self) -> str:
        return str(self.app.config["DATABASE_URL"])

    def client(self, actor: str) -> WebClient:
        """A client signed in as ``actor`` (through the sign-in form), or anonymous."""
        web = WebClient(self.app.test_client())
        if actor == "anonymous":
            web.get("/connexion")
        else:
            web.login(self.accounts[actor])
        return web

    @property
    def clock(self) -> Clock:
        return self.app.config["CLOCK"]  # type: ignore[no-any-return]

    @contextlib.contextmanager
    def presented(self, state: str | None) -> Iterator[None]:
        """For "…@presente_au_jury": the dossier declared recevable during the request, its rows removed right after.

        On the call's state (``appel_aml@presente_au_jury``), the call's submitted dossier is the one presented.
        """
        # The letter's requests run with its dossier notified ("…@notifie"), as it is once a letter exists.
        notified = str(state).endswith(NOTIFIED) or base_state(state) == LETTER_STATE
        doc_id = self.docs["dossier_submitted"] if base_state(state) in (APPEL_STATE, LETTER_STATE) else self.doc_of(state)
        if not (str(state).endswith((PRESENTED, RETAINED)) or notified) or doc_id is None:
            yield
            return
        retained = str(state).endswith(RETAINED) or notified  # "…@retenu": on through the jury's examination to "retenu"
        with self.app.app_context():
            s = db.session()
            by = self.accounts["instructeur"].id
            etat = "notifie" if notified else "retenu" if retained else "recevable"
            s.add(Instruction(document_id=doc_id, etat=etat, mesures={"Lens-Hénin": 1} if retained else None, updated_at=WORLD_NOW))
            s.add(InstructionMove(document_id=doc_id, action="recevable", depuis="en_instruction", vers="recevable", user_id=by, at=WORLD_NOW))
            if retained:
                s.add(InstructionMove(document_id=doc_id, action="examiner", depuis="recevable", vers="examine", user_id=by, at=WORLD_NOW))
                s.add(InstructionMove(document_id=doc_id, action="retenir", depuis="examine", vers="retenu", mesures={"Lens-Hénin": 1}, user_id=by, at=WORLD_NOW))
            if notified:  # the decision recorded, the letter established and linked, then "notifié" (AML §6d)
                s.add(Decision(appel_id=self.appel_id, date=DECISION_DATE, user_id=by, at=WORLD_NOW))
                s.add(Lettre(dossier_id=doc_id, lettre_id=self.docs[LETTER_STATE]))
                s.add(InstructionMove(document_id=doc_id, action="notifier", depuis="retenu", vers="notifie", user_id=by, at=WORLD_NOW))
            s.commit()
        try:
            yield
        finally:
            with self.app.app_context():
                s = db.session()
                s.execute(delete(Lettre).where(Lettre.dossier_id == doc_id))
                s.execute(delete(Decision).where(Decision.appel_id == self.appel_id))
                s.execute(delete(InstructionMove).where(InstructionMove.document_id == doc_id))
                s.execute(delete(Instruction).where(Instruction.document_id == doc_id))
                s.commit()

    @contextlib.contextmanager
    def at_time_of(self, state: str | None) -> Iterator[None]:
        """Run with the clock of ``state``: before the deadline for "…@avant_limite"."""
        self.clock.now = BEFORE_NOW if str(state).endswith(BEFORE) else WORLD_NOW
        try:
            yield
        finally:
            self.clock.now = WORLD_NOW

    def doc_of(self, state: str | None) -> int | None:
        """The document a state is about (the dossier in the URL for a piece state), or None."""
        name = base_state(state)
        if name in PIECE_STATES:
            name = PIECE_STATES[name][0]
        name = ATTACHMENT_STATES.get(str(name), name)
        return self.docs.get(str(name)) if name in STATES or name in DOSSIERS else None

    def url(self, endpoint: str, state: str | None, **values: Any) -> str:
        state = base_state(state)
        if state in STATES or state in DOSSIERS:
            values["doc_id"] = self.docs[state]
        elif state in ATTACHMENT_STATES:
            values["doc_id"], values["attachment_id"] = self.docs[ATTACHMENT_STATES[state]], self.attachment_id
        elif state in PIECE_STATES:
            dossier, owner = PIECE_STATES[state]
            values["doc_id"], values["piece_id"] = self.docs[dossier], self.pieces[owner]
        elif mesure_state(state) is not None:
            head, _, kind_name = str(state).partition(":")
            values["mesure_id"] = self.mesures[head]
            if kind_name:
                values["kind_name"] = kind_name
        elif state == APPEL_STATE:
            values["appel_id"] = self.appel_id
        elif state == PREVIEW_WORK_STATE:
            values["travail_id"] = self.preview_travail_id
        elif state == RECORD_STATE:
            values["record_id"] = self.record_id
        elif state == VISA_STATE:
            values["visa_id"] = self.visa_id
        elif state == TRUST_STATE:
            values["fingerprint"] = self.fingerprint
        elif state == TRAVAIL_STATE:
            values["travail_id"] = self.travail_id
        elif state == EXPORT_STATE:
            values["travail_id"] = self.export_id
        elif state == NOTIFICATION_STATE:
            values["notification_id"] = self.notification_id
        elif state == PARTAGE_STATE:
            values["partage_id"] = self.partage_id
            if endpoint == "partage.revoke":
                values["doc_id"] = self.docs["submitted_saisine"]
            else:
                values["secret"] = self.partage_secret
        elif state == ACCOUNT_STATE:
            values["user_id"] = self.target_id
        elif state == TERRITOIRE_STATE:
            values["territoire_id"] = self.territoire_id
        elif state == PORTEE_STATE:
            values["portee_id"] = self.portee_id
        elif state == MODELE_STATE:
            values["template"] = MODELE_TEMPLATE
        elif state == MODELE_VERSION_STATE:
            values["template"], values["number"] = MODELE_TEMPLATE, 1
        elif state == TOKEN_STATE:
            values["token_id"] = self.token_id
        elif state == MODELE_PDF_STATE:
            values["template"], values["travail_id"] = MODELE_TEMPLATE, self.modele_pdf_id
        elif state is not None:
            values["kind_name"] = state
        if endpoint in ("documents.download", "documents.preview", "jury.draft_convention"):
            values.setdefault("fmt", "pdf")
        if endpoint == "candidatures.upload":
            values.setdefault("code", UPLOAD_CODE)
        if endpoint == "archives.download":
            values.setdefault("which", "signe")
        if endpoint == "menages.search":
            # A search naming a Lens-Hénin household (the AML measure's reference): found by whoever
            # reads that measure, by no one else (the Artois twins included).
            with self.app.app_context():
                values.setdefault("q", db.session().get_one(Mesure, self.mesures["mesure_aml"]).reference)
        if endpoint == "auth.reset":
            values.setdefault("token", "0" * 64)  # a link that names no reset (the links themselves: tests/test_password_reset.py)
        with self.app.test_request_context():
            return url_for(endpoint, **values)

    def close(self) -> None:
        self.app.extensions["webforms.engine"].dispose()

    def keep_pristine(self) -> None:
        self.kept = Pristine(self.app, self.databases, self.root)
        self.kept.keep()
        self.pristine = snapshot(self.app)

    def restore(self) -> None:
        """Put back the database and the stored files as built."""
        assert self.kept is not None
        self.kept.restore()


@pytest.fixture(scope="module")
def shared_world(databases: Databases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The module's app and world, built once, on a database of its own."""
    root = tmp_path_factory.mktemp("permissions")
    app = module_app(databases, root, Clock())
    world = World(app, root, databases)
    try:
        cheap_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")
        with app.app_context():
            s = db.session()
            for actor, spec in ACTORS.items():
                if spec is None:
                    continue
                role, org_name = spec
                org = s.scalar(select(Organisation).where(Organisation.name == org_name)) or create_organisation(s, org_name)
                user = User(email=email_of(actor), full_name=f"Compte {actor}", role=role, organisation_id=org.id, password_hash=cheap_hash)
                s.add(user)
                s.flush()
                world.accounts[actor] = Account(user.id, user.email, role, org.id, org_name)
                if role == "redacteur":  # ASLL referents, with their Diplôme d'État (ASLL §4)
                    s.add(DiplomeReferent(user_id=user.id, diplome="cesf", recorded_by_id=user.id))
            build_territories(world, s, cheap_hash)
            target = User(email=TARGET_EMAIL, full_name="Compte ciblé", role="redacteur", organisation_id=world.accounts["redacteur_B"].organisation_id, password_hash=cheap_hash)
            s.add(target)
            s.commit()
            world.target_id = target.id
            world.orgs = {o.name: o.id for o in s.scalars(select(Organisation))}
            world.appel_id = s.scalar(select(Appel.id).where(Appel.code == json.loads(APPEL_SEED.read_text(encoding="utf-8"))["code"])) or 0
            assert world.appel_id
        web = world.client("redacteur_A")
        draft = web.post("/documents/nouveau/fiche_saisine", {**example_form("fiche_saisine"), "action": "save"})
        assert draft.status_code == 302, draft.get_data(as_text=True)
        world.docs = {
            "draft_saisine": doc_id_from(draft),
            "submitted_saisine": submitted(web, "fiche_saisine"),
            "submitted_incident": submitted(web, "fiche_incident"),
        }
        for state, form in MESURES.items():
            opened = web.post("/mesures/nouvelle", form)
            assert opened.status_code == 302, opened.get_data(as_text=True)
            world.mesures[state] = int(urlsplit(opened.headers["Location"]).path.rsplit("/", 1)[1])
        for state, meeting in WORLD_MEETINGS.items():
            assert web.post(world.url("mesures.add_meeting", state), meeting_form(meeting)).status_code == 302
        record_world_renewal(world)
        # A draft about the AML measure: only its organisation sees it, on the measure's page too.
        started = web.post(world.url("mesures.start_document", "mesure_aml:fiche_incident"))
        assert started.status_code == 302, started.get_data(as_text=True)
        world.docs["draft_from_mesure"] = doc_id_from(started)
        build_dossiers(world)
        build_letter(world)
        build_archive(world)
        build_templates(world)
        build_tokens(world)
        # The draft's previews are rendered (as a worker does a second after the save): its
        # preview is served as a stored file.
        run_later_jobs(app)
        with app.app_context():
            world.preview_travail_id = db.session().scalars(select(Travail.id).where(Travail.nature == "apercu", Travail.document_id == world.docs["draft_saisine"])).one()
            world.notification_id = db.session().scalars(select(Notification.id).where(
                Notification.user_id == world.accounts["coordinateur"].id, Notification.document_id == world.docs["submitted_saisine"])).one()
            link = Partage(document_id=world.docs["submitted_saisine"], adresse="rast@matrice.example.fr", qualite="rast", sel="5" * 64,
                           created_by_id=world.accounts["redacteur_A"].id, created_at=WORLD_NOW, expires_at=WORLD_NOW + dt.timedelta(days=30), code_essais=0)
            db.session().add(link)
            db.session().commit()
            world.partage_id, world.partage_secret = link.id, sharing.secret_of(link)
            # Written directly (no notification: the world's notifications stay those of its documents).
            message = Message(document_id=world.docs["submitted_saisine"], user_id=world.accounts["redacteur_A"].id, texte="Pièce jointe de la matrice", at=WORLD_NOW)
            db.session().add(message)
            db.session().flush()
            digest, size = services_of(app).documents.store.put_stream(io.BytesIO(pdf_titled("Pièce jointe (matrice)")))
            attached = PieceJointe(message_id=message.id, sha256=digest, size=size, mime="application/pdf", original_name=ATTACHMENT_NAME, at=WORLD_NOW)
            db.session().add(attached)
            db.session().commit()
            world.attachment_id = attached.id
        world.keep_pristine()
        assert {s: world.pristine["documents"][world.docs[s]][:4:3] for s in STATES} == STATES
        assert world.pristine["documents"][world.docs["draft_from_mesure"]][13] == world.mesures["mesure_aml"]
        mesures = world.pristine["mesures"]
        assert {s: mesures[world.mesures[s]][3:5] for s in MESURES} == {s: (f["type_mesure"], f["menage_nom"]) for s, f in MESURES.items()}
        # The meetings recorded, and the first meeting typed when each measure was opened.
        firsts = {(world.mesures[s], f["date_premiere_rencontre"]) for s, f in MESURES.items() if f.get("date_premiere_rencontre")}
        assert {(r[1], r[2].isoformat()) for r in world.pristine["rencontres"]} == {(world.mesures[s], m["date"]) for s, m in WORLD_MEETINGS.items()} | firsts
        assert [r[1] for r in world.pristine["renouvellements"]] == [world.mesures["mesure_maintien"]]
        dossiers = {s: world.pristine["documents"][world.docs[s]] for s in DOSSIERS}
        assert {s: (d[0], d[1], d[3], d[16]) for s, d in dossiers.items()} == {
            "dossier_draft": (CANDIDATURE, world.orgs[ORG_A], "brouillon", world.draft_appel_id),
            "dossier_submitted": (CANDIDATURE, world.orgs[ORG_A], "soumis", world.appel_id),
        }
        pieces = world.pristine["pieces"]
        assert sorted(p[1] for p in pieces.values() if p[0] == world.docs["dossier_submitted"]) == ["courrier", "deliberation", "fiches_poste"]
        assert [p[1] for p in pieces.values() if p[0] == world.docs["dossier_draft"]] == ["courrier"]
        assert {s: pieces[world.pieces[s]][7] for s in DOSSIERS} == PIECE_NAME
        assert {v for v, _ in renditions_of(world.pristine, world.docs["dossier_submitted"])} == {1}  # its deposited version
        assert world.clock.now == WORLD_NOW
        yield world
    finally:
        world.close()


def build_territories(world: World, s: Any, password_hash: str) -> None:
    """Organisation A works on Lens-Hénin, the coordinateur is attached to it, the instructeur and
    the archiviste are granted the Pas-de-Calais, the instructeur also the Haute-Savoie (the world's
    ASLL measures, without territory, are that Département's); their Artois twins are attached to Artois only."""
    lens, artois = (s.scalars(select(Territoire).where(Territoire.code == code)).one() for code in (LENS, ARTOIS))
    world.territoire_id = lens.id
    s.add(OrganisationTerritoire(organisation_id=world.accounts["redacteur_A"].organisation_id, territoire_id=lens.id))
    s.add(UserTerritoire(user_id=world.accounts["coordinateur"].id, territoire_id=lens.id))
    for actor in ("instructeur", "archiviste"):
        s.add(PorteeDepartement(user_id=world.accounts[actor].id, departement="Pas-de-Calais", accordee_le=WORLD_NOW))
    s.add(PorteeDepartement(user_id=world.accounts["instructeur"].id, departement="Haute-Savoie", accordee_le=WORLD_NOW))
    org = create_organisation(s, "Plateforme Logement d'abord Artois")
    for twin, role in ARTOIS_ACTORS.items():
        user = User(email=email_of(twin), full_name=f"Compte {twin}", role=role, organisation_id=org.id, password_hash=password_hash)
        s.add(user)
        s.flush()
        if role != "jury":  # a jury member has no territory: its calls are its scope
            s.add(UserTerritoire(user_id=user.id, territoire_id=artois.id))
        world.accounts[twin] = Account(user.id, user.email, role, org.id, org.name)
    s.flush()
    world.portee_id = s.scalars(select(PorteeDepartement.id).where(PorteeDepartement.user_id == world.accounts["instructeur"].id, PorteeDepartement.departement == "Pas-de-Calais")).one()


def record_world_renewal(world: World) -> None:
    """The world's Maintien renewal, decided by the DPDS (the instructeur, ASLL §8) on a request the world does not keep."""
    with world.app.test_request_context():
        s = db.session()
        dpds = s.get_one(User, world.accounts["instructeur"].id)
        add_renouvellement(s, services_of(world.app).documents, s.get_one(Mesure, world.mesures["mesure_maintien"]), user=dpds, payload=dict(WORLD_RENEWAL))


def build_dossiers(world: World) -> None:
    """Organisation A's two dossiers, built through the web before the deadline, then back to the
    world's clock: a submitted one, complete, on the shipped call; a draft with its courrier on a
    second call the admin creates (one dossier per organisation and call)."""
    world.clock.now = BEFORE_DEADLINE
    try:
        created = world.client("admin").post("/admin/appels", appel_form(**DRAFT_APPEL))
        assert created.status_code == 302, created.get_data(as_text=True)
        world.draft_appel_id = int(urlsplit(created.headers["Location"]).path.rsplit("/", 1)[1])
        web = world.client("redacteur_A")
        for state, appel_id in (("dossier_submitted", world.appel_id), ("dossier_draft", world.draft_appel_id)):
            opened = web.post(world.url("candidatures.open_dossier", None, appel_id=appel_id))
            assert opened.status_code == 302, opened.get_data(as_text=True)
            match = re.fullmatch(r"/documents/(\d+)/liste", urlsplit(opened.headers["Location"]).path)
            assert match, opened.headers["Location"]
            world.docs[state] = int(match.group(1))
        data = example()
        data["porteur"]["raison_sociale"] = DOSSIER_NAME["dossier_submitted"]
        doc_id = world.docs["dossier_submitted"]
        fill_steps(web, doc_id, data)
        for code in ("courrier", "deliberation", "fiches_poste"):
            name = PIECE_NAME["dossier_submitted"] if code == WORLD_PIECE["dossier_submitted"] else f"{code}-depot.pdf"
            assert upload_piece(web, doc_id, code, pdf_titled(f"{code} du dossier déposé"), name).status_code == 302
        assert "Le dossier est complet" in web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
        assert web.post(f"/documents/{doc_id}/soumettre").status_code == 302
        doc_id = world.docs["dossier_draft"]
        porteur = {**example()["porteur"], "raison_sociale": DOSSIER_NAME["dossier_draft"]}
        saved = web.post(f"/documents/{doc_id}/modifier?etape=1", {**flatten({"porteur": porteur}), "action": "save"})
        assert saved.status_code == 302, saved.get_data(as_text=True)
        pdf = pdf_titled("courrier du brouillon")
        assert upload_piece(web, doc_id, "courrier", pdf, PIECE_NAME["dossier_draft"]).status_code == 302
    finally:
        world.clock.now = WORLD_NOW
    with world.app.app_context():
        s = db.session()
        for state, code in WORLD_PIECE.items():
            world.pieces[state] = s.scalar(select(Piece.id).where(Piece.document_id == world.docs[state], Piece.code == code)) or 0
        # The juries (AML §6d), on the 25 September 2019: the jury actor sits on the shipped call's,
        # its Artois twin on the other call's (their date after both deadlines).
        for appel_id, actor, organisme in ((world.appel_id, "jury", "call"), (world.draft_appel_id, "jury_artois", "cabbalr")):
            s.add(Jury(appel_id=appel_id, date=dt.date(2019, 9, 25), updated_at=WORLD_NOW))
            s.flush()
            s.add(JuryMember(appel_id=appel_id, user_id=world.accounts[actor].id, organisme=organisme))
        s.commit()


def build_letter(world: World) -> None:
    """The notification letter of organisation A's submitted dossier, retained with 1 Lens-Hénin measure
    (AML §6d): filled by the service's own ``letter_data`` and submitted for the instructeur, as
    ``send_letters`` does (numbered, frozen; rendered DOCX and PDF by the worker the world runs).
    The dossier's instruction, the decision and the link are the request's (World.presented)."""
    with world.app.test_request_context():
        s = db.session()
        instructeur = s.get_one(User, world.accounts["instructeur"].id)
        dossier = s.get_one(Document, world.docs["dossier_submitted"])
        appel, jury_ = s.get_one(Appel, world.appel_id), s.get_one(Jury, world.appel_id)
        retained = Instruction(etat="retenu", mesures={"Lens-Hénin": 1})  # not added: the request's
        decided = Decision(appel_id=world.appel_id, date=DECISION_DATE)
        letter = Document(
            kind="notification_aml", organisation_id=dossier.organisation_id, author_id=instructeur.id, statut="brouillon",
            data=letter_data(appel, dossier, retained, jury_, decided), summary="", created_at=WORLD_NOW, updated_at=WORLD_NOW,
        )
        s.add(letter)
        s.flush()
        submit(s, services_of(world.app).documents, letter, user=instructeur)
        world.docs[LETTER_STATE] = letter.id


def build_archive(world: World) -> None:
    """The archiviste deposits the signed scan of the submitted fiche saisine (through the web);
    a destruction visa is recorded for it with the clock past its term, then back to the world's."""
    web = world.client("archiviste")
    doc_id = world.docs["submitted_saisine"]
    deposited = web.post(
        f"/documents/{doc_id}/archiver",
        {"fichier": (io.BytesIO(pdf_titled("Fiche saisine signée (matrice)")), SIGNED_NAME), "signature": "scan"},
        content_type="multipart/form-data",
    )
    assert deposited.status_code == 302, deposited.get_data(as_text=True)
    world.record_id = int(urlsplit(deposited.headers["Location"]).path.rsplit("/", 1)[1])
    world.clock.now = dt.datetime(2025, 1, 6, 9, 0, tzinfo=dt.UTC)
    try:
        with world.app.app_context():
            s = db.session()
            visa = record_visa(
                s,
                world.app.extensions["webforms.archive"],
                user=s.get(User, world.accounts["archiviste"].id),
                document_ids=[doc_id],
                numero="2025-001",
                date_visa=dt.date(2025, 1, 3),
                signataire="Directeur des Archives (matrice)",
            )
            world.visa_id = visa.id
    finally:
        world.clock.now = WORLD_NOW
    exported = web.post("/archives/export", {"format": "bagit", "record": str(world.record_id)})
    assert exported.status_code == 302, exported.get_data(as_text=True)
    world.export_id = int(urlsplit(exported.headers["Location"]).path.rsplit("/", 1)[1])
    added = world.client("admin").post("/admin/certificats", {"certificat": (io.BytesIO(ca_pem(4)), "autorite.pem")}, content_type="multipart/form-data")
    assert added.status_code == 302, added.get_data(as_text=True)
    with world.app.app_context():
        (root,) = trust_roots(world.app.extensions["webforms.archive"])
        world.fingerprint = root.fingerprint
        world.travail_id = db.session().scalars(select(Travail.id).where(Travail.nature == "rendu", Travail.document_id == world.docs["submitted_saisine"])).one()


def template_version(text: str) -> bytes:
    """The shipped fiche d'incident's Word template with a paragraph of ``text`` added."""
    document = docx.Document(str(DOCX_DIR / MODELE_TEMPLATE))
    document.add_paragraph(text)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def build_templates(world: World) -> None:
    """The admin deposits version 1 of the fiche d'incident's Word template and opens its preview."""
    web = world.client("admin")
    deposited = web.post(f"/admin/modeles/{MODELE_TEMPLATE}", {"fichier": (io.BytesIO(template_version("Version 1 (matrice)")), "v1.docx")}, content_type="multipart/form-data")
    assert deposited.status_code == 302, deposited.get_data(as_text=True)
    assert web.get(f"/admin/modeles/{MODELE_TEMPLATE}/versions/1/apercu").status_code == 200
    asked = web.post(f"/admin/modeles/{MODELE_TEMPLATE}/versions/1/apercu-pdf", {})  # made by the worker the client runs
    assert asked.status_code == 302, asked.get_data(as_text=True)
    world.modele_pdf_id = int(urlsplit(asked.headers["Location"]).path.rsplit("/", 1)[1])


def build_tokens(world: World) -> None:
    """redacteur_A holds an API token (created through the service, as the command line does)."""
    with world.app.app_context():
        session = db.session()
        user = session.get(User, world.accounts["redacteur_A"].id)
        token, _ = create_token(session, world.app.extensions["webforms.archive"], actor=user, user=user, name="Jeton du monde", kinds=["fiche_saisine"], scope="lecture", days=30, now=world.clock())
        world.token_id = token.id


def ca_pem(seed: int) -> bytes:
    """The PEM certificate of a test authority (tests/signing.py)."""
    from cryptography.hazmat.primitives import serialization

    from tests.signing import make_pki

    return make_pki(f"Autorité de la matrice {seed}", seed=seed).ca_cert.public_bytes(serialization.Encoding.PEM)


@pytest.fixture
def world(shared_world: World) -> Iterator[World]:
    """The module's world, as built; put back after a test that changed it."""
    shared_world.settled = None
    yield shared_world
    shared_world.clock.now = WORLD_NOW
    # The test's own last snapshot when it took one (a snapshot is most of a case's cost).
    seen = shared_world.settled if shared_world.settled is not None else snapshot(shared_world.app)
    if seen != shared_world.pristine:
        shared_world.restore()
        assert snapshot(shared_world.app) == shared_world.pristine, "the world was not put back as built"


def snapshot(app: Flask) -> dict[str, Any]:
    """Everything a request could change: documents, renditions, accounts, events, counters,
    measures, their meetings and renewals, a dossier's pieces and the stored files."""
    with app.app_context():
        s = db.session()
        return {
            "documents": {
                d.id: (
                    d.kind, d.organisation_id, d.author_id, d.statut, d.data, d.submitted_data, d.review,
                    d.reference, d.summary, d.updated_at, d.submitted_at, d.reviewed_at, d.reviewer_id, d.mesure_id,
                    d.echeance, d.echeance_date, d.appel_id,
                )
                for d in s.scalars(select(Document))
            },
            # A dossier's pieces: a refused upload, withdrawal or judgement leaves them as they were.
            "pieces": {
                p.id: (
                    p.document_id, p.code, p.rang, p.sha256, p.size, p.mime, p.pages, p.original_name, p.uploaded_by_id, p.uploaded_at,
                    p.replaced_at, p.nonconforme_motif, p.nonconforme_par_id, p.nonconforme_le,
                )
                for p in s.scalars(select(Piece))
            },
            "mesures": {
                m.id: (
                    m.reference, m.organisation_id, m.referent_id, m.type_mesure, m.menage_nom, m.menage_prenom, m.menage_commune,
                    m.date_bon_commande, m.date_premiere_rencontre, m.duree_mois, m.travailleur_social, m.statut, m.created_at, m.updated_at,
                    m.date_fin_effective, m.motif_fin, m.commentaire_fin,
                )
                for m in s.scalars(select(Mesure))
            },
            "rencontres": sorted(tuple(r) for r in s.execute(select(
                Rencontre.id, Rencontre.mesure_id, Rencontre.date, Rencontre.nature, Rencontre.note, Rencontre.created_by_id, Rencontre.created_at,
            ))),
            "renouvellements": sorted(tuple(r) for r in s.execute(select(
                Renouvellement.id, Renouvellement.mesure_id, Renouvellement.date_decision, Renouvellement.duree_mois, Renouvellement.motif,
                Renouvellement.created_by_id, Renouvellement.created_at,
            ))),
            "renditions": sorted(tuple(r) for r in s.execute(select(Rendition.document_id, Rendition.version, Rendition.format, Rendition.sha256))),
            "organisations": sorted(s.scalars(select(Organisation.name))),
            "users": sorted(tuple(u) for u in s.execute(select(User.email, User.role, User.organisation_id, User.active, User.password_hash))),
            "events": sorted(tuple(e) for e in s.execute(select(Event.id, Event.action, Event.document_id, Event.user_id, Event.detail))),
            "counters": sorted(tuple(c) for c in s.execute(select(Counter.prefix, Counter.year, Counter.last))),
            # The stored files (uploaded pieces, renditions): nothing is written by a refusal.
            "files": stored_files(app),
            # The archive's files and its journal file (the witness of the audit trail).
            "archive_files": stored_files(app, "ARCHIVE_DIR"),
            "trust_files": stored_files(app, "ARCHIVE_TRUST_DIR"),
            # Every column of every table, so that a column or a table added to the models is
            # covered too (the keys above are the same rows, shaped for the effect checks).
            "tables": {
                table.name: [tuple(r) for r in s.execute(select(table).order_by(*table.primary_key.columns))]
                for table in Base.metadata.sorted_tables
                if table.name not in SIGN_IN_TABLES
            },
        }


# Written by every client's own sign-in (its session, the sign-in counters), not by the request
# under test; tests/test_sessions.py and tests/test_sign_in_throttle.py check them.
SIGN_IN_TABLES = {"web_session", "sign_in_counter"}


def stored_files(app: Flask, setting: str = "STORAGE_DIR") -> list[tuple[str, int]]:
    """Every file of the store (or of the archive), as (path under it, size)."""
    root = Path(app.config[setting])
    return sorted((str(f.relative_to(root)), f.stat().st_size) for f in root.rglob("*") if f.is_file()) if root.exists() else []


def pieces_of(snap: dict[str, Any], doc_id: int) -> dict[int, tuple[Any, ...]]:
    return {k: v for k, v in snap["pieces"].items() if v[0] == doc_id}


def renditions_of(snap: dict[str, Any], doc_id: int) -> list[tuple[int, str]]:
    return sorted((v, f) for d, v, f, _ in snap["renditions"] if d == doc_id)


# --------------------------------------------------------------------------------------------
# The matrix
# --------------------------------------------------------------------------------------------

OK = "200"
LOGIN = "302 → /connexion"  # sign-in page (anonymous, or after signing out)
HOME = "302 → /"  # the document list
VIEW = "302 → document page"
EDIT = "302 → draft form"  # /documents/<id>/modifier (the new draft's id for documents.new, mesures.start_document)
MESURE = "302 → measure page"  # /mesures/<id> (the new measure's id for mesures.new)
APPEL = "302 → call page"  # /admin/appels/<id> (the new call's id for admin.appels)
LISTE = "302 → checklist"  # /documents/<id>/liste of the state's dossier (the new dossier's for open_dossier)
APPELS = "302 → /appels"  # the calls (a dossier is opened there, not from "Nouveau document")
RECORD = "302 → archive record"  # /archives/<id> (the new record's id for archives.deposit)
EXPORT = "302 → export page"  # /archives/exports/<id>: the export asked, built by a worker
CONSERVATION = "302 → /archives/conservation"  # the retention page, with a message
RULES = "302 → /admin/conservation"  # the retention rules
TRUST = "302 → /admin/certificats"  # the trusted authorities
MODELE = "302 → template page"  # /admin/modeles/fiche_incident.docx
JETONS = "302 → /compte/jetons"  # one's tokens, with a message
MODELE_PDF = "302 → PDF preview page"  # /admin/modeles/fiche_incident.docx/apercus/<the new work's id>
QUEUE = "302 → /admin/travaux"  # the queue page, with a message
USERS = "302 → /admin/utilisateurs"  # the accounts' page, with a message
SIGN_IN = "302 → /connexion (no next)"  # the second factor's step before any password: sign in first
ZIP = "200 zip"  # an export package
NOTIFICATIONS = "302 → /notifications"  # the notification centre, after a read mark
PREFERENCES = "302 → /notifications/preferences"  # the choice of e-mail, recorded
THREAD = "302 → thread"  # /documents/<id>/messages, the message just posted
PARTAGES = "302 → links page"  # /documents/<id>/destinataires, the sender's page of links
PARTAGE_PAGE = "302 → link page"  # /partage/<id>/<secret>: the code first
QUEUE = "302 → /admin/travaux"  # the queue page, with a message
SYNTHESE = "302 → jury summary"  # /appels/<id>/synthese, with a message
EVALUATION = "302 → evaluation"  # /documents/<id>/evaluation, the member's draft saved
GRILLE = "302 → grid page"  # /admin/appels/<id>/grille, the grid saved
DIPLOMAS = "302 → /mesures/referents"  # the referents' diplomas, with a message
TERRITOIRE = "302 → territory page"  # /admin/territoires/<id>, with a message
TERRITOIRES = "302 → /admin/territoires"  # the territories and grants, with a message
UNASSIGNED = "302 → /admin/territoires/mesures"  # the measures without a territory, with a message
TYPED = "409 form as typed"  # a save refused (deadline passed): the form shown again with what was posted, nothing saved
FORBIDDEN = "403"
NOT_FOUND = "404"
UNPROCESSABLE = "422"  # allowed, but a rule refuses the change (nothing changes)
LINK_INVALID = "404 invalid reset link"  # /connexion/reinitialisation/<token> naming no reset: the page says to ask a new link


def row(*outcomes: str) -> dict[str, str]:
    """Outcomes in the order anonymous, redacteur_A, redacteur_B, coordinateur, instructeur, archiviste, admin, jury."""
    assert len(outcomes) == len(ACTOR_NAMES)
    return dict(zip(ACTOR_NAMES, outcomes, strict=True))


NF, NO, RULE = NOT_FOUND, FORBIDDEN, UNPROCESSABLE
# (endpoint, method) -> {state (document, kind to create, or None) -> {actor -> outcome}}
#                                          anonymous redac_A redac_B coord  instr  archiv admin jury
_VIEW_RULE = {
    "draft_saisine":                  row(LOGIN,   OK,     NF,     NF,    NF,    NF,    NF, NF),
    "submitted_saisine":              row(LOGIN,   OK,     NF,     OK,    OK,    OK,    NF, NF),
    "submitted_incident":             row(LOGIN,   OK,     NF,     NF,    OK,    OK,    NF, NF),
    # The letter (issue 12): the association it notifies, and the recipients of notification_aml
    # (instructeur, archiviste) holding the Département's grant; never another association, the
    # coordinateur, the admin nor the jury (a jury reads dossiers, not the letters that follow them).
    LETTER_STATE:                     row(LOGIN,   OK,     NF,     NF,    OK,    OK,    NF, NF),
}
# The document pages follow the same rule for a dossier: its organisation, and the recipients
# of candidature_aml (instructeur, archiviste) once it is submitted.
_DOSSIER_VIEW = {
    "dossier_draft":                  row(LOGIN,   OK,     NF,     NF,    NF,    NF,    NF, NF),
    "dossier_submitted":              row(LOGIN,   OK,     NF,     NF,    OK,    OK,    NF, NF),
}
# Presented to its call's jury (declared recevable), the dossier is read by the jury actor too.
_PRESENTED_VIEW = {"dossier_submitted" + PRESENTED: row(LOGIN, OK, NF, NF, OK,    OK,    NF, OK),
                   # Retained, still its association's, its instructeurs' and its jury's (issue 12).
                   RETAINED_DOSSIER:                 row(LOGIN, OK, NF, NF, OK,    OK,    NF, OK),
                   # Notified (its letter sent, issue 12): the same readers.
                   NOTIFIED_DOSSIER:                 row(LOGIN, OK, NF, NF, OK,    OK,    NF, OK)}
_EDIT_SUBMITTED = {
    "submitted_saisine":              row(LOGIN,   VIEW,   NF,     VIEW,  VIEW,  VIEW,  NF, NF),
    "submitted_incident":             row(LOGIN,   VIEW,   NF,     NF,    VIEW,  VIEW,  NF, NF),
    LETTER_STATE:                     row(LOGIN,   VIEW,   NF,     NF,    VIEW,  VIEW,  NF, NF),  # frozen: nobody edits it
}
# A dossier's form: after the deadline its writer is sent to the checklist with the reason,
# nothing saved (AML §6d); deposited, it is locked (the recipients read it, never edit it).
_EDIT_DOSSIER = {
    "dossier_draft":                  row(LOGIN,   LISTE,  NF,     NF,    NF,    NF,    NF, NF),
    "dossier_submitted":              row(LOGIN,   VIEW,   NF,     NF,    VIEW,  VIEW,  NF, NF),
}
# Measures. ASLL (Installation, Maintien): its organisation's writers and the instructeur;
# AML: the coordinateur reads it too (AML §7).
_MESURE_VIEW = {
    "mesure_asll":                    row(LOGIN,   OK,     NF,     NF,    OK,    NF,    NF, NF),
    "mesure_maintien":                row(LOGIN,   OK,     NF,     NF,    OK,    NF,    NF, NF),
    "mesure_aml":                     row(LOGIN,   OK,     NF,     OK,    OK,    NF,    NF, NF),
}


def _mesure_change(asll: str, maintien: str, aml: str) -> dict[str, dict[str, str]]:
    """A change of a measure: only its organisation's writer; the readers get 403."""
    return {
        "mesure_asll":                row(LOGIN,   asll,   NF,     NF,    NO,    NF,    NF, NF),
        "mesure_maintien":            row(LOGIN,   maintien, NF,   NF,    NO,    NF,    NF, NF),
        "mesure_aml":                 row(LOGIN,   aml,    NF,     NO,    NO,    NF,    NF, NF),
    }


_START_DOCUMENT = {
    # A fiche d'incident is prefilled from any measure: a new draft, its form next.
    **{f"{m}:fiche_incident": by_actor for m, by_actor in _mesure_change(EDIT, EDIT, EDIT).items()},
    # A fiche saisine is not started from a measure: back to the measure with a message, no draft.
    **{f"{m}:fiche_saisine": by_actor for m, by_actor in _mesure_change(MESURE, MESURE, MESURE).items()},
    # An unknown kind: 403 for whoever sees the measure (404 stays 404: existence not revealed).
    **{f"{m}:inconnu": by_actor for m, by_actor in _mesure_change(NO, NO, NO).items()},
}
MATRIX: dict[tuple[str, str], dict[str | None, dict[str, str]]] = {
    ("auth.login", "GET"): {None:      row(OK,      HOME,   HOME,   HOME,  HOME,  HOME,  HOME, HOME)},
    ("auth.login", "POST"): {None:     row(HOME,    HOME,   HOME,   HOME,  HOME,  HOME,  HOME, HOME)},
    ("auth.logout", "POST"): {None:    row(LOGIN,   LOGIN,  LOGIN,  LOGIN, LOGIN, LOGIN, LOGIN, LOGIN)},
    # The page's keep-alive: it answers everyone (signed out, it says so to the page).
    ("auth.keep_alive", "GET"): {None: row(OK,      OK,     OK,     OK,    OK,    OK,    OK, OK)},
    # One's own password: every signed-in user.
    ("auth.change_password", "GET"): {None:  row(LOGIN, OK,   OK,     OK,    OK,    OK,    OK, OK)},
    ("auth.change_password", "POST"): {None: row(LOGIN, HOME, HOME,   HOME,  HOME,  HOME,  HOME, HOME)},
    # The second factor's code at sign-in: only after a password was checked in this session
    # (the visitor is sent to sign in first; a signed-in user home).
    ("auth.second_factor", "GET"): {None:  row(SIGN_IN, HOME, HOME,   HOME,  HOME,  HOME,  HOME, HOME)},
    ("auth.second_factor", "POST"): {None: row(SIGN_IN, HOME, HOME,   HOME,  HOME,  HOME,  HOME, HOME)},
    # A forgotten password (issue 15): a visitor asks a link (no relay in this world: the page says
    # to ask an administrator, nothing is written); a link that names no reset is a 404 page.
    ("auth.forgot", "GET"): {None:         row(OK,    HOME, HOME,   HOME,  HOME,  HOME,  HOME, HOME)},
    ("auth.forgot", "POST"): {None:        row(SIGN_IN, HOME, HOME,   HOME,  HOME,  HOME,  HOME, HOME)},
    ("auth.reset", "GET"): {None:          row(LINK_INVALID, HOME, HOME,   HOME,  HOME,  HOME,  HOME, HOME)},
    ("auth.reset", "POST"): {None:         row(LINK_INVALID, HOME, HOME,   HOME,  HOME,  HOME,  HOME, HOME)},
    # Enrolling one: administrators and archivistes; a wrong code is refused (nothing stored).
    ("auth.totp", "GET"): {None:           row(LOGIN, NO,   NO,     NO,    NO,    OK,    OK, NO)},
    ("auth.totp", "POST"): {None:          row(LOGIN, NO,   NO,     NO,    NO,    RULE,  RULE, NO)},
    ("home.index", "GET"): {None:      row(LOGIN,   OK,     OK,     OK,    OK,    OK,    OK, OK)},
    # The accessibility statement is public (RGAA 4.1: anyone may read it, signed in or not).
    ("pages.accessibility", "GET"): {None: row(OK,   OK,     OK,     OK,    OK,    OK,    OK, OK)},
    ("documents.new", "GET"): {
        "fiche_saisine":              row(LOGIN,   OK,     OK,     NO,    NO,    NO,    NO, NO),
        "fiche_incident":             row(LOGIN,   OK,     OK,     NO,    NO,    NO,    NO, NO),
        # Not standalone: a writer is sent to the calls, nothing is created.
        CANDIDATURE:                  row(LOGIN,   APPELS, APPELS, NO,    NO,    NO,    NO, NO),
    },
    ("documents.new", "POST"): {
        "fiche_saisine":              row(LOGIN,   EDIT,   EDIT,   NO,    NO,    NO,    NO, NO),
        "fiche_incident":             row(LOGIN,   EDIT,   EDIT,   NO,    NO,    NO,    NO, NO),
        CANDIDATURE:                  row(LOGIN,   APPELS, APPELS, NO,    NO,    NO,    NO, NO),
    },
    ("documents.view", "GET"): {**_VIEW_RULE, **_DOSSIER_VIEW, **_PRESENTED_VIEW},
    # Downloads follow the view rule. The draft dossier is incomplete: its preview sends its
    # owner back to the form with the errors.
    ("documents.download", "GET"): {**_VIEW_RULE, **_DOSSIER_VIEW, "dossier_draft": row(LOGIN, LISTE, NF, NF, NF, NF, NF, NF), **_PRESENTED_VIEW},
    # The preview's page (a draft's output being prepared, then its link): the view rule; a
    # submitted document sends to its page (its versions), an incomplete draft to its form.
    ("documents.preview", "GET"): {
        **_VIEW_RULE,
        **_DOSSIER_VIEW,
        "submitted_saisine":          row(LOGIN,   VIEW,   NF,     VIEW,  VIEW,  VIEW,  NF, NF),
        "submitted_incident":         row(LOGIN,   VIEW,   NF,     NF,    VIEW,  VIEW,  NF, NF),
        LETTER_STATE:                 row(LOGIN,   VIEW,   NF,     NF,    VIEW,  VIEW,  NF, NF),
        "dossier_draft":              row(LOGIN,   LISTE,  NF,     NF,    NF,    NF,    NF, NF),
        "dossier_submitted":          row(LOGIN,   VIEW,   NF,     NF,    VIEW,  VIEW,  NF, NF),
    },
    ("documents.edit", "GET"): {
        "draft_saisine":              row(LOGIN,   OK,     NF,     NF,    NF,    NF,    NF, NF),
        **_EDIT_SUBMITTED,
        **_EDIT_DOSSIER,
    },
    ("documents.edit", "POST"): {
        "draft_saisine":              row(LOGIN,   EDIT,   NF,     NF,    NF,    NF,    NF, NF),
        **_EDIT_SUBMITTED,
        **_EDIT_DOSSIER,
        # Its writer's save after the deadline: what was typed comes back with the reason (issue 16, point 1).
        "dossier_draft":              row(LOGIN,   TYPED,  NF,     NF,    NF,    NF,    NF, NF),
    },
    ("documents.submit", "POST"): {
        "draft_saisine":              row(LOGIN,   VIEW,   NF,     NF,    NF,    NF,    NF, NF),
        # Its writer again (another tab, a double click): told it is submitted, not refused.
        "submitted_saisine":          row(LOGIN,   VIEW,   NF,     NO,    NO,    NO,    NF, NF),
        "submitted_incident":         row(LOGIN,   VIEW,   NF,     NF,    NO,    NO,    NF, NF),
        LETTER_STATE:                 row(LOGIN,   VIEW,   NF,     NF,    NO,    NO,    NF, NF),
    },
    ("documents.review", "GET"): {
        "draft_saisine":              row(LOGIN,   NO,     NF,     NF,    NF,    NF,    NF, NF),
        "submitted_saisine":          row(LOGIN,   NO,     NF,     OK,    NO,    NO,    NF, NF),
        "submitted_incident":         row(LOGIN,   NO,     NF,     NF,    NO,    NO,    NF, NF),
        LETTER_STATE:                 row(LOGIN,   NO,     NF,     NF,    NO,    NO,    NF, NF),
    },
    ("documents.review", "POST"): {
        "draft_saisine":              row(LOGIN,   NO,     NF,     NF,    NF,    NF,    NF, NF),
        "submitted_saisine":          row(LOGIN,   NO,     NF,     VIEW,  NO,    NO,    NF, NF),
        "submitted_incident":         row(LOGIN,   NO,     NF,     NF,    NO,    NO,    NF, NF),
        LETTER_STATE:                 row(LOGIN,   NO,     NF,     NF,    NO,    NO,    NF, NF),
    },
    ("admin.organisations", "GET"): {None:  row(LOGIN, NO,   NO,     NO,    NO,    NO,    OK, NO)},
    ("admin.organisations", "POST"): {None: row(LOGIN, NO,   NO,     NO,    NO,    NO,    OK, NO)},
    ("admin.users", "GET"): {None:          row(LOGIN, NO,   NO,     NO,    NO,    NO,    OK, NO)},
    ("admin.users", "POST"): {None:         row(LOGIN, NO,   NO,     NO,    NO,    NO,    OK, NO)},
    # Another account: its password reset (shown once on the page), deactivated; reactivating an
    # active account is refused with a message.
    ("admin.reset_password", "POST"): {ACCOUNT_STATE: row(LOGIN, NO, NO, NO,    NO,    NO,    OK, NO)},
    ("admin.deactivate", "POST"): {ACCOUNT_STATE: row(LOGIN, NO,  NO,   NO,    NO,    NO,    USERS, NO)},
    ("admin.reactivate", "POST"): {ACCOUNT_STATE: row(LOGIN, NO,  NO,   NO,    NO,    NO,    USERS, NO)},
    # Removing a second factor: the target has none, so the administrator is told so.
    ("admin.reset_totp", "POST"): {ACCOUNT_STATE: row(LOGIN, NO,  NO,   NO,    NO,    NO,    USERS, NO)},
    # The worklist and its CSV: each shows only the measures of the view rule (empty for the
    # archiviste and the admin), see test_mesure_list_shows_exactly_the_measures_the_actor_may_see.
    ("mesures.index", "GET"): {None:        row(LOGIN, OK,   OK,     OK,    OK,    OK,    OK, OK)},
    ("mesures.export", "GET"): {None:       row(LOGIN, OK,   OK,     OK,    OK,    OK,    OK, OK)},
    ("mesures.new", "GET"): {None:          row(LOGIN, OK,   OK,     NO,    NO,    NO,    NO, NO)},
    ("mesures.new", "POST"): {None:         row(LOGIN, MESURE, MESURE, NO,  NO,    NO,    NO, NO)},
    ("mesures.view", "GET"): _MESURE_VIEW,
    ("mesures.add_meeting", "POST"): _mesure_change(MESURE, MESURE, MESURE),
    # Only an ASLL Maintien is renewable (ASLL §2.1, §9.2): the owner's renewal of the
    # Installation or of the AML passes the permission and is refused by the rule, 422.
    # The DPDS's decision (ASLL §8, §9.2): the instructeur who reads a Maintien, on a pending request
    # (none in the world: 422 with its message); the operator asks in its bilan, never records (403).
    ("mesures.add_renewal", "POST"): {
        "mesure_asll":                row(LOGIN,   NO,     NF,     NF,    NO,    NF,    NF, NF),
        "mesure_maintien":            row(LOGIN,   NO,     NF,     NF,    RULE,  NF,    NF, NF),
        "mesure_aml":                 row(LOGIN,   NO,     NF,     NO,    NO,    NF,    NF, NF),
    },
    ("mesures.refuse_renewal", "POST"): {
        "mesure_asll":                row(LOGIN,   NO,     NF,     NF,    NO,    NF,    NF, NF),
        "mesure_maintien":            row(LOGIN,   NO,     NF,     NF,    RULE,  NF,    NF, NF),
        "mesure_aml":                 row(LOGIN,   NO,     NF,     NO,    NO,    NF,    NF, NF),
    },
    ("mesures.start_document", "POST"): _START_DOCUMENT,
    ("mesures.close", "POST"): _mesure_change(MESURE, MESURE, MESURE),
    # The referents' Diplômes d'État (ASLL §4): an operator's writers, for their organisation.
    ("mesures.referents", "GET"): {None:    row(LOGIN, OK,   OK,     NO,    NO,    NO,    NO, NO)},
    ("mesures.referents", "POST"): {None:   row(LOGIN, DIPLOMAS, RULE,  NO,    NO,    NO,    NO, NO)},
    # The household's file (issue 13): whoever reads its measure; the search, whoever follows
    # or reads measures (each finds only their own scope).
    ("menages.search", "GET"): {None:       row(LOGIN, OK,   OK,     OK,    OK,    NO,    NO, NO)},
    ("menages.file", "GET"): _MESURE_VIEW,
    # The order of a measure the thread opened (issue 13): the world's ASLL measures have theirs
    # already and an AML has none (AML §4): the owner passes the permission, the rule refuses.
    ("mesures.record_order", "POST"): _mesure_change(RULE, RULE, RULE),
    # The organisation's yearly bilan (ASLL §10), its figures counted from its own records only.
    ("mesures.start_annual", "POST"): {None: row(LOGIN, EDIT, EDIT,   NO,    NO,    NO,    NO, NO)},
    # Calls for applications: configuration, the admin's only (403 before the call is looked up).
    ("admin.appels", "GET"): {None:         row(LOGIN, NO,   NO,     NO,    NO,    NO,    OK, NO)},
    ("admin.appels", "POST"): {None:        row(LOGIN, NO,   NO,     NO,    NO,    NO,    APPEL, NO)},
    ("admin.appel", "GET"): {APPEL_STATE:   row(LOGIN, NO,   NO,     NO,    NO,    NO,    OK, NO)},
    ("admin.appel", "POST"): {APPEL_STATE:  row(LOGIN, NO,   NO,     NO,    NO,    NO,    APPEL, NO)},
    # Candidature dossiers (AML §5, §6). The calls: every signed-in user.
    ("candidatures.appels", "GET"): {None:  row(LOGIN, OK,   OK,     OK,    OK,    OK,    OK, OK)},
    # Opening a dossier: writers only. Organisation A already has one on this call: back to it,
    # on either side of the deadline. Organisation B: a new draft before the deadline; after
    # it, back to the calls with "L'appel est clos", nothing created.
    ("candidatures.open_dossier", "POST"): {
        APPEL_STATE:                  row(LOGIN,   LISTE,  APPELS, NO,    NO,    NO,    NO, NO),
        APPEL_STATE + BEFORE:         row(LOGIN,   LISTE,  LISTE,  NO,    NO,    NO,    NO, NO),
    },
    # The dossiers submitted to a call: instructeurs and archivistes (the call itself is no secret).
    ("candidatures.dossiers", "GET"): {appel: row(LOGIN, NO, NO,   NO,    OK,    OK,    NO, NO) for appel in APPEL_STATES},
    # The checklist is the association's working page and the instructeur's desk: a member of the
    # jury reads the presented dossier's page and the grid, not this page (issue 12).
    ("candidatures.checklist", "GET"): {**_DOSSIER_VIEW, "dossier_submitted" + PRESENTED: row(LOGIN, OK, NF, NF, OK, OK, NF, NO),
                                        # Notified: the links to its draft convention for its association and its instructeurs only (issue 12).
                                        NOTIFIED_DOSSIER: row(LOGIN, OK, NF, NF, OK, OK, NF, NO)},
    # Uploads: the owner, on a draft. On a submitted dossier the view answers 403 (can_edit)
    # before the service's own refusal could be reached.
    # After the deadline the owner's change is refused by the service (flash, nothing changes).
    ("candidatures.upload", "POST"): {
        "dossier_draft":              row(LOGIN,   LISTE,  NF,     NF,    NF,    NF,    NF, NF),
        "dossier_draft" + BEFORE:     row(LOGIN,   LISTE,  NF,     NF,    NF,    NF,    NF, NF),
        "dossier_submitted":          row(LOGIN,   NO,     NF,     NF,    NO,    NO,    NF, NF),
    },
    # Withdrawal: the owner, on a draft, of a piece of that very dossier.
    ("candidatures.remove", "POST"): {
        "dossier_draft:piece":        row(LOGIN,   LISTE,  NF,     NF,    NF,    NF,    NF, NF),
        "dossier_draft:piece" + BEFORE: row(LOGIN, LISTE,  NF,     NF,    NF,    NF,    NF, NF),
        "dossier_submitted:piece":    row(LOGIN,   NO,     NF,     NF,    NO,    NO,    NF, NF),
        "dossier_submitted:piece_of_draft": row(LOGIN, NO, NF,     NF,    NO,    NO,    NF, NF),
        "dossier_draft:piece_of_submitted": row(LOGIN, NF, NF,     NF,    NF,    NF,    NF, NF),
    },
    # Pieces are read like their dossier, and only through their own dossier.
    ("candidatures.download_piece", "GET"): {
        "dossier_draft:piece":        row(LOGIN,   OK,     NF,     NF,    NF,    NF,    NF, NF),
        "dossier_submitted:piece":    row(LOGIN,   OK,     NF,     NF,    OK,    OK,    NF, NF),
        # Presented to the jury: its member reads the pieces too (AML §6d).
        "dossier_submitted:piece" + PRESENTED: row(LOGIN, OK, NF,  NF,    OK,    OK,    NF, OK),
        "dossier_submitted:piece_of_draft": row(LOGIN, NF, NF,     NF,    NF,    NF,    NF, NF),
        "dossier_draft:piece_of_submitted": row(LOGIN, NF, NF,     NF,    NF,    NF,    NF, NF),
    },
    # Non-conformity: the instructeur, on a submitted dossier's own piece.
    ("candidatures.nonconforme", "POST"): {
        "dossier_draft:piece":        row(LOGIN,   NO,     NF,     NF,    NF,    NF,    NF, NF),
        "dossier_submitted:piece":    row(LOGIN,   NO,     NF,     NF,    LISTE, NO,    NF, NF),
        "dossier_submitted:piece_of_draft": row(LOGIN, NO, NF,     NF,    NF,    NO,    NF, NF),
        "dossier_draft:piece_of_submitted": row(LOGIN, NO, NF,     NF,    NF,    NF,    NF, NF),
    },
    # Régularisation (AML §6b): the owner, on a submitted dossier, until the deadline; after it
    # the service refuses (back to the checklist with the deadline's message, nothing changed).
    ("candidatures.reopen", "POST"): {
        "dossier_draft":              row(LOGIN,   NO,     NF,     NF,    NF,    NF,    NF, NF),
        "dossier_submitted":          row(LOGIN,   LISTE,  NF,     NF,    NO,    NO,    NF, NF),
        "dossier_submitted" + BEFORE: row(LOGIN,   LISTE,  NF,     NF,    NO,    NO,    NF, NF),
    },
    # Instruction (AML §6b–§6d): the instructeur, on a deposited dossier (a draft is nobody's to
    # instruct: its owner 403, the others do not see it). A move: "déposé → en instruction".
    ("instruction.move", "POST"): {
        "dossier_draft":              row(LOGIN,   NO,     NF,     NF,    NF,    NF,    NF, NF),
        "dossier_submitted":          row(LOGIN,   NO,     NF,     NF,    LISTE, NO,    NF, NF),
        # Presented to the jury: its member reads it, never moves it (403); "instruire" is refused
        # on a recevable dossier (back to the checklist with the message, nothing changed).
        PRESENTED_DOSSIER:            row(LOGIN,   NO,     NF,     NF,    LISTE, NO,    NF, NO),
        # Retained: "instruire" refused (back to the checklist with the message, nothing changed).
        RETAINED_DOSSIER:             row(LOGIN,   NO,     NF,     NF,    LISTE, NO,    NF, NO),
    },
    # A correction request: until the deadline (after it, back to the dossier with the §6b
    # message, nothing changed).
    ("instruction.request_correction", "POST"): {
        "dossier_draft":              row(LOGIN,   NO,     NF,     NF,    NF,    NF,    NF, NF),
        "dossier_submitted":          row(LOGIN,   NO,     NF,     NF,    LISTE, NO,    NF, NF),
        "dossier_submitted" + BEFORE: row(LOGIN,   NO,     NF,     NF,    LISTE, NO,    NF, NF),
        PRESENTED_DOSSIER:            row(LOGIN,   NO,     NF,     NF,    LISTE, NO,    NF, NO),
    },
    # A call's selection jury (AML §6d): the administrator's, like the call itself. Posted
    # without members, it is refused by the rule (the four bodies of §6d), nothing changes.
    ("instruction.jury_page", "GET"): {appel: row(LOGIN, NO, NO,   NO,    NO,    NO,    OK, NO) for appel in APPEL_STATES},
    ("instruction.jury_page", "POST"): {appel: row(LOGIN, NO, NO,  NO,    NO,    NO,    RULE, NO) for appel in APPEL_STATES},
    # The call's evaluation grid (AML §6c): the admin's, like the call; no score yet, so it changes.
    ("instruction.grille_page", "GET"): {appel: row(LOGIN, NO, NO, NO,   NO,    NO,    OK,   NO) for appel in APPEL_STATES},
    ("instruction.grille_page", "POST"): {appel: row(LOGIN, NO, NO, NO,  NO,    NO,    GRILLE, NO) for appel in APPEL_STATES},
    # Private annotations: the instructeur's only (the archiviste reads the dossier, not them).
    ("instruction.annotate", "POST"): {
        "dossier_draft":              row(LOGIN,   NO,     NF,     NF,    NF,    NF,    NF, NF),
        "dossier_submitted":          row(LOGIN,   NO,     NF,     NF,    LISTE, NO,    NF, NF),
        PRESENTED_DOSSIER:            row(LOGIN,   NO,     NF,     NF,    LISTE, NO,    NF, NO),
    },
    # The jury (AML §6c, §6d). A member's evaluation of a recevable dossier: the jury actor sits on
    # the shipped call's jury, so it scores the dossier once presented (a draft saved, back to its
    # evaluation); whoever else sees the dossier is refused, the others do not see it.
    **{("jury.evaluation", method): {
        "dossier_draft":              row(LOGIN,   NO,     NF,     NF,    NF,    NF,    NF, NF),
        "dossier_submitted":          row(LOGIN,   NO,     NF,     NF,    NO,    NO,    NF, NF),
        PRESENTED_DOSSIER:            row(LOGIN,   NO,     NF,     NF,    NO,    NO,    NF, OK if method == "GET" else EVALUATION),
    } for method in ("GET", "POST")},
    # The jury's avis, recorded by the instructeur: on a dossier not yet recevable the rule refuses
    # it (back to the checklist with its message, nothing changed).
    ("jury.avis", "POST"): {
        "dossier_draft":              row(LOGIN,   NO,     NF,     NF,    NF,    NF,    NF, NF),
        "dossier_submitted":          row(LOGIN,   NO,     NF,     NF,    LISTE, NO,    NF, NF),
        # Presented: the instructeur records it; the member of the jury does not (the secretariat's).
        PRESENTED_DOSSIER:            row(LOGIN,   NO,     NF,     NF,    LISTE, NO,    NF, NO),
    },
    # The jury's summary of a call: its instructeurs (and the members of its jury, test_jury_work.py).
    ("jury.synthese_page", "GET"): {appel: row(LOGIN, NO, NO, NO,    OK,    NO,    NO, OK) for appel in APPEL_STATES},
    # The draft convention of a retained dossier (AML §6d, §7): its instructeurs and its association;
    # the world's dossiers are not retained, so the rule refuses (back to the checklist, nothing changed).
    ("jury.draft_convention", "GET"): {
        "dossier_draft":              row(LOGIN,   LISTE,  NF,     NF,    NF,    NF,    NF, NF),
        "dossier_submitted":          row(LOGIN,   LISTE,  NF,     NF,    LISTE, NO,    NF, NF),
        PRESENTED_DOSSIER:            row(LOGIN,   LISTE,  NF,     NF,    LISTE, NO,    NF, NO),
        # Retained, the decision not yet recorded: refused by the rule (the convention follows the decision).
        RETAINED_DOSSIER:             row(LOGIN,   LISTE,  NF,     NF,    LISTE, NO,    NF, NO),
        # Retained, decided and notified (issue 12): drawn up for its association and its instructeurs;
        # its archiviste and its jury read the dossier, not this draft (403); anyone else does not see it.
        NOTIFIED_DOSSIER:             row(LOGIN,   OK,     NF,     NF,    OK,    NO,    NF, NO),
    },
    # Its exports (the grid as XLSX, the procès-verbal as PDF): read like the summary.
    ("jury.grid_xlsx", "GET"): {appel: row(LOGIN, NO, NO,     NO,    OK,    NO,    NO, OK) for appel in APPEL_STATES},
    ("jury.proces_verbal", "GET"): {appel: row(LOGIN, NO, NO, NO,    OK,    NO,    NO, OK) for appel in APPEL_STATES},
    # The Commission Permanente's decision and the letters: the instructeur's; in the world no
    # dossier was presented to the jury, so the rule refuses both (back to the summary, nothing changed).
    # With the dossier presented, the decision waits for the jury's signatures.
    ("jury.record_decision", "POST"): {appel: row(LOGIN, NO, NO, NO, SYNTHESE, NO,  NO, NO) for appel in APPEL_STATES},
    ("jury.send_letters", "POST"): {appel: row(LOGIN, NO, NO,   NO, SYNTHESE, NO,  NO, NO) for appel in APPEL_STATES},
}

# The archive (DESIGN §3). A deposit: the archiviste, on a submitted document it receives
# (never a draft: 404, not seen); the fiche saisine already has its signed copy, so a second
# deposit without a reason is refused (422, nothing changes); the fiche d'incident's is archived.
_ARCHIVE_DEPOSIT_GET = {
    "draft_saisine":                  row(LOGIN,   NO,     NF,     NF,    NF,    NF,    NF, NF),
    "submitted_saisine":              row(LOGIN,   NO,     NF,     NO,    NO,    OK,    NF, NF),
    "submitted_incident":             row(LOGIN,   NO,     NF,     NF,    NO,    OK,    NF, NF),
    # The letter is archivable like every submitted document (issue 12): its archiviste deposits its signed copy.
    LETTER_STATE:                     row(LOGIN,   NO,     NF,     NF,    NO,    OK,    NF, NF),
}
_ARCHIVE_DEPOSIT_POST = {
    **_ARCHIVE_DEPOSIT_GET,
    "submitted_saisine":              row(LOGIN,   NO,     NF,     NO,    NO,    RULE,  NF, NF),
    "submitted_incident":             row(LOGIN,   NO,     NF,     NF,    NO,    RECORD, NF, NF),
    LETTER_STATE:                     row(LOGIN,   NO,     NF,     NF,    NO,    RECORD, NF, NF),
}
# A record is seen by whoever sees its document (each view and download is logged).
_RECORD_VIEW = {RECORD_STATE:         row(LOGIN,   OK,     NF,     OK,    OK,    OK,    NF, NF)}
MATRIX.update({
    ("archives.search", "GET"): {None:      row(LOGIN, OK,   OK,     OK,    OK,    OK,    NO, NO)},
    ("archives.deposit", "GET"): _ARCHIVE_DEPOSIT_GET,
    ("archives.deposit", "POST"): _ARCHIVE_DEPOSIT_POST,
    ("archives.record", "GET"): _RECORD_VIEW,
    ("archives.download", "GET"): _RECORD_VIEW,
    ("archives.export", "POST"): {None:     row(LOGIN, NO,   NO,     NO,    NO,    EXPORT, NO, NO)},
    # Only the archivist who asked follows an export and downloads it; for anyone else it does not exist.
    ("archives.export_page", "GET"): {EXPORT_STATE: row(LOGIN, NF, NF,   NF,    NF,    OK,    NF, NF)},
    ("archives.export_file", "GET"): {EXPORT_STATE: row(LOGIN, NF, NF,   NF,    NF,    ZIP,   NF, NF)},
    # Retention: the archiviste. At the world's clock the visa's record has not reached its
    # term: recording another visa is refused (422, the page again with what was typed), and
    # carrying this one out is refused with a message.
    ("archives.retention", "GET"): {None:   row(LOGIN, NO,   NO,     NO,    NO,    OK,    NO, NO)},
    ("archives.record_visa", "POST"): {None: row(LOGIN, NO,  NO,     NO,    NO,    RULE,  NO, NO)},
    ("archives.destroy", "POST"): {VISA_STATE: row(LOGIN, NO, NO,    NO,    NO,    CONSERVATION, NO, NO)},
    ("archives.rules", "GET"): {None:       row(LOGIN, NO,   NO,     NO,    NO,    NO,    OK, NO)},
    ("archives.rules", "POST"): {None:      row(LOGIN, NO,   NO,     NO,    NO,    NO,    RULES, NO)},
    # The authorities trusted for electronic signatures: the administrator's.
    ("archives.trust", "GET"): {None:       row(LOGIN, NO,   NO,     NO,    NO,    NO,    OK, NO)},
    ("archives.trust", "POST"): {None:      row(LOGIN, NO,   NO,     NO,    NO,    NO,    TRUST, NO)},
    ("archives.untrust", "POST"): {TRUST_STATE: row(LOGIN, NO, NO,   NO,    NO,    NO,    TRUST, NO)},
    # A work's progress: whoever asked it (redacteur_A submitted; saved the draft), whoever may
    # see its document (the draft: its organisation only), and the administrators (who see
    # every work on the queue page).
    ("travaux.progress", "GET"): {
        TRAVAIL_STATE:                row(LOGIN,   OK,     NF,     OK,    OK,    OK,    OK, NF),
        PREVIEW_WORK_STATE:           row(LOGIN,   OK,     NF,     NF,    NF,    NF,    OK, NF),
    },
    ("travaux.state", "GET"): {
        TRAVAIL_STATE:                row(LOGIN,   OK,     NF,     OK,    OK,    OK,    OK, NF),
        PREVIEW_WORK_STATE:           row(LOGIN,   OK,     NF,     NF,    NF,    NF,    OK, NF),
    },
    ("travaux.queue", "GET"): {None:  row(LOGIN,   NO,     NO,     NO,    NO,    NO,    OK, NO)},
    # The notification centre: everyone signed in has one (theirs only); a notification is
    # marked read by its reader alone (anyone else: 404, its existence not revealed).
    ("notifications.index", "GET"): {None: row(LOGIN, OK,    OK,     OK,    OK,    OK,    OK, OK)},
    ("notifications.mark_read", "POST"): {
        NOTIFICATION_STATE:           row(LOGIN,   NF,     NF,     NOTIFICATIONS, NF, NF,   NF, NF),
    },
    ("notifications.mark_all_read", "POST"): {None: row(LOGIN, *[NOTIFICATIONS] * 7)},
    ("notifications.preferences", "GET"): {None: row(LOGIN, OK, OK,  OK,    OK,    OK,    OK, OK)},
    ("notifications.preferences", "POST"): {None: row(LOGIN, *[PREFERENCES] * 7)},
    # A document's thread (issue 14): read by whoever reads the document; written by its
    # organisation's writers (a draft's thread is theirs alone) and by its recipients who answer
    # it, not by the archiviste (403: it files the document, it reads the thread). Never by a jury
    # member, even on a recevable dossier it reads (404: "nothing else", issue 12; the world has
    # no recevable dossier, so tests/test_jury_work.py tries that side).
    ("messages.thread", "GET"): {**_VIEW_RULE, **_DOSSIER_VIEW},
    # Its attachments: whoever reads the thread, only through their own document (another's: 404).
    ("messages.attachment", "GET"): {
        "submitted_saisine:piece_jointe":           row(LOGIN, OK, NF,     OK,    OK,    OK,    NF, NF),
        "submitted_incident:piece_jointe_d_autrui": row(LOGIN, NF, NF,     NF,    NF,    NF,    NF, NF),
    },
    # Recipients without an account (issue 14): the writers of a submitted document send it and
    # follow its links (a draft: 403, nothing to send); its readers may not (403). Sending needs
    # the SMTP relay, which the world has not: 422, nothing recorded.
    ("partage.links", "GET"): {
        "draft_saisine":              row(LOGIN,   NO,     NF,     NF,    NF,    NF,    NF, NF),
        "submitted_saisine":          row(LOGIN,   OK,     NF,     NO,    NO,    NO,    NF, NF),
        "submitted_incident":         row(LOGIN,   OK,     NF,     NF,    NO,    NO,    NF, NF),
        LETTER_STATE:                 row(LOGIN,   OK,     NF,     NF,    NO,    NO,    NF, NF),
    },
    ("partage.share", "POST"): {
        "draft_saisine":              row(LOGIN,   NO,     NF,     NF,    NF,    NF,    NF, NF),
        "submitted_saisine":          row(LOGIN,   RULE,   NF,     NO,    NO,    NO,    NF, NF),
        "submitted_incident":         row(LOGIN,   RULE,   NF,     NF,    NO,    NO,    NF, NF),
        LETTER_STATE:                 row(LOGIN,   RULE,   NF,     NF,    NO,    NO,    NF, NF),
    },
    ("partage.revoke", "POST"): {PARTAGE_STATE: row(LOGIN, PARTAGES, NF, NO,    NO,    NO,    NF, NF)},
    # The link itself: whoever holds its secret (no account needed) sees the code form; without
    # a code asked, any code is refused (422) and the document is not served (back to the form).
    ("partage.page", "GET"): {PARTAGE_STATE: row(OK,     OK,     OK,     OK,    OK,    OK,    OK, OK)},
    ("partage.page", "POST"): {PARTAGE_STATE: row(RULE,  RULE,   RULE,   RULE,  RULE,  RULE,  RULE, RULE)},
    ("partage.download", "GET"): {PARTAGE_STATE: row(*[PARTAGE_PAGE] * 8)},
    ("messages.post", "POST"): {
        "draft_saisine":              row(LOGIN,   THREAD, NF,     NF,    NF,    NF,    NF, NF),
        "submitted_saisine":          row(LOGIN,   THREAD, NF,     THREAD, THREAD, NO,  NF, NF),
        "submitted_incident":         row(LOGIN,   THREAD, NF,     NF,    THREAD, NO,   NF, NF),
        LETTER_STATE:                 row(LOGIN,   THREAD, NF,     NF,    THREAD, NO,   NF, NF),
        "dossier_draft":              row(LOGIN,   THREAD, NF,     NF,    NF,    NF,    NF, NF),
        "dossier_submitted":          row(LOGIN,   THREAD, NF,     NF,    THREAD, NO,   NF, NF),
        # The same post as a "demande de correction" (issue 14): a recipient who writes in the
        # thread asks it (the coordinateur of the territory on a fiche saisine, the instructeur);
        # the document reopens (a dossier: the instruction's request, before the deadline only,
        # AML §6b); its own writer may not ask it (422), the archiviste writes in no thread (403).
        "draft_saisine" + CORRECTION: row(LOGIN,  RULE,   NF,     NF,    NF,    NF,    NF, NF),
        "submitted_saisine" + CORRECTION: row(LOGIN, RULE, NF,     THREAD, THREAD, NO,  NF, NF),
        "submitted_incident" + CORRECTION: row(LOGIN, RULE, NF,    NF,    THREAD, NO,   NF, NF),
        "dossier_draft" + CORRECTION: row(LOGIN,  RULE,   NF,     NF,    NF,    NF,    NF, NF),
        "dossier_submitted" + CORRECTION: row(LOGIN, RULE, NF,     NF,    RULE,  NO,    NF, NF),
        "dossier_submitted" + CORRECTION + BEFORE: row(LOGIN, RULE, NF, NF, THREAD, NO,  NF, NF),
    },
    # The document templates (issue 18): the administrator's only. A deposit adds version 2;
    # version 1, whose preview was seen, goes into force.
    ("modeles.index", "GET"): {None:  row(LOGIN,   NO,     NO,     NO,    NO,    NO,    OK, NO)},
    ("modeles.template", "GET"): {MODELE_STATE: row(LOGIN, NO, NO,   NO,    NO,    NO,    OK, NO)},
    ("modeles.template", "POST"): {MODELE_STATE: row(LOGIN, NO, NO,  NO,    NO,    NO,    MODELE, NO)},
    ("modeles.download", "GET"): {MODELE_VERSION_STATE: row(LOGIN, NO, NO, NO, NO,   NO,    OK, NO)},
    ("modeles.preview", "GET"): {MODELE_VERSION_STATE: row(LOGIN, NO, NO, NO, NO,    NO,    OK, NO)},
    ("modeles.put_in_force", "POST"): {MODELE_VERSION_STATE: row(LOGIN, NO, NO, NO, NO, NO, MODELE, NO)},
    ("modeles.ask_pdf_preview", "POST"): {MODELE_VERSION_STATE: row(LOGIN, NO, NO, NO, NO, NO, MODELE_PDF, NO)},
    ("modeles.pdf_preview", "GET"): {MODELE_PDF_STATE: row(LOGIN, NO, NO, NO, NO,  NO,    OK, NO)},
    ("modeles.pdf_preview_file", "GET"): {MODELE_PDF_STATE: row(LOGIN, NO, NO, NO, NO, NO, OK, NO)},
    # One's own API tokens (issue 17): everyone signed in creates theirs (shown on the answer);
    # only its owner revokes redacteur_A's token.
    ("jetons.index", "GET"): {None: row(LOGIN, OK,     OK,     OK,    OK,    OK,    OK, OK)},
    ("jetons.create", "POST"): {None: row(LOGIN, OK,    OK,     OK,    OK,    OK,    OK, OK)},
    ("jetons.revoke", "POST"): {TOKEN_STATE: row(LOGIN, JETONS, NF, NF,    NF,    NF,    NF, NF)},
    # Only a failed work is run again: the world's are done, so the administrator is told so.
    ("travaux.retry", "POST"): {
        TRAVAIL_STATE:                row(LOGIN,   NO,     NO,     NO,    NO,    NO,    QUEUE, NO),
        PREVIEW_WORK_STATE:           row(LOGIN,   NO,     NO,     NO,    NO,    NO,    QUEUE, NO),
    },
    # Territories (issue 13): the administrator's only. Lens-Hénin gains a commune, organisation B
    # is attached to it too; the coordinateur is granted the Haute-Savoie; the instructeur's grant
    # is withdrawn.
    ("territoires.index", "GET"): {None: row(LOGIN,  NO,     NO,     NO,    NO,    NO,    OK, NO)},
    ("territoires.measures", "GET"): {None: row(LOGIN, NO,   NO,     NO,    NO,    NO,    OK, NO)},
    ("territoires.assign_measure", "POST"): {None: row(LOGIN, NO, NO,  NO,    NO,    NO,    UNASSIGNED, NO)},
    # The figures of the measures (issue 13): the Département's readers of measures, each counting what they read.
    ("statistiques.page", "GET"): {None: row(LOGIN,  NO,     NO,     OK,    OK,    NO,    NO, NO)},
    ("statistiques.report", "GET"): {None: row(LOGIN, NO,    NO,     OK,    OK,    NO,    NO, NO)},
    ("statistiques.spreadsheet", "GET"): {None: row(LOGIN, NO, NO,   OK,    OK,    NO,    NO, NO)},
    ("territoires.edit", "GET"): {TERRITOIRE_STATE: row(LOGIN, NO, NO, NO,   NO,    NO,    OK, NO)},
    ("territoires.edit", "POST"): {TERRITOIRE_STATE: row(LOGIN, NO, NO, NO,  NO,    NO,    TERRITOIRE, NO)},
    ("territoires.attachments", "POST"): {TERRITOIRE_STATE: row(LOGIN, NO, NO, NO, NO,  NO,    TERRITOIRE, NO)},
    ("territoires.recipients", "POST"): {TERRITOIRE_STATE: row(LOGIN, NO, NO, NO, NO,   NO,    TERRITOIRE, NO)},
    ("territoires.grant", "POST"): {None: row(LOGIN,  NO,     NO,     NO,    NO,    NO,    TERRITOIRES, NO)},
    ("territoires.revoke", "POST"): {PORTEE_STATE: row(LOGIN, NO, NO,  NO,    NO,    NO,    TERRITOIRES, NO)},
})

# Known authorization bugs: (endpoint, method, state, actor) -> reason. Each is an xfail(strict).
KNOWN_BUGS: dict[tuple[str, str, str | None, str], str] = {}

NEW_ORG = "Organisation créée par la matrice"
NEW_EMAIL = "compte-cree@matrice.example.fr"
EDITED_NAME = "Nom modifié par la matrice"
EDITED_FIELD = {"fiche_saisine": "prescripteur-nom", "fiche_incident": "mesure-referent_nom", CANDIDATURE: "porteur-raison_sociale", "notification_aml": "destinataire-association"}
NEW_MESURE = {**MESURES["mesure_asll"], "menage_nom": "Ménage ouvert par la matrice", "menage_prenom": "Camille"}
MEETING = {"date": "2019-10-07", "nature": "visite_domicile", "note": "Point budget (matrice)"}  # after every order, before today


def meeting_form(values: dict[str, str]) -> dict[str, str]:
    """The measure page's meeting form with one row (it records one or several at once, issue 16)."""
    return {f"saisie-0-{key}": value for key, value in values.items()}
RENEWAL = {"date_decision": "2019-10-01", "duree_mois": "3", "motif": "Relogement en cours (matrice)"}  # Maintien: 6 + 3 + 3 = 12 months
CLOSING = {"date_fin": "2019-10-10", "motif": "fin_anticipee", "commentaire": "Clôture par la matrice"}  # after every start, before today
NEW_APPEL_CODE = "appel-cree-par-la-matrice"
EDITED_APPEL_TITLE = "Appel modifié par la matrice"
GRILLE_POIDS = 2  # the first criterion's weight in the grid the admin saves
CHANGED_PASSWORD = "un mot de passe changé par la matrice"
MESSAGE_TEXT = "Un message de la matrice : {{ 7*7 }}"


def appel_form(**changes: Any) -> dict[str, Any]:
    """The seeded call's form, with ``changes``."""
    return flatten({**json.loads(APPEL_SEED.read_text(encoding="utf-8")), **changes})


def grille_form() -> dict[str, Any]:
    """The shipped grid's form (AML §6c), its first criterion weighing 2."""
    grille = grille_aml_2019()
    grille["criteres"][0]["poids"] = GRILLE_POIDS
    # The scale by hand: ``flatten`` drops a 0 (the lowest score) as if it were False.
    scale = {f"echelle-{k}": str(v) for k, v in grille["echelle"].items()}
    return {**flatten({"criteres": grille["criteres"]}), **scale, "action": "save"}


def post_data(world: World, endpoint: str, state: str | None) -> dict[str, Any]:
    """The body an allowed user would send: the same for every actor."""
    if endpoint == "auth.login":
        return {"email": world.accounts["redacteur_A"].email, "password": PASSWORD}
    if endpoint == "documents.new":
        return {**example_form(str(state)), "action": "save"}
    if endpoint == "documents.edit":
        kind = STATES[str(state)][0] if state in STATES else CANDIDATURE
        return {**example_form(kind), EDITED_FIELD[kind]: EDITED_NAME, "action": "save"}
    if endpoint == "documents.review":
        # The operator and the référent chosen from the lists (issue 13): organisation A's writer.
        named = world.accounts["redacteur_A"]
        example = {k: v for k, v in get_kind("fiche_saisine").review.example.items() if v}  # type: ignore[union-attr]
        return {**example, "operateur_id": named.organisation_id, "referent_id": named.id}
    if endpoint == "admin.organisations":
        return {"name": NEW_ORG}
    if endpoint in ("auth.totp", "auth.second_factor"):
        return {"code": "abcdef"}  # never a code
    if endpoint == "auth.forgot":
        return {"email": world.accounts["redacteur_A"].email}
    if endpoint == "auth.reset":
        return {"new": CHANGED_PASSWORD, "confirm": CHANGED_PASSWORD}
    if endpoint == "auth.change_password":
        return {"current": PASSWORD, "new": CHANGED_PASSWORD, "confirm": CHANGED_PASSWORD}
    if endpoint == "admin.users":
        return {"email": NEW_EMAIL, "full_name": "Compte Créé", "role": "redacteur", "organisation_id": str(world.orgs[ORG_A])}
    if endpoint == "mesures.new":
        return dict(NEW_MESURE)
    if endpoint == "mesures.add_meeting":
        return meeting_form(MEETING)
    if endpoint == "mesures.add_renewal":
        return dict(RENEWAL)
    if endpoint == "mesures.refuse_renewal":
        return {"motif": "Dette soldée."}
    if endpoint == "mesures.close":
        return dict(CLOSING)
    if endpoint == "mesures.referents":
        # Organisation A's writer: organisation B's writer may not record it (422, nothing changes).
        return {"referent_id": str(world.accounts["redacteur_A"].id), "diplome": "es"}
    if endpoint == "mesures.record_order":
        return {"date_bon_commande": "2019-10-01"}
    if endpoint == "mesures.start_annual":
        return {"annee": "2019"}
    if endpoint == "admin.appels":
        return appel_form(code=NEW_APPEL_CODE)
    if endpoint == "admin.appel":
        return appel_form(titre=EDITED_APPEL_TITLE)
    if endpoint == "candidatures.upload":
        return {"fichier": (io.BytesIO(UPLOAD_PDF), UPLOAD_NAME), "rang": "0"}  # multipart, a fresh stream each time
    if endpoint == "candidatures.nonconforme":
        return {"motif": NONCONFORME_MOTIF}
    if endpoint == "instruction.move":
        return {"action": "instruire"}
    if endpoint == "instruction.request_correction":
        return {"piece": "", "texte": CORRECTION_TEXT}
    if endpoint == "instruction.annotate":
        return {"texte": ANNOTATION_TEXT}
    if endpoint == "instruction.jury_page":
        return {"date": "2019-09-25"}
    if endpoint == "instruction.grille_page":
        return grille_form()
    if endpoint == "jury.evaluation":
        return {"note-projet_territoire-1": "3", "action": "enregistrer"}
    if endpoint == "jury.avis":
        return {"avis": "favorable", "texte": "Avis de la matrice"}
    if endpoint == "jury.record_decision":
        return {"date": "2019-10-01"}
    if endpoint == "archives.deposit":
        return {"fichier": (io.BytesIO(pdf_titled(f"Copie signée {state} (matrice)")), SIGNED_NAME), "signature": "scan"}
    if endpoint == "archives.export":
        return {"format": "seda", "record": str(world.record_id)}
    if endpoint == "archives.record_visa":
        return {"document": str(world.docs["submitted_saisine"]), "numero": "2019-9", "date_visa": "2019-10-01", "signataire": "Matrice"}
    if endpoint == "archives.rules":
        return {"type": "fiche_incident", "annees": "7", "sort": "destruction", "note": "Règle posée par la matrice"}
    if endpoint == "archives.trust":
        return {"certificat": (io.BytesIO(ca_pem(5)), "autre-autorite.pem")}
    if endpoint == "notifications.preferences":
        return {"frequence": "quotidien"}
    if endpoint == "messages.post" and CORRECTION in str(state):
        return {"texte": CORRECTION_TEXT, "nature": "demande_correction"}
    if endpoint == "messages.post":
        return {"texte": MESSAGE_TEXT}
    if endpoint == "partage.share":
        return {"adresse": "bailleur@matrice.example.fr", "qualite": "bailleur"}
    if endpoint == "partage.page":
        return {"action": "ouvrir", "code": "123456"}
    if endpoint == "modeles.template":
        return {"fichier": (io.BytesIO(template_version("Version 2 (matrice)")), "v2.docx")}
    if endpoint == "jetons.create":
        return {"nom": "Jeton de la matrice", "types": ["fiche_incident", "fiche_saisine"], "portee": "ecriture", "jours": "30"}
    if endpoint == "territoires.edit":
        return {"nom": "Lens-Hénin", "zones_epci": "CALL\nCAHC", "zones_commune": "Lens"}
    if endpoint == "territoires.recipients":  # the Pas-de-Calais's Service Logement address (brief h19, point 6)
        return {"service_logement_adresse": "logement@matrice.example.fr"}
    if endpoint == "territoires.attachments":
        return {"organisation": [str(world.orgs[ORG_A]), str(world.orgs[ORG_B])], "compte": str(world.accounts["coordinateur"].id)}
    if endpoint == "territoires.grant":
        return {"compte": str(world.accounts["coordinateur"].id), "departement": "Haute-Savoie"}
    if endpoint == "territoires.assign_measure":  # the ASLL Installation of Liévin has no lot
        return {"mesure": str(world.mesures["mesure_asll"]), "territoire": "asll-lot-1"}
    return {}  # logout, submit, start_document, open_dossier, remove, reopen: nothing but the CSRF token


def send(web: WebClient, world: World, endpoint: str, method: str, state: str | None, *, csrf: bool = True, **extra: Any) -> Any:
    """The request of a case: a GET, or a POST of ``post_data`` (multipart for an upload)."""
    url = world.url(endpoint, state)
    with world.presented(state):
        if method == "GET":
            return web.get(url)
        data = {**post_data(world, endpoint, state), **extra}
        kwargs = {"content_type": "multipart/form-data"} if endpoint in ("candidatures.upload", "archives.deposit", "archives.trust", "modeles.template") else {}
        return web.post(url, data, csrf=csrf, **kwargs)


# --- What an allowed change must have done (anything else must leave the database unchanged).

Check = Callable[[World, dict[str, Any], dict[str, Any], str | None, str, WebClient, Any], None]


def _only_changed(before: dict[str, Any], after: dict[str, Any], doc_id: int) -> None:
    """Nothing but document ``doc_id`` (its row, renditions, pieces, events, counters) changed."""
    assert {k: v for k, v in after["documents"].items() if k != doc_id} == {k: v for k, v in before["documents"].items() if k != doc_id}
    assert [r for r in after["renditions"] if r[0] != doc_id] == [r for r in before["renditions"] if r[0] != doc_id]
    assert {k: v for k, v in after["pieces"].items() if v[0] != doc_id} == {k: v for k, v in before["pieces"].items() if v[0] != doc_id}
    assert after["users"] == before["users"] and after["organisations"] == before["organisations"]
    for key in ("mesures", "rencontres", "renouvellements"):
        assert after[key] == before[key], key


def _only_mesure_changed(before: dict[str, Any], after: dict[str, Any], mesure_id: int) -> None:
    """Nothing but measure ``mesure_id`` (its row, meetings, renewals, events, counters) changed."""
    for key in ("documents", "renditions", "users", "organisations"):
        assert after[key] == before[key], key
    assert {k: v for k, v in after["mesures"].items() if k != mesure_id} == {k: v for k, v in before["mesures"].items() if k != mesure_id}
    for key in ("rencontres", "renouvellements"):
        assert [r for r in after[key] if r[1] != mesure_id] == [r for r in before[key] if r[1] != mesure_id], key
        assert set(before[key]) <= set(after[key]), f"{key}: a row changed or vanished"


def _new_events(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, int | None, int | None, Any]]:
    """The events a request logged: (action, document_id, user_id, detail)."""
    assert [e for e in after["events"] if e in before["events"]] == before["events"], "an event changed or vanished"
    return [e[1:] for e in after["events"] if e not in before["events"]]


def _new_rows(before: dict[str, Any], after: dict[str, Any], table: str) -> list[Any]:
    """The rows a request added to ``table``, those of the world untouched."""
    old, new = before["tables"][table], after["tables"][table]
    assert new[: len(old)] == old
    return list(new[len(old) :])


def _notified(world: World, before: dict[str, Any], after: dict[str, Any]) -> list[tuple[str, str]]:
    """Who a request notified, and of what: (actor, evenement), the earlier notifications untouched."""
    old, new = before["tables"]["notification"], after["tables"]["notification"]
    assert new[: len(old)] == old
    table = [c.name for c in Notification.__table__.columns]
    actor_of = {a.id: name for name, a in world.accounts.items()}
    return sorted((actor_of[r[table.index("user_id")]], r[table.index("evenement")]) for r in new[len(old) :])


def _created_draft(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    new_ids = set(after["documents"]) - set(before["documents"])
    assert len(new_ids) == 1, new_ids
    (new_id,) = new_ids
    assert urlsplit(response.headers["Location"]).path == f"/documents/{new_id}/modifier"
    kind, org_id, author_id, status, *_ = after["documents"][new_id]
    assert (kind, status) == (state, "brouillon")
    assert (org_id, author_id) == (world.accounts[actor].organisation_id, world.accounts[actor].id)
    _only_changed(before, after, new_id)
    assert renditions_of(after, new_id) == []


def _saved_draft(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    doc_id = world.docs[str(state)]
    status, data = after["documents"][doc_id][3], after["documents"][doc_id][4]
    assert status == "brouillon" and data["prescripteur"]["nom"] == EDITED_NAME
    assert renditions_of(after, doc_id) == []
    _only_changed(before, after, doc_id)


def _submitted(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    doc_id = world.docs[str(state)]
    status, reference = after["documents"][doc_id][3], after["documents"][doc_id][7]
    assert status == "soumis" and reference and reference.startswith("FS-2019-")
    assert _notified(world, before, after) == [("coordinateur", "depot"), ("instructeur", "depot")]  # its readers, not the archiviste
    assert renditions_of(after, doc_id) == [(1, "docx"), (1, "pdf")]
    _only_changed(before, after, doc_id)


def _reviewed(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    doc_id = world.docs[str(state)]
    doc = after["documents"][doc_id]
    assert doc[3] == "decide" and doc[6]["referent"] == "Compte redacteur_A" and doc[12] == world.accounts[actor].id
    assert doc[5] == before["documents"][doc_id][5]  # the submitted data stays frozen
    assert renditions_of(after, doc_id) == [(1, "docx"), (1, "pdf"), (2, "docx"), (2, "pdf")]
    assert _notified(world, before, after) == [("redacteur_A", "decision")]  # the writers of its organisation
    # A validated AML orientation opens the measure of the operator and référent chosen (issue 13).
    opened = {k: v for k, v in after["mesures"].items() if k not in before["mesures"]}
    assert [(m[1], m[2], m[3]) for m in opened.values()] == [(world.accounts["redacteur_A"].organisation_id, world.accounts["redacteur_A"].id, "aml")]
    _only_changed(before, {**after, "mesures": {k: v for k, v in after["mesures"].items() if k in before["mesures"]}}, doc_id)


def _created_organisation(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    assert after["organisations"] == sorted([*before["organisations"], NEW_ORG])
    assert after["documents"] == before["documents"] and after["users"] == before["users"]


def _created_user(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    assert [u[:3] for u in after["users"] if u not in before["users"]] == [(NEW_EMAIL, "redacteur", world.orgs[ORG_A])]
    assert "Mot de passe à transmettre" in response.get_data(as_text=True)
    assert after["documents"] == before["documents"] and after["organisations"] == before["organisations"]


def _changed_password(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    email = world.accounts[actor].email
    assert [u[0] for u in after["users"] if u not in before["users"]] == [email]
    assert [e[1:] for e in after["events"] if e not in before["events"]] == [("password_changed", None, world.accounts[actor].id, {"email": email})]


def _reset_password(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    assert [u[0] for u in after["users"] if u not in before["users"]] == [TARGET_EMAIL]
    assert "Nouveau mot de passe à transmettre" in response.get_data(as_text=True)
    assert [e[1:] for e in after["events"] if e not in before["events"]] == [("password_reset", None, world.accounts[actor].id, {"email": TARGET_EMAIL})]
    assert [r[1] for r in after["tables"]["account_security"]] == [True]  # to change at the next sign-in


def _deactivated(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    assert [u[:4] for u in after["users"] if u not in before["users"]] == [(TARGET_EMAIL, "redacteur", world.orgs[ORG_B], False)]
    assert [e[1:] for e in after["events"] if e not in before["events"]] == [("account_deactivated", None, world.accounts[actor].id, {"email": TARGET_EMAIL})]


def _created_mesure(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    new_ids = set(after["mesures"]) - set(before["mesures"])
    assert len(new_ids) == 1, new_ids
    (new_id,) = new_ids
    assert urlsplit(response.headers["Location"]).path == f"/mesures/{new_id}"
    reference, org_id, referent_id, type_mesure, nom, *_ = after["mesures"][new_id]
    assert (org_id, referent_id) == (world.accounts[actor].organisation_id, world.accounts[actor].id)  # the user's organisation, the user as referent
    assert (type_mesure, nom, after["mesures"][new_id][11]) == (NEW_MESURE["type_mesure"], NEW_MESURE["menage_nom"], "en_cours")
    last = dict(((p, y), n) for p, y, n in before["counters"]).get(("ME", 2019), 0)
    assert reference == f"ME-2019-{last + 1:06d}"
    assert ("ME", 2019, last + 1) in after["counters"]
    assert _new_events(before, after) == [("create_mesure", None, world.accounts[actor].id, {"mesure": new_id})]
    _only_mesure_changed(before, after, new_id)


def _recorded_meeting(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    mesure_id, now = world.mesures[str(state)], world.app.config["CLOCK"]()
    new = [r[1:] for r in after["rencontres"] if r not in before["rencontres"]]
    date = dt.date.fromisoformat(MEETING["date"])
    assert new == [(mesure_id, date, MEETING["nature"], MEETING["note"], world.accounts[actor].id, now)]
    # The first meeting recorded is the start of support (ASLL §8): the earliest one counts.
    expected = list(before["mesures"][mesure_id])
    expected[8] = min(expected[8] or date, date)
    expected[13] = now
    assert after["mesures"][mesure_id] == tuple(expected)
    assert after["counters"] == before["counters"]
    assert _new_events(before, after) == [("add_rencontre", None, world.accounts[actor].id, {"mesure": mesure_id})]
    _only_mesure_changed(before, after, mesure_id)


def _started_document(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    head, _, kind_name = str(state).partition(":")
    mesure_id = world.mesures[head]
    new_ids = set(after["documents"]) - set(before["documents"])
    assert len(new_ids) == 1, new_ids
    (new_id,) = new_ids
    assert urlsplit(response.headers["Location"]).path == f"/documents/{new_id}/modifier"
    doc = after["documents"][new_id]
    assert (doc[0], doc[3], doc[13]) == (kind_name, "brouillon", mesure_id)  # a draft linked to the measure
    assert (doc[1], doc[2]) == (world.accounts[actor].organisation_id, world.accounts[actor].id)
    prefilled = doc[4]["mesure"]
    form = MESURES[head]
    assert (prefilled["type_mesure"], prefilled["menage_nom"], prefilled["menage_prenom"]) == (form["type_mesure"], form["menage_nom"], form["menage_prenom"])
    assert prefilled["operateur"] == ORG_A and prefilled["referent_nom"] == f"Compte {actor}"
    assert renditions_of(after, new_id) == [] and after["counters"] == before["counters"]
    assert [e[:3] for e in _new_events(before, after)] == [("create", new_id, world.accounts[actor].id)]
    _only_changed(before, after, new_id)


def _closed_mesure(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    mesure_id, now = world.mesures[str(state)], world.app.config["CLOCK"]()
    expected = list(before["mesures"][mesure_id])
    expected[11], expected[13:] = "terminee", [now, dt.date.fromisoformat(CLOSING["date_fin"]), CLOSING["motif"], CLOSING["commentaire"]]
    assert after["mesures"][mesure_id] == tuple(expected)
    assert after["counters"] == before["counters"]
    assert _new_events(before, after) == [("close_mesure", None, world.accounts[actor].id, {"mesure": mesure_id, "motif": CLOSING["motif"]})]
    _only_mesure_changed(before, after, mesure_id)


def _started_annual(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    new_ids = set(after["documents"]) - set(before["documents"])
    assert len(new_ids) == 1, new_ids
    (new_id,) = new_ids
    assert urlsplit(response.headers["Location"]).path == f"/documents/{new_id}/modifier"
    doc = after["documents"][new_id]
    account = world.accounts[actor]
    assert (doc[0], doc[3], doc[13], doc[14], doc[15]) == ("bilan_annuel_operateur", "brouillon", None, "annuel-2019", dt.date(2020, 1, 31))
    assert (doc[1], doc[2]) == (account.organisation_id, account.id)
    assert (doc[4]["operateur"], doc[4]["annee"]) == (account.organisation, 2019)
    # Its figures count the organisation's own measures only: none for organisation B.
    counted = sum(row["suivies"] for row in doc[4]["chiffres"]["par_type"])
    assert counted == (len(MESURES) if account.organisation == ORG_A else 0), doc[4]["chiffres"]
    assert renditions_of(after, new_id) == [] and after["counters"] == before["counters"]
    assert [e[:3] for e in _new_events(before, after)] == [("create", new_id, account.id)]
    _only_changed(before, after, new_id)


def _saved_appel(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    appels_before = {r[0]: r for r in before["tables"]["appel"]}
    appels_after = {r[0]: r for r in after["tables"]["appel"]}
    changed = {i for i in appels_after if appels_after[i] != appels_before.get(i)}
    assert len(changed) == 1, changed
    (appel_id,) = changed
    assert urlsplit(response.headers["Location"]).path == f"/admin/appels/{appel_id}"
    _, code, data, *_ = appels_after[appel_id]
    if state is None:  # created
        assert appel_id not in appels_before and code == NEW_APPEL_CODE
    else:  # edited
        assert appel_id == world.appel_id and (code, data["titre"]) == (appels_before[appel_id][1], EDITED_APPEL_TITLE)
    assert set(appels_before) <= set(appels_after)
    assert _new_events(before, after) == [("save_appel", None, world.accounts[actor].id, {"appel": appel_id})]


def _saved_grille(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    appels_before = {r[0]: r for r in before["tables"]["appel"]}
    appels_after = {r[0]: r for r in after["tables"]["appel"]}
    assert {i for i in appels_after if appels_after[i] != appels_before.get(i)} == {world.appel_id}
    grille = appels_after[world.appel_id][2]["grille"]
    assert grille["criteres"][0]["poids"] == GRILLE_POIDS and grille["appel"] == appels_before[world.appel_id][1]
    (row_,) = _new_log_rows(before, after)
    assert _log_row(world, row_, "grille_appel", actor)["detail"]["appel"] == world.appel_id


def _opened_dossier(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    new_ids = set(after["documents"]) - set(before["documents"])
    assert len(new_ids) == 1, new_ids
    (new_id,) = new_ids
    assert urlsplit(response.headers["Location"]).path == f"/documents/{new_id}/liste"
    doc, account = after["documents"][new_id], world.accounts[actor]
    assert (doc[0], doc[3], doc[16], doc[13]) == (CANDIDATURE, "brouillon", world.appel_id, None)  # a draft answering the call
    assert (doc[1], doc[2]) == (account.organisation_id, account.id)
    assert doc[4]["porteur"]["raison_sociale"] == account.organisation  # prefilled from the call and the organisation
    assert [r["territoire"] for r in doc[4]["mesures"]] == ["Artois", "Lens-Hénin"]
    assert renditions_of(after, new_id) == [] and pieces_of(after, new_id) == {} and after["counters"] == before["counters"]
    assert [e[:3] for e in _new_events(before, after)] == [("create", new_id, account.id)]
    assert after["files"] == before["files"]
    _only_changed(before, after, new_id)


def _uploaded_piece(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    doc_id, now, user_id = world.docs["dossier_draft"], world.clock(), world.accounts[actor].id
    assert urlsplit(response.headers["Location"]).path == f"/documents/{doc_id}/liste"
    digest = hashlib.sha256(UPLOAD_PDF).hexdigest()
    new = {k: v for k, v in after["pieces"].items() if k not in before["pieces"]}
    assert list(new.values()) == [
        (doc_id, UPLOAD_CODE, 0, digest, len(UPLOAD_PDF), "application/pdf", 1, UPLOAD_NAME, user_id, now, None, None, None, None)
    ]
    assert {k: after["pieces"][k] for k in before["pieces"]} == before["pieces"]  # the courrier stays current
    expected = list(before["documents"][doc_id])
    expected[9] = now  # updated_at, nothing else
    assert after["documents"][doc_id] == tuple(expected)
    assert renditions_of(after, doc_id) == renditions_of(before, doc_id) == [] and after["counters"] == before["counters"]
    assert _new_events(before, after) == [("add_piece", doc_id, user_id, {"piece": UPLOAD_CODE, "rang": 0, "sha256": digest})]
    assert after["files"] == sorted([*before["files"], (f"{digest[:2]}/{digest}", len(UPLOAD_PDF))])
    _only_changed(before, after, doc_id)


def _removed_piece(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    doc_id, piece_id, now = world.docs["dossier_draft"], world.pieces["dossier_draft"], world.clock()
    assert urlsplit(response.headers["Location"]).path == f"/documents/{doc_id}/liste"
    expected = list(before["pieces"][piece_id])
    expected[10] = now  # replaced_at: withdrawn, the row and its file kept
    assert after["pieces"] == {**before["pieces"], piece_id: tuple(expected)}
    assert after["documents"] == before["documents"] and after["files"] == before["files"]
    assert _new_events(before, after) == [("remove_piece", doc_id, world.accounts[actor].id, {"piece": WORLD_PIECE["dossier_draft"], "rang": 0})]


def _marked_nonconforme(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    doc_id, piece_id, now, user_id = world.docs["dossier_submitted"], world.pieces["dossier_submitted"], world.clock(), world.accounts[actor].id
    assert urlsplit(response.headers["Location"]).path == f"/documents/{doc_id}/liste"
    expected = list(before["pieces"][piece_id])
    expected[11:] = [NONCONFORME_MOTIF, user_id, now]
    assert after["pieces"] == {**before["pieces"], piece_id: tuple(expected)}
    assert after["documents"] == before["documents"] and after["renditions"] == before["renditions"] and after["files"] == before["files"]
    assert _new_events(before, after) == [("nonconforme", doc_id, user_id, {"piece": WORLD_PIECE["dossier_submitted"], "rang": 0})]
    assert _notified(world, before, after) == [("redacteur_A", "non_conforme")]


def _reopened(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    doc_id, now = world.docs["dossier_submitted"], world.clock()
    assert now == BEFORE_NOW
    assert urlsplit(response.headers["Location"]).path == f"/documents/{doc_id}/liste"
    expected = list(before["documents"][doc_id])
    expected[3], expected[9] = "brouillon", now  # back to draft; its reference, frozen data and submission date kept
    assert after["documents"][doc_id] == tuple(expected)
    assert after["renditions"] == before["renditions"] and after["pieces"] == before["pieces"]  # the deposited version stays
    assert after["counters"] == before["counters"] and after["files"] == before["files"]
    assert [e[:3] for e in _new_events(before, after)] == [("reopen", doc_id, world.accounts[actor].id)]
    assert _notified(world, before, after) == [("instructeur", "reouverture")]
    _only_changed(before, after, doc_id)


def _notifications_read(world: World, before: dict[str, Any], after: dict[str, Any], actor: str, which: set[int] | None) -> None:
    """The actor's unread notifications (``which`` of them, or all) are read now; nothing else changed."""
    table = [c.name for c in Notification.__table__.columns]
    user_id, read_at = table.index("user_id"), table.index("read_at")
    expected = [
        tuple(world.clock() if i == read_at and r[user_id] == world.accounts[actor].id and r[read_at] is None and (which is None or r[0] in which) else v for i, v in enumerate(r))
        for r in before["tables"]["notification"]
    ]
    assert after["tables"]["notification"] == expected


def _marked_read(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    _notifications_read(world, before, after, actor, {world.notification_id})
    assert after["tables"]["notification"] != before["tables"]["notification"]


def _marked_all_read(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    _notifications_read(world, before, after, actor, None)


def _chose_frequence(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    assert before["tables"]["notification_preference"] == []
    assert after["tables"]["notification_preference"] == [(world.accounts[actor].id, "quotidien")]


def _instructed(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    doc_id, now, user_id = world.docs["dossier_submitted"], world.clock(), world.accounts[actor].id
    assert urlsplit(response.headers["Location"]).path == f"/documents/{doc_id}/liste"
    assert after["tables"]["instruction"] == [(doc_id, "en_instruction", None, None, None, now)]
    assert [r[1:] for r in after["tables"]["instruction_move"]] == [(doc_id, "instruire", "depose", "en_instruction", None, None, None, user_id, now)]
    assert after["documents"] == before["documents"] and after["pieces"] == before["pieces"]


def _requested_correction(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    doc_id, now, user_id = world.docs["dossier_submitted"], world.clock(), world.accounts[actor].id
    assert now == BEFORE_NOW
    assert [r[1:] for r in after["tables"]["correction_request"]] == [(doc_id, None, CORRECTION_TEXT, user_id, now, None)]
    # One path (issue 14): the request is a message of the dossier's thread, told to its association.
    assert [r[1:] for r in _new_rows(before, after, "message")] == [(doc_id, user_id, "demande_correction", CORRECTION_TEXT, now, None)]
    assert ("redacteur_A", "demande_correction") in _notified(world, before, after)
    assert after["documents"] == before["documents"] and after["pieces"] == before["pieces"]


def _posted_message(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    """One message by the actor in the document's thread, the other side told; the document unchanged."""
    doc_id, now, user_id = world.docs[base_state(state)], world.clock(), world.accounts[actor].id
    assert [r[1:] for r in _new_rows(before, after, "message")] == [(doc_id, user_id, "message", MESSAGE_TEXT, now, None)]
    told = _notified(world, before, after)
    assert {e for _, e in told} <= {"message"} and actor not in {a for a, _ in told}
    # A recipient's message tells the organisation's writer; a writer's, the recipients of a submitted document.
    if actor != "redacteur_A":
        assert ("redacteur_A", "message") in told
    assert after["documents"] == before["documents"] and after["pieces"] == before["pieces"]


def _reopened_by_correction(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    """A recipient's "demande de correction" (issue 14): the document back to its writers, the request open in its thread, its writers told."""
    doc_id, now, user_id = world.docs[str(base_state(state))], world.clock(), world.accounts[actor].id
    expected = list(before["documents"][doc_id])
    expected[3], expected[9] = "brouillon", now  # reopened; its reference, frozen data and submission date kept
    assert after["documents"][doc_id] == tuple(expected)
    assert after["renditions"] == before["renditions"]  # the submitted version stays
    assert [e[:3] for e in _new_events(before, after)] == [("reopen", doc_id, user_id)]
    # Open (answered_at None) until the writers deposit the document again.
    assert [r[1:] for r in _new_rows(before, after, "message")] == [(doc_id, user_id, "demande_correction", CORRECTION_TEXT, now, None)]
    told = _notified(world, before, after)
    assert ("redacteur_A", "demande_correction") in told and {e for _, e in told} == {"demande_correction"} and actor not in {a for a, _ in told}
    _only_changed(before, after, doc_id)


def _correction_refused_to_its_writer(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    """The writer may not ask their own document a correction: the thread shown again with the text typed; no message, nothing reopened, its unread marks as they were (a refused post changes nothing)."""
    assert CORRECTION_TEXT in html.unescape(response.get_data(as_text=True))
    assert after["tables"]["message_read"] == before["tables"]["message_read"]
    assert after["documents"] == before["documents"] and after["events"] == before["events"]


def _revoked_link(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    """The link is revoked now, and the revocation logged; nothing else changed."""
    (link,) = after["tables"]["partage"]
    assert link[0] == world.partage_id and world.clock() in link
    assert [r[1:3] for r in after["tables"]["partage_trace"]] == [(world.partage_id, "revocation")]
    assert after["documents"] == before["documents"]


def _annotated(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    doc_id, now, user_id = world.docs["dossier_submitted"], world.clock(), world.accounts[actor].id
    assert [r[1:] for r in after["tables"]["annotation"]] == [(doc_id, ANNOTATION_TEXT, user_id, now)]
    assert after["documents"] == before["documents"]


def _scored_draft(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    """The jury's member saved a draft of its evaluation of the presented dossier: one row, unsigned (AML §6c)."""
    (added,) = _new_rows(before, after, "jury_evaluation")
    assert added[:2] == (world.docs["dossier_submitted"], world.accounts[actor].id)
    with world.app.app_context():
        found = db.session().get(Evaluation, added[:2])
        assert found is not None and found.signed_at is None and found.notes["projet_territoire"][0] == 3
    assert after["documents"] == before["documents"]


def _recorded_avis(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    """The instructeur recorded the jury's avis on the presented dossier (AML §6d)."""
    assert len(_new_rows(before, after, "jury_avis")) == 1
    with world.app.app_context():
        found = db.session().get(Avis, world.docs["dossier_submitted"])
        assert found is not None and (found.avis, found.texte, found.user_id) == ("favorable", "Avis de la matrice", world.accounts[actor].id)
    assert after["documents"] == before["documents"]


def _new_log_rows(before: dict[str, Any], after: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The audit-trail rows a request appended (the earlier ones untouched)."""
    old, new = before["tables"]["archive_log"], after["tables"]["archive_log"]
    assert new[: len(old)] == old, "an audit-trail row changed or vanished"
    return new[len(old) :]


def _journal_grew_only(before: dict[str, Any], after: dict[str, Any], rows: int) -> None:
    """The archive's files are as they were; its journal file witnessed ``rows`` more rows."""
    files = lambda snap: [f for f in snap["archive_files"] if f[0] != "journal.sha512"]  # noqa: E731
    assert files(after) == files(before)
    journal = lambda snap: dict(snap["archive_files"])["journal.sha512"]  # noqa: E731
    assert journal(after) > journal(before) and rows > 0


def _log_row(world: World, row: tuple[Any, ...], action: str, actor: str) -> dict[str, Any]:
    """Check a log row's action, author and record, and return its detail."""
    columns = [c.name for c in ArchiveLog.__table__.columns]
    values = dict(zip(columns, row, strict=True))
    assert (values["action"], values["user_id"]) == (action, world.accounts[actor].id)
    return values


def _logged_household(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    (row_,) = _new_log_rows(before, after)
    assert _log_row(world, row_, "household_view", actor)["detail"] == {"mesure": world.mesures[str(state)]}
    _journal_grew_only(before, after, 1)
    assert "Parcours du ménage" in response.get_data(as_text=True)


def _recorded_diploma(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    columns = [c.name for c in DiplomeReferent.__table__.columns]
    rows = {r[columns.index("user_id")]: dict(zip(columns, r, strict=True)) for r in after["tables"]["diplome_referent"]}
    assert rows[world.accounts["redacteur_A"].id]["diplome"] == "es" and rows[world.accounts["redacteur_A"].id]["recorded_by_id"] == world.accounts[actor].id
    assert len(rows) == len(before["tables"]["diplome_referent"])  # corrected, not added
    assert _new_events(before, after) == [("record_diploma", None, world.accounts[actor].id, {"referent": world.accounts["redacteur_A"].id, "diplome": "es"})]


def _archived(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    doc_id = world.docs[str(state)]
    new = [r for r in after["tables"]["archive_record"] if r not in before["tables"]["archive_record"]]
    assert len(new) == 1
    columns = [c.name for c in ArchiveRecord.__table__.columns]
    record = dict(zip(columns, new[0], strict=True))
    assert urlsplit(response.headers["Location"]).path == f"/archives/{record['id']}"
    signed = pdf_titled(f"Copie signée {state} (matrice)")
    assert (record["document_id"], record["signed_sha512"], record["original_name"]) == (doc_id, hashlib.sha512(signed).hexdigest(), SIGNED_NAME)
    assert (record["deposited_by_id"], record["signature_kind"], record["supersedes_id"]) == (world.accounts[actor].id, "scan", None)
    (row_,) = _new_log_rows(before, after)
    assert _log_row(world, row_, "deposit", actor)["record_id"] == record["id"]
    added = {f[0].rsplit("/", 1)[-1] for f in after["archive_files"]} - {f[0].rsplit("/", 1)[-1] for f in before["archive_files"]}
    assert added == {record["signed_sha512"], record["pdfa_sha512"]}
    assert after["documents"] == before["documents"] and after["files"] == before["files"]


def _read_thread(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    """Reading a thread records how far its reader read it (the world's one message), nothing else."""
    assert [r for r in after["tables"]["message_read"] if r not in before["tables"]["message_read"]] == [
        (world.accounts[actor].id, world.docs["submitted_saisine"], before["tables"]["message"][-1][0])
    ]
    assert ATTACHMENT_NAME in response.get_data(as_text=True)


def _downloaded_attachment(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    """The attachment's bytes, as stored, under its name; nothing recorded."""
    assert response.data.startswith(b"%PDF") and ATTACHMENT_NAME in response.headers["Content-Disposition"]
    assert after == before


def _logged_view(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    (row_,) = _new_log_rows(before, after)
    assert _log_row(world, row_, "view", actor)["record_id"] == world.record_id
    _journal_grew_only(before, after, 1)
    assert "Fiche saisine" in response.get_data(as_text=True) and SIGNED_NAME in response.get_data(as_text=True)


def _logged_download(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    (row_,) = _new_log_rows(before, after)
    values = _log_row(world, row_, "download", actor)
    assert values["record_id"] == world.record_id and values["detail"] == {"file": "signe"}
    _journal_grew_only(before, after, 1)
    signed = dict(zip([c.name for c in ArchiveRecord.__table__.columns], before["tables"]["archive_record"][0], strict=True))["signed_sha512"]
    assert response.mimetype == "application/pdf" and hashlib.sha512(response.data).hexdigest() == signed


def _exported(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    (row_,) = _new_log_rows(before, after)
    values = _log_row(world, row_, "export", actor)
    assert values["record_id"] == world.record_id and values["detail"]["format"] == "seda"
    _journal_grew_only(before, after, 1)
    # Built by the worker the test client runs after the request; offered on the export's page.
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert "-seda.zip" in page and f'href="{response.headers["Location"]}/fichier"' in page


def _set_rule(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    new = [r for r in after["tables"]["retention_rule"] if r not in before["tables"]["retention_rule"]]
    assert [(r[1], r[2], r[3], r[4]) for r in new] == [("fiche_incident", 7, "destruction", "Règle posée par la matrice")]
    (row_,) = _new_log_rows(before, after)
    assert _log_row(world, row_, "retention_rule", actor)["detail"]["years"] == 7


def _trusted(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    (row_,) = _new_log_rows(before, after)
    assert _log_row(world, row_, "trust_root_added", actor)["detail"]["fingerprint"] != world.fingerprint
    assert len(after["trust_files"]) == len(before["trust_files"]) + 1


def _untrusted(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    (row_,) = _new_log_rows(before, after)
    assert _log_row(world, row_, "trust_root_removed", actor)["detail"] == {"fingerprint": world.fingerprint}
    assert after["trust_files"] == []


def _deposited_template(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    new = [row_ for row_ in after["tables"]["modele_version"] if row_ not in before["tables"]["modele_version"]]
    assert [(r[1], r[3], r[6]) for r in new] == [(MODELE_TEMPLATE, 2, "v2.docx")]
    assert after["tables"]["modele_en_vigueur"] == before["tables"]["modele_en_vigueur"] == []


def _asked_template_pdf(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    new = after["tables"]["travail"][len(before["tables"]["travail"]):]
    assert [(r[1], r[2]) for r in new] == [("apercu_modele", f"Aperçu PDF de {MODELE_TEMPLATE}, version 1")]
    # Made by the worker the test client runs after the request: its page offers the PDF.
    page = web.get(response.headers["Location"]).get_data(as_text=True)
    assert f'href="{response.headers["Location"]}/pdf"' in page


def _created_token(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    new = [r for r in after["tables"]["api_token"] if r not in before["tables"]["api_token"]]
    columns = [c.name for c in ApiToken.__table__.columns]
    (token,) = [dict(zip(columns, r, strict=True)) for r in new]
    assert (token["name"], token["user_id"], token["kinds"], token["scope"]) == ("Jeton de la matrice", world.accounts[actor].id, ["fiche_incident", "fiche_saisine"], "ecriture")
    assert f"wf_{token['prefix']}_" in response.get_data(as_text=True) and response.headers["Cache-Control"] == "no-store"


def _revoked_token(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    columns = [c.name for c in ApiToken.__table__.columns]
    rows = {r[0]: dict(zip(columns, r, strict=True)) for r in after["tables"]["api_token"]}
    assert rows[world.token_id]["revoked_at"] == WORLD_NOW and len(rows) == len(before["tables"]["api_token"])


def _template_in_force(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    (in_force,) = after["tables"]["modele_en_vigueur"]
    version_1 = next(r for r in after["tables"]["modele_version"] if r[3] == 1)
    assert (in_force[0], in_force[1], in_force[3]) == (MODELE_TEMPLATE, version_1[0], world.accounts["admin"].id)
    assert [r[2:4] for r in after["tables"]["modele_mouvement"][len(before["tables"]["modele_mouvement"]):]] == [("mise_en_vigueur", 1)]


def _edited_territory(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    zones = {(r[1], r[2], r[3]) for r in after["tables"]["territoire_zone"]} - {(r[1], r[2], r[3]) for r in before["tables"]["territoire_zone"]}
    assert zones == {(world.territoire_id, "commune", "Lens")}


def _attached(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    added = set(after["tables"]["organisation_territoire"]) - set(before["tables"]["organisation_territoire"])
    assert added == {(world.orgs[ORG_B], world.territoire_id)}
    assert after["tables"]["user_territoire"] == before["tables"]["user_territoire"]


def _set_recipients(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    changed = set(after["tables"]["departement"]) - set(before["tables"]["departement"])
    assert [(r[0], r[-1]) for r in changed] == [("Pas-de-Calais", "logement@matrice.example.fr")]


def _granted(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    (new,) = [r for r in after["tables"]["portee_departement"] if r not in before["tables"]["portee_departement"]]
    assert (new[1], new[2], new[3]) == (world.accounts["coordinateur"].id, "Haute-Savoie", world.accounts["admin"].id)
    (row,) = _new_log_rows(before, after)
    assert (row[3], row[2]) == ("portee_accordee", world.accounts["admin"].id)


def _revoked(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    assert [r[0] for r in before["tables"]["portee_departement"] if r not in after["tables"]["portee_departement"]] == [world.portee_id]
    (row,) = _new_log_rows(before, after)
    assert (row[3], row[2]) == ("portee_retiree", world.accounts["admin"].id)


def _assigned(world: World, before: dict[str, Any], after: dict[str, Any], state: str | None, actor: str, web: WebClient, response: Any) -> None:
    _only_mesure_changed(before, after, world.mesures["mesure_asll"])
    (row,) = _new_log_rows(before, after)
    assert (row[3], row[2]) == ("territoire_mesure", world.accounts["admin"].id)


EFFECTS: dict[tuple[str, str, str | None, str], Check] = {
    ("documents.new", "POST", "fiche_saisine", "redacteur_A"): _created_draft,
    ("documents.new", "POST", "fiche_incident", "redacteur_A"): _created_draft,
    ("documents.new", "POST", "fiche_saisine", "redacteur_B"): _created_draft,
    ("documents.new", "POST", "fiche_incident", "redacteur_B"): _created_draft,
    ("documents.edit", "POST", "draft_saisine", "redacteur_A"): _saved_draft,
    ("documents.submit", "POST", "draft_saisine", "redacteur_A"): _submitted,
    ("documents.review", "POST", "submitted_saisine", "coordinateur"): _reviewed,
    ("admin.organisations", "POST", None, "admin"): _created_organisation,
    ("admin.users", "POST", None, "admin"): _created_user,
    **{("auth.change_password", "POST", None, a): _changed_password for a in ACTOR_NAMES if a != "anonymous"},
    ("admin.reset_password", "POST", ACCOUNT_STATE, "admin"): _reset_password,
    ("admin.deactivate", "POST", ACCOUNT_STATE, "admin"): _deactivated,
    ("mesures.new", "POST", None, "redacteur_A"): _created_mesure,
    ("mesures.new", "POST", None, "redacteur_B"): _created_mesure,
    **{("mesures.add_meeting", "POST", m, "redacteur_A"): _recorded_meeting for m in MESURES},
    **{("mesures.start_document", "POST", f"{m}:fiche_incident", "redacteur_A"): _started_document for m in MESURES},
    **{("mesures.close", "POST", m, "redacteur_A"): _closed_mesure for m in MESURES},
    ("mesures.start_annual", "POST", None, "redacteur_A"): _started_annual,
    ("mesures.start_annual", "POST", None, "redacteur_B"): _started_annual,
    ("admin.appels", "POST", None, "admin"): _saved_appel,
    ("admin.appel", "POST", APPEL_STATE, "admin"): _saved_appel,
    ("instruction.grille_page", "POST", APPEL_STATE, "admin"): _saved_grille,
    ("candidatures.open_dossier", "POST", APPEL_STATE + BEFORE, "redacteur_B"): _opened_dossier,
    ("candidatures.upload", "POST", "dossier_draft" + BEFORE, "redacteur_A"): _uploaded_piece,
    ("candidatures.remove", "POST", "dossier_draft:piece" + BEFORE, "redacteur_A"): _removed_piece,
    ("candidatures.nonconforme", "POST", "dossier_submitted:piece", "instructeur"): _marked_nonconforme,
    ("candidatures.reopen", "POST", "dossier_submitted" + BEFORE, "redacteur_A"): _reopened,
    ("instruction.move", "POST", "dossier_submitted", "instructeur"): _instructed,
    ("instruction.request_correction", "POST", "dossier_submitted" + BEFORE, "instructeur"): _requested_correction,
    ("instruction.annotate", "POST", "dossier_submitted", "instructeur"): _annotated,
    ("instruction.annotate", "POST", PRESENTED_DOSSIER, "instructeur"): _annotated,
    ("instruction.grille_page", "POST", APPEL_STATE + PRESENTED, "admin"): _saved_grille,
    ("jury.evaluation", "POST", PRESENTED_DOSSIER, "jury"): _scored_draft,
    ("jury.avis", "POST", PRESENTED_DOSSIER, "instructeur"): _recorded_avis,
    ("partage.revoke", "POST", PARTAGE_STATE, "redacteur_A"): _revoked_link,
    **{("messages.post", "POST", st, a): _posted_message for st, a in (
        ("draft_saisine", "redacteur_A"), ("submitted_saisine", "redacteur_A"), ("submitted_saisine", "coordinateur"), ("submitted_saisine", "instructeur"),
        ("submitted_incident", "redacteur_A"), ("submitted_incident", "instructeur"), ("dossier_draft", "redacteur_A"),
        (LETTER_STATE, "redacteur_A"), (LETTER_STATE, "instructeur"),
        ("dossier_submitted", "redacteur_A"), ("dossier_submitted", "instructeur"),
    )},
    **{("messages.post", "POST", st + CORRECTION, a): _reopened_by_correction for st, a in (
        ("submitted_saisine", "coordinateur"), ("submitted_saisine", "instructeur"), ("submitted_incident", "instructeur"),
    )},
    ("messages.post", "POST", "dossier_submitted" + CORRECTION + BEFORE, "instructeur"): _requested_correction,
    # The thread with a message (the world's attachment): the refusal's page marks it read as it shows it.
    ("messages.post", "POST", "submitted_saisine" + CORRECTION, "redacteur_A"): _correction_refused_to_its_writer,
    **{("messages.thread", "GET", "submitted_saisine", a): _read_thread for a in ("redacteur_A", "coordinateur", "instructeur", "archiviste")},
    **{("messages.attachment", "GET", "submitted_saisine:piece_jointe", a): _downloaded_attachment for a in ("redacteur_A", "coordinateur", "instructeur", "archiviste")},
    ("archives.deposit", "POST", "submitted_incident", "archiviste"): _archived,
    ("archives.deposit", "POST", LETTER_STATE, "archiviste"): _archived,
    **{("archives.record", "GET", RECORD_STATE, a): _logged_view for a in ("redacteur_A", "coordinateur", "instructeur", "archiviste")},
    **{("archives.download", "GET", RECORD_STATE, a): _logged_download for a in ("redacteur_A", "coordinateur", "instructeur", "archiviste")},
    ("archives.export", "POST", None, "archiviste"): _exported,
    ("archives.rules", "POST", None, "admin"): _set_rule,
    ("archives.trust", "POST", None, "admin"): _trusted,
    ("archives.untrust", "POST", TRUST_STATE, "admin"): _untrusted,
    **{("menages.file", "GET", m, a): _logged_household for m in MESURES for a in ("redacteur_A", "instructeur")},
    ("menages.file", "GET", "mesure_aml", "coordinateur"): _logged_household,
    ("mesures.referents", "POST", None, "redacteur_A"): _recorded_diploma,
    ("notifications.mark_read", "POST", NOTIFICATION_STATE, "coordinateur"): _marked_read,
    **{("notifications.mark_all_read", "POST", None, a): _marked_all_read for a in ACTOR_NAMES if a != "anonymous"},
    **{("notifications.preferences", "POST", None, a): _chose_frequence for a in ACTOR_NAMES if a != "anonymous"},
    ("modeles.template", "POST", MODELE_STATE, "admin"): _deposited_template,
    ("modeles.put_in_force", "POST", MODELE_VERSION_STATE, "admin"): _template_in_force,
    ("modeles.ask_pdf_preview", "POST", MODELE_VERSION_STATE, "admin"): _asked_template_pdf,
    **{("jetons.create", "POST", None, a): _created_token for a in ACTOR_NAMES if a != "anonymous"},
    ("jetons.revoke", "POST", TOKEN_STATE, "redacteur_A"): _revoked_token,
    ("territoires.edit", "POST", TERRITOIRE_STATE, "admin"): _edited_territory,
    ("territoires.attachments", "POST", TERRITOIRE_STATE, "admin"): _attached,
    ("territoires.recipients", "POST", TERRITOIRE_STATE, "admin"): _set_recipients,
    ("territoires.grant", "POST", None, "admin"): _granted,
    ("territoires.revoke", "POST", PORTEE_STATE, "admin"): _revoked,
    ("territoires.assign_measure", "POST", None, "admin"): _assigned,
}
# The tables each allowed change may write; every other table must stay as it was.
WRITES: dict[Check, set[str]] = {
    # A complete draft asks for its previews (issue 11, point 4).
    _created_draft: {"document", "event", "travail"},
    _saved_draft: {"document", "event", "travail"},
    # A move that concerns others tells them (issue 14): a notification each.
    _submitted: {"document", "rendition", "event", "counter", "travail", "notification"},
    _reviewed: {"document", "rendition", "event", "travail", "notification", "mesure", "mesure_origine", "counter"},
    _created_organisation: {"organisation"},
    _created_user: {"user_account", "event"},
    _changed_password: {"user_account", "account_security", "event"},
    _reset_password: {"user_account", "account_security", "event"},
    _deactivated: {"user_account", "event"},
    _created_mesure: {"mesure", "event", "counter"},
    _recorded_meeting: {"rencontre", "mesure", "event"},
    _started_document: {"document", "event"},
    _closed_mesure: {"mesure", "event"},
    _started_annual: {"document", "event", "travail"},  # the new draft asks its preview (debounced: at most one waits)
    _saved_appel: {"appel", "event"},
    _saved_grille: {"appel", "archive_log"},
    _opened_dossier: {"document", "event"},
    _uploaded_piece: {"piece", "document", "event"},
    _removed_piece: {"piece", "event"},
    _marked_nonconforme: {"piece", "event", "notification"},
    _reopened: {"document", "event", "travail", "notification"},
    # A change of a dossier's state tells its association (issue 14).
    _instructed: {"instruction", "instruction_move", "notification"},
    _posted_message: {"message", "notification"},
    _revoked_link: {"partage", "partage_trace"},
    _requested_correction: {"correction_request", "message", "notification"},
    _reopened_by_correction: {"document", "event", "travail", "message", "notification"},
    _correction_refused_to_its_writer: set(),  # refused: nothing changes, its unread marks included
    _annotated: {"annotation"},
    _scored_draft: {"jury_evaluation"},
    _recorded_avis: {"jury_avis"},
    _archived: {"archive_record", "archive_log"},
    _read_thread: {"message_read"},
    _downloaded_attachment: set(),
    _logged_view: {"archive_log"},
    _logged_household: {"archive_log"},
    _recorded_diploma: {"diplome_referent", "event"},
    _logged_download: {"archive_log"},
    _exported: {"archive_log", "travail"},
    _set_rule: {"retention_rule", "archive_log"},
    _trusted: {"archive_log"},
    _untrusted: {"archive_log"},
    _marked_read: {"notification"},
    _marked_all_read: {"notification"},
    _chose_frequence: {"notification_preference"},
    _deposited_template: {"modele_version", "modele_mouvement"},
    _template_in_force: {"modele_en_vigueur", "modele_mouvement"},
    _asked_template_pdf: {"travail"},
    _created_token: {"api_token", "archive_log"},  # its creation is in the audit trail
    _revoked_token: {"api_token"},
    _edited_territory: {"territoire", "territoire_zone", "event"},
    _attached: {"organisation_territoire", "user_territoire", "event"},
    _set_recipients: {"departement", "territoire", "event"},
    _granted: {"portee_departement", "archive_log"},
    _revoked: {"portee_departement", "archive_log"},
    _assigned: {"mesure", "archive_log"},
}
# The message a redirect leaves for the next page (flashed), where it tells what happened.
FLASHES: dict[tuple[str, str, str | None, str], str] = {
    **{("documents.new", m, CANDIDATURE, a): "se prépare depuis sa mesure ou son appel" for m in ("GET", "POST") for a in ("redacteur_A", "redacteur_B")},
    ("candidatures.open_dossier", "POST", APPEL_STATE, "redacteur_B"): "L'appel est clos : la date limite de dépôt était le 6 septembre 2019 à 16:00.",
    ("candidatures.upload", "POST", "dossier_draft" + BEFORE, "redacteur_A"): "Pièce ajoutée.",
    ("candidatures.remove", "POST", "dossier_draft:piece" + BEFORE, "redacteur_A"): "Pièce retirée",
    ("candidatures.upload", "POST", "dossier_draft", "redacteur_A"): "le dossier ne peut plus être modifié",
    ("candidatures.remove", "POST", "dossier_draft:piece", "redacteur_A"): "le dossier ne peut plus être modifié",
    ("candidatures.nonconforme", "POST", "dossier_submitted:piece", "instructeur"): "Pièce marquée non conforme",
    ("candidatures.reopen", "POST", "dossier_submitted", "redacteur_A"): "La date limite de dépôt est passée (6 septembre 2019 à 16:00) : le dossier ne peut plus être régularisé.",
    ("candidatures.reopen", "POST", "dossier_submitted" + BEFORE, "redacteur_A"): "Dossier rouvert",
    ("instruction.move", "POST", "dossier_submitted", "instructeur"): "Le dossier est maintenant « en instruction ».",
    ("instruction.request_correction", "POST", "dossier_submitted", "instructeur"): "aucune correction ne peut plus être demandée",
    ("instruction.request_correction", "POST", "dossier_submitted" + BEFORE, "instructeur"): "Demande de correction envoyée",
    ("instruction.annotate", "POST", "dossier_submitted", "instructeur"): "Annotation enregistrée",
    ("jury.avis", "POST", "dossier_submitted", "instructeur"): "L'avis du jury porte sur un dossier recevable",
    # Presented to the jury (issue 12): what each allowed request says.
    ("jury.avis", "POST", PRESENTED_DOSSIER, "instructeur"): "Avis du jury enregistré.",
    ("jury.evaluation", "POST", PRESENTED_DOSSIER, "jury"): "Brouillon de l'évaluation enregistré.",
    ("instruction.move", "POST", PRESENTED_DOSSIER, "instructeur"): "ce dossier est « recevable »",
    ("instruction.move", "POST", RETAINED_DOSSIER, "instructeur"): "ce dossier est « retenu »",
    ("instruction.request_correction", "POST", PRESENTED_DOSSIER, "instructeur"): "aucune correction ne peut plus être demandée",
    ("instruction.annotate", "POST", PRESENTED_DOSSIER, "instructeur"): "Annotation enregistrée",
    ("jury.record_decision", "POST", APPEL_STATE + PRESENTED, "instructeur"): "Le jury n'a pas signé : il manque 1 évaluation signée",
    ("jury.send_letters", "POST", APPEL_STATE + PRESENTED, "instructeur"): "Enregistrez d'abord la date de la Commission Permanente",
    ("instruction.grille_page", "POST", APPEL_STATE + PRESENTED, "admin"): "Grille d'évaluation enregistrée",
    # The jury sat, but the world's dossier is only deposited (AML §6b, §6d).
    ("jury.record_decision", "POST", APPEL_STATE, "instructeur"): "1 dossier déposé n'est pas encore instruit",
    **{("jury.draft_convention", "GET", d, a): "Seul un projet retenu" for d, a in (
        ("dossier_draft", "redacteur_A"), ("dossier_submitted", "redacteur_A"), ("dossier_submitted", "instructeur"), (PRESENTED_DOSSIER, "redacteur_A"), (PRESENTED_DOSSIER, "instructeur"),
    )},
    **{("jury.draft_convention", "GET", RETAINED_DOSSIER, a): "La décision de la Commission Permanente n'est pas encore enregistrée" for a in ("redacteur_A", "instructeur")},
    ("jury.send_letters", "POST", APPEL_STATE, "instructeur"): "Enregistrez d'abord la date de la Commission Permanente",
    ("instruction.grille_page", "POST", APPEL_STATE, "admin"): "Grille d'évaluation enregistrée",
    ("archives.destroy", "POST", VISA_STATE, "archiviste"): "un autre archiviste",
    ("travaux.retry", "POST", TRAVAIL_STATE, "admin"): "Seul un travail en échec peut être relancé.",
    **{("documents.submit", "POST", s, "redacteur_A"): "Ce document a déjà été soumis" for s in ("submitted_saisine", "submitted_incident", LETTER_STATE)},
    ("documents.download", "GET", "dossier_draft", "redacteur_A"): "L'aperçu n'est possible qu'une fois le brouillon complet.",
    ("documents.preview", "GET", "dossier_draft", "redacteur_A"): "L'aperçu n'est possible qu'une fois le brouillon complet.",
    ("travaux.retry", "POST", PREVIEW_WORK_STATE, "admin"): "Seul un travail en échec peut être relancé.",
    ("admin.reactivate", "POST", ACCOUNT_STATE, "admin"): f"Le compte {TARGET_EMAIL} est déjà actif.",
    ("admin.reset_totp", "POST", ACCOUNT_STATE, "admin"): f"Le compte {TARGET_EMAIL} n'a pas de double authentification.",
    ("documents.edit", "GET", "dossier_draft", "redacteur_A"): "le dossier ne peut plus être modifié",
}


def _cases() -> list[Any]:
    cases = []
    for (endpoint, method), by_state in MATRIX.items():
        for state, by_actor in by_state.items():
            for actor, outcome in by_actor.items():
                key = (endpoint, method, state, actor)
                marks = [pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[key])] if key in KNOWN_BUGS else []
                case_id = "-".join(p for p in (endpoint, method, state, actor) if p)
                cases.append(pytest.param(endpoint, method, state, actor, outcome, id=case_id, marks=marks))
    return cases


def _page(endpoint: str) -> bool:
    """Is ``endpoint`` a page of the cookie session? The JSON API (``api.*``, ``api_doc.*``) reads no
    cookie, so it has no CSRF case; its matrix is by token scope (tests/test_api_permissions.py)."""
    return endpoint != "static" and not endpoint.startswith(("api.", "api_doc."))


def _non_default_methods(rule: Any) -> set[str]:
    return set(rule.methods or ()) - {"HEAD", "OPTIONS"}


def test_the_matrix_covers_every_route_of_the_app(world: World) -> None:
    """A route added to the app without a line in the matrix fails here."""
    app = world.app
    routes = {(rule.endpoint, method) for rule in app.url_map.iter_rules() if _page(rule.endpoint) for method in _non_default_methods(rule)}
    assert routes - set(MATRIX) == set(), "routes of the app missing from the permission matrix"
    assert set(MATRIX) - routes == set(), "matrix lines for routes the app no longer has"
    for key, by_state in MATRIX.items():
        rule = next(r for r in app.url_map.iter_rules() if r.endpoint == key[0])
        if "partage_id" in rule.arguments:
            expected_states = {PARTAGE_STATE}
        elif "attachment_id" in rule.arguments:
            expected_states = set(ATTACHMENT_STATES)
        elif "mesure_id" in rule.arguments:
            expected_states = set(START_STATES) if "kind_name" in rule.arguments else set(MESURES)
        elif "piece_id" in rule.arguments:
            expected_states = set(PIECE_STATES)
        elif "doc_id" in rule.arguments:
            if key[0].startswith(("candidatures.", "instruction.", "jury.")):
                expected_states = set(DOSSIERS)
            else:  # the document pages; those that read a document are tried on the dossiers too
                expected_states = set(STATES) | (set(DOSSIERS) if key[0] in ("documents.view", "documents.download", "documents.preview", "documents.edit", "messages.thread", "messages.post") else set())
        elif "appel_id" in rule.arguments:
            expected_states = {APPEL_STATE}
        elif "record_id" in rule.arguments:
            expected_states = {RECORD_STATE}
        elif "visa_id" in rule.arguments:
            expected_states = {VISA_STATE}
        elif "user_id" in rule.arguments:
            expected_states = {ACCOUNT_STATE}
        elif "territoire_id" in rule.arguments:
            expected_states = {TERRITOIRE_STATE}
        elif "portee_id" in rule.arguments:
            expected_states = {PORTEE_STATE}
        elif "fingerprint" in rule.arguments:
            expected_states = {TRUST_STATE}
        elif "notification_id" in rule.arguments:
            expected_states = {NOTIFICATION_STATE}
        elif "token_id" in rule.arguments:
            expected_states = {TOKEN_STATE}
        elif "template" in rule.arguments:
            expected_states = {MODELE_PDF_STATE} if "travail_id" in rule.arguments else {MODELE_VERSION_STATE} if "number" in rule.arguments else {MODELE_STATE}
        elif key[0].startswith("archives.") and "travail_id" in rule.arguments:
            expected_states = {EXPORT_STATE}
        elif "travail_id" in rule.arguments:
            expected_states = {TRAVAIL_STATE, PREVIEW_WORK_STATE}
        else:
            expected_states = {"fiche_saisine", "fiche_incident", CANDIDATURE} if "kind_name" in rule.arguments else {None}
        # A state "…@avant_limite" is the same state before the deadline: each is tried after it too.
        assert {base_state(s) for s in by_state} == expected_states, key
        for by_actor in by_state.values():
            assert tuple(by_actor) == ACTOR_NAMES, key


@pytest.mark.parametrize(("endpoint", "method", "state", "actor", "outcome"), _cases())
def test_permission(world: World, endpoint: str, method: str, state: str | None, actor: str, outcome: str) -> None:
    web = world.client(actor)
    url = world.url(endpoint, state)
    before = world.pristine  # every test starts from it: the fixture put it back, and checked, after any change
    with world.at_time_of(state):
        _check_case(world, web, url, before, endpoint, method, state, actor, outcome)


def _check_case(world: World, web: WebClient, url: str, before: dict[str, Any], endpoint: str, method: str, state: str | None, actor: str, outcome: str) -> None:
    response = send(web, world, endpoint, method, state)
    body = response.get_data(as_text=True) if response.mimetype in ("text/html", "text/csv") else ""
    location = urlsplit(response.headers.get("Location", ""))
    doc_id = world.doc_of(state)
    measure = mesure_state(state)

    if outcome == OK:
        assert response.status_code == 200, body[:500]
    elif outcome == FORBIDDEN:
        assert response.status_code == 403 and "Accès refusé" in body
    elif outcome == NOT_FOUND:
        assert response.status_code == 404 and "Page introuvable" in body
    elif outcome == LINK_INVALID:
        assert response.status_code == 404 and "Ce lien de réinitialisation n'est pas valide" in html.unescape(body)
    elif outcome == UNPROCESSABLE:
        message = {"archives.deposit": "motif de la correction", "archives.record_visa": "pas atteint le terme", "auth.totp": "Code incorrect", "instruction.jury_page": "Département et des 3 EPCI",
                   "partage.share": "Aucun relais de courriel", "partage.page": "demandez un nouveau code", "mesures.record_order": "bon de commande", "mesures.referents": "votre organisation"}.get(endpoint, "renouvel")
        if endpoint == "messages.post":  # a correction asked by its own writer; a dossier's after its deadline (AML §6b)
            message = "aucune correction ne peut plus être demandée" if actor == "instructeur" else "Seul un destinataire du document soumis peut demander une correction"
        assert response.status_code == 422 and message in body, body[:500]  # the rule's French message
    elif outcome == ZIP:
        assert response.status_code == 200 and response.mimetype == "application/zip" and response.data.startswith(b"PK")
    elif outcome == TYPED:
        page = html.unescape(body)
        assert response.status_code == 409 and "le dossier ne peut plus être modifié" in page and "Rien n'a été enregistré" in page
        assert f'value="{EDITED_NAME}"' in page  # what was posted, shown again
    else:
        assert response.status_code == 302, (response.status_code, body[:500])
        if outcome == LOGIN:
            assert location.path == "/connexion"
            if actor == "anonymous":
                asked = urlsplit(url)  # the page asked, its query kept (the household search's q)
                assert parse_qs(location.query).get("next") == [asked.path + (f"?{asked.query}" if asked.query else "")]
        elif outcome == HOME:
            assert location.path == "/"
        elif outcome == VIEW:
            assert location.path == f"/documents/{doc_id}"
        elif outcome == EDIT:
            assert location.path.endswith("/modifier")
            if doc_id is not None:
                assert location.path == f"/documents/{doc_id}/modifier"
        elif outcome == APPEL:
            assert re.fullmatch(r"/admin/appels/\d+", location.path), location.path
            if state == APPEL_STATE:
                assert location.path == f"/admin/appels/{world.appel_id}"
        elif outcome == MESURE:
            assert re.fullmatch(r"/mesures/\d+", location.path), location.path
            if measure is not None:
                assert location.path == f"/mesures/{world.mesures[measure]}"
        elif outcome == LISTE:
            assert re.fullmatch(r"/documents/\d+/liste", location.path), location.path
            if doc_id is not None:
                assert location.path == f"/documents/{doc_id}/liste"
            elif endpoint == "candidatures.open_dossier" and actor == "redacteur_A":
                assert location.path == f"/documents/{world.docs['dossier_submitted']}/liste"  # its dossier for that call
        elif outcome == APPELS:
            assert location.path == "/appels"
        elif outcome == RECORD:
            assert re.fullmatch(r"/archives/\d+", location.path), location.path
        elif outcome == EXPORT:
            assert re.fullmatch(r"/archives/exports/\d+", location.path), location.path
        elif outcome == CONSERVATION:
            assert location.path == "/archives/conservation"
        elif outcome == RULES:
            assert location.path == "/admin/conservation"
        elif outcome == QUEUE:
            assert location.path == "/admin/travaux"
        elif outcome == SIGN_IN:
            assert location.path == "/connexion" and not location.query
        elif outcome == USERS:
            assert location.path == "/admin/utilisateurs"
        elif outcome == TRUST:
            assert location.path == "/admin/certificats"
        elif outcome == NOTIFICATIONS:
            assert location.path == "/notifications"
        elif outcome == PREFERENCES:
            assert location.path == "/notifications/preferences"
        elif outcome == PARTAGES:
            assert location.path == f"/documents/{world.docs['submitted_saisine']}/destinataires"
        elif outcome == PARTAGE_PAGE:
            assert location.path == f"/partage/{world.partage_id}/{world.partage_secret}"
        elif outcome == THREAD:
            assert doc_id is not None and location.path == f"/documents/{doc_id}/messages", location.path
        elif outcome == MODELE:
            assert location.path == f"/admin/modeles/{MODELE_TEMPLATE}"
        elif outcome == SYNTHESE:
            assert location.path == f"/appels/{world.appel_id}/synthese"
        elif outcome == EVALUATION:
            assert doc_id is not None and location.path == f"/documents/{doc_id}/evaluation", location.path
        elif outcome == GRILLE:
            assert location.path == f"/admin/appels/{world.appel_id}/grille"
        elif outcome == JETONS:
            assert location.path == "/compte/jetons"
        elif outcome == MODELE_PDF:
            assert re.fullmatch(rf"/admin/modeles/{re.escape(MODELE_TEMPLATE)}/apercus/\d+", location.path), location.path
        elif outcome == TERRITOIRE:
            assert location.path == f"/admin/territoires/{world.territoire_id}"
        elif outcome == TERRITOIRES:
            assert location.path == "/admin/territoires"
        elif outcome == UNASSIGNED:
            assert location.path == "/admin/territoires/mesures"
        elif outcome == DIPLOMAS:
            assert location.path == "/mesures/referents"
        elif outcome == QUEUE:
            assert location.path == "/admin/travaux"
        else:  # pragma: no cover - a typo in the matrix
            pytest.fail(f"unknown outcome {outcome!r}")

    # A refusal reveals nothing of any document or measure; an allowed read shows it.
    if outcome in (FORBIDDEN, NOT_FOUND, LOGIN):
        for name in (*ALL_HOUSEHOLDS, *DOSSIER_SECRETS):
            assert name not in body, name
    if measure is not None and outcome == OK and endpoint == "mesures.view":
        assert MESURE_HOUSEHOLD[measure] in body
        # The measure's documents follow the document rule: the draft only for its organisation.
        # Its writer opens the draft to its form (issue 16, point 7).
        assert (f'href="/documents/{world.docs["draft_from_mesure"]}/modifier"' in body) == (actor == "redacteur_A" and measure == "mesure_aml")
        # The change forms only for whoever may change the measure.
        assert (f'action="{world.url("mesures.add_meeting", measure)}"' in body) == (actor == "redacteur_A")
    if endpoint == "menages.search" and outcome == OK:
        assert (MESURE_HOUSEHOLD["mesure_aml"] in body) == ("mesure_aml" in MESURES_LISTED[actor]), actor
    if endpoint in ("mesures.index", "mesures.export") and outcome == OK:
        for m, name in MESURE_HOUSEHOLD.items():
            assert (name in body) == (m in MESURES_LISTED[actor]), (m, name)
    if state in STATES:
        kind = STATES[state][0]
        if outcome == OK and endpoint == "documents.view":
            assert HOUSEHOLD[kind] in body
        if outcome == OK and endpoint == "documents.download":
            assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
        if outcome == OK and endpoint == "documents.preview":  # rendered with the world: its link
            assert f'href="{world.url("documents.download", state)}?sortie=document"' in body
    dossier = base_state(state)
    if dossier in PIECE_STATES:
        dossier = PIECE_STATES[dossier][0]
    if dossier in DOSSIERS and outcome == OK:
        if endpoint in ("documents.view", "candidatures.checklist"):
            assert DOSSIER_NAME[dossier] in body
            other = next(d for d in DOSSIERS if d != dossier)
            assert DOSSIER_NAME[other] not in body and PIECE_NAME[other] not in body
        if endpoint == "documents.view":
            # The jury's way in is the grid, never the checklist (issue 12).
            assert (f'href="{world.url("candidatures.checklist", dossier)}"' in body) == (actor != "jury")
            assert (f'href="{world.url("jury.evaluation", dossier)}"' in body) == (actor == "jury")
        if endpoint == "documents.download":
            assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
        if endpoint == "jury.draft_convention":  # the draft, for this dossier's association (issue 12)
            assert response.mimetype == "application/pdf" and response.data.startswith(b"%PDF")
            assert DOSSIER_NAME[dossier] in squashed(pdf_text(response.data))
        if endpoint == "candidatures.checklist":
            # The draft convention of a notified dossier: offered to whoever may download it (issue 12).
            offered = f'href="{world.url("jury.draft_convention", dossier, fmt="pdf")}"' in body
            assert offered == (str(state).endswith(NOTIFIED) and actor in ("redacteur_A", "instructeur")), (state, actor)
            # Each piece links to its download; the change forms only for whoever may make the change.
            piece_url = world.url("candidatures.download_piece", f"{dossier}:piece")
            assert f'href="{piece_url}"' in body and PIECE_NAME[dossier] in body
            # After the deadline (the world's clock) nobody is offered to change a piece.
            assert f'action="{world.url("candidatures.upload", dossier)}"' not in body
            assert f'action="{world.url("candidatures.remove", f"{dossier}:piece")}"' not in body
            assert (f'action="{world.url("candidatures.nonconforme", f"{dossier}:piece")}"' in body) == (actor == "instructeur" and dossier == "dossier_submitted")
            assert f'action="{world.url("candidatures.reopen", dossier)}"' not in body  # after the deadline: nobody
            # The instruction's forms and the private annotations: the instructeur's only.
            instructs = actor == "instructeur" and dossier == "dossier_submitted"
            # Notified, the dossier has no move left (its letter was its last, AML §6d).
            assert (f'action="{world.url("instruction.move", dossier)}"' in body) == (instructs and not str(state).endswith(NOTIFIED))
            assert (f'action="{world.url("instruction.annotate", dossier)}"' in body) == instructs
            assert ("Annotations privées" in body) == instructs
            assert ("Instruction du dossier" in body) == (dossier == "dossier_submitted")
        if endpoint == "candidatures.download_piece":
            digest = world.pristine["pieces"][world.pieces[str(dossier)]][3]
            assert response.headers["X-Content-SHA256"] == digest and hashlib.sha256(response.data).hexdigest() == digest
            assert response.mimetype == "application/pdf" and PIECE_NAME[dossier] in response.headers["Content-Disposition"]

    # Signing in and out change the session, not the database. The home page also shows what a
    # redirect flashed.
    home = web.get("/")
    signed_in = home.status_code == 200
    expected_flash = FLASHES.get((endpoint, method, state, actor))
    if expected_flash is not None:
        assert expected_flash in home.get_data(as_text=True).replace("&#39;", "'")
    if endpoint == "auth.logout":
        assert not signed_in
    elif endpoint == "auth.login" and method == "POST":
        assert signed_in  # the anonymous visitor is now redacteur_A; the others stay who they were
    else:
        assert signed_in == (actor != "anonymous")

    after = world.settle()  # after the home page too: it changed nothing either
    effect = EFFECTS.get((endpoint, method, state, actor))
    if effect is not None:
        effect(world, before, after, state, actor, web, response)
        untouched = set(before["tables"]) - WRITES[effect]
        assert {t: after["tables"][t] for t in untouched} == {t: before["tables"][t] for t in untouched}
    else:
        assert after == before, "a request that is not an allowed change changed the database"


# The Word side of the letter and of the draft convention (issue 12): the matrix asks their PDF;
# each actor and each Artois twin gets the same answer for their DOCX (the twins see neither: 404).
WORD_CASES = (("documents.download", LETTER_STATE), ("jury.draft_convention", NOTIFIED_DOSSIER))
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.mark.parametrize("actor", [*ACTOR_NAMES, *ARTOIS_ACTORS])
@pytest.mark.parametrize(("endpoint", "state"), WORD_CASES)
def test_the_letter_and_the_draft_convention_in_word_follow_the_rule_of_their_pdf(world: World, endpoint: str, state: str, actor: str) -> None:
    expected = MATRIX[(endpoint, "GET")][state].get(actor, NOT_FOUND)
    web = world.client(actor)
    with world.presented(state):
        response = web.get(world.url(endpoint, state, fmt="docx"))
    if expected == OK:
        assert response.status_code == 200 and response.mimetype == DOCX
        text = squashed(docx_text(response.data))
        assert DOSSIER_NAME["dossier_submitted"] in text and "Lens-Hénin" in text  # its association, its measure
    elif expected == LOGIN:
        assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/connexion"
    else:
        assert response.status_code == {NOT_FOUND: 404, FORBIDDEN: 403}[expected]
        for name in DOSSIER_SECRETS:
            assert name not in response.get_data(as_text=True)
    assert world.settle() == world.pristine


# Expected visible documents in the list, per actor (the same rule as the document page).
LISTED = {
    "redacteur_A": {"draft_saisine", "submitted_saisine", "submitted_incident", "draft_from_mesure", "dossier_draft", "dossier_submitted", LETTER_STATE},
    "redacteur_B": set(),
    "coordinateur": {"submitted_saisine"},
    "instructeur": {"submitted_saisine", "submitted_incident", "dossier_submitted", LETTER_STATE},
    "archiviste": {"submitted_saisine", "submitted_incident", "dossier_submitted", LETTER_STATE},
    "admin": set(),
    "jury": set(),
}


@pytest.mark.parametrize("actor", list(LISTED))
def test_document_list_shows_exactly_the_documents_the_actor_may_see(world: World, actor: str) -> None:
    body = world.client(actor).get("/").get_data(as_text=True)
    listed = {int(n) for n in re.findall(r'href="/documents/(\d+)"', body)}
    assert listed == {world.docs[s] for s in LISTED[actor]}
    for kind in HOUSEHOLD:
        if not any(world.pristine["documents"][world.docs[s]][0] == kind for s in LISTED[actor]):
            assert HOUSEHOLD[kind] not in body, f"{kind} data shown to {actor}"
    for dossier, name in DOSSIER_NAME.items():
        assert (name in body) == (dossier in LISTED[actor]), f"{dossier} shown to {actor}"
    # The home page lists what is due on the referent's own measures, and nobody else's.
    if actor != "redacteur_A":
        for name in MESURE_HOUSEHOLD.values():
            assert name not in body, f"measure data shown to {actor}"


# Expected visible measures in the worklist and its CSV, per actor (the rule of the measure page).
# redacteur_A is the referent of all three, so "?toutes=1" (its organisation's) changes nothing.
MESURES_LISTED: dict[str, set[str]] = {
    "redacteur_A": set(MESURES),
    "redacteur_B": set(),
    "coordinateur": {"mesure_aml"},
    "instructeur": set(MESURES),
    "archiviste": set(),
    "admin": set(),
    "jury": set(),
}


@pytest.mark.parametrize("query", ["", "?toutes=1"])
@pytest.mark.parametrize("actor", list(MESURES_LISTED))
def test_mesure_list_shows_exactly_the_measures_the_actor_may_see(world: World, actor: str, query: str) -> None:
    web = world.client(actor)
    expected = {world.mesures[m] for m in MESURES_LISTED[actor]}
    page = web.get(f"/mesures/{query}")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert {int(n) for n in re.findall(r'href="/mesures/(\d+)"', body)} == expected
    export = web.get(f"/mesures/export.csv{query}")
    assert export.status_code == 200 and export.mimetype == "text/csv"
    text = export.get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff")), delimiter=";"))
    by_reference = {v[0]: k for k, v in world.pristine["mesures"].items()}
    assert rows[0][0] == "Référence" and {by_reference[r[0]] for r in rows[1:]} == expected and len(rows) == len(expected) + 1
    for m, name in MESURE_HOUSEHOLD.items():
        if m not in MESURES_LISTED[actor]:
            assert name not in body and name not in text, f"{m} shown to {actor}"
    for name in HOUSEHOLD.values():  # a worklist shows measures, never a document's household
        assert name not in body and name not in text
    assert world.settle() == world.pristine


# The calls' page: a writer sees its organisation's dossier for each call (a link to its
# checklist); the instructeur and the archiviste see how many dossiers were submitted, with a link
# to their list. A call's list shows its submitted dossiers only, never a draft.
DOSSIERS_LINKED: dict[str, set[str]] = {
    "redacteur_A": set(DOSSIERS),
    "redacteur_B": set(),
    "coordinateur": set(),
    "instructeur": set(),
    "archiviste": set(),
    "admin": set(),
    "jury": set(),
}


@pytest.mark.parametrize("actor", list(DOSSIERS_LINKED))
def test_calls_and_their_lists_show_exactly_the_dossiers_the_actor_may_see(world: World, actor: str) -> None:
    web = world.client(actor)
    page = web.get("/appels")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    linked = {int(n) for n in re.findall(r'href="/documents/(\d+)/liste"', body)}
    assert linked == {world.docs[d] for d in DOSSIERS_LINKED[actor]}
    lists = {int(n) for n in re.findall(r'href="/appels/(\d+)/dossiers"', body)}
    readers = actor in ("instructeur", "archiviste")
    assert lists == ({world.appel_id, world.draft_appel_id} if readers else set())
    if readers:  # one dossier submitted to the shipped call, none (a draft is not counted) to the other
        counts = {int(a): int(n) for a, n in re.findall(r'href="/appels/(\d+)/dossiers"[^>]*>[^<]*?(\d+)\s*<', body)}
        assert counts == {world.appel_id: 1, world.draft_appel_id: 0}
    for name in DOSSIER_SECRETS:  # the calls' page names no dossier
        assert name not in body
    for appel_id, listed in ((world.appel_id, {"dossier_submitted"}), (world.draft_appel_id, set())):
        response = web.get(f"/appels/{appel_id}/dossiers")
        assert response.status_code == (200 if readers else 403)
        text = response.get_data(as_text=True)
        if readers:
            assert {int(n) for n in re.findall(r'href="/documents/(\d+)/liste"', text)} == {world.docs[d] for d in listed}
            for dossier, name in DOSSIER_NAME.items():
                assert (name in text) == (dossier in listed), (appel_id, dossier)
        else:
            for name in DOSSIER_SECRETS:
                assert name not in text
    assert world.settle() == world.pristine


# --------------------------------------------------------------------------------------------
# CSRF: every POST route, by a user otherwise allowed, without a valid token
# --------------------------------------------------------------------------------------------

# POST endpoint -> (actor otherwise allowed, state); the same request succeeds in the matrix.
CSRF_CASES: dict[str, tuple[str, str | None]] = {
    "territoires.edit": ("admin", TERRITOIRE_STATE),
    "territoires.attachments": ("admin", TERRITOIRE_STATE),
    "territoires.recipients": ("admin", TERRITOIRE_STATE),
    "territoires.grant": ("admin", None),
    "territoires.revoke": ("admin", PORTEE_STATE),
    "territoires.assign_measure": ("admin", None),
    "travaux.retry": ("admin", TRAVAIL_STATE),
    "auth.login": ("anonymous", None),
    "auth.logout": ("redacteur_A", None),
    "documents.new": ("redacteur_A", "fiche_saisine"),
    "documents.edit": ("redacteur_A", "draft_saisine"),
    "documents.submit": ("redacteur_A", "draft_saisine"),
    "documents.review": ("coordinateur", "submitted_saisine"),
    "admin.organisations": ("admin", None),
    "admin.users": ("admin", None),
    "auth.change_password": ("redacteur_A", None),
    "admin.reset_password": ("admin", ACCOUNT_STATE),
    "admin.deactivate": ("admin", ACCOUNT_STATE),
    "admin.reactivate": ("admin", ACCOUNT_STATE),
    "admin.reset_totp": ("admin", ACCOUNT_STATE),
    "auth.totp": ("admin", None),
    "auth.second_factor": ("anonymous", None),
    "auth.forgot": ("anonymous", None),
    "auth.reset": ("anonymous", None),
    "mesures.new": ("redacteur_A", None),
    "mesures.add_meeting": ("redacteur_A", "mesure_asll"),
    "mesures.add_renewal": ("instructeur", "mesure_maintien"),
    "mesures.refuse_renewal": ("instructeur", "mesure_maintien"),
    "mesures.start_document": ("redacteur_A", "mesure_asll:fiche_incident"),
    "mesures.close": ("redacteur_A", "mesure_aml"),
    "mesures.record_order": ("redacteur_A", "mesure_asll"),
    "mesures.referents": ("redacteur_A", None),
    "mesures.start_annual": ("redacteur_B", None),
    "admin.appels": ("admin", None),
    "admin.appel": ("admin", APPEL_STATE),
    "candidatures.open_dossier": ("redacteur_B", APPEL_STATE + BEFORE),
    "candidatures.upload": ("redacteur_A", "dossier_draft" + BEFORE),  # multipart: the token is a form field like any other
    "candidatures.remove": ("redacteur_A", "dossier_draft:piece" + BEFORE),
    "candidatures.nonconforme": ("instructeur", "dossier_submitted:piece"),
    "candidatures.reopen": ("redacteur_A", "dossier_submitted" + BEFORE),
    "instruction.move": ("instructeur", "dossier_submitted"),
    "instruction.request_correction": ("instructeur", "dossier_submitted" + BEFORE),
    "instruction.annotate": ("instructeur", "dossier_submitted"),
    "instruction.jury_page": ("admin", APPEL_STATE),
    "instruction.grille_page": ("admin", APPEL_STATE),
    "jury.avis": ("instructeur", "dossier_submitted"),
    "jury.record_decision": ("instructeur", APPEL_STATE),
    "jury.send_letters": ("instructeur", APPEL_STATE),
    "archives.deposit": ("archiviste", "submitted_incident"),  # multipart
    "archives.export": ("archiviste", None),
    "archives.record_visa": ("archiviste", None),
    "archives.destroy": ("archiviste", VISA_STATE),
    "archives.rules": ("admin", None),
    "archives.trust": ("admin", None),  # multipart
    "archives.untrust": ("admin", TRUST_STATE),
    "notifications.mark_read": ("coordinateur", NOTIFICATION_STATE),
    "notifications.mark_all_read": ("instructeur", None),
    "notifications.preferences": ("redacteur_B", None),
    "messages.post": ("instructeur", "submitted_incident"),
    "partage.share": ("redacteur_A", "submitted_saisine"),
    "partage.revoke": ("redacteur_A", PARTAGE_STATE),
    "partage.page": ("anonymous", PARTAGE_STATE),
    "modeles.template": ("admin", MODELE_STATE),  # multipart
    "modeles.put_in_force": ("admin", MODELE_VERSION_STATE),
    "modeles.ask_pdf_preview": ("admin", MODELE_VERSION_STATE),
    "jetons.create": ("redacteur_B", None),
    "jetons.revoke": ("redacteur_A", TOKEN_STATE),
    # The jury actor scores the dossier once presented (issue 12).
    "jury.evaluation": ("jury", PRESENTED_DOSSIER),
}
# POST routes no actor of this matrix may use: their CSRF case is where their role is tried.
CSRF_ELSEWHERE: dict[str, str] = {}
CSRF_MESSAGE = "Ce formulaire n'est plus valable"


def test_the_csrf_cases_cover_every_post_route(world: World) -> None:
    """A POST route added to the app without a CSRF case fails here."""
    posts = {rule.endpoint for rule in world.app.url_map.iter_rules() if "POST" in (rule.methods or ()) and _page(rule.endpoint)}
    assert posts == set(CSRF_CASES) | set(CSRF_ELSEWHERE)
    for endpoint, (actor, state) in CSRF_CASES.items():
        # The same request WITH its token is allowed in the matrix: it does change something
        # (a document, an account) or, for sign-in and sign-out, the session; or a rule of the
        # service answers it with its message (the archive's retention, at the world's clock).
        outcome = MATRIX[(endpoint, "POST")][state][actor]
        assert outcome not in (FORBIDDEN, NOT_FOUND), (endpoint, actor, outcome)
        key = (endpoint, "POST", state, actor)
        assert key in EFFECTS or key in FLASHES or outcome == UNPROCESSABLE or endpoint.startswith("auth."), (endpoint, actor)


@pytest.mark.parametrize("token", ["absent", "other-session"])
@pytest.mark.parametrize("endpoint", list(CSRF_CASES))
def test_post_without_a_valid_csrf_token_is_refused_and_changes_nothing(world: World, endpoint: str, token: str) -> None:
    actor, state = CSRF_CASES[endpoint]
    web = world.client(actor)
    extra = {"csrf_token": world.client("anonymous").token} if token == "other-session" else {}  # valid, but for another session
    with world.at_time_of(state):  # the time at which the same request with its token succeeds
        response = send(web, world, endpoint, "POST", state, csrf=False, **extra)
    assert response.status_code == 400
    assert CSRF_MESSAGE in response.get_data(as_text=True).replace("&#39;", "'")
    # Nor did the session change: nobody was signed in or out.
    assert (web.get("/").status_code == 200) == (actor != "anonymous")
    assert world.settle() == world.pristine


# --------------------------------------------------------------------------------------------
# The territory dimension (issue 13): an Artois user × every route × this Lens-Hénin world
# --------------------------------------------------------------------------------------------

# What a twin may change of its own (its notifications read, its e-mail choice): nothing of the world.
OWN_CHANGES = {_marked_all_read, _chose_frequence}
# Public pages and one's own account: not about any territory.
UNSCOPED = ("auth.", "pages.", "jetons.")  # jetons: one's own API tokens


# The figures' exports (issue 13): the twin gets its own (empty) figures as a file, read as text.
FIGURES_EXPORTS = ("statistiques.report", "statistiques.spreadsheet")


def _exported_text(response: Any) -> str:
    """The text of a PDF report or of an XLSX workbook."""
    if response.mimetype == "application/pdf":
        return " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    book = load_workbook(io.BytesIO(response.data))
    return " ".join(str(c.value) for sheet in book.worksheets for r in sheet.iter_rows() for c in r if c.value is not None)


def _territory_cases() -> list[Any]:
    """Every case of the matrix where a scoped actor is let in, tried by its Artois twin instead."""
    cases = []
    for (endpoint, method), by_state in MATRIX.items():
        for state, by_actor in by_state.items():
            for twin, original in ARTOIS_ACTORS.items():
                if endpoint.startswith(UNSCOPED) or by_actor[original] in (LOGIN, FORBIDDEN, NOT_FOUND):
                    continue  # refused to the original already: the twin holds less
                case_id = "-".join(p for p in (endpoint, method, state, twin) if p)
                cases.append(pytest.param(endpoint, method, state, twin, id=case_id))
    return cases


def test_the_territory_cases_cover_every_read_and_write_of_the_scoped_roles() -> None:
    """The generated cases are not empty for any route a scoped actor reaches (a failing generator fails here)."""
    generated = {(c.values[0], c.values[1]) for c in _territory_cases()}
    reached = {key for key, by_state in MATRIX.items() if not key[0].startswith(UNSCOPED) for by_actor in by_state.values() if any(by_actor[o] not in (LOGIN, FORBIDDEN, NOT_FOUND) for o in ARTOIS_ACTORS.values())}
    assert generated == reached and ("documents.review", "POST") in generated and ("archives.download", "GET") in generated


@pytest.mark.parametrize(("endpoint", "method", "state", "twin"), _territory_cases())
def test_an_artois_user_reads_and_changes_nothing_of_lens_henin(world: World, endpoint: str, method: str, state: str | None, twin: str) -> None:
    """0 reads: a refusal, or a page naming no household nor dossier; 0 writes: the world unchanged."""
    web = world.client(twin)
    with world.at_time_of(state):
        response = send(web, world, endpoint, method, state)
    textual = response.mimetype in ("text/html", "text/csv", "application/json")
    figures = endpoint in FIGURES_EXPORTS and response.status_code == 200
    # A refusal (403, 404, a rule's 422 with its message), a redirect, a page or list of text, or the twin's own figures.
    assert response.status_code in (302, 403, 404, 422) or (response.status_code == 200 and textual) or figures, (response.status_code, response.mimetype)
    body = response.get_data(as_text=True) if textual else _exported_text(response) if figures else ""
    if endpoint.startswith("statistiques."):
        assert "Lens-Hénin" not in body  # the world's measures are Lens-Hénin's: none is counted for the twin
    for name in (*ALL_HOUSEHOLDS, *DOSSIER_SECRETS):
        assert name not in body, name
    if world.doc_of(state) is not None or mesure_state(state) is not None or state in (RECORD_STATE, TRAVAIL_STATE, PREVIEW_WORK_STATE, VISA_STATE):
        assert response.status_code in (403, 404), response.status_code  # a Lens-Hénin object: not even its page
    after = world.settle()
    own = EFFECTS.get((endpoint, method, state, ARTOIS_ACTORS[twin]))
    if own in OWN_CHANGES:
        untouched = set(world.pristine["tables"]) - WRITES[own]
        assert {t: after["tables"][t] for t in untouched} == {t: world.pristine["tables"][t] for t in untouched}
    else:
        assert after == world.pristine, "an Artois user changed the Lens-Hénin world"


def test_the_retention_page_shows_a_visa_only_to_an_archiviste_who_reads_its_documents(world: World) -> None:
    """The Lens-Hénin visa: on the page of the archiviste with the Pas-de-Calais grant, not on the Artois archiviste's (issue 13)."""
    for actor, shown in (("archiviste", True), ("archiviste_artois", False)):
        body = world.client(actor).get("/archives/conservation").get_data(as_text=True)
        assert ("n° 2025-001" in body) == shown, actor
        assert ("Directeur des Archives (matrice)" in body) == shown, actor
    assert world.settle() == world.pristine


# Whose Département nothing tells (issue 13, audit): organisation B works on no territory yet.
NO_TERRITORY_READERS = {
    "redacteur_B": True,  # its own organisation
    "instructeur": True,  # granted every Département: the object is one of them, whichever
    "archiviste": False,  # granted the Pas-de-Calais only: the object may be Haute-Savoie's
    "redacteur_A": False,
    "coordinateur": False,
    **{twin: False for twin in ARTOIS_ACTORS},  # attached to Artois only
}


def test_an_organisation_without_territory_is_read_only_by_a_grant_of_every_departement(world: World) -> None:
    """A territory's user, or one Département's grant, does not read what an organisation attached
    nowhere submitted (its Département is unknown): its page and the lists, 404 and absent."""

    def values(kind: str) -> dict[str, Any]:
        return json.loads(json.dumps(dict(get_kind(kind).example)))
    with world.app.app_context():
        s = db.session()
        author = world.accounts["redacteur_B"]
        submitted_at = dt.datetime(2019, 12, 1, tzinfo=dt.UTC)
        made = [
            Document(kind=kind, organisation_id=author.organisation_id, author_id=author.id, statut="soumis", data=values(kind), submitted_data=values(kind),
                     submitted_at=submitted_at, reference=f"SANS-TERRITOIRE-{n}")
            for n, kind in enumerate(("fiche_incident", "bilan_annuel_operateur"))
        ]
        s.add_all(made)
        s.commit()
        ids = [d.id for d in made]
    for actor, reads in NO_TERRITORY_READERS.items():
        web = world.client(actor)
        for doc_id in ids:
            assert web.get(f"/documents/{doc_id}").status_code == (200 if reads else 404), (actor, doc_id)
        listed = web.get("/").get_data(as_text=True)
        assert ("SANS-TERRITOIRE-0" in listed) == reads, actor
