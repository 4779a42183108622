"""The generic lifecycle stands below the features that use it (issue 10)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

import webforms.documents.services as lifecycle
import webforms.documents.views as document_pages
from webforms.models import Appel, Document, Mesure

FEATURES = ("webforms.candidatures", "webforms.mesures", "webforms.archive")
# The generic document pages stand below the home page too, which shows the referent's measures.
PAGE_FEATURES = (*FEATURES, "webforms.home")


def imported_names(path: Path) -> list[str]:
    """Return every module a source file imports, deferred imports inside functions included."""
    tree = ast.parse(path.read_text())
    names = [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    return names + [node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)]


def test_the_lifecycle_imports_none_of_its_special_cases() -> None:
    """Importing the documents lifecycle loads no call, measure or archive module."""
    probe = "import sys, webforms.documents.services; print('\\n'.join(sorted(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-W", "ignore", "-c", probe], check=True, capture_output=True, text=True).stdout.split()
    assert "webforms.documents.services" in loaded
    assert [m for m in loaded if m.startswith(FEATURES)] == []


def test_the_lifecycle_names_no_feature_even_inside_a_function() -> None:
    """No import of a feature anywhere in the lifecycle's source, deferred ones included."""
    assert [n for n in imported_names(Path(lifecycle.__file__)) if n.startswith(FEATURES)] == []


def test_the_document_pages_name_no_feature_even_inside_a_function() -> None:
    """No import of a feature (calls, measures, archive, home page) in the generic document pages."""
    assert [n for n in imported_names(Path(document_pages.__file__)) if n.startswith(PAGE_FEATURES)] == []


def test_the_lifecycle_refuses_to_run_without_its_parents_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    """A process that skipped create_app must not submit a candidature with no call rules."""
    monkeypatch.setattr(lifecycle, "_PARENTS", {})
    with pytest.raises(RuntimeError, match="create_app"):
        lifecycle.parent_rules(Document(kind="fiche_saisine"))


def test_the_app_gives_the_lifecycle_each_parent_s_rules(app: Flask) -> None:
    """With the app built, a call's and a measure's documents follow their parent's rules."""
    assert type(lifecycle.parent_rules(Document(kind="candidature_aml", appel=Appel()))).__name__ == "CallRules"
    assert type(lifecycle.parent_rules(Document(kind="bilan_aml", mesure=Mesure()))).__name__ == "MeasureRules"
    assert type(lifecycle.parent_rules(Document(kind="fiche_saisine"))).__name__ == "NoParent"


def test_the_app_gives_the_document_page_the_archived_copy_the_thread_and_the_links(app: Flask) -> None:
    """With the app built, the generic document page gets the archive's signed copy, the thread of messages, the links, the dossier's ways in and the transmissions, by name."""
    assert list(document_pages._PAGE_EXTRAS) == ["archived", "messages", "partage", "dossier", "transmissions"]


# What a schema's reading may depend on: the payload and ``API_VALUES``, nothing else. The
# readings are kept per process (``Kind.load_partial``); a rule that read the clock, the
# database, the environment or another context variable would be served stale.
SCHEMA_FORBIDDEN_MODULES = ("webforms", "sqlalchemy", "flask", "os", "time")
SCHEMA_FORBIDDEN_CALLS = {"now", "today", "utcnow", "getenv", "ContextVar"}


def schema_sources() -> list[Path]:
    """Every source file that declares kinds and their rules."""
    return sorted((Path(__file__).parent.parent / "schemas").rglob("*.py"))


def _reads_outside_the_payload(path: Path) -> list[str]:
    """The imports and calls of ``path`` through which a reading could depend on more than its payload."""
    tree = ast.parse(path.read_text())
    found = [f"import {n}" for n in imported_names(path) if n.split(".")[0] in SCHEMA_FORBIDDEN_MODULES]
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
            if name in SCHEMA_FORBIDDEN_CALLS:
                found.append(f"{name}()")
    return found


def test_a_schema_reads_nothing_but_its_payload() -> None:
    """Kept readings stay true: no schema imports the service, the database or the clock (one ContextVar, API_VALUES, is in the key)."""
    root = Path(__file__).parent.parent
    found = {p.relative_to(root).as_posix(): _reads_outside_the_payload(p) for p in schema_sources()}
    allowed = {"schemas/base/fields.py": ["ContextVar()"]}  # API_VALUES, part of the kept reading's key
    found = {k: v for k, v in found.items() if v and allowed.get(k) != v}
    assert found == {}


def test_the_schema_guard_sees_a_clock(tmp_path: Path) -> None:
    """The guard above is not blind: a rule reading today's date is named."""
    probe = tmp_path / "probe.py"
    probe.write_text("import datetime as dt\nimport os\n\ndef rule(v):\n    return v <= dt.date.today()\n")
    assert _reads_outside_the_payload(probe) == ["import os", "today()"]
