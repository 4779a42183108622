"""Verifying the electronic signatures of an archived PDF: what the archivist is told, offline.

Every PDF, certificate and signature is made here (tests/signing.py); nothing is fetched.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import socket
from pathlib import Path
from typing import Any

import pytest
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from tests.signing import PAGE_TEXT, Pki, change_page_after_signing, make_pdf, make_pki, sign_pdf, write_trust_root
from webforms.archive.signatures import (
    MSG_NO_SIGNATURE,
    SignatureCheck,
    TrustRootsError,
    load_trust_roots,
    outside_event_loop,
    verify_pdf_signatures,
)
from webforms.documents.uploads import check_upload

UNREADABLE = "n'a pas pu être vérifiée"


def _signed(pki: Pki, pdf: bytes | None = None, **options: Any) -> bytes:
    return sign_pdf(make_pdf() if pdf is None else pdf, pki.signer_key, pki.signer_cert, pki.ca_cert, **options)


def _verify(tmp_path: Path, data: bytes, roots_of: Pki | None = None) -> SignatureCheck:
    """Write ``data`` as a PDF and verify it with ``roots_of``'s CA as the only trust root."""
    roots = tmp_path / "autorites"
    if roots_of is not None:
        write_trust_root(roots, roots_of.ca_cert)
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "copie-signee.pdf"
    path.write_bytes(data)
    return verify_pdf_signatures(path, load_trust_roots(roots))


def test_unsigned_pdf_says_there_is_no_signature(tmp_path: Path) -> None:
    check = _verify(tmp_path, make_pdf(), roots_of=make_pki())

    assert check.signatures == ()
    assert not check.signed
    assert not (check.intact or check.valid or check.trusted)
    assert check.summary == MSG_NO_SIGNATURE == "Aucune signature électronique dans ce PDF."


def test_signature_by_a_configured_authority_is_intact_valid_and_trusted(tmp_path: Path) -> None:
    pki = make_pki()
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)  # /M has a one-second resolution
    signed = _signed(pki)
    after = dt.datetime.now(dt.UTC)

    check = _verify(tmp_path, signed, roots_of=pki)

    assert check.signed and check.intact and check.valid and check.trusted and check.error is None
    (signature,) = check.signatures
    assert signature.field == "Signature1"
    assert signature.signer == "Jeanne Martin"
    assert signature.intact and signature.valid and signature.trusted and signature.covers_whole_file
    assert signature.signed_at is not None and signature.signed_at.tzinfo == dt.UTC
    assert before <= signature.signed_at <= after
    assert signature.summary.startswith("Signature de Jeanne Martin du ")
    assert signature.summary.endswith(" : intacte, valide, émise par une autorité de confiance.")
    assert check.summary == signature.summary


@pytest.mark.parametrize("roots", ["none", "another authority"])
def test_signature_by_another_authority_is_valid_but_not_trusted(tmp_path: Path, roots: str) -> None:
    signed = _signed(make_pki())  # the signature embeds its CA certificate: that is no trust

    check = _verify(tmp_path, signed, roots_of=None if roots == "none" else make_pki("Autre autorité", seed=2))

    (signature,) = check.signatures
    assert signature.intact and signature.valid and signature.covers_whole_file
    assert not signature.trusted and not check.trusted
    assert "ne fait pas partie des autorités de confiance configurées" in check.summary
    assert "Jeanne Martin" in check.summary


def test_expired_signer_certificate_is_not_trusted(tmp_path: Path) -> None:
    pki = make_pki(seed=4, signer_not_after=dt.datetime(2021, 1, 1, tzinfo=dt.UTC))

    check = _verify(tmp_path, _signed(pki), roots_of=pki)

    (signature,) = check.signatures
    assert signature.intact and signature.valid and not signature.trusted
    assert check.summary.endswith(" : intacte, valide, mais le certificat du signataire est expiré ou pas encore valide.")


def test_signer_certificate_for_digital_signature_only_is_trusted(tmp_path: Path) -> None:
    # pyHanko alone would want nonRepudiation; many real signing certificates have digitalSignature only.
    pki = make_pki(seed=5, non_repudiation=False)

    check = _verify(tmp_path, _signed(pki), roots_of=pki)

    assert check.trusted, check.summary


def test_bytes_altered_in_the_signed_revision_are_detected(tmp_path: Path) -> None:
    pki = make_pki()
    signed = _signed(pki)
    assert signed.count(PAGE_TEXT) == 1  # the page content, uncompressed, inside the signed range
    altered = signed.replace(PAGE_TEXT, PAGE_TEXT.replace(b"depot", b"retr."))
    assert len(altered) == len(signed)
    assert PdfFileReader(io.BytesIO(altered)).root["/Pages"]["/Count"] == 1  # still a readable PDF

    check = _verify(tmp_path, altered, roots_of=pki)

    (signature,) = check.signatures
    assert not signature.intact and not signature.valid
    assert not check.intact and not check.valid
    assert "non intacte, le contenu signé a été altéré" in check.summary


def test_page_changed_in_an_update_appended_after_signing_is_reported(tmp_path: Path) -> None:
    pki = make_pki()
    modified = change_page_after_signing(_signed(pki))

    check = _verify(tmp_path, modified, roots_of=pki)

    (signature,) = check.signatures
    assert signature.intact and signature.valid and signature.trusted  # the signed bytes themselves are untouched
    assert not signature.covers_whole_file
    assert check.summary.endswith("; le document a été modifié après la signature.")


def test_a_second_signature_is_an_allowed_change_for_the_first(tmp_path: Path) -> None:
    pki, other = make_pki(), make_pki("Autre autorité", "Paul Durand", seed=2)
    twice = _signed(other, _signed(pki), field_name="Signature2")

    check = _verify(tmp_path, twice, roots_of=pki)

    first, second = check.signatures
    assert (first.signer, first.covers_whole_file, first.trusted) == ("Jeanne Martin", True, True)
    assert (second.signer, second.covers_whole_file, second.trusted) == ("Paul Durand", True, False)
    assert check.signed and check.valid and not check.trusted
    assert check.summary == "2 signatures électroniques (Jeanne Martin, Paul Durand), dont 1 à examiner : voir le détail de chaque signature."


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda signed: signed[: len(signed) // 2], id="truncated"),
        pytest.param(lambda signed: b"%PDF-1.7\n" + bytes(range(256)) * 20, id="garbage"),
        pytest.param(lambda signed: b"", id="empty"),
    ],
)
def test_damaged_file_gives_a_verification_failure_not_an_exception(tmp_path: Path, damage: Any) -> None:
    pki = make_pki()

    check = _verify(tmp_path, damage(_signed(pki)), roots_of=pki)

    assert check.error is not None and check.summary == check.error
    assert UNREADABLE in check.summary and "endommagé" in check.summary
    assert not (check.signed or check.intact or check.valid or check.trusted)


def test_unreadable_signature_in_a_readable_file_is_reported_as_not_verified(tmp_path: Path) -> None:
    pki = make_pki()
    signed = _signed(pki)
    # Blank the CMS blob (same length, so the file stays well formed): pyHanko cannot parse it.
    blanked = re.sub(rb"/Contents <([0-9a-fA-F]+)>", lambda m: b"/Contents <" + b"0" * len(m.group(1)) + b">", signed)
    assert blanked != signed and len(blanked) == len(signed)

    check = _verify(tmp_path, blanked, roots_of=pki)

    (signature,) = check.signatures
    assert check.signed and check.error is None
    assert not (signature.intact or signature.valid or signature.trusted or signature.covers_whole_file)
    assert check.summary == "La signature « Signature1 » n'a pas pu être vérifiée : elle est illisible ou d'un type non pris en charge."


def test_load_trust_roots_reads_pem_and_der_certificates(tmp_path: Path) -> None:
    first, second = make_pki(), make_pki("Autre autorité", seed=2)
    directory = tmp_path / "autorites"
    write_trust_root(directory, first.ca_cert, "premiere.pem")
    write_trust_root(directory, second.ca_cert, "seconde.CER", der=True)
    (directory / "LISEZMOI.txt").write_text("Les certificats des autorités de confiance.")

    roots = load_trust_roots(directory)

    assert [root.subject.native["common_name"] for root in roots] == ["Autorité de test webforms", "Autre autorité"]


def test_load_trust_roots_without_a_directory_is_empty(tmp_path: Path) -> None:
    assert load_trust_roots(None) == []
    assert load_trust_roots(tmp_path / "absent") == []


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"ceci n'est pas un certificat\n", id="text"),
        pytest.param(b"-----BEGIN CERTIFICATE-----\nTUlJQm9uam91cg==\n-----END CERTIFICATE-----\n", id="armored-garbage"),
        pytest.param(b"-----BEGIN PRIVATE KEY-----\nTUlJQm9uam91cg==\n-----END PRIVATE KEY-----\n", id="no-certificate"),
    ],
)
def test_unreadable_trust_root_is_an_error_naming_the_file(tmp_path: Path, content: bytes) -> None:
    directory = tmp_path / "autorites"
    write_trust_root(directory, make_pki().ca_cert)
    (directory / "cassee.pem").write_bytes(content)

    with pytest.raises(TrustRootsError) as error:
        load_trust_roots(directory)

    assert "cassee.pem" in error.value.message
    assert "certificat" in error.value.message


def test_no_network_attempt_even_with_revocation_and_issuer_urls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pki = make_pki(seed=3, revocation_url="http://127.0.0.1:9/autorite")  # CRL, OCSP and CA issuers
    signed = _signed(pki)
    attempts: list[Any] = []

    def no_connect(_sock: socket.socket, address: Any) -> None:
        attempts.append(address)
        raise OSError("network disabled in this test")

    monkeypatch.setattr(socket.socket, "connect", no_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", no_connect)

    check = _verify(tmp_path, signed, roots_of=pki)

    assert attempts == []
    assert check.trusted, check.summary

    # The guard has teeth: pyHanko allowed to fetch does go to those URLs.
    (path,) = tmp_path.glob("*.pdf")
    with path.open("rb") as stream:
        embedded = PdfFileReader(stream).embedded_signatures[0]
        roots = load_trust_roots(tmp_path / "autorites")
        outside_event_loop(validate_pdf_signature, embedded, ValidationContext(trust_roots=roots, allow_fetching=True))
    assert ("127.0.0.1", 9) in attempts


def test_signed_pdf_passes_the_upload_check(tmp_path: Path) -> None:
    signed = _signed(make_pki())

    checked = check_upload(io.BytesIO(signed), "copie-signee.pdf", allowed=frozenset({"pdf"}), max_bytes=5 << 20, workdir=tmp_path)

    assert (checked.kind, checked.pages) == ("pdf", 1)
    assert checked.data_path.read_bytes() == signed
    checked.data_path.unlink()


def test_as_json_round_trips_through_json(tmp_path: Path) -> None:
    pki = make_pki()
    check = _verify(tmp_path, change_page_after_signing(_signed(pki)), roots_of=pki)

    record = check.as_json()
    assert json.loads(json.dumps(record)) == record
    assert record["signed"] is True and record["trusted"] is True and record["error"] is None
    assert record["summary"] == check.summary
    (signature,) = record["signatures"]
    assert dt.datetime.fromisoformat(signature["signed_at"]) == check.signatures[0].signed_at
    assert signature["covers_whole_file"] is False
    assert json.loads(json.dumps(_verify(tmp_path / "vide", make_pdf()).as_json()))["summary"] == MSG_NO_SIGNATURE


def test_signing_and_verifying_work_under_a_running_event_loop(tmp_path: Path) -> None:
    """pyHanko's sync calls use asyncio.run; under a running loop (Playwright's sync API in the
    browser tests, an async server) they must still give the real verdict, not "unreadable"."""
    import asyncio
    import threading

    pki = make_pki()

    async def inside_a_loop() -> SignatureCheck:
        return _verify(tmp_path, _signed(pki), roots_of=pki)

    # In a thread of its own: this one may already run Playwright's loop (browser tests first).
    result: list[SignatureCheck] = []
    thread = threading.Thread(target=lambda: result.append(asyncio.run(inside_a_loop())))
    thread.start()
    thread.join()
    (check,) = result
    assert (check.signed, check.intact, check.valid, check.trusted) == (True, True, True, True)
