"""No new page without axe-core (issue 16, Tests): every GET route is walked in the browser, or said not to be a page.

The list checked is the one tests/browser/test_every_page.py walks (tests/browser/pages.py), not a
copy of it; each visit is one the permission matrix allows, so the walk sees the page itself,
not a refusal.
"""

from __future__ import annotations

from flask import Flask

from tests.browser.pages import NOT_PAGE_BLUEPRINTS, NOT_PAGES, PAGES, PREPARED
from tests.test_permissions import ACTOR_NAMES, MATRIX, OK


def get_routes(app: Flask) -> set[str]:
    """The endpoints of the app answering GET, but those of a blueprint that answers only JSON."""
    return {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if "GET" in (rule.methods or ()) and rule.endpoint.split(".")[0] not in NOT_PAGE_BLUEPRINTS
    }


def test_every_get_route_is_walked_by_axe_or_said_not_to_be_a_page(app: Flask) -> None:
    routes = get_routes(app)
    assert routes - set(PAGES) - set(NOT_PAGES) == set(), "pages never checked by axe-core: add them to tests/browser/pages.py PAGES"
    assert (set(PAGES) | set(NOT_PAGES)) - routes == set(), "tests/browser/pages.py names routes the app no longer has"
    assert set(PAGES) & set(NOT_PAGES) == set(), "a route is either a page or not"


def test_each_walked_page_is_one_its_actor_may_see() -> None:
    for endpoint, visits in PAGES.items():
        assert visits, endpoint
        for actor, state in visits:
            assert actor in ACTOR_NAMES, (endpoint, actor)
            by_state = MATRIX.get((endpoint, "GET"))
            if by_state is None or endpoint in PREPARED:  # outside the cookie matrix (the API's description), or prepared first
                continue
            assert by_state[state][actor] == OK, f"{endpoint} as {actor} on {state}: {by_state[state][actor]}, not a page"


def test_the_coverage_check_fails_on_a_page_left_out(app: Flask) -> None:
    """The check above is not vacuous: a page left out of both lists is found."""
    routes = get_routes(app)
    assert "statistiques.page" in routes and "statistiques.page" in PAGES
    assert {"statistiques.page"} == (routes - (set(PAGES) - {"statistiques.page"}) - set(NOT_PAGES))
    assert not any(endpoint.startswith("api.") for endpoint in routes) and any(r.endpoint.startswith("api.") for r in app.url_map.iter_rules())
