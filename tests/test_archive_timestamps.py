"""RFC 3161 timestamps of archived signed copies (issue 15), with pyHanko's own authority: no network.

The token is written in the deposit's audit row; ``archive verify`` checks that it covers the
signed copy, that its signature holds and that its authority chains to a configured root.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import datetime as dt
import hashlib
import http.server
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from flask import Flask
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko.sign.timestamps.requests_client import HTTPTimeStamper
from sqlalchemy import select

from tests.conftest import pdf_titled
from tests.signing import write_trust_root
from tests.test_archive_web import deposit, people, record_id_from  # noqa: F401 (a fixture)
from tests.test_web import submitted
from webforms import db
from webforms.archive import timestamps
from webforms.archive.signatures import outside_event_loop
from webforms.archive.timestamps import check_token
from webforms.archive.verify import verify
from webforms.models import ArchiveLog, ArchiveRecord

STAMPED_AT = dt.datetime(2019, 10, 14, 8, 31, tzinfo=dt.UTC)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


@dataclasses.dataclass(frozen=True)
class Authority:
    root: x509.Certificate
    stamper: DummyTimeStamper


@pytest.fixture(scope="module")
def authority() -> Authority:
    """A root and a timestamping authority under it (RSA: pyHanko's test authority signs with RSA only)."""
    root_key, tsa_key = rsa.generate_private_key(65537, 2048), rsa.generate_private_key(65537, 2048)
    since, until = dt.datetime(2019, 1, 1, tzinfo=dt.UTC), dt.datetime(2040, 1, 1, tzinfo=dt.UTC)
    root = (
        x509.CertificateBuilder().subject_name(_name("Racine horodatage de test")).issuer_name(_name("Racine horodatage de test"))
        .public_key(root_key.public_key()).serial_number(1).not_valid_before(since).not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    tsa = (
        x509.CertificateBuilder().subject_name(_name("Autorité d'horodatage de test")).issuer_name(root.subject)
        .public_key(tsa_key.public_key()).serial_number(2).not_valid_before(since).not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
        .sign(root_key, hashes.SHA256())
    )
    der_key = tsa_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    stamper = DummyTimeStamper(asn1_x509.Certificate.load(tsa.public_bytes(serialization.Encoding.DER)), asn1_keys.PrivateKeyInfo.load(der_key),
                               fixed_dt=STAMPED_AT)
    return Authority(root, stamper)


class Down:
    """An authority that does not answer."""

    async def async_timestamp(self, message_digest: bytes, md_algorithm: str) -> Any:
        raise OSError("connexion refusée")


def use(app: Flask, timestamper: Any) -> None:
    app.extensions["webforms.archive"] = dataclasses.replace(app.extensions["webforms.archive"], timestamper=timestamper)


def deposit_row(app: Flask, people: dict[str, Any]) -> tuple[dict[str, Any], str]:  # noqa: F811
    doc_id = submitted(people["writer"], "fiche_saisine")
    record_id = record_id_from(deposit(people["archivist"], doc_id, pdf_titled("Copie signée horodatée")))
    with app.app_context():
        s = db.session()
        detail = s.scalars(select(ArchiveLog.detail).where(ArchiveLog.action == "deposit", ArchiveLog.record_id == record_id)).one()
        return detail, s.get_one(ArchiveRecord, record_id).signed_sha512


def problems(app: Flask) -> list[str]:
    with app.app_context():
        return verify(db.session(), app.extensions["webforms.archive"]).problems


def test_a_deposit_is_timestamped_and_verify_checks_the_token(app: Flask, people: dict[str, Any], authority: Authority) -> None:  # noqa: F811
    use(app, authority.stamper)
    write_trust_root(Path(app.config["ARCHIVE_TRUST_DIR"]), authority.root, "horodatage.pem")
    detail, signed_sha512 = deposit_row(app, people)
    assert "horodatage" in detail and "horodatage_manquant" not in detail
    check = check_token(detail["horodatage"], signed_sha512, [asn1_x509.Certificate.load(authority.root.public_bytes(serialization.Encoding.DER))])
    assert check == check.__class__(STAMPED_AT, None)
    assert problems(app) == []


def test_verify_names_a_token_whose_authority_is_not_trusted(app: Flask, people: dict[str, Any], authority: Authority) -> None:  # noqa: F811
    use(app, authority.stamper)
    deposit_row(app, people)
    (problem,) = problems(app)
    assert problem.endswith("horodatage : l'autorité d'horodatage ne remonte à aucune racine de confiance configurée.")


def test_a_token_of_another_file_or_a_damaged_one_does_not_hold(authority: Authority) -> None:
    roots = [asn1_x509.Certificate.load(authority.root.public_bytes(serialization.Encoding.DER))]
    digest = hashlib.sha512(b"copie signee").hexdigest()
    # Off the event loop Playwright's browser tests leave running in this process, as the service's own calls are.
    stamped = outside_event_loop(lambda: asyncio.run(authority.stamper.async_timestamp(bytes.fromhex(digest), "sha512")))
    token = base64.b64encode(stamped.dump()).decode()
    assert check_token(token, digest, roots).problem is None
    other = hashlib.sha512(b"une autre copie").hexdigest()
    assert check_token(token, other, roots).problem == "l'horodatage porte sur un autre fichier que la copie signée"
    raw = bytearray(base64.b64decode(token))
    raw[-40] ^= 0xFF  # a byte of the authority's signature
    assert check_token(base64.b64encode(bytes(raw)).decode(), digest, roots).problem in (
        "la signature de l'horodatage ne tient pas", "jeton d'horodatage illisible")
    assert check_token("pas un jeton", digest, roots).problem == "jeton d'horodatage illisible"


def test_an_authority_down_does_not_block_the_deposit(app: Flask, people: dict[str, Any]) -> None:  # noqa: F811
    use(app, Down())
    detail, _ = deposit_row(app, people)
    assert "horodatage" not in detail and detail["horodatage_manquant"] == "OSError: connexion refusée"
    assert problems(app) == []


def test_without_an_authority_no_timestamp_is_asked(app: Flask, people: dict[str, Any]) -> None:  # noqa: F811
    detail, _ = deposit_row(app, people)
    assert not {"horodatage", "horodatage_manquant"} & set(detail)


# -- An authority over HTTP on 127.0.0.1, as the service reaches a real one (HTTPTimeStamper) -------


@pytest.fixture
def authority_url(authority: Authority) -> Iterator[str]:
    """Serve the test authority over HTTP (RFC 3161 over HTTP: a DER request posted, a DER reply) on 127.0.0.1."""
    stamper = authority.stamper

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            request = tsp.TimeStampReq.load(self.rfile.read(int(self.headers["Content-Length"])))
            body = stamper.request_tsa_response(request).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/horodatage"
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.fixture
def silent_url() -> Iterator[str]:
    """An authority that takes the connection and never answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)  # connections complete in the backlog; nothing ever reads or answers them
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/horodatage"


def test_a_deposit_is_timestamped_over_http_and_verify_checks_the_token(app: Flask, people: dict[str, Any], authority: Authority, authority_url: str) -> None:  # noqa: F811
    stamper = timestamps.authority(authority_url)
    assert isinstance(stamper, HTTPTimeStamper)
    use(app, stamper)
    write_trust_root(Path(app.config["ARCHIVE_TRUST_DIR"]), authority.root, "horodatage.pem")
    detail, signed_sha512 = deposit_row(app, people)
    assert "horodatage_manquant" not in detail
    check = check_token(detail["horodatage"], signed_sha512, [asn1_x509.Certificate.load(authority.root.public_bytes(serialization.Encoding.DER))])
    assert check == check.__class__(STAMPED_AT, None)
    assert problems(app) == []


def test_an_authority_that_never_answers_times_out_and_the_deposit_goes_on(app: Flask, people: dict[str, Any], silent_url: str, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: F811
    monkeypatch.setattr(timestamps, "TIMEOUT_SECONDS", 1)
    use(app, timestamps.authority(silent_url))
    started = time.monotonic()
    detail, _ = deposit_row(app, people)
    assert time.monotonic() - started < 30  # bounded by the timeout, not hung
    assert "horodatage" not in detail and detail["horodatage_manquant"].startswith("TimestampRequestError")
    assert problems(app) == []
