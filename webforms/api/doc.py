"""``/api/v1/openapi.json`` and ``/api/v1/documentation``: the description, and a page that reads it.

The page is rendered on the server from the same description, with the application's own
stylesheet: no script, nothing fetched from another site (the CSP forbids it anyway).
"""

from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template
from flask.typing import ResponseReturnValue

from webforms.api.spec import openapi_document

bp = Blueprint("api_doc", __name__, url_prefix="/api/v1", template_folder="templates")


@bp.get("/openapi.json")
def openapi_json() -> ResponseReturnValue:
    """Serve the OpenAPI description (the same as ``webforms openapi``)."""
    return jsonify(openapi_document(current_app))


@bp.get("/documentation")
def documentation() -> ResponseReturnValue:
    """Show the API's routes, parameters, bodies and answers, read from the description."""
    spec = openapi_document(current_app)
    return render_template("api/documentation.html", spec=spec, schemas=spec.get("components", {}).get("schemas", {}))
