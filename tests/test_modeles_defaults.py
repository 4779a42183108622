"""The audit's last gaps on templates (issue 18): the shipped default deposited back is accepted."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.test_modeles import admin, deposit, page, word_template
from webforms.modeles.checks import slots


@pytest.mark.parametrize("template", [slot.template for slot in slots().values()])
def test_the_shipped_default_deposited_back_unchanged_is_accepted(app: Flask, login_as: Any, template: str) -> None:
    web = admin(login_as)
    shipped = web.get(f"/admin/modeles/{template}/versions/0")
    assert shipped.status_code == 200
    response = deposit(web, shipped.data, template)
    assert response.status_code == 302, page(response)


def test_the_filled_layout_is_checked_too_and_given_to_the_pdf_only(app: Flask, login_as: Any) -> None:
    """The other side: a misspelt name in the layout is refused, and a Word template has no layout to read."""
    web = admin(login_as)
    default = web.get("/admin/modeles/fiche_incident.html/versions/0").data.decode()
    misspelt = default.replace("{{ mise_en_page.subtitle }}", "{{ mise_en_page.soustitre }}", 1)
    assert misspelt != default
    refused = deposit(web, misspelt.encode(), "fiche_incident.html")
    assert refused.status_code == 422 and "« soustitre » n'existe pas dans « mise_en_page »" in page(refused)
    refused = deposit(web, word_template("{{ mise_en_page.subtitle }}"))
    assert refused.status_code == 422 and "la variable « mise_en_page » n'existe pas" in page(refused), page(refused)[-2000:]
