"""The web forms' shortcuts taken for speed give what the slower way gave."""

from __future__ import annotations

from typing import Any

import pytest
import wtforms.widgets
import wtforms.widgets.core
from flask import Flask
from markupsafe import Markup
from wtforms import Form, SelectField, StringField
from wtforms.widgets.core import Input, clean_key, escape

from schemas import candidature_aml, get_kind, registry
from schemas.base.fields import REQUIRED, schema_instance
from schemas.base.kind import Kind
from tests.test_web import doc_id_from, example_form
from webforms.forms import form_class, html_params, payload_of, select_choices, split_unfilled


def wtforms_html_params(**kwargs: Any) -> Markup:
    """WTForms 3.3's own ``html_params``, as released (the reference the shortcut must equal)."""
    params = []
    for k, v in sorted(kwargs.items()):
        k = clean_key(k)
        if v is True:
            params.append(k)
        elif v is False:
            pass
        else:
            v = escape(v).replace(Markup('"'), Markup("&quot;"))
            params.append(Markup('{k}="{v}"').format(k=k, v=v))
    return Markup(" ").join(params)


@pytest.mark.parametrize(
    "attrs",
    [
        {},
        {"name": "menage-enfants-0-prenom", "id": "menage-enfants-0-prenom", "value": "Léo"},
        {"value": 'x<"&\'>', "class_": "wide", "for_": "a"},
        {"value": Markup('déjà "sûr" &amp; <b>')},
        {"checked": True, "readonly": False, "required": True, "name": "n"},
        {"data_row_label": "Enfant", "aria_required": "true", "aria_describedby": "a-help a-error"},
        {"value": 0, "maxlength": 12, "step": 0.5, "placeholder": None},
        {"<odd key>": "v", "data_x_y": "1"},
    ],
)
def test_html_params_equals_wtforms_own(attrs: dict[str, Any]) -> None:
    ours = html_params(**attrs)
    assert ours == wtforms_html_params(**attrs)
    assert isinstance(ours, Markup)


def test_wtforms_renders_inputs_selects_and_labels_with_it() -> None:
    class Sample(Form):
        name = StringField("Nom <b>", render_kw={"placeholder": 'dit "X"'})
        choice = SelectField("Choix", choices=select_choices([("a", "A & B"), ("", "— Choisir —")]))

    form = Sample(data={"name": 'O"Brien & <fils>', "choice": "a"})
    # Where WTForms looks it up: <input>'s hook, the widgets' module (selects), the package (labels).
    assert Input.html_params is wtforms.widgets.core.html_params is wtforms.widgets.html_params is html_params
    assert str(form.name()) == '<input id="name" name="name" placeholder="dit &#34;X&#34;" type="text" value="O&#34;Brien &amp; &lt;fils&gt;">'
    assert str(form.choice()) == '<select id="choice" name="choice"><option selected value="a">A &amp; B</option><option value="">— Choisir —</option></select>'
    assert str(form.name.label()) == '<label for="name">Nom &lt;b&gt;</label>'


def test_a_shared_schema_keeps_nothing_of_a_previous_load() -> None:
    kind = get_kind("fiche_saisine")
    assert schema_instance(kind.schema) is schema_instance(kind.schema)
    broken = {**dict(kind.example), "date_saisine": "pas une date"}
    _, errors = kind.load_partial(broken)
    assert "date_saisine" in errors
    valid, errors = kind.load_partial(dict(kind.example))
    assert errors == {} and valid["date_saisine"].isoformat() == kind.example["date_saisine"]
    assert kind.validate(dict(kind.example)) == {}


def test_only_fields_left_empty_are_set_apart_from_the_errors() -> None:
    """« Ce champ est obligatoire. » alone is a field left empty, at any depth; a wrong value or a rule stays an error (issue 16, point 2)."""
    errors = {
        "prescripteur": {"nom": [REQUIRED], "courriel": ["Adresse électronique invalide."]},
        "menage": {"enfants": {0: {"prenom": [REQUIRED]}}, "_schema": [REQUIRED]},
        "orientation": [REQUIRED, "Choix inconnu."],
    }
    unfilled, rest = split_unfilled(errors)
    assert unfilled == {"prescripteur": {"nom": [REQUIRED]}, "menage": {"enfants": {0: {"prenom": [REQUIRED]}}, "_schema": [REQUIRED]}}
    assert rest == {"prescripteur": {"courriel": ["Adresse électronique invalide."]}, "orientation": [REQUIRED, "Choix inconnu."]}


def test_a_rule_that_only_asks_for_a_choice_not_made_yet_is_left_to_fill() -> None:
    """A box to tick, at least one to check or to ask (declared ``to_fill``) is to fill; any other rule is an error (issue 16, point 2)."""
    errors = {
        "porteur": {"eligibilite": [candidature_aml.NOT_ELIGIBLE], "siret": ["Ce SIRET n'existe pas."]},
        "mesures": {"_schema": [candidature_aml.NO_MESURE]},
        "prestations": ["Cochez au moins une prestation délivrée (AML §4)."],  # MultiChoice(min=1)
        "deux": ["Cochez au moins deux cases."],  # min=2: not a choice not made, a rule
    }
    unfilled, rest = split_unfilled(errors)
    assert unfilled == {"porteur": {"eligibilite": [candidature_aml.NOT_ELIGIBLE]}, "mesures": {"_schema": [candidature_aml.NO_MESURE]}, "prestations": errors["prestations"]}
    assert rest == {"porteur": {"siret": ["Ce SIRET n'existe pas."]}, "deux": ["Cochez au moins deux cases."]}


@pytest.mark.parametrize("name", sorted(registry()))
def test_a_form_posted_empty_has_nothing_to_correct_only_fields_to_fill(app: Flask, name: str) -> None:
    """Every kind's form posted with nothing typed (as a browser posts it: empty texts, no box ticked): no error before a try."""
    kind = get_kind(name)
    with app.test_request_context(method="POST", data={}):
        form = form_class(kind.schema)(meta={"csrf": False})
        _, errors = kind.load_partial(payload_of(form))
    unfilled, rest = split_unfilled(errors)
    assert rest == {} and unfilled, rest


def broken_payloads(kind: Kind) -> list[dict[str, Any]]:
    """A kind's example, empty, and with each top-level field given a value of the wrong shape."""
    example = dict(kind.example)
    return [example, {}] + [{**example, name: "pas ça"} for name in example] + [{**example, name: None} for name in example]


@pytest.mark.parametrize("name", sorted(registry()))
def test_reading_a_draft_once_finds_the_problems_a_validation_finds(name: str) -> None:
    """The draft page reads its data once (``load_partial``) for both its problems and its computed values (issue 11)."""
    kind = get_kind(name)
    for payload in broken_payloads(kind):
        assert kind.load_partial(payload)[1] == kind.validate(payload)


def test_a_saved_drafts_page_reads_its_data_once(app: Flask, login_as: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """One marshmallow load per draft page, whatever it shows: problems, computed values and alerts (issue 11)."""
    web, _ = login_as("redacteur")
    form = example_form("fiche_saisine") | {"prescripteur-email": "pas une adresse", "action": "save"}
    doc_id = doc_id_from(web.post("/documents/nouveau/fiche_saisine", form))
    loads: list[str] = []
    for method in ("load_partial", "validate", "load"):
        original = getattr(Kind, method)
        monkeypatch.setattr(Kind, method, lambda self, payload, _m=method, _o=original: loads.append(_m) or _o(self, payload))
    page = web.get(f"/documents/{doc_id}/modifier?verifier=1").get_data(as_text=True)
    assert loads == ["load_partial"]
    assert "Adresse électronique invalide." in page  # the one read still shows the problem
