"""A form's fields are rendered once per state (issue 11, the form page's speed) — and anew whenever anything shown changes."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask

from schemas import get_kind
from webforms.form_markup import FormFields
from webforms.forms import attach_errors, form_class, with_initial_rows

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
