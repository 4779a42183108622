"""Measures, calls and dossiers' pieces through the API (issue 17): the pages' visibility (webforms.policy), narrowed by the token's kinds."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from flask import Flask

from tests.api_client import ApiClient, token_for
from tests.conftest import Account, Clock, pdf_titled
from tests.test_candidatures import BEFORE_DEADLINE, open_dossier, submit_complete, upload
from tests.test_mesures_web import meeting, open_mesure

A, B = "Association A", "Association B"


def client(app: Flask, clock: Clock, account: Account, *kinds: str) -> ApiClient:
    return ApiClient(app, token_for(app, clock, account, kinds=kinds, scope="lecture"))


def test_a_measure_reads_with_its_due_dates_and_meetings(app: Flask, clock: Clock, login_as: Any) -> None:
    web, owner = login_as("redacteur", A)
    mesure_id = open_mesure(web, date_premiere_rencontre="2019-09-10")
    assert web.post(f"/mesures/{mesure_id}/rencontres", meeting("2019-09-24", "entretien_bureau", "Point budget")).status_code == 302
    api = client(app, clock, owner, "bilan_asll_installation")
    (item,) = api.get("/api/v1/mesures").get_json()["items"]
    assert item == api.get(f"/api/v1/mesures/{mesure_id}").get_json()
    assert (item["id"], item["type_mesure"], item["menage_nom"], item["date_premiere_rencontre"]) == (mesure_id, "asll_installation", "Morel", "2019-09-10")
    assert [(r["date"], r["nature"], r["note"]) for r in item["rencontres"]] == [("2019-09-10", "visite_domicile", "Première rencontre"), ("2019-09-24", "entretien_bureau", "Point budget")]
    # The due dates are the calendar the measure's page shows (ASLL §8, §9).
    assert item["date_limite_demarrage"] and item["echeances"] and all(set(d) == {"titre", "date", "source", "bilan", "faite", "en_retard"} for d in item["echeances"])
    assert any(d["bilan"] for d in item["echeances"]) and item["fin"] == item["periodes"][-1]["fin"]


def test_a_measure_is_read_only_within_the_policy_and_the_token_s_kinds(app: Flask, clock: Clock, login_as: Any, make_user: Callable[..., Account]) -> None:
    web, owner = login_as("redacteur", A)
    asll = open_mesure(web)
    aml = open_mesure(web, type_mesure="aml", date_bon_commande="", date_premiere_rencontre="2019-09-16", duree_mois="12")
    seen = {
        # One of the token's kinds is written about the measure's type: fiche_incident about every type.
        "owner-incident": (client(app, clock, owner, "fiche_incident"), {asll, aml}),
        "owner-bilan-aml": (client(app, clock, owner, "bilan_aml"), {aml}),
        "owner-saisine": (client(app, clock, owner, "fiche_saisine"), set()),
        # The policy: another organisation's writer sees none; the instructeur all; the coordinateur the AML ones.
        "other-organisation": (client(app, clock, make_user("redacteur", B), "fiche_incident"), set()),
        "instructeur": (client(app, clock, make_user("instructeur"), "fiche_incident"), {asll, aml}),
        "coordinateur": (client(app, clock, make_user("coordinateur"), "fiche_incident"), {aml}),
        "archiviste": (client(app, clock, make_user("archiviste"), "fiche_incident"), set()),
    }
    for name, (api, expected) in seen.items():
        assert {m["id"] for m in api.get("/api/v1/mesures").get_json()["items"]} == expected, name
        for mesure_id in (asll, aml):
            response = api.get(f"/api/v1/mesures/{mesure_id}")
            assert response.status_code == (200 if mesure_id in expected else 404), (name, mesure_id)
            if response.status_code == 404:
                assert "Morel" not in response.get_data(as_text=True)


def test_the_measures_are_paged_by_cursor(app: Flask, clock: Clock, login_as: Any) -> None:
    web, owner = login_as("redacteur", A)
    ids = [open_mesure(web) for _ in range(3)]
    api = client(app, clock, owner, "fiche_incident")
    first = api.get("/api/v1/mesures?limit=2").get_json()
    second = api.get(f"/api/v1/mesures?limit=2&cursor={first['next_cursor']}").get_json()
    assert [m["id"] for m in first["items"] + second["items"]] == sorted(ids, reverse=True) and second["next_cursor"] is None
    assert api.get("/api/v1/mesures?limit=0").status_code == 422 and api.get("/api/v1/mesures?limit=101").status_code == 422
    assert api.get("/api/v1/mesures?limit=100").status_code == 200 and api.get("/api/v1/mesures?tri=id").status_code == 422


def test_calls_and_their_dossiers_states_within_the_policy(app: Flask, clock: Clock, login_as: Any, make_user: Callable[..., Account]) -> None:
    clock.now = BEFORE_DEADLINE
    web, owner = login_as("redacteur", A)
    dossier = open_dossier(app, web)
    api = client(app, clock, owner, "candidature_aml")
    (appel,) = api.get("/api/v1/appels").get_json()
    assert appel["ouvert"] is True and appel["territoires"] and api.get(f"/api/v1/appels/{appel['id']}").get_json() == appel
    (mine,) = api.get(appel["dossiers_url"]).get_json()
    assert (mine["id"], mine["statut"], mine["etat"], mine["organisation"]) == (dossier, "brouillon", None, A)
    # Another organisation's writer and the instructeur (a draft is not received) see no dossier.
    for account in (make_user("redacteur", B), make_user("instructeur")):
        assert client(app, clock, account, "candidature_aml").get(appel["dossiers_url"]).get_json() == []
    # A token with no kind that answers a call reaches no call.
    other = client(app, clock, owner, "fiche_incident")
    assert other.get("/api/v1/appels").get_json() == []
    assert other.get(f"/api/v1/appels/{appel['id']}").status_code == 404 and other.get(appel["dossiers_url"]).status_code == 404
    assert api.get("/api/v1/appels/99999").status_code == 404


def test_a_dossier_s_pieces_are_listed_and_downloaded_as_the_pages_serve_them(app: Flask, clock: Clock, login_as: Any, make_user: Callable[..., Account]) -> None:
    clock.now = BEFORE_DEADLINE
    web, owner = login_as("redacteur", A)
    dossier = open_dossier(app, web)
    data = pdf_titled("Délibération de l'association (API)")
    assert upload(web, dossier, "deliberation", data, "deliberation.pdf").status_code == 302
    api = client(app, clock, owner, "candidature_aml")
    (piece,) = api.get(f"/api/v1/documents/{dossier}/pieces").get_json()
    assert (piece["code"], piece["original_name"], piece["sha256"]) == ("deliberation", "deliberation.pdf", hashlib.sha256(data).hexdigest())
    got = api.get(piece["url"])
    assert got.status_code == 200 and got.data == data and got.headers["X-Content-SHA256"] == piece["sha256"]
    # A draft's pieces are its organisation's: the instructeur (who does not receive a draft) and
    # another organisation find neither the dossier nor its piece; a token without the kind neither.
    for other in (client(app, clock, make_user("instructeur"), "candidature_aml"), client(app, clock, make_user("redacteur", B), "candidature_aml"), client(app, clock, owner, "fiche_incident")):
        assert other.get(f"/api/v1/documents/{dossier}/pieces").status_code == 404 and other.get(piece["url"]).status_code == 404
    assert api.get(f"/api/v1/documents/{dossier}/pieces/99999").status_code == 404


def test_recipients_read_the_deposited_pieces_not_a_correction_in_progress(app: Flask, clock: Clock, login_as: Any, make_user: Callable[..., Account]) -> None:
    clock.now = BEFORE_DEADLINE
    web, owner = login_as("redacteur", A)
    dossier = open_dossier(app, web)
    submit_complete(app, web, dossier)
    instructeur = client(app, clock, make_user("instructeur"), "candidature_aml")
    deposited = {p["code"]: p for p in instructeur.get(f"/api/v1/documents/{dossier}/pieces").get_json()}
    assert set(deposited) == {"courrier", "deliberation", "fiches_poste"}
    (appel,) = instructeur.get("/api/v1/appels").get_json()
    assert [(d["id"], d["etat"], d["etat_label"]) for d in instructeur.get(appel["dossiers_url"]).get_json()] == [(dossier, "depose", "Déposé")]
    # Reopened (régularisation), its deliberation replaced: the association reads the new one,
    # the instructeur still the deposited one, and not the correction's file.
    assert web.post(f"/documents/{dossier}/rouvrir").status_code == 302
    correction = pdf_titled("Délibération corrigée")
    assert upload(web, dossier, "deliberation", correction, "deliberation-corrigee.pdf").status_code == 302
    mine = {p["code"]: p for p in client(app, clock, owner, "candidature_aml").get(f"/api/v1/documents/{dossier}/pieces").get_json()}
    assert mine["deliberation"]["original_name"] == "deliberation-corrigee.pdf"
    assert {p["code"]: p for p in instructeur.get(f"/api/v1/documents/{dossier}/pieces").get_json()} == deposited
    assert instructeur.get(mine["deliberation"]["url"]).status_code == 404
    assert instructeur.get(deposited["deliberation"]["url"]).status_code == 200
