"""Fixtures: a real PostgreSQL database migrated by Alembic, a fixed clock, users by role."""

from __future__ import annotations

import datetime as dt
import io
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pypdf import PdfWriter
from sqlalchemy import select

from tests.databases import Databases
from tests.workers import run_jobs, run_later_jobs
from webforms import create_app, db
from webforms.accounts.services import create_organisation, create_user
from webforms.models import Departement, DiplomeReferent, Organisation, PorteeDepartement, User
from webforms.territoires.services import SCOPED_ROLES, attach

PASSWORD = "mot-de-passe-de-test-1234"


class Clock:
    """A clock the tests set; the service never reads today's date behind their back."""

    def __init__(self) -> None:
        self.now = dt.datetime(2019, 10, 14, 8, 30, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        """Move the clock on (``advance(minutes=31)``)."""
        self.now += dt.timedelta(**delta)


@pytest.fixture(scope="session")
def databases(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Databases]:
    """The session's own PostgreSQL cluster, with a database created by the Alembic migrations once."""
    found = Databases(tmp_path_factory.mktemp("postgresql"))
    yield found
    found.close()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def app_config() -> dict[str, Any]:
    """What a test module adds to the app's configuration: override this fixture in the module."""
    return {}


@pytest.fixture
def app(tmp_path: Path, databases: Databases, clock: Clock, app_config: dict[str, Any]) -> Iterator[Flask]:
    application = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(tmp_path / "instance"),
            "DATABASE_URL": databases.fresh(),
            "SECRET_KEY": "tests-only-secret",
            "CLOCK": clock,
            **app_config,
        }
    )
    yield application
    application.extensions["webforms.engine"].dispose()


@pytest.fixture
def session_clock(app: Flask) -> Clock:
    """The sessions' and sign-in counters' clock (the real time in service), moved by the test."""
    clock = Clock()
    app.config["SESSION_CLOCK"] = clock
    return clock


@pytest.fixture
def session(app: Flask) -> Iterator[Any]:
    with app.app_context():
        yield db.session()


@dataclass
class Account:
    id: int
    email: str
    role: str
    organisation_id: int
    organisation: str


@pytest.fixture
def make_user(app: Flask) -> Callable[..., Account]:
    """Return a factory: ``make_user("redacteur", org="Association A")``."""
    return user_factory(app)


def user_factory(app: Flask) -> Callable[..., Account]:
    """Return a factory of accounts of ``app`` (``make_user``; a module's world makes its own)."""
    counter = {"n": 0}

    def factory(role: str, org: str = "Association Habitat Solidaire", territoires: tuple[str, ...] | None = None, diplome: str | None = "cesf") -> Account:
        """``territoires``: the codes of the territories the account (a writer: its organisation) is
        attached to. Without it, a coordinateur, instructeur or archiviste reads every Département
        (a grant of each, as before territories existed); tests of the scoping name theirs.
        ``diplome``: a writer is an ASLL referent with a Diplôme d'État unless a test says otherwise (ASLL §4)."""
        counter["n"] += 1
        with app.app_context():
            s = db.session()
            organisation = s.query(Organisation).filter_by(name=org).one_or_none() or create_organisation(s, org)
            user = create_user(
                s,
                email=f"{role}{counter['n']}@example.fr",
                full_name=f"{role.capitalize()} {counter['n']}",
                role=role,
                organisation_id=organisation.id,
                password=PASSWORD,
            )
            if role == "redacteur" and diplome:
                s.add(DiplomeReferent(user_id=user.id, diplome=diplome, recorded_by_id=user.id))
            if territoires is not None:
                attach(s, user, territoires)
            elif role in SCOPED_ROLES:
                s.add_all([PorteeDepartement(user_id=user.id, departement=d) for d in s.scalars(select(Departement.nom))])
            s.commit()
            return Account(user.id, user.email, role, organisation.id, organisation.name)

    return factory


_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    """Extract the CSRF token from a page."""
    match = _TOKEN.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


class WebClient:
    """The Flask test client with CSRF tokens taken from the pages, as a browser would."""

    def __init__(self, client: FlaskClient, *, work: bool = True) -> None:
        self.client = client
        self.token: str | None = None
        # Whether a real worker runs the queue's jobs after each POST (off to see them pending).
        self.work = work

    def get(self, url: str, **kwargs: Any) -> Any:
        response = self.client.get(url, **kwargs)
        # Read the body, then close the response (a downloaded file is streamed from disk).
        response.get_data()
        response.close()
        if response.mimetype == "text/html":
            match = _TOKEN.search(response.get_data(as_text=True))
            if match:
                self.token = match.group(1) or match.group(2)
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any) -> Any:
        data = dict(data or {})
        if csrf:
            if self.token is None:
                self.get("/connexion")
            data.setdefault("csrf_token", self.token)
        response = self.client.post(url, data=data, **kwargs)
        response.get_data()
        response.close()
        # The test client spools a large multipart body to a temporary file it never closes.
        response.request.environ["wsgi.input"].close()
        if self.work:
            # A user clicks again a moment later: by then a worker has done what was asked.
            run_jobs(self.client.application)
        return response

    def preview(self, url: str) -> Any:
        """Download a draft's preview as a user does: the click shows its preparation (the
        render asked by the last save, due a second later); once a worker has done it, the
        click serves the file (issue 11, point 4)."""
        response = self.get(url)
        if response.status_code == 303 and "/apercu/" in response.location:
            run_later_jobs(self.client.application)
            response = self.get(url)
        return response

    def login(self, account: Account) -> None:
        self.get("/connexion")
        response = self.post("/connexion", {"email": account.email, "password": PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        self.get("/")


@pytest.fixture
def web(app: Flask) -> WebClient:
    return WebClient(app.test_client())


@pytest.fixture
def login_as(app: Flask, make_user: Callable[..., Account]) -> Callable[..., tuple[WebClient, Account]]:
    """Return a factory giving a signed-in client for a new user of a role."""

    def factory(role: str, org: str = "Association Habitat Solidaire", territoires: tuple[str, ...] | None = None) -> tuple[WebClient, Account]:
        account = make_user(role, org, territoires)
        client = WebClient(app.test_client())
        client.login(account)
        return client, account

    return factory


class _ErrorCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture(autouse=True)
def weasyprint_errors_fail_the_test() -> Iterator[None]:
    """WeasyPrint logs some failures (a missing lang, a blocked fetch) and still writes a PDF."""
    collector = _ErrorCollector()
    logger = logging.getLogger("weasyprint")
    logger.addHandler(collector)
    yield
    logger.removeHandler(collector)
    assert not collector.records, [r.getMessage() for r in collector.records]


def pdf_titled(title: str, pages: int = 1) -> bytes:
    """A real PDF, its bytes told apart by its title (the store keeps one file per content)."""
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": title})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def user_of(app: Flask, account: Account) -> User:
    with app.app_context():
        return db.session().get(User, account.id)
