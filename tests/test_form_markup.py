"""A form's fields are rendered once per state (issue 11, the form page's speed) — and anew whenever anything shown changes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from schemas import get_kind
from webforms.form_markup import FormFields
from webforms.forms import ShownForm, attach_errors, form_class, with_initial_rows

KIND = get_kind("fiche_saisine")


def example() -> dict[str, Any]:
    return with_initial_rows(KIND.schema, copy.deepcopy(KIND.example))


def markup_of(app: Flask, fields: FormFields, data: dict[str, Any], change: Callable[[Any], None] | None = None) -> str:
    with app.test_request_context():
        form = form_class(KIND.schema)(formdata=None, data=data)
        if change is not None:
            change(form)
        return str(fields(form, 0))


def test_the_same_state_is_rendered_once(app: Flask) -> None:
    """Shown twice unchanged, a form is rendered once: the second page gets the same markup."""
    fields = FormFields(app.jinja_env)
    with app.test_request_context():
        first = fields(form_class(KIND.schema)(formdata=None, data=example()), 0)
        again = fields(form_class(KIND.schema)(formdata=None, data=example()), 0)
    assert again is first
    assert 'name="prescripteur-nom"' in first and "csrf_token" not in first


def _set_name(data: dict[str, Any]) -> None:
    data["menage"]["demandeur"]["nom"] = "Nom-Changé"


def _add_child(data: dict[str, Any]) -> None:
    data["menage"]["enfants"] = [*data["menage"].get("enfants", []), {"prenom": "Enfant-Ajouté"}]


def _orientation(data: dict[str, Any]) -> None:
    data["orientation"]["orientation"] = next(value for value, _ in KIND.schema().fields["orientation"].schema.fields["orientation"].metadata["choices"] if value != data["orientation"].get("orientation"))


@pytest.mark.parametrize("change", [_set_name, _add_child, _orientation], ids=["nested value", "row added", "radio choice"])
def test_a_changed_value_renders_anew(app: Flask, change: Callable[[dict[str, Any]], None]) -> None:
    """A value at any depth, a row, a choice: the new state's markup, never the kept one."""
    fields = FormFields(app.jinja_env)
    before = markup_of(app, fields, example())
    data = example()
    change(data)
    after = markup_of(app, fields, data)
    assert after != before
    assert after == markup_of(app, FormFields(app.jinja_env), data), "the same as a form rendered without anything kept"


def test_errors_are_shown_on_a_form_kept_without_them(app: Flask) -> None:
    """The error of a failed save shows, though the same values were rendered before without errors."""
    fields = FormFields(app.jinja_env)
    markup_of(app, fields, example())
    shown = markup_of(app, fields, example(), lambda form: attach_errors(form, {"prescripteur": {"nom": ["Message d'erreur de test."]}}))
    assert "Message d&#39;erreur de test." in shown and 'aria-invalid="true"' in shown


def test_only_the_latest_states_are_kept(app: Flask) -> None:
    """The memory is bounded: past its size, the oldest state goes."""
    fields = FormFields(app.jinja_env, kept=2)
    for name in ("Un", "Deux", "Trois"):
        data = example()
        data["menage"]["demandeur"]["nom"] = name
        markup_of(app, fields, data)
    assert len(fields._markup) == 2


SHOWN_STATES = {
    "empty": ({}, {}),
    "example": (KIND.example, {}),
    "field errors": (KIND.example, {"prescripteur": {"nom": ["Message d'erreur de test."]}}),
    "form errors": (KIND.example, {"_schema": ["Erreur du formulaire."], "inconnu": ["Erreur sans champ."], "data": ["Nom d'attribut."]}),
}


def _page_parts(app: Flask, fields: FormFields, form: Any) -> tuple[str, str, str]:
    return str(form.csrf_token), " ".join(form.form_errors), str(fields(form, 0))


@pytest.mark.parametrize("state", SHOWN_STATES, ids=list(SHOWN_STATES))
def test_a_shown_form_shows_what_the_built_form_shows(app: Flask, state: str) -> None:
    """A form given as ShownForm (not built) gives the page the same token, form errors and fields as the form built."""
    data, errors = SHOWN_STATES[state]
    with app.test_request_context():
        built = form_class(KIND.schema)(formdata=None, data=with_initial_rows(KIND.schema, copy.deepcopy(data)))
        attach_errors(built, errors)
        expected = _page_parts(app, FormFields(app.jinja_env), built)
        fields = FormFields(app.jinja_env)
        for time in ("rendered", "found kept"):
            shown = ShownForm(form_class(KIND.schema), with_initial_rows(KIND.schema, copy.deepcopy(data))).showing(errors)
            assert _page_parts(app, fields, shown) == expected
            # Found kept, its fields are not built (unless it has form-level errors to show).
            assert (shown._form is None) == (time == "found kept" and state != "form errors")
    assert 'name="csrf_token"' in expected[0]
    assert ("Erreur du formulaire." in expected[1] and "inconnu : Erreur sans champ." in expected[1]) == (state == "form errors")


@pytest.mark.parametrize("change", [_set_name, _add_child, _orientation], ids=["nested value", "row added", "radio choice"])
def test_a_shown_form_changed_renders_anew(app: Flask, change: Callable[[dict[str, Any]], None]) -> None:
    """Kept by its data, a shown form whose value, row or choice changed is rendered anew, as the built form is."""
    fields = FormFields(app.jinja_env)
    with app.test_request_context():
        before = str(fields(ShownForm(form_class(KIND.schema), example()), 0))
        data = example()
        change(data)
        after = str(fields(ShownForm(form_class(KIND.schema), data), 0))
        errors = {"prescripteur": {"nom": ["Message d'erreur de test."]}}
        with_errors = str(fields(ShownForm(form_class(KIND.schema), data).showing(errors), 0))
    assert after != before
    assert after == markup_of(app, FormFields(app.jinja_env), data)
    assert with_errors == markup_of(app, FormFields(app.jinja_env), data, lambda form: attach_errors(form, errors))
