"""What the render bench measures: the fiche saisine at 5, 50 and 500 rows per list, runs and targets."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from webforms.rendering.context import DocumentMeta

KIND_NAME = "fiche_saisine"
# The kind's row lists; each is filled with N rows (N = 5, 50, 500) by repeating the
# EXAMPLE's rows, so the longest list has N rows and the document has 3N table rows.
LISTS = (("menage", "ressources"), ("menage", "enfants"), ("situation", "accompagnements"))
# rows per list -> (DOCX runs, PDF runs). Medians; runs are interleaved between methods.
SIZES = {5: (21, 9), 50: (15, 5), 500: (11, 3)}
DOWNLOADS = 60  # downloads per format in section 3
IMPORT_RUNS = 5  # cold subprocesses in section 4
DOCX_TARGET = 10.0  # % the service may add over docxtpl alone
DOWNLOAD_TARGET = 20.0  # ms, median and p95 of a frozen download
FIXED_NOW = dt.datetime(2019, 10, 14, 8, 30, tzinfo=dt.UTC)


def payload_with(kind: Any, rows: int) -> dict[str, Any]:
    """Return the kind's EXAMPLE with each row list holding ``rows`` rows (repeated example rows)."""
    data = copy.deepcopy(dict(kind.example))
    for section, name in LISTS:
        base = kind.example[section][name]
        data[section][name] = [copy.deepcopy(base[i % len(base)]) for i in range(rows)]
    errors = kind.validate(data)
    if errors:
        raise SystemExit(f"Données de bench invalides ({rows} lignes) : {errors}")
    return data


def meta() -> DocumentMeta:
    """Return the document's metadata, the same at every render (fixed date)."""
    return DocumentMeta(
        reference="FS-2019-000001",
        organisation="Association Habitat Solidaire",
        author="Claire Martin",
        issued_at=FIXED_NOW,
        draft=False,
        version=1,
    )

