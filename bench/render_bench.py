"""Rendering benchmark of a fiche saisine: DOCX, PDF, frozen downloads, WeasyPrint import.

Run with ``make bench`` (installs LibreOffice and unoserver first) or
``.venv/bin/python bench/render_bench.py``. One run prints, side by side, for 5, 50 and 500
rows in each of the kind's three row lists:

1. DOCX: the service path (build_context -> Renderer.docx: sandboxed Jinja, zip
   normalisation) against docxtpl alone on the same template and context; target <= +10 %.
2. PDF: the service path (build_context -> Renderer.pdf, PDF/A-3b) against raw WeasyPrint on
   the same HTML and fetcher, and against the peers' pipeline (the same DOCX converted by a
   warm LibreOffice through unoserver); ms per document, ms per row, linearity.
3. Frozen download: median and p95 of downloads of a submitted document's stored PDF and
   DOCX through the Flask test client, signed in; target <= 20 ms, and proof of no re-render.
4. WeasyPrint import: cost of a cold import, and proof that create_app() already holds it.

Every measurement gives wall-clock and CPU time (LibreOffice's CPU is read from /proc): on a
shared machine wall time also counts waiting for a core, so rendering verdicts use CPU time.

Options: ``--no-libreoffice`` skips the LibreOffice column, ``--strict`` exits 1 when a
target is missed (the default always exits 0: a benchmark reports, it does not gate).
"""

from __future__ import annotations

import argparse
import atexit
import contextlib
import copy
import cProfile
import datetime as dt
import gc
import hashlib
import io
import json
import logging
import math
import os
import platform
import pstats
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import xmlrpc.client
import zipfile
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import jinja2  # noqa: E402
from benchkit import finish, load_average, title  # noqa: E402 - re-exported to the other benches as rb.*
from docxtpl import DocxTemplate  # noqa: E402
from weasyprint import HTML  # noqa: E402

from schemas import get_kind  # noqa: E402
from webforms.rendering import Renderer, normalise_docx  # noqa: E402
from webforms.rendering.context import DocumentMeta, build_context  # noqa: E402

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
PASSWORD = "mot-de-passe-du-bench-1234"

missed: list[str] = []  # targets missed, for the summary
results: dict[str, Any] = {}  # everything measured, also written to bench/out/


# --------------------------------------------------------------------------- helpers


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


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


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


class WeasyLog(logging.Handler):
    """Collect WeasyPrint's warnings and errors (it logs some failures and still writes)."""

    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.levelname}: {record.getMessage()}")


# --------------------------------------------------------------------------- data


def payload_with(kind: Any, rows: int) -> dict[str, Any]:
    """The kind's EXAMPLE with each row list holding ``rows`` rows (repeated example rows)."""
    data = copy.deepcopy(dict(kind.example))
    for section, name in LISTS:
        base = kind.example[section][name]
        data[section][name] = [copy.deepcopy(base[i % len(base)]) for i in range(rows)]
    errors = kind.validate(data)
    if errors:
        raise SystemExit(f"Données de bench invalides ({rows} lignes) : {errors}")
    return data


def meta() -> DocumentMeta:
    return DocumentMeta(
        reference="FS-2019-000001",
        organisation="Association Habitat Solidaire",
        author="Claire Martin",
        issued_at=FIXED_NOW,
        draft=False,
        version=1,
    )


# --------------------------------------------------------------------------- machine


def machine_info() -> None:
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
        from weasyprint.text.ffi import pango

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
    results["machine"] = info


# --------------------------------------------------------------------------- 1. DOCX


def both(wall: float, cpu: float, digits: int = 1) -> str:
    """ "wall · CPU" in ms."""
    return f"{ms(wall, digits)} · {ms(cpu, digits)}"


def bench_docx(kind: Any, renderer: Renderer, datasets: dict[int, dict[str, Any]]) -> dict[int, dict[str, Any]]:
    title("1. DOCX : chemin du service contre docxtpl seul")
    template = renderer.template_path(kind, "docx")
    # docxtpl's own environment, autoescaped as its docs say to do. The template uses the
    # service's `oui_non` filter, without which docxtpl cannot render it at all; nothing else
    # of the service's environment (sandbox, StrictUndefined, finalize) is added.
    raw_env = jinja2.Environment(autoescape=True)
    raw_env.filters["oui_non"] = lambda v: "Oui" if v else "Non"
    out: dict[int, dict[str, Any]] = {}
    rows = []
    breakdown = []
    for n, data in datasets.items():
        runs = SIZES[n][0]
        ctx = build_context(kind, data, meta())

        def service(data: dict[str, Any] = data) -> bytes:
            return renderer.docx(kind, build_context(kind, data, meta()))

        def raw(ctx: dict[str, Any] = ctx) -> bytes:
            tpl = DocxTemplate(template)
            tpl.render(ctx, jinja_env=raw_env, autoescape=True)
            buf = io.BytesIO()
            tpl.save(buf)
            return buf.getvalue()

        def context_only(data: dict[str, Any] = data) -> dict[str, Any]:
            return build_context(kind, data, meta())

        def sandboxed_unnormalised(ctx: dict[str, Any] = ctx) -> bytes:
            # Renderer.docx without its last step (normalise_docx).
            tpl = DocxTemplate(template)
            tpl.render(dict(ctx), jinja_env=renderer.docx_env, autoescape=True)
            buf = io.BytesIO()
            tpl.save(buf)
            return buf.getvalue()

        unnormalised = sandboxed_unnormalised()

        def normalise_only(b: bytes = unnormalised) -> bytes:
            return normalise_docx(b)

        for fn in (service, raw):  # warm-up (imports, template parse caches)
            fn()
        wall, cpu, last = interleaved(
            {
                "service": service,
                "raw": raw,
                "context": context_only,
                "sandbox": sandboxed_unnormalised,
                "normalise": normalise_only,
            },
            runs,
        )
        over_wall = (wall["service"] / wall["raw"] - 1) * 100
        over_cpu = (cpu["service"] / cpu["raw"] - 1) * 100
        renderer_only = cpu["service"] - cpu["context"]
        out[n] = {"wall": wall, "cpu": cpu, "overhead_pct": over_cpu, "docx": last["service"], "runs": runs}
        rows.append(
            [
                f"{n} lignes/liste ({3 * n} lignes)",
                runs,
                both(wall["service"], cpu["service"]),
                both(wall["raw"], cpu["raw"]),
                pct(over_wall),
                pct(over_cpu),
                pct((renderer_only / cpu["raw"] - 1) * 100),
                "OK" if over_cpu <= DOCX_TARGET else "MANQUÉ",
            ]
        )
        breakdown.append(
            [
                f"{n} lignes/liste",
                ms(cpu["context"]),
                ms(cpu["sandbox"] - cpu["raw"]),
                ms(cpu["normalise"]),
                ms(cpu["service"] - cpu["raw"]),
                f"{len(last['service']) / 1024:.0f} / {len(last['raw']) / 1024:.0f}",
            ]
        )
        if over_cpu > DOCX_TARGET:
            missed.append(
                f"DOCX {n} lignes/liste : le service ajoute {over_cpu:+.1f} % de CPU ({over_wall:+.1f} % en temps mur) "
                f"à docxtpl seul (cible ≤ {DOCX_TARGET:.0f} %)"
            )
    print("Médianes en ms, « mur · CPU » :")
    table(
        [
            "Taille",
            "runs",
            "service",
            "docxtpl seul",
            "surcoût mur",
            "surcoût CPU",
            "dont Renderer.docx seul (CPU)",
            f"cible ≤{DOCX_TARGET:.0f} % (CPU)",
        ],
        rows,
    )
    print()
    print("D'où vient le surcoût (médianes CPU, ms) :")
    table(
        ["Taille", "build_context", "bac à sable − brut", "normalise_docx", "total service − brut", "Ko service / brut"],
        breakdown,
    )
    print("« service » = build_context + Renderer.docx (SandboxedEnvironment, StrictUndefined, finalize, puis")
    print("normalise_docx) ; « docxtpl seul » = DocxTemplate(même modèle).render(même contexte, autoescape=True)")
    print("+ save(BytesIO), avec le seul filtre oui_non (que le modèle emploie) dans un Environment ordinaire.")
    print("« bac à sable − brut » proche de 0 ou négatif = bruit de mesure : le bac à sable ne coûte presque rien.")
    results["docx"] = {
        n: {
            "wall_ms": {k: v * 1000 for k, v in o["wall"].items()},
            "cpu_ms": {k: v * 1000 for k, v in o["cpu"].items()},
            "overhead_cpu_pct": o["overhead_pct"],
        }
        for n, o in out.items()
    }
    return out


def _top(profiler: cProfile.Profile, calls: int, limit: int, *, cumulative: bool = False) -> None:
    """Print the functions that cost most in ``profiler``, in ms per profiled call."""
    stats = pstats.Stats(profiler)
    key = 3 if cumulative else 2
    entries = sorted(stats.stats.items(), key=lambda item: item[1][key], reverse=True)  # type: ignore[attr-defined]
    # The profiled loop itself and the recursion wrappers say nothing: keep named functions.
    entries = [e for e in entries if e[0][2] not in ("<module>", "<dictcomp>", "<listcomp>", "<genexpr>")][:limit]
    rows = []
    for (filename, line, func), (_cc, ncalls, tottime, cumtime, _callers) in entries:
        where = filename.replace(str(ROOT) + "/", "")
        where = re.sub(r".*/site-packages/", "", where)
        where = re.sub(r".*/lib/python3\.\d+/", "", where)
        rows.append(
            [f"{where}:{line}({func})"[:90], ncalls // calls, f"{tottime * 1000 / calls:.2f}", f"{cumtime * 1000 / calls:.2f}"]
        )
    table(["fonction", "appels", "ms propres", "ms cumulés"], rows)


def profile_docx(kind: Any, renderer: Renderer, data: dict[str, Any], n: int) -> None:
    """Profile the two steps the service adds to docxtpl: build_context and normalise_docx."""
    calls = 5
    print()
    print(f"Profil des étapes propres au service à {n} lignes/liste (cProfile, par appel ; l'instrumentation gonfle les temps) :")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        build_context(kind, data, meta())
    profiler.disable()
    print("build_context (par temps cumulé) :")
    _top(profiler, calls, 10, cumulative=True)
    unnormalised = io.BytesIO()
    tpl = DocxTemplate(renderer.template_path(kind, "docx"))
    tpl.render(build_context(kind, data, meta()), jinja_env=renderer.docx_env, autoescape=True)
    tpl.save(unnormalised)
    with zipfile.ZipFile(unnormalised) as z:
        parts = len(z.infolist())
        size = sum(i.file_size for i in z.infolist())
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(calls):
        normalise_docx(unnormalised.getvalue())
    profiler.disable()
    print(f"normalise_docx ({parts} parties, {size / 1024:.0f} Ko décompressés, toutes décompressées puis recompressées) :")
    _top(profiler, calls, 4)


# --------------------------------------------------------------------------- LibreOffice


class UnoServer:
    """A unoserver started once in the background on loopback ports, stopped at the end."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.workdir = Path(tempfile.mkdtemp(prefix="bench-unoserver-"))
        self.log = self.workdir / "unoserver.log"
        self.pidfile = self.workdir / "soffice.pid"

    @staticmethod
    def _python() -> str:
        """An interpreter that imports both `uno` (Debian's python3-uno) and unoserver."""
        candidates = [os.environ.get("UNOSERVER_PYTHON"), str(ROOT / ".venv" / "uno" / "bin" / "python"), "/usr/bin/python3"]
        problems = []
        for py in filter(None, candidates):
            if not Path(py).exists():
                continue
            check = subprocess.run([py, "-c", "import uno, unoserver.server"], capture_output=True, text=True, timeout=60)
            if check.returncode == 0:
                return py
            problems.append(f"{py}: {check.stderr.strip().splitlines()[-1] if check.stderr.strip() else 'échec'}")
        raise RuntimeError(
            "aucun Python ne peut importer uno et unoserver ("
            + ("; ".join(problems) or "ni .venv/uno ni /usr/bin/python3")
            + ") — lancer scripts/bootstrap.sh bench"
        )

    @staticmethod
    def _free_port() -> int:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]

    def _log_tail(self) -> str:
        try:
            lines = self.log.read_text(errors="replace").strip().splitlines()
            return " | ".join(lines[-3:])
        except OSError:
            return ""

    def start(self, timeout: float = 90.0) -> str:
        if shutil.which("soffice") is None:
            raise RuntimeError("soffice introuvable (paquet libreoffice-writer-nogui) — lancer scripts/bootstrap.sh bench")
        py = self._python()
        self.port, uno_port = self._free_port(), self._free_port()
        while uno_port == self.port:
            uno_port = self._free_port()
        cmd = [
            py, "-m", "unoserver.server",
            "--interface", "127.0.0.1", "--uno-interface", "127.0.0.1",
            "--port", str(self.port), "--uno-port", str(uno_port),
            "--user-installation", str(self.workdir / "profile"),
            "--libreoffice-pid-file", str(self.pidfile),
            # A stuck conversion stops the server (that measurement fails) instead of hanging.
            "--conversion-timeout", "180",
        ]  # fmt: skip
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True)
        atexit.register(self.stop)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"unoserver s'est arrêté (code {self.proc.returncode}) : {self._log_tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    pass
                with xmlrpc.client.ServerProxy(f"http://127.0.0.1:{self.port}") as proxy:
                    info = proxy.info()
                return f"unoserver {info.get('unoserver', '?')} (API {info.get('api', '?')}) via {py}"
            except OSError:
                time.sleep(0.25)
        raise RuntimeError(f"unoserver pas prêt après {timeout:.0f} s : {self._log_tail()}")

    def convert(self, docx: bytes) -> bytes:
        from unoserver.client import UnoClient

        out = UnoClient(server="127.0.0.1", port=str(self.port)).convert(indata=docx, convert_to="pdf")
        if not out or not out.startswith(b"%PDF"):
            raise RuntimeError("LibreOffice n'a pas rendu de PDF")
        return out

    def tree(self) -> list[int]:
        """The pids of the server and of everything it started (soffice, oosplash, …)."""
        if self.proc is None:
            return []
        parents: dict[int, int] = {}
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    stat = (entry / "stat").read_text()
                except OSError:
                    continue
                parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
        found, todo = [], [self.proc.pid]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo.extend(child for child, parent in parents.items() if parent == pid)
        return found

    def cpu_seconds(self, pids: list[int]) -> float:
        """CPU time (user + system) used so far by ``pids`` (LibreOffice's side of a conversion)."""
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        """Stop the server we started, then whatever it started if it outlived it (by pid)."""
        started = self.tree()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None
        with contextlib.suppress(OSError, ValueError):
            started.append(int(self.pidfile.read_text().strip()))
        for pid in dict.fromkeys(started):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue  # already gone
            if b"soffice" not in cmdline and b"oosplash" not in cmdline:
                continue  # the pid was reused by something else: not ours
            os.kill(pid, signal.SIGTERM)
            for _ in range(50):
                if not Path(f"/proc/{pid}").exists():
                    break
                time.sleep(0.1)
            else:
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.workdir, ignore_errors=True)


# --------------------------------------------------------------------------- 2. PDF


def bench_pdf(
    kind: Any, renderer: Renderer, datasets: dict[int, dict[str, Any]], docx_out: dict[int, dict[str, Any]], use_lo: bool
) -> dict[int, dict[str, Any]]:
    title("2. PDF : service (WeasyPrint, PDF/A-3b) contre WeasyPrint brut contre DOCX + LibreOffice (unoserver)")
    lo: UnoServer | None = None
    lo_reason = None
    lo_status = ""
    lo_pids: list[int] = []
    if not use_lo:
        lo_reason = "désactivé (--no-libreoffice)"
    else:
        try:
            lo = UnoServer()
            lo_status = lo.start()
            warm_start = time.perf_counter()
            lo.convert(docx_out[min(datasets)]["docx"])  # warm-up conversion
            lo_status += f" ; conversion de chauffe {ms(time.perf_counter() - warm_start, 0)} ms"
            lo_pids = lo.tree()
        except Exception as exc:
            lo_reason = str(exc) or type(exc).__name__
            if lo is not None:
                lo.stop()
            lo = None
    print(f"LibreOffice : {lo_status}" if lo is not None else f"LibreOffice indisponible: {lo_reason}")

    # Warm WeasyPrint once (fonts, hyphenation dictionaries) before timing anything.
    small = min(datasets)
    ctx = build_context(kind, datasets[small], meta())
    renderer.pdf(kind, ctx)
    HTML(string=renderer.html(kind, ctx), url_fetcher=renderer.fetcher).write_pdf()

    out: dict[int, dict[str, Any]] = {}
    try:
        for n, data in datasets.items():
            runs = SIZES[n][1]
            ctx = build_context(kind, data, meta())
            html = renderer.html(kind, ctx)
            docx = docx_out[n]["docx"]

            def service(data: dict[str, Any] = data) -> bytes:
                return renderer.pdf(kind, build_context(kind, data, meta()))

            def raw(html: str = html) -> bytes:
                return HTML(string=html, url_fetcher=renderer.fetcher).write_pdf()

            def templating(data: dict[str, Any] = data) -> str:
                return renderer.html(kind, build_context(kind, data, meta()))

            fns: dict[str, Job] = {"service": service, "raw": raw, "html": templating}
            lo_error = None if lo is not None else f"LibreOffice indisponible: {lo_reason}"
            if lo is not None:
                try:
                    lo.convert(docx)  # this size's first conversion may fail: check before timing
                    fns["lo"] = (lambda docx=docx: lo.convert(docx), lambda: lo.cpu_seconds(lo_pids))  # type: ignore[union-attr]
                except Exception as exc:
                    lo_error = f"LibreOffice indisponible: {exc}"
            failures: dict[str, str] = {}
            wall, cpu, last = interleaved(fns, runs, failures)
            for name in ("service", "raw", "html"):
                if name in failures:
                    raise RuntimeError(f"rendu {name} en échec : {failures[name]}")
            if "lo" in failures:
                lo_error = f"LibreOffice indisponible: {failures['lo']}"
            out[n] = {
                "wall": wall,
                "cpu": cpu,
                "runs": runs,
                "pages_wp": pdf_pages(last["service"]),
                "pages_lo": pdf_pages(last["lo"]) if "lo" in last else "—",
                "kb": (len(last["service"]) / 1024, len(last["raw"]) / 1024, len(last["lo"]) / 1024 if "lo" in last else None),
                "lo_error": lo_error,
            }
    finally:
        if lo is not None:
            lo.stop()

    def lo_cell(o: dict[str, Any], value: str | None, full: bool = False) -> str:
        # The reason is printed in full once, in the first LibreOffice column of the first table.
        if value is not None:
            return value
        return o["lo_error"] if full else "indisponible"

    print()
    print("Temps par document (médianes en ms, « mur · CPU » ; CPU de LibreOffice = unoserver + soffice + client) :")
    rows = []
    for n, o in out.items():
        wall, cpu = o["wall"], o["cpu"]
        has_lo = "lo" in wall
        rows.append(
            [
                f"{n} lignes/liste ({3 * n} lignes)",
                o["runs"],
                both(wall["service"], cpu["service"], 0),
                both(wall["raw"], cpu["raw"], 0),
                pct((cpu["service"] / cpu["raw"] - 1) * 100),
                lo_cell(o, both(wall["lo"], cpu["lo"], 0) if has_lo else None, full=True),
                lo_cell(
                    o, both(docx_out[n]["wall"]["raw"] + wall["lo"], docx_out[n]["cpu"]["raw"] + cpu["lo"], 0) if has_lo else None
                ),
                f"{o['pages_wp']} / {o['pages_lo']}",
            ]
        )
    table(
        [
            "Taille",
            "runs",
            "service",
            "WeasyPrint brut",
            "service/brut (CPU)",
            "LibreOffice (conversion)",
            "docxtpl + LibreOffice",
            "pages WP / LO",
        ],
        rows,
    )

    print()
    print("Temps par ligne de tableau (médianes ÷ 3N lignes, ms, « mur · CPU ») :")
    rows = []
    for n, o in out.items():
        wall, cpu, lines = o["wall"], o["cpu"], 3 * n
        rows.append(
            [
                f"{n} lignes/liste",
                both(wall["service"] / lines, cpu["service"] / lines, 2),
                both(wall["raw"] / lines, cpu["raw"] / lines, 2),
                lo_cell(o, both(wall["lo"] / lines, cpu["lo"] / lines, 2) if "lo" in wall else None),
            ]
        )
    table(["Taille", "service", "WeasyPrint brut", "LibreOffice (conversion)"], rows)

    sizes = sorted(out)
    if len(sizes) >= 3:
        s, m, lg = sizes[0], sizes[1], sizes[-1]
        print()
        print(f"Linéarité : temps par ligne à {lg} lignes/liste ÷ temps par ligne à {m} (1,00× = coût par ligne constant) :")
        rows = []
        verdicts: dict[str, float] = {}
        for key, label in (("service", "service"), ("raw", "WeasyPrint brut"), ("lo", "LibreOffice (conversion)")):
            if not all(key in out[x]["wall"] for x in (s, m, lg)):
                rows.append([label, "indisponible", "", ""])
                continue
            cells = []
            for kind_of_time in ("wall", "cpu"):
                t_s, t_m, t_l = (out[x][kind_of_time][key] for x in (s, m, lg))
                cells.append((t_l / lg) / (t_m / m))
            t_s, t_m, t_l = (out[x]["cpu"][key] for x in (s, m, lg))
            marginal = ((t_l - t_m) / (lg - m)) / ((t_m - t_s) / (m - s)) if t_m > t_s else float("nan")
            verdicts[key] = cells[1]
            rows.append([label, f"{cells[0]:.2f}×", f"{cells[1]:.2f}×", f"{marginal:.2f}×"])
        table(["Chemin", "mur", "CPU", f"CPU marginal ({m}→{lg} ÷ {s}→{m})"], rows)
        print("Un rapport < 1 vient du coût fixe du document, encore sensible à 50 lignes ; > 1 signalerait un coût")
        print("par ligne qui croît avec la longueur. La dernière colonne compare le coût de chaque ligne ajoutée.")
        for key, value in verdicts.items():
            if key != "lo" and value > 1.2:
                missed.append(
                    f"PDF {key} : le temps CPU par ligne à {lg} lignes/liste vaut {value:.2f}× celui à {m} (non linéaire)"
                )
        results["pdf_linearity_cpu"] = verdicts
    print()
    print("Décomposition du service (médianes CPU, ms) :")
    rows = []
    for n, o in out.items():
        cpu = o["cpu"]
        kb = o["kb"]
        rows.append(
            [
                f"{n} lignes/liste",
                ms(cpu["html"]),
                ms(cpu["service"] - cpu["html"]),
                ms(cpu["raw"]),
                f"{kb[0]:.0f} / {kb[1]:.0f} / " + (f"{kb[2]:.0f}" if kb[2] else "—"),
            ]
        )
    table(
        [
            "Taille",
            "build_context + Jinja HTML",
            "WeasyPrint PDF/A-3b (service)",
            "WeasyPrint PDF simple (brut)",
            "Ko service / brut / LO",
        ],
        rows,
    )
    results["pdf"] = {
        n: {
            "wall_ms": {k: v * 1000 for k, v in o["wall"].items()},
            "cpu_ms": {k: v * 1000 for k, v in o["cpu"].items()},
            "pages": [o["pages_wp"], o["pages_lo"]],
            "lo_error": o["lo_error"],
        }
        for n, o in out.items()
    }
    return out


# --------------------------------------------------------------------------- 3. frozen download


_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def temporary_app(prefix: str, now: Any) -> tuple[Path, Any]:
    """A throwaway instance: its folder (the caller removes it) and an app on a migrated SQLite."""
    from webforms import create_app, db

    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    url = f"sqlite:///{tmp / 'webforms.db'}"
    db.upgrade(url)
    app = create_app({"INSTANCE_PATH": str(tmp / "instance"), "DATABASE_URL": url, "SECRET_KEY": "bench-only-secret", "CLOCK": lambda: now})
    return tmp, app


def bench_writer(session: Any) -> Any:
    """The association's writer the benches act as, in a new organisation of ``session``."""
    from webforms.accounts.services import create_organisation, create_user

    org = create_organisation(session, "Association Habitat Solidaire")
    return create_user(
        session,
        email="redacteur@example.fr",
        full_name="Claire Martin",
        role="redacteur",
        organisation_id=org.id,
        password=PASSWORD,
    )


def bench_download(kind: Any, payload: dict[str, Any], rows: int, pdf_render_s: float | None) -> None:
    title(f"3. Téléchargement d'un document soumis (figé), {rows} lignes/liste, client de test Flask connecté")
    from webforms import db
    from webforms.documents import services as svc_docs
    from webforms.models import Document, User

    tmp, app = temporary_app("bench-webforms-", FIXED_NOW)
    try:
        services = app.extensions["webforms.services"]
        renderer = services.renderer
        calls = {"render": 0, "pdf": 0, "docx": 0}

        def counting(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
            def wrapper(*args: Any, **kwargs: Any) -> Any:
                calls[name] += 1
                return fn(*args, **kwargs)

            return wrapper

        for name in calls:  # count every render from here on (instance attributes shadow methods)
            setattr(renderer, name, counting(name, getattr(renderer, name)))

        with app.app_context():
            session = db.session()
            user = bench_writer(session)
            doc = svc_docs.create_draft(session, services, kind_name=kind.name, user=user, payload=payload)
            start = time.perf_counter()
            svc_docs.submit(session, services, doc, user=session.get(User, user.id))
            submit_s = time.perf_counter() - start
            doc = session.get(Document, doc.id)
            stored = {r.format: (r.sha256, r.size) for r in doc.renditions}
            doc_id, reference = doc.id, doc.reference
        renders_at_submit = dict(calls)
        print(
            f"Soumission {reference} (rendu PDF + DOCX une fois, stockage) : {ms(submit_s, 0)} ms ; rendus : {renders_at_submit}"
        )

        client = app.test_client()
        page = client.get("/connexion").get_data(as_text=True)
        match = _TOKEN.search(page)
        if not match:
            raise RuntimeError("jeton CSRF introuvable dans GET /connexion")
        resp = client.post(
            "/connexion",
            data={"email": "redacteur@example.fr", "password": PASSWORD, "csrf_token": match.group(1) or match.group(2)},
        )
        if resp.status_code != 302:
            raise RuntimeError(f"connexion refusée : HTTP {resp.status_code}")
        print("Connexion : POST /connexion avec le jeton CSRF de GET /connexion → 302")

        for name in calls:
            calls[name] = 0
        store = services.store
        table_rows = []
        for fmt in ("pdf", "docx"):
            digest, size = stored[fmt]
            on_disk = hashlib.sha256(store.path(digest).read_bytes()).hexdigest()
            times, ok = [], True
            first = None
            for i in range(DOWNLOADS + 1):
                gc.collect()
                start = time.perf_counter()
                response = client.get(f"/documents/{doc_id}/telecharger/{fmt}")
                body = response.get_data()
                response.close()
                elapsed = time.perf_counter() - start
                if response.status_code != 200:
                    raise RuntimeError(f"téléchargement {fmt} : HTTP {response.status_code}")
                ok = ok and hashlib.sha256(body).hexdigest() == digest == response.headers.get("X-Content-SHA256") == on_disk
                if i == 0:
                    first = elapsed
                else:
                    times.append(elapsed)
            med, high = statistics.median(times), p95(times)
            verdict = "OK" if med * 1000 <= DOWNLOAD_TARGET and high * 1000 <= DOWNLOAD_TARGET else "MANQUÉ"
            if verdict != "OK":
                missed.append(
                    f"Téléchargement {fmt} : médiane {ms(med)} ms, p95 {ms(high)} ms (cible ≤ {DOWNLOAD_TARGET:.0f} ms)"
                )
            table_rows.append(
                [
                    fmt.upper(),
                    f"{size / 1024:.0f} Ko",
                    DOWNLOADS,
                    ms(first),
                    ms(med, 2),
                    ms(high, 2),
                    ms(max(times), 2),
                    "oui" if ok else "NON",
                    verdict,
                ]
            )
            results.setdefault("download", {})[fmt] = {"median_ms": med * 1000, "p95_ms": high * 1000, "sha_ok": ok}
        table(
            [
                "Format",
                "taille",
                "n",
                "1er ms",
                "médiane ms",
                "p95 ms",
                "max ms",
                "SHA-256 = stocké",
                f"cible ≤{DOWNLOAD_TARGET:.0f} ms",
            ],
            table_rows,
        )
        rerenders = sum(calls.values())
        print(
            f"Rendus pendant les {2 * DOWNLOADS + 2} téléchargements : {rerenders} (Renderer.render/pdf/docx comptés : {calls})"
        )
        if pdf_render_s:
            pdf_med = results["download"]["pdf"]["median_ms"] / 1000
            print(
                f"Comparaison : rendu PDF du service à {rows} lignes/liste {ms(pdf_render_s, 0)} ms contre téléchargement "
                f"{ms(pdf_med, 2)} ms, soit {pdf_render_s / pdf_med:,.0f}× plus rapide : le fichier servi est celui du stockage."
            )
        if rerenders:
            missed.append(f"Téléchargement : {rerenders} rendu(s) pendant les téléchargements d'un document figé")
        print(f"Dans ce processus, après create_app : 'weasyprint' in sys.modules = {'weasyprint' in sys.modules}")
        app.extensions["webforms.engine"].dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- 4. WeasyPrint import


_APP_PROBE = r"""
import json, sys, tempfile, time, shutil, datetime as dt
from pathlib import Path
out = {}
import webforms
from webforms import create_app, db
out["after_import_webforms"] = "weasyprint" in sys.modules
tmp = Path(tempfile.mkdtemp(prefix="bench-probe-"))
try:
    url = f"sqlite:///{tmp / 'w.db'}"
    db.upgrade(url)
    out["after_db_upgrade"] = "weasyprint" in sys.modules
    t = time.perf_counter()
    app = create_app({"INSTANCE_PATH": str(tmp / "instance"), "DATABASE_URL": url, "SECRET_KEY": "x",
                      "CLOCK": lambda: dt.datetime(2019, 10, 14, tzinfo=dt.timezone.utc)})
    out["create_app_ms"] = (time.perf_counter() - t) * 1000
    out["after_create_app"] = "weasyprint" in sys.modules
    client = app.test_client()
    before = set(sys.modules)
    for key in ("first_request_ms", "second_request_ms"):
        t = time.perf_counter(); client.get("/connexion").get_data(); out[key] = (time.perf_counter() - t) * 1000
    out["modules_imported_by_requests"] = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("weasyprint", "docxtpl", "docx"))
    app.extensions["webforms.engine"].dispose()
finally:
    shutil.rmtree(tmp, ignore_errors=True)
print(json.dumps(out))
"""


def bench_import() -> None:
    title("4. Import de WeasyPrint : une fois par processus")

    def cold(code: str) -> list[float]:
        times = []
        for _ in range(IMPORT_RUNS):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True)
            times.append(time.perf_counter() - start)
        return times

    bare = statistics.median(cold("pass"))
    weasy = statistics.median(cold("import weasyprint"))
    table(
        ["Processus neuf (médiane de 5)", "ms"],
        [
            ["python -c pass", ms(bare, 0)],
            ["python -c 'import weasyprint'", ms(weasy, 0)],
            ["⇒ coût de l'import", ms(weasy - bare, 0)],
        ],
    )
    probe = subprocess.run([sys.executable, "-c", _APP_PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        print(f"Sonde create_app en échec : {probe.stderr.strip().splitlines()[-1:]}")
        missed.append("Import WeasyPrint : la sonde create_app a échoué")
        return
    info = json.loads(probe.stdout.strip().splitlines()[-1])
    print()
    print("Processus neuf qui fait create_app() puis deux requêtes GET /connexion :")
    table(
        ["Étape", "'weasyprint' in sys.modules", "ms"],
        [
            ["import webforms", info["after_import_webforms"], ""],
            ["db.upgrade (Alembic)", info["after_db_upgrade"], ""],
            ["create_app()", info["after_create_app"], f"{info['create_app_ms']:.0f}"],
            ["1re requête", "", f"{info['first_request_ms']:.1f}"],
            ["2e requête", "", f"{info['second_request_ms']:.1f}"],
        ],
    )
    print(f"Modules weasyprint/docxtpl/docx importés par les requêtes : {info['modules_imported_by_requests'] or 'aucun'}")
    print("(create_app importe webforms.rendering, donc WeasyPrint ; `make run` lance gunicorn --preload : le maître")
    print(" l'importe une fois avant de créer les workers, aucune requête ne paie l'import.)")
    results["import"] = {"cold_import_ms": (weasy - bare) * 1000, **info}
    if not info["after_create_app"] or info["modules_imported_by_requests"]:
        missed.append("Import WeasyPrint : pas chargé par create_app, ou importé pendant une requête")


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-libreoffice", action="store_true", help="skip the LibreOffice/unoserver column")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    started = time.perf_counter()
    weasy_log = WeasyLog()
    logging.getLogger("weasyprint").addHandler(weasy_log)
    print(f"Bench de rendu webforms — {KIND_NAME}, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    machine_info()

    kind = get_kind(KIND_NAME)
    renderer = Renderer()
    payloads = {n: payload_with(kind, n) for n in SIZES}
    datasets = {n: kind.load(p) for n, p in payloads.items()}
    print()
    print(
        f"Données : EXAMPLE de {KIND_NAME} avec {', '.join('.'.join(p) for p in LISTS)} portées à N lignes chacune "
        f"(N = {', '.join(map(str, SIZES))}) en répétant ses lignes ; chaque jeu passe kind.validate."
    )

    docx_out = bench_docx(kind, renderer, datasets)
    worst = max(docx_out, key=lambda n: docx_out[n]["overhead_pct"])
    if docx_out[worst]["overhead_pct"] > DOCX_TARGET:
        profile_docx(kind, renderer, datasets[worst], worst)

    pdf_out = bench_pdf(kind, renderer, datasets, docx_out, use_lo=not args.no_libreoffice)

    largest = max(SIZES)
    try:
        bench_download(kind, payloads[largest], largest, pdf_out.get(largest, {}).get("wall", {}).get("service"))
    except Exception as exc:  # report and go on with the rest
        print(f"Téléchargement : échec ({type(exc).__name__}: {exc})")
        missed.append(f"Téléchargement : échec ({exc})")

    bench_import()

    notes = [f"WeasyPrint a journalisé {len(weasy_log.messages)} avertissement(s)/erreur(s), p. ex. : {weasy_log.messages[:3]}"] if weasy_log.messages else []
    return finish(results, missed, started, "render_bench", strict=args.strict, notes=notes)


if __name__ == "__main__":
    sys.exit(main())
