"""The jury's work on the recevable dossiers: scoring (AML §6c), summary and ranking, avis (§6d), allocation (§5)."""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from tests.conftest import Clock, WebClient, user_of
from tests.test_candidatures import BEFORE_DEADLINE, example, fill_steps, open_dossier, pdf_bytes, upload
from tests.test_catalogue import pdf_text
from tests.test_instruction import AT_DEADLINE, DEPARTEMENT, instruction_rows, shown, text_of
from tests.test_jury import members_form
from webforms import db
from webforms.candidatures import notation
from webforms.candidatures.jury import ORGANISMES, jury_of
from webforms.errors import DocumentError
from webforms.models import Appel, Avis, Decision, Document, Evaluation, Instruction, Message, User
from webforms.web import services_of

GRID = {  # criterion code -> number of sub-criteria (the 2019 grid, AML §6c)
    "projet_territoire": 2, "fonctionnement": 4, "partenariat": 3, "moyens": 3, "faisabilite_financiere": 1, "qualite_globale": 1,
}


def requesting(artois: int, lens: int) -> dict[str, Any]:
    """The example dossier, requesting these measures, its budget following (5 000 € per measure, AML §5)."""
    data = example()
    total = (artois + lens) * 5000
    data["mesures"] = [{"territoire": "Artois", "nombre": artois}, {"territoire": "Lens-Hénin", "nombre": lens}]
    data["budget"]["charges"][0]["montant"] = f"{total - 7000}.00"
    data["budget"]["produits"][0]["montant"] = f"{total}.00"
    data["budget"]["subvention_ddcs"] = f"{total}.00"
    return data


def deposit(app: Flask, web: WebClient, data: dict[str, Any]) -> int:
    doc_id = open_dossier(app, web)
    fill_steps(web, doc_id, data)
    for code in ("courrier", "deliberation", "fiches_poste"):
        assert upload(web, doc_id, code, pdf_bytes(), f"{code}.pdf").status_code == 302
    assert "Le dossier est complet" in web.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
    assert web.post(f"/documents/{doc_id}/soumettre").status_code == 302
    return doc_id


@pytest.fixture
def jury(app: Flask, login_as: Any, make_user: Any, clock: Clock) -> dict[str, Any]:
    """Two dossiers of the 2019 call declared recevable (A: 20 Artois + 20 Lens-Hénin, B: 10 + 16), its jury of four."""
    clock.now = BEFORE_DEADLINE
    docs = {}
    for name, artois, lens in (("A", 20, 20), ("B", 10, 16)):
        web, _ = login_as("redacteur", org=f"Association {name}")
        docs[name] = deposit(app, web, requesting(artois, lens))
    instructeur, _ = login_as("instructeur", org=DEPARTEMENT)
    for doc_id in docs.values():
        instructeur.post(f"/documents/{doc_id}/instruction", {"action": "instruire"})
    clock.now = AT_DEADLINE
    for doc_id in docs.values():
        instructeur.post(f"/documents/{doc_id}/instruction", {"action": "recevable"})
        assert "maintenant « recevable »" in shown(instructeur)
    admin, _ = login_as("admin", org="Administration")
    seated = [make_user("jury", org=org) for org in (DEPARTEMENT, "CALL", "CAHC", "CABBALR")]
    with app.app_context():
        appel_id = db.session().get(Document, docs["A"]).appel_id
    assert admin.post(f"/admin/appels/{appel_id}/jury", members_form(seated)).status_code == 302
    members = []
    for account in seated[:2]:
        web = WebClient(app.test_client())
        web.login(account)
        members.append(web)
    return {"docs": docs, "instructeur": instructeur, "members": members, "accounts": seated, "appel": appel_id}


def scores(value: int | str, comment: str = "", *, commented: bool = True) -> dict[str, str]:
    """Every sub-criterion scored ``value``, with ``comment`` on the first one and, ``commented``, a comment on each other (signing needs them)."""
    form = {f"note-{code}-{n}": str(value) for code, count in GRID.items() for n in range(1, count + 1)}
    if commented:
        form |= {f"commentaire-{code}-{n}": f"Justification {code} {n}" for code, count in GRID.items() for n in range(1, count + 1)}
    return {**form, "commentaire-projet_territoire-1": comment or form.get("commentaire-projet_territoire-1", "")}


def evaluation_rows(app: Flask, doc_id: int) -> list[tuple[int, Any, bool]]:
    with app.app_context():
        rows = db.session().scalars(select(Evaluation).where(Evaluation.document_id == doc_id).order_by(Evaluation.user_id))
        return [(e.user_id, e.notes, e.signed_at is not None) for e in rows]


def test_a_member_scores_each_sub_criterion_on_the_scale_a_draft_until_signed_aml_6c(app: Flask, jury: dict[str, Any]) -> None:
    member, doc_id = jury["members"][0], jury["docs"]["A"]
    url = f"/documents/{doc_id}/evaluation"
    page = text_of(member.get(url).get_data(as_text=True))
    assert "Identification des besoins" in page and "Disponibilité des référents" in page and "de 0 à 5" in page
    # A draft may leave sub-criteria unscored.
    assert member.post(url, {"note-projet_territoire-1": "3", "action": "enregistrer"}).status_code == 302
    draft = evaluation_rows(app, doc_id)
    assert len(draft) == 1 and draft[0][1]["projet_territoire"] == [3, None] and draft[0][2] is False
    # Outside the scale (either side), or not a whole number: a French message, nothing changed.
    for bad in ("6", "-1", "2,5", "trois"):
        refused = member.post(url, {**scores(4), "note-moyens-2": bad, "action": "enregistrer"})
        assert refused.status_code == 422 and "la note est un nombre entier de 0 à 5" in text_of(refused.get_data(as_text=True)), bad
        assert "« Les moyens », sous-critère 2" in text_of(refused.get_data(as_text=True))
        assert evaluation_rows(app, doc_id) == draft
    # The scale's edges are scores.
    assert member.post(url, {**scores(5), "note-moyens-2": "0", "action": "enregistrer"}).status_code == 302
    assert evaluation_rows(app, doc_id)[0][1]["moyens"] == [5, 0, 5]
    # Signing needs every sub-criterion scored.
    refused = member.post(url, {**scores(4), "note-qualite_globale-1": "", "action": "signer"})
    assert refused.status_code == 422 and "Notez chaque sous-critère avant de signer" in text_of(refused.get_data(as_text=True))
    assert evaluation_rows(app, doc_id)[0][2] is False
    assert member.post(url, {**scores(4, "Besoins bien identifiés"), "action": "signer"}).status_code == 302
    assert evaluation_rows(app, doc_id)[0][2] is True
    assert "Évaluation signée le" in text_of(member.get(url).get_data(as_text=True))
    # Signed: it no longer changes.
    again = member.post(url, {**scores(1), "action": "enregistrer"})
    assert again.status_code == 422 and "Votre évaluation de ce dossier est signée" in text_of(again.get_data(as_text=True))
    assert evaluation_rows(app, doc_id)[0][1]["moyens"] == [4, 4, 4]


def test_signing_needs_a_comment_on_each_score_a_draft_does_not_aml_6c(app: Flask, jury: dict[str, Any]) -> None:
    """"Each member scores each sub-criterion with a comment" (issue 12, AML §6c): a draft may leave comments empty, signing may not."""
    member, doc_id = jury["members"][0], jury["docs"]["A"]
    url = f"/documents/{doc_id}/evaluation"
    assert "pour la signer, chaque sous-critère doit être noté et sa note commentée" in text_of(member.get(url).get_data(as_text=True))
    # A draft: every score, no comment at all, is saved.
    assert member.post(url, {**scores(3, commented=False), "action": "enregistrer"}).status_code == 302
    draft = evaluation_rows(app, doc_id)
    assert len(draft) == 1 and draft[0][2] is False
    # Signing without comments: refused, each sub-criterion without one named, nothing changed.
    refused = member.post(url, {**scores(3, commented=False), "commentaire-moyens-1": "Équipe complète", "action": "signer"})
    text = text_of(refused.get_data(as_text=True))
    assert refused.status_code == 422 and "Commentez chaque note avant de signer votre évaluation ; sans commentaire :" in text
    assert "« Le projet de territoire », sous-critère 1 (Identification des besoins" in text and "« Qualité globale du projet », sous-critère 1" in text
    assert "« Les moyens », sous-critère 1" not in text and "« Les moyens », sous-critère 2" in text  # the one commented is not named
    assert evaluation_rows(app, doc_id) == draft
    # One comment missing (or only spaces) is enough to refuse, and it alone is named.
    for blank in ("", "   "):
        refused = member.post(url, {**scores(3), "commentaire-partenariat-3": blank, "action": "signer"})
        text = text_of(refused.get_data(as_text=True))
        assert refused.status_code == 422
        assert text[text.index("sans commentaire") :].startswith("sans commentaire : « Le partenariat », sous-critère 3 (Implication des partenaires au projet).")
        assert evaluation_rows(app, doc_id) == draft
    # What was typed is shown again, not lost.
    assert "Justification moyens 2" in refused.get_data(as_text=True)
    # Every score commented: signed.
    assert member.post(url, {**scores(3), "action": "signer"}).status_code == 302
    assert evaluation_rows(app, doc_id)[0][2] is True
    # The service says it too, whatever the page.
    with app.app_context():
        s = db.session()
        with pytest.raises(DocumentError, match="sans commentaire : « Le projet de territoire », sous-critère 1"):
            notation.score(s, services_of(app).documents, s.get_one(Document, jury["docs"]["B"]), user=user_of(app, jury["accounts"][1]),
                           notes={code: ["2"] * count for code, count in GRID.items()}, commentaires={}, sign=True)


def test_only_a_member_of_the_calls_jury_scores_its_recevable_dossiers_aml_6d(app: Flask, login_as: Any, make_user: Any, jury: dict[str, Any]) -> None:
    doc_id = jury["docs"]["A"]
    url = f"/documents/{doc_id}/evaluation"
    outsider, outsider_account = login_as("jury", org="CALL")  # a jury member, not on this call's jury
    assert outsider.get(url).status_code == 404 and outsider.post(url, scores(3)).status_code == 404
    for role in ("instructeur", "redacteur"):
        web, _ = login_as(role, org=DEPARTEMENT if role == "instructeur" else "Association A")
        assert web.get(url).status_code == 403 and web.post(url, scores(3)).status_code == 403
    assert evaluation_rows(app, doc_id) == []
    # The service says it in French, whatever the page.
    with app.app_context():
        s = db.session()
        with pytest.raises(DocumentError, match="Vous ne siégez pas au jury de cet appel"):
            notation.score(s, services_of(app).documents, s.get(Document, doc_id), user=user_of(app, outsider_account), notes={}, commentaires={})
    assert evaluation_rows(app, doc_id) == []


def test_the_summary_gives_means_spreads_totals_comments_and_the_ranking_per_territory(app: Flask, login_as: Any, jury: dict[str, Any]) -> None:
    (first, second), docs = jury["members"], jury["docs"]
    # The weight per criterion is the call's (AML §6c gives none): "projet de territoire" weighs 2, the five others 1.
    with app.app_context():
        s = db.session()
        appel = s.get_one(Appel, jury["appel"])
        grille = appel.data["grille"]
        appel.data = {**appel.data, "grille": {**grille, "criteres": [{**c, "poids": 2 if c["code"] == "projet_territoire" else c["poids"]} for c in grille["criteres"]]}}
        s.commit()
    first.post(f"/documents/{docs['A']}/evaluation", {**scores(4, "Projet solide"), "action": "signer"})
    second.post(f"/documents/{docs['A']}/evaluation", {**scores(2, "Partenariats flous"), "action": "signer"})
    first.post(f"/documents/{docs['B']}/evaluation", {**scores(5), "action": "signer"})
    second.post(f"/documents/{docs['B']}/evaluation", {**scores(1, "BROUILLON-NON-COMPTE"), "action": "enregistrer"})  # a draft: not counted
    for web in (jury["instructeur"], first):
        page = text_of(web.get(f"/appels/{jury['appel']}/synthese").get_data(as_text=True))
        # A: per criterion mean 3,00 and spread 2,00; total 3 × 2 + 3 × 5 = 21,00 sur (2 + 5) × 5 = 35.
        assert "Le projet de territoire 2 3,00 2,00" in page and "Total : 21,00 sur 35" in page
        assert "Projet solide" in page and "Partenariats flous" in page and "BROUILLON-NON-COMPTE" not in page
        # B, scored higher, ranks first on both territories.
        with app.app_context():
            refs = {n: db.session().get(Document, i).reference for n, i in docs.items()}
        assert re.search(rf"Artois Rang .*? 1 {refs['B']} .*? 35,00 10 .*? 2 {refs['A']} .*? 21,00 20", page), page
        assert re.search(rf"Lens-Hénin Rang .*? 1 {refs['B']} .*? 2 {refs['A']}", page)
    # The spreadsheet weighs the same: A's total 21 sur 35; each member's own (4 × 7 = 28, 2 × 7 = 14).
    book = load_workbook(io.BytesIO(first.get(f"/appels/{jury['appel']}/jury.xlsx").data))
    assert {r[0]: r[9:11] for r in book["Synthèse"].iter_rows(min_row=2, values_only=True)}[refs["A"]] == (21, 35)
    assert {(r[0], r[-2], r[-1]) for r in book["Notes par critère"].iter_rows(min_row=2, values_only=True)} == {(refs["A"], 28, 35), (refs["A"], 14, 35), (refs["B"], 35, 35)}
    # Read by the instructeurs and the members of the call's jury only.
    for role in ("redacteur", "coordinateur", "archiviste", "admin"):
        web, _ = login_as(role)
        assert web.get(f"/appels/{jury['appel']}/synthese").status_code == 403, role
    outsider, _ = login_as("jury", org="CALL")
    assert outsider.get(f"/appels/{jury['appel']}/synthese").status_code == 403
    assert jury["instructeur"].get("/appels/999999/synthese").status_code == 404


def test_the_jury_gives_its_avis_then_the_dossier_is_examined_retained_or_not_aml_6d(app: Flask, login_as: Any, jury: dict[str, Any]) -> None:
    instructeur, doc_id = jury["instructeur"], jury["docs"]["A"]
    move = f"/documents/{doc_id}/instruction"
    # Examined needs the avis and a signed evaluation.
    instructeur.post(move, {"action": "examiner"})
    assert "Enregistrez d'abord l'avis du jury" in shown(instructeur)
    for form, message in (({"avis": "excellent", "texte": "x"}, "Choisissez l'avis du jury"), ({"avis": "favorable", "texte": " "}, "Écrivez le texte de l'avis")):
        instructeur.post(f"/documents/{doc_id}/avis", form)
        assert message in shown(instructeur)
    with app.app_context():
        assert db.session().get(Avis, doc_id) is None
    member, _ = login_as("redacteur", org="Association A")
    assert member.post(f"/documents/{doc_id}/avis", {"avis": "favorable", "texte": "x"}).status_code == 403
    assert jury["members"][0].post(f"/documents/{doc_id}/avis", {"avis": "favorable", "texte": "x"}).status_code == 403
    instructeur.post(f"/documents/{doc_id}/avis", {"avis": "reserve", "texte": "Projet à préciser sur la pair-aidance"})
    assert "Avis du jury enregistré" in shown(instructeur)
    instructeur.post(move, {"action": "examiner"})
    assert "Le jury n'a pas signé ce dossier : il manque 4 évaluations signées" in shown(instructeur)
    # One member signed, another holds a draft: still refused, nothing changed (AML §6c, §6d).
    jury["members"][0].post(f"/documents/{doc_id}/evaluation", {**scores(3), "action": "signer"})
    jury["members"][1].post(f"/documents/{doc_id}/evaluation", {**scores(3), "action": "enregistrer"})
    instructeur.post(move, {"action": "examiner"})
    assert "il manque 3 évaluations signées" in shown(instructeur) and instruction_rows(app, doc_id)[0] == "recevable"
    for account in jury["accounts"][2:]:
        sign_all(app, {**jury, "accounts": [account]}, doc_id)
    instructeur.post(move, {"action": "examiner"})
    assert "il manque 1 évaluation signée (" in shown(instructeur) and instruction_rows(app, doc_id)[0] == "recevable"
    # The last member signs: examined.
    jury["members"][1].post(f"/documents/{doc_id}/evaluation", {**scores(3), "action": "signer"})
    instructeur.post(move, {"action": "examiner"})
    assert "maintenant « examiné par le jury »" in shown(instructeur)
    page = text_of(instructeur.get(f"/documents/{doc_id}/liste").get_data(as_text=True))
    assert "Avis du jury : Réservé – Projet à préciser sur la pair-aidance" in page and "Retenir le projet" in page
    # Once examined, the scores and the avis stay as they were.
    refused = jury["members"][1].post(f"/documents/{doc_id}/evaluation", {**scores(3), "action": "enregistrer"})
    assert refused.status_code == 422 and "ne se note plus" in text_of(refused.get_data(as_text=True))
    instructeur.post(f"/documents/{doc_id}/avis", {"avis": "favorable", "texte": "Changé"})
    assert "n'est pas encore examiné" in shown(instructeur)
    # Not retained: the reasons are required, and the association reads them.
    instructeur.post(move, {"action": "ne_pas_retenir", "texte": ""})
    assert "Indiquez les raisons" in shown(instructeur)
    instructeur.post(move, {"action": "ne_pas_retenir", "texte": "Couverture territoriale insuffisante"})
    assert instruction_rows(app, doc_id)[0] == "non_retenu"
    assert "Couverture territoriale insuffisante" in text_of(member.get(f"/documents/{doc_id}/liste").get_data(as_text=True))


def sign_all(app: Flask, jury: dict[str, Any], doc_id: int, value: int = 3) -> None:
    """Every member of the jury who has not yet signed the dossier signs ``value`` everywhere (through the service)."""
    grille_notes = {code: [str(value)] * count for code, count in GRID.items()}
    grille_comments = {code: [f"Note {value} justifiée"] * count for code, count in GRID.items()}
    with app.app_context():
        s = db.session()
        for account in jury["accounts"]:
            user = s.get(User, account.id)
            if (found := notation.evaluation_of(s, s.get_one(Document, doc_id), user)) is None or found.signed_at is None:
                notation.score(s, services_of(app).documents, s.get_one(Document, doc_id), user=user, notes=grille_notes, commentaires=grille_comments, sign=True)


def examined(app: Flask, jury: dict[str, Any], doc_id: int) -> None:
    jury["members"][0].post(f"/documents/{doc_id}/evaluation", {**scores(3), "action": "signer"})
    sign_all(app, jury, doc_id)
    jury["instructeur"].post(f"/documents/{doc_id}/avis", {"avis": "favorable", "texte": "Projet complet"})
    jury["instructeur"].post(f"/documents/{doc_id}/instruction", {"action": "examiner"})
    assert instruction_rows(app, doc_id)[0] == "examine"


def granted(app: Flask) -> dict[int, Any]:
    with app.app_context():
        return {r.document_id: (r.etat, r.mesures) for r in db.session().scalars(select(Instruction))}


def test_the_whole_calls_jury_work_is_read_and_decided_with_a_departement_wide_grant_only(app: Flask, login_as: Any, jury: dict[str, Any]) -> None:
    """The summary, its exports, the decision and the letters span every territory of the call: an instructeur of one platform
    (Lens-Hénin, no Département-wide grant) neither reads nor decides them (issue 13); the instructeur with the grant does."""
    appel = jury["appel"]
    platform, _ = login_as("instructeur", org=DEPARTEMENT, territoires=("aml-lens-henin",))
    for url in (f"/appels/{appel}/synthese", f"/appels/{appel}/jury.xlsx", f"/appels/{appel}/proces-verbal.pdf"):
        assert platform.get(url).status_code == 403, url
        assert jury["instructeur"].get(url).status_code == 200, url
    for url, form in ((f"/appels/{appel}/decision", {"date": "2019-10-01"}), (f"/appels/{appel}/lettres", {})):
        assert platform.post(url, form).status_code == 403, url
    with app.app_context():
        assert db.session().get(Decision, appel) is None
    # The one with the grant is let in (back to the summary, where a rule of the decision then answers).
    let_in = jury["instructeur"].post(f"/appels/{appel}/decision", {"date": "2019-10-01"})
    assert let_in.status_code == 302 and let_in.headers["Location"].endswith(f"/appels/{appel}/synthese")
    # The dossier's page offers the summary to whoever reads it only.
    assert "Synthèse et classement du jury" in jury["instructeur"].get(f"/documents/{jury['docs']['A']}/liste").get_data(as_text=True)


def test_the_allocation_never_exceeds_a_territorys_count_26_and_32_aml_5(app: Flask, jury: dict[str, Any]) -> None:
    instructeur, docs = jury["instructeur"], jury["docs"]
    for doc_id in docs.values():
        examined(app, jury, doc_id)

    def retain(doc_id: int, artois: int, lens: int) -> str:
        instructeur.post(f"/documents/{doc_id}/instruction", {"action": "retenir", "mesures-Artois": str(artois), "mesures-Lens-Hénin": str(lens)})
        return shown(instructeur)

    def form_of(doc_id: int) -> str:
        """The allocation form's table and amounts, as read on the dossier's page (AML §5)."""
        body = instructeur.get(f"/documents/{doc_id}/liste").get_data(as_text=True)
        table = re.search(r'<table class="list cards" id="reste-a-allouer">.*?</table>\s*<p[^>]*id="montants">.*?</p>', body, re.S)
        return text_of(table.group(0)).replace("\u202f", " ").replace("\xa0", " ") if table else ""

    # Before any grant: the call's counts remain whole; the amounts follow 5 000 € per measure (AML §5).
    shown_a = form_of(docs["A"])
    assert "Reste à allouer sur l'appel (AML §5)" in shown_a and "Artois 26 0 26 20" in shown_a and "Lens-Hénin 32 0 32 20" in shown_a
    assert "Financement : 5 000,00 € par mesure (AML §5) ; déjà accordé sur l'appel : 0,00 € ; reste à allouer : 290 000,00 €." in shown_a
    assert "maintenant « retenu »" in retain(docs["A"], 20, 20)
    # After A's 20 + 20: B's form says what remains (6 and 12) and the amounts.
    shown_b = form_of(docs["B"])
    assert "Artois 26 20 6 10" in shown_b and "Lens-Hénin 32 20 12 16" in shown_b
    assert "déjà accordé sur l'appel : 200 000,00 € ; reste à allouer : 90 000,00 €." in shown_b
    assert form_of(docs["A"]) == ""  # retained: no allocation form any more
    before = granted(app)
    # B asks 10 Artois and 16 Lens-Hénin: 7 Artois would make 27 (Artois has 26), 13 Lens-Hénin 33 (it has 32).
    assert "Territoire Artois : 7 mesures demandées à l'allocation, il n'en reste que 6 (26 pour l'appel, 20 déjà accordées, AML §5)" in retain(docs["B"], 7, 12)
    assert "Territoire Lens-Hénin : 13 mesures demandées à l'allocation, il n'en reste que 12 (32 pour l'appel, 20 déjà accordées, AML §5)" in retain(docs["B"], 6, 13)
    # Over the dossier's own request (B asked 10 Artois), whatever remains.
    assert "entre 0 et 10 mesures (demandées : 10" in retain(docs["B"], 11, 0)
    assert granted(app) == before
    page = text_of(instructeur.get(f"/appels/{jury['appel']}/synthese").get_data(as_text=True))
    assert "Artois 26 20 6 100 000,00 €" in page.replace("\u202f", " ").replace("\xa0", " ")
    # Exactly 26 and 32: accepted; nothing remains.
    assert "maintenant « retenu »" in retain(docs["B"], 6, 12)
    assert granted(app)[docs["B"]] == ("retenu", {"Artois": 6, "Lens-Hénin": 12})
    page = text_of(instructeur.get(f"/appels/{jury['appel']}/synthese").get_data(as_text=True)).replace("\u202f", " ").replace("\xa0", " ")
    assert "Artois 26 26 0 130 000,00 €" in page and "Lens-Hénin 32 32 0 160 000,00 €" in page
    assert form_of(docs["B"]) == ""


def test_an_evaluation_posted_without_its_csrf_token_is_refused_and_changes_nothing(app: Flask, jury: dict[str, Any]) -> None:
    """The CSRF case of the evaluation (no actor of tests/test_permissions.py sits on a jury)."""
    member, doc_id = jury["members"][0], jury["docs"]["A"]
    refused = member.post(f"/documents/{doc_id}/evaluation", {**scores(3), "action": "signer"}, csrf=False)
    assert refused.status_code == 400 and "Ce formulaire n'est plus valable" in refused.get_data(as_text=True).replace("&#39;", "'")
    assert evaluation_rows(app, doc_id) == []
    # The same request with its token is allowed: the other side.
    assert member.post(f"/documents/{doc_id}/evaluation", {**scores(3), "action": "signer"}).status_code == 302
    assert [signed for _, _, signed in evaluation_rows(app, doc_id)] == [True]


def test_the_grid_and_allocation_export_as_a_spreadsheet_and_the_proces_verbal_as_a_pdf(app: Flask, login_as: Any, jury: dict[str, Any]) -> None:
    (first, second), docs, instructeur = jury["members"], jury["docs"], jury["instructeur"]
    first.post(f"/documents/{docs['A']}/evaluation", {**scores(4, "Projet solide"), "action": "signer"})
    second.post(f"/documents/{docs['A']}/evaluation", {**scores(2), "action": "signer"})
    sign_all(app, jury, docs["A"])  # the other two members sign 3: mean 3,00, spread 2,00 still
    instructeur.post(f"/documents/{docs['A']}/avis", {"avis": "favorable", "texte": "Projet complet"})
    instructeur.post(f"/documents/{docs['A']}/instruction", {"action": "examiner"})
    instructeur.post(f"/documents/{docs['A']}/instruction", {"action": "retenir", "mesures-Artois": "20", "mesures-Lens-Hénin": "20"})
    with app.app_context():
        ref = db.session().get(Document, docs["A"]).reference
        names = [user_of(app, a).full_name for a in jury["accounts"]]
    # The spreadsheet opens with the library and holds every signed score.
    got = first.get(f"/appels/{jury['appel']}/jury.xlsx")
    assert got.status_code == 200 and got.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    book = load_workbook(io.BytesIO(got.data))
    assert book.sheetnames == ["Notes", "Notes par critère", "Synthèse", "Allocation"]
    notes = [r for r in book["Notes"].iter_rows(min_row=2, values_only=True)]
    assert len(notes) == 4 * sum(GRID.values())
    assert (ref, names[0], "Le projet de territoire", "Identification des besoins", 4, "Projet solide") in {(r[0], r[2], r[4], r[5], r[6], r[7]) for r in notes}
    assert {r[6] for r in notes if r[2] == names[1]} == {2}
    # Each member's own score per criterion (mean of its sub-criteria) and weighted total, per dossier.
    per_member = list(book["Notes par critère"].iter_rows(values_only=True))
    assert per_member[0][:5] == ("Dossier", "Association", "Membre du jury", "Organisme", "Le projet de territoire") and per_member[0][-2:] == ("Total", "Sur")
    assert {r[2]: (r[0], r[3], r[4:]) for r in per_member[1:]} == {
        names[0]: (ref, "Département du Pas-de-Calais", (4, 4, 4, 4, 4, 4, 24, 30)), names[1]: (ref, ORGANISMES["call"], (2, 2, 2, 2, 2, 2, 12, 30)),
        names[2]: (ref, ORGANISMES["cahc"], (3, 3, 3, 3, 3, 3, 18, 30)), names[3]: (ref, ORGANISMES["cabbalr"], (3, 3, 3, 3, 3, 3, 18, 30)),
    }
    recap = list(book["Synthèse"].iter_rows(values_only=True))
    assert recap[1][0] == ref and recap[1][3] == 3 and recap[1][9] == 18 and recap[1][11] == "Favorable"
    allocation = list(book["Allocation"].iter_rows(values_only=True))
    assert allocation[1][:4] == ("Artois", 26, 20, 6) and allocation[1][4].replace("\u202f", " ").replace("\xa0", " ") == "100 000,00 €"
    assert (ref, "Association Habitat Solidaire", 20, 20, None) in allocation
    # The procès-verbal: members, date, scores, avis, allocation, signed by the chair (the Département's member).
    pdf = instructeur.get(f"/appels/{jury['appel']}/proces-verbal.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    text = " ".join(pdf_text(pdf.data).replace("\u202f", " ").replace("\xa0", " ").replace("\u2010\n", "").split())
    # Each member's score per criterion, in the jury's order (CABBALR, CAHC, CALL, Département), then the mean and spread.
    for expected in ("Procès-verbal du jury de sélection", "25 septembre 2019", *names, ref, "Le projet de territoire 3,00 3,00 2,00 4,00 3,00 2,00",
                     "Qualité globale du projet 3,00 3,00 2,00 4,00 3,00 2,00", "Total pondéré 18,00 18,00 12,00 24,00 18,00", "18,00 sur 30", "Favorable – Projet complet", "Artois 26 20 6 100 000,00 €", f"Le président du jury : {names[0]}, Département du Pas-de-Calais"):
        assert expected in text, (expected, text)
    # Read like the summary: not by an association, nor by a jury member of another call.
    for web in (login_as("redacteur", org="Association A")[0], login_as("jury", org="CALL")[0]):
        assert web.get(f"/appels/{jury['appel']}/jury.xlsx").status_code == 403
        assert web.get(f"/appels/{jury['appel']}/proces-verbal.pdf").status_code == 403


def test_an_unsigned_draft_stays_out_of_the_spreadsheet_and_the_proces_verbal_aml_6c(app: Flask, jury: dict[str, Any]) -> None:
    """Scores are drafts until the member signs off (AML §6c): CALL's draft on B, with its marker, is neither exported nor in the PV ("–")."""
    (first, second), docs = jury["members"], jury["docs"]
    first.post(f"/documents/{docs['B']}/evaluation", {**scores(5), "action": "signer"})
    second.post(f"/documents/{docs['B']}/evaluation", {**scores(1, "BROUILLON-NON-EXPORTE"), "action": "enregistrer"})
    assert [signed for _, _, signed in evaluation_rows(app, docs["B"])] == [True, False]
    with app.app_context():
        s = db.session()
        doc = s.get_one(Document, docs["B"])
        for account in jury["accounts"][2:]:  # CAHC and CABBALR sign 3
            notation.score(s, services_of(app).documents, doc, user=s.get_one(User, account.id), sign=True,
                           notes={code: ["3"] * count for code, count in GRID.items()}, commentaires={code: ["Note 3"] * count for code, count in GRID.items()})
        ref, names = doc.reference, [user_of(app, a).full_name for a in jury["accounts"]]
    book = load_workbook(io.BytesIO(jury["instructeur"].get(f"/appels/{jury['appel']}/jury.xlsx").data))
    for sheet in ("Notes", "Notes par critère"):
        cells = [c for row in book[sheet].iter_rows(min_row=2, values_only=True) for c in row]
        assert "BROUILLON-NON-EXPORTE" not in cells and 1 not in cells, sheet
        assert {row[2] for row in book[sheet].iter_rows(min_row=2, values_only=True) if row[0] == ref} == {names[0], names[2], names[3]}, sheet
    pdf = jury["instructeur"].get(f"/appels/{jury['appel']}/proces-verbal.pdf")
    text = " ".join(pdf_text(pdf.data).replace("\u202f", " ").replace("\xa0", " ").replace("\u2010\n", "").split())
    # In the jury's order (CABBALR, CAHC, CALL, Département): CALL's draft is "–"; the mean and spread are over the three signed.
    for expected in ("évaluations signées : 3", "Le projet de territoire 3,00 3,00 – 5,00 3,67 2,00", "Total pondéré 18,00 18,00 – 30,00 22,00"):
        assert expected in text, (expected, text)
    assert "BROUILLON-NON-EXPORTE" not in text


def test_a_call_without_a_grid_is_not_scored_and_nothing_fails(app: Flask, jury: dict[str, Any]) -> None:
    with app.app_context():
        s = db.session()
        appel = s.get(Document, jury["docs"]["A"]).appel
        appel.data = {k: v for k, v in appel.data.items() if k != "grille"}
        s.commit()
    member, doc_id = jury["members"][0], jury["docs"]["A"]
    assert member.get(f"/documents/{doc_id}/evaluation").status_code == 302
    assert "L'appel n'a pas de grille d'évaluation" in shown(member)
    assert member.post(f"/documents/{doc_id}/evaluation", {**scores(3), "action": "signer"}).status_code == 302
    assert "L'appel n'a pas de grille d'évaluation" in shown(member)
    assert evaluation_rows(app, doc_id) == []
    assert member.get(f"/appels/{jury['appel']}/synthese").status_code == 200
    assert member.get(f"/appels/{jury['appel']}/jury.xlsx").status_code == 200


def test_the_jury_is_frozen_once_a_member_has_scored_aml_6c_6d(app: Flask, login_as: Any, make_user: Any, jury: dict[str, Any]) -> None:
    admin, _ = login_as("admin", org="Administration")
    url = f"/admin/appels/{jury['appel']}/jury"

    def seated() -> tuple[Any, list[int]]:
        with app.app_context():
            found, members = jury_of(db.session(), db.session().get_one(Appel, jury["appel"]))
            return found.date if found else None, sorted(m.user_id for m in members)

    # No score yet: the jury still changes (its date here), nothing frozen on the page.
    assert admin.post(url, {**members_form(jury["accounts"]), "date": "2019-09-26"}).status_code == 302
    assert seated()[0].isoformat() == "2019-09-26" and "Le jury est figé" not in text_of(admin.get(url).get_data(as_text=True))
    # One draft score: frozen; neither a member replaced nor the date moved, in French, nothing changed.
    jury["members"][0].post(f"/documents/{jury['docs']['A']}/evaluation", {"note-projet_territoire-1": "3", "action": "enregistrer"})
    before = seated()
    other = make_user("jury", org="CALL")
    for form in ({**members_form([*jury["accounts"][:3], other]), "date": "2019-09-26"}, {**members_form(jury["accounts"]), "date": "2019-09-27"}):
        refused = admin.post(url, form)
        assert refused.status_code == 422 and "Le jury de cet appel est figé : ses membres ont déjà noté (1 évaluation)" in text_of(refused.get_data(as_text=True))
        assert seated() == before
    assert "Le jury est figé : ses membres ont déjà noté (1 évaluation)" in text_of(admin.get(url).get_data(as_text=True))


def test_a_jury_member_reads_the_recevable_dossier_but_not_its_thread(app: Flask, jury: dict[str, Any]) -> None:
    """"They read the recevable dossiers of that call […] and nothing else" (issue 12): not the exchanges with the Département."""
    member, instructeur, doc_id = jury["members"][0], jury["instructeur"], jury["docs"]["A"]
    instructeur.post(f"/documents/{doc_id}/messages", {"texte": "Merci de préciser le budget de la pair-aidance."})
    assert "Message envoyé" in shown(instructeur)
    # The other side: the instructeur reads the thread, and the dossier's page links to it.
    assert "préciser le budget de la pair-aidance" in text_of(instructeur.get(f"/documents/{doc_id}/messages").get_data(as_text=True))
    assert f"/documents/{doc_id}/messages" in instructeur.get(f"/documents/{doc_id}").get_data(as_text=True)
    # The member reads the dossier, not its thread (nor a link to it); posting: not found, nothing added.
    page = member.get(f"/documents/{doc_id}")
    assert page.status_code == 200 and f"/documents/{doc_id}/messages" not in page.get_data(as_text=True)
    assert member.get(f"/documents/{doc_id}/messages").status_code == 404
    assert member.post(f"/documents/{doc_id}/messages", {"texte": "Question du jury"}).status_code == 404
    assert member.get(f"/documents/{doc_id}/messages/pieces-jointes/1").status_code == 404
    with app.app_context():
        assert [m.texte for m in db.session().scalars(select(Message).where(Message.document_id == doc_id))] == ["Merci de préciser le budget de la pair-aidance."]


def test_a_jury_member_reads_the_deposited_dossier_and_the_grid_not_the_checklist(app: Flask, jury: dict[str, Any]) -> None:
    """"They read the recevable dossiers of that call […] and nothing else" (issue 12): the checklist is the association's working page."""
    member, instructeur, doc_id = jury["members"][0], jury["instructeur"], jury["docs"]["A"]
    checklist = f"/documents/{doc_id}/liste"
    # The other side: the instructeur works on the checklist.
    assert instructeur.get(checklist).status_code == 200
    refused = member.get(checklist)
    assert refused.status_code == 403 and "Accès refusé" in refused.get_data(as_text=True)
    # What the member reads: the deposited dossier (its page, its files) and the grid, linked from each other.
    page = member.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert f'href="/documents/{doc_id}/evaluation"' in page and f'href="{checklist}"' not in page
    grid = member.get(f"/documents/{doc_id}/evaluation").get_data(as_text=True)
    assert f'href="/documents/{doc_id}"' in grid and f'href="{checklist}"' not in grid
    synthese = member.get(f"/appels/{jury['appel']}/synthese").get_data(as_text=True)
    assert f'href="/documents/{doc_id}"' in synthese and f'href="{checklist}"' not in synthese
    # The instructeur's summary still leads to the checklist, where the jury's work is recorded.
    assert f'href="{checklist}"' in instructeur.get(f"/appels/{jury['appel']}/synthese").get_data(as_text=True)
