"""The parent's first checks of an upload: its name, its size while it is spooled, its true type.

The file name's extension announces a kind, which must be allowed; the upload is copied to a
private temporary file by chunks, refused as soon as it is too big; the type read from its
first bytes (``filetype``) must be the one announced.
"""

from __future__ import annotations

import os
import tempfile
import unicodedata
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Final, Literal

import filetype

from .checks import limits
from .checks.refusals import (
    MSG_DOCX_PASSWORD,
    MSG_EMPTY,
    UploadRefused,
    format_not_accepted,
    no_extension,
    not_a_real,
    too_big_file,
)

Kind = Literal["pdf", "jpeg", "png", "docx"]
KINDS: Final[frozenset[str]] = frozenset({"pdf", "jpeg", "png", "docx"})
IMAGE_KINDS: Final[frozenset[str]] = frozenset({"jpeg", "png"})

DOCX_MIME: Final = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
MIME_TYPES: Final[Mapping[str, str]] = {
    "pdf": "application/pdf",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "docx": DOCX_MIME,
}
EXTENSIONS: Final[Mapping[str, str]] = {".pdf": "pdf", ".jpg": "jpeg", ".jpeg": "jpeg", ".png": "png", ".docx": "docx"}
_STORED_EXTENSIONS: Final[Mapping[str, str]] = {"application/pdf": "pdf", "image/jpeg": "jpg", "image/png": "png", DOCX_MIME: "docx"}


def extension_of(mime: str) -> str:
    """Return the extension to give a stored file of this MIME type when it is downloaded or exported."""
    return _STORED_EXTENSIONS.get(mime, "bin")


# What the refusal says the content is, from the type filetype reads.
_CONTENT_NAMES: Final[Mapping[str, str]] = {
    "application/pdf": "PDF",
    "image/jpeg": "image JPEG",
    "image/png": "image PNG",
    "image/apng": "image PNG animée",
    "image/gif": "image GIF",
    "image/webp": "image WebP",
    "image/heic": "image HEIC",
    "image/avif": "image AVIF",
    "image/tiff": "image TIFF",
    "image/bmp": "image BMP",
    "image/vnd.adobe.photoshop": "image Photoshop",
    DOCX_MIME: "document Word",
    "application/msword": "document Word ancien format (.doc)",
    "application/vnd.ms-excel": "classeur Excel ancien format (.xls)",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "classeur Excel",
    "application/vnd.ms-powerpoint": "présentation PowerPoint ancien format (.ppt)",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "présentation PowerPoint",
    "application/vnd.oasis.opendocument.text": "document OpenDocument (.odt)",
    "application/vnd.oasis.opendocument.spreadsheet": "classeur OpenDocument (.ods)",
    "application/vnd.oasis.opendocument.presentation": "présentation OpenDocument (.odp)",
    "application/rtf": "document RTF",
    "application/postscript": "PostScript",
    "application/zip": "archive ZIP",
    "application/x-rar-compressed": "archive RAR",
    "application/x-7z-compressed": "archive 7z",
    "application/gzip": "archive gzip",
    "application/x-tar": "archive tar",
    "application/x-msdownload": "programme Windows",
    "application/x-executable": "programme",
}
_OLE_MAGIC: Final = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def clean_name(original_name: str) -> str:
    """Return the name to keep in the database: last path component, no control or format characters.

    Browsers of old sent ``C:\\Users\\…\\scan.pdf``; a right-to-left override (U+202E) can make
    ``x‮fdp.exe`` display as ``xexe.pdf``. The result is never used as a path.
    """
    name = unicodedata.normalize("NFC", original_name).replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if not unicodedata.category(ch).startswith("C")).strip()
    if len(name) > 200:
        suffix = PurePosixPath(name).suffix[:16]
        name = name[: 200 - len(suffix)] + suffix
    return name


def claimed_kind(name: str, allowed: frozenset[str]) -> str:
    """Return the kind the name's extension announces; raise UploadRefused if it is not allowed."""
    suffix = PurePosixPath(name).suffix.lower()
    if not suffix:
        raise UploadRefused(no_extension(allowed))
    kind = EXTENSIONS.get(suffix)
    if kind is None or kind not in allowed:
        raise UploadRefused(format_not_accepted(suffix, allowed))
    return kind


def spool(stream: BinaryIO, workdir: Path, max_bytes: int) -> Path:
    """Copy the upload to a private temporary file, one chunk at a time, at most max_bytes."""
    fd, name = tempfile.mkstemp(dir=workdir, prefix="upload-", suffix=".upload")
    path = Path(name)
    try:
        size = 0
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(min(limits.CHUNK_SIZE, max_bytes + 1 - size)):
                size += len(chunk)
                if size > max_bytes:
                    raise UploadRefused(too_big_file(max_bytes))
                out.write(chunk)
        if size == 0:
            raise UploadRefused(MSG_EMPTY)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def check_magic(path: Path, claimed: str) -> None:
    """Compare the type read from the first bytes with the one the extension announces."""
    with path.open("rb") as f:
        head = f.read(8192)
    guess = filetype.guess(head)
    mime = guess.mime if guess is not None else None
    detected = {
        "application/pdf": "pdf",
        "image/jpeg": "jpeg",
        "image/png": "png",
        "image/apng": "png",
        DOCX_MIME: "docx",
        # A zip that filetype could not name (its first members were too big to see
        # word/ in 8 KiB) may still be a DOCX: the child's parse decides.
        "application/zip": "docx",
    }.get(mime or "")
    if detected == claimed:
        return
    if claimed == "docx" and head.startswith(_OLE_MAGIC) and "EncryptedPackage".encode("utf-16-le") in head:
        raise UploadRefused(MSG_DOCX_PASSWORD)
    raise UploadRefused(not_a_real(claimed, _describe(head, guess)))


def _describe(head: bytes, guess: Any) -> str:
    """Name the content for the user: 'HTML', 'image SVG', 'programme Windows', 'inconnu'…"""
    if guess is not None:
        if guess.mime in _CONTENT_NAMES:
            return _CONTENT_NAMES[guess.mime]
        for prefix, label in (("video/", "vidéo"), ("audio/", "fichier audio"), ("font/", "police de caractères")):
            if guess.mime.startswith(prefix):
                return label
        return f"fichier .{guess.extension}"
    if head.startswith(_OLE_MAGIC):
        return "document Office ancien format ou protégé par un mot de passe"
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith(b"<"):
        if b"<svg" in text:
            return "image SVG"
        if text.startswith((b"<!doctype html", b"<html")) or b"<html" in text or b"<script" in text:
            return "HTML"
        return "XML"
    if b"\x00" not in head:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            if exc.start < len(head) - 4:  # not merely a character cut at the end of the sample
                return "inconnu"
        return "texte"
    return "inconnu"
