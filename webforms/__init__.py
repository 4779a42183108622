"""webforms: forms and documents of the AML Logement d'abord and ASLL programmes."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the web application (``webforms.factory``)."""
    # Deferred for startup speed: the factory imports every view, hence WeasyPrint and pyHanko,
    # and the command line's light commands (kinds, example, validate) import this package.
    from webforms.factory import create_app as build

    return build(test_config)
