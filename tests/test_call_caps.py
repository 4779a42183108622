"""The call's caps per territory on both sides of their edge, on the web and on the command line (AML §1, §5).

"les associations agréées au titre de l'AML pour le territoire de l'Artois se répartiront 26
mesures et ceux du territoire de Lens-Hénin, 32 mesures." (AML §5) A dossier asks at most the
territory's count: 26 and 32 are accepted, 27 and 33 refused.
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from schemas import get_kind
from tests.conftest import Clock
from tests.databases import Databases
from tests.test_candidatures import BEFORE_DEADLINE, open_dossier
from tests.test_web import flatten
from webforms import db
from webforms.models import Document

APPEL_FILE = Path(__file__).resolve().parent.parent / "webforms" / "data" / "appel_aml_2019.json"
ENV = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"PYTHONIOENCODING": "utf-8"}
# (Artois, Lens-Hénin) -> the refusal expected, or None when accepted.
EDGES = {
    (26, 0): None,
    (27, 0): "Au plus 26 mesures sur le territoire Artois (AML §1, §5).",
    (0, 32): None,
    (0, 33): "Au plus 32 mesures sur le territoire Lens-Hénin (AML §1, §5).",
}


def dossier(artois: int, lens: int) -> dict[str, Any]:
    data = copy.deepcopy(dict(get_kind("candidature_aml").example))
    data["mesures"] = [{"territoire": "Artois", "nombre": artois}, {"territoire": "Lens-Hénin", "nombre": lens}]
    return data


def validate(tmp_path: Path, data: dict[str, Any], *args: str, env: dict[str, str] = ENV) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "dossier.json"
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "webforms", "validate", "candidature_aml", str(path), *args],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120,
    )


@pytest.mark.parametrize(("artois", "lens"), list(EDGES))
def test_the_command_line_applies_the_call_file_s_caps(tmp_path: Path, artois: int, lens: int) -> None:
    result = validate(tmp_path, dossier(artois, lens), "--appel", str(APPEL_FILE))
    refusal = EDGES[(artois, lens)]
    if refusal is None:
        assert result.returncode == 0, result.stdout
        assert "Document valide." in result.stderr and "la date limite de dépôt de l'appel est passée (06/09/2019 à 16:00" in result.stderr
    else:
        assert result.returncode == 1
        assert refusal in json.dumps(json.loads(result.stdout)["errors"], ensure_ascii=False)


def test_without_a_call_the_command_line_knows_no_cap(tmp_path: Path) -> None:
    # The other side: the kind alone does not know the call's counts (that is what --appel adds).
    assert validate(tmp_path, dossier(27, 0)).returncode == 0


def test_the_call_s_fixed_amount_is_applied_too_aml_5(tmp_path: Path) -> None:
    data = dossier(1, 0)
    data["budget"]["montant_par_mesure"] = "6000.00"
    result = validate(tmp_path, data, "--appel", str(APPEL_FILE))
    assert result.returncode == 1 and "L'appel fixe le financement à 5\u202f000,00\xa0€ par mesure (AML §5)." in result.stdout


def test_an_invalid_call_file_is_refused_with_its_errors(tmp_path: Path) -> None:
    bad = tmp_path / "appel.json"
    bad.write_text(json.dumps({**json.loads(APPEL_FILE.read_text(encoding="utf-8")), "territoires": []}), encoding="utf-8")
    result = validate(tmp_path, dossier(1, 0), "--appel", str(bad))
    assert result.returncode == 1 and "Un appel porte sur au moins un territoire." in result.stdout
    assert "est invalide" in result.stderr


def test_the_command_line_reads_a_call_of_the_database_by_id_or_code(tmp_path: Path, databases: Databases) -> None:
    env = ENV | {"DATABASE_URL": databases.copy()}
    code = json.loads(APPEL_FILE.read_text(encoding="utf-8"))["code"]
    assert validate(tmp_path, dossier(26, 32), "--appel", code, env=env).returncode == 0
    refused = validate(tmp_path, dossier(27, 32), "--appel", "1", env=env)
    assert refused.returncode == 1 and EDGES[(27, 0)] in refused.stdout and EDGES[(0, 33)] not in refused.stdout
    # Lens-Hénin's cap read from the database too: 33 refused (32 accepted above), Artois at 26 untouched.
    over = validate(tmp_path, dossier(26, 33), "--appel", code, env=env)
    assert over.returncode == 1 and EDGES[(0, 33)] in over.stdout and EDGES[(27, 0)] not in over.stdout
    unknown = validate(tmp_path, dossier(1, 0), "--appel", "appel-inconnu", env=env)
    assert unknown.returncode == 1 and "Appel « appel-inconnu » introuvable" in unknown.stderr and "Traceback" not in unknown.stderr


@pytest.mark.parametrize(("artois", "lens"), list(EDGES))
def test_the_web_form_applies_the_call_s_caps(app: Flask, login_as: Any, clock: Clock, artois: int, lens: int) -> None:
    clock.now = BEFORE_DEADLINE
    web, _ = login_as("redacteur")
    doc_id = open_dossier(app, web)
    # As typed ("0" as a string: a bare 0 equals False, which the form helper leaves out).
    rows = [{**r, "nombre": str(r["nombre"])} for r in dossier(artois, lens)["mesures"]]
    assert web.post(f"/documents/{doc_id}/modifier?etape=2", {**flatten({"mesures": rows}), "action": "next"}).status_code == 302
    page = web.get(f"/documents/{doc_id}/modifier?etape=2").get_data(as_text=True)
    with app.app_context():
        saved = db.session().get(Document, doc_id).data["mesures"]
    assert [int(r["nombre"]) for r in saved] == [artois, lens]  # kept as typed, refused or not
    refusal = EDGES[(artois, lens)]
    for message in filter(None, EDGES.values()):
        assert (message in page) == (message == refusal), message
