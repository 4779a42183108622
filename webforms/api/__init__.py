"""The JSON API (issue 17): ``/api/v1/``, its OpenAPI description and its documentation page."""

from __future__ import annotations

from flask import Flask
from flask_wtf.csrf import CSRFProtect

from webforms.api import archives, doc, pages, pieces, suivi, views
from webforms.api.spec import make_api, type_document_data


def init_app(app: Flask, csrf: CSRFProtect) -> None:
    """Serve the API on ``app``: its routes, its description, its errors; no CSRF (no cookie is read)."""
    app.config.setdefault("API_RATE_LIMIT", 300)
    app.config.setdefault("API_RATE_WINDOW_SECONDS", 60)
    api = make_api(app)
    app.extensions["webforms.api"] = api
    # The measures', calls', pieces' and archive's routes are on it, added at their import.
    assert suivi.bp is pieces.bp is archives.bp is views.bp
    api.register_blueprint(views.bp)
    type_document_data(api)
    csrf.exempt(views.bp)
    app.register_blueprint(doc.bp)
    app.register_blueprint(pages.bp)  # a page of the cookie session, with its CSRF token
