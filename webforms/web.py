"""What views share: the app's services, per-view upload limits, reading a posted form, a service's refusal.

Views parse the request, call a service, then render or redirect; the services they call are
reached one way, ``services()``, which also carries the clock. A service refuses by raising one
of ``REFUSALS`` with a French message; ``attempt`` turns that into a value the view shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from flask import Flask, current_app, flash, request
from flask_wtf import FlaskForm

from schemas import DOCX_DIR, HTML_DIR
from webforms import db
from webforms.accounts.services import AccountError
from webforms.archive.seal import load_seal_key
from webforms.archive.services import ArchiveError, ArchiveServices
from webforms.archive.signatures import load_trust_roots
from webforms.archive.timestamps import authority
from webforms.documents.services import Services
from webforms.documents.storage import ArchiveStore, FileStore
from webforms.documents.uploads import UploadRefused
from webforms.errors import DISK_FULL, DocumentError, ValidationFailed, disk_full
from webforms.forms import attach_errors, payload_of
from webforms.modeles.services import InForceTemplates
from webforms.rendering import Renderer
from webforms.rendering.identity import identity_from
from webforms.timeutil import paris_date

View = TypeVar("View", bound=Callable[..., Any])
T = TypeVar("T")


@dataclass(frozen=True)
class AppServices:
    """The app's services as views and commands reach them: the documents', the archive's, the clock."""

    documents: Services
    archive: ArchiveServices

    @property
    def clock(self) -> Callable[[], dt.datetime]:
        """Return the app's clock (injectable, so tests never depend on today's date)."""
        return self.documents.clock

    def today(self) -> dt.date:
        """Return today's date in Paris by the app's clock."""
        return paris_date(self.clock())


def init_services(app: Flask) -> None:
    """Build the documents' and the archive's services from the app's configuration."""
    config = app.config
    store = FileStore(config["STORAGE_DIR"])
    documents = Services(
        store=store,
        renderer=Renderer(
            # The administrator's override directory comes first (docs/word-templates.md).
            docx_dirs=[Path(config["DOCX_OVERRIDE_DIR"]), DOCX_DIR],
            html_dirs=[Path(config["HTML_OVERRIDE_DIR"]), HTML_DIR],
            # Before them, the version put in force from the admin page, the database's (issue 18).
            in_force=InForceTemplates(app.extensions["webforms.sessions"], store),
            identity=identity_from(config["DEPARTEMENT_NOM"], config["DEPARTEMENT_ADRESSE"], config["DEPARTEMENT_LOGO"]),
        ),
        clock=config["CLOCK"],
    )
    # WeasyPrint (≈ 0.5 s to import) is loaded at start-up, so that no request pays for it.
    documents.renderer.printer()
    # Read at start-up too: a misconfigured trust directory stops the start with its name.
    load_trust_roots(Path(config["ARCHIVE_TRUST_DIR"]))
    app.extensions["webforms.services"] = documents
    app.extensions["webforms.archive"] = ArchiveServices(
        archive=ArchiveStore(config["ARCHIVE_DIR"]),
        files=documents.store,
        clock=config["CLOCK"],
        trust_dir=Path(config["ARCHIVE_TRUST_DIR"]),
        max_bytes=config["ARCHIVE_MAX_MB"] << 20,  # WEBFORMS_ARCHIVE_MAX_MB=30 is read as JSON: a number
        archival_agency=config["ARCHIVE_ARCHIVAL_AGENCY"],
        transferring_agency=config["ARCHIVE_TRANSFERRING_AGENCY"],
        # Read at start-up: an unreadable key stops the start with its name.
        seal_key=load_seal_key(Path(config["ARCHIVE_SEAL_KEY_FILE"])),
        anchor=Path(config["ARCHIVE_ANCHOR_FILE"]),
        timestamper=authority(config["ARCHIVE_TSA_URL"]),
        seal_key_file=Path(config["ARCHIVE_SEAL_KEY_FILE"]),
        data_dirs=tuple(Path(name) for name in (app.instance_path, config["STORAGE_DIR"], config["ARCHIVE_DIR"])),
    )
    # A key or an anchor left in the data directory (the defaults) is said at each start (issue 15).
    for warning in app.extensions["webforms.archive"].placement_warnings():
        app.logger.warning(warning)


def services_of(app: Flask) -> AppServices:
    """Return the services ``init_services`` built for ``app``."""
    return AppServices(documents=app.extensions["webforms.services"], archive=app.extensions["webforms.archive"])


def services() -> AppServices:
    """Return the current app's services."""
    return services_of(current_app)


def upload_limit(megabytes: Callable[[], int]) -> Callable[[View], View]:
    """Let a view receive a file of up to ``megabytes()`` MB instead of the app's request limit."""

    # Applied before the form is parsed (CSRF included), with 1 MB more for the form around the
    # file: a file just over the limit then reaches the view's own check, whose message names
    # the piece and its limit, instead of the generic 413 page.
    def mark(view: View) -> View:
        view.upload_limit_mb = megabytes  # type: ignore[attr-defined]
        return view

    return mark


def upload_limit_of(view: Callable[..., Any] | None) -> int | None:
    """Return the limit in MB set by ``upload_limit`` on ``view``, if any."""
    limit = getattr(view, "upload_limit_mb", None)
    return limit() if limit is not None else None


def init_upload_limits(app: Flask) -> None:
    """Apply each view's ``upload_limit`` to its requests (call before CSRFProtect's ``init_app``)."""

    # Registered before CSRFProtect, whose own hook parses the form: the limit must be set first.
    @app.before_request
    def _upload_limits() -> None:
        limit = upload_limit_of(app.view_functions.get(request.endpoint or ""))
        if limit is not None:
            request.max_content_length = (limit + 1) << 20


# What a service raises when it refuses what the user asked, with a French message for them
# (``ValidationFailed`` is a ``DocumentError`` that also names the fields to correct).
REFUSALS: tuple[type[Exception], ...] = (DocumentError, AccountError, ArchiveError, UploadRefused)


@dataclass(frozen=True)
class Outcome(Generic[T]):
    """What a service returned, or its refusal: the French message and, for invalid data, the field errors."""

    value: T | None = None
    refusal: str | None = None
    errors: Mapping[str, Any] = field(default_factory=dict)
    no_space: bool = False  # refused by a full disk, not by the service

    @property
    def refused(self) -> bool:
        """Return whether the service refused."""
        return self.refusal is not None

    @property
    def status(self) -> int:
        """Return the page's status: 422 when the service refused what was typed, 507 on a full disk, else 200."""
        return 507 if self.no_space else 422 if self.refused else 200


def attempt(service: Callable[..., T], *args: Any, refusals: tuple[type[Exception], ...] = REFUSALS, **kwargs: Any) -> Outcome[T]:
    """Call ``service(*args, **kwargs)``; if it refuses, or a disk is full, roll the session back and return why."""
    try:
        return Outcome(value=service(*args, **kwargs))
    except refusals as exc:
        # Nothing half-done stays in the session that renders the page shown again.
        db.session().rollback()
        return Outcome(refusal=str(exc), errors=exc.errors if isinstance(exc, ValidationFailed) else {})
    except Exception as exc:
        if not disk_full(exc):
            raise
        # The store's disk or the database's is full: the page shown again keeps what was typed.
        db.session().rollback()
        return Outcome(refusal=DISK_FULL, no_space=True)


@dataclass
class Posted:
    """A posted form, read as typed: its fields, its payload, its button, the service's refusal."""

    form: FlaskForm
    payload: dict[str, Any]
    action: str
    errors: Mapping[str, Any] = field(default_factory=dict)

    @property
    def changes_rows(self) -> bool:
        """Return whether the button pressed adds or removes a table row."""
        return self.action.startswith(("add:", "remove:"))

    def call(self, service: Callable[..., T], *args: Any, flash_refusal: bool = False, **kwargs: Any) -> T | None:
        """Call ``service(*args, payload=…, **kwargs)``; if it refuses the data, put why on the form and return None.

        Only a refusal of the data is caught here (another refusal, e.g. a document no longer a
        draft, is the view's to answer); it goes through ``attempt`` like every other refusal.
        """
        outcome = attempt(service, *args, payload=self.payload, refusals=(ValidationFailed,), **kwargs)
        if not outcome.refused:
            return outcome.value
        if flash_refusal or outcome.no_space:
            flash(str(outcome.refusal), "error")
        # The form keeps what was typed: the page shown again (422) loses nothing.
        self.errors = outcome.errors
        attach_errors(self.form, outcome.errors)
        return None


def posted(form_cls: type[FlaskForm]) -> Posted:
    """Read the posted form of ``form_cls``; the service, not WTForms, decides what is valid."""
    form = form_cls()
    form.validate()  # CSRF was checked before the view; the schema validates the data
    return Posted(form=form, payload=payload_of(form), action=request.form.get("action", "save"))
