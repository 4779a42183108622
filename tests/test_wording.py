"""What pages say, in plain French (issue 16, point 8): no jargon up front, no slips."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from flask import Flask

from schemas import get_kind
from tests.conftest import Clock
from tests.test_candidatures import BEFORE_DEADLINE, example, fill_steps, open_dossier
from tests.test_mesures_web import open_mesure
from tests.test_web import submitted
from webforms import db
from webforms.models import Document


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&#39;", "'").split())


def test_a_document_names_its_household_and_keeps_digests_under_technical_details(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    page = web.get(f"/documents/{submitted(web, 'fiche_saisine')}").get_data(as_text=True)
    assert "<dt>Ménage</dt>" in page
    before, _, details = page.partition('<details class="technical">')
    assert details, "the digests have their own technical section"
    assert not re.search(r"\b[0-9a-f]{64}\b", before), "a SHA-256 is shown outside the technical details"
    assert re.search(r"<code>[0-9a-f]{64}</code>", details)
    assert "SHA-256" not in before


def test_a_candidature_names_its_holder_not_a_household(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    page = web.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert "<dt>Porteur du projet</dt>" in page and "<dt>Ménage</dt>" not in page


def test_one_point_or_several_points_to_correct(app: Flask, login_as: Any, clock: Clock) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    data = example()
    data["porteur"]["siret"] = "123"
    fill_steps(web, doc_id, data)
    text = _text(web.get(f"/documents/{doc_id}/liste").get_data(as_text=True))
    assert "1 point à corriger" in text and "point(s)" not in text
    data["porteur"]["contact_telephone"] = "pas un numéro"
    fill_steps(web, doc_id, data)
    assert "2 points à corriger" in _text(web.get(f"/documents/{doc_id}/liste").get_data(as_text=True))


def test_the_home_page_says_whose_documents_these_are(login_as: Any) -> None:
    web, _ = login_as("redacteur", org="Association Habitat Solidaire")
    text = _text(web.get("/").get_data(as_text=True))
    assert "Documents de votre organisation (Association Habitat Solidaire)" in text
    assert "Documents de Association" not in text


def test_archivistes_are_not_shown_command_lines(login_as: Any) -> None:
    web, _ = login_as("archiviste", org="Archives départementales")
    text = _text(web.get("/archives").get_data(as_text=True))
    assert "webforms archive" not in text and "demandez à l'administrateur" in text


def test_an_aml_measure_does_not_cite_the_asll_rules(login_as: Any) -> None:
    web, _ = login_as("redacteur")
    asll = _text(web.get(f"/mesures/{open_mesure(web)}").get_data(as_text=True))
    assert "Début de l'accompagnement (première rencontre, ASLL §8)" in asll
    aml = _text(web.get(f"/mesures/{open_mesure(web, type_mesure='aml', duree_mois='12')}").get_data(as_text=True))
    assert "Début de l'accompagnement (première rencontre)" in aml and "ASLL §8" not in aml


def _to_decide(web: Any) -> str:
    page = web.get("/").get_data(as_text=True)
    _, _, section = page.partition('<h2 id="decide-title">')
    return _text(section.partition("</section>")[0])


def test_the_coordinators_home_page_lists_the_referrals_waiting_for_a_decision(app: Flask, login_as: Any, clock: Clock) -> None:
    """Issue 16, point 9: oldest first, with how long each has waited; gone once decided."""
    writer, _ = login_as("redacteur", territoires=("aml-lens-henin",))  # the operator the example decision names (account 1): it works on Lens-Hénin (AML §1)
    first = submitted(writer, "fiche_saisine")
    clock.now += dt.timedelta(days=3)
    second = submitted(writer, "fiche_saisine")
    submitted(writer, "fiche_incident")  # not the coordinator's to decide
    coordinator, _ = login_as("coordinateur", org="Plateforme Logement d'abord Lens-Hénin")
    waiting = _to_decide(coordinator)
    assert waiting.startswith("En attente de votre décision (2)")
    with app.app_context():
        references = [db.session().get(Document, d).reference for d in (first, second)]
    assert waiting.index(references[0]) < waiting.index(references[1])
    assert "soumis le 14 octobre 2019 (il y a 3 jours)" in waiting and "Fiche d'incident" not in waiting
    # The other side of the territory: a coordinator of Artois is not asked to decide on Lens-Hénin's referrals.
    artois, _ = login_as("coordinateur", org="Plateforme Logement d'abord Artois", territoires=("aml-artois",))
    assert all(reference not in _to_decide(artois) for reference in references)
    assert "En attente de votre décision (" not in _to_decide(artois)
    decision = {k: v for k, v in get_kind("fiche_saisine").review.example.items() if v}  # type: ignore[union-attr]
    assert coordinator.post(f"/documents/{first}/decision", decision).status_code == 302
    waiting = _to_decide(coordinator)
    assert waiting.startswith("En attente de votre décision (1)") and references[0] not in waiting
    instructeur, _ = login_as("instructeur", org="Département")
    assert _to_decide(instructeur) == ""  # not theirs to decide


def test_the_accessibility_statement_is_public_and_linked_from_every_page(app: Flask, login_as: Any, web: Any) -> None:
    """Issue 16, point 11 (RGAA 4.1): the statement, its status in every page's footer."""
    text = _text(web.get("/accessibilite").get_data(as_text=True))  # signed out
    assert "Le service est non conforme au référentiel général d'amélioration de l'accessibilité (RGAA), version 4.1" in text
    assert "Défenseur des droits" in text and "écrivez à l'administrateur du service" in text
    writer, _ = login_as("redacteur")
    for url in ("/", "/appels", "/mesures/"):
        assert '<a href="/accessibilite">Accessibilité : non conforme</a>' in writer.get(url).get_data(as_text=True), url
    app.config.update(ACCESSIBILITE_AUDIT="12 mars 2027", ACCESSIBILITE_CONTACT="accessibilite@pasdecalais.fr")
    text = _text(web.get("/accessibilite").get_data(as_text=True))
    assert "partiellement conforme au référentiel général d'amélioration de l'accessibilité (RGAA), version 4.1, au regard de l'audit du 12 mars 2027" in text
    assert "écrivez à accessibilite@pasdecalais.fr" in text
    assert "Accessibilité : partiellement conforme" in writer.get("/").get_data(as_text=True)


def test_a_form_refused_for_its_token_says_so_without_jargon(login_as: Any) -> None:
    """Issue 16, point 8: no « jeton CSRF » nor « Requête invalide » when a post is not kept; the same post with its token passes."""
    web, _ = login_as("redacteur")
    refused = web.post("/documents/nouveau/fiche_saisine", {"action": "save"}, csrf=False)
    text = _text(refused.get_data(as_text=True))
    assert refused.status_code == 400 and "Ce formulaire n'est plus valable" in text
    assert "CSRF" not in text and "jeton" not in text and "Requête invalide" not in text
    assert web.post("/documents/nouveau/fiche_saisine", {"action": "save"}).status_code == 302
