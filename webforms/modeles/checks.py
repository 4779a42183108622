"""A template version checked before it is kept, without the database (the command line uses it too).

By content first, as an upload is (a real DOCX without macros, through the upload sandbox; an
HTML template in UTF-8), then against every kind (or page outside the kinds: the dossier's
cover, the jury's procès-verbal) that uses the template
(``webforms.rendering.checks.check_candidate``: outside links, syntax, every name in every
branch, a fill of the example), each problem naming its place.
"""

from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from schemas.base.kind import Kind
from webforms.documents.uploads import UploadRefused, check_upload
from webforms.rendering import Renderer
from webforms.rendering.checks import Use, candidate_version, check_candidate, mark_problems, uses

MAX_TEMPLATE_MB = 10
# What the parsers of a template raise on a file they cannot read (lxml's XMLSyntaxError is a SyntaxError).
_UNREADABLE = (SyntaxError, ValueError, LookupError, zipfile.BadZipFile, UnicodeDecodeError)


class UnknownTemplate(LookupError):
    """No kind declares a template of that name (the page answers 404)."""


@dataclass
class Slot:
    """A template the kinds (or the pages outside them) declare: its name, format, and everything it prints."""

    template: str
    fmt: str
    uses: list[Use] = field(default_factory=list)

    @property
    def title(self) -> str:
        """Return what it prints, as administrators read it."""
        return " ; ".join(use.title for use in self.uses)


def slots() -> dict[str, Slot]:
    """Return every template the kinds declare, by name, in the catalogue's order, then the pages'."""
    found: dict[str, Slot] = {}
    for use in uses():
        found.setdefault(use.output.template, Slot(use.output.template, use.output.fmt)).uses.append(use)
    return found


def slot_of(template: str) -> Slot:
    """Return the declared template ``template``; ``UnknownTemplate`` if no kind declares it."""
    found = slots().get(template)
    if found is None:
        raise UnknownTemplate(template)
    return found


def read_candidate(stream: BinaryIO, filename: str, slot: Slot, workdir: Path) -> bytes:
    """Return the uploaded bytes, checked as an upload is: a real DOCX without macros, or UTF-8 HTML."""
    limit = MAX_TEMPLATE_MB << 20
    if slot.fmt == "docx":
        checked = check_upload(stream, filename, allowed=frozenset({"docx"}), max_bytes=limit, workdir=workdir)
        try:
            return checked.data_path.read_bytes()
        finally:
            checked.data_path.unlink(missing_ok=True)
    if not filename.lower().endswith((".html", ".htm")):
        raise UploadRefused("Un modèle de PDF est un fichier HTML (.html).")
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise UploadRefused(f"Le fichier dépasse la taille maximale de {MAX_TEMPLATE_MB} Mo.")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        raise UploadRefused("Le modèle HTML doit être enregistré en UTF-8.") from None
    return data


def problems_of(renderer: Renderer, slot: Slot, content: bytes, *, mark: bool = True) -> list[str]:
    """Return the problems of ``content`` as ``slot``'s template, for everything that uses it.

    ``mark=False`` leaves out the check of the mark on each printed page (a PDF render: a worker
    does it after a deposit, ``webforms.modeles.services.verify_version``).
    """
    found: list[str] = []
    for use in slot.uses:
        try:
            problems = [str(p) for p in check_candidate(renderer, use, content, mark=mark)]
        except _UNREADABLE:
            # Word parts the upload check does not parse (headers, footers, relationships) go to
            # lxml, python-docx and docxtpl: what they cannot read is refused, never a 500.
            problems = [f"Modèle « {slot.template} » : le fichier n'a pas pu être lu comme un modèle (enregistrez-le à nouveau au format .{slot.template.rsplit('.', 1)[-1]})."]
        found += [p for p in problems if p not in found]
    return found


def mark_problems_of(renderer: Renderer, slot: Slot, content: bytes) -> list[str]:
    """Return the problems of the mark on each page ``content`` prints, for everything that uses it (a PDF render each)."""
    found: list[str] = []
    for use in slot.uses:
        try:
            problems = [str(p) for p in mark_problems(renderer.trying(candidate_version(use.output, content)), use)]
        except _UNREADABLE:
            problems = [f"Modèle « {slot.template} » : le fichier n'a pas pu être lu comme un modèle."]
        found += [p for p in problems if p not in found]
    return found


def check_file(renderer: Renderer, kind: Kind | None, path: Path) -> tuple[str, list[str]]:
    """Check the file ``path`` as a template of ``kind`` the way a deposit does; return the template's name and the problems.

    The template is the one of ``kind`` named like the file, else its main document's in the
    file's format (``.docx``: Word, else HTML). Without a kind, the file is named like a page
    outside the kinds (``dossier_couverture.html``, ``jury_proces_verbal.html``).
    """
    if kind is None:
        slot = slot_of(path.name)
        if not any(use.page is not None for use in slot.uses):
            raise UnknownTemplate(path.name)
    else:
        fmt = "docx" if path.suffix.lower() == ".docx" else "pdf"
        output = next((o for o in kind.outputs() if o.template == path.name), None) or kind.output(fmt)
        slot = Slot(output.template, output.fmt, [Use(output, kind)])
    with tempfile.TemporaryDirectory(prefix="webforms-modele-") as workdir, path.open("rb") as stream:
        try:
            content = read_candidate(stream, path.name, slot, Path(workdir))
        except UploadRefused as exc:
            return slot.template, [f"Modèle « {slot.template} » : {exc.message}"]
    return slot.template, problems_of(renderer, slot, content)
