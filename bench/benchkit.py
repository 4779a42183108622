"""What the benches share and that costs nothing to import: headings, the machine's load, the
process's memory probes (``/proc/self/status``), and the closing summary."""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MIB = 1 << 20


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
