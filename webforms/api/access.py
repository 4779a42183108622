"""Who calls the API: the bearer token of each request, its scope, its rate, its JSON errors.

A request is served only with ``Authorization: Bearer …``: the browser's session cookie is never
read (so no page of another site can act with it, and no CSRF token is asked). Errors are JSON
in French, in the layout of the command line: ``{"errors": {champ: [messages], "_schema": […]}}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from flask import Response, current_app, g, jsonify, request
from flask import abort as flask_abort
from werkzeug.exceptions import HTTPException

from webforms import db
from webforms.api.tokens import TokenError, count_request, log_use, recognise, seconds_left
from webforms.models import ApiToken, Document, User
from webforms.web import services

MESSAGES = {
    400: "Requête invalide.",
    401: "Authentification requise : envoyez un jeton d'API valide.",
    403: "Ce jeton ne permet pas cette action.",
    404: "Ressource introuvable, ou hors de la portée de ce jeton.",
    405: "Méthode non autorisée sur cette adresse.",
    413: "Envoi trop volumineux.",
    415: "Type de contenu non pris en charge : envoyez du JSON.",
    422: "Données invalides.",
    429: "Trop de requêtes pour ce jeton : réessayez après le délai indiqué (en-tête Retry-After).",
    500: "Erreur inattendue du service : rien n'a été modifié. Réessayez.",
}
# What webargs and marshmallow say in English when a body is not what a schema reads.
_ENGLISH = {
    "Invalid JSON body.": "Corps JSON invalide.",
    "Unknown field.": "Champ inconnu.",
    "Invalid input type.": "Données invalides : un objet JSON est attendu.",
    "Missing data for required field.": "Ce champ est obligatoire.",
}


def plain_keys(errors: Any) -> Any:
    """Return ``errors`` with every key a string (marshmallow numbers a list's rows with ints)."""
    if isinstance(errors, Mapping):
        return {str(k): plain_keys(v) for k, v in errors.items()}
    if isinstance(errors, list):
        return [plain_keys(v) for v in errors]
    return _ENGLISH.get(errors, errors) if isinstance(errors, str) else errors


def error_response(status: int, message: str | None = None, errors: Mapping[str, Any] | None = None, headers: Mapping[str, str] | None = None) -> Response:
    """Return the JSON answer of an error: field errors, then the general message under ``_schema``."""
    body = dict(plain_keys(errors or {}))
    general = [message or MESSAGES.get(status, MESSAGES[500])]
    body["_schema"] = [*general, *body.get("_schema", [])]
    response = jsonify({"errors": body})
    response.status_code = status
    response.headers.update(dict(headers or {}))
    return response


def fail(status: int, message: str | None = None, errors: Mapping[str, Any] | None = None) -> NoReturn:
    """Stop the request with a JSON error."""
    flask_abort(error_response(status, message, errors))


def handle_http(exc: HTTPException) -> Response:
    """Answer an HTTP error raised in the API (webargs' 422 included) as JSON."""
    data = getattr(exc, "data", None) or {}
    errors: dict[str, Any] = {}
    for messages in (data.get("messages") or {}).values():
        if isinstance(messages, Mapping):
            errors.update(messages)
        else:
            errors.setdefault("_schema", []).extend(messages)
    headers = {"Allow": ", ".join(exc.valid_methods)} if getattr(exc, "valid_methods", None) else None
    return error_response(exc.code or 500, None, errors or None, headers)


def handle_unexpected(exc: Exception) -> Response:
    """Answer an unexpected error as JSON, after rolling back what the request had begun."""
    current_app.logger.exception("Erreur inattendue sur %s", request.path)
    db.session().rollback()
    return error_response(500)


def authenticate() -> Response | None:
    """Recognise the request's token, log its use and count it; refuse it otherwise (before each API view)."""
    session, now = db.session(), services().clock()
    try:
        token = recognise(session, request.headers.get("Authorization"), now)
    except TokenError as exc:
        session.rollback()
        return error_response(401, str(exc), headers={"WWW-Authenticate": 'Bearer realm="webforms"'})
    log_use(session, token, method=request.method, route=request.path, now=now)
    window: int = current_app.config["API_RATE_WINDOW_SECONDS"]  # a number in the configuration, not from the request
    count = count_request(session, token, now=now, window_seconds=window)
    session.commit()
    if count > current_app.config["API_RATE_LIMIT"]:
        return error_response(429, headers={"Retry-After": str(seconds_left(now, window))})
    g.api_token = token
    return None


def token() -> ApiToken:
    """Return the token of the current request."""
    return g.api_token


def caller() -> User:
    """Return the user the current request's token acts for."""
    return g.api_token.user


def require_write() -> None:
    """Refuse (403) a token that only reads."""
    if token().scope != "ecriture":
        fail(403, "Ce jeton est en lecture seule : cette action demande un jeton en écriture.")


def in_scope(kind_name: str) -> bool:
    """Is ``kind_name`` one of the kinds of the request's token?"""
    return kind_name in token().kinds


def visible(doc: Document | None, can_view: Any) -> Document:
    """Return ``doc`` if the token's kinds and the user's rights reach it; 404 otherwise (not revealed)."""
    if doc is None or not in_scope(doc.kind) or not can_view(caller(), doc):
        fail(404, "Document introuvable, ou hors de la portée de ce jeton.")
    return doc
