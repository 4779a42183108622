"""Thin views: parse the request, call a service, render or redirect."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app

from webforms.documents.services import Services

View = TypeVar("View", bound=Callable[..., Any])


def services() -> Services:
    """Return the app's storage, renderer and clock."""
    return current_app.extensions["webforms.services"]


def upload_limit(megabytes: Callable[[], int]) -> Callable[[View], View]:
    """Let a view receive a file of up to ``megabytes()`` MB instead of the app's request limit.

    ``create_app`` applies it before the form is parsed (CSRF included), adding 1 MB for the
    form around the file: a file just over the limit then reaches the view's own check, whose
    message names the piece and its limit, instead of the generic 413 page.
    """

    def mark(view: View) -> View:
        view.upload_limit_mb = megabytes  # type: ignore[attr-defined]
        return view

    return mark


def upload_limit_of(view: Callable[..., Any] | None) -> int | None:
    """The limit in MB set by ``upload_limit`` on ``view``, if any."""
    limit = getattr(view, "upload_limit_mb", None)
    return int(limit()) if limit is not None else None
