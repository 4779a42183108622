"""A territories file is checked whole before anything of it is loaded (issue 15, hostile inputs).

Control characters and absurd lengths are refused with a French message naming the territory
and the field (the line, for a raw control character the JSON reader refuses); nothing loaded.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import select

from webforms import db
from webforms.commands.territories import SHIPPED, territories_group
from webforms.models import Territoire, TerritoireZone, utcnow
from webforms.territoires import services as svc
from webforms.territoires.checks import file_problems

SHIPPED_DATA = json.loads(SHIPPED.read_text(encoding="utf-8"))
RENAMED = "Lens-Hénin renommé par le fichier"


def loaded_state(app: Flask) -> list[tuple[str, str, list[str]]]:
    with app.app_context():
        s = db.session()
        return [(t.code, t.nom, sorted(s.scalars(select(TerritoireZone.nom).where(TerritoireZone.territoire_id == t.id))))
                for t in s.scalars(select(Territoire).order_by(Territoire.code))]


def changed(**lens: Any) -> dict[str, Any]:
    """The shipped file with Lens-Hénin (territory n° 2) renamed, then changed by ``lens``."""
    data = copy.deepcopy(SHIPPED_DATA)
    assert data["territoires"][1]["code"] == "aml-lens-henin"
    data["territoires"][1].update({"nom": RENAMED, **lens})
    return data


def load(app: Flask, data: dict[str, Any]) -> tuple[int, int]:
    with app.app_context():
        s = db.session()
        try:
            return svc.load(s, data, now=utcnow())
        finally:
            s.rollback()


def test_the_shipped_file_has_no_problem() -> None:
    assert file_problems(SHIPPED_DATA) == []


@pytest.mark.parametrize("bad", ["Lens\x00Hénin", "Lens\x0bHénin", "Lens\u202eHénin", "x" * 121])
def test_a_bad_name_refuses_the_whole_file_naming_the_territory(app: Flask, bad: str) -> None:
    before = loaded_state(app)
    with pytest.raises(svc.TerritoireError) as refused:
        load(app, changed(nom=bad))
    message = str(refused.value)
    assert message.startswith("Rien n'a été chargé : 1 problème dans le fichier.")
    assert "Territoire n° 2 (code « aml-lens-henin »), champ « nom »" in message
    assert ("121 caractères, 120 au plus" in message) if len(bad) > 100 else "caractère invisible ou de contrôle" in message
    assert loaded_state(app) == before


def test_a_name_at_the_limit_is_loaded(app: Flask) -> None:
    data = changed()
    data["territoires"][1]["nom"] = "x" * 120
    data["territoires"][1]["zones"] = {"epci": ["CALL", "y" * 150]}
    assert load(app, data) == (0, len(SHIPPED_DATA["territoires"]))
    assert ("aml-lens-henin", "x" * 120, sorted(["CALL", "y" * 150])) in loaded_state(app)


@pytest.mark.parametrize(("zones", "said"), [
    ({"epci": ["CALL", "y" * 151]}, "champ « zones.epci n° 2 » : 151 caractères, 150 au plus."),
    ({"epci": ["CALL\n"]}, "champ « zones.epci n° 1 », contient un caractère invisible ou de contrôle (U+000A)."),
    ({"epci": "CALL"}, "champ « zones.epci » : une liste de noms est attendue."),
    ({"epci": ["CALL"] * 2001}, "champ « zones » : plus de 2000 zones."),
    ({"quartier": ["Centre"]}, "champ « zones » : un objet dont les clés sont epci"),
])
def test_bad_zones_are_refused_and_named(app: Flask, zones: Any, said: str) -> None:
    before = loaded_state(app)
    with pytest.raises(svc.TerritoireError, match="Territoire n° 2 ") as refused:
        load(app, changed(zones=zones))
    assert said in str(refused.value)
    assert loaded_state(app) == before


def test_recipient_addresses_are_checked_as_e_mail_addresses(app: Flask) -> None:
    """A CAMS's RAST and the DPDS's Service Logement have an address in the file (issue 13): checked as the names are."""
    rast = "rast@cams.example.fr"
    assert file_problems(changed(zones={"epci": ["CALL", {"nom": "CAHC", "adresse": rast}]})) == []
    assert file_problems(changed(zones={"epci": [{"nom": "CAHC", "adresse": "x" * 243 + "@example.fr"}]})) == []  # 254 characters
    where = "Territoire n° 2 (code « aml-lens-henin »), champ « zones.epci n° 1"
    assert file_problems(changed(zones={"epci": [{"nom": "CAHC", "adresse": "x" * 244 + "@example.fr"}]})) == [f"{where}, adresse » : 255 caractères, 254 au plus."]
    assert file_problems(changed(zones={"epci": [{"nom": "CAHC", "adresse": "rast-at-cams"}]})) == [f"{where}, adresse » : adresse électronique invalide."]
    assert file_problems(changed(zones={"epci": [{"nom": "CAHC", "adresse": "rast@cams.example.fr\x00"}]}))[0].startswith(f"{where}, adresse », contient un caractère")
    assert file_problems(changed(zones={"epci": [{"nom": "CAHC\n"}]}))[0].startswith(f"{where}, nom », contient un caractère")
    assert file_problems(changed(zones={"epci": [{"nom": "CAHC", "courriel": rast}]})) == [f"{where} » : clés inconnues (courriel)."]
    data = copy.deepcopy(SHIPPED_DATA)
    data["departements"][0]["service_logement_adresse"] = "logement@departement.example.fr"
    assert file_problems(data) == []
    data["departements"][0]["service_logement_adresse"] = "logement"
    assert file_problems(data) == ["Département n° 1, champ « service_logement_adresse » : adresse électronique invalide."]


def test_counts_and_types_are_checked_on_both_sides(app: Flask) -> None:
    assert file_problems(changed(mesures_max=100_000, annee_indicative=2026)) == []
    assert file_problems(changed(mesures_max=100_001)) == ["Territoire n° 2 (code « aml-lens-henin »), champ « mesures_max » : un nombre entier de 0 à 100000 est attendu."]
    assert file_problems(changed(mesures_min=True)) != []
    assert file_problems(changed(nom=7)) == ["Territoire n° 2 (code « aml-lens-henin »), champ « nom » : un texte est attendu."]
    assert file_problems(changed(departement="Atlantide")) == [
        "Territoire n° 2 (code « aml-lens-henin »), champ « departement » : Département inconnu (absent du fichier et de la base).",
    ]
    # Known in the base (not in the file): accepted.
    assert file_problems(changed(departement="Atlantide"), ["Atlantide"]) == []
    bad_code = changed(code="lens\x00")
    assert file_problems(bad_code)[0].startswith("Territoire n° 2, champ « code », contient un caractère")
    assert file_problems({"departements": [], "territoires": [{}] * 1001}) == ["« territoires » doit être une liste d'au plus 1000 territoires."]
    many = file_problems({"departements": [], "territoires": [{"code": "x"}] * 3})
    assert len(many) == 9 and all(p.startswith("Territoire n° ") for p in many)


def test_the_command_line_names_the_line_or_the_territory_and_loads_nothing(app: Flask, tmp_path: Path) -> None:
    env = {"DATABASE_URL": app.config["DATABASE_URL"], "WEBFORMS_INSTANCE_PATH": app.instance_path, "WEBFORMS_SECRET_KEY": "tests-only-secret"}
    runner = CliRunner()
    before = loaded_state(app)
    escaped = tmp_path / "echappe.json"
    escaped.write_text(json.dumps(changed(nom="Lens\x07Hénin"), indent=1), encoding="utf-8")
    refused = runner.invoke(territories_group, ["load", str(escaped)], env=env)
    assert refused.exit_code == 1 and "Territoire n° 2 (code « aml-lens-henin »), champ « nom », contient un caractère invisible ou de contrôle (U+0007)" in refused.output
    raw = tmp_path / "brut.json"
    raw.write_text(json.dumps(changed(), indent=1, ensure_ascii=False).replace(RENAMED, "Lens\x01Hénin"), encoding="utf-8")
    line = next(n for n, text in enumerate(raw.read_text(encoding="utf-8").splitlines(), 1) if "\x01" in text)
    refused = runner.invoke(territories_group, ["load", str(raw)], env=env)
    assert refused.exit_code == 1 and f"JSON invalide ligne {line}, colonne" in refused.output and "caractère de contrôle dans un texte" in refused.output
    huge = tmp_path / "enorme.json"
    huge.write_text(" " * (5 << 20) + "{}", encoding="utf-8")
    refused = runner.invoke(territories_group, ["load", str(huge)], env=env)
    assert refused.exit_code == 1 and "au plus" in refused.output
    assert loaded_state(app) == before
    # The same file without the control character: loaded.
    good = tmp_path / "bon.json"
    good.write_text(json.dumps(changed()), encoding="utf-8")
    loaded = runner.invoke(territories_group, ["load", str(good)], env=env)
    assert loaded.exit_code == 0, loaded.output
    assert ("aml-lens-henin", RENAMED) in [(code, nom) for code, nom, _ in loaded_state(app)]
