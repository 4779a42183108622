"""What every response tells the browser: nothing kept in a cache, HTTPS only once over HTTPS (issue 15)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

from tests.conftest import WebClient
from tests.databases import Databases
from tests.test_web import doc_id_from, example_form
from webforms import create_app


def test_downloads_and_pages_are_never_stored_in_a_cache(app: Flask, login_as: Any) -> None:
    web, _ = login_as("redacteur")
    doc_id = doc_id_from(web.post("/documents/nouveau/fiche_incident", example_form("fiche_incident") | {"action": "submit"}))
    for url in (f"/documents/{doc_id}/telecharger/pdf", f"/documents/{doc_id}/telecharger/docx", f"/documents/{doc_id}", "/", "/connexion"):
        response = web.get(url)
        assert response.status_code in (200, 302), url
        assert response.headers["Cache-Control"] == "no-store", url
    # A draft's preview, served from the store.
    draft = doc_id_from(web.post("/documents/nouveau/fiche_incident", example_form("fiche_incident")))
    response = web.preview(f"/documents/{draft}/telecharger/pdf")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    # The style sheet holds no one's data: the browser may keep it.
    assert "no-store" not in web.get("/static/app.css").headers.get("Cache-Control", "")


def test_hsts_only_over_https(app: Flask) -> None:
    client = app.test_client()
    assert "Strict-Transport-Security" not in client.get("/connexion").headers
    assert client.get("/connexion", base_url="https://localhost").headers["Strict-Transport-Security"] == "max-age=31536000"
    # Without a trusted proxy, a forged X-Forwarded-Proto does not make plain HTTP secure.
    assert "Strict-Transport-Security" not in client.get("/connexion", headers={"X-Forwarded-Proto": "https"}).headers


def test_hsts_behind_a_trusted_https_proxy(tmp_path: Path, databases: Databases) -> None:
    proxied = create_app({"TESTING": True, "INSTANCE_PATH": str(tmp_path / "i"), "DATABASE_URL": databases.fresh(), "SECRET_KEY": "t", "TRUSTED_PROXIES": 1})
    try:
        client = WebClient(proxied.test_client())
        assert "Strict-Transport-Security" in client.get("/connexion", headers={"X-Forwarded-Proto": "https"}).headers
        assert "Strict-Transport-Security" not in client.get("/connexion", headers={"X-Forwarded-Proto": "http"}).headers
    finally:
        proxied.extensions["webforms.engine"].dispose()
