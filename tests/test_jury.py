"""The selection jury of a call: configured by the administrator, its members read the recevable dossiers of their call only (AML §6d)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import Clock, WebClient
from tests.test_appels import form_of
from tests.test_call_caps import APPEL_FILE
from tests.test_candidatures import BEFORE_DEADLINE, submit_complete
from tests.test_instruction import AT_DEADLINE, DEPARTEMENT, shown, text_of
from webforms import db
from webforms.models import Appel, Jury, JuryMember, Piece, User

JURY = ("departement", "call", "cahc", "cabbalr")
SEED_CODE = json.loads(APPEL_FILE.read_text(encoding="utf-8"))["code"]


def dossier_on(web: WebClient, appel_id: int) -> int:
    opened = web.post(f"/appels/{appel_id}/dossier")
    assert opened.status_code == 302, opened.get_data(as_text=True)
    return int(re.search(r"/documents/(\d+)/liste", opened.headers["Location"]).group(1))  # type: ignore[union-attr]


@pytest.fixture
def calls(app: Flask, login_as: Any, clock: Clock) -> dict[str, Any]:
    """Two calls; three dossiers deposited: A and B on the 2019 call, C on the other; A and C declared recevable, B in instruction."""
    clock.now = BEFORE_DEADLINE
    admin, _ = login_as("admin", org="Administration")
    created = admin.post("/admin/appels", form_of({**json.loads(APPEL_FILE.read_text(encoding="utf-8")), "code": "autre-appel", "titre": "Autre appel"}))
    assert created.status_code == 302, created.get_data(as_text=True)
    with app.app_context():
        ids = {a.code: a.id for a in db.session().scalars(select(Appel))}
    docs = {}
    for name, org, code in (("A", "Association A", SEED_CODE), ("B", "Association B", SEED_CODE), ("C", "Association C", "autre-appel")):
        web, _ = login_as("redacteur", org=org)
        docs[name] = dossier_on(web, ids[code])
        submit_complete(app, web, docs[name])
    instructeur, _ = login_as("instructeur", org=DEPARTEMENT)
    for doc_id in docs.values():
        instructeur.post(f"/documents/{doc_id}/instruction", {"action": "instruire"})
    clock.now = AT_DEADLINE
    for name in ("A", "C"):
        instructeur.post(f"/documents/{docs[name]}/instruction", {"action": "recevable"})
        assert "maintenant « recevable »" in shown(instructeur)
    instructeur.post(f"/documents/{docs['A']}/annotations", {"texte": "NOTE-INTERNE-JURY"})
    return {"admin": admin, "instructeur": instructeur, "appel": ids[SEED_CODE], "other": ids["autre-appel"], "docs": docs}


def members_form(accounts: list[Any], bodies: tuple[str, ...] = JURY, date: str = "2019-09-25") -> dict[str, str]:
    return {"date": date, **{f"organisme-{a.id}": body for a, body in zip(accounts, bodies, strict=False)}}


def test_the_jury_is_configured_with_its_date_and_its_four_bodies_aml_6d(app: Flask, login_as: Any, calls: dict[str, Any], make_user: Any) -> None:
    admin, appel_id = calls["admin"], calls["appel"]
    members = [make_user("jury", org=org) for org in ("Département du Pas-de-Calais", "CALL", "CAHC", "CABBALR")]
    redacteur = make_user("redacteur", org="Association A")
    # A jury member's account once deactivated: no longer seated (jury.set_jury).
    inactive = make_user("jury", org="CALL")
    with app.app_context():
        db.session().get_one(User, inactive.id).active = False
        db.session().commit()
    url = f"/admin/appels/{appel_id}/jury"
    assert admin.get(url).status_code == 200
    for form, message in (
        (members_form(members[:3], JURY[:3]), "il manque CABBALR"),
        (members_form(members, date="2019-09-06"), "Le jury se réunit après la date limite de dépôt (6 septembre 2019 à 16:00)"),
        (members_form(members, date="25/09"), "Indiquez la date du jury"),
        ({**members_form(members), f"organisme-{redacteur.id}": "call"}, "Seuls les comptes actifs du rôle « membre de jury »"),
        (members_form([members[0], inactive, *members[2:]]), "Seuls les comptes actifs du rôle « membre de jury »"),
        ({**members_form(members), f"organisme-{members[0].id}": "ccas"}, "Choisissez l'organisme"),
        # A body is one of the four codes (AML §6d), never free text: a control character is no body (issue 15).
        ({**members_form(members), f"organisme-{members[0].id}": "departement\x01"}, "Choisissez l'organisme"),
        ({**members_form(members), f"organisme-{members[0].id}": "\u202edepartement"}, "Choisissez l'organisme"),
    ):
        refused = admin.post(url, form)
        assert refused.status_code == 422 and message in text_of(refused.get_data(as_text=True)), message
    with app.app_context():
        assert db.session().scalars(select(JuryMember)).all() == [] and db.session().get(Jury, appel_id) is None
    # The other side of the date's edge: the day after the deadline.
    assert admin.post(url, members_form(members, date="2019-09-07")).status_code == 302
    assert admin.post(url, members_form(members)).status_code == 302
    with app.app_context():
        s = db.session()
        assert s.get(Jury, appel_id).date.isoformat() == "2019-09-25"
        assert sorted((m.user_id, m.organisme) for m in s.scalars(select(JuryMember))) == sorted((a.id, b) for a, b in zip(members, JURY, strict=True))
    assert 'value="2019-09-25"' in admin.get(url).get_data(as_text=True)
    # Only the administrator configures it.
    for role in ("instructeur", "jury", "redacteur"):
        web, _ = login_as(role, org="Ailleurs")
        assert web.get(url).status_code == 403 and web.post(url, members_form(members)).status_code == 403


def test_a_jury_member_reads_the_recevable_dossiers_of_its_call_only(app: Flask, login_as: Any, calls: dict[str, Any], make_user: Any) -> None:
    docs, admin = calls["docs"], calls["admin"]
    seated = [make_user("jury", org=org) for org in ("Département du Pas-de-Calais", "CALL", "CAHC", "CABBALR")]
    assert admin.post(f"/admin/appels/{calls['appel']}/jury", members_form(seated)).status_code == 302
    member, outsider = WebClient(app.test_client()), WebClient(app.test_client())
    member.login(seated[1])
    outsider_account = make_user("jury", org="CALL")
    outsider.login(outsider_account)
    # Listed on the home page: exactly the recevable dossier of its call.
    home = member.get("/").get_data(as_text=True)
    assert {int(n) for n in re.findall(r'href="/documents/(\d+)"', home)} == {docs["A"]}
    assert not re.findall(r'href="/documents/(\d+)"', outsider.get("/").get_data(as_text=True))
    # A: read, its pages and files; B (in instruction) and C (another call): not found.
    page = member.get(f"/documents/{docs['A']}").get_data(as_text=True)
    assert "NOTE-INTERNE-JURY" not in page and "Annotations privées" not in page
    assert "/instruction" not in page and "/annotations" not in page and "/corrections" not in page
    # Its complete deposited dossier (every piece, AML §6b) is on that page; the checklist is not the jury's.
    assert f"/documents/{docs['A']}/telecharger/pdf?version=1&amp;sortie=dossier" in page
    assert member.get(f"/documents/{docs['A']}/liste").status_code == 403
    pdf = member.get(f"/documents/{docs['A']}/telecharger/pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    with app.app_context():
        piece_id = db.session().scalar(select(Piece.id).where(Piece.document_id == docs["A"], Piece.code == "deliberation"))
    assert member.get(f"/documents/{docs['A']}/pieces/{piece_id}").status_code == 200
    for doc_id in (docs["B"], docs["C"]):
        assert member.get(f"/documents/{doc_id}").status_code == 404
        assert member.get(f"/documents/{doc_id}/liste").status_code == 404
    assert outsider.get(f"/documents/{docs['A']}").status_code == 404
    # Reading is all: no move, no annotation, no list of the call's dossiers.
    assert member.post(f"/documents/{docs['A']}/instruction", {"action": "examiner"}).status_code == 403
    assert member.post(f"/documents/{docs['A']}/annotations", {"texte": "x"}).status_code == 403
    assert member.get(f"/appels/{calls['appel']}/dossiers").status_code == 403
    # Declared irrecevable, B stays out of the jury's reach.
    calls["instructeur"].post(f"/documents/{docs['B']}/instruction", {"action": "irrecevable", "motif": "incomplet"})
    assert member.get(f"/documents/{docs['B']}").status_code == 404
