"""Names typed by a user (organisations, accounts, calls, documents, measures, the jury grid) refuse control characters, in French (issue 15)."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from marshmallow import Schema, ValidationError
from sqlalchemy import func, select

from schemas import registry
from schemas.base.fields import Group, Rows, Text, row_schema, schema_instance
from schemas.base.names import NAME_PATTERN, Name
from schemas.base.records import MesureSchema
from tests.test_appels import SEED, form_of
from tests.test_grille_admin import grid_form, sealed, stored
from tests.test_mesures_web import INSTALLATION, open_mesure
from webforms import db
from webforms.accounts.services import AccountError, create_organisation, create_user
from webforms.candidatures.grille import GrilleEditSchema
from webforms.errors import DocumentError, check_name, name_problem
from webforms.models import Appel, Mesure, Organisation, User

HIDDEN = ["\x00\x0b", "Habitat\x00", "A\x07B", "Tab\tulé", "ligne\nsuivante", "\x7f", "C1\x85", "\u202egpj.exe", "fin\u2028"]
SHOWN = ["Habitat & Cie – Lille", "Œuvre d'Artois (62)", "Émile Zoé-Noël", "签名 مرحبا"]


@pytest.mark.parametrize("name", HIDDEN)
def test_a_name_with_a_control_character_is_refused_naming_it(name: str) -> None:
    problem = name_problem(name, "Le nom")
    assert problem is not None and problem.startswith("Le nom contient un caractère invisible ou de contrôle (U+")
    with pytest.raises(DocumentError, match="U\\+"):
        check_name(name, "Le nom")


@pytest.mark.parametrize("name", SHOWN)
def test_a_printable_name_is_kept_as_typed(name: str) -> None:
    assert name_problem(name, "Le nom") is None and check_name(name, "Le nom") == name


def test_an_organisation_named_with_control_characters_is_not_created(app: Flask, login_as: Any) -> None:
    web, _ = login_as("admin")
    web.get("/admin/organisations")
    response = web.post("/admin/organisations", {"name": "\x01\x0b"})
    assert response.status_code == 422 and "U+0001" in response.get_data(as_text=True)
    # A NUL is refused before any page reads the form, with what was typed given back (tests/test_hostile_posts.py).
    nul = web.post("/admin/organisations", {"name": "\x00\x0b"})
    assert nul.status_code == 400 and "caractère nul" in nul.get_data(as_text=True)
    assert web.post("/admin/organisations", {"name": "Habitat & Cie – Lille"}).status_code == 200
    with app.app_context():
        names = set(db.session().scalars(select(Organisation.name)))
        assert "Habitat & Cie – Lille" in names and not any(name_problem(n, "x") for n in names)
        with pytest.raises(AccountError, match="U\\+000B"):
            create_organisation(db.session(), "Asso\x0bciation")


def test_an_account_named_with_control_characters_is_not_created(app: Flask, make_user: Any) -> None:
    org = make_user("admin").organisation_id
    with app.app_context():
        session = db.session()
        common = {"role": "redacteur", "organisation_id": org, "password": "un-mot-de-passe-solide"}
        with pytest.raises(AccountError, match=r"Le nom complet .*U\+0007"):
            create_user(session, email="a@example.fr", full_name="A\x07B", **common)
        with pytest.raises(AccountError, match=r"L'adresse électronique .*U\+0000"):
            create_user(session, email="a\x00@example.fr", full_name="A B", **common)
        assert session.scalar(select(User).where(User.email == "a@example.fr")) is None
        assert create_user(session, email="a@example.fr", full_name="Émile Zoé-Noël", **common).full_name == "Émile Zoé-Noël"


@pytest.mark.parametrize(("field", "value"), [("titre", "Appel\x0c2021"), ("code", "aml\x01x"), ("territoires-0-nom", "Art\x1bois")])
def test_a_call_named_with_control_characters_is_not_saved(app: Flask, login_as: Any, field: str, value: str) -> None:
    web, _ = login_as("admin", org="Administration webforms")
    data = json.loads(SEED.read_text(encoding="utf-8"))
    data.update(code="aml-2021", titre="Appel AML 2021")
    response = web.post("/admin/appels", {**form_of(data), field: value})
    assert response.status_code == 422 and "caractère invisible ou de contrôle" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalar(select(Appel).where(Appel.code.like("aml%x") | (Appel.code == "aml-2021"))) is None
    assert web.post("/admin/appels", form_of(data)).status_code == 302


# -- Names inside the documents, the measures and the jury grid (issue 15, audit h22) ------------
# They were read as ``Text``, which drops control characters silently: "Mo\x0brel" became "Morel".


def _fields(schema_cls: type[Schema], trail: str = "") -> Iterator[tuple[str, Any]]:
    """Every field of a schema, nested groups and rows included, with its dotted path."""
    for name, field in schema_instance(schema_cls).fields.items():
        path = f"{trail}{name}"
        if isinstance(field, Group):
            nested = field.nested if isinstance(field.nested, type) else type(field.nested)
            yield from _fields(nested, f"{path}.")
        elif isinstance(field, Rows):
            yield from _fields(type(row_schema(field)), f"{path}[].")
        else:
            yield path, field


# The attributes that hold a person's, a household's or an organisation's name, wherever they are.
NAME_ATTRIBUTES = {
    "nom", "prenom", "menage_nom", "menage_prenom", "referent_nom", "representant_nom", "contact_nom", "raison_sociale",
    "organisme", "structure", "association", "operateur", "referent", "travailleur_social", "representant",
}
SCHEMAS = [*(kind.schema for kind in registry().values()), MesureSchema, GrilleEditSchema]


def _name_fields() -> list[tuple[str, Any]]:
    return [(f"{schema.__name__}.{path}", field) for schema in SCHEMAS for path, field in _fields(schema) if isinstance(field, Name)]


def test_every_name_field_of_the_catalogue_refuses_rather_than_strips() -> None:
    """A field holding a name is a ``Name`` wherever it is declared: a new one cannot strip again."""
    stripping = [
        f"{schema.__name__}.{path}" for schema in SCHEMAS for path, field in _fields(schema)
        if isinstance(field, Text) and not isinstance(field, Name) and field.metadata["widget"] != "textarea"  # a paragraph is no name
        and path.rsplit(".", 1)[-1].removesuffix("[]") in NAME_ATTRIBUTES
    ]
    assert stripping == []
    found = {path for path, _ in _name_fields()}
    # The ones the audit named: the jury grid's labels and the household's names.
    assert {"GrilleEditSchema.criteres[].titre", "GrilleEditSchema.criteres[].sous_criteres[].libelle", "MesureSchema.menage_nom", "MesureSchema.menage_prenom"} <= found
    assert any(p.endswith("demandeur.nom") for p in found), sorted(found)


@pytest.mark.parametrize(("where", "field"), _name_fields(), ids=lambda v: v if isinstance(v, str) else "")
def test_each_name_field_refuses_a_control_character_and_keeps_a_printable_name(where: str, field: Any) -> None:
    for hidden in HIDDEN:
        with pytest.raises(ValidationError) as refused:
            field.deserialize(f"Mo{hidden}rel")
        assert "caractère invisible ou de contrôle (U+" in str(refused.value), (where, hidden)
    for shown in SHOWN:
        assert field.deserialize(shown) == shown, where


def test_a_grid_label_with_a_control_character_is_refused_beside_the_field_nothing_saved(app: Flask, login_as: Any) -> None:
    appel_id, before = stored(app)
    admin, _ = login_as("admin", org="Administration")
    url = f"/admin/appels/{appel_id}/grille"
    admin.get(url)
    for field in ("criteres-0-titre", "criteres-1-sous_criteres-0-libelle"):
        typed = "Identi\x0bfication"
        refused = admin.post(url, {**grid_form(before), field: typed})
        page = refused.get_data(as_text=True)
        assert refused.status_code == 422 and "Ce nom contient un caractère invisible ou de contrôle (U+000B)" in page, field
        assert f'value="{typed}"' in page  # what was typed is shown again, as typed
        assert stored(app)[1] == before and sealed(app) == []
    # The other side: a printable label with accents, quotes and other scripts is saved as typed.
    edited = copy.deepcopy(before)
    edited["criteres"][0]["titre"] = "Besoins « non couverts » – 签名"
    assert admin.post(url, grid_form(edited)).status_code == 302
    assert stored(app)[1]["criteres"][0]["titre"] == "Besoins « non couverts » – 签名"


def test_a_household_name_with_a_control_character_is_refused_nothing_opened(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    web.get("/mesures/nouvelle")
    for field, typed in (("menage_nom", "Mo\x0brel"), ("menage_prenom", "Ka\u202erim"), ("travailleur_social", "Hélène\x07 Vidal")):
        refused = web.post("/mesures/nouvelle", {**INSTALLATION, field: typed})
        page = refused.get_data(as_text=True)
        assert refused.status_code == 422 and "Ce nom contient un caractère invisible ou de contrôle (U+" in page, field
        assert f'value="{typed}"' in page, field
        with app.app_context():
            assert db.session().scalar(select(func.count()).select_from(Mesure)) == 0
    assert open_mesure(web, menage_nom="Lefèvre-Dupré", menage_prenom="Élodie")
    with app.app_context():
        assert db.session().scalar(select(Mesure.menage_nom)) == "Lefèvre-Dupré"


def test_a_household_name_in_a_document_is_refused_by_the_api_and_the_command_line_alike() -> None:
    """The schema is the one truth: the web form, the API and ``webforms validate`` read the same field."""
    errors = registry()["fiche_saisine"].schema().validate({"menage": {"demandeur": {"nom": "Mo\x00rel"}}})
    assert "U+0000" in json.dumps(errors)


def test_the_api_describes_a_name_as_the_field_reads_it() -> None:
    """The API's pattern for a name (issue 15) accepts exactly what the field accepts: Schemathesis
    generates from it and expects the server to agree (tests/test_api_description.py)."""
    pattern, field = re.compile(NAME_PATTERN), Name("Nom")

    def accepted(value: str) -> bool:
        try:
            field.deserialize(value)
        except ValidationError:
            return False
        return True

    typed = [chr(code) for code in range(0x3000)] + ["Dupont\n", "Dupont\n\n", "\x1cDupont", "Du\tpont", "Le Gall", "\u202egpj.exe"]
    assert [repr(v) for v in typed if bool(pattern.search(v)) != accepted(v)] == []
    assert not accepted("Du\x08pont") and accepted("Dupont")  # both sides, as the API would post them
