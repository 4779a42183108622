"""Thin views: parse the request, call a service, render or redirect."""

from __future__ import annotations

from flask import current_app

from webforms.services.documents import Services


def services() -> Services:
    """Return the app's storage, renderer and clock."""
    return current_app.extensions["webforms.services"]
