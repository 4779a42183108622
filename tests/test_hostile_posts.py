"""Hostile input on every web POST route (issue 15: "no 500 on any input"; "bad input gets a clear
French message and loses nothing").

The permission matrix's world is reused (``tests/test_permissions.py``): its ``CSRF_CASES`` name,
for every POST route of the app, an actor allowed to use it and the state it is used on, so a new
POST route without a case fails there (and so is swept here as soon as it has one). For each route,
as that actor and with a valid token, every known field of the route's form (the fields the matrix
posts, and those of the page's own form when the same address answers a GET) is set in turn to a
100 000-character text, control characters (NUL included), several values where one is expected,
numbers no field takes (``1e309``, ``-1``, ``NaN``, 20 digits, an Arabic-Indic digit) and dates
that do not exist; then unknown extra fields, an empty body and a body that is not UTF-8.

Every answer must be below 500; a refusal (4xx) is a page in French (never the framework's English
page) and leaves the database and the stored files exactly as they were before that request (a
cheap fingerprint of every table but the sign-in ones, and the list of stored files). An accepted
hostile input may change the world (a draft saved with a long text): the world is put back after
the route, as the matrix does.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from tests.test_permissions import (
    CSRF_CASES,
    CSRF_ELSEWHERE,
    SIGN_IN_TABLES,
    World,
    post_data,
    shared_world,
    stored_files,
)
from webforms import db
from webforms.models import Base

__all__ = ["shared_world"]  # the module's world, built once (the fixture is the matrix's)

MULTIPART = ("candidatures.upload", "archives.deposit", "archives.trust", "modeles.template")

HOSTILE_VALUES: dict[str, Any] = {
    "long": "x" * 100_000,
    "controls": "a\x00b\x0bc\x1b",
    "number_overflow": "1e309",
    "negative": "-1",
    "nan": "NaN",
    "huge_integer": "9" * 20,
    "arabic_indic": "\u0661",
    "no_such_date": "0000-00-00",
    "february_31": "31/02/2020",
}
# The framework's own pages, in English: a refusal must be the app's French page instead.
ENGLISH = ("Bad Request", "Internal Server Error", "The browser (or proxy) sent a request", "Method Not Allowed")
_FIELD = re.compile(r"<(?:input|select|textarea)\b[^>]*?\bname=\"([^\"]+)\"", re.IGNORECASE)


@pytest.fixture
def world(shared_world: World) -> Iterator[World]:
    """The module's world, put back after each route (a hostile input may have been accepted)."""
    yield shared_world
    shared_world.restore()


# What showing a page records, a refusal's page included: the thread's messages read by whoever
# sees them (the same page answered to a GET records it too).
PAGE_VIEW_TABLES = {"message_read"}


def fingerprint(app: Flask) -> tuple[Any, ...]:
    """Every table's rows (but the sign-in ones, written by each client's own sign-in, and the page views) as one digest each, and the stored files."""
    tables = [t.name for t in Base.metadata.sorted_tables if t.name not in SIGN_IN_TABLES | PAGE_VIEW_TABLES]
    query = " UNION ALL ".join(f"SELECT '{name}', count(*), md5(coalesce(string_agg(x::text, '|' ORDER BY x::text), '')) FROM \"{name}\" x" for name in tables)
    with app.app_context():
        rows = tuple(tuple(r) for r in db.session().execute(text(query)))
    return rows, tuple(stored_files(app)), tuple(stored_files(app, "ARCHIVE_DIR")), tuple(stored_files(app, "ARCHIVE_TRUST_DIR"))


def form_fields(world: World, web: Any, url: str, endpoint: str, state: str | None) -> list[str]:
    """The fields the matrix posts, and those of the page's forms when the address answers a GET."""
    fields = [k for k in post_data(world, endpoint, state) if k != "csrf_token"]
    page = web.client.get(url)
    if page.status_code == 200 and page.mimetype == "text/html":
        fields += [name for name in _FIELD.findall(page.get_data(as_text=True)) if name != "csrf_token"]
    return list(dict.fromkeys(fields))


def payloads(world: World, endpoint: str, state: str | None, fields: list[str]) -> Iterator[tuple[str, Any]]:
    """(name, body) of each hostile request: a dict (form or multipart) or raw bytes."""
    for field in fields:
        for name, value in HOSTILE_VALUES.items():
            yield f"{field}={name}", {**post_data(world, endpoint, state), field: value}
        base = post_data(world, endpoint, state)
        current = base.get(field, "1")
        current = current if isinstance(current, str) else "1"
        yield f"{field}=several", {**base, field: [current, "autre", "x" * 300]}
    yield "unknown fields", {**post_data(world, endpoint, state), "inconnu": "x", "action": "inconnue", "id": "1"}
    yield "empty body", {}
    yield "not UTF-8", b"champ=\xff\xfe\xc3\x28&texte=%ff%fe%c3%28"


def send(world: World, web: Any, url: str, endpoint: str, body: Any) -> Any:
    if isinstance(body, bytes):
        raw = body + f"&csrf_token={web.token}".encode()
        response = web.client.post(url, data=raw, content_type="application/x-www-form-urlencoded")
        response.get_data()
        response.close()
        return response
    kwargs = {"content_type": "multipart/form-data"} if endpoint in MULTIPART else {}
    return web.post(url, body, **kwargs)


def test_every_post_route_is_swept(world: World) -> None:
    """The sweep follows the matrix's CSRF cases, which cover every POST route (a new one fails there)."""
    posts = {rule.endpoint for rule in world.app.url_map.iter_rules() if "POST" in (rule.methods or ()) and not rule.endpoint.startswith(("api.", "static"))}
    assert posts <= set(CSRF_CASES) | set(CSRF_ELSEWHERE)
    assert not CSRF_ELSEWHERE  # a route no actor of the world may use would not be swept


@pytest.mark.parametrize("endpoint", list(CSRF_CASES))
def test_hostile_input_never_gives_a_500_and_a_refusal_changes_nothing(world: World, endpoint: str) -> None:
    actor, state = CSRF_CASES[endpoint]
    url = world.url(endpoint, state)
    failures: list[str] = []
    web = world.client(actor)
    web.work = False  # the sweep is about the requests; the queue's jobs are not run
    with world.at_time_of(state):
        fields = form_fields(world, web, url, endpoint, state)
        for name, body in payloads(world, endpoint, state, fields):
            if endpoint.startswith("auth."):
                web = world.client(actor)  # signing in or out changes the client's session
                web.work = False
            before = fingerprint(world.app)
            with world.presented(state):
                response = send(world, web, url, endpoint, body)
            page = response.get_data(as_text=True)
            after = fingerprint(world.app)
            if response.status_code >= 500:
                failures.append(f"{name}: {response.status_code}")
            elif response.status_code >= 400:
                if any(words in page for words in ENGLISH):
                    failures.append(f"{name}: {response.status_code} in English")
                if after != before:
                    changed = sorted({b[0] for b, a in zip(before[0], after[0], strict=True) if a != b})
                    failures.append(f"{name}: refused ({response.status_code}) but the world changed: {changed or 'files'}")
            if endpoint.startswith("auth.") and (after != before or response.status_code == 429):
                # An account's password changed, the sign-in throttle's counters: the next payload starts afresh.
                world.restore()
    assert not failures, failures


def test_a_nul_character_is_refused_for_every_route_with_what_was_typed_given_back(world: World) -> None:
    """The NUL PostgreSQL cannot store: one French refusal for the whole web, the text kept to send again."""
    actor, state = CSRF_CASES["messages.post"]
    web = world.client(actor)
    web.work = False
    url = world.url("messages.post", state)
    before = fingerprint(world.app)
    refused = web.post(url, {"texte": "Bonjour\x00 de la matrice"})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400 and "Caractère refusé" in page and "le caractère nul" in page
    assert 'value="Bonjour de la matrice"' in page and f'action="{url}"' in page  # given back, without the NUL
    assert fingerprint(world.app) == before
    # The other side: the same text without it is posted.
    assert web.post(url, {"texte": "Bonjour de la matrice"}).status_code == 302
    assert fingerprint(world.app) != before
