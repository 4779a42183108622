"""Trust roots of electronic signatures, managed by the administrator."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from asn1crypto import pem as asn1_pem
from asn1crypto import x509
from pyhanko.keys import load_certs_from_pemder_data
from sqlalchemy.orm import Session

from webforms import policy
from webforms.archive.audit import commit, log
from webforms.archive.services import ArchiveError, ArchiveServices
from webforms.archive.signatures import TRUST_ROOT_SUFFIXES, TrustRootsError, read_trust_root_file
from webforms.models import User


@dataclass(frozen=True)
class TrustRoot:
    """A certificate an electronic signature may chain to, as the administrator sees it."""

    fingerprint: str  # SHA-256 of the DER certificate
    subject: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    filename: str


def _describe(cert: x509.Certificate, filename: str) -> TrustRoot:
    """What the administrator sees of a certificate kept in ``filename``."""
    return TrustRoot(
        fingerprint=hashlib.sha256(cert.dump()).hexdigest(),
        subject=cert.subject.human_friendly,
        issuer=cert.issuer.human_friendly,
        not_before=cert.not_valid_before,
        not_after=cert.not_valid_after,
        filename=filename,
    )


def trust_roots(svc: ArchiveServices) -> list[TrustRoot]:
    """Every configured root, file by file (a file may hold several certificates).

    Raises ``TrustRootsError`` naming a file of the directory that is not a certificate.
    """
    if svc.trust_dir is None or not svc.trust_dir.is_dir():
        return []
    return [
        _describe(cert, path.name)
        for path in sorted(svc.trust_dir.iterdir())
        if path.suffix.lower() in TRUST_ROOT_SUFFIXES and path.is_file()
        for cert in read_trust_root_file(path)
    ]


def _readable_roots(svc: ArchiveServices) -> list[TrustRoot]:
    """The configured roots; an unreadable file is an ``ArchiveError`` telling what to do."""
    try:
        return trust_roots(svc)
    except TrustRootsError as exc:
        raise ArchiveError(f"{exc.message} Corrigez le dossier des autorités sur le serveur.") from None


def add_trust_root(session: Session, svc: ArchiveServices, *, user: User, data: bytes) -> list[TrustRoot]:
    """Add the certificate(s) of an authority (PEM or DER) to the trust roots; log it."""
    if not policy.can_set_retention_rules(user):
        raise ArchiveError("Seul l'administrateur configure les autorités de confiance.")
    if svc.trust_dir is None:
        raise ArchiveError("Aucun dossier d'autorités de confiance n'est configuré (WEBFORMS_ARCHIVE_TRUST_DIR).")
    if not data or len(data) > 1 << 20:
        raise ArchiveError("Déposez le certificat de l'autorité, au format PEM ou DER (1 Mo au plus).")
    try:
        certs = list(load_certs_from_pemder_data(data))
        for cert in certs:
            cert.native  # noqa: B018 - parse it all now (asn1crypto is lazy)
    except Exception:  # asn1crypto raises many kinds of errors on garbage
        raise ArchiveError("Ce fichier n'est pas un certificat PEM ou DER lisible.") from None
    if not certs:
        raise ArchiveError("Ce fichier ne contient aucun certificat.")
    for cert in certs:
        if not cert.ca:
            raise ArchiveError(f"« {cert.subject.human_friendly} » n'est pas le certificat d'une autorité de certification : déposez celui de l'autorité (racine ou intermédiaire).")
    known = {root.fingerprint for root in _readable_roots(svc)}
    added = []
    svc.trust_dir.mkdir(parents=True, exist_ok=True)
    now = svc.clock()
    for cert in certs:
        info = _describe(cert, "")
        if info.fingerprint in known:
            raise ArchiveError(f"« {info.subject} » est déjà une autorité de confiance.")
        name = f"{info.fingerprint[:32]}.pem"
        (svc.trust_dir / name).write_bytes(asn1_pem.armor("CERTIFICATE", cert.dump()))
        added.append(_describe(cert, name))
        log(session, now, "trust_root_added", key=svc.seal_key, user=user, fingerprint=info.fingerprint)
    commit(session, svc)
    return added


def remove_trust_root(session: Session, svc: ArchiveServices, *, user: User, fingerprint: str) -> TrustRoot:
    """Stop trusting an authority: its file goes; records already verified keep their result."""
    if not policy.can_set_retention_rules(user):
        raise ArchiveError("Seul l'administrateur configure les autorités de confiance.")
    roots = _readable_roots(svc)
    root = next((r for r in roots if r.fingerprint == fingerprint), None)
    if root is None or svc.trust_dir is None:
        raise ArchiveError("Cette autorité ne fait plus partie des autorités de confiance.")
    if sum(1 for r in roots if r.filename == root.filename) > 1:
        raise ArchiveError(f"Le fichier {root.filename} contient plusieurs certificats : retirez-le du dossier sur le serveur.")
    (svc.trust_dir / root.filename).unlink()
    log(session, svc.clock(), "trust_root_removed", key=svc.seal_key, user=user, fingerprint=fingerprint)
    commit(session, svc)
    return root
