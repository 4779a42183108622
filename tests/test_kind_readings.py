"""A payload's reading is kept per process (issue 11, the form page's speed) — and never stale nor shared."""

from __future__ import annotations

import copy
import datetime as dt

from schemas import get_kind
from schemas.base import kind as kind_module
from schemas.base.fields import API_VALUES

KIND = get_kind("fiche_saisine")


def example() -> dict:
    return copy.deepcopy(dict(KIND.example))


def test_the_same_payload_is_read_once_and_gives_the_same() -> None:
    """Read twice, a payload is loaded once; both readings are equal, and equal to the schema's own."""
    kind_module._READINGS.clear()
    first = KIND.load_partial(example())
    assert len(kind_module._READINGS) == 1
    again = KIND.load_partial(example())
    assert again == first
    assert len(kind_module._READINGS) == 1
    assert first == (KIND.load(example()), {})


def test_a_changed_payload_is_read_anew() -> None:
    """A value made wrong, then right again: its errors come and go at once."""
    payload = example()
    assert KIND.load_partial(payload)[1] == {}
    payload["menage"]["demandeur"]["date_naissance"] = "31/02/1996"
    valid, errors = KIND.load_partial(payload)
    assert "date_naissance" in errors["menage"]["demandeur"]
    assert "date_naissance" not in valid["menage"]["demandeur"]
    payload["menage"]["demandeur"]["date_naissance"] = "02/03/1996"
    valid, errors = KIND.load_partial(payload)
    assert errors == {} and valid["menage"]["demandeur"]["date_naissance"] == dt.date(1996, 3, 2)


def test_a_reading_changed_by_its_caller_does_not_change_the_next() -> None:
    """Each caller gets its own copy: changing what one got changes nothing kept."""
    valid, errors = KIND.load_partial({})
    valid["intrus"] = 1
    errors.clear()
    again_valid, again_errors = KIND.load_partial({})
    assert "intrus" not in again_valid and again_errors


def test_the_api_s_strict_values_are_read_apart() -> None:
    """The same payload read under the API's rules (ISO dates only) is not given the form's reading."""
    payload = example()
    payload["menage"]["demandeur"]["date_naissance"] = "02/03/1996"
    assert KIND.load_partial(payload)[1] == {}
    token = API_VALUES.set(True)
    try:
        assert "date_naissance" in KIND.load_partial(payload)[1]["menage"]["demandeur"]
    finally:
        API_VALUES.reset(token)


def test_only_the_latest_readings_are_kept(monkeypatch) -> None:
    """The memory is bounded: past its size, the oldest reading goes."""
    monkeypatch.setattr(kind_module, "READINGS_KEPT", 2)
    kind_module._READINGS.clear()
    for name in ("Un", "Deux", "Trois"):
        payload = example()
        payload["menage"]["demandeur"]["nom"] = name
        KIND.load_partial(payload)
    assert len(kind_module._READINGS) == 2
