"""Test helpers for signed PDFs: a small PKI made with `cryptography`, PDFs, pyHanko signing.

Import them as the other test modules import shared helpers: ``from tests.signing import ...``
(``tests`` has no ``__init__.py``; it is found as a namespace package because the suite runs as
``python -m pytest`` from the repository root, as ``make test`` does).

Everything is made in memory. Keys are derived from fixed numbers and certificates have fixed
serials and validity dates, so two runs give the same certificates; only the ECDSA signature
values and the signing time (now) differ.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
from dataclasses import dataclass
from pathlib import Path

import pikepdf
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko_certvalidator.registry import SimpleCertificateStore

from webforms.archive.signatures import outside_event_loop

NOT_BEFORE = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
NOT_AFTER = dt.datetime(2099, 12, 31, tzinfo=dt.UTC)
PAGE_TEXT = b"Attestation de depot du dossier"  # plain ASCII: found as is in the uncompressed page content


@dataclass(frozen=True)
class Pki:
    """A root CA and a signer certificate it issued (`cryptography` objects)."""

    ca_cert: x509.Certificate
    ca_key: ec.EllipticCurvePrivateKey
    signer_cert: x509.Certificate
    signer_key: ec.EllipticCurvePrivateKey


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _key_usage(*, signing: bool, non_repudiation: bool = True) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=signing,
        content_commitment=signing and non_repudiation,  # nonRepudiation
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=not signing,
        crl_sign=not signing,
        encipher_only=False,
        decipher_only=False,
    )


@functools.cache
def make_pki(
    ca_name: str = "Autorité de test webforms",
    signer_name: str = "Jeanne Martin",
    *,
    seed: int = 1,
    revocation_url: str | None = None,
    signer_not_after: dt.datetime = NOT_AFTER,
    non_repudiation: bool = True,
) -> Pki:
    """Return a root CA and a signer certificate (CN ``signer_name``), the same for the same arguments.

    ``seed`` tells two PKIs apart (another CA, other keys). With ``revocation_url``, the signer
    certificate names it as its CRL distribution point, OCSP responder and CA issuers URL: a
    validator allowed to fetch would go there. ``signer_not_after`` in the past makes an expired
    signer certificate; ``non_repudiation=False`` one with the digitalSignature key usage only.
    """
    ca_key = ec.derive_private_key(1_000_003 * seed, ec.SECP256R1())
    signer_key = ec.derive_private_key(2_000_003 * seed, ec.SECP256R1())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(_name(ca_name))
        .issuer_name(_name(ca_name))
        .public_key(ca_key.public_key())
        .serial_number(1000 + seed)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(NOT_AFTER)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_key_usage(signing=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(signer_name))
        .issuer_name(ca_cert.subject)
        .public_key(signer_key.public_key())
        .serial_number(2000 + seed)
        .not_valid_before(NOT_BEFORE)
        .not_valid_after(signer_not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(signing=True, non_repudiation=non_repudiation), critical=True)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    )
    if revocation_url is not None:
        uri = x509.UniformResourceIdentifier(revocation_url)
        builder = builder.add_extension(
            x509.CRLDistributionPoints([x509.DistributionPoint([uri], None, None, None)]), critical=False
        ).add_extension(
            x509.AuthorityInformationAccess(
                [
                    x509.AccessDescription(x509.AuthorityInformationAccessOID.OCSP, uri),
                    x509.AccessDescription(x509.AuthorityInformationAccessOID.CA_ISSUERS, uri),
                ]
            ),
            critical=False,
        )
    signer_cert = builder.sign(ca_key, hashes.SHA256())
    return Pki(ca_cert=ca_cert, ca_key=ca_key, signer_cert=signer_cert, signer_key=signer_key)


def write_trust_root(directory: Path, cert: x509.Certificate, name: str = "autorite.pem", *, der: bool = False) -> Path:
    """Write ``cert`` into the trust roots directory (created if needed), PEM unless ``der``."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    path.write_bytes(cert.public_bytes(serialization.Encoding.DER if der else serialization.Encoding.PEM))
    return path


def make_pdf(text: bytes = PAGE_TEXT) -> bytes:
    """A one-page A4 PDF showing ``text`` (ASCII), its page content left uncompressed."""
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(595, 842))
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica, Encoding=pikepdf.Name.WinAnsiEncoding
        )
    )
    page.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    page.Contents = pdf.make_stream(b"BT /F1 16 Tf 72 760 Td (" + text + b") Tj ET")
    out = io.BytesIO()
    pdf.save(out, compress_streams=False, deterministic_id=True)
    return out.getvalue()


def _asn1_cert(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


def sign_pdf(
    pdf_bytes: bytes,
    signer_key: ec.EllipticCurvePrivateKey,
    signer_cert: x509.Certificate,
    ca_cert: x509.Certificate,
    *,
    field_name: str = "Signature1",
) -> bytes:
    """Sign ``pdf_bytes`` (PAdES baseline B, no timestamp server, no network) in a new incremental update."""
    key_info = asn1_keys.PrivateKeyInfo.load(
        signer_key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    signer = signers.SimpleSigner(
        signing_cert=_asn1_cert(signer_cert),
        signing_key=key_info,
        cert_registry=SimpleCertificateStore.from_certs([_asn1_cert(ca_cert)]),
    )
    meta = signers.PdfSignatureMetadata(field_name=field_name, subfilter=SigSeedSubFilter.PADES)
    writer = IncrementalPdfFileWriter(io.BytesIO(pdf_bytes))
    # pyHanko signs through asyncio.run: in a worker thread when Playwright's loop runs here.
    return outside_event_loop(signers.sign_pdf, writer, meta, signer=signer).getvalue()


def change_page_after_signing(signed: bytes, text: bytes = b"Montant : 999 999 euros") -> bytes:
    """Append an incremental update replacing the first page's content (the signed bytes stay intact)."""
    writer = IncrementalPdfFileWriter(io.BytesIO(signed))
    page_ref = writer.root["/Pages"].raw_get("/Kids")[0]
    page = page_ref.get_object()
    page["/Contents"] = writer.add_object(generic.StreamObject(stream_data=b"BT /F1 16 Tf 72 760 Td (" + text + b") Tj ET"))
    writer.update_container(page)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
