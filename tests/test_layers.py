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
