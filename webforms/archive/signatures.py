"""Verify the electronic signatures of a PDF with pyHanko, offline, against configured trust roots.

When an archivist uploads the signed copy of a submitted document, the archive record keeps
:meth:`SignatureCheck.as_json` of :func:`verify_pdf_signatures`: for each signature, whether the
signed bytes are intact, the signature valid, the signer's certificate issued by one of the
authorities the administrator configured (:func:`load_trust_roots`), and whether the file was
changed after signing.

Nothing here touches the network: no certificate, CRL or OCSP response is ever fetched. The
upload has already passed :func:`webforms.documents.uploads.check_upload`; the file is still hostile
input for pyHanko, so any failure to read it or one of its signatures becomes a French
"could not be verified" result, never an exception. Only :func:`load_trust_roots` raises, for a
misconfigured trust directory.

pyHanko's synchronous API runs each validation in ``asyncio.run``, which refuses to start
inside a running event loop (an async server; Playwright's sync API in the browser tests): in
that case :func:`outside_event_loop` runs the work in a worker thread of its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TypeVar

from asn1crypto import x509
from pyhanko.keys import load_certs_from_pemder_data
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESIndeterminate
from pyhanko.sign.fields import enumerate_sig_fields
from pyhanko.sign.validation import EmbeddedPdfSignature, PdfSignatureStatus, validate_pdf_signature
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.policy_decl import NO_REVOCATION, CertRevTrustPolicy

from webforms.rendering.context import date_fr
from webforms.timeutil import paris_date

log = logging.getLogger(__name__)
T = TypeVar("T")

TRUST_ROOT_SUFFIXES: Final = frozenset({".pem", ".crt", ".cer"})

MSG_NO_SIGNATURE: Final = "Aucune signature électronique dans ce PDF."
MSG_UNREADABLE_FILE: Final = "La signature électronique de ce PDF n'a pas pu être vérifiée : le fichier est endommagé ou illisible."
_TRUSTED: Final = "émise par une autorité de confiance"
_NOT_TRUSTED: Final = "mais l'autorité qui a émis le certificat du signataire ne fait pas partie des autorités de confiance configurées"
_OUT_OF_VALIDITY: Final = "mais le certificat du signataire est expiré ou pas encore valide"
_CERT_REFUSED: Final = "mais le certificat du signataire n'a pas pu être validé"
_MODIFIED: Final = "le document a été modifié après la signature"
_EXPIRY: Final = frozenset(
    {
        AdESIndeterminate.EXPIRED,
        AdESIndeterminate.NOT_YET_VALID,
        AdESIndeterminate.OUT_OF_BOUNDS_NO_POE,
        AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED,
    }
)
# Signing certificates are issued with nonRepudiation, digitalSignature or both; pyHanko's
# default accepts nonRepudiation only, which would call many real signing certificates untrusted.
# Any of the two is accepted, as PDF readers do.
_KEY_USAGE: Final = KeyUsageConstraints(key_usage={"non_repudiation", "digital_signature"}, match_all_key_usages=False)


class TrustRootsError(ValueError):
    """The trust roots directory holds a file that is not a readable certificate (French ``message``)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class SignatureResult:
    """The verification of one signature of the file."""

    field: str  # signature field name
    signer: str | None  # common name of the signer's certificate subject
    signed_at: datetime | None  # signing time claimed in the signature, aware UTC
    intact: bool  # the signed bytes were not altered (digest matches)
    valid: bool  # intact, and the signature math checks against the signer's certificate
    trusted: bool  # the signer's certificate chains to a configured trust root (no revocation check)
    covers_whole_file: bool  # no change after signing, or only changes pyHanko's difference analysis allows
    summary: str  # one French sentence for the user

    def as_json(self) -> dict[str, Any]:
        return {
            "field": self.field,
            "signer": self.signer,
            "signed_at": self.signed_at.isoformat() if self.signed_at else None,
            "intact": self.intact,
            "valid": self.valid,
            "trusted": self.trusted,
            "covers_whole_file": self.covers_whole_file,
            "summary": self.summary,
        }

    @property
    def ok(self) -> bool:
        """Nothing to report: intact, valid, trusted, and nothing but allowed changes after signing."""
        return self.intact and self.valid and self.trusted and self.covers_whole_file


@dataclass(frozen=True)
class SignatureCheck:
    """The verification of every signature of the file.

    ``error`` (French) is set when the file itself could not be read: its signatures are then
    unknown, and nothing is intact, valid or trusted.
    """

    signatures: tuple[SignatureResult, ...]
    error: str | None = None

    @property
    def signed(self) -> bool:
        return bool(self.signatures)

    @property
    def intact(self) -> bool:
        return self.signed and all(s.intact for s in self.signatures)

    @property
    def valid(self) -> bool:
        return self.signed and all(s.valid for s in self.signatures)

    @property
    def trusted(self) -> bool:
        return self.signed and all(s.trusted for s in self.signatures)

    @property
    def covers_whole_file(self) -> bool:
        return self.signed and all(s.covers_whole_file for s in self.signatures)

    @property
    def summary(self) -> str:
        """One French sentence for the whole file."""
        if self.error is not None:
            return self.error
        if not self.signatures:
            return MSG_NO_SIGNATURE
        if len(self.signatures) == 1:
            return self.signatures[0].summary
        count = len(self.signatures)
        names = ", ".join(s.signer or "signataire inconnu" for s in self.signatures)
        problems = [s for s in self.signatures if not s.ok]
        if not problems:
            return f"{count} signatures électroniques ({names}) : intactes, valides, émises par une autorité de confiance."
        return f"{count} signatures électroniques ({names}), dont {len(problems)} à examiner : voir le détail de chaque signature."

    def as_json(self) -> dict[str, Any]:
        """JSON-ready record (ISO 8601 datetimes), for a JSON column."""
        return {
            "signed": self.signed,
            "intact": self.intact,
            "valid": self.valid,
            "trusted": self.trusted,
            "covers_whole_file": self.covers_whole_file,
            "summary": self.summary,
            "error": self.error,
            "signatures": [s.as_json() for s in self.signatures],
        }


def load_trust_roots(directory: Path | None) -> list[x509.Certificate]:
    """Read every *.pem / *.crt / *.cer (PEM or DER) certificate in `directory` (missing or None -> [])."""
    if directory is None or not directory.exists():
        return []
    if not directory.is_dir():
        raise TrustRootsError(f"Le dossier des autorités de confiance {directory} n'est pas un dossier.")
    roots: list[x509.Certificate] = []
    for path in sorted(directory.iterdir()):
        if path.suffix.lower() in TRUST_ROOT_SUFFIXES and path.is_file():
            roots.extend(read_trust_root_file(path))
    return roots


def read_trust_root_file(path: Path) -> list[x509.Certificate]:
    """Read the certificates of one trust-root file; raise ``TrustRootsError`` naming it if unreadable."""
    try:
        certs = list(load_certs_from_pemder_data(path.read_bytes()))
        for cert in certs:
            cert.native  # noqa: B018 - asn1crypto parses lazily: force the whole parse here, not mid-validation
    except Exception as exc:  # asn1crypto raises ValueError, TypeError, KeyError… on garbage
        raise TrustRootsError(f"Le certificat d'autorité de confiance {path} n'a pas pu être lu : ce n'est pas un certificat PEM ou DER valide.") from exc
    if not certs:  # a PEM file holding only a key or a CSR: a misconfiguration, not "no root"
        raise TrustRootsError(f"Le fichier {path} ne contient aucun certificat d'autorité de confiance.")
    return certs


def outside_event_loop(function: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
    """Call ``function`` here, or in a worker thread when this thread runs an event loop.

    ``asyncio.run`` (inside pyHanko's synchronous calls) refuses to start under a running loop,
    and the coroutine it was given is then never awaited.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return function(*args, **kwargs)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyhanko") as pool:
        return pool.submit(function, *args, **kwargs).result()


def verify_pdf_signatures(path: Path, trust_roots: Sequence[x509.Certificate]) -> SignatureCheck:
    """Verify every signature of the PDF at `path` against `trust_roots`, with no network access."""
    return outside_event_loop(_verify_file, path, trust_roots)


def _verify_file(path: Path, trust_roots: Sequence[x509.Certificate]) -> SignatureCheck:
    try:
        # The file is read through the file object (pyHanko seeks and digests by chunks), never
        # whole. Strict parsing, pyHanko's default: the syntax ambiguities lenient mode tolerates
        # (clobbered or hybrid cross-reference tables) are what shadow attacks on signed PDFs use.
        with path.open("rb") as stream:
            reader = PdfFileReader(stream)
            results = []
            for name, value, field in enumerate_sig_fields(reader, filled_status=True):
                if value.get_object().get("/Type") == "/DocTimeStamp":
                    continue  # a document timestamp (PAdES-LTA) vouches for a time, not for a signer
                results.append(_verify_one(reader, name, field, trust_roots))
    except Exception:  # any parser failure on a hostile or damaged file is a verdict, not a crash
        log.warning("PDF signatures of %s could not be read", path, exc_info=True)
        return SignatureCheck((), error=MSG_UNREADABLE_FILE)
    return SignatureCheck(tuple(results))


def validation_context(trust_roots: Sequence[x509.Certificate]) -> ValidationContext:
    # trust_roots is always a list, even empty: None would make pyHanko fall back to the
    # operating system's TLS roots, which are not the authorities the administrator chose.
    # Revocation checking is OFF (not soft-fail): with no network, CRLs and OCSP responses
    # cannot be fetched, and soft-fail would only pass the same way while seeming to check.
    # So "trusted" means "chains to a configured root, at the time of verification".
    return ValidationContext(
        trust_roots=list(trust_roots),
        allow_fetching=False,
        revinfo_policy=CertRevTrustPolicy(NO_REVOCATION),
    )


def _verify_one(reader: PdfFileReader, name: str, field: Any, trust_roots: Sequence[x509.Certificate]) -> SignatureResult:
    try:
        embedded = EmbeddedPdfSignature(reader, field, name)
        status = validate_pdf_signature(embedded, validation_context(trust_roots), key_usage_settings=_KEY_USAGE)
    except Exception:  # unreadable CMS, unsupported /SubFilter, hybrid xref file, weak algorithm…
        log.warning("PDF signature %r could not be verified", name, exc_info=True)
        return SignatureResult(
            field=name,
            signer=None,
            signed_at=None,
            intact=False,
            valid=False,
            trusted=False,
            covers_whole_file=False,
            summary=f"La signature « {name} » n'a pas pu être vérifiée : elle est illisible ou d'un type non pris en charge.",
        )
    signer = _common_name(status.signing_cert)
    signed_at = _signing_time(status)
    intact = bool(status.intact)
    valid = intact and bool(status.valid)
    trusted = bool(status.trusted)
    # docmdp_ok is pyHanko's verdict on what was appended after the signed revision: True for
    # nothing at all, or for changes its difference analysis allows (form filling, later
    # signatures, validation data); None when it could not tell, which is no assurance.
    covers_whole_file = status.docmdp_ok is True
    return SignatureResult(
        field=name,
        signer=signer,
        signed_at=signed_at,
        intact=intact,
        valid=valid,
        trusted=trusted,
        covers_whole_file=covers_whole_file,
        summary=_summary(status, signer, signed_at, intact=intact, valid=valid, trusted=trusted, covers_whole_file=covers_whole_file),
    )


def _common_name(cert: x509.Certificate) -> str | None:
    common_name = cert.subject.native.get("common_name")
    if isinstance(common_name, list):  # several CN attributes
        common_name = " ".join(common_name)
    return common_name or cert.subject.human_friendly or None


def _signing_time(status: PdfSignatureStatus) -> datetime | None:
    # The time the signer claims (CMS signing-time, else the signature's /M); else that of a
    # signature timestamp token, when the signature carries one.
    moment = status.signer_reported_dt
    if moment is None and status.timestamp_validity is not None:
        moment = status.timestamp_validity.timestamp
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _summary(
    status: PdfSignatureStatus,
    signer: str | None,
    signed_at: datetime | None,
    *,
    intact: bool,
    valid: bool,
    trusted: bool,
    covers_whole_file: bool,
) -> str:
    head = f"Signature de {signer or 'signataire inconnu'}"
    if signed_at is not None:
        head += f" du {date_fr(paris_date(signed_at))}"
    if not intact:
        verdict = "non intacte, le contenu signé a été altéré"
    elif not valid:
        verdict = "intacte mais invalide, la signature ne correspond pas au certificat du signataire"
    elif trusted:
        verdict = f"intacte, valide, {_TRUSTED}"
    elif status.trust_problem_indic == AdESIndeterminate.NO_CERTIFICATE_CHAIN_FOUND:
        verdict = f"intacte, valide, {_NOT_TRUSTED}"
    elif status.trust_problem_indic in _EXPIRY:
        verdict = f"intacte, valide, {_OUT_OF_VALIDITY}"
    else:
        verdict = f"intacte, valide, {_CERT_REFUSED}"
    if not covers_whole_file:
        verdict += f" ; {_MODIFIED}"
    return f"{head} : {verdict}."
