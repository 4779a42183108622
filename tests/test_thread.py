"""One thread per household (issue 13): a validated referral opens its AML measure (AML §4)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from schemas import get_kind
from tests.conftest import Account, WebClient
from tests.test_mesures_web import open_mesure
from tests.test_web import submitted
from webforms import db
from webforms.documents import services as svc_docs
from webforms.mesures.services import annual_figures
from webforms.models import Document, Mesure, MesureOrigine, User

PLATFORM = "Plateforme Logement d'abord Lens-Hénin"


def _decision(operator: Account | None, referent: Account | None, **changes: Any) -> dict[str, Any]:
    review = get_kind("fiche_saisine").review.example  # type: ignore[union-attr]
    decision = {k: v for k, v in review.items() if v and k not in ("operateur", "referent", "operateur_id", "referent_id")}
    if operator is not None:
        decision["operateur_id"] = operator.organisation_id
    if referent is not None:
        decision["referent_id"] = referent.id
    return decision | changes


def _referral(login_as: Any) -> tuple[int, WebClient, Account]:
    """A referral submitted by a partner, the platform's coordinator signed in, an operator's référent."""
    prescriber, _ = login_as("redacteur", org="CCAS de Liévin")
    doc_id = submitted(prescriber, "fiche_saisine")
    coordinator, _ = login_as("coordinateur", org=PLATFORM)
    referent = login_as("redacteur", org="Association Habitat Solidaire")[1]
    return doc_id, coordinator, referent


def _thread(app: Flask, doc_id: int) -> tuple[str, list[Mesure]]:
    with app.app_context():
        s = db.session()
        origins = s.scalars(select(MesureOrigine).where(MesureOrigine.saisine_id == doc_id)).all()
        mesures = [o.mesure for o in origins]
        for m in mesures:
            _ = (m.referent.full_name, m.organisation.name)
        return s.get(Document, doc_id).statut, mesures


def test_a_validated_aml_referral_creates_the_measure_of_the_operator_and_referent_chosen(app: Flask, login_as: Any) -> None:
    doc_id, coordinator, referent = _referral(login_as)
    page = coordinator.get(f"/documents/{doc_id}/decision").get_data(as_text=True)
    # The lists: the operators' writers, not the prescriber's CCAS coordinator nor the platform.
    assert f'<option value="{referent.id}">' in page and f'<option value="{referent.organisation_id}">Association Habitat Solidaire' in page
    assert "Coordinateur" not in page.split('id="referent_id"')[1].split("</select>")[0]

    response = coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, referent))
    assert response.status_code == 302, response.get_data(as_text=True)
    statut, mesures = _thread(app, doc_id)
    assert statut == "decide" and len(mesures) == 1
    mesure = mesures[0]
    assert (mesure.type_mesure, mesure.organisation_id, mesure.referent_id, mesure.duree_mois) == ("aml", referent.organisation_id, referent.id, 12)
    assert (mesure.menage_nom, mesure.menage_prenom, mesure.menage_commune) == ("Durand", "Julie", "Liévin")
    with app.app_context():
        review = db.session().get(Document, doc_id).review
    # The names are recorded beside the ids, as they were on the day of the decision.
    assert (review["operateur"], review["referent"]) == ("Association Habitat Solidaire", mesure.referent.full_name)

    # The référent finds it in their worklist and attaches the contract to it (AML §4).
    writer = WebClient(app.test_client())
    writer.login(referent)
    assert mesure.reference in writer.get("/mesures/").get_data(as_text=True)
    started = writer.post(f"/mesures/{mesure.id}/documents/contrat_tripartite", {})
    assert started.status_code == 302 and "/documents/" in started.location
    with app.app_context():
        contract = db.session().scalar(select(Document).where(Document.kind == "contrat_tripartite"))
        assert contract.mesure_id == mesure.id


def test_a_referent_of_another_operator_is_refused_and_nothing_changes(app: Flask, login_as: Any, make_user: Any) -> None:
    doc_id, coordinator, referent = _referral(login_as)
    other = make_user("redacteur", org="Association Autre")
    response = coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, other))
    assert response.status_code == 422
    assert "n&#39;est pas un référent de Association Habitat Solidaire" in response.get_data(as_text=True)
    assert _thread(app, doc_id) == ("soumis", [])
    # The same account with its own operator: accepted.
    assert coordinator.post(f"/documents/{doc_id}/decision", _decision(other, other)).status_code == 302
    assert [m.organisation.name for m in _thread(app, doc_id)[1]] == ["Association Autre"]


def test_only_an_active_writer_can_be_named(app: Flask, login_as: Any, make_user: Any) -> None:
    doc_id, coordinator, referent = _referral(login_as)
    archivist = make_user("archiviste", org="Association Habitat Solidaire")
    assert coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, archivist)).status_code == 422
    with app.app_context():
        db.session().get(User, referent.id).active = False
        db.session().commit()
    assert coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, referent)).status_code == 422
    assert _thread(app, doc_id) == ("soumis", [])


def test_only_a_validated_aml_orientation_opens_a_measure(app: Flask, login_as: Any) -> None:
    doc_id, coordinator, referent = _referral(login_as)
    response = coordinator.post(f"/documents/{doc_id}/decision", _decision(None, None))
    assert response.status_code == 422 and "Choisissez l&#39;opérateur désigné" in response.get_data(as_text=True)
    # ASRL, or an orientation not validated: a decision, no measure of the service.
    assert coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, referent, mesure="asrl")).status_code == 302
    assert _thread(app, doc_id) == ("decide", [])
    refused = _decision(None, None, orientation_validee="non_validee", motif="Hors public prioritaire.")
    assert coordinator.post(f"/documents/{doc_id}/decision", refused).status_code == 302
    assert _thread(app, doc_id) == ("decide", [])


def test_a_new_decision_may_change_the_referent_not_the_operator_once_the_measure_is_open(app: Flask, login_as: Any, make_user: Any) -> None:
    doc_id, coordinator, referent = _referral(login_as)
    assert coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, referent)).status_code == 302
    colleague = make_user("redacteur", org="Association Habitat Solidaire")
    assert coordinator.post(f"/documents/{doc_id}/decision", _decision(referent, colleague)).status_code == 302
    mesures = _thread(app, doc_id)[1]
    assert [m.referent_id for m in mesures] == [colleague.id]  # the same measure, its référent changed

    other = make_user("redacteur", org="Association Autre")
    response = coordinator.post(f"/documents/{doc_id}/decision", _decision(other, other))
    assert response.status_code == 422 and "a déjà été ouverte" in response.get_data(as_text=True)
    withdrawn = _decision(None, None, orientation_validee="non_validee", motif="Erreur.")
    assert coordinator.post(f"/documents/{doc_id}/decision", withdrawn).status_code == 422
    assert [(m.organisation_id, m.referent_id) for m in _thread(app, doc_id)[1]] == [(referent.organisation_id, colleague.id)]


def test_a_decision_typed_before_the_lists_stays_readable(app: Flask, login_as: Any) -> None:
    doc_id, coordinator, _ = _referral(login_as)
    legacy = {
        "orientation_validee": "validee", "mesure": "aml", "operateur": "Association d'avant", "referent": "Mme Ancienne",
        "date_decision": "2019-10-28", "motif": None,
    }
    with app.app_context():
        doc = db.session().get(Document, doc_id)
        doc.review, doc.statut = legacy, "decide"
        db.session().commit()
        ctx = svc_docs.context_for(doc)
        assert (ctx["revue"]["operateur"], ctx["revue"]["referent"]) == ("Association d'avant", "Mme Ancienne")
        assert db.session().scalar(select(func.count()).select_from(Mesure)) == 0
    page = coordinator.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "Association d&#39;avant" in page and "Mme Ancienne" in page


def test_a_measure_that_never_started_is_not_counted_terminee(app: Flask, login_as: Any) -> None:
    """ASLL §10 / §8: support starts on the first meeting; an order never met is not a measure ended."""
    web, _ = login_as("redacteur")
    # Both ordered in February 2019, so both would end in May 2019 from the order (§2.1 reading).
    open_mesure(web, date_bon_commande="2019-02-01", date_premiere_rencontre="2019-02-05")
    open_mesure(web, date_bon_commande="2019-02-01")  # never met: no first meeting
    with app.app_context():
        account = db.session().scalar(select(User).where(User.role == "redacteur"))
        figures = annual_figures(db.session(), account.organisation_id, 2019, dt.date(2019, 10, 14))
    assert figures["par_type"] == [{"type_mesure": "asll_installation", "suivies": 2, "commencees": 1, "terminees": 1, "renouvelees": 0}]
