"""Content-addressed file store: each file is kept once under its SHA-256, written atomically.

A stored file is never rewritten: storing the same bytes again is a no-op, and the file is
made read-only. The original file name, if any, lives only in the database.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import socket
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_TMP = ".tmp-"
# A row number of the journal file: ASCII digits, as many as a bigint holds.
_ROW_NUMBER = re.compile(r"[0-9]{1,19}")


class StoredFileMissing(FileNotFoundError):
    """The store has no file with that digest."""


class StoredFileCorrupt(Exception):
    """A stored file no longer matches its digest."""


def store_stream(stream: BinaryIO, root: Path, algorithm: Callable[[], Any], path_of: Callable[[str], Path]) -> tuple[str, int, bool]:
    """Copy ``stream`` by chunks into the file its digest names, read-only, published atomically.

    Returns the digest, the size and whether the file is new (same bytes stored before: the
    copy is dropped). Nothing is left behind on failure.
    """
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    hasher = algorithm()
    size = 0
    # Named after its writer (host, process), so that a process killed mid-copy can be told
    # apart from one still writing: ``sweep_orphans`` removes the dead ones' copies.
    fd, tmp = tempfile.mkstemp(dir=root, prefix=f"{_TMP}{socket.gethostname()}-{os.getpid()}-")
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(1 << 20):
                hasher.update(chunk)
                out.write(chunk)
                size += len(chunk)
            out.flush()
            os.fsync(out.fileno())
        digest = hasher.hexdigest()
        target = path_of(digest)
        try:
            # Stored before: in use again, its new row maybe not committed yet; the orphan sweep
            # (webforms.archive.orphans) spares files written within its grace period.
            os.utime(target)
        except FileNotFoundError:
            pass  # new (or swept a moment ago): published below
        else:
            os.unlink(tmp)
            return digest, size, False
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Household data: the service's account only, and read-only so that write-once shows.
        os.chmod(tmp, 0o400)
        # Atomic publish: readers see the whole file or nothing.
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return digest, size, True


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: alive
    return True


def sweep_orphans(root: str | os.PathLike[str]) -> list[Path]:
    """Remove the partial copies left in ``root`` by processes of this host that died (``kill -9``).

    A copy is never visible under a digest (it is published by an atomic rename), so no reader
    ever saw it; this removes what a killed writer could not. Copies of other hosts sharing the
    store (NFS), and of processes still running here, are left alone.
    """
    prefix = f"{_TMP}{socket.gethostname()}-"
    removed = []
    for path in Path(root).glob(f"{prefix}*"):
        pid = path.name[len(prefix):].split("-", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            path.unlink(missing_ok=True)
            removed.append(path)
    return removed


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
        try:
            # The same bytes stored before: nothing to write, but in use again (see store_stream).
            os.utime(self.path(digest))
        except FileNotFoundError:
            store_stream(io.BytesIO(data), self.root, hashlib.sha256, self.path)
        return digest

    def put_stream(self, stream: BinaryIO) -> tuple[str, int]:
        """Store a stream without holding it in memory; return its SHA-256 and size."""
        digest, size, _new = store_stream(stream, self.root, hashlib.sha256, self.path)
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


_SHA512 = re.compile(r"^[0-9a-f]{128}$")


def _checked(digest: str) -> str:
    if not _SHA512.match(digest):
        raise ValueError("Empreinte SHA-512 invalide.")
    return digest


def sha512_of(path: Path) -> tuple[str, int]:
    """Return the SHA-512 and size of a file, read in chunks."""
    return digest_of(path, hashlib.sha512)


def digest_of(path: Path, algorithm: Callable[[], Any] = hashlib.sha256) -> tuple[str, int]:
    """Return the digest (SHA-256 by default) and size of a file, read in chunks."""
    hasher = algorithm()
    size = 0
    with path.open("rb") as source:
        while chunk := source.read(1 << 20):
            hasher.update(chunk)
            size += len(chunk)
    return hasher.hexdigest(), size


class ArchiveStore:
    """The archive's own files: ``root/files/ab/abcdef…`` named by their SHA-512, write-once.

    Separate from the working store so that verification can say of every file here whether an
    archive record holds it. Beside the files, ``journal.sha512`` receives the hash of every
    audit-trail row once committed: a witness outside the database, so that deleting the last
    rows, or rewriting the whole chain with recomputed hashes, is detected too.
    """

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self.files = self.root / "files"
        self.journal = self.root / "journal.sha512"
        # Files of a deposit not yet committed, apart from the archive's (issue 15): one folder
        # per deposit, moved into ``files/`` once its record is committed. A deposit killed
        # before its commit leaves its folder here, never an orphan in ``files/``.
        self.staging = self.root / "staging"

    def stage(self, batch: str, source: Path | bytes) -> tuple[str, int]:
        """Copy a file of deposit ``batch`` into its staging folder; return its SHA-512 and size."""
        folder = self._batch(batch)
        stream: BinaryIO = io.BytesIO(source) if isinstance(source, bytes) else source.open("rb")
        with stream:
            digest, size, _new = store_stream(stream, folder, hashlib.sha512, lambda d: folder / _checked(d))
        return digest, size

    def settle(self, batch: str) -> int:
        """Move the files of committed deposit ``batch`` into the archive, then drop its folder; return how many were new."""
        folder = self._batch(batch)
        moved = 0
        for staged in sorted(folder.glob("*")) if folder.is_dir() else []:
            if not _SHA512.match(staged.name):
                continue  # a partial copy of a killed writer: removed with the folder
            target = self.path(staged.name)
            if target.exists():
                continue  # the same bytes archived before (another record holds them)
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            os.replace(staged, target)
            moved += 1
        self.discard(batch)
        return moved

    def discard(self, batch: str) -> None:
        """Remove deposit ``batch``'s staging folder and what is left in it."""
        folder = self._batch(batch)
        for path in folder.glob("*") if folder.is_dir() else []:
            path.unlink(missing_ok=True)
        if folder.is_dir():
            folder.rmdir()

    def batches(self) -> list[tuple[str, float, list[str]]]:
        """The staging folders left: their name, last change (epoch seconds) and the digests they hold."""
        if not self.staging.is_dir():
            return []
        return [
            (folder.name, folder.stat().st_mtime, sorted(p.name for p in folder.iterdir() if _SHA512.match(p.name)))
            for folder in sorted(self.staging.iterdir())
            if folder.is_dir()
        ]

    def _batch(self, batch: str) -> Path:
        if not re.fullmatch(r"[0-9a-f]{32}", batch):
            raise ValueError("Nom de dépôt en attente invalide.")
        return self.staging / batch

    def path(self, digest: str) -> Path:
        """Return where the file of ``digest`` lives (whether it exists or not)."""
        if not _SHA512.match(digest):
            raise ValueError("Empreinte SHA-512 invalide.")
        return self.files / digest[:2] / digest

    def put(self, data: bytes) -> tuple[str, int, bool]:
        """Store ``data``; return its SHA-512, its size and whether it is new."""
        return store_stream(io.BytesIO(data), self.files, hashlib.sha512, self.path)

    def exists(self, digest: str) -> bool:
        """Tell whether a file with this digest is stored."""
        return self.path(digest).is_file()

    def digests(self) -> list[str]:
        """Every file name found under ``files/`` (a name that is not a digest is listed too)."""
        if not self.files.is_dir():
            return []
        return sorted(
            str(p.relative_to(self.files)) if not _SHA512.match(p.name) or p.parent.name != p.name[:2] else p.name
            for p in self.files.rglob("*")
            if p.is_file() and not p.name.startswith(".tmp-")
        )

    def remove(self, digest: str) -> None:
        """Delete a file's bytes. Only an authorised destruction calls this (webforms.archive.visas)."""
        path = self.path(digest)
        if path.exists():
            os.chmod(path, 0o600)
            path.unlink()

    def witness(self, row_id: int, row_hash: str) -> None:
        """Append a committed audit-trail row to the journal file (append-only, synced).

        Callers hold the journal's database lock (``archive.audit.commit``): on NFS, shared by
        several hosts, ``O_APPEND`` is not atomic. The file is opened for each append, so that
        NFS's close-to-open consistency shows the end the previous host wrote.
        """
        self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.journal, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, f"{row_id} {row_hash}\n".encode())
            os.fsync(fd)
        finally:
            os.close(fd)

    def witnessed(self) -> list[tuple[int, str]]:
        """The journal file's lines as ``(row id, hash)``; a malformed line reads as ``(-1, text)``."""
        if not self.journal.exists():
            return []
        lines = []
        for line in self.journal.read_text(encoding="utf-8", errors="replace").splitlines():
            number, _, digest = line.partition(" ")
            # ASCII digits, 19 at most: "١" is no row number, and int() of 5,000 digits raises (issue 15).
            lines.append((int(number), digest) if _ROW_NUMBER.fullmatch(number) else (-1, line))
        return lines
