"""The file store: content-addressed, written once, atomically, read-only afterwards."""

from __future__ import annotations

import hashlib
import io
import os
import stat
from pathlib import Path

import pytest

from webforms.documents.storage import FileStore, StoredFileCorrupt, StoredFileMissing


def test_put_read_and_write_once(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    digest = store.put(b"contenu")
    assert digest == hashlib.sha256(b"contenu").hexdigest()
    path = store.path(digest)
    assert path == tmp_path / digest[:2] / digest
    assert store.read(digest, verify=True) == b"contenu"
    assert not os.stat(path).st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
    inode = path.stat().st_ino
    os.utime(path, (1, 1))  # written long ago
    assert store.put(b"contenu") == digest
    assert path.stat().st_ino == inode  # the same file, not rewritten
    # but touched: in use again, so the orphan sweep's grace period starts again (issue 15)
    assert path.stat().st_mtime > 1
    os.utime(path, (1, 1))
    assert store.put_stream(io.BytesIO(b"contenu")) == (digest, 7)
    assert path.stat().st_ino == inode and path.stat().st_mtime > 1
    assert not [p for p in tmp_path.rglob(".tmp-*")]


def test_stream_is_hashed_while_copied(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    data = os.urandom(3 * 1024 * 1024 + 7)
    digest, size = store.put_stream(io.BytesIO(data))
    assert (digest, size) == (hashlib.sha256(data).hexdigest(), len(data))
    assert store.read(digest) == data


def test_missing_corrupt_and_invalid_digests(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    with pytest.raises(StoredFileMissing):
        store.read("0" * 64)
    digest = store.put(b"original")
    path = store.path(digest)
    os.chmod(path, 0o644)
    path.write_bytes(b"altered")
    with pytest.raises(StoredFileCorrupt):
        store.read(digest, verify=True)
    for bad in ("../../etc/passwd", "ABC", "g" * 64):
        with pytest.raises(ValueError):
            store.path(bad)
