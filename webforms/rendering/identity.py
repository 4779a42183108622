"""The Département's identity on every PDF and Word document: its name, address and logo (issue 16, point 10).

Configuration, not code: ``DEPARTEMENT_NOM``, ``DEPARTEMENT_ADRESSE`` (lines separated by
``|`` or new lines) and ``DEPARTEMENT_LOGO`` (a PNG or JPEG file of at most 512 KiB). The
templates read it as the Jinja global ``departement`` (``nom``, ``adresse``: a list of lines,
``logo``: the address ``asset:departement-logo``, which the PDF printer's fetcher serves from
memory: WeasyPrint still fetches nothing but assets). A Word document gets the logo itself, a
docxtpl ``InlineImage`` put in place of ``departement.logo`` at each render (``Identity.for_docx``),
at most 15 mm high and 60 mm wide (the PDF's 18 × 60 mm, in a header). Unset, nothing is
printed. A logo that is not a PNG or a JPEG, or too large, stops the start-up with a French
message: an SVG could carry scripts or fetch what it names.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docx.image.image import Image
from docx.shared import Emu, Mm
from docxtpl import DocxTemplate, InlineImage

LOGO_MAX_BYTES = 512 * 1024
LOGO_ASSET = "departement-logo"
# The logo in a Word header: as high as this, narrower than the other bound (a wide logo keeps its proportions).
DOCX_LOGO_HEIGHT = Mm(15)
DOCX_LOGO_MAX_WIDTH = Mm(60)
_SIGNATURES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


class IdentityError(ValueError):
    """The configured identity cannot be printed; the message says why, in French."""


@dataclass(frozen=True)
class Identity:
    """What every document prints of the Département that issues it."""

    nom: str = ""
    adresse: tuple[str, ...] = field(default_factory=tuple)
    logo: bytes = b""
    logo_mime: str = ""

    def for_templates(self) -> dict[str, Any]:
        """Return the plain values the templates read."""
        return {"nom": self.nom, "adresse": list(self.adresse), "logo": f"asset:{LOGO_ASSET}" if self.logo else ""}

    def for_docx(self, template: DocxTemplate) -> dict[str, Any]:
        """Return the values a Word template reads: the logo an image of ``template``, "" without one."""
        values = self.for_templates()
        if self.logo:
            image = Image.from_blob(self.logo)
            ratio = image.px_width / image.px_height if image.px_height else 1
            height = min(DOCX_LOGO_HEIGHT, int(DOCX_LOGO_MAX_WIDTH / ratio))
            values["logo"] = InlineImage(template, io.BytesIO(self.logo), width=Emu(int(height * ratio)), height=Emu(height))
        return values

    def assets(self) -> dict[str, tuple[bytes, str]]:
        """Return what the PDF printer serves besides the asset files: the logo, by name."""
        return {LOGO_ASSET: (self.logo, self.logo_mime)} if self.logo else {}


def read_logo(path: Path) -> tuple[bytes, str]:
    """Return the logo at ``path`` and its type; refuse anything but a PNG or a JPEG of at most 512 KiB."""
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise IdentityError(f"Logo du Département illisible ({path}) : {exc.strerror or exc}.") from None
    if len(content) > LOGO_MAX_BYTES:
        raise IdentityError(f"Le logo du Département ({path}) dépasse 512 Kio : réduisez-le.")
    mime = next((m for sig, m in _SIGNATURES.items() if content.startswith(sig)), None)
    if mime is None:
        raise IdentityError(f"Le logo du Département ({path}) doit être une image PNG ou JPEG (lue par son contenu).")
    return content, mime


def identity_from(nom: str | None, adresse: str | None, logo: str | None) -> Identity:
    """Build the identity from the configuration's three values (each may be empty)."""
    lines = tuple(line.strip() for line in (adresse or "").replace("|", "\n").splitlines() if line.strip())
    content, mime = read_logo(Path(logo)) if logo else (b"", "")
    return Identity(nom=(nom or "").strip(), adresse=lines, logo=content, logo_mime=mime)
