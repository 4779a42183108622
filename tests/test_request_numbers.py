"""Numbers from a request (issue 15): one helper reads them all, ASCII digits within PostgreSQL's range."""

from __future__ import annotations

import ast
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.test_web import doc_id_from, example_form
from webforms import db
from webforms.candidatures import instruction, jury
from webforms.errors import BIGINT_MAX, INTEGER_MAX, DocumentError, NumberRefused, parse_id, parse_number
from webforms.models import User

HUGE = "9" * 20


@pytest.mark.parametrize("text", ["0", "7", " 42 ", str(INTEGER_MAX)])
def test_ascii_digits_within_an_integer_are_read(text: str) -> None:
    assert parse_number(text, what="Le numéro") == int(text)


@pytest.mark.parametrize("text", ["", "-1", "+1", "1.0", "1e3", "1_000", "\u0661", "\u00b2", "\uff11", str(INTEGER_MAX + 1), HUGE, "1" * 5000])
def test_anything_else_is_refused_in_french(text: str) -> None:
    with pytest.raises(NumberRefused, match="Le numéro"):
        parse_number(text, what="Le numéro")
    assert parse_id(text) is None


def test_bigint_is_the_other_edge() -> None:
    assert parse_number(str(BIGINT_MAX), what="Le travail", largest=BIGINT_MAX) == BIGINT_MAX
    with pytest.raises(NumberRefused):
        parse_number(str(BIGINT_MAX + 1), what="Le travail", largest=BIGINT_MAX)


def test_a_version_past_the_database_range_is_a_french_page_not_500(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    form = example_form("fiche_incident") | {"action": "submit"}
    doc_id = doc_id_from(web.post("/documents/nouveau/fiche_incident", form))
    assert web.get(f"/documents/{doc_id}/telecharger/pdf?version=1").status_code == 200
    for version in (HUGE, str(INTEGER_MAX + 1), "\u0661", "abc", "-1"):
        response = web.get(f"/documents/{doc_id}/telecharger/pdf?version={version}")
        assert response.status_code == 400, version
        assert "La version" in response.get_data(as_text=True)


def test_a_route_number_in_other_digits_is_not_found(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    doc_id = doc_id_from(web.post("/documents/nouveau/fiche_incident", example_form("fiche_incident")))
    assert web.get(f"/documents/{doc_id}").status_code == 200
    arabic = "".join(chr(0x0660 + int(d)) for d in str(doc_id))
    assert web.get(f"/documents/{arabic}").status_code == 404
    assert web.get(f"/documents/{INTEGER_MAX}").status_code == 404
    assert web.get(f"/documents/{INTEGER_MAX + 1}").status_code == 404


@pytest.mark.parametrize("organisation", [HUGE, str(INTEGER_MAX + 1), "\u0661", "x"])
def test_an_account_in_an_impossible_organisation_is_refused_in_french(app: Flask, login_as: Any, organisation: str) -> None:
    web, admin = login_as("admin")
    web.get("/admin/utilisateurs")
    response = web.post(
        "/admin/utilisateurs",
        {"email": "nouveau@example.fr", "full_name": "Nouveau Compte", "role": "redacteur", "organisation_id": organisation},
    )
    assert response.status_code == 422
    assert "L&#39;organisation" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session().scalar(select(User).where(User.email == "nouveau@example.fr")) is None
    # The same form with the organisation's number in ASCII digits creates the account.
    response = web.post(
        "/admin/utilisateurs",
        {"email": "nouveau@example.fr", "full_name": "Nouveau Compte", "role": "redacteur", "organisation_id": str(admin.organisation_id)},
    )
    assert response.status_code == 200
    with app.app_context():
        assert db.session().scalar(select(User).where(User.email == "nouveau@example.fr")) is not None


def _reads_request(tree: ast.Module) -> bool:
    return any(isinstance(n, ast.ImportFrom) and n.module == "flask" and any(a.name == "request" for a in n.names) for n in ast.walk(tree))


def _other_readings(tree: ast.Module) -> list[str]:
    """Return where a module reads a number otherwise than through ``parse_number``/``parse_id``."""
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr if isinstance(node.func, ast.Attribute) else ""
        if name in {"int", "float", "Decimal", "isdigit", "isdecimal", "isnumeric"}:
            found.append(f"{name}() line {node.lineno}")
        found += [f"type= line {node.lineno}" for k in node.keywords if k.arg == "type" and name == "get"]
    return found


def test_no_module_reading_the_request_parses_a_number_another_way() -> None:
    # Every module that imports flask's ``request`` (the views, web.py, the factory) reads its
    # numbers through the one helper; ``int()`` there would read "١" as 1 and 20 digits as a
    # number the database refuses with a 500.
    root = Path(__file__).resolve().parents[1] / "webforms"
    offenders = {}
    checked = 0
    for path in root.rglob("*.py"):
        tree = ast.parse(path.read_text(), str(path))
        if _reads_request(tree):
            checked += 1
            if found := _other_readings(tree):
                offenders[str(path.relative_to(root))] = found
    assert checked >= 8 and offenders == {}


def test_the_scan_sees_a_number_parsed_another_way() -> None:
    planted = "from flask import request\nn = int(request.args['n'])\nv = request.args.get('v', type=int)\nok = request.form['x'].isdigit()\n"
    tree = ast.parse(planted)
    assert _reads_request(tree) and len(_other_readings(tree)) == 3


def test_jury_members_are_read_with_ascii_digits_only() -> None:
    # "organisme-١" is no account number: an Arabic-Indic digit is not read as 1.
    assert jury.members_of_form({"organisme-1": "caf", "organisme-\u0661": "ccas", f"organisme-{HUGE}": "cd", "organisme-2": ""}) == {1: "caf"}
    assert jury.members_of_form({f"organisme-{INTEGER_MAX}": "caf", f"organisme-{INTEGER_MAX + 1}": "cd"}) == {INTEGER_MAX: "caf"}


def _dossier(requested: int = 4) -> Any:
    appel = SimpleNamespace(data={"territoires": [{"nom": "Artois", "mesures": 26}]})
    return SimpleNamespace(appel=appel, submitted_data={"mesures": [{"territoire": "Artois", "nombre": requested}]})


@pytest.mark.parametrize("value", ["\u0661", "\uff11", "1.0", "-1", HUGE])
def test_granted_measures_in_other_digits_are_refused_in_french(value: str) -> None:
    with pytest.raises(DocumentError, match="Territoire Artois"):
        instruction._granted(_dossier(), {"Artois": value})


@pytest.mark.parametrize(("value", "number"), [("1", 1), (" 4 ", 4), (3, 3)])
def test_granted_measures_in_ascii_digits_are_read(value: Any, number: int) -> None:
    assert instruction._granted(_dossier(), {"Artois": value}) == {"Artois": number}


def _names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _form_readings(tree: ast.Module) -> list[str]:
    """Return where a function parses a number otherwise than the one helper in what a form parameter holds.

    A form reaches the services as a ``Mapping`` parameter (``members_of_form(request.form)``,
    ``mesures={...request.form...}``): every name drawn from it (its keys, values, items and what
    is computed from them) is followed, and ``int()``/``isdigit()`` on one of them is reported.
    """
    found = []
    for func in ast.walk(tree):
        if not isinstance(func, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        tainted = {a.arg for a in func.args.args + func.args.kwonlyargs if a.annotation is not None and "Mapping" in ast.unparse(a.annotation)}
        if not tainted:
            continue
        for _ in range(3):  # a name drawn from a drawn name: a few rounds reach the fixed point
            for node in ast.walk(func):
                if isinstance(node, ast.For) and _names(node.iter) & tainted:
                    tainted |= _names(node.target)
                elif isinstance(node, ast.Assign | ast.NamedExpr | ast.AnnAssign) and node.value is not None and _names(node.value) & tainted:
                    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                    tainted |= set().union(*(_names(t) for t in targets))
        for node in ast.walk(func):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else node.func.attr if isinstance(node.func, ast.Attribute) else ""
            if name in {"int", "float", "Decimal"} and node.args and _names(node.args[0]) & tainted:
                found.append(f"{func.name}: {name}() line {node.lineno}")
            if name in {"isdigit", "isdecimal", "isnumeric"} and isinstance(node.func, ast.Attribute) and _names(node.func.value) & tainted:
                found.append(f"{func.name}: {name}() line {node.lineno}")
    return found


def test_no_function_given_a_form_parses_a_number_another_way() -> None:
    # The request scan above misses the services a view hands ``request.form`` to: the jury's
    # members and the granted measures read "١" as 1 there (issue 15's audit). Every module is read.
    root = Path(__file__).resolve().parents[1] / "webforms"
    offenders = {}
    for path in root.rglob("*.py"):
        if "migrations" not in path.parts and (found := _form_readings(ast.parse(path.read_text(), str(path)))):
            offenders[str(path.relative_to(root))] = found
    assert offenders == {}


def test_the_form_scan_sees_both_ways_the_audit_found() -> None:
    planted = (
        "def members(form: Mapping[str, Any]) -> dict:\n"
        "    for key, value in form.items():\n"
        "        number = key.removeprefix('organisme-')\n"
        "        if number.isdigit():\n"
        "            yield int(number)\n"
        "def granted(doc: Any, mesures: Mapping[str, Any] | None) -> dict:\n"
        "    counts = {t['nom']: int(t['mesures']) for t in doc.appel.data['territoires']}\n"
        "    for name, value in (mesures or {}).items():\n"
        "        number = int(str(value).strip() or '0')\n"
    )
    assert _form_readings(ast.parse(planted)) == ["members: isdigit() line 4", "members: int() line 5", "granted: int() line 9"]
