"""Content-addressed file store: each file is kept once under its SHA-256, written atomically.

A stored file is never rewritten: storing the same bytes again is a no-op, and the file is
made read-only. The original file name, if any, lives only in the database.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class StoredFileMissing(FileNotFoundError):
    """The store has no file with that digest."""


class StoredFileCorrupt(Exception):
    """A stored file no longer matches its digest."""


class FileStore:
    """Files under ``root/ab/abcdef…`` where ``abcdef…`` is the SHA-256 of their content."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)

    def path(self, digest: str) -> Path:
        """Return where the file of ``digest`` lives (whether it exists or not)."""
        if not _SHA256.match(digest):
            raise ValueError("Empreinte SHA-256 invalide.")
        return self.root / digest[:2] / digest

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its SHA-256."""
        digest = hashlib.sha256(data).hexdigest()
        target = self.path(digest)
        if target.exists():
            return digest
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o444)
            # Atomic publish: readers see the whole file or nothing.
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return digest

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        """Store a stream without holding it in memory; return its SHA-256 and size."""
        self.root.mkdir(parents=True, exist_ok=True)
        hasher = hashlib.sha256()
        size = 0
        fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(1 << 20):
                    hasher.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                out.flush()
                os.fsync(out.fileno())
            digest = hasher.hexdigest()
            target = self.path(digest)
            if target.exists():
                os.unlink(tmp)
                return digest, size
            target.parent.mkdir(parents=True, exist_ok=True)
            os.chmod(tmp, 0o444)
            os.replace(tmp, target)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return digest, size

    def exists(self, digest: str) -> bool:
        """Tell whether a file with this digest is stored."""
        return self.path(digest).is_file()

    def read(self, digest: str, *, verify: bool = False) -> bytes:
        """Return the bytes stored under ``digest``; with ``verify``, check them first."""
        try:
            data = self.path(digest).read_bytes()
        except FileNotFoundError:
            raise StoredFileMissing(digest) from None
        if verify and hashlib.sha256(data).hexdigest() != digest:
            raise StoredFileCorrupt(digest)
        return data
