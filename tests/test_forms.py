"""The web forms' shortcuts taken for speed give what the slower way gave."""

from __future__ import annotations

from typing import Any

import pytest
import wtforms.widgets
import wtforms.widgets.core
from markupsafe import Markup
from wtforms import Form, SelectField, StringField
from wtforms.widgets.core import Input, clean_key, escape

from schemas import get_kind
from schemas.base.fields import REQUIRED, schema_instance
from webforms.forms import html_params, select_choices, split_unfilled


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
    assert unfilled == {"prescripteur": {"nom": [REQUIRED]}, "menage": {"enfants": {0: {"prenom": [REQUIRED]}}}}
    assert rest == {"prescripteur": {"courriel": ["Adresse électronique invalide."]}, "menage": {"_schema": [REQUIRED]}, "orientation": [REQUIRED, "Choix inconnu."]}
