"""The mark on every page of a submitted document: its reference, version and a short digest, as text and as a QR code.

Issue 15: a signed scan of one document was archived as the signed copy of another. Every page
of a frozen version therefore names what it is, twice: in small text (read back from a signed
PDF by text extraction) and in a QR code (read back from a scan, where there is no text). The
archive reads it at deposit (``webforms.archive.marks``) and refuses a copy of another document
or version.

The digest is a SHA-256 of the version's frozen data and decision, cut to 12 hex digits: two
versions with the same number but other content (there are none; a forged print could have) are
told apart, and it is short enough to read aloud.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import segno
from markupsafe import Markup

# The QR code's text uses the alphanumeric set only (capitals, digits, "-", ":"): a fiche's
# reference, version and digest fit a version 2 code (25 modules), whose modules stay large
# enough on a 14 mm print for a 200 dpi scan.
QR_PREFIX: Final = "WF"
DIGEST_LENGTH: Final = 12
# The text form as pdf text extraction gives it back: "Réf. FS-2026-000031 · v2 · 1a2b3c4d5e6f".
# Whitespace may be lost or doubled by extraction; the separators and the digest's length are not.
TEXT_PATTERN: Final = re.compile(r"Réf\.\s*(\S+?)\s*·\s*v\s*(\d{1,9})\s*·\s*([0-9a-f]{12})\b")


@dataclass(frozen=True)
class Mark:
    """What a page says it is a copy of."""

    reference: str
    version: int
    digest: str

    @property
    def text(self) -> str:
        """The mark as printed in text under the QR code."""
        return f"Réf. {self.reference} · v{self.version} · {self.digest}"

    @property
    def payload(self) -> str:
        """The mark as encoded in the QR code."""
        return f"{QR_PREFIX}:{self.reference}:{self.version}:{self.digest.upper()}"

    def describe(self) -> str:
        """The mark in French, for a message naming what was found."""
        return f"{self.reference}, version {self.version}"


def data_digest(data: Mapping[str, Any] | None, review: Mapping[str, Any] | None) -> str:
    """Return the short digest of a version's frozen data and decision (JSON, as stored)."""
    canonical = json.dumps({"donnees": data, "decision": review}, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:DIGEST_LENGTH]


def parse_payload(payload: str) -> Mark | None:
    """Read a QR code's text; None when it is not one of our marks."""
    prefix, _, rest = payload.strip().partition(":")
    parts = rest.rsplit(":", 2)
    if prefix != QR_PREFIX or len(parts) != 3:
        return None
    reference, version, digest = parts
    if not reference or len(reference) > 64 or not re.fullmatch(r"[0-9]{1,9}", version) or not re.fullmatch(r"[0-9A-F]{12}", digest):
        return None
    return Mark(reference, int(version), digest.lower())


def marks_in_text(text: str) -> list[Mark]:
    """Return the marks printed in a page's extracted text, in order."""
    return [Mark(ref, int(version), digest) for ref, version, digest in TEXT_PATTERN.findall(text)]


def qr_svg(mark: Mark) -> Markup:
    """Return the QR code of ``mark`` as an inline SVG element (drawn by us: safe to insert unescaped)."""
    # Error correction M: a scan's dust and toner specks still read; no XML declaration, the
    # element goes inside the document's HTML; the size is set by the stylesheet (.marque svg).
    svg = segno.make(mark.payload, error="m", micro=False).svg_inline(scale=1, border=2, omitsize=True)
    return Markup(svg)
