"""The render bench's counter sees the renders it must prove absent from downloads."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

from flask import Flask

from schemas import get_kind
from tests.conftest import Account
from tests.workers import run_jobs
from webforms import db
from webforms.documents import services as svc_docs
from webforms.models import User
from webforms.web import services_of

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
from render_app import count_renders


def test_the_counter_sees_each_render_of_a_submission_and_none_before(app: Flask, make_user: Callable[..., Account]) -> None:
    # The bench reads "0 rendu" during downloads: a counter blind to the service's renders would
    # read 0 too (it once counted render, pdf and docx while the service called render_output).
    account = make_user("redacteur")
    services = services_of(app).documents
    calls = count_renders(services.renderer)
    kind = get_kind("fiche_saisine")
    with app.app_context():
        session = db.session()
        user = session.get(User, account.id)
        doc = svc_docs.create_draft(session, services, kind_name=kind.name, user=user, payload=dict(kind.example))
        assert calls == {"docx": 0, "pdf": 0}  # a draft renders nothing
        svc_docs.submit(session, services, doc, user=user)
        session.commit()
        assert calls == {"docx": 0, "pdf": 0}  # the submission asks the queue; a worker renders
    run_jobs(app)
    assert calls == {"docx": 1, "pdf": 1}
