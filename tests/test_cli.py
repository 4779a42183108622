"""The command-line contract: output format and exit codes other tools rely on."""

from __future__ import annotations

import errno
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docx
import pytest
from click.testing import CliRunner, Result
from pypdf import PdfReader

from schemas import registry
from webforms import cli
from webforms.pgcluster import Cluster
from webforms.pgcluster import main as pgcluster_main

ENV = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"PYTHONIOENCODING": "utf-8"}


def run(*args: str, stdin: str | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "webforms", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=ENV,
        cwd=cwd,
        timeout=120,
    )


def test_kinds_lists_name_tab_title() -> None:
    result = run("kinds")
    assert result.returncode == 0
    lines = dict(line.split("\t") for line in result.stdout.splitlines())
    assert lines == {k.name: k.title for k in registry().values()}


@pytest.mark.parametrize("kind", sorted(registry()))
def test_example_is_valid_json_that_validates(kind: str, tmp_path: Path) -> None:
    example = run("example", kind)
    assert example.returncode == 0
    (tmp_path / "ex.json").write_text(example.stdout)
    assert run("validate", kind, str(tmp_path / "ex.json")).returncode == 0
    assert run("validate", kind, "-", stdin=example.stdout).returncode == 0


def test_validate_prints_french_nested_errors_and_exits_1() -> None:
    payload = json.loads(run("example", "fiche_saisine").stdout)
    payload["territoire"]["epci"] = "CUA"
    payload["menage"]["enfants"][1]["date_naissance"] = "hier"
    result = run("validate", "fiche_saisine", "-", stdin=json.dumps(payload))
    assert result.returncode == 1
    errors = json.loads(result.stdout)["errors"]
    assert "hors périmètre" in errors["territoire"]["epci"][0]
    assert errors["menage"]["enfants"]["1"]["date_naissance"] == ["Date invalide : utilisez le format JJ/MM/AAAA."]


@pytest.mark.parametrize("text", ["{pas du json", "[1, 2]", ""])
def test_validate_refuses_what_is_not_a_json_object(text: str) -> None:
    result = run("validate", "fiche_incident", "-", stdin=text)
    assert result.returncode == 1
    assert json.loads(result.stdout)["errors"]["_schema"]


def test_unknown_kind_is_a_clear_error() -> None:
    result = run("example", "inconnu")
    assert result.returncode != 0 and "Type de document inconnu" in result.stderr


def test_render_docx_and_pdf(tmp_path: Path) -> None:
    example = run("example", "fiche_saisine").stdout
    (tmp_path / "in.json").write_text(example)
    out = tmp_path / "saisine.docx"
    result = run("render", "fiche_saisine", str(tmp_path / "in.json"), "--format", "docx", "--output", str(out), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    text = "\n".join(p.text for p in docx.Document(str(out)).paragraphs)
    assert "Fiche saisine" in text
    pdf = tmp_path / "saisine.pdf"
    result = run("render", "fiche_saisine", "-", "--format", "pdf", "--output", str(pdf), stdin=example, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    pdf_text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    assert "Durand" in pdf_text and "Lens-Hénin" in pdf_text and "2 272,62" in pdf_text


def test_render_invalid_data_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "x.pdf"
    result = run("render", "fiche_incident", "-", "--format", "pdf", "--output", str(out), stdin="{}", cwd=tmp_path)
    assert result.returncode == 1
    assert json.loads(result.stdout)["errors"]["mesure"]
    assert not out.exists()


def test_check_templates_passes_on_the_project(tmp_path: Path) -> None:
    result = run("check-templates", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_templates_names_the_template_and_variable(tmp_path: Path) -> None:
    override = tmp_path / "instance" / "templates_html"
    override.mkdir(parents=True)
    (override / "fiche_saisine.html").write_text('{% extends "_base.html" %}{% block content %}{{ plateforme_inconnue }}{% endblock %}')
    result = run("check-templates", cwd=tmp_path)
    assert result.returncode == 1
    assert "fiche_saisine.html" in result.stdout and "plateforme_inconnue" in result.stdout


@pytest.fixture
def embedded_cluster(tmp_path: Path) -> Iterator[Cluster]:
    """The instance's own PostgreSQL cluster, which a command started with no DATABASE_URL creates."""
    cluster = Cluster(tmp_path / "instance" / "postgres")
    yield cluster
    cluster.stop()


def test_database_and_accounts_from_the_command_line(tmp_path: Path, embedded_cluster: Cluster) -> None:
    # No DATABASE_URL: the embedded default, a cluster created under the instance on first use.
    assert run("upgrade", cwd=tmp_path).returncode == 0
    assert (embedded_cluster.root / "data" / "PG_VERSION").exists()
    first = run("ensure-admin", cwd=tmp_path)
    assert first.returncode == 0 and "Mot de passe" in first.stdout
    second = run("ensure-admin", cwd=tmp_path)
    assert second.returncode == 0 and "Mot de passe" not in second.stdout  # printed once only
    created = run("create-user", "--email", "a@b.fr", "--name", "Anne B", "--role", "redacteur", "--organisation", "Asso A", cwd=tmp_path)
    assert created.returncode == 0 and "Mot de passe (affiché une seule fois)" in created.stdout
    again = run("create-user", "--email", "a@b.fr", "--name", "Anne B", "--role", "redacteur", "--organisation", "Asso A", cwd=tmp_path)
    assert again.returncode == 1 and "existe déjà" in again.stderr
    bad_role = run("create-user", "--email", "c@d.fr", "--name", "C D", "--role", "chef", "--organisation", "Asso A", cwd=tmp_path)
    assert bad_role.returncode == 1 and "Rôle inconnu" in bad_role.stderr
    # The instance, the key and the embedded cluster (data, socket, log) are the service's own
    # (issue 15): 0700/0600, the two folders the cluster's account passes through 0711 as root.
    instance = tmp_path / "instance"
    passed_through = {instance, embedded_cluster.root} if os.geteuid() == 0 else set()
    wrong = {}
    for path in [instance, *instance.rglob("*")]:
        if path.is_socket() or path.name.startswith(".s.PGSQL"):
            continue  # the socket and its lock: inside the 0700 socket folder
        mode = path.lstat().st_mode & 0o777
        expected = (0o711 if path in passed_through else 0o700) if path.is_dir() else 0o600
        if mode != expected:
            wrong[str(path.relative_to(instance))] = oct(mode)
    assert wrong == {}


def render_in_process(kind: str, output: Path) -> Result:
    """Run ``webforms render KIND - --format pdf --output OUTPUT`` on the kind's example, in-process."""
    example = json.dumps(dict(registry()[kind].example), ensure_ascii=False)
    result = CliRunner().invoke(cli.main, ["render", kind, "-", "--format", "pdf", "--output", str(output)], input=example)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exc_info
    return result


@pytest.mark.parametrize("kind", sorted(registry()))
def test_render_into_a_missing_folder_says_so_in_french_and_writes_nothing(kind: str, tmp_path: Path) -> None:
    output = tmp_path / "absent" / "x.pdf"
    result = render_in_process(kind, output)
    assert result.exit_code == 1
    assert f"Écriture impossible de « {output} » : le dossier « {tmp_path / 'absent'} » n'existe pas." in result.output
    assert list(tmp_path.iterdir()) == []


def test_render_onto_a_folder_says_so_in_french_and_writes_nothing(tmp_path: Path) -> None:
    result = render_in_process("fiche_incident", tmp_path)
    assert result.exit_code == 1
    assert f"Écriture impossible de « {tmp_path} » : c'est un dossier." in result.output
    assert list(tmp_path.iterdir()) == []


def test_render_that_cannot_write_says_why_in_french_and_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(src: str, dst: str) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    result = render_in_process("fiche_incident", tmp_path / "x.pdf")
    assert result.exit_code == 1
    assert f"Écriture impossible de « {tmp_path / 'x.pdf'} » : plus de place sur le disque." in result.output
    assert list(tmp_path.iterdir()) == []


def test_reading_a_missing_file_says_so_in_french(tmp_path: Path) -> None:
    result = run("validate", "fiche_incident", str(tmp_path / "absent.json"))
    assert result.returncode == 1
    assert f"Lecture impossible de « {tmp_path / 'absent.json'} » : fichier ou dossier introuvable." in result.stderr


def test_python_m_webforms_cli_knows_the_archive_commands() -> None:
    # `python -m webforms.cli` used to call main() before the archive group was declared.
    result = subprocess.run([sys.executable, "-m", "webforms.cli", "archive", "--help"], capture_output=True, text=True, env=ENV, timeout=120)
    assert result.returncode == 0, result.stderr


def test_light_commands_load_neither_weasyprint_nor_pyhanko() -> None:
    # kinds, example and validate start fast: the heavy libraries load with the app only.
    code = "import sys, webforms.cli; print(sorted({'weasyprint', 'pyhanko', 'pikepdf', 'lxml'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=ENV, timeout=120)
    assert result.stdout.strip() == "[]", result.stderr


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///webforms.db", "doit être PostgreSQL"),
        ("postgresql+psycopg://personne:secret@/absente?host=/nulle-part", "ne répond pas"),
    ],
)
def test_upgrade_on_a_database_it_cannot_use_says_why_in_french(tmp_path: Path, url: str, message: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "webforms", "upgrade"], capture_output=True, text=True, cwd=tmp_path, timeout=120,
        env=ENV | {"DATABASE_URL": url},
    )
    assert result.returncode == 1 and message in result.stderr
    assert "Traceback" not in result.stderr and "secret" not in result.stderr  # no password shown


def test_the_service_cluster_lives_in_the_instance_folder_it_is_given(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """`make run` (scripts/serve.sh) keeps the database beside the rest of the instance's data."""
    monkeypatch.setenv("WEBFORMS_INSTANCE_PATH", str(tmp_path / "ailleurs"))
    assert pgcluster_main(["url"]) == 0
    assert f"host={tmp_path / 'ailleurs' / 'postgres' / 'socket'}" in capsys.readouterr().out
    monkeypatch.delenv("WEBFORMS_INSTANCE_PATH")
    monkeypatch.chdir(tmp_path)
    assert pgcluster_main(["url"]) == 0
    assert f"host={tmp_path / 'instance' / 'postgres' / 'socket'}" in capsys.readouterr().out


DEEP = "[" * 100_000 + "]" * 100_000
NESTED_IN_A_FIELD = '{"situation": {"description": ' + "[" * 900 + "]" * 900 + "}}"
LONG_NUMBER = '{"n": ' + "9" * 4301 + "}"


@pytest.mark.parametrize(
    ("text", "message"),
    [(DEEP, "imbrication"), ('{"a": ' + DEEP + "}", "imbrication"), (LONG_NUMBER, "4300 chiffres"), ('{"n": -' + "1" * 5000 + "}", "4300 chiffres")],
)
@pytest.mark.parametrize("command", ["validate", "render"])
def test_hostile_json_is_refused_with_errors_not_a_traceback(text: str, message: str, command: str, tmp_path: Path) -> None:
    (tmp_path / "in.json").write_text(text)
    extra = ["--format", "docx", "--output", str(tmp_path / "out.docx")] if command == "render" else []
    result = run(command, "fiche_saisine", str(tmp_path / "in.json"), *extra)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    errors = json.loads(result.stdout)["errors"]["_schema"]
    assert len(errors) == 1 and errors[0].startswith("JSON invalide") and message in errors[0]
    assert not (tmp_path / "out.docx").exists()


@pytest.mark.parametrize("text", [NESTED_IN_A_FIELD, '{"n": ' + "9" * 4300 + "}"])
def test_json_just_within_the_limits_is_read_and_its_data_checked(text: str, tmp_path: Path) -> None:
    (tmp_path / "in.json").write_text(text)
    result = run("validate", "fiche_saisine", str(tmp_path / "in.json"))
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr[-2000:]
    errors = json.loads(result.stdout)["errors"]
    assert "JSON invalide" not in json.dumps(errors, ensure_ascii=False) and errors != {}
