"""Command-line bench: cold runs of ``webforms kinds``, ``validate``, ``render --format pdf`` and ``--format docx``.

Run with ``make bench`` or ``.venv/bin/python bench/cli_bench.py [--runs 11] [--ref e929f42] [--strict]``.
Each run is a fresh interpreter (``python -m webforms …``, as a user or a script calls it), so it
pays every import the command makes. The same commands run from a copy of the reference commit
(``git archive``, before the commands were made light), with the same Python and the same
packages, ``PYTHONPATH`` pointing at each tree; the two trees alternate run by run, so that the
machine's load weighs on both alike. One untimed run per command and tree first writes the
bytecode caches: "cold" is a new process, not a cold disk.

Targets (issue 11, point 6): a cold ``render --format pdf`` ≤ 1.5 s, ``kinds`` ≤ 0.5 s. Each is
judged on the median CPU time (the child's user + system, from ``getrusage``), as the other
benches judge theirs: on a shared machine wall time also counts waiting for a core, and a
command that waits for nothing else takes its CPU time on an idle one. The wall-time verdict is
printed beside it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

from benchkit import finish, machine_info, percentile, table, title  # noqa: E402

from schemas import get_kind  # noqa: E402

REFERENCE = "e929f42"  # the landed code before the light commands (issue 11, point 6)
RUNS = 11
KIND = "fiche_saisine"
COMMANDS = {
    "kinds": ("kinds",),
    "validate": ("validate", KIND, "exemple.json"),
    "render pdf": ("render", KIND, "exemple.json", "--format", "pdf", "--output", "sortie.pdf"),
    "render docx": ("render", KIND, "exemple.json", "--format", "docx", "--output", "sortie.docx"),
}
TARGETS = {"kinds": 0.5, "render pdf": 1.5}  # seconds, median CPU time of a cold run


def reference_tree(commit: str, into: Path) -> Path | str:
    """Extract ``commit`` of this repository into ``into``; return it, or why it could not."""
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=True, timeout=120)
        subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, capture_output=True, check=True, timeout=120)
    except (OSError, subprocess.SubprocessError) as exc:
        stderr = getattr(exc, "stderr", b"") or b""
        return f"{commit} introuvable ({stderr.decode(errors='replace').strip() or exc})"
    return into


def cold_run(tree: Path, args: tuple[str, ...], workdir: Path) -> tuple[float, float]:
    """Run ``python -m webforms ARGS`` from ``tree`` in a fresh interpreter; return its wall and CPU seconds."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "PYTHONPATH")}
    env |= {"PYTHONPATH": str(tree), "PYTHONIOENCODING": "utf-8"}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "webforms", *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=120)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        raise RuntimeError(f"{' '.join(args)} ({tree}) : code {proc.returncode} : {tail}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def imports_from(tree: Path) -> str:
    """Say where ``webforms`` is imported from with ``PYTHONPATH`` at ``tree`` (both trees share one venv)."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"} | {"PYTHONPATH": str(tree)}
    code = "import webforms; print(webforms.__file__)"
    # From the tree itself: `python -c` (as `-m`) puts its working folder first on the path.
    return subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True, timeout=60).stdout.strip()


def seconds(value: float) -> str:
    return f"{value:.2f}"


def main() -> int:
    """Time the commands of both trees, print them side by side and the summary; return the exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=RUNS, help=f"cold runs per command and tree (default {RUNS})")
    parser.add_argument("--ref", default=REFERENCE, help=f"reference commit (default {REFERENCE})")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    args = parser.parse_args()

    started = time.perf_counter()
    print(f"Bench de la ligne de commande webforms — {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    results: dict[str, Any] = {"machine": machine_info(), "runs": args.runs, "reference": args.ref}
    missed: list[str] = []
    scratch = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    try:
        (scratch / "ref").mkdir()
        trees: dict[str, Path] = {"actuel": ROOT}
        ref = reference_tree(args.ref, scratch / "ref")
        if isinstance(ref, Path):
            trees["référence"] = ref
        title(f"Commandes à froid : {args.runs} processus neufs par commande et par arbre, en alternance")
        for name, tree in trees.items():
            where = imports_from(tree)
            print(f"{name} : {tree} (webforms importé de {where})")
            if not where.startswith(str(tree)):
                raise RuntimeError(f"l'arbre {name} n'est pas celui qu'importe Python ({where})")
        if not isinstance(ref, Path):
            print(f"Référence indisponible : {ref}")
        workdirs = {}
        for name in trees:  # one folder per tree: the reference's render makes an instance folder there
            workdirs[name] = scratch / f"travail-{len(workdirs)}"
            workdirs[name].mkdir()
            (workdirs[name] / "exemple.json").write_text(json.dumps(dict(get_kind(KIND).example), ensure_ascii=False))

        walls: dict[tuple[str, str], list[float]] = {(c, t): [] for c in COMMANDS for t in trees}
        cpus: dict[tuple[str, str], list[float]] = {(c, t): [] for c in COMMANDS for t in trees}
        for command, argv in COMMANDS.items():
            for name, tree in trees.items():
                cold_run(tree, argv, workdirs[name])  # writes the bytecode caches; not timed
            for _ in range(args.runs):
                for name, tree in trees.items():
                    wall, cpu = cold_run(tree, argv, workdirs[name])
                    walls[command, name].append(wall)
                    cpus[command, name].append(cpu)

        rows = []
        for command in COMMANDS:
            now = walls[command, "actuel"]
            median, p90 = statistics.median(now), percentile(now, 90)
            cpu = statistics.median(cpus[command, "actuel"])
            figures: dict[str, Any] = {"median_s": median, "p90_s": p90, "cpu_median_s": cpu}
            row = [f"webforms {command}", seconds(median), seconds(p90), seconds(cpu)]
            if "référence" in trees:
                then = walls[command, "référence"]
                ref_median = statistics.median(then)
                figures |= {"ref_median_s": ref_median, "ref_p90_s": percentile(then, 90), "ref_cpu_median_s": statistics.median(cpus[command, "référence"])}
                row += [seconds(ref_median), seconds(percentile(then, 90)), seconds(figures["ref_cpu_median_s"]), f"{ref_median / median:.1f}×"]
            else:
                row += ["—", "—", "—", "—"]
            target = TARGETS.get(command)
            if target is None:
                row.append("—")
            else:
                row.append(f"≤ {target} s : {'tenue' if cpu <= target else 'MANQUÉE'} (mur : {'tenue' if median <= target else 'manquée'})")
                if cpu > target:
                    missed.append(f"webforms {command} : CPU médian {seconds(cpu)} s à froid (cible ≤ {target} s)")
            results[command] = figures
            rows.append(row)
        table(
            ["Commande", "médiane s", "p90 s", "CPU s", "réf. médiane s", "réf. p90 s", "réf. CPU s", "réf./actuel", "cible (CPU médian)"],
            rows,
        )
        print("Temps mur d'un processus neuf, de son lancement à sa sortie ; CPU : utilisateur + système du processus.")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return finish(results, missed, started, "cli_bench", strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
