"""The instruction of a deposited dossier: states and moves, correction requests, private annotations (AML §6b–§6d)."""

from __future__ import annotations

import datetime as dt
import html
import io
import re
import zipfile
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from tests.conftest import Clock, WebClient, user_of
from tests.test_candidatures import BEFORE_DEADLINE, _in_threads, appel_id_of, open_dossier, pdf_bytes, submit_complete, upload
from webforms import db
from webforms.candidatures import instruction
from webforms.errors import DocumentError
from webforms.models import (
    Annotation,
    Avis,
    CorrectionRequest,
    Document,
    Evaluation,
    Instruction,
    InstructionMove,
    Jury,
    JuryMember,
    Lettre,
    Piece,
)

# The deadline is 6 September 2019 16:00 Paris (14:00 UTC): one minute either side of it.
JUST_BEFORE = dt.datetime(2019, 9, 6, 13, 59, tzinfo=dt.UTC)
AT_DEADLINE = dt.datetime(2019, 9, 6, 14, 0, tzinfo=dt.UTC)
DEPARTEMENT = "Département du Pas-de-Calais"


def deposited(app: Flask, login_as: Any, clock: Clock) -> tuple[WebClient, WebClient, int]:
    """An association's dossier deposited before the deadline, and an instructeur of the Département."""
    clock.now = BEFORE_DEADLINE
    association, _ = login_as("redacteur")
    doc_id = open_dossier(app, association)
    submit_complete(app, association, doc_id)
    instructeur, _ = login_as("instructeur", org=DEPARTEMENT)
    return association, instructeur, doc_id


def text_of(body: str) -> str:
    """A page's text as read: tags removed, spaces collapsed, entities decoded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split()).replace(" :", " :")


def page(web: WebClient, doc_id: int) -> str:
    return text_of(web.get(f"/documents/{doc_id}/liste").get_data(as_text=True))


def shown(web: WebClient) -> str:
    """The message the last redirect left (flashed), read on the home page."""
    return text_of(web.get("/").get_data(as_text=True))


def instruction_rows(app: Flask, doc_id: int) -> tuple[Any, list[tuple[str, str, str]]]:
    with app.app_context():
        s = db.session()
        row = s.get(Instruction, doc_id)
        moves = [(m.action, m.depuis, m.vers) for m in s.scalars(select(InstructionMove).where(InstructionMove.document_id == doc_id).order_by(InstructionMove.id))]
        return (row.etat if row else None), moves


def test_a_dossier_moves_from_deposited_to_recevable_after_the_deadline_aml_6b(app: Flask, login_as: Any, clock: Clock) -> None:
    association, instructeur, doc_id = deposited(app, login_as, clock)
    assert "État : Déposé" in page(association, doc_id)
    assert "Commencer l'instruction" in page(instructeur, doc_id) and "Commencer l'instruction" not in page(association, doc_id)
    # A wrong move: recevable from "déposé"; a French message, nothing changes.
    assert instructeur.post(f"/documents/{doc_id}/instruction", {"action": "recevable"}).status_code == 302
    assert "n'est possible que pour un dossier « en instruction » ; ce dossier est « déposé »" in shown(instructeur)
    assert instruction_rows(app, doc_id) == (None, [])
    assert instructeur.post(f"/documents/{doc_id}/instruction", {"action": "instruire"}).status_code == 302
    assert "Le dossier est maintenant « en instruction »" in shown(instructeur)
    text = page(association, doc_id)
    assert "État : En instruction" in text and "Le Département examine votre dossier" in text
    # Recevable only once the deadline has passed (§6b: until then the dossier may be corrected).
    clock.now = JUST_BEFORE
    instructeur.post(f"/documents/{doc_id}/instruction", {"action": "recevable"})
    assert "La recevabilité se prononce après la date limite de dépôt (6 septembre 2019 à 16:00)" in shown(instructeur)
    assert instruction_rows(app, doc_id) == ("en_instruction", [("instruire", "depose", "en_instruction")])
    # Irrecevable too, with its reason given: not before the deadline (§6b).
    instructeur.post(f"/documents/{doc_id}/instruction", {"action": "irrecevable", "motif": "incomplet"})
    assert "La recevabilité se prononce après la date limite de dépôt (6 septembre 2019 à 16:00)" in shown(instructeur)
    assert instruction_rows(app, doc_id) == ("en_instruction", [("instruire", "depose", "en_instruction")])
    clock.now = AT_DEADLINE
    instructeur.post(f"/documents/{doc_id}/instruction", {"action": "recevable"})
    assert instruction_rows(app, doc_id) == ("recevable", [("instruire", "depose", "en_instruction"), ("recevable", "en_instruction", "recevable")])
    listing = text_of(instructeur.get(f"/appels/{appel_id_of(app)}/dossiers").get_data(as_text=True))
    assert "CA-2019-000001 Association Habitat Solidaire Soumis Recevable" in listing
    text = page(association, doc_id)
    assert "État : Recevable" in text and "il sera présenté au jury de sélection" in text and "Ensuite : Le jury" in text
    # Who and when: each move is logged with its author and its time.
    with app.app_context():
        last = db.session().scalars(select(InstructionMove).order_by(InstructionMove.id.desc())).first()
        assert (last.user.role, last.at) == ("instructeur", AT_DEADLINE)
    assert "Historique de l'instruction" in page(instructeur, doc_id) and "Historique de l'instruction" in page(association, doc_id)
    # Recevable, it is offered to the jury's examination (refused until the jury's avis, tests/test_jury_work.py).
    assert "Enregistrer l'examen par le jury" in page(instructeur, doc_id) and "Enregistrer l'examen par le jury" not in page(association, doc_id)


def test_notified_only_through_its_letter_aml_6d(app: Flask, login_as: Any, clock: Clock) -> None:
    """"notifier" posted by hand on an irrecevable dossier before any decision: refused, nothing changed (its letter would never be sent)."""
    _, instructeur, doc_id = deposited(app, login_as, clock)
    instructeur.post(f"/documents/{doc_id}/instruction", {"action": "instruire"})
    clock.now = AT_DEADLINE
    instructeur.post(f"/documents/{doc_id}/instruction", {"action": "irrecevable", "motif": "non_eligible"})
    before = instruction_rows(app, doc_id)
    assert before[0] == "irrecevable"
    assert instructeur.post(f"/documents/{doc_id}/instruction", {"action": "notifier"}).status_code == 302
    assert "Un dossier est notifié par sa lettre de notification" in shown(instructeur)
    assert instruction_rows(app, doc_id) == before
    with app.app_context():
        assert db.session().scalars(select(Lettre)).all() == []
        assert db.session().scalars(select(Document).where(Document.kind == "notification_aml")).all() == []


def history_of(web: WebClient, doc_id: int) -> list[str]:
    """The lines of the dossier's instruction history, as its page shows them."""
    body = web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    found = re.search(r'<ol class="historique">(.*?)</ol>', body, re.S)
    return [text_of(li) for li in re.findall(r"<li>(.*?)</li>", found.group(1), re.S)] if found else []


def test_each_move_shows_who_made_it_and_when_to_the_instructeur_and_to_the_association(app: Flask, login_as: Any, clock: Clock) -> None:
    """"Every move says who and when" (issue 12): the history, on the dossier's page, for both."""
    association, _, doc_id = deposited(app, login_as, clock)
    (instructeur, first_account), (second, second_account) = login_as("instructeur", org=DEPARTEMENT), login_as("instructeur", org=DEPARTEMENT)
    names = [user_of(app, a).full_name for a in (first_account, second_account)]
    assert names[0] != names[1]
    # Deposited, no move yet: no history for anyone.
    assert history_of(instructeur, doc_id) == [] == history_of(association, doc_id)
    assert "Historique de l'instruction" not in page(association, doc_id)
    clock.now = dt.datetime(2019, 9, 6, 8, 30, tzinfo=dt.UTC)  # 10:30 in Paris
    instructeur.post(f"/documents/{doc_id}/instruction", {"action": "instruire"})
    clock.now = dt.datetime(2019, 9, 9, 7, 15, tzinfo=dt.UTC)  # 9 September 09:15 in Paris, after the deadline
    second.post(f"/documents/{doc_id}/instruction", {"action": "irrecevable", "motif": "non_eligible", "texte": "Aucune mesure AML au titre du FSL."})
    expected = [
        f"6 septembre 2019 à 10:30, {names[0]} : Déposé → En instruction",
        f"9 septembre 2019 à 09:15, {names[1]} : En instruction → Irrecevable (Organisme non éligible (AML §6a)) – Aucune mesure AML au titre du FSL.",
    ]
    for web in (instructeur, second, association):
        assert history_of(web, doc_id) == expected
    # A refused move writes no line, for either.
    second.post(f"/documents/{doc_id}/instruction", {"action": "recevable"})
    assert history_of(association, doc_id) == expected == history_of(instructeur, doc_id)


def test_only_the_instructeur_moves_a_dossier(app: Flask, login_as: Any, clock: Clock) -> None:
    association, _, doc_id = deposited(app, login_as, clock)
    archiviste, _ = login_as("archiviste", org="Archives départementales")
    for web in (association, archiviste):
        assert web.post(f"/documents/{doc_id}/instruction", {"action": "instruire"}).status_code == 403
    assert instruction_rows(app, doc_id) == (None, [])


@pytest.mark.parametrize(
    ("motif", "texte", "message"),
    [
        ("", "", "Choisissez le motif de l'irrecevabilité"),
        ("inconnu", "", "Choisissez le motif de l'irrecevabilité"),
        ("autre", "  ", "Précisez le motif de l'irrecevabilité"),
        ("autre", "x" * 2001, "2 000 caractères"),
    ],
)
def test_irrecevable_needs_its_reason(app: Flask, login_as: Any, clock: Clock, motif: str, texte: str, message: str) -> None:
    _, instructeur, doc_id = deposited(app, login_as, clock)
    instructeur.post(f"/documents/{doc_id}/instruction", {"action": "instruire"})
    clock.now = AT_DEADLINE
    instructeur.post(f"/documents/{doc_id}/instruction", {"action": "irrecevable", "motif": motif, "texte": texte})
    assert message in shown(instructeur)
    assert instruction_rows(app, doc_id)[0] == "en_instruction"


def test_irrecevable_with_its_reason_is_read_by_the_association_aml_6a(app: Flask, login_as: Any, clock: Clock) -> None:
    association, instructeur, doc_id = deposited(app, login_as, clock)
    instructeur.post(f"/documents/{doc_id}/instruction", {"action": "instruire"})
    clock.now = AT_DEADLINE
    instructeur.post(f"/documents/{doc_id}/instruction", {"action": "irrecevable", "motif": "non_eligible", "texte": "Aucune mesure AML exercée au titre du FSL."})
    text = page(association, doc_id)
    assert "État : Irrecevable" in text and "Organisme non éligible (AML §6a)" in text and "Aucune mesure AML exercée" in text
    with app.app_context():
        (entry,) = db.session().scalars(select(InstructionMove).where(InstructionMove.action == "irrecevable"))
        assert (entry.motif, entry.texte) == ("non_eligible", "Aucune mesure AML exercée au titre du FSL.")


def test_a_dossier_with_a_non_compliant_piece_is_not_recevable_aml_6b(app: Flask, login_as: Any, clock: Clock) -> None:
    _, instructeur, doc_id = deposited(app, login_as, clock)
    with app.app_context():
        piece_id = db.session().scalar(select(Piece.id).where(Piece.document_id == doc_id, Piece.code == "deliberation"))
    instructeur.post(f"/documents/{doc_id}/pieces/{piece_id}/non-conforme", {"motif": "Délibération non signée"})
    instructeur.post(f"/documents/{doc_id}/instruction", {"action": "instruire"})
    clock.now = AT_DEADLINE
    instructeur.post(f"/documents/{doc_id}/instruction", {"action": "recevable"})
    assert "« Tout dossier incomplet sera rejeté » (AML §6b)" in shown(instructeur)
    assert instruction_rows(app, doc_id)[0] == "en_instruction"


def test_a_correction_request_on_a_piece_is_answered_by_its_new_deposit_aml_6b(app: Flask, login_as: Any, clock: Clock) -> None:
    association, instructeur, doc_id = deposited(app, login_as, clock)
    with app.app_context():
        piece_id = db.session().scalar(select(Piece.id).where(Piece.document_id == doc_id, Piece.code == "deliberation"))
    instructeur.post(f"/documents/{doc_id}/corrections", {"piece": str(piece_id), "texte": "La délibération n'est pas signée."})
    assert "Demande de correction envoyée" in shown(instructeur)
    text = page(association, doc_id)
    # On its dossier (the request) and its checklist (the piece non conforme, the next step).
    assert "Demandes de correction" in text and "La délibération n'est pas signée." in text and "en attente" in text
    assert "non conforme" in text and "Rouvrez le dossier pour le régulariser" in text
    # Answered by the correction: reopened, the piece deposited again, the dossier deposited again.
    association.post(f"/documents/{doc_id}/rouvrir")
    assert upload(association, doc_id, "deliberation", pdf_bytes(2), "deliberation-signee.pdf").status_code == 302
    association.post(f"/documents/{doc_id}/soumettre")
    with app.app_context():
        (request,) = db.session().scalars(select(CorrectionRequest))
        assert (request.piece_id, request.answered_at) == (piece_id, BEFORE_DEADLINE)
        assert db.session().get(Document, doc_id).statut == "soumis"
    assert "répondue par le dépôt" in page(association, doc_id)


def test_a_correction_request_on_the_dossier_is_shown_to_the_association(app: Flask, login_as: Any, clock: Clock) -> None:
    association, instructeur, doc_id = deposited(app, login_as, clock)
    instructeur.post(f"/documents/{doc_id}/corrections", {"piece": "", "texte": "   "})
    assert "Écrivez la correction demandée" in shown(instructeur)
    instructeur.post(f"/documents/{doc_id}/corrections", {"piece": "", "texte": "Précisez les horaires des référents."})
    text = page(association, doc_id)
    assert "– dossier : Précisez les horaires des référents." in text and "Pour y répondre : rouvrez le dossier" in text
    with app.app_context():
        assert [r.texte for r in db.session().scalars(select(CorrectionRequest))] == ["Précisez les horaires des référents."]


def test_no_correction_request_after_the_deadline_aml_6b(app: Flask, login_as: Any, clock: Clock) -> None:
    _, instructeur, doc_id = deposited(app, login_as, clock)
    with app.app_context():
        piece_id = db.session().scalar(select(Piece.id).where(Piece.document_id == doc_id, Piece.code == "deliberation"))
    clock.now = JUST_BEFORE
    instructeur.post(f"/documents/{doc_id}/corrections", {"texte": "Avant la limite."})
    clock.now = AT_DEADLINE
    for piece in ("", str(piece_id)):
        instructeur.post(f"/documents/{doc_id}/corrections", {"piece": piece, "texte": "Trop tard."})
        assert "« la régularisation est possible jusqu'à la date limite de dépôt des projets » (AML §6b)" in shown(instructeur)
    with app.app_context():
        s = db.session()
        assert [r.texte for r in s.scalars(select(CorrectionRequest))] == ["Avant la limite."]
        assert s.get(Piece, piece_id).nonconforme_motif is None  # nothing marked either
    assert "Envoyer la demande" not in page(instructeur, doc_id)


def test_a_piece_of_another_dossier_is_not_found(app: Flask, login_as: Any, clock: Clock) -> None:
    _, instructeur, doc_id = deposited(app, login_as, clock)
    assert instructeur.post(f"/documents/{doc_id}/corrections", {"piece": "999999", "texte": "x"}).status_code == 404


MARK = "ANNOTATION-PRIVEE-7f3a"


def reachable(web: WebClient, start: list[str]) -> dict[str, Any]:
    """Every page and download of the site ``web`` reaches by following links from ``start``."""
    seen: dict[str, Any] = {}
    todo = list(start)
    while todo:
        url = todo.pop()
        if url in seen:
            continue
        response = web.get(url)
        seen[url] = response
        if response.status_code in (301, 302, 303) and urlsplit(response.location).path not in ("/connexion",):
            todo.append(urlsplit(urljoin(url, response.location)).path)
        if response.mimetype == "text/html":
            for href in re.findall(r'href="([^"#]+)"', response.get_data(as_text=True)):
                path = urlsplit(html.unescape(href))
                if not path.netloc and path.path.startswith("/") and not path.path.startswith("/static/"):
                    todo.append(path.path + (f"?{path.query}" if path.query else ""))
    return seen


def readable_text(data: bytes) -> str:
    """What a file says, whatever it is: a PDF's text, each member of a ZIP or DOCX (compressed), or the bytes."""
    if data.startswith(b"%PDF"):
        return "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages)
    if data.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            return "\n".join(readable_text(archive.read(name)) for name in archive.namelist())
    return data.decode("utf-8", errors="replace")


def test_private_annotations_never_reach_the_association(app: Flask, login_as: Any, clock: Clock) -> None:
    association, instructeur, doc_id = deposited(app, login_as, clock)
    instructeur.post(f"/documents/{doc_id}/annotations", {"texte": ""})
    assert "L'annotation est vide." in shown(instructeur)
    instructeur.post(f"/documents/{doc_id}/annotations", {"texte": f"{MARK} : à vérifier au jury"})
    assert MARK in page(instructeur, doc_id)
    instructeur.post(f"/documents/{doc_id}/corrections", {"texte": "Précisez les formations."})
    instructeur.post(f"/documents/{doc_id}/instruction", {"action": "instruire"})
    with app.app_context():
        assert [a.texte for a in db.session().scalars(select(Annotation))] == [f"{MARK} : à vérifier au jury"]
    # Every page and download the association reaches: pages, versions, pieces, complete dossier.
    seen = reachable(association, ["/", "/appels", f"/documents/{doc_id}", f"/documents/{doc_id}/liste"])
    downloads = [u for u, r in seen.items() if r.mimetype != "text/html" and r.status_code == 200]
    assert len(downloads) >= 4, sorted(seen)  # the walk did reach the files (PDF, DOCX, ZIP, pieces)
    assert any(r.mimetype == "application/zip" for r in seen.values())
    for url, response in seen.items():
        readable = readable_text(response.data)
        assert MARK not in readable and "Annotations privées" not in readable, url
    # The same walk does find it where it belongs: the instructeur's dossier page.
    assert any(MARK in readable_text(r.data) for r in reachable(instructeur, [f"/documents/{doc_id}/liste"]).values())
    # Nor the archiviste, who reads the dossier too: annotations are the instructeurs'.
    archiviste, _ = login_as("archiviste", org="Archives départementales")
    assert MARK not in page(archiviste, doc_id)
    assert archiviste.post(f"/documents/{doc_id}/annotations", {"texte": "x"}).status_code == 403


def test_the_whole_state_table_through_the_service_with_its_hook(app: Flask, login_as: Any, clock: Clock) -> None:
    """The moves past recevable (the jury's increment offers them): their guards and their log, one hook per move."""
    _, instructeur_web, doc_id = deposited(app, login_as, clock)
    seen: list[tuple[int, str, str]] = []
    instruction.register_state_hook(lambda session, doc, entry: seen.append((doc.id, entry.depuis, entry.vers)))
    try:
        with app.app_context():
            s = db.session()
            svc = app.extensions["webforms.services"]
            doc = s.get(Document, doc_id)
            user = s.merge(user_of(app, login_as("instructeur", org=DEPARTEMENT)[1]))
            clock.now = AT_DEADLINE
            instruction.move(s, svc, doc, user=user, action="instruire")
            instruction.move(s, svc, doc, user=user, action="recevable")
            with pytest.raises(DocumentError, match="n'est possible que pour un dossier « examiné par le jury »"):
                instruction.move(s, svc, doc, user=user, action="retenir", mesures={"Artois": 1})
            # The jury's avis and its one member's signed evaluation (tests/test_jury_work.py goes through the pages).
            s.add(Jury(appel_id=doc.appel_id, date=dt.date(2019, 9, 25)))
            s.flush()
            s.add_all([JuryMember(appel_id=doc.appel_id, user_id=user.id, organisme="departement"),
                       Avis(document_id=doc_id, avis="favorable", texte="Projet complet", user_id=user.id, at=AT_DEADLINE),
                       Evaluation(document_id=doc_id, user_id=user.id, notes={}, commentaires={}, updated_at=AT_DEADLINE, signed_at=AT_DEADLINE)])
            s.commit()
            instruction.move(s, svc, doc, user=user, action="examiner")
            # The example requests 4 Artois and 6 Lens-Hénin measures: granted within both.
            for mesures, message in (({"Artois": 5}, "entre 0 et 4 mesures"), ({"Calais": 1}, "n'est pas un territoire"), ({"Artois": 0}, "au moins une mesure")):
                with pytest.raises(DocumentError, match=message):
                    instruction.move(s, svc, doc, user=user, action="retenir", mesures=mesures)
            with pytest.raises(DocumentError, match="Indiquez les raisons"):
                instruction.move(s, svc, doc, user=user, action="ne_pas_retenir")
            instruction.move(s, svc, doc, user=user, action="retenir", mesures={"Artois": 4, "Lens-Hénin": "6"})
            # Notified only once its letter exists (decision.send_letters links it first, AML §6d).
            with pytest.raises(DocumentError, match="notifié par sa lettre de notification"):
                instruction.move(s, svc, doc, user=user, action="notifier")
            assert s.get(Instruction, doc_id).etat == "retenu"
            letter = Document(kind="notification_aml", organisation_id=doc.organisation_id, author_id=user.id, data={})
            s.add(letter)
            s.flush()
            s.add(Lettre(dossier_id=doc_id, lettre_id=letter.id))
            s.commit()
            instruction.move(s, svc, doc, user=user, action="notifier")
            with pytest.raises(DocumentError, match="n'existe pas"):
                instruction.move(s, svc, doc, user=user, action="effacer")
            row = s.get(Instruction, doc_id)
            assert (row.etat, row.mesures) == ("notifie", {"Artois": 4, "Lens-Hénin": 6})
    finally:
        instruction._STATE_HOOKS.clear()
    assert seen == [(doc_id, "depose", "en_instruction"), (doc_id, "en_instruction", "recevable"), (doc_id, "recevable", "examine"), (doc_id, "examine", "retenu"), (doc_id, "retenu", "notifie")]
    assert [m[0] for m in instruction_rows(app, doc_id)[1]] == ["instruire", "recevable", "examiner", "retenir", "notifier"]
    assert "État : Notifié" in page(instructeur_web, doc_id)


def test_every_state_is_reached_by_a_move_and_every_move_leads_to_a_state() -> None:
    targets = {m.target for m in instruction.MOVES.values()}
    sources = set().union(*(m.sources for m in instruction.MOVES.values()))
    assert targets | {"depose"} == set(instruction.ETATS) and sources <= set(instruction.ETATS)
    # The notification goes through the letters, not a button.
    assert {n for n, m in instruction.MOVES.items() if not m.offered} == {"notifier"}


def test_two_instructeurs_moving_at_once_make_one_move(app: Flask, login_as: Any, clock: Clock) -> None:
    """Two clicks at once (two instructeurs, two tabs): the dossier's row is locked, the second is refused."""
    _, first, doc_id = deposited(app, login_as, clock)
    second, _ = login_as("instructeur", org=DEPARTEMENT)
    responses = _in_threads(
        lambda: first.post(f"/documents/{doc_id}/instruction", {"action": "instruire"}),
        lambda: second.post(f"/documents/{doc_id}/instruction", {"action": "instruire"}),
    )
    assert [r.status_code for r in responses] == [302, 302]
    assert instruction_rows(app, doc_id) == ("en_instruction", [("instruire", "depose", "en_instruction")])
    messages = shown(first) + shown(second)
    assert "Le dossier est maintenant « en instruction »" in messages and "ce dossier est « en instruction »" in messages
