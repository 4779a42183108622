"""The OpenAPI description of the API: built by flask-smorest from the kinds' own schemas.

Each kind's marshmallow schema (``schemas/<kind>.py``) is its component, named after its module
so that two kinds' sections of the same class name never clash; the catalogue's own fields
(``Date``, ``Money``, ``Quantity``) are typed here, and every field's French label and help text
become its title and description. No field list is written again.
"""

from __future__ import annotations

import copy
from typing import Any

from apispec.ext.marshmallow import MarshmallowPlugin
from apispec.ext.marshmallow.common import resolve_schema_cls
from flask import Flask
from flask_smorest import Api, Blueprint
from flask_smorest.utils import prepare_response
from marshmallow import Schema
from marshmallow import fields as mf
from webargs.flaskparser import FlaskParser

from schemas import registry
from schemas.base.fields import ISO_DATES_ONLY, Date, Money, Quantity
from webforms.api.payloads import ErrorsOut

OPENAPI_VERSION = "3.1.0"
# Money and Quantity as the API returns them (``Kind.dump``: "1234.50") and accepts them; the
# schema also reads "1 234,50", but a client is told the one plain form.
DECIMAL_PATTERN = r"^[0-9]{1,12}(\.[0-9]{1,2})?$"


def schema_name(schema: type[Schema] | Schema) -> str:
    """Name a schema's component after its module and class (``fiche_saisine.FicheSaisine``).

    A kind's schema loaded as a draft (``partial``) is a component of its own, ``…Brouillon``:
    its fields are all optional.
    """
    cls = resolve_schema_cls(schema)
    module = cls.__module__.rsplit(".", 1)[-1]
    name = cls.__name__.removesuffix("Schema")
    suffix = "Brouillon" if isinstance(schema, Schema) and schema.partial else ""
    return f"{module}.{name}{suffix}"


def labels(self: Any, field: mf.Field, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Give a field its French label as title and its help text as description."""
    out = {}
    if field.metadata.get("label"):
        out["title"] = field.metadata["label"]
    if field.metadata.get("help"):
        out["description"] = field.metadata["help"]
    if isinstance(field, (Money, Quantity)):
        out["pattern"] = DECIMAL_PATTERN
    return out


class IsoDatesParser(FlaskParser):
    """webargs' parser, reading the catalogue's dates as the description types them (AAAA-MM-JJ) while it loads a request."""

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        """Load the request's arguments with ISO dates only; a draft stored from the web keeps its JJ/MM/AAAA."""
        iso = ISO_DATES_ONLY.set(True)
        try:
            return super().parse(*args, **kwargs)
        finally:
            ISO_DATES_ONLY.reset(iso)


class ApiBlueprint(Blueprint):
    """flask-smorest's Blueprint, its bodies and queries read by ``IsoDatesParser``."""

    ARGUMENTS_PARSER = IsoDatesParser()


class WebformsApi(Api):
    """flask-smorest's Api, its errors answered by the API's own blueprint (``webforms.api.errors``).

    Its default handler would be the application's and answer every page's errors in JSON.
    """

    ERROR_SCHEMA = ErrorsOut

    def _register_error_handlers(self) -> None:
        """Leave the application's error pages alone: the API blueprint answers its own errors."""

    def _register_responses(self) -> None:
        """Describe the default error in French (each route describes its own codes: ``views.described``)."""
        response = {"description": "Erreur : voir « errors », au format de la ligne de commande.", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


def make_api(app: Flask) -> WebformsApi:
    """Build the API extension of ``app`` with the catalogue's fields typed and named."""
    app.config.setdefault("API_TITLE", "webforms")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", OPENAPI_VERSION)
    # The description is served by the API's own page (webforms.api.doc), not flask-smorest's.
    app.config.setdefault("OPENAPI_URL_PREFIX", None)
    plugin = MarshmallowPlugin(schema_name_resolver=schema_name)
    api = WebformsApi(
        spec_kwargs={
            "marshmallow_plugin": plugin,
            "info": {
                "description": "API JSON des formulaires AML Logement d'abord et ASLL : mêmes services, mêmes droits que les pages. "
                "Authentification par jeton (« Authorization: Bearer … »), voir docs/api.md.",
            },
            "components": {"securitySchemes": {"jeton": {"type": "http", "scheme": "bearer"}}},
            "security": [{"jeton": []}],
        }
    )
    api.init_app(app)
    api.register_field(Date, "string", "date")
    api.register_field(Money, "string", None)
    api.register_field(Quantity, "string", None)
    plugin.converter.add_attribute_function(labels)
    for kind in registry().values():
        api.spec.components.schema(schema_name(kind.schema), schema=kind.schema)
    return api


def openapi_document(app: Flask) -> dict[str, Any]:
    """Return the OpenAPI description of ``app``'s API, as ``/api/v1/openapi.json`` serves it."""
    api: WebformsApi = app.extensions["webforms.api"]
    return copy.deepcopy(api.spec.to_dict())
