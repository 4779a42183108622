"""The Word parse (zipfile + expat): a DOCX without macros, ActiveX, outside fields or imported blocks.

The zip directory is checked before anything is read (entry count, declared total size,
compression ratio); ``[Content_Types].xml`` and ``word/document.xml`` are parsed as XML
without DTD, and every part is searched for fields that include an outside file or address.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, Final
from xml.parsers import expat

from . import limits
from .refusals import (
    MSG_DOCX_ACTIVEX,
    MSG_DOCX_ALTCHUNK,
    MSG_DOCX_BOMB,
    MSG_DOCX_DAMAGED,
    MSG_DOCX_EXTERNAL_FIELD,
    MSG_DOCX_MACROS,
    MSG_DOCX_PASSWORD,
    MSG_NOT_DOCX,
    UploadRefused,
)


def check_docx(path: Path) -> None:
    """Check the DOCX at ``path`` part by part; raise UploadRefused if it is refused."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError):
        raise UploadRefused(MSG_DOCX_DAMAGED) from None
    with archive:
        infos = archive.infolist()
        if len(infos) > limits.MAX_DOCX_ENTRIES:
            raise UploadRefused(MSG_DOCX_BOMB)
        names: set[str] = set()
        total = 0
        for info in infos:
            name = info.filename
            lower = name.lower()
            total += info.file_size
            if info.file_size > 1 << 20 and info.file_size > limits.MAX_COMPRESSION_RATIO * max(info.compress_size, 1):
                raise UploadRefused(MSG_DOCX_BOMB)
            if info.flag_bits & 0x1:
                raise UploadRefused(MSG_DOCX_PASSWORD)
            if name.startswith("/") or "\\" in name or ".." in name.split("/"):
                raise UploadRefused(MSG_DOCX_DAMAGED)
            if lower.rsplit("/", 1)[-1] in ("vbaproject.bin", "vbadata.xml"):
                raise UploadRefused(MSG_DOCX_MACROS)
            if "/activex/" in f"/{lower}":
                raise UploadRefused(MSG_DOCX_ACTIVEX)
            names.add(name)
        if total > limits.MAX_DOCX_UNCOMPRESSED:
            raise UploadRefused(MSG_DOCX_BOMB)
        if "[Content_Types].xml" not in names or "word/document.xml" not in names:
            raise UploadRefused(MSG_NOT_DOCX)
        if archive.getinfo("[Content_Types].xml").file_size > limits.MAX_XML_PART:
            raise UploadRefused(MSG_DOCX_DAMAGED)

        content_types: list[str] = []
        main_type: list[str] = []

        def on_content_type(tag: str, attrs: dict[str, str]) -> None:
            content_types.append(attrs.get("ContentType", ""))
            if tag.endswith("Override") and attrs.get("PartName", "").lower() == "/word/document.xml":
                main_type.append(attrs.get("ContentType", ""))

        with archive.open("[Content_Types].xml") as part:
            _parse_xml(part, on_content_type)
        if any("macroenabled" in ct.lower() for ct in content_types):
            raise UploadRefused(MSG_DOCX_MACROS)
        if main_type != ["application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"]:
            raise UploadRefused(MSG_NOT_DOCX)

        roots: list[str] = []

        def on_element(tag: str, attrs: dict[str, str]) -> None:
            if not roots:
                roots.append(tag)

        with archive.open("word/document.xml") as part:  # reading stops at the declared size
            _parse_xml(part, on_element)
        if roots not in (
            ["http://schemas.openxmlformats.org/wordprocessingml/2006/main document"],
            ["http://purl.oclc.org/ooxml/wordprocessingml/main document"],  # Strict Open XML
        ):
            raise UploadRefused(MSG_NOT_DOCX)
        _check_docx_fields_and_chunks(archive, sorted(names))


# Fields that pull content from outside the file when a program updates them (a Word piece is
# converted to PDF by LibreOffice for the complete dossier: webforms/rendering/office.py).
_EXTERNAL_FIELDS: Final = re.compile(r"(?<![A-Z])(INCLUDETEXT|INCLUDEPICTURE|INCLUDE|LINK|DDEAUTO|DDE|IMPORT)(?![A-Z])", re.IGNORECASE)
_WORD_NS: Final = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"


def _check_docx_fields_and_chunks(archive: Any, names: list[str]) -> None:
    """Refuse fields that include an outside file or address, and embedded HTML/MHT chunks."""
    for name in names:
        lower = name.lower()
        if lower.endswith(".rels"):
            if archive.getinfo(name).file_size > limits.MAX_XML_PART:
                raise UploadRefused(MSG_DOCX_DAMAGED)
            if any(kind.lower().endswith("/afchunk") for kind in _relationship_types(archive, name)):
                raise UploadRefused(MSG_DOCX_ALTCHUNK)
        elif lower.startswith("word/") and lower.endswith(".xml") and _EXTERNAL_FIELDS.search(_field_instructions(archive, name)):
            raise UploadRefused(MSG_DOCX_EXTERNAL_FIELD)


def _relationship_types(archive: Any, name: str) -> list[str]:
    kinds: list[str] = []
    with archive.open(name) as part:
        _parse_xml(part, lambda _tag, attrs: kinds.append(attrs.get("Type", "")))
    return kinds


def _field_instructions(archive: Any, name: str) -> str:
    """The instructions of every field of a part (simple fields and ``w:instrText`` runs)."""
    instructions: list[str] = []
    inside = [False]

    def start(tag: str, attrs: dict[str, str]) -> None:
        # Word may split one instruction over several runs: they are joined as they are, and
        # a space is put between fields.
        if tag == f"{_WORD_NS} fldSimple":
            instructions.append(f" {attrs.get(f'{_WORD_NS} instr', '')} ")
        elif tag == f"{_WORD_NS} fldChar":
            instructions.append(" ")
        inside[0] = tag == f"{_WORD_NS} instrText"

    def text(data: str) -> None:
        if inside[0]:
            instructions.append(data)

    with archive.open(name) as part:  # reading stops at the declared size, checked above
        _parse_xml(part, start, text)
    return "".join(instructions)


def _parse_xml(stream: IO[bytes], on_start: Callable[[str, dict[str, str]], None], on_text: Callable[[str], None] | None = None) -> None:
    """Parse XML by chunks with expat; a DTD (never written by Word) is refused outright."""
    class _HasDtd(Exception):
        pass

    def refuse_dtd(*_args: object) -> None:
        raise _HasDtd

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartDoctypeDeclHandler = refuse_dtd
    parser.EntityDeclHandler = refuse_dtd
    parser.StartElementHandler = on_start
    if on_text is not None:
        parser.CharacterDataHandler = on_text
    try:
        while chunk := stream.read(1 << 16):
            parser.Parse(chunk, False)
        parser.Parse(b"", True)
    except (_HasDtd, expat.ExpatError):
        raise UploadRefused(MSG_DOCX_DAMAGED) from None
