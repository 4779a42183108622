"""Section 3 of dossier_bench.py: the complete dossier's build, this code against the landed code.

The build is ``candidatures.freeze_dossier`` (complete PDF, ZIP, both stored), as a worker runs
it once the dossier's own outputs are rendered. Each code runs in fresh interpreters that
prepare the same dossier (dossier_bench.py ``--child``), submit it, then build it again
``builds`` times, each time as a new version (the cover changes, so every stored file is new,
as at a real deposit). The landed code is taken from git (``git archive``) into a temporary
folder that goes first on the child's ``sys.path``; the bench's own scripts stay this tree's.
Children of both codes alternate, and figures are medians over every build: the machine is
shared and noisy.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import gc
import inspect
import resource
import shutil
import statistics
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import benchkit

LANDED = "e929f42"  # the code before the dossier's build was made cheaper (issue 11)
CPU_TARGET = 0.65  # this code's CPU time ≤ 65 % of the landed code's
ROUNDS = 2  # children of each code, alternating
BUILDS = 3  # builds measured in each child
MIB = benchkit.MIB


def landed_tree(commit: str) -> Path:
    """Extract the service's code at ``commit`` into a temporary folder (removed at exit)."""
    root = Path(tempfile.mkdtemp(prefix="bench-dossier-landed-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)
    archive = root / "code.tar"
    with archive.open("wb") as out:
        subprocess.run(
            ["git", "archive", commit, "webforms", "schemas", "templates_html", "templates_docx"],
            cwd=benchkit.ROOT, stdout=out, stderr=subprocess.PIPE, check=True,
        )
    with tarfile.open(archive) as tar:
        tar.extractall(root, filter="data")
    archive.unlink()
    return root


def cpu_seconds() -> float:
    """CPU time of this process (every thread) and of its children that ended, user and system."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def freeze_args(doc: Any, documents: Any) -> tuple[dict[str, Any], dict[tuple[str, str], Any]]:
    """The context and the rendered outputs freeze_dossier takes, as the submission's freeze made them."""
    version = max(r.version for r in doc.renditions)
    produced = {(r.output, r.format): r for r in doc.renditions if r.version == version and r.output != "dossier"}
    return documents.context_for(doc, draft=False), produced


def _trim() -> None:
    """Give the memory freed by the previous build back to the system (glibc), so that the next
    build's peak is measured above what the process really holds, not within freed heap."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: measured as it is
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def measure_builds(build: Callable[[int], Any], count: int) -> list[dict[str, float]]:
    """Run ``build(i)`` ``count`` times; CPU, wall time and peak RSS growth of each."""
    runs = []
    for i in range(count):
        gc.collect()
        _trim()
        before = benchkit.status()["VmRSS"]
        resettable = benchkit.reset_peak()
        c0, w0 = cpu_seconds(), time.perf_counter()
        build(i)
        wall, cpu = time.perf_counter() - w0, cpu_seconds() - c0
        peak = benchkit.status()["VmHWM"] if resettable else benchkit.maxrss()
        runs.append({"wall": wall, "cpu": cpu, "growth": peak - before})
    return runs


def child_builds(svc: Any, doc: Any, candidatures: Any, documents: Any, count: int) -> list[dict[str, float]]:
    """In a child, after the submission: build the dossier ``count`` times, each a new version."""
    ctx, produced = freeze_args(doc, documents)
    # Since 2026-12-06 the build is told the version's moment (its ZIP's entries are dated so);
    # the landed code takes no such argument.
    moment = {"at": doc.submitted_at} if "at" in inspect.signature(candidatures.freeze_dossier).parameters else {}

    def build(i: int) -> Any:
        context = {**ctx, "document": {**ctx["document"], "version": 100 + i}}
        return candidatures.freeze_dossier(svc, doc, context, produced, **moment)

    return measure_builds(build, count)


def section(child: Callable[[int, list[str]], dict[str, Any] | str], size: int, commit: str, missed: list[str], memory_target_mib: int) -> dict[str, Any]:
    """Run, print and judge section 3 for ``size`` MiB of pieces."""
    benchkit.title(f"3. Construction du dossier complet ({size} Mio de pièces) : ce code contre le code posé ({commit})")
    print(
        "candidatures.freeze_dossier (PDF complet, ZIP, tous deux stockés), comme un worker la lance une fois les sorties du"
    )
    print(
        f"document rendues ; {ROUNDS} processus neufs par code, en alternance, {BUILDS} constructions mesurées dans chacun, chacune une"
    )
    print("nouvelle version ; CPU = utilisateur + système du processus (tous ses threads) et de ses enfants.")
    try:
        landed = landed_tree(commit)
    except (OSError, subprocess.CalledProcessError, tarfile.TarError) as exc:
        print(f"Code posé indisponible ({exc}) : section sautée.")
        missed.append(f"Construction du dossier : code posé {commit} indisponible")
        return {"error": str(exc)}
    runs: dict[str, list[dict[str, float]]] = {"posé": [], "ce code": []}
    for _ in range(ROUNDS):
        for name, code in (("posé", landed), ("ce code", benchkit.ROOT)):
            out = child(size, ["--builds", str(BUILDS), "--code", str(code)])
            if isinstance(out, str):
                print(f"{name} : {out}")
                missed.append(f"Construction du dossier ({name}) : {out}")
                return {"error": out}
            if not out.get("code", "").startswith(str(code)):
                raise RuntimeError(f"{name} : le processus a chargé {out.get('code')} au lieu de {code}")
            runs[name] += out["builds"]
    figures = {
        name: {
            "cpu": statistics.median(r["cpu"] for r in builds),
            "wall": statistics.median(r["wall"] for r in builds),
            "growth": max(r["growth"] for r in builds),
            "growth_median": statistics.median(r["growth"] for r in builds),
            "builds": len(builds),
        }
        for name, builds in runs.items()
    }
    old, new = figures["posé"], figures["ce code"]
    ratio = new["cpu"] / old["cpu"]
    cpu_ok = "tenue" if ratio <= CPU_TARGET else "MANQUÉE"
    memory_ok = "tenue" if new["growth"] < memory_target_mib * MIB else "MANQUÉE"
    labels = {"posé": f"posé ({commit})", "ce code": "ce code"}
    rows = [
        [labels[name], f"{f['cpu']:.2f}", f"{f['wall']:.2f}", f"{f['growth_median'] / MIB:+.0f} / {f['growth'] / MIB:+.0f}", str(f["builds"])]
        for name, f in figures.items()
    ]
    print()
    benchkit.table(["Code", "CPU (s, médiane)", "mur (s, médiane)", "croissance du pic (Mio, médiane / max)", "constructions"], rows)
    print(
        f"CPU ce code ÷ posé : {ratio:.0%} (cible ≤ {CPU_TARGET:.0%}) → {cpu_ok} ; "
        f"croissance du pic de ce code : {new['growth'] / MIB:+.0f} Mio au plus (cible < {memory_target_mib} Mio) → {memory_ok}."
    )
    if cpu_ok != "tenue":
        missed.append(f"Construction du dossier : CPU à {ratio:.0%} du code posé (cible ≤ {CPU_TARGET:.0%})")
    if memory_ok != "tenue":
        missed.append(f"Construction du dossier : le pic croît de {new['growth'] / MIB:.0f} Mio (cible < {memory_target_mib} Mio)")
    return {"commit": commit, "figures": figures, "runs": runs, "cpu_ratio": ratio}
