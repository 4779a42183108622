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
from marshmallow import Schema, validate
from marshmallow import fields as mf
from webargs.flaskparser import FlaskParser

from schemas import registry
from schemas.base.draft import draft_of
from schemas.base.fields import API_VALUES, PLAIN_DECIMAL, Date, Money, Quantity
from schemas.base.names import NAME_PATTERN, Name
from webforms.api.payloads import DocumentOut, ErrorsOut

OPENAPI_VERSION = "3.1.0"
# Money and Quantity as the API returns them (``Kind.dump``: "1234.50") and reads them (the web
# form also reads "1 234,50"; not the API: ``API_VALUES``).
DECIMAL_PATTERN = f"^{PLAIN_DECIMAL.pattern}$"
# The catalogue's dates are plausible ones (``fields.Date``: years 1900 to 2100), which
# ``format: date`` alone does not say.
DATE_PATTERN = r"^(19[0-9]{2}|20[0-9]{2}|2100)-"


def schema_name(schema: type[Schema] | Schema) -> str:
    """Name a schema's component after its module and class (``fiche_saisine.FicheSaisine``).

    A kind's draft form (``schemas.base.draft``) is a component of its own, ``…Brouillon``.
    """
    cls = resolve_schema_cls(schema)
    module = cls.__module__.rsplit(".", 1)[-1]
    return f"{module}.{cls.__name__.removesuffix('Schema')}"


def type_document_data(api: Api) -> None:
    """Describe a document as one of its kinds: ``kind`` says which, ``data`` is typed by that kind's draft form.

    Called once the routes are described (``DocumentOut`` is then a component): each kind gets
    ``<kind>.Document``, the document with its ``kind`` fixed and its ``data`` typed; the
    ``payloads.DocumentOut`` every route answers becomes their ``oneOf``, told apart by ``kind``.
    """
    schemas = api.spec.components.schemas
    base = schemas[schema_name(DocumentOut)]
    variants = {}
    for kind in registry().values():
        variant = copy.deepcopy(base)
        variant["properties"]["kind"] = {**base["properties"]["kind"], "const": kind.name}
        variant["properties"]["data"] = {
            "$ref": f"#/components/schemas/{schema_name(draft_of(kind.schema))}",
            "description": f"Les données : {kind.title}. Un brouillon peut être incomplet ; la dernière version figée, lue par ses destinataires, est complète.",
        }
        variants[kind.name] = f"#/components/schemas/{schema_name(kind.schema).rsplit('.', 1)[0]}.Document"
        api.spec.components.schema(variants[kind.name].rsplit("/", 1)[1], component=variant)
    schemas[schema_name(DocumentOut)] = {
        "description": (DocumentOut.__doc__ or "").strip(),
        "oneOf": [{"$ref": ref} for ref in variants.values()],
        "discriminator": {"propertyName": "kind", "mapping": variants},
    }


def labels(self: Any, field: mf.Field, ret: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """Give a field its French label as title and its help text as description."""
    out = {}
    if field.metadata.get("label"):
        out["title"] = field.metadata["label"]
    if field.metadata.get("help"):
        out["description"] = field.metadata["help"]
    if isinstance(field, (Money, Quantity)):
        out["pattern"] = DECIMAL_PATTERN
    if isinstance(field, Date):
        out["pattern"] = DATE_PATTERN
    if isinstance(field, Name):
        out["pattern"] = NAME_PATTERN  # a name refuses what Text would drop (issue 15)
    if any(isinstance(v, validate.Email) for v in field.validators):
        out["format"] = "email"
    return out


class ApiParser(FlaskParser):
    """webargs' parser (flask-smorest's own), reading the catalogue's values exactly as the description types them."""

    def parse(self, *args: Any, **kwargs: Any) -> Any:
        """Load the request's arguments with ``API_VALUES`` set (ISO dates, plain amounts, JSON numbers and booleans)."""
        strict = API_VALUES.set(True)
        try:
            return super().parse(*args, **kwargs)
        finally:
            API_VALUES.reset(strict)


class ApiBlueprint(Blueprint):
    """flask-smorest's Blueprint, its bodies and queries read by ``ApiParser``."""

    ARGUMENTS_PARSER = ApiParser()


class WebformsApi(Api):
    """flask-smorest's Api, its errors answered by the API's own blueprint (``webforms.api.errors``).

    Its default handler would be the application's and answer every page's errors in JSON.
    """

    ERROR_SCHEMA = ErrorsOut

    def _register_error_handlers(self) -> None:
        """Leave the application's error pages alone: the API blueprint answers its own errors."""

    def _register_pagination_header(self) -> None:
        """Describe no page-number pagination header: the lists page by cursor (``next_cursor``), and its schema is in English."""

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
