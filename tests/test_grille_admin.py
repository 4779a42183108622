"""The administrator edits a call's evaluation grid (AML §6c), on a page or the command line; frozen once scored."""

from __future__ import annotations

import copy
import hashlib
import json
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from tests.test_candidatures import _in_threads, each_waits_for_the_other
from tests.test_instruction import text_of
from tests.test_jury_work import jury, scores  # noqa: F401 - the fixture, used by name
from webforms import db
from webforms.candidatures import grille_edit, notation
from webforms.candidatures.grille import grille_aml_2019, grille_of
from webforms.commands.appel import grille_cmd
from webforms.models import Appel, ArchiveLog, Evaluation

CODE = "aml-logement-abord-2019"


def grid_form(grille: dict[str, Any]) -> dict[str, str]:
    """The grid as the page posts it: ``echelle-min``, ``criteres-0-poids``, ``criteres-0-sous_criteres-1-libelle``…"""
    out = {"echelle-min": str(grille["echelle"]["min"]), "echelle-max": str(grille["echelle"]["max"]), "action": "save"}
    for i, c in enumerate(grille["criteres"]):
        out.update({f"criteres-{i}-code": c["code"], f"criteres-{i}-titre": c["titre"], f"criteres-{i}-poids": str(c["poids"])})
        out.update({f"criteres-{i}-sous_criteres-{j}-libelle": s["libelle"] for j, s in enumerate(c["sous_criteres"])})
    return out


def stored(app: Flask) -> tuple[int, dict[str, Any] | None]:
    with app.app_context():
        appel = db.session().scalar(select(Appel).where(Appel.code == CODE))
        return appel.id, grille_of(appel.data)


def sealed(app: Flask) -> list[dict[str, Any]]:
    with app.app_context():
        return [row.detail for row in db.session().scalars(select(ArchiveLog).where(ArchiveLog.action == "grille_appel").order_by(ArchiveLog.id))]


def test_the_administrator_edits_a_calls_grid_in_french_sealed_in_the_audit_log_aml_6c(app: Flask, login_as: Any) -> None:
    appel_id, before = stored(app)
    admin, _ = login_as("admin", org="Administration")
    url = f"/admin/appels/{appel_id}/grille"
    page = admin.get(url).get_data(as_text=True)
    assert 'value="Identification des besoins"' in page and 'value="Qualité globale du projet"' in page, page
    assert "Grille d'évaluation (AML §6c)" in text_of(admin.get(f"/admin/appels/{appel_id}").get_data(as_text=True))
    # A criterion added, a sub-criterion removed: shown again, nothing saved.
    for action in ("add:criteres", "remove:criteres-1-sous_criteres:0"):
        assert admin.post(url, {**grid_form(before), "action": action}).status_code == 200
    assert stored(app)[1] == before and sealed(app) == []
    # Each rule on both sides of its edge: the weights add up to 100 at most, the scale's top is positive and above its bottom.
    refusals = [
        (lambda g: g["criteres"][0].update(poids=96), "La somme des poids ne peut dépasser 100 ; elle est de 101."),
        (lambda g: g["echelle"].update(min=0, max=0), "Valeur attendue entre 1 et 100."),
        (lambda g: g["echelle"].update(min=4, max=4), "La note la plus haute doit dépasser la plus basse."),
        (lambda g: g["criteres"][1].update(sous_criteres=[]), "Un critère a au moins un sous-critère."),
        (lambda g: g["criteres"][1].update(code="projet_territoire"), "Deux critères ont le même code."),
        (lambda g: g["criteres"][2].update(poids=0), "Valeur attendue entre 1 et 100."),
    ]
    for change, message in refusals:
        grille = copy.deepcopy(before)
        change(grille)
        refused = admin.post(url, grid_form(grille))
        assert refused.status_code == 422 and message in text_of(refused.get_data(as_text=True)), message
        assert stored(app)[1] == before and sealed(app) == []
    edited = copy.deepcopy(before)
    edited["echelle"] = {"min": 0, "max": 1}  # the smallest scale
    edited["criteres"].append({"code": "innovation", "titre": "Innovation", "poids": 1, "sous_criteres": [{"libelle": "Pratiques nouvelles"}]})
    edited["criteres"][0]["poids"] = 94  # 94 + 6 × 1 = 100: the edge, accepted
    assert admin.post(url, grid_form(edited)).status_code == 302
    _, after = stored(app)
    assert after is not None and [c["code"] for c in after["criteres"]][-1] == "innovation" and sum(c["poids"] for c in after["criteres"]) == 100
    assert after["echelle"] == {"min": 0, "max": 1} and after["appel"] == CODE
    # Sealed in the audit trail: who, which call, the grid's digest.
    (row,) = sealed(app)
    assert row["appel"] == appel_id and row["sha256"] == hashlib.sha256(json.dumps(after, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
    # Only the administrator; an unknown call is not found.
    for role, org in (("instructeur", "Département du Pas-de-Calais"), ("jury", "CALL")):
        web, _ = login_as(role, org=org)
        assert web.get(url).status_code == 403 and web.post(url, grid_form(before)).status_code == 403
    assert admin.get("/admin/appels/999999/grille").status_code == 404
    assert stored(app)[1] == after


def test_a_grid_is_frozen_once_a_member_has_scored_against_it(app: Flask, login_as: Any, jury: dict[str, Any]) -> None:  # noqa: F811
    appel_id, before = stored(app)
    admin, _ = login_as("admin", org="Administration")
    url = f"/admin/appels/{appel_id}/grille"
    renamed = copy.deepcopy(before)
    renamed["criteres"][5]["titre"] = "Qualité d'ensemble du projet"
    # No score yet (the jury is seated, the dossiers recevable): the grid still changes.
    assert admin.post(url, grid_form(renamed)).status_code == 302 and stored(app)[1]["criteres"][5]["titre"] == "Qualité d'ensemble du projet"
    # One draft score: frozen, said on the page and refused, nothing changed.
    member = jury["members"][0]
    assert member.post(f"/documents/{jury['docs']['A']}/evaluation", {**scores(3), "action": "enregistrer"}).status_code == 302
    assert "La grille est figée : le jury a déjà noté avec elle (1 évaluation)" in text_of(admin.get(url).get_data(as_text=True))
    refused = admin.post(url, grid_form(before))
    assert refused.status_code == 422 and "La grille de cet appel est figée : le jury a déjà noté avec elle (1 évaluation)" in text_of(refused.get_data(as_text=True))
    assert stored(app)[1]["criteres"][5]["titre"] == "Qualité d'ensemble du projet" and len(sealed(app)) == 1


def test_the_command_line_sets_a_calls_grid_and_refuses_in_french(app: Flask, tmp_path: Path) -> None:
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "WEBFORMS_INSTANCE_PATH": app.instance_path, "WEBFORMS_SECRET_KEY": "tests-only-secret"}
    runner = CliRunner()
    grille = grille_aml_2019()
    grille["criteres"][0]["poids"] = 3
    source = tmp_path / "grille.json"
    source.write_text(json.dumps(grille, ensure_ascii=False), encoding="utf-8")
    done = runner.invoke(grille_cmd, [CODE, str(source)], env=env)
    assert done.exit_code == 0 and "Grille d'évaluation de l'appel « aml-logement-abord-2019 » enregistrée : 6 critères." in done.output, done.output
    assert stored(app)[1]["criteres"][0]["poids"] == 3 and len(sealed(app)) == 1
    grille["criteres"][0]["poids"] = 96
    source.write_text(json.dumps(grille, ensure_ascii=False), encoding="utf-8")
    refused = runner.invoke(grille_cmd, [CODE, str(source)], env=env)
    assert refused.exit_code == 1 and "criteres : La somme des poids ne peut dépasser 100 ; elle est de 101." in refused.output, refused.output
    unknown = runner.invoke(grille_cmd, ["nulle-part", str(source)], env=env)
    assert unknown.exit_code == 1 and "Appel « nulle-part » introuvable" in unknown.output
    assert stored(app)[1]["criteres"][0]["poids"] == 3 and len(sealed(app)) == 1


def test_a_score_and_a_grid_edit_at_once_never_leave_a_score_against_a_grid_changed_under_it_aml_6c(
    app: Flask, login_as: Any, jury: dict[str, Any], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """The administrator narrows the scale while a member saves a top score, at the same moment.

    The race made certain: the edit, once it has counted the scores (none), and the score, once it
    has read the grid, each wait (3 s at most) for the other. Without the call's row lock both would
    go on: the score checked against the old scale, the grid narrowed under it. With it, one waits
    for the other: either the grid changes and the score is checked against it (refused), or the
    score is kept and the grid, scored against, is refused. Never both.
    """
    appel_id, before = stored(app)
    high = before["echelle"]["max"]
    narrowed = copy.deepcopy(before)
    narrowed["echelle"]["max"] = high - 1
    meeting = threading.Barrier(2)
    monkeypatch.setattr(grille_edit, "scores_against", each_waits_for_the_other(meeting, grille_edit.scores_against))
    monkeypatch.setattr(notation, "_checked", each_waits_for_the_other(meeting, notation._checked))
    admin, member = login_as("admin", org="Administration")[0], jury["members"][0]
    edit, scored = _in_threads(
        lambda: admin.post(f"/admin/appels/{appel_id}/grille", grid_form(narrowed)),
        lambda: member.post(f"/documents/{jury['docs']['A']}/evaluation", {**scores(high), "action": "enregistrer"}),
    )
    with app.app_context():
        kept = list(db.session().scalars(select(Evaluation)))
    grid_now = stored(app)[1]
    assert grid_now is not None
    changed = grid_now["echelle"]["max"] == high - 1
    # Exactly one of the two took effect, and every score kept is within the scale kept.
    assert changed != bool(kept), (edit.status_code, scored.status_code, len(kept))
    for evaluation in kept:
        assert all(n is None or n <= grid_now["echelle"]["max"] for notes in evaluation.notes.values() for n in notes)
    if changed:
        assert edit.status_code == 302
    else:
        assert edit.status_code == 422 and "La grille de cet appel est figée" in text_of(edit.get_data(as_text=True))
