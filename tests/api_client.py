"""Helpers of the API tests: tokens for accounts, and a client that sends them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Flask

from tests.conftest import Account, Clock
from webforms import db
from webforms.api.tokens import create_token
from webforms.models import User


def token_for(app: Flask, clock: Clock, account: Account, *, kinds: Iterable[str] = ("fiche_saisine", "fiche_incident"), scope: str = "ecriture") -> str:
    """Issue a token acting for ``account``; return its value."""
    with app.app_context():
        session = db.session()
        user = session.get(User, account.id)
        _, value = create_token(session, app.extensions["webforms.archive"], actor=user, user=user, name="tests", kinds=list(kinds), scope=scope, days=30, now=clock())
        return value


class ApiClient:
    """The Flask test client, sending ``Authorization: Bearer`` and no cookie."""

    def __init__(self, app: Flask, value: str | None) -> None:
        self.client = app.test_client(use_cookies=False)
        self.headers = {"Authorization": f"Bearer {value}"} if value else {}

    def call(self, method: str, url: str, **kwargs: Any) -> Any:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        response = self.client.open(url, method=method, headers=headers, **kwargs)
        response.get_data()
        response.close()
        return response

    def get(self, url: str, **kwargs: Any) -> Any:
        return self.call("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        return self.call("POST", url, **kwargs)

    def put(self, url: str, **kwargs: Any) -> Any:
        return self.call("PUT", url, **kwargs)
