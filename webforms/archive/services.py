"""What every archive service needs besides a session, and the error they raise."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from webforms.archive.placement import placement_warnings
from webforms.documents.storage import ArchiveStore, FileStore
from webforms.timeutil import Clock


class ArchiveError(Exception):
    """A refused archive action; the message is French and meant for the user."""


class CopyRefused(ArchiveError):
    """The file deposited is refused for what it is (format, signature, mark): said beside its field (issue 16, point 7)."""


@dataclass(frozen=True)
class ArchiveServices:
    """What the archive needs besides a session."""

    archive: ArchiveStore
    files: FileStore  # the working store, where the generated PDFs are
    clock: Clock
    # Where the administrator's trust roots are (read at each verification, so that a root
    # added on the web page counts at once in every worker).
    trust_dir: Path | None = None
    max_bytes: int = 30 << 20
    # SEDA identifiers of the receiving Archives and of the service transferring (configuration).
    archival_agency: str = "FRAD062"
    transferring_agency: str = "DEPARTEMENT-62-DPDS"
    # The audit trail's sealing key, read from outside the database (``archive.seal``).
    seal_key: bytes = b""
    # Where the journal's last verified head is kept, outside the database (``archive.verify``).
    anchor: Path | None = None
    # The RFC 3161 authority each deposit asks for a timestamp (``archive.timestamps``); None: none asked.
    timestamper: Any = None
    # Where the sealing key was read, and the folders holding the data: the key and the anchor
    # must lie outside them (issue 15), or the verdict, the admin's pages and the log say so.
    seal_key_file: Path | None = None
    data_dirs: tuple[Path, ...] = ()

    def placement_warnings(self) -> list[str]:
        """Say, in French, whether the sealing key or the anchor lies inside the data directory (``archive.placement``)."""
        return placement_warnings({"seal_key": self.seal_key_file, "anchor": self.anchor}, self.data_dirs)
