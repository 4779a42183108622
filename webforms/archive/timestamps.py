"""RFC 3161 timestamps of archived signed copies (issue 15): a third party vouches for the time.

With an authority configured (``ARCHIVE_TSA_URL``), each deposit asks it for a token over the
signed copy's SHA-512 and writes the token in the deposit's row of the audit trail, which is
chained, sealed and write-once: the token cannot be swapped without the chain saying so. An
authority that does not answer does not block the deposit: the row says the timestamp is missing
(and why), the deposit goes on. ``archive verify`` checks each token: it covers this very file
(its message imprint is the file's SHA-512), its signature holds, and the authority's certificate
chains to a root of the archive's trust directory (the roots the administrator chose, as for
signatures; no network is used to check it). Tests use pyHanko's own authority (``DummyTimeStamper``),
in process, and served over HTTP on 127.0.0.1 for the path the service takes (``authority(url)``,
an HTTPTimeStamper; and an authority that never answers, which times out).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from asn1crypto import cms, x509
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko.sign.timestamps.requests_client import HTTPTimeStamper
from pyhanko.sign.validation.generic_cms import validate_tst_signed_data

from webforms.archive.signatures import outside_event_loop, validation_context

log = logging.getLogger(__name__)
ALGORITHM = "sha512"  # the archive names its files by their SHA-512 (RFC 8933: the same algorithm for the imprint)
TIMEOUT_SECONDS = 10


def authority(url: str | None) -> TimeStamper | None:
    """Return the timestamping authority at ``url`` (None: no timestamps)."""
    return HTTPTimeStamper(url, timeout=TIMEOUT_SECONDS) if url else None


def stamp(timestamper: TimeStamper, signed_sha512: str) -> dict[str, Any]:
    """Ask for a token over a signed copy's SHA-512; return what the deposit's audit row keeps."""
    try:
        token = outside_event_loop(lambda: asyncio.run(timestamper.async_timestamp(bytes.fromhex(signed_sha512), ALGORITHM)))
    except Exception as exc:  # an authority down or refusing: the deposit goes on, without its timestamp
        log.warning("RFC 3161 timestamp not obtained", exc_info=True)
        return {"horodatage_manquant": f"{type(exc).__name__}: {exc}"[:300]}
    return {"horodatage": base64.b64encode(token.dump()).decode()}


@dataclass(frozen=True)
class TokenCheck:
    """What a token says and whether it holds: its time, or why it does not hold (French)."""

    at: dt.datetime | None
    problem: str | None


def check_token(token_b64: str, signed_sha512: str, trust_roots: Sequence[x509.Certificate]) -> TokenCheck:
    """Check that a token covers the file of ``signed_sha512``, is intact and comes from a trusted authority."""
    try:
        signed_data = cms.ContentInfo.load(base64.b64decode(token_b64, validate=True))["content"]
        info = signed_data["encap_content_info"]["content"].parsed
        imprint = info["message_imprint"]
        at = info["gen_time"].native
        if imprint["hash_algorithm"]["algorithm"].native != ALGORITHM or imprint["hashed_message"].native != bytes.fromhex(signed_sha512):
            return TokenCheck(at, "l'horodatage porte sur un autre fichier que la copie signée")
        context = validation_context(trust_roots)
        status = outside_event_loop(lambda: asyncio.run(validate_tst_signed_data(signed_data, context, lambda _: bytes.fromhex(signed_sha512))))
    except Exception:  # a token that does not parse, or whose signature cannot be checked, is a verdict
        log.warning("RFC 3161 token could not be checked", exc_info=True)
        return TokenCheck(None, "jeton d'horodatage illisible")
    if not (status.get("intact") and status.get("valid")):
        return TokenCheck(at, "la signature de l'horodatage ne tient pas")
    if status.get("trust_problem_indic") is not None:
        return TokenCheck(at, "l'autorité d'horodatage ne remonte à aucune racine de confiance configurée")
    return TokenCheck(at, None)
