"""What the benches share: headings and tables, timings, the machine, the process's memory probes
(``/proc/self/status``), a throwaway instance of the service, and the closing summary.

It costs little to import: WeasyPrint and the service (whose ``create_app`` loads WeasyPrint)
are imported only by the functions that need them.
"""

from __future__ import annotations

import atexit
import gc
import io
import json
import math
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20
PASSWORD = "mot-de-passe-du-bench-1234"  # of the association's writer the benches act as


def title(text: str) -> None:
    print()
    print(text)
    print("=" * len(text))


def load_average() -> str:
    try:
        one, five, _ = os.getloadavg()
        return f"{one:.2f} (1 min), {five:.2f} (5 min)"
    except OSError:
        return "?"


def mib(n: float) -> str:
    return f"{n / MIB:.0f}"


def status() -> dict[str, int]:
    """VmRSS, VmHWM, RssAnon and RssFile of this process, in bytes."""
    out = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            out[key] = int(value.split()[0]) * 1024
    return out


def reset_peak() -> bool:
    """Reset the kernel's RSS high-water mark (VmHWM) of this process (Linux ≥ 4.0)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False


def maxrss() -> int:
    """The process's peak RSS since it started, in bytes."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def finish(results: dict[str, Any], missed: list[str], started: float, name: str, *, strict: bool, notes: Sequence[str] = ()) -> int:
    """Print the summary (load, notes, missed targets, duration) and write bench/out/<name>.json;
    return the exit code: 1 under ``--strict`` when a target was missed."""
    title("Résumé")
    print(f"Charge de la machine à la fin : {load_average()} pour {os.cpu_count()} cœurs")
    for note in notes:
        print(note)
    if missed:
        print("Cibles manquées :")
        for item in missed:
            print(f"  - {item}")
    else:
        print("Toutes les cibles sont tenues.")
    total = time.perf_counter() - started
    print(f"Durée totale du bench : {total:.0f} s")
    results["missed"], results["total_s"] = missed, total
    out_dir = ROOT / "bench" / "out"
    out_dir.mkdir(exist_ok=True)
    (out_dir / f"{name}.json").write_text(json.dumps(results, indent=2, ensure_ascii=False, default=str))
    print(f"Chiffres bruts : {(out_dir / f'{name}.json').relative_to(ROOT)}")
    return 1 if (strict and missed) else 0


def child_process(script: Path, args: Sequence[str], timeout: float) -> dict[str, Any] | str:
    """Run ``script`` with ``args`` in a fresh interpreter (so that memory peaks do not mix);
    return the JSON of its last output line, or why it failed."""
    proc = subprocess.run([sys.executable, str(script), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        tail = " | ".join((proc.stderr.strip().splitlines() or ["?"])[-3:])
        return f"échec (code {proc.returncode}) : {tail}"
    return json.loads(lines[-1])


def table(headers: list[str], rows: list[list[Any]]) -> None:
    """Print an aligned text table: first column left-aligned, the others right-aligned."""
    cells = [[str(c) for c in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]

    def fmt(row: list[str]) -> str:
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True)))

    print(fmt(cells[0]))
    print("  ".join("-" * w for w in widths))
    for row in cells[1:]:
        print(fmt(row))


def ms(seconds: float | None, digits: int = 1) -> str:
    return "—" if seconds is None else f"{seconds * 1000:.{digits}f}"


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:+.1f} %"


def percentile(values: list[float], rank: float) -> float:
    """Nearest-rank percentile: the smallest value that ``rank`` % of the values do not exceed."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(rank / 100 * len(ordered)) - 1)]


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    return percentile(values, 95)


def timed(fn: Callable[[], Any], extra_cpu: Callable[[], float] | None = None) -> tuple[float, float, Any]:
    """Time one call after a full collection (PITFALLS §7: garbage of a big render is
    otherwise collected during the next measurement).

    Returns wall-clock seconds, CPU seconds and the result. CPU time is this process's (all
    threads), plus ``extra_cpu()``'s growth for work done in other processes (LibreOffice).
    It is what a render costs even when other programs share the cores: wall time on a
    loaded machine also counts the time spent waiting for a core.
    """
    gc.collect()
    e0 = extra_cpu() if extra_cpu else 0.0
    c0 = time.process_time()
    w0 = time.perf_counter()
    out = fn()
    wall = time.perf_counter() - w0
    cpu = time.process_time() - c0
    if extra_cpu:
        cpu += extra_cpu() - e0
    return wall, cpu, out


Job = Callable[[], Any] | tuple[Callable[[], Any], Callable[[], float]]


def interleaved(
    fns: dict[str, Job], runs: int, failures: dict[str, str] | None = None
) -> tuple[dict[str, float], dict[str, float], dict[str, Any]]:
    """Run each function ``runs`` times, alternating them; return wall and CPU medians and
    the last outputs. A job may be ``(fn, extra_cpu)``.

    With ``failures`` (a dict to fill), a job that raises is dropped and its error recorded
    there instead of stopping the whole measurement (LibreOffice may die mid-run).
    """
    walls: dict[str, list[float]] = {name: [] for name in fns}
    cpus: dict[str, list[float]] = {name: [] for name in fns}
    last: dict[str, Any] = {}
    active = dict(fns)
    for _ in range(runs):
        for name, job in list(active.items()):
            fn, extra = job if isinstance(job, tuple) else (job, None)
            try:
                wall, cpu, last[name] = timed(fn, extra)
            except Exception as exc:
                if failures is None:
                    raise
                failures[name] = str(exc) or type(exc).__name__
                del active[name]
                continue
            walls[name].append(wall)
            cpus[name].append(cpu)
    done = [name for name in active if walls[name]]
    return (
        {name: statistics.median(walls[name]) for name in done},
        {name: statistics.median(cpus[name]) for name in done},
        {name: last[name] for name in done},
    )


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "absent"


def pdf_pages(data: bytes) -> str:
    try:
        from pypdf import PdfReader

        return str(len(PdfReader(io.BytesIO(data)).pages))
    except Exception:  # pypdf missing or unreadable PDF: the page count is only informative
        return "?"



def both(wall: float, cpu: float, digits: int = 1) -> str:
    """ "wall · CPU" in ms."""
    return f"{ms(wall, digits)} · {ms(cpu, digits)}"



def machine_info() -> dict[str, str]:
    """Print the machine, its load and the versions that matter, and return them."""
    title("Machine")
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = "?"
    try:
        kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))  # type: ignore[union-attr]
        mem = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        pass
    debian = Path("/etc/debian_version").read_text().strip() if Path("/etc/debian_version").exists() else "?"
    libreoffice = "absent"
    soffice = shutil.which("soffice")
    if soffice:
        try:
            out = subprocess.run([soffice, "--version"], capture_output=True, text=True, timeout=30).stdout
            libreoffice = out.split("\n")[0].strip() or "?"
        except (OSError, subprocess.SubprocessError) as exc:
            libreoffice = f"? ({exc})"
    try:
        from weasyprint.text.ffi import pango  # WeasyPrint is heavy: loaded only to describe the machine

        v = pango.pango_version()
        pango_version = f"{v // 10000}.{v // 100 % 100}.{v % 100}"
    except Exception:
        pango_version = "?"
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info = {
        "Processeur": cpu,
        "Cœurs": f"{os.cpu_count()} (utilisables par ce processus : {affinity})",
        "Mémoire": mem,
        "Système": f"{platform.system()} {platform.release()}, Debian {debian}",
        "Charge au départ": load_average(),
        "Python": f"{platform.python_version()} ({sys.executable})",
        "docxtpl / python-docx / Jinja2 / lxml": f"{version('docxtpl')} / {version('python-docx')} / {version('Jinja2')} / {version('lxml')}",
        "WeasyPrint / pydyf / Pango": f"{version('weasyprint')} / {version('pydyf')} / {pango_version}",
        "Flask / Werkzeug / SQLAlchemy / marshmallow / Babel": " / ".join(
            version(d) for d in ("Flask", "Werkzeug", "SQLAlchemy", "marshmallow", "Babel")
        ),
        "unoserver (client, .venv)": version("unoserver"),
        "LibreOffice": libreoffice,
    }
    width = max(map(len, info))
    for key, value in info.items():
        print(f"{key.ljust(width)} : {value}")
    try:
        if os.getloadavg()[0] > 0.5 * (affinity or 1):
            print("ATTENTION : la machine est déjà chargée par d'autres processus ; les temps « mur » s'en")
            print("ressentent. Les temps CPU (de ce processus, et de LibreOffice pour sa colonne) en dépendent")
            print("beaucoup moins : les verdicts de rendu se lisent sur eux.")
    except OSError:
        pass
    return info



def temporary_database(prefix: str) -> str:
    """Start a throwaway PostgreSQL cluster and migrate its database; return its URL.

    The cluster lives in a folder of its own, not in the caller's (which the caller removes
    while the cluster still runs): it is stopped, then removed, when the bench exits.
    """
    # Deferred, as below: the benches that make no database never import the service.
    from webforms import db
    from webforms.pgcluster import Cluster

    root = Path(tempfile.mkdtemp(prefix=f"{prefix}postgres-"))
    cluster = Cluster(root)
    atexit.register(shutil.rmtree, root, ignore_errors=True)  # registered first, so run after the stop
    atexit.register(cluster.stop)
    url = cluster.start()
    db.upgrade(url)
    return url


def temporary_app(prefix: str, now: Any) -> tuple[Path, Any]:
    """Return a throwaway instance: its folder (the caller removes it) and an app on a throwaway PostgreSQL."""
    from webforms import create_app  # create_app loads WeasyPrint: only the benches that make an app pay for it

    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    url = temporary_database(prefix)
    app = create_app({"INSTANCE_PATH": str(tmp / "instance"), "DATABASE_URL": url, "SECRET_KEY": "bench-only-secret", "CLOCK": lambda: now})
    return tmp, app


def bench_writer(session: Any) -> Any:
    """Create the association's writer the benches act as, in a new organisation of ``session``."""
    from webforms.accounts.services import create_organisation, create_user  # the service, as above

    org = create_organisation(session, "Association Habitat Solidaire")
    return create_user(
        session,
        email="redacteur@example.fr",
        full_name="Claire Martin",
        role="redacteur",
        organisation_id=org.id,
        password=PASSWORD,
    )

