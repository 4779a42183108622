"""Drafts' previews: rendered by a worker after a save, served as stored files at the click (issue 11, point 4)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, text

from schemas import get_kind
from tests.conftest import WebClient
from tests.test_web import doc_id_from, docx_text, example_form, pdf_text
from tests.workers import run_jobs, run_later_jobs
from webforms import db
from webforms.documents import previews
from webforms.documents import services as svc_docs
from webforms.jobs import ask
from webforms.models import Apercu, Document, Travail
from webforms.rendering import Renderer

PREVIEW_JOBS = text("SELECT count(*) FROM procrastinate_jobs WHERE task_name = 'rendre_apercu' AND status = 'todo'")


def preview_jobs(app: Flask) -> int:
    with app.app_context():
        return int(db.session().execute(PREVIEW_JOBS).scalar_one())


def save(web: WebClient, doc_id: int | None, form: dict[str, Any]) -> int:
    """Save a fiche saisine's form (a new draft when ``doc_id`` is None); return its id."""
    url = f"/documents/{doc_id}/modifier" if doc_id else "/documents/nouveau/fiche_saisine"
    response = web.post(url, {**form, "action": "save"})
    assert response.status_code == 302, response.get_data(as_text=True)
    return doc_id or doc_id_from(response)


@pytest.fixture
def renders(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Count the renders, wherever they run (a request, the worker's thread)."""
    calls: list[str] = []
    real = Renderer.render

    def counted(self: Renderer, output: Any, context: Any) -> bytes:
        calls.append(f"{output.name}.{output.fmt}")
        return real(self, output, context)

    monkeypatch.setattr(Renderer, "render", counted)
    yield calls


def test_ask_schedules_a_job_later_only_when_told(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        now = dt.datetime.now(dt.UTC)
        soon = ask(session, previews.render_previews, nature="apercu", libelle="a", now=now, schedule_in=30)
        at_once = ask(session, previews.render_previews, nature="apercu", libelle="b", now=now)
        assert soon is not None and at_once is not None
        scheduled = dict(session.execute(text("SELECT id, scheduled_at FROM procrastinate_jobs")).all())
        assert scheduled[at_once.job_id] is None
        assert dt.timedelta(seconds=25) < scheduled[soon.job_id] - now < dt.timedelta(seconds=35)
        session.rollback()


def test_several_saves_in_a_row_defer_one_preview_render(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    # No worker between the saves: on a slow machine the four saves outlast the render's one
    # second, and a worker run after a save would do it (then the next save rightly asks again).
    web.work = False
    form = example_form("fiche_saisine")
    doc_id = save(web, None, form)
    assert preview_jobs(app) == 1
    for name in ("Durand", "Martin", "Petit"):
        save(web, doc_id, {**form, "menage-demandeur-nom": name})
    assert preview_jobs(app) == 1  # the saves of the next second join the render asked first
    with app.app_context():
        works = db.session().scalars(select(Travail).where(Travail.nature == "apercu")).all()
        assert [w.document_id for w in works] == [doc_id]


def test_an_incomplete_draft_asks_for_no_preview(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    save(web, None, {**example_form("fiche_saisine"), "prescripteur-nom": ""})
    assert preview_jobs(app) == 0


def test_a_rolled_back_save_asks_for_nothing(app: Flask, login_as: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    web, _ = login_as("redacteur")
    doc_id = save(web, None, {**example_form("fiche_saisine"), "prescripteur-nom": ""})
    with app.app_context():
        session = db.session()
        doc = session.get_one(Document, doc_id)
        user = doc.author

        def lost(*args: Any, **kwargs: Any) -> None:
            raise RuntimeError("connexion perdue")

        monkeypatch.setattr(session, "commit", lost)
        with pytest.raises(RuntimeError):
            svc_docs.save_draft(session, app.extensions["webforms.services"], doc, user=user, payload=get_kind("fiche_saisine").example)
        session.rollback()
    assert preview_jobs(app) == 0
    with app.app_context():
        assert db.session().scalars(select(Travail)).all() == []


def test_the_preview_served_is_the_current_draft_and_the_click_never_renders(app: Flask, login_as: Any, renders: list[str]) -> None:
    web, _ = login_as("redacteur")
    web.work = False
    form = example_form("fiche_saisine")
    doc_id = save(web, None, {**form, "menage-demandeur-nom": "Avant"})
    # Clicked before the render: the page of its progress, not the file.
    click = web.get(f"/documents/{doc_id}/telecharger/pdf")
    assert click.status_code == 303 and click.location.endswith(f"/documents/{doc_id}/apercu/pdf?sortie=document")
    page = web.get(click.location).get_data(as_text=True)
    assert "data-progress-url" in page and "Préparation de l&#39;aperçu" in page
    assert renders == []
    run_later_jobs(app)
    assert sorted(renders) == ["document.docx", "document.pdf"]
    page = web.get(click.location).get_data(as_text=True)
    assert "data-progress-url" not in page and f'href="/documents/{doc_id}/telecharger/pdf?sortie=document"' in page

    served = web.get(f"/documents/{doc_id}/telecharger/pdf")
    word = web.get(f"/documents/{doc_id}/telecharger/docx")
    assert served.status_code == 200 and served.mimetype == "application/pdf" and len(renders) == 2
    with app.app_context():
        doc = db.session().get_one(Document, doc_id)
        kind = get_kind("fiche_saisine")
        fresh = app.extensions["webforms.services"].renderer
        ctx = svc_docs.context_for(doc, draft=True)
        assert pdf_text(served.data) == pdf_text(fresh.render(kind.output("pdf"), ctx))
        assert docx_text(word.data) == docx_text(fresh.render(kind.output("docx"), ctx))
    assert "Avant" in pdf_text(served.data) and "BROUILLON" in pdf_text(served.data).upper()

    # Changed since: the stored file is stale and never served; the next render serves the change.
    renders.clear()
    save(web, doc_id, {**form, "menage-demandeur-nom": "Ensuite"})
    assert web.get(f"/documents/{doc_id}/telecharger/pdf").status_code == 303
    assert renders == []
    run_later_jobs(app)
    assert "Ensuite" in pdf_text(web.get(f"/documents/{doc_id}/telecharger/pdf").data)


def test_a_change_outside_the_form_makes_the_preview_stale(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    doc_id = save(web, None, example_form("fiche_saisine"))
    run_later_jobs(app)
    assert web.get(f"/documents/{doc_id}/telecharger/pdf").status_code == 200
    with app.app_context():
        db.session().get_one(Document, doc_id).organisation.name = "Association renommée"
        db.session().commit()
    stale = web.get(f"/documents/{doc_id}/telecharger/pdf")
    assert stale.status_code == 303
    run_jobs(app)  # the click asked for it at once
    assert "Association renommée" in pdf_text(web.get(f"/documents/{doc_id}/telecharger/pdf").data)


def test_a_render_runs_once_per_state(app: Flask, login_as: Any, renders: list[str]) -> None:
    web, _ = login_as("redacteur")
    doc_id = save(web, None, example_form("fiche_saisine"))
    run_later_jobs(app)
    assert len(renders) == 2
    with app.app_context():
        session = db.session()
        previews.ask_preview(session, session.get_one(Document, doc_id), user=None, now=dt.datetime.now(dt.UTC), delay=0)
        session.commit()
    run_jobs(app)  # a second run of the same state (a job run again after a kill) renders nothing
    assert len(renders) == 2
    with app.app_context():
        assert len(db.session().scalars(select(Apercu).where(Apercu.document_id == doc_id)).all()) == 2


def test_an_incomplete_draft_keeps_the_refusal(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    doc_id = save(web, None, {**example_form("fiche_saisine"), "prescripteur-nom": ""})
    for url in (f"/documents/{doc_id}/telecharger/pdf", f"/documents/{doc_id}/apercu/pdf"):
        response = web.get(url)
        assert response.status_code == 302 and response.location.endswith(f"/documents/{doc_id}/modifier")
        assert "L&#39;aperçu n&#39;est possible qu&#39;une fois le brouillon complet." in web.get("/").get_data(as_text=True)
    assert preview_jobs(app) == 0


def test_a_failed_render_is_said_and_asked_again_at_the_click(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    doc_id = save(web, None, example_form("fiche_saisine"))
    with app.app_context():
        session = db.session()
        work = session.scalars(select(Travail).where(Travail.nature == "apercu")).one()
        session.execute(text("UPDATE procrastinate_jobs SET status = 'failed' WHERE id = :id"), {"id": work.job_id})
        work.statut, work.erreur = "echec", "RuntimeError : panne"
        session.commit()
    page = web.get(f"/documents/{doc_id}/apercu/pdf").get_data(as_text=True)
    assert "L'aperçu n'a pas pu être préparé" in page and "data-progress-url" not in page
    assert web.get(f"/documents/{doc_id}/telecharger/pdf").status_code == 303  # asks again
    assert preview_jobs(app) == 1
    run_jobs(app)
    assert web.get(f"/documents/{doc_id}/telecharger/pdf").status_code == 200


def test_stored_versions_are_served_without_rendering(app: Flask, login_as: Any, renders: list[str]) -> None:
    web, _ = login_as("redacteur")
    doc_id = save(web, None, example_form("fiche_saisine"))
    web.post(f"/documents/{doc_id}/soumettre", {})
    renders.clear()
    for fmt in ("pdf", "docx"):
        assert web.get(f"/documents/{doc_id}/telecharger/{fmt}").status_code == 200
        assert web.get(f"/documents/{doc_id}/telecharger/{fmt}?version=1").status_code == 200
    assert renders == []
    # The preview's page of a submitted document sends to its page, where its versions are.
    assert web.get(f"/documents/{doc_id}/apercu/pdf").location.endswith(f"/documents/{doc_id}")


def test_someone_who_cannot_see_the_draft_gets_404_on_its_preview_and_its_work(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    doc_id = save(web, None, example_form("fiche_saisine"))
    with app.app_context():
        work_id = db.session().scalars(select(Travail.id).where(Travail.nature == "apercu")).one()
    other, _ = login_as("redacteur", org="Autre association")
    for url in (f"/documents/{doc_id}/telecharger/pdf", f"/documents/{doc_id}/apercu/pdf", f"/travaux/{work_id}", f"/travaux/{work_id}/etat"):
        assert other.get(url).status_code == 404, url
        assert web.get(url).status_code in (200, 303), url
    # The refused click asked for nothing: still the save's one render, whether or not it ran
    # (the other user's sign-in runs the due jobs, and the save's is due after a second).
    with app.app_context():
        assert db.session().scalars(select(Travail.id).where(Travail.nature == "apercu")).all() == [work_id]


def test_a_stored_preview_is_refused_when_the_parent_now_refuses_the_draft(app: Flask, login_as: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    web, _ = login_as("redacteur")
    doc_id = save(web, None, example_form("fiche_saisine"))
    run_later_jobs(app)
    assert web.get(f"/documents/{doc_id}/telecharger/pdf").status_code == 200

    class Refusing(svc_docs.NoParent):
        def errors(self, doc: Document, data: Any) -> dict[str, Any]:
            return {"mesures": ["Plus de mesures que l'appel n'en permet."]}

    monkeypatch.setattr(svc_docs, "parent_rules", lambda doc: Refusing())
    monkeypatch.setattr(previews, "parent_rules", lambda doc: Refusing())
    response = web.get(f"/documents/{doc_id}/telecharger/pdf")
    assert response.status_code == 302 and response.location.endswith(f"/documents/{doc_id}/modifier")


def test_busy_workers_render_a_waiting_submission_before_an_older_preview(app: Flask, login_as: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """What a user waits for goes first (``jobs.PRIORITY``): the submitted document's files, then previews."""
    web, _ = login_as("redacteur")
    web.work = False
    form = example_form("fiche_saisine")
    draft = save(web, None, form)  # its preview is asked first
    submitted = save(web, None, form)
    assert web.post(f"/documents/{submitted}/modifier", {**form, "action": "submit"}).status_code == 302
    with app.extensions["webforms.engine"].begin() as conn:  # the preview falls due, behind nothing
        conn.execute(text("UPDATE procrastinate_jobs SET scheduled_at = now() WHERE task_name = 'rendre_apercu'"))
    order: list[str | None] = []
    real = Renderer.render

    def noted(self: Renderer, output: Any, context: Any) -> bytes:
        order.append(context["document"]["reference"] or None)  # none on a draft's preview
        return real(self, output, context)

    monkeypatch.setattr(Renderer, "render", noted)
    run_jobs(app)  # one worker, one job at a time
    with app.app_context():
        session = db.session()
        reference = session.get_one(Document, submitted).reference
        asked = {w.document_id: w.id for w in session.scalars(select(Travail).where(Travail.nature.in_(("apercu", "rendu"))))}
    assert asked[draft] < asked[submitted]
    assert reference and order == [reference, reference, None, None]


def _noting_previews(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Note each preview rendered (a draft's context has no reference), by output format."""
    noted: list[str] = []
    real = Renderer.render

    def render(self: Renderer, output: Any, context: Any) -> bytes:
        if not context["document"]["reference"]:
            noted.append(output.fmt)
        return real(self, output, context)

    monkeypatch.setattr(Renderer, "render", render)
    return noted


def test_a_draft_submitted_within_the_debounce_renders_no_preview(app: Flask, login_as: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Saved, then submitted before its preview fell due: the preview's job is called off, never run; a draft only saved still gets its previews."""
    web, _ = login_as("redacteur")
    web.work = False  # no job runs before the test says so (a loaded machine takes seconds)
    noted = _noting_previews(monkeypatch)
    form = example_form("fiche_saisine")
    submitted = save(web, None, form)
    kept = save(web, None, form)
    assert preview_jobs(app) == 2
    assert web.post(f"/documents/{submitted}/modifier", {**form, "action": "submit"}).status_code == 302
    assert preview_jobs(app) == 1  # the kept draft's
    run_later_jobs(app)
    assert noted == ["docx", "pdf"]  # the kept draft's previews, none of the submitted document's
    with app.app_context():
        session = db.session()
        work = session.scalars(select(Travail).where(Travail.document_id == submitted, Travail.nature == "apercu")).one()
        assert (work.statut, work.resultat["rendus"]) == ("termine", [])
        assert session.scalars(select(Apercu).where(Apercu.document_id == submitted)).all() == []
        assert {a.format for a in session.scalars(select(Apercu).where(Apercu.document_id == kept))} == {"docx", "pdf"}
        status = session.execute(text("SELECT j.status FROM procrastinate_jobs j WHERE j.id = :id"), {"id": work.job_id}).scalar_one()
    assert status == "cancelled"


def test_a_preview_render_stops_when_the_draft_is_submitted_meanwhile(app: Flask, login_as: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A preview render already running when the draft is submitted renders no further output; not submitted, it renders both."""
    web, _ = login_as("redacteur")
    doc_ids = [save(web, None, example_form("fiche_saisine")) for _ in range(2)]
    noted: list[tuple[int, str]] = []
    real = Renderer.render

    def render(self: Renderer, output: Any, context: Any) -> bytes:
        doc_id = doc_ids[0] if len(noted) < 2 and not any(d == doc_ids[1] for d, _ in noted) else doc_ids[1]
        noted.append((doc_id, output.fmt))
        content = real(self, output, context)
        if doc_id == doc_ids[1]:  # while its first output renders, another request submits the draft
            with app.extensions["webforms.engine"].begin() as conn:
                conn.execute(text("UPDATE document SET statut = 'soumis' WHERE id = :id"), {"id": doc_id})
        return content

    monkeypatch.setattr(Renderer, "render", render)
    run_later_jobs(app)  # one job at a time, in the order asked
    assert noted == [(doc_ids[0], "docx"), (doc_ids[0], "pdf"), (doc_ids[1], "docx")]
