"""What a document kind declares: one object, in ``schemas/<kind>.py``, named ``KIND``."""

from __future__ import annotations

import copy
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any

from marshmallow import Schema, ValidationError

from schemas.base.fields import API_VALUES, schema_instance
from schemas.base.layout import Layout

# Readings of payloads kept per process (Kind.load_partial): the drafts in use, the empty forms.
READINGS_KEPT = 256
_READINGS: OrderedDict[Hashable, tuple[dict[str, Any], dict[str, Any]]] = OrderedDict()
_READINGS_LOCK = threading.Lock()


@dataclass(frozen=True)
class AttachmentRule:
    """A piece of a dossier: uploaded by the association, or produced by the service.

    ``formats`` are the kinds of file accepted for an upload (checked by content);
    ``generated`` pieces are produced from the form (an upload may replace them when
    ``formats`` is not empty). ``rows`` makes it one piece per row of the form: it returns, for
    given data, the label of each row a piece is needed for (the post of each planned
    recruitment); a piece remembers the label of the row it was deposited for, so a piece left
    behind by a changed or removed row is noticed. Without ``rows``, one piece.
    """

    name: str
    title: str
    required: bool = True
    formats: tuple[str, ...] = ()
    generated: bool = False
    max_mb: int = 10
    rows: Callable[[Mapping[str, Any]], list[str]] | None = None
    help: str = ""
    # Its file's name in the complete dossier, without the extension (by default its name).
    filename: str = ""
    # A generated piece is the PDF of an output of the kind: "document" (the kind's own), or
    # by default the annex of the piece's name; it is ready once its ``section`` of the form
    # is valid (None: the whole form).
    produced_from: str | None = None
    section: str | None = None

    def __post_init__(self) -> None:
        if not self.filename:
            object.__setattr__(self, "filename", self.name)

    def labels(self, data: Mapping[str, Any]) -> list[str]:
        """The label of each piece needed for ``data`` ("" for a single piece)."""
        return self.rows(data) if self.rows else [""]


@dataclass(frozen=True)
class Annex:
    """Another document produced from the same data (a letter to sign, an organisation chart).

    It is rendered from the same context as the kind's main document, with its own Word
    template (``docx``) and/or HTML template for the PDF (``html``). Any output can be
    downloaded from a complete draft, marked as a draft; one ``to_sign`` before the submission
    (the letter the legal representative signs and whose scan is a piece) is not marked.
    """

    name: str
    title: str
    docx: str | None = None
    html: str | None = None
    to_sign: bool = False


@dataclass(frozen=True)
class Output:
    """One file a kind produces: which document, which format, from which template."""

    name: str  # "document" for the kind's main document, else the annex's name
    title: str
    fmt: str  # "docx" or "pdf"
    template: str
    to_sign: bool = False  # signed before the submission: its preview is not marked as a draft
    # The kind whose layout produces this template when no file has it (Kind.generates).
    generated_from: Kind | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class Retention:
    """How long the signed copy of a document is kept, and what becomes of it then.

    The term runs from the end of what the document is about: its measure's end, its call's
    period end, or else its submission (``webforms.archive.services.retention_start``). An
    administrator may replace this default (``RetentionRule``).
    """

    years: int
    fate: str  # "destruction" or "transfert" (to the Archives départementales)


@dataclass(frozen=True)
class CallForm:
    """What a kind answering a call knows of the call's values (``Appel.data``, plain values).

    ``prefill`` gives a new dossier's payload from the call and the organisation's name;
    ``fixed`` returns a payload with what the call fixes, applied at every save;
    ``errors`` says what the call forbids in a payload, in marshmallow's layout.
    """

    prefill: Callable[[Mapping[str, Any], str], dict[str, Any]]
    fixed: Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]
    errors: Callable[[Mapping[str, Any], Mapping[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Review:
    """A second step taken on a submitted document by another role (e.g. the coordinator)."""

    schema: type[Schema]
    role: str
    title: str
    action_label: str
    example: Mapping[str, Any]
    docx_template: str | None = None  # the decision is printed by the kind's own templates


@dataclass(frozen=True)
class Kind:
    """A document kind of the catalogue.

    Everything about a kind lives here: its data (``schema``), how it is printed
    (``docx_template``, ``html_template``), who issues and receives it, its derived values,
    its attachments and due dates. Adding a kind means adding one such declaration and its
    two templates.
    """

    name: str
    title: str
    schema: type[Schema]
    docx_template: str
    html_template: str
    issuing_body: str
    source: str
    reference_prefix: str
    example: Mapping[str, Any]
    recipients: tuple[str, ...] = ()
    # Roles that receive the submitted document (besides its own organisation's writers).
    recipient_roles: frozenset[str] = frozenset({"instructeur", "archiviste"})
    derive: Callable[[Mapping[str, Any]], dict[str, Any]] = field(default=lambda data: {})
    # French labels of the derived values shown on the web page (name -> label).
    derived_labels: Mapping[str, str] = field(default_factory=dict)
    # What a reader must notice though it does not stop the submission (a need nobody covers),
    # one French sentence each, from the data and its derived values; shown beside the form,
    # on the checklist and on the document's page.
    alerts: Callable[[Mapping[str, Any], Mapping[str, Any]], list[str]] = field(default=lambda data, derived: [])
    summary: Callable[[Mapping[str, Any]], str] = field(default=lambda data: "")
    # What ``summary`` names, as the document's page labels it: the household, or a dossier's holder.
    summary_label: str = "Ménage"
    attachments: tuple[AttachmentRule, ...] = ()
    review: Review | None = None
    # Documents started from a measure: which measure types, and the draft prefilled from the
    # measure's plain values (see webforms.mesures.services.plain).
    mesure_types: frozenset[str] = frozenset()
    prefill: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None
    # True for a measure's bilan: it answers one of the measure's due bilans (its "slot"); its
    # due date is the measure's (webforms/mesures/rules.py: ASLL §9, AML §4).
    is_bilan: bool = False
    # True when documents of the kind answer a call for applications (Document.appel).
    per_appel: bool = False
    # For a kind answering a call: how its form follows the call's values.
    call: CallForm | None = None
    # True for long forms: one top-level group per page, with a progress indicator.
    steps: bool = False
    # Other documents produced from the same data, each with its own templates.
    annexes: tuple[Annex, ...] = ()
    # False for kinds started from something else (a measure's bilan, a call's dossier, the
    # operator's yearly bilan): they are not offered under "Nouveau document".
    standalone: bool = True
    # Default retention of the archived signed copy (the sources are silent: docs/decisions.md).
    retention: Retention = Retention(5, "destruction")
    # How a plain kind is printed (schemas/base/layout.py): its Word and PDF templates, and its
    # web page, come from it; a template file of its own name, when there is one, takes precedence.
    layout: Layout | None = None

    def generates(self, template: str) -> bool:
        """Tell whether ``template`` is produced from the layout when no file has it.

        Only the kind's own names are (``<name>.docx``, ``<name>.html``): a template named
        otherwise is a file that must exist.
        """
        return self.layout is not None and template in (f"{self.name}.docx", f"{self.name}.html")

    def outputs(self) -> list[Output]:
        """Every file the kind produces: its main document in DOCX and PDF, then its annexes."""
        out = [
            Output("document", self.title, fmt, template, generated_from=self if self.generates(template) else None)
            for fmt, template in (("docx", self.docx_template), ("pdf", self.html_template))
        ]
        for annex in self.annexes:
            if annex.docx:
                out.append(Output(annex.name, annex.title, "docx", annex.docx, annex.to_sign))
            if annex.html:
                out.append(Output(annex.name, annex.title, "pdf", annex.html, annex.to_sign))
        return out

    def output(self, fmt: str, name: str = "document") -> Output:
        """Return the output ``name`` in ``fmt`` (by default the kind's main document)."""
        for output in self.outputs():
            if output.name == name and output.fmt == fmt:
                return output
        raise ValueError(f"« {self.name} » ne produit pas « {name} » en {fmt}.")

    def validate(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Return marshmallow's nested error layout for ``payload`` (empty when valid)."""
        return schema_instance(self.schema).validate(payload)

    def load(self, payload: Mapping[str, Any]) -> dict[str, Any]:
        """Return the typed data of a valid payload; raise ``ValidationError`` otherwise."""
        return schema_instance(self.schema).load(payload)

    def load_partial(self, payload: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        """Return ``(valid part, errors)``: what a draft already says correctly, and its problems.

        The reading of a payload is kept (``_READINGS``): a draft's page reads the same saved
        data at each opening, and the load was a tenth of that page's CPU (issue 11). The
        reading depends on the payload and on ``API_VALUES`` only (the schemas read no clock
        and no database: ``tests/test_layers.py`` guards it); each caller gets its own copy.
        """
        try:
            key: Hashable | None = (self.schema, API_VALUES.get(), json.dumps(payload))
        except (TypeError, ValueError):
            key = None  # not plain JSON: read every time
        with _READINGS_LOCK:
            kept = _READINGS.get(key) if key is not None else None
            if kept is not None:
                _READINGS.move_to_end(key)
        if kept is not None:
            return copy.deepcopy(kept)
        try:
            reading: tuple[dict[str, Any], dict[str, Any]] = (schema_instance(self.schema).load(payload), {})
        except ValidationError as err:
            valid = err.valid_data if isinstance(err.valid_data, dict) else {}
            reading = (valid, err.normalized_messages())  # type: ignore[assignment]
        if key is not None:
            with _READINGS_LOCK:
                _READINGS[key] = copy.deepcopy(reading)
                while len(_READINGS) > READINGS_KEPT:
                    _READINGS.popitem(last=False)
        return reading

    def alerts_for(self, payload: Mapping[str, Any]) -> list[str]:
        """The alerts of a payload, from what it already says correctly (a draft too)."""
        valid, _ = self.load_partial(payload)
        return self.alerts(valid, self.derive(valid))

    def dump(self, data: Mapping[str, Any]) -> dict[str, Any]:
        """Return typed data as JSON-ready values (ISO dates, amounts as strings)."""
        return schema_instance(self.schema).dump(data)


class KindDeclarationError(Exception):
    """A kind is declared wrongly; the message says which and why."""
