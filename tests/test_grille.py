"""The evaluation grid is configuration of the call: the six criteria of AML §6c as written."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from marshmallow import ValidationError
from sqlalchemy import select

from tests.test_appels import form_of
from tests.test_call_caps import APPEL_FILE, dossier, validate
from webforms import db
from webforms.candidatures.grille import GRILLE_AML_2019, grille_aml_2019, grille_of, load_grille, weighted_total
from webforms.models import Appel

SEED = Path("/work/shared/seeds/aml-logement-d-abord-cahier-des-charges.txt")
SECTION_6C = (
    "1. Le projet de territoire",
    "2. Le fonctionnement envisagé",
    "3. Le partenariat",
    "4. Les moyens",
    "5. Faisabilité financière du projet",
    "6. Qualité globale du projet",
)


def test_the_2019_grid_has_the_six_criteria_of_aml_6c_with_their_sub_criteria() -> None:
    grille = grille_aml_2019()
    assert [f"{i}. {c['titre']}" for i, c in enumerate(grille["criteres"], start=1)] == list(SECTION_6C)
    assert [len(c["sous_criteres"]) for c in grille["criteres"]] == [2, 4, 3, 3, 1, 1]
    assert grille["appel"] == "aml-logement-abord-2019" and grille["echelle"] == {"min": 0, "max": 5}


@pytest.mark.skipif(not SEED.exists(), reason="the call's text is read from the shared seeds")
def test_every_sub_criterion_is_worded_as_in_the_call() -> None:
    text = SEED.read_text(encoding="utf-8")
    part = text[text.index("c.  Critères de sélection") : text.index("d. Calendrier")]
    written = [line.strip()[2:].strip() for line in part.splitlines() if line.strip().startswith("- ")]
    assert [s["libelle"] for c in grille_aml_2019()["criteres"] for s in c["sous_criteres"]] == written
    for title in SECTION_6C:
        assert re.search(rf"^\s*{re.escape(title)}\s*$", part, re.MULTILINE), title


def _with(change: Any) -> dict[str, Any]:
    grille = copy.deepcopy(grille_aml_2019())
    change(grille)
    return grille


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda g: g["criteres"][0].update(poids=0), "Valeur attendue entre 1 et 100."),
        (lambda g: g["criteres"][0].update(sous_criteres=[]), "Un critère a au moins un sous-critère."),
        (lambda g: g["echelle"].update(min=3, max=3), "La note la plus haute doit dépasser la plus basse."),
        (lambda g: g.update(criteres=[]), "Une grille a au moins un critère."),
        (lambda g: g["criteres"][1].update(code="projet_territoire"), "Deux critères ont le même code."),
    ],
)
def test_a_grid_outside_its_rules_is_refused_in_french(change: Any, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        load_grille(_with(change))
    assert message in str(refused.value.normalized_messages())


def test_a_grid_on_the_edge_of_its_rules_is_accepted() -> None:
    # The other side of each edge: weight 1, one sub-criterion, a scale of two notes.
    grille = load_grille(_with(lambda g: (g["criteres"][0].update(poids=1, sous_criteres=[{"libelle": "Seul"}]), g["echelle"].update(min=0, max=1))))
    assert grille["criteres"][0]["poids"] == 1 and grille["echelle"] == {"min": 0, "max": 1}


def test_the_weighted_total_is_each_criterion_s_mean_times_its_weight() -> None:
    grille = _with(lambda g: g["criteres"][1].update(poids=2))
    notes = {c["code"]: [5] * len(c["sous_criteres"]) for c in grille["criteres"]}
    notes["fonctionnement"] = [4, 2, 3, 3]
    assert weighted_total(grille, notes) == 5 * 5 + 2 * 3


def test_the_shipped_2019_call_carries_its_grid_and_an_edit_keeps_it(app: Flask, login_as: Any) -> None:
    with app.app_context():
        appel = db.session().scalar(select(Appel).where(Appel.code == "aml-logement-abord-2019"))
        assert grille_of(appel.data) == grille_aml_2019()
        appel_id = appel.id
    admin, _ = login_as("admin", org="Administration")
    edited = form_of({**json.loads(APPEL_FILE.read_text(encoding="utf-8")), "titre": "Appel 2019 modifié"})
    assert admin.post(f"/admin/appels/{appel_id}", edited).status_code == 302
    with app.app_context():
        data = db.session().get(Appel, appel_id).data
        assert data["titre"] == "Appel 2019 modifié" and grille_of(data) == grille_aml_2019()


def _call_file(tmp_path: Path, grille: Any) -> Path:
    path = tmp_path / "appel.json"
    path.write_text(json.dumps({**json.loads(APPEL_FILE.read_text(encoding="utf-8")), "grille": grille}, ensure_ascii=False), encoding="utf-8")
    return path


def test_a_call_file_with_its_grid_is_read_by_the_command_line(tmp_path: Path) -> None:
    good = _call_file(tmp_path, json.loads(GRILLE_AML_2019.read_text(encoding="utf-8")))
    assert validate(tmp_path, dossier(26, 32), "--appel", str(good)).returncode == 0
    bad = _call_file(tmp_path, {**json.loads(GRILLE_AML_2019.read_text(encoding="utf-8")), "criteres": []})
    refused = validate(tmp_path, dossier(26, 32), "--appel", str(bad))
    assert refused.returncode == 1 and "Une grille a au moins un critère." in refused.stdout
