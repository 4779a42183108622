"""Check an uploaded file before it is stored: true type, size, and a full parse in a sandboxed child.

One entry point, :func:`check_upload`. It never trusts the file name's extension nor the
declared Content-Type:

1. the upload is streamed to a temporary file in ``workdir`` by chunks, counting bytes, and
   refused as soon as it exceeds ``max_bytes`` (it is never held whole in memory);
2. its true type is read from its first bytes (``filetype``) and must be the one its
   extension announces, and one of ``allowed``;
3. the file is then fully parsed in a child process (``child.py`` run as a script with
   ``python -I``, a minimal environment, ``setrlimit`` on address space, CPU time, file size
   and core dumps, and a wall-clock timeout in the parent):

   - PDF (pypdf): refused if encrypted, without pages or with more than ``max_pages``, or
     holding JavaScript, launch actions, automatic actions other than "go to", XFA forms or
     embedded files, found by walking the whole object graph; page contents are decoded, so
     flate bombs stop on pypdf's ``LimitReachedError``;
   - JPEG and PNG (Pillow): pixel count checked from the header before any decoding, then
     the image is decoded and *re-encoded* (orientation applied, EXIF/GPS, comments and any
     appended payload dropped; a PNG's transparency laid on white and its rows no longer
     interlaced, so that the complete dossier copies them into its PDF without decoding
     them); the stored file is the re-encoded one;
   - DOCX (zipfile + expat): the zip directory is checked before anything is read (entry
     count, declared total size, compression ratio), macros and ActiveX are refused, and
     ``[Content_Types].xml`` and ``word/document.xml`` are parsed as XML without DTD.

Every refusal is an :class:`UploadRefused` whose ``message`` is French, for the user, and
leaves nothing in ``workdir``. On success the caller stores ``CheckedFile.data_path`` (for
instance with ``FileStore.put_stream``) and then deletes it.

The modules: ``detect`` (steps 1 and 2, in the web process), ``sandbox`` (starts the child),
``child`` (the child's entry script), and ``checks``, what the child runs, which imports
nothing of ``webforms``: ``limits``, ``refusals`` (the French messages), ``pdf``, ``images``
and ``word``.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, cast

from .checks.images import grey_8_bits, on_white, palette_on_white
from .checks.refusals import UploadRefused
from .detect import DOCX_MIME, IMAGE_KINDS, KINDS, MIME_TYPES, Kind, check_magic, claimed_kind, clean_name, extension_of, spool
from .sandbox import parse_in_child

__all__ = [
    "DOCX_MIME",
    "KINDS",
    "CheckedFile",
    "Kind",
    "UploadRefused",
    "check_upload",
    "clean_name",
    "extension_of",
    "grey_8_bits",
    "on_white",
    "palette_on_white",
]


@dataclass(frozen=True)
class CheckedFile:
    """An upload that passed every check. ``data_path`` is the file to store, then delete.

    ``data_path`` is the original upload for PDF and DOCX, the re-encoded image for JPEG and
    PNG; ``size`` is that file's size; ``pages`` is known for PDF only.
    """

    kind: Kind
    mime: str
    size: int
    pages: int | None
    data_path: Path
    original_name: str


def check_upload(
    stream: BinaryIO,
    original_name: str,
    *,
    allowed: frozenset[str],
    max_bytes: int,
    max_pages: int = 200,
    workdir: Path,
) -> CheckedFile:
    """Check the upload read from ``stream`` (from its current position) and return what to store.

    ``allowed`` is a subset of ``{"pdf", "jpeg", "png", "docx"}``. Raises :class:`UploadRefused`
    with a French message, leaving nothing in ``workdir``; on success the caller owns
    ``data_path`` (in ``workdir``) and deletes it once stored.
    """
    if not allowed or not allowed <= KINDS:
        raise ValueError(f"allowed must be a non-empty subset of {sorted(KINDS)}, not {sorted(allowed)}")
    if max_bytes <= 0 or max_pages <= 0:
        raise ValueError("max_bytes and max_pages must be positive")
    name = clean_name(original_name)
    claimed = claimed_kind(name, allowed)
    workdir.mkdir(parents=True, exist_ok=True)
    raw = spool(stream, workdir, max_bytes)
    output: Path | None = None
    try:
        check_magic(raw, claimed)
        if claimed in IMAGE_KINDS:
            fd, out_name = tempfile.mkstemp(dir=workdir, prefix="upload-", suffix=".jpg" if claimed == "jpeg" else ".png")
            os.close(fd)
            output = Path(out_name)
        reply = parse_in_child(claimed, raw, output, max_pages=max_pages, workdir=workdir)
        pages = reply.get("pages")
        if output is not None:
            raw.unlink()
            data_path = output
        else:
            data_path = raw
        return CheckedFile(
            kind=cast(Kind, claimed),
            mime=MIME_TYPES[claimed],
            size=data_path.stat().st_size,
            pages=pages if isinstance(pages, int) else None,
            data_path=data_path,
            original_name=name,
        )
    except BaseException:
        raw.unlink(missing_ok=True)
        if output is not None:
            output.unlink(missing_ok=True)
        raise
