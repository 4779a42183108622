"""The load bench's users: a small HTTP client (a cookie, a CSRF token), the journey of a writer
who fills and submits a fiche saisine, and the form page hammered by concurrent connections.

Only the standard library (``http.client``): the bench profile locks neither requests nor httpx,
and a lean client leaves more of the shared cores to the servers measured. gunicorn's sync
workers close each connection after its response, so one connection per request costs the
client nothing it would save otherwise.
"""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode, urlsplit

CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
DOC_ID = re.compile(r"/documents/(\d+)")
PROGRESS = re.compile(r'data-progress-url="([^"]+)"')


class Refused(RuntimeError):
    """A response the journey did not expect (its status, the page and the step say which)."""


@dataclass
class Browser:
    """One user's connection to a server: its cookies, nothing else (redirects are followed by hand)."""

    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    def request(self, method: str, path: str, form: list[tuple[str, str]] | None = None) -> tuple[int, str, str]:
        """Send one request; return the status, the Location header and the body."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())} if self.cookies else {}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", errors="replace")
            for header, value in response.getheaders():
                if header.lower() == "set-cookie":
                    name, _, rest = value.partition("=")
                    self.cookies[name.strip()] = rest.split(";", 1)[0]
            location = urlsplit(response.getheader("Location") or "")
            return response.status, location.path + (f"?{location.query}" if location.query else ""), text
        finally:
            conn.close()

    def get(self, path: str, expect: int = 200) -> str:
        status, _, text = self.request("GET", path)
        if status != expect:
            raise Refused(f"GET {path} : {status}")
        return text

    def post(self, path: str, form: list[tuple[str, str]]) -> str:
        """POST a form; return where it redirects (anything but a redirect is refused)."""
        status, location, _ = self.request("POST", path, form)
        if status not in (302, 303):
            raise Refused(f"POST {path} : {status}")
        return location


def csrf(page: str) -> str:
    match = CSRF.search(page)
    if not match:
        raise Refused("jeton CSRF absent de la page")
    return match.group(1)


def sign_in(port: int, email: str, password: str) -> Browser:
    """Return a browser signed in as ``email``."""
    browser = Browser(port)
    token = csrf(browser.get("/connexion"))
    browser.post("/connexion", [("csrf_token", token), ("email", email), ("password", password)])
    return browser


def form_fields(payload: Any, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Yield the web form's (name, value) pairs of a nested payload (menage-enfants-0-prenom)."""
    if isinstance(payload, dict):
        for key, value in payload.items():
            yield from form_fields(value, f"{prefix}{key}-")
    elif isinstance(payload, list):
        for index, value in enumerate(payload):
            # A list of rows numbers its rows; a list of choices repeats the field's name.
            yield from form_fields(value, f"{prefix}{index}-") if isinstance(value, dict) else [(prefix[:-1], str(value))]
    elif payload is True:
        yield prefix[:-1], "y"
    elif payload not in (None, False):
        yield prefix[:-1], str(payload)


@dataclass
class Submission:
    """What one click on « Soumettre » gave: when, for which document, how long the answer took."""

    doc_id: int
    clicked: float  # time.perf_counter() at the click
    response_s: float  # the POST's answer (a redirect)
    page_s: float  # the click until the page it redirects to is shown
    seen_s: float | None = None  # the click until the client saw the PDF ready (polling as the page does)


@dataclass
class Tally:
    """What the clients of one side did, shared between their threads."""

    submissions: list[Submission] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item: Submission) -> None:
        with self.lock:
            self.submissions.append(item)

    def error(self, what: str) -> None:
        with self.lock:
            self.errors.append(what)


def journey(browser: Browser, kind: str, fields: list[tuple[str, str]], tally: Tally, poll: float, patience: float) -> None:
    """Create a draft, fill it with the kind's example, submit it, wait for its PDF as its page does."""
    token = csrf(browser.get(f"/documents/nouveau/{kind}"))
    where = browser.post(f"/documents/nouveau/{kind}", [("csrf_token", token), *fields, ("action", "save")])
    match = DOC_ID.search(where)
    if not match:
        raise Refused(f"brouillon non créé : redirigé vers {where!r}")
    doc_id = int(match.group(1))
    token = csrf(browser.get(where.split("#", 1)[0]))
    clicked = time.perf_counter()
    status, location, _ = browser.request("POST", f"/documents/{doc_id}/modifier", [("csrf_token", token), *fields, ("action", "submit")])
    answered = time.perf_counter()
    if status not in (302, 303) or location.split("?", 1)[0] != f"/documents/{doc_id}":
        raise Refused(f"soumission du n° {doc_id} : {status} vers {location!r}")
    page = browser.get(location)
    item = Submission(doc_id, clicked, answered - clicked, time.perf_counter() - clicked)
    tally.add(item)
    progress = PROGRESS.search(page)
    if progress is None:  # rendered within the request (the landed code), or already done
        item.seen_s = item.page_s
        return
    time.sleep(0.5)  # progress.js asks first after 0.5 s, then every ``poll`` s (1 s, as the page does)
    while time.perf_counter() - clicked < patience:
        status, _, text = browser.request("GET", progress.group(1))
        state = json.loads(text) if status == 200 else {}
        if state.get("fini"):
            if state.get("echec"):
                raise Refused(f"rendu du n° {doc_id} en échec")
            item.seen_s = time.perf_counter() - clicked
            browser.get(location)  # progress.js then reloads the page, which lists the files
            return
        time.sleep(poll)
    raise Refused(f"rendu du n° {doc_id} non prêt après {patience:.0f} s")


def users(port: int, accounts: list[tuple[str, str]], kind: str, fields: list[tuple[str, str]], seconds: float, poll: float, patience: float) -> Tally:
    """Run one writer per account, each doing journeys until ``seconds`` have passed; return what they did."""
    tally = Tally()
    deadline = time.perf_counter() + seconds

    def run(email: str, password: str) -> None:
        try:
            browser = sign_in(port, email, password)
        except (Refused, OSError) as exc:
            tally.error(f"connexion de {email} : {exc}")
            return
        while time.perf_counter() < deadline:
            try:
                journey(browser, kind, fields, tally, poll, patience)
            except (Refused, OSError) as exc:
                tally.error(str(exc))
                time.sleep(0.2)  # an error page is no reason to hammer the server

    threads = [threading.Thread(target=run, args=account, daemon=True) for account in accounts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return tally


def hammer(browsers: list[Browser], path: str, seconds: float) -> tuple[int, int, float]:
    """GET ``path`` from each browser in its own thread for ``seconds``; return answers 200, others, elapsed s."""
    counts = [[0, 0] for _ in browsers]
    start = time.perf_counter()
    deadline = start + seconds

    def run(index: int, browser: Browser) -> None:
        while time.perf_counter() < deadline:
            try:
                status, _, _ = browser.request("GET", path)
            except OSError:
                status = 0
            counts[index][0 if status == 200 else 1] += 1

    threads = [threading.Thread(target=run, args=(i, b), daemon=True) for i, b in enumerate(browsers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(c[0] for c in counts), sum(c[1] for c in counts), time.perf_counter() - start
