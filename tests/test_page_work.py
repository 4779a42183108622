"""What the document page does not do (issue 11, CPU per submission): it draws no QR code, which only prints carry."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from markupsafe import Markup

from tests.test_web import submitted
from webforms import db
from webforms.documents.services import context_for
from webforms.models import Document
from webforms.rendering import context as context_module


def test_the_document_page_draws_no_qr_code_and_the_print_still_does(app: Flask, login_as: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A submitted document's page shows its content without drawing the mark; its printed context has the mark."""
    web, _ = login_as("redacteur")
    doc_id = submitted(web, "fiche_saisine")
    drawn: list[Any] = []
    monkeypatch.setattr(context_module, "qr_svg", lambda mark: drawn.append(mark) or Markup("<svg></svg>"))
    page = web.get(f"/documents/{doc_id}")
    assert page.status_code == 200
    assert "Durand" in page.get_data(as_text=True) and "FS-2019-000001" in page.get_data(as_text=True)
    assert drawn == []
    with app.app_context():
        ctx = context_for(db.session().get(Document, doc_id))
    assert len(drawn) == 1 and ctx["document"]["marque"].startswith("Réf. FS-2019-000001 · v1 · ")
