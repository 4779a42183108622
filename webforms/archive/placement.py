"""Where the sealing key and the journal's anchor lie: outside the data directory, or said (issue 15).

The issue asks to anchor the chain's head "outside the data directory … a key kept off the data
disk": whoever can rewrite the database and ``instance/`` can rewrite a key or an anchor kept
there too, and then the seals and the anchored head prove nothing. Both default to files under
``instance/`` (a service must start without configuration), so a default left in production is
said where it is seen: ``archive verify``'s verdict, the administrator's pages, the service's
log at start (docs/archive.md, "Placer la clé et l'ancre").
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

# What each file is, and the setting that moves it.
_WHAT = {
    "seal_key": ("La clé de scellement du journal", "WEBFORMS_ARCHIVE_SEAL_KEY_FILE"),
    "anchor": ("L'ancre du journal", "WEBFORMS_ARCHIVE_ANCHOR_FILE"),
}


def _inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or lies under it, links resolved (a link out of the folder is outside)."""
    return path.resolve().is_relative_to(folder.resolve())


def placement_warnings(files: dict[str, Path | None], data_dirs: Iterable[Path]) -> list[str]:
    """Say, in French, each of the key and the anchor that lies inside a data directory; [] when none does.

    ``files`` maps ``"seal_key"`` and ``"anchor"`` to their paths (None: not configured);
    ``data_dirs`` are the folders that hold the data (the instance, the working store, the archive).
    """
    folders = list(data_dirs)
    warnings = []
    for name, path in files.items():
        if path is None:
            continue
        folder = next((f for f in folders if _inside(path, f)), None)
        if folder is None:
            continue
        what, setting = _WHAT[name]
        warnings.append(
            f"Attention : {what} ({path}) est dans le dossier des données ({folder}) ; qui peut réécrire les données "
            f"peut la réécrire aussi. Placez-la hors de ce dossier, sur un autre disque ({setting}, docs/archive.md)."
        )
    return warnings
