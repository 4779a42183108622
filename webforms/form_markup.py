"""The markup of a form's fields: one macro renders them, and a form in a state already shown is not rendered again.

Rendering the fields (the ``render_field`` macro of ``_macros.html`` and WTForms' widgets) was
half of the form page's time (issue 11: the form page at ≥ 300 requests/s, measured by
``bench/load_bench.py``). Every page showing a form calls ``form_fields(form, level)``; the
markup is kept, per process, under a fingerprint of everything the macro reads of the form
(each field's type, id, name, label, help, errors, attributes, choices and value, every level
down). The same empty form, or a draft opened again unchanged, then costs the fingerprint
only. The CSRF token is not part of the fields' markup: each page renders its own. A form
shown from stored data (``webforms.forms.ShownForm``: a draft opened, an empty form) is found
by its class, data and errors, before its fields are even built.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any

from jinja2 import Environment
from markupsafe import Markup

# Rendered forms kept per process: an empty form per kind and step, and the drafts in use.
KEPT = 256


def fingerprint(field: Any) -> Hashable:
    """Return what the ``render_field`` macro reads of ``field`` (and of its sub-fields), as a hashable value."""
    if field.type == "FormField":
        sub = field.form
        return ("F", field.id, field.label.text, field.description, tuple(sub.form_errors), tuple(fingerprint(f) for f in sub))
    if field.type == "FieldList":
        rows = tuple((entry.id, tuple(entry.form.form_errors), tuple(fingerprint(f) for f in entry.form)) for entry in field.entries)
        return ("L", field.id, field.label.text, field.description, repr(field.errors), repr(field.render_kw), rows)
    choices = getattr(field, "choices", None)
    return (
        field.type,
        field.id,
        field.name,
        field.label.text,
        field.description,
        repr(field.errors),
        repr(field.render_kw),
        repr(choices),
        repr(field.data),
        repr(field.raw_data),
    )


class FormFields:
    """The Jinja global ``form_fields(form, level)``: the markup of every field of ``form`` but its CSRF token."""

    def __init__(self, env: Environment, kept: int = KEPT) -> None:
        self.env = env
        self.kept = kept
        self._markup: OrderedDict[Hashable, Markup] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, form: Any, level: int = 0) -> Markup:
        """Return the fields' markup, rendered now or kept from the same state."""
        shown = getattr(form, "markup_key", None)
        if shown is not None:
            # A form shown from stored data (webforms.forms.ShownForm): its state is known
            # before its fields are built, and they are built only if it was not rendered.
            key: Hashable = ("shown", level, shown)
            found = self._found(key)
            if found is None:
                found = self._keep(key, self(form.form, level))
            return found
        fields = [field for field in form if field.name != "csrf_token"]
        key = (type(form).__name__, level, tuple(fingerprint(field) for field in fields))
        found = self._found(key)
        if found is not None:
            return found
        render_field = self.env.get_template("_macros.html").module.render_field  # type: ignore[attr-defined]
        return self._keep(key, Markup("").join(render_field(field, level) for field in fields))

    def _found(self, key: Hashable) -> Markup | None:
        with self._lock:
            found = self._markup.get(key)
            if found is not None:
                self._markup.move_to_end(key)
            return found

    def _keep(self, key: Hashable, markup: Markup) -> Markup:
        with self._lock:
            self._markup[key] = markup
            while len(self._markup) > self.kept:
                self._markup.popitem(last=False)
        return markup
