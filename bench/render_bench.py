"""Rendering benchmark of a fiche saisine: DOCX, PDF, frozen downloads, WeasyPrint import.

Run with ``make bench`` (installs LibreOffice and unoserver first) or
``.venv/bin/python bench/render_bench.py``. One run prints, side by side, for 5, 50 and 500
rows in each of the kind's three row lists:

1. DOCX: the service path (build_context -> Renderer.render of the DOCX: sandboxed Jinja, zip
   normalisation) against docxtpl alone on the same template and context; target <= +10 %.
2. PDF: the service path (build_context -> Renderer.render of the PDF, PDF/A-3b) against raw WeasyPrint on
   the same HTML and fetcher, and against the peers' pipeline (the same DOCX converted by a
   warm LibreOffice through unoserver); ms per document, ms per row, linearity.
3. Frozen download: median and p95 of downloads of a submitted document's stored PDF and
   DOCX through the Flask test client, signed in; target <= 20 ms, and proof of no re-render.
4. WeasyPrint import: cost of a cold import, and proof that create_app() already holds it.

Every measurement gives wall-clock and CPU time (LibreOffice's CPU is read from /proc): on a
shared machine wall time also counts waiting for a core, so rendering verdicts use CPU time.

Options: ``--no-libreoffice`` skips the LibreOffice column, ``--strict`` exits 1 when a
target is missed (the default always exits 0: a benchmark reports, it does not gate).

The sections live in render_docx.py (1), render_pdf.py (2) and render_app.py (3, 4); the
fiche's data, runs and targets in render_data.py; LibreOffice's driving in peer_pipeline.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchkit import finish, load_average, machine_info, table, title  # noqa: E402, F401 - table, title, load_average: archive_export_bench uses them as rb.*
from render_app import bench_download, bench_import  # noqa: E402
from render_data import DOCX_TARGET, KIND_NAME, LISTS, SIZES, payload_with  # noqa: E402
from render_docx import bench_docx, profile_docx  # noqa: E402
from render_pdf import bench_pdf  # noqa: E402

from schemas import get_kind  # noqa: E402
from webforms.rendering import Renderer  # noqa: E402


class WeasyLog(logging.Handler):
    """Collect WeasyPrint's warnings and errors (it logs some failures and still writes)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.levelname}: {record.getMessage()}")



def main() -> int:
    """Run the four sections and print the summary; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-libreoffice", action="store_true", help="skip the LibreOffice/unoserver column")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    started = time.perf_counter()
    missed: list[str] = []  # targets missed, for the summary
    results: dict[str, Any] = {}  # everything measured, also written to bench/out/
    weasy_log = WeasyLog()
    logging.getLogger("weasyprint").addHandler(weasy_log)
    print(f"Bench de rendu webforms — {KIND_NAME}, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    results["machine"] = machine_info()

    kind = get_kind(KIND_NAME)
    renderer = Renderer()
    payloads = {n: payload_with(kind, n) for n in SIZES}
    datasets = {n: kind.load(p) for n, p in payloads.items()}
    print()
    print(
        f"Données : EXAMPLE de {KIND_NAME} avec {', '.join('.'.join(p) for p in LISTS)} portées à N lignes chacune "
        f"(N = {', '.join(map(str, SIZES))}) en répétant ses lignes ; chaque jeu passe kind.validate."
    )

    docx_out = bench_docx(kind, renderer, datasets, results, missed)
    worst = max(docx_out, key=lambda n: docx_out[n]["overhead_pct"])
    if docx_out[worst]["overhead_pct"] > DOCX_TARGET:
        profile_docx(kind, renderer, datasets[worst], worst)

    pdf_out = bench_pdf(kind, renderer, datasets, docx_out, not args.no_libreoffice, results, missed)

    largest = max(SIZES)
    try:
        bench_download(kind, payloads[largest], largest, pdf_out.get(largest, {}).get("wall", {}).get("service"), results, missed)
    except Exception as exc:  # report and go on with the rest
        print(f"Téléchargement : échec ({type(exc).__name__}: {exc})")
        missed.append(f"Téléchargement : échec ({exc})")

    bench_import(results, missed)

    notes = [f"WeasyPrint a journalisé {len(weasy_log.messages)} avertissement(s)/erreur(s), p. ex. : {weasy_log.messages[:3]}"] if weasy_log.messages else []
    return finish(results, missed, started, "render_bench", strict=args.strict, notes=notes)


if __name__ == "__main__":
    sys.exit(main())

