"""Every page of the app under axe-core, at desktop width and at 360 px, in Debian's Chromium (issue 16, point 11).

The walk is ``PAGES`` of tests/browser/pages.py, on the permission matrix's world: each actor signs
in through the form and opens its pages; each page is looked at 360 px (nothing scrolls sideways,
nothing is cut) and checked by axe-core at both widths (``check_accessibility``: 0 serious or
critical violation, screenshots kept). Then the error pages, each reached as a user reaches it:
403, 404, the 409 of a save after the deadline, the 500 page, the refusal of an expired form.
tests/test_axe_coverage.py fails on a GET route in neither ``PAGES`` nor ``NOT_PAGES``.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Page, Response, expect
from werkzeug.serving import make_server

from tests.browser.pages import ERROR_PAGES, PAGES
from tests.browser.test_journey import check_accessibility, sign_in
from tests.browser.test_small_screens import PHONE, check_small_screen
from tests.conftest import PASSWORD
from tests.test_permissions import BEFORE_NOW, WORLD_NOW, World, shared_world  # noqa: F401 (shared_world: the fixture, used by name)
from webforms import db
from webforms.accounts.reset import digest
from webforms.models import PasswordReset

pytestmark = pytest.mark.browser

SPECIAL = ("auth.totp", "auth.second_factor")  # walked last, in their own order (enrol, then sign in again)


@pytest.fixture(scope="module")
def world_server(shared_world: World) -> Iterator[str]:  # noqa: F811 (the fixture imported above, by name)
    """Serve the permission matrix's world on a free local port."""
    server = make_server("127.0.0.1", 0, shared_world.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="world-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def look(page: Page, answer: Response | None, where: str, status: int = 200) -> None:
    """The page answered ``status`` in HTML; at 360 px nothing sticks out; axe-core at both widths."""
    assert answer is not None and answer.status == status, f"{where} : {answer and answer.status}"
    assert answer.headers.get("content-type", "").startswith("text/html"), where
    page.set_viewport_size(PHONE)
    check_small_screen(page, where)
    check_accessibility(page, where)


def sign_in_as(page: Page, base: str, world: World, actor: str) -> None:
    page.context.clear_cookies()
    if actor != "anonymous":
        sign_in(page, base, world.accounts[actor])


def test_every_page_passes_axe_at_both_widths(shared_world: World, world_server: str, page: Page) -> None:  # noqa: F811
    world, base = shared_world, world_server
    page.set_default_timeout(15_000)
    # A jury reads only the recevable dossiers of its call (AML §6b, §6d): the instructeur declares it first.
    instructeur = world.client("instructeur")
    for action in ("instruire", "recevable"):
        assert instructeur.post(f"/documents/{world.docs['dossier_submitted']}/instruction", {"action": action}).status_code == 302
    assert "maintenant « recevable »" in instructeur.get(world.url("candidatures.checklist", "dossier_submitted")).get_data(as_text=True)
    # The form of a reset link (issue 15): a link recorded for the token of the matrix's URL, valid
    # for the next hour by the sessions' clock (the real time, as the link's own check reads it).
    token, now = world.url("auth.reset", None).rsplit("/", 1)[1], dt.datetime.now(dt.UTC)
    with world.app.app_context():
        db.session().add(PasswordReset(user_id=world.accounts["redacteur_A"].id, jeton_sha256=digest(token),
                                       created_at=now, expires_at=now + dt.timedelta(hours=1)))
        db.session().commit()
    walked: set[str] = set()
    by_actor: dict[str, list[tuple[str, str | None]]] = {}
    for endpoint, visits in PAGES.items():
        for actor, state in visits:
            if endpoint not in SPECIAL:
                by_actor.setdefault(actor, []).append((endpoint, state))
    faults: list[str] = []  # every page's findings, reported together rather than the first only
    for actor, visits in by_actor.items():
        sign_in_as(page, base, world, actor)
        for endpoint, state in visits:
            try:
                look(page, page.goto(base + world.url(endpoint, state)), f"{endpoint} ({actor}, {state or '-'})")
            except AssertionError as fault:
                faults.append(str(fault))
            walked.add(endpoint)
    assert not faults, "\n\n".join(faults)

    # Two-factor setup, then the sign-in's second step (issue 15), as the archiviste.
    sign_in_as(page, base, world, "archiviste")
    look(page, page.goto(base + world.url("auth.totp", None)), "auth.totp (archiviste)")
    secret = page.locator("code.secret").first.inner_text()
    page.get_by_label(re.compile("^Code")).fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Activer la double authentification").click()
    expect(page.get_by_text("La double authentification est activée")).to_be_visible()
    page.get_by_role("button", name="Se déconnecter").click()
    page.goto(base + "/connexion")
    page.get_by_label("Adresse électronique").fill(world.accounts["archiviste"].email)
    page.get_by_label("Mot de passe").fill(PASSWORD)
    with page.expect_response(lambda r: r.url.endswith("/connexion/code")) as shown:
        page.get_by_role("button", name="Se connecter").click()
    look(page, shown.value, "auth.second_factor (archiviste)")
    walked.update(SPECIAL)
    assert walked == set(PAGES)


def test_every_error_page_passes_axe_at_both_widths(shared_world: World, world_server: str, page: Page) -> None:  # noqa: F811
    world, base = shared_world, world_server
    page.set_default_timeout(15_000)
    seen: set[int] = set()
    sign_in_as(page, base, world, "redacteur_A")

    def error_page(answer: Response | None, status: int, title: str) -> None:
        expect(page.get_by_role("heading", level=1)).to_contain_text(title)
        look(page, answer, f"page d'erreur {status}", status)
        seen.add(status)

    # 403: a page of another role (an old bookmark); 404: a document that is not there (or not theirs).
    error_page(page.goto(base + "/admin/utilisateurs"), 403, "Accès refusé")
    error_page(page.goto(base + world.url("documents.view", "submitted_saisine").replace(str(world.docs["submitted_saisine"]), "999999")), 404, "Page introuvable")

    # 409: the call's deadline passes while the draft dossier is open; its save is refused, the form shown again as typed.
    world.clock.now = BEFORE_NOW
    try:
        page.goto(base + world.url("documents.edit", "dossier_draft") + "?etape=1")
        expect(page.get_by_role("button", name="Enregistrer", exact=True)).to_be_visible()
    finally:
        world.clock.now = WORLD_NOW
    with page.expect_response(lambda r: r.request.method == "POST") as saved:
        page.get_by_role("button", name="Enregistrer", exact=True).click()
    page.wait_for_load_state()
    expect(page.get_by_text("Rien n'a été enregistré")).to_be_visible()
    look(page, saved.value, "formulaire refusé après la date limite (409)", 409)
    seen.add(409)

    # The refusal of a form whose token is no longer valid (a page left open across a restart).
    page.goto(base + "/compte/mot-de-passe")
    page.locator("main form input[name=csrf_token]").evaluate("el => el.remove()")
    with page.expect_response(lambda r: r.request.method == "POST") as refused:
        page.locator("main form button[type=submit]").first.click()
    error_page(refused.value, 400, "Formulaire expiré")

    # 500: an unexpected error in a view (here made to fail on purpose) shows the service's error page.
    app = world.app
    working = app.view_functions["notifications.index"]

    def failing() -> None:
        raise RuntimeError("panne provoquée par le test")

    app.view_functions["notifications.index"] = failing
    try:
        error_page(page.goto(base + "/notifications"), 500, "Erreur du service")
    finally:
        app.view_functions["notifications.index"] = working
    assert seen == set(ERROR_PAGES.values())
