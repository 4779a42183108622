"""The audit's last gaps on templates (issue 18): the shipped default deposited back is accepted; a version checked again at put in force."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import update

from tests.test_modeles import WORD, admin, deposit, in_force, moves, page, put_in_force, versions, word_template
from webforms import db
from webforms.modeles.checks import slots
from webforms.models import ModeleVersion


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


def _deposited_and_previewed(app: Flask, web: Any, data: bytes) -> int:
    assert deposit(web, data).status_code == 302
    number = versions(app)[-1][0]
    assert web.get(f"/admin/modeles/{WORD}/versions/{number}/apercu").status_code == 200
    return number


def test_a_version_is_checked_again_when_put_in_force(app: Flask, login_as: Any) -> None:
    """A version kept when the kind still had a name, which it has no longer: refused at put in force; a good one goes in."""
    web = admin(login_as)
    stale = _deposited_and_previewed(app, web, word_template("{{ document.titre }}"))
    with app.app_context():
        # As if the kind's schema had lost a field since the deposit: the stored bytes name it.
        digest = app.extensions["webforms.services"].store.put(word_template("Ancien champ : {{ document.champ_retire }}"))
        db.session().execute(update(ModeleVersion).where(ModeleVersion.number == stale).values(sha256=digest))
        db.session().commit()
    before = moves(app)
    refused = put_in_force(web, stale)
    said = page(refused)
    assert refused.status_code == 422 and "ne convient plus aux données du type" in said
    assert "« champ_retire » n'existe pas dans « document »" in said and "« Ancien champ : {{ document.champ_retire }} »" in said, said[-2000:]
    assert in_force(app) is None and moves(app) == before
    good = _deposited_and_previewed(app, web, word_template("{{ document.titre }} – version corrigée"))
    assert put_in_force(web, good).status_code == 302 and in_force(app).number == good  # type: ignore[union-attr]
