"""What a draft's page lists "to fill" is exactly what a submit attempt flags, for every kind (issue 16, point 2).

Until the user tries to submit, a field only left empty is listed in the neutral box « Avant de
soumettre » (``webforms.forms.split_unfilled``), a value to correct is an error. A rule whose
one failure is "not given yet" but whose message was not declared with ``to_fill`` showed as an
error before anything was typed, and was missing from the box: a fresh bilan listed fewer fields
to fill than its submission then refused. Over the whole catalogue, so a new kind is covered.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from schemas import get_kind, registry
from schemas.base.kind import Kind
from webforms.forms import ShownForm, error_summary, form_class, normalised_times, payload_of, split_unfilled, with_initial_rows

KINDS = sorted(registry())


def anchors(kind: Kind, errors: dict[str, Any]) -> set[str]:
    return {row["anchor"] for row in error_summary(kind.schema, errors)}


def drafts(kind: Kind) -> Iterator[tuple[str, dict[str, Any]]]:
    """The empty draft, and the example with each of its parts (a field, a section's field) left empty, named by its path."""
    yield "", {}
    example = dict(kind.example)
    for key, value in example.items():
        yield key, {k: v for k, v in example.items() if k != key}
        if isinstance(value, dict):
            for sub in value:
                partial = copy.deepcopy(example)
                partial[key][sub] = None
                yield f"{key}.{sub}", partial


def to_fill_and_flagged(app: Flask, kind: Kind, draft: dict[str, Any]) -> tuple[set[str], set[str], set[str]]:
    """What the draft's page lists to fill and to correct, and what submitting the form shown flags."""
    shown = with_initial_rows(kind.schema, draft)
    # The page reads the stored draft (``documents.services.reading``) and shows it with its first rows.
    _, errors = kind.load_partial(draft)
    unfilled, wrong = split_unfilled(errors, draft)
    with app.test_request_context():
        # What the browser posts back: every field of the form shown, as it is.
        posted = normalised_times(kind.schema, payload_of(ShownForm(form_class(kind.schema), shown).form))
    return anchors(kind, unfilled), anchors(kind, wrong), anchors(kind, kind.validate(posted))


@pytest.mark.parametrize("name", KINDS)
def test_the_fields_listed_to_fill_are_those_a_submission_flags(app: Flask, name: str) -> None:
    kind = get_kind(name)
    app.config["WTF_CSRF_ENABLED"] = False
    for emptied, draft in drafts(kind):
        to_fill, to_correct, flagged = to_fill_and_flagged(app, kind, draft)
        assert to_fill | to_correct == flagged, (emptied, sorted((to_fill | to_correct) ^ flagged))
        # What was left empty is to fill, never an error to correct; the empty draft has nothing to correct.
        part = emptied.replace(".", "-")
        assert not [a for a in to_correct if a == part or a.startswith(f"{part}-")], (emptied, to_correct)
        assert emptied != "" or to_correct == set(), to_correct

