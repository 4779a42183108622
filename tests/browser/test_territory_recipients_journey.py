"""The administrator sets a territory's recipients in a real headless Chromium (issue 13, brief h19
points 4 and 6): a refused address is named beside its field, what was typed stays; the valid
address and the PMS's CAMS are saved. axe-core checks the page, refused and saved."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.test_journey import check_accessibility, sign_in
from tests.conftest import Account
from webforms import db
from webforms.models import Territoire

pytestmark = pytest.mark.browser


def test_the_administrator_sets_the_rast_s_address_and_a_pms_s_cams(app: Flask, live_server: str, make_user: Callable[..., Account], page: Page) -> None:
    base = live_server
    page.set_default_timeout(15_000)
    with app.app_context():
        lot_id = db.session().scalars(select(Territoire.id).where(Territoire.code == "asll-lot-1")).one()
    sign_in(page, base, make_user("admin"))
    page.goto(f"{base}/admin/territoires/{lot_id}")
    region = page.get_by_role("region", name="Destinataires")
    check_accessibility(page, "la page d'un lot et ses destinataires")
    address = region.get_by_label("Adresse électronique du RAST de la CAMS Annecy Ouest")
    address.fill("rast.annecy-ouest@")
    region.get_by_label("Seynod").select_option(label="Annecy Ouest")
    region.get_by_role("button", name="Enregistrer les destinataires").click()
    expect(address).to_have_attribute("aria-invalid", "true")
    expect(address).to_have_accessible_description(re.compile("n'est pas une adresse électronique valide"))
    expect(address).to_have_value("rast.annecy-ouest@")  # what was typed stays
    expect(region.get_by_label("Seynod")).to_have_value("Annecy Ouest")
    check_accessibility(page, "les destinataires refusés")
    address.fill("rast.annecy-ouest@exemple.fr")
    region.get_by_role("button", name="Enregistrer les destinataires").click()
    expect(page.get_by_role("status").filter(has_text="Destinataires de « Lot 1 – Annecy Est et Ouest » enregistrés.")).to_be_visible()
    expect(address).to_have_value("rast.annecy-ouest@exemple.fr")
    expect(region.get_by_label("Seynod")).to_have_value("Annecy Ouest")
