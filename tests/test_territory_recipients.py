"""The recipients' data of a territory (issue 13; brief h19 points 4 and 6): the CAMS of each PMS
and the addresses of the RAST and of the Service Logement DPDS are territory data, shipped in the
territories file, edited by an administrator on the territory's page, checked, recorded, and used
at once to resolve an Installation's recipients (ASLL §9.1, §11)."""

from __future__ import annotations

import copy
import datetime as dt
import json
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from tests.conftest import WebClient
from tests.test_mesures_web import open_mesure
from tests.test_notifications_mail import relay, smtp_server  # noqa: F401 (a fixture)
from tests.test_thread import _submit_installation_bilan
from tests.test_transmissions import sent_to
from tests.workers import run_jobs
from webforms import db
from webforms.commands.territories import SHIPPED
from webforms.models import Departement, Document, Event, Mesure, Territoire, TerritoireZone, User
from webforms.territoires import services as svc
from webforms.territoires.checks import file_problems

NOW = dt.datetime(2026, 1, 5, tzinfo=dt.UTC)


def _lot(code: str) -> Territoire:
    return db.session().scalars(select(Territoire).where(Territoire.code == code)).one()


def _zone(lot: Territoire, name: str) -> TerritoireZone:
    (zone,) = [z for z in lot.zones if z.nom == name]
    return zone


def _recipients(app: Flask, commune: str, lot_code: str = "asll-lot-1") -> list[tuple[str, str | None]]:
    """Who receives the Installation bilan of a household of ``commune`` (the RAST named, its address)."""
    with app.app_context():
        s = db.session()
        lot = _lot(lot_code)
        writer = s.scalars(select(User).order_by(User.id)).first()  # any account: nothing is saved
        assert writer is not None
        mesure = Mesure(reference="ME-DEST", organisation_id=writer.organisation_id, referent_id=writer.id, type_mesure="asll_installation",
                        menage_nom="Martin", menage_prenom="Léa", menage_commune=commune, duree_mois=3, territoire_id=lot.id)
        doc = Document(kind="bilan_asll_installation", organisation_id=writer.organisation_id, author_id=writer.id, mesure=mesure, data={})
        found = [(r.nom, r.adresse) for r in svc.recipients_for(s, doc)]
        s.rollback()
        return found


def _state(app: Flask) -> tuple[Any, ...]:
    """Everything the recipients' form may change, and the events recorded."""
    with app.app_context():
        s = db.session()
        zones = sorted((z.nom, z.adresse, z.cams) for z in s.scalars(select(TerritoireZone)))
        services = sorted((d.nom, d.service_logement_adresse) for d in s.scalars(select(Departement)))
        return zones, services, s.scalar(select(func.count()).select_from(Event).where(Event.action == "territoire_destinataires"))


@pytest.fixture
def admin(app: Flask, login_as: Any) -> WebClient:
    web, _ = login_as("admin")
    return web


def _lot_id(app: Flask, code: str) -> int:
    with app.app_context():
        return _lot(code).id


def _fields(app: Flask, code: str) -> dict[str, int]:
    """The ids of the zones of lot ``code``, by name (the form's fields are named by them)."""
    with app.app_context():
        return {z.nom: z.id for z in _lot(code).zones}


# --- Point 4: the PMS → CAMS link ------------------------------------------------------------------

def test_the_pms_cams_link_ships_as_data(app: Flask) -> None:
    """ASLL §11: lot 2 is the Faucigny CAMS with its eight PMS; the sources do not split lots 1 and 3."""
    with app.app_context():
        lot2, lot1 = _lot("asll-lot-2"), _lot("asll-lot-1")
        assert {z.nom: z.cams for z in lot2.zones if z.nature == "pms"} == dict.fromkeys(
            ["La Roche-sur-Foron", "Bonneville", "Taninges", "Cluses", "Scionzier", "Sallanches", "Passy", "Chamonix"], "Faucigny")
        assert {z.cams for z in lot1.zones} == {None}
        assert {z.cams for z in lot2.zones if z.nature == "cams"} == {None}


def test_an_administrator_links_a_pms_to_its_cams_and_the_next_bilan_goes_to_that_rast_only(app: Flask, admin: WebClient) -> None:
    both = [("Annecy Est – Seynod", None), ("Annecy Ouest – Seynod", None)]
    assert _recipients(app, "Seynod") == both  # no link: every CAMS of the lot (ASLL §11)
    lot_id, ids = _lot_id(app, "asll-lot-1"), _fields(app, "asll-lot-1")
    page = admin.get(f"/admin/territoires/{lot_id}").get_data(as_text=True)
    assert f'name="cams_{ids["Seynod"]}"' in page and "Toutes les CAMS du territoire" in page
    response = admin.post(f"/admin/territoires/{lot_id}/destinataires", {f"cams_{ids['Seynod']}": "Annecy Ouest"})
    assert response.status_code == 302
    assert _recipients(app, "Seynod") == [("Annecy Ouest – Seynod", None)]  # at once
    assert _recipients(app, "Thônes") == [("Annecy Est – Thônes", None), ("Annecy Ouest – Thônes", None)]  # the others unchanged
    assert '<option value="Annecy Ouest" selected>' in admin.get(f"/admin/territoires/{lot_id}").get_data(as_text=True)
    with app.app_context():
        (event,) = db.session().scalars(select(Event).where(Event.action == "territoire_destinataires")).all()
        assert event.detail == {"territoire": "asll-lot-1", "changements": [{"champ": "CAMS de Seynod", "avant": None, "apres": "Annecy Ouest"}]}
    # A CAMS of another lot is refused, in French, and nothing changes.
    before = _state(app)
    refused = admin.post(f"/admin/territoires/{lot_id}/destinataires", {f"cams_{ids['Seynod']}": "Faucigny", f"cams_{ids['Thônes']}": "Annecy Est"})
    assert refused.status_code == 422 and "« Faucigny » n&#39;est pas une CAMS de « Lot 1 – Annecy Est et Ouest »" in refused.get_data(as_text=True)
    assert _state(app) == before
    # Unlinked: every CAMS again.
    assert admin.post(f"/admin/territoires/{lot_id}/destinataires", {f"cams_{ids['Seynod']}": ""}).status_code == 302
    assert _recipients(app, "Seynod") == both


LOT1_FORM = {"nom": "Lot 1 – Annecy Est et Ouest", "mesures_min": "140", "mesures_max": "230", "annee_indicative": "2011",
             "indicatif_asll_installation": "40", "indicatif_asll_maintien": "100", "zones_cams": "Annecy Est\nAnnecy Ouest",
             "zones_commune": "Annecy", "zones_pms": "Seynod\nThônes"}
STALE_MESSAGE = "La page a changé depuis son affichage"


def test_a_recipients_form_shown_before_a_save_of_the_territory_writes_nothing_and_keeps_what_was_typed(app: Flask, admin: WebClient) -> None:
    """Brief g14, point 4: a save replaces the zones (new ids); the recipients' form shown before it names
    zones that are gone. Posted then: 409, a French message, nothing written, what was typed carried to
    the zones of the same name; posted again from the page now shown: saved."""
    lot_id, old = _lot_id(app, "asll-lot-1"), _fields(app, "asll-lot-1")
    page = admin.get(f"/admin/territoires/{lot_id}").get_data(as_text=True)
    assert f'name="nom_{old["Annecy Est"]}" value="Annecy Est"' in page and f'name="nom_{old["Seynod"]}" value="Seynod"' in page
    shown = {f"adresse_{old['Annecy Est']}": "rast.est@exemple.fr", f"nom_{old['Annecy Est']}": "Annecy Est",
             f"adresse_{old['Annecy Ouest']}": "", f"nom_{old['Annecy Ouest']}": "Annecy Ouest",
             f"cams_{old['Seynod']}": "Annecy Ouest", f"nom_{old['Seynod']}": "Seynod"}
    # The same form, posted before any save: written (the other side of the edge).
    assert admin.post(f"/admin/territoires/{lot_id}/destinataires", {**shown, f"adresse_{old['Annecy Est']}": "avant@exemple.fr"}).status_code == 302
    with app.app_context():
        assert _zone(_lot("asll-lot-1"), "Annecy Est").adresse == "avant@exemple.fr"
    assert admin.post(f"/admin/territoires/{lot_id}", LOT1_FORM).status_code == 302  # the zones saved again: renumbered
    new = _fields(app, "asll-lot-1")
    assert not set(new.values()) & set(old.values())
    before = _state(app)
    stale = admin.post(f"/admin/territoires/{lot_id}/destinataires", shown)
    text = stale.get_data(as_text=True).replace("&#39;", "'")
    assert stale.status_code == 409 and STALE_MESSAGE in text and "Rien n'a été enregistré" in text, text[:300]
    assert _state(app) == before  # nothing written, to no zone
    # What was typed is shown again on the new rows, the zones of the same name.
    assert f'name="adresse_{new["Annecy Est"]}" type="email" autocomplete="off" value="rast.est@exemple.fr"' in text
    seynod = text.split(f'name="cams_{new["Seynod"]}"')[1].split("</select>")[0]
    assert '<option value="Annecy Ouest" selected>' in seynod
    # Posted from the page now shown: saved.
    fresh = {f"adresse_{new['Annecy Est']}": "rast.est@exemple.fr", f"nom_{new['Annecy Est']}": "Annecy Est", f"cams_{new['Seynod']}": "Annecy Ouest", f"nom_{new['Seynod']}": "Seynod"}
    assert admin.post(f"/admin/territoires/{lot_id}/destinataires", fresh).status_code == 302
    with app.app_context():
        lot = _lot("asll-lot-1")
        assert (_zone(lot, "Annecy Est").adresse, _zone(lot, "Seynod").cams) == ("rast.est@exemple.fr", "Annecy Ouest")
    # A zone id that is not this territory's (another lot's CAMS), or not a number's worth: refused alike, nothing written.
    before = _state(app)
    other = _fields(app, "asll-lot-2")["Faucigny"]
    assert admin.post(f"/admin/territoires/{lot_id}/destinataires", {f"adresse_{other}": "x@exemple.fr"}).status_code == 409
    assert admin.post(f"/admin/territoires/{lot_id}/destinataires", {f"cams_{new['Annecy Est']}": "Annecy Ouest"}).status_code == 409  # a CAMS is no PMS
    assert admin.post(f"/admin/territoires/{lot_id}/destinataires", {"adresse_99999999999999999999": "x@exemple.fr"}).status_code == 409
    assert _state(app) == before


def test_the_link_survives_a_save_of_the_territory_and_goes_with_its_cams(app: Flask, admin: WebClient) -> None:
    lot_id = _lot_id(app, "asll-lot-1")
    form = {"nom": "Lot 1 – Annecy Est et Ouest", "mesures_min": "140", "mesures_max": "230", "annee_indicative": "2011",
            "indicatif_asll_installation": "40", "indicatif_asll_maintien": "100", "zones_cams": "Annecy Est\nAnnecy Ouest",
            "zones_commune": "Annecy", "zones_pms": "Seynod\nThônes"}
    assert admin.post(f"/admin/territoires/{lot_id}/destinataires", {f"cams_{_fields(app, 'asll-lot-1')['Seynod']}": "Annecy Ouest"}).status_code == 302
    assert admin.post(f"/admin/territoires/{lot_id}", form).status_code == 302  # the zones are saved again
    assert _recipients(app, "Seynod") == [("Annecy Ouest – Seynod", None)]
    assert admin.post(f"/admin/territoires/{lot_id}", {**form, "zones_cams": "Annecy Est"}).status_code == 302  # its CAMS removed
    assert _recipients(app, "Seynod") == [("Annecy Est – Seynod", None)]
    with app.app_context():
        assert _zone(_lot("asll-lot-1"), "Seynod").cams is None


def _file(**lot2: Any) -> dict[str, Any]:
    data = json.loads(SHIPPED.read_text(encoding="utf-8"))
    data = copy.deepcopy(data)
    (t,) = [t for t in data["territoires"] if t["code"] == "asll-lot-2"]
    t.update(lot2)
    return data


@pytest.mark.parametrize(("links", "problem"), [
    ({"Faucigny": ["Cluses", "Passy"]}, None),
    ({"Chablais": ["Cluses"]}, "« Chablais » n'est pas une CAMS de ce territoire"),
    ({"Faucigny": ["Thônes"]}, "« Thônes » n'est ni un PMS ni une commune de ce territoire"),
    ({"Faucigny": ["Cluses", "Cluses"]}, "« Cluses » est rattaché à deux CAMS"),
    ({"Faucigny": "Cluses"}, "chaque CAMS avec la liste de ses PMS ou communes"),
    ({"Faucigny": [["Cluses"]]}, "n'est ni un PMS ni une commune"),
])
def test_a_file_s_links_are_checked_before_anything_is_loaded(app: Flask, links: Any, problem: str | None) -> None:
    data = _file(rattachement_cams=links)
    found = file_problems(data)
    if problem is None:
        assert found == []
        with app.app_context():
            svc.load(db.session(), data, now=NOW)
            assert _zone(_lot("asll-lot-2"), "Passy").cams == "Faucigny"
    else:
        assert len(found) == 1 and problem in found[0] and "Territoire n° 4 (code « asll-lot-2 »)" in found[0], found


def test_loading_a_file_keeps_the_links_it_does_not_name(app: Flask, admin: WebClient) -> None:
    """Like an address, a link set on the page is kept by a file that does not give one."""
    lot_id, ids = _lot_id(app, "asll-lot-1"), _fields(app, "asll-lot-1")
    assert admin.post(f"/admin/territoires/{lot_id}/destinataires", {f"cams_{ids['Seynod']}": "Annecy Est"}).status_code == 302
    with app.app_context():
        svc.load(db.session(), json.loads(SHIPPED.read_text(encoding="utf-8")), now=NOW)
    assert _recipients(app, "Seynod") == [("Annecy Est – Seynod", None)]


# --- Point 6: the addresses, on the page ----------------------------------------------------------

def test_an_administrator_sets_a_rast_s_address_checked_and_recorded(app: Flask, admin: WebClient) -> None:
    lot_id, ids = _lot_id(app, "asll-lot-2"), _fields(app, "asll-lot-2")
    field = f"adresse_{ids['Faucigny']}"
    assert f'name="{field}"' in admin.get(f"/admin/territoires/{lot_id}").get_data(as_text=True)
    assert admin.post(f"/admin/territoires/{lot_id}/destinataires", {field: " rast.faucigny@exemple.fr "}).status_code == 302
    assert _recipients(app, "Cluses", "asll-lot-2") == [("Faucigny – Cluses", "rast.faucigny@exemple.fr")]  # used at once
    with app.app_context():
        (event,) = db.session().scalars(select(Event).where(Event.action == "territoire_destinataires")).all()
        assert event.detail["changements"] == [{"champ": "RAST de la CAMS Faucigny", "avant": None, "apres": "rast.faucigny@exemple.fr"}]
    before = _state(app)
    for wrong, message in (
        ("rast.faucigny@", "« rast.faucigny@ » n&#39;est pas une adresse électronique valide"),
        ("rast faucigny@exemple.fr", "n&#39;est pas une adresse électronique valide"),
        ("rast\x01@exemple.fr", "caractère invisible ou de contrôle (U+0001)"),
        ("r" * 250 + "@exemple.fr", "261 caractères, 254 au plus"),
    ):
        # A refused address beside a valid one: neither is saved.
        refused = admin.post(f"/admin/territoires/{lot_id}/destinataires", {field: wrong, "service_logement_adresse": "logement@exemple.fr"})
        body = refused.get_data(as_text=True)
        assert refused.status_code == 422 and "Adresse du RAST de la CAMS Faucigny" in body and message in body, wrong
        assert 'aria-invalid="true"' in body and "logement@exemple.fr" in body  # what was typed is shown again
        assert _state(app) == before, wrong
    assert _recipients(app, "Cluses", "asll-lot-2") == [("Faucigny – Cluses", "rast.faucigny@exemple.fr")]
    # Emptied: nothing is sent there any more.
    assert admin.post(f"/admin/territoires/{lot_id}/destinataires", {field: ""}).status_code == 302
    assert _recipients(app, "Cluses", "asll-lot-2") == [("Faucigny – Cluses", None)]


def test_an_administrator_sets_the_service_logement_s_address_checked_and_recorded(app: Flask, admin: WebClient) -> None:
    lot_id = _lot_id(app, "asll-lot-2")
    assert admin.post(f"/admin/territoires/{lot_id}/destinataires", {"service_logement_adresse": "logement@dpds.exemple.fr"}).status_code == 302
    with app.app_context():
        s = db.session()
        assert s.get(Departement, "Haute-Savoie").service_logement_adresse == "logement@dpds.exemple.fr"
        writer = s.scalars(select(User).order_by(User.id)).one()  # the administrator: nothing is saved
        mesure = Mesure(reference="ME-M", organisation_id=writer.organisation_id, referent_id=writer.id, type_mesure="asll_maintien",
                        menage_nom="Martin", menage_prenom="Léa", menage_commune="Cluses", duree_mois=6, territoire_id=lot_id)
        doc = Document(kind="fiche_incident", organisation_id=writer.organisation_id, author_id=writer.id, mesure=mesure, data={})
        assert [(r.nom, r.adresse) for r in svc.recipients_for(s, doc)] == [("Service Logement de la DPDS", "logement@dpds.exemple.fr")]
        s.rollback()
        (event,) = s.scalars(select(Event).where(Event.action == "territoire_destinataires")).all()
        assert event.detail["changements"] == [{"champ": "Service Logement (Haute-Savoie)", "avant": None, "apres": "logement@dpds.exemple.fr"}]
    before = _state(app)
    refused = admin.post(f"/admin/territoires/{lot_id}/destinataires", {"service_logement_adresse": "logement.dpds.exemple.fr"})
    assert refused.status_code == 422 and "n&#39;est pas une adresse électronique valide" in refused.get_data(as_text=True)
    assert _state(app) == before
    # Posting the same values again records nothing.
    assert admin.post(f"/admin/territoires/{lot_id}/destinataires", {"service_logement_adresse": "logement@dpds.exemple.fr"}).status_code == 302
    assert _state(app) == before


def test_only_an_administrator_changes_the_recipients(app: Flask, login_as: Any) -> None:
    lot_id, ids = _lot_id(app, "asll-lot-2"), _fields(app, "asll-lot-2")
    before = _state(app)
    for role in ("instructeur", "coordinateur", "redacteur"):
        web, _ = login_as(role)
        assert web.post(f"/admin/territoires/{lot_id}/destinataires", {f"adresse_{ids['Faucigny']}": "x@exemple.fr"}).status_code == 403
    assert _state(app) == before


def test_set_on_the_page_the_next_bilan_reaches_the_rast_of_the_pms_s_cams_only(app: Flask, admin: WebClient, login_as: Any, smtp_server: Any) -> None:  # noqa: F811
    """Through a real SMTP server: Seynod linked to Annecy Ouest on the page, both RAST addresses
    set there; a Seynod household's Installation bilan reaches Annecy Ouest's RAST, not Annecy Est's."""
    inbox, port = smtp_server()
    relay(app, port)
    lot_id, ids = _lot_id(app, "asll-lot-1"), _fields(app, "asll-lot-1")
    form = {f"adresse_{ids['Annecy Est']}": "rast.est@exemple.fr", f"adresse_{ids['Annecy Ouest']}": "rast.ouest@exemple.fr",
            f"cams_{ids['Seynod']}": "Annecy Ouest"}
    assert admin.post(f"/admin/territoires/{lot_id}/destinataires", form).status_code == 302
    web, _ = login_as("redacteur", territoires=("asll-lot-1",))
    mesure = open_mesure(web, menage_commune="Seynod", date_bon_commande="2019-06-28", date_premiere_rencontre="2019-07-01")
    _submit_installation_bilan(app, web, mesure, {"proposition": "fin"})
    run_jobs(app)
    assert sent_to(inbox) == ["rast.ouest@exemple.fr"]

