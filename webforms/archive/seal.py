"""The sealing key of the audit trail: an HMAC key kept outside the database (issue 15).

The audit trail's hash chain shows a row changed in place; it cannot show a chain rewritten
from some row on with every hash recomputed, which anyone able to write to the database can
do (the witness file ``journal.sha512`` can be rewritten too, by whoever reaches the data
disk). Each row is therefore sealed: an HMAC-SHA-512 of its number and hash with a key that is
not in the database (``ARCHIVE_SEAL_KEY_FILE``, by default ``instance/cle_scellement_archive``;
docs/archive.md says to keep it off the data disk). Whoever rewrites the chain without the key
cannot seal the rows again, and ``archive verify`` names the first row whose seal fails.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Final

KEY_BYTES: Final = 32


class SealKeyError(ValueError):
    """The sealing key file is unreadable or malformed (French message naming it)."""


def load_seal_key(path: Path) -> bytes:
    """Read the sealing key (hex) at ``path``, drawing and writing a new one (mode 0600) when there is none."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker drew it first: read theirs
            pass
        else:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(KEY_BYTES) + "\n")
                out.flush()
                os.fsync(out.fileno())
    try:
        key = bytes.fromhex(path.read_text(encoding="ascii").strip())
    except (OSError, ValueError, UnicodeDecodeError):
        raise SealKeyError(f"La clé de scellement du journal d'archive {path} est illisible : ce doit être {KEY_BYTES} octets en hexadécimal.") from None
    if len(key) < KEY_BYTES:
        raise SealKeyError(f"La clé de scellement du journal d'archive {path} est trop courte : {KEY_BYTES} octets au moins.")
    return key


def seal_of(key: bytes, row_id: int, row_hash: str) -> str:
    """Return the seal of an audit-trail row: HMAC-SHA-512 of its number and hash."""
    return hmac.new(key, f"{row_id}:{row_hash}".encode(), hashlib.sha512).hexdigest()


def seal_holds(key: bytes, row_id: int, row_hash: str, seal: str) -> bool:
    """Return whether ``seal`` is the row's seal (compared in constant time)."""
    return hmac.compare_digest(seal_of(key, row_id, row_hash), seal)


def anchor_seal_of(key: bytes, row_id: int, row_hash: str) -> str:
    """Return the seal of the anchor line naming row ``row_id`` (issue 15: the anchor file cannot be forged).

    Told apart from a row's seal (``seal_of``) by its prefix: the row's seal, stored in the
    database, cannot be copied into a forged anchor.
    """
    return hmac.new(key, f"ancre:{row_id}:{row_hash}".encode(), hashlib.sha512).hexdigest()


def anchor_seal_holds(key: bytes, row_id: int, row_hash: str, seal: str) -> bool:
    """Return whether ``seal`` is the anchor line's seal (compared in constant time)."""
    return hmac.compare_digest(anchor_seal_of(key, row_id, row_hash), seal)
