"""Benchmark of the archive exports (webforms/archive/export.py): time and peak memory at 1 GB.

Run with ``make bench`` (after the other benches) or ``.venv/bin/python bench/archive_export_bench.py``.
In a temporary directory, 100 files totalling 1 GiB (``--total-mb``) are written by chunks:
random bytes behind a PDF header, as incompressible as real PDFs and scans, of 1× to 4× one
another's size, two per record (signed copy and generated PDF/A), so 50 records. Their SHA-512
is computed once, as the archive would have recorded it. Then, each in a fresh subprocess so
that peaks do not mix, and after an ``os.sync()`` so that the kernel's writeback of what was
written before (1 GB of files, then a 1 GB ZIP) does not fall on the next measure:

1. Reading and hashing the files alone (SHA-512 by 1 MiB chunks): the floor of any export.
2. ``write_seda``: the SEDA 2.2 transfer ZIP (manifest validated against the XSD, files copied
   and verified).
3. ``write_bagit``: the BagIt ZIP (same files, SHA-512 manifests).

Each reports wall and CPU time, throughput, and the process's memory: RSS just before, and the
kernel's RSS high-water mark during the export (``VmHWM`` of ``/proc/self/status``, reset just
before through ``/proc/self/clear_refs``; ``ru_maxrss`` since the process started otherwise).
Target: the peak grows by less than 64 MiB, whatever the files weigh (the copy holds one
1 MiB chunk). After the measure, each ZIP is checked (CRC of every entry; SEDA manifest valid,
bag manifest equal to the recorded digests), outside the timings.

Three alternated passes (``--runs``): times are medians, memory the pass whose peak grew most.

Options: ``--total-mb 1024``, ``--files 100``, ``--runs 3``, ``--dir`` (where to write, default the system's
temporary directory; needs about twice the total free), ``--strict`` (exit 1 when a target is
missed; by default a benchmark reports, it does not gate).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import hashlib
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
import zipfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import benchkit  # noqa: E402

from webforms.archive.export import ExportFile, ExportUnit, TransferInfo, seda_manifest, validate_seda, write_bagit, write_seda  # noqa: E402

TOTAL_MIB = 1024
FILES = 100  # two per record
RUNS = 3  # alternated passes; times are medians
MEMORY_TARGET_MIB = 64
MIB = 1 << 20
TRANSFER_DATE = dt.datetime(2026, 11, 22, 9, 30, tzinfo=dt.UTC)
MODES = ("hash", "seda", "bagit")
LABELS = {
    "hash": "lecture + SHA-512 seules",
    "seda": "write_seda (transfert SEDA 2.2)",
    "bagit": "write_bagit (sac BagIt)",
}


# --------------------------------------------------------------------------- data


def make_files(workdir: Path, total_mib: int, count: int) -> list[dict[str, Any]]:
    """Write ``count`` files adding up to ``total_mib`` MiB, by chunks; return the plan with digests."""
    weights = [1 + i % 4 for i in range(count)]
    total = total_mib * MIB
    plan = []
    store = workdir / "store"
    store.mkdir()
    for i, weight in enumerate(weights):
        size = total * weight // sum(weights)
        path = store / f"piece-{i:03d}.pdf"
        digest = hashlib.sha512()
        with path.open("wb") as out:
            head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
            out.write(head)
            digest.update(head)
            left = size - len(head)
            while left > 0:
                chunk = os.urandom(min(left, MIB))
                out.write(chunk)
                digest.update(chunk)
                left -= len(chunk)
        record = i // 2
        signed = i % 2 == 0
        plan.append(
            {
                "path": str(path),
                "unit": f"archive-{record + 1:03d}",
                "name": "copie-signee.pdf" if signed else "document-pdfa.pdf",
                "role": "Copie signée" if signed else "Document généré (PDF/A-3b)",
                "format_id": None if signed else "fmt/480",
                "size": size,
                "sha512": digest.hexdigest(),
            }
        )
    return plan


def units_from(plan: list[dict[str, Any]]) -> list[Any]:
    by_unit: dict[str, list[Any]] = {}
    for entry in plan:
        by_unit.setdefault(entry["unit"], []).append(
            ExportFile(
                path=Path(entry["path"]),
                name=entry["name"],
                sha512=entry["sha512"],
                size=entry["size"],
                mime="application/pdf",
                role=entry["role"],
                format_id=entry["format_id"],
            )
        )
    return [
        ExportUnit(
            identifier=identifier,
            title=f"Fiche de saisine FS-2026-{n + 1:04d} — copie signée",
            description="Copie signée archivée après signature (bench).",
            reference=f"FS-2026-{n + 1:04d}",
            kind="fiche_saisine",
            kind_title="Fiche de saisine",
            organisation="Association Habitat Solidaire",
            start_date=dt.date(2026, 3, 2),
            end_date=dt.date(2026, 3, 20),
            deposited_at=dt.datetime(2026, 3, 21, 14, 5, tzinfo=dt.UTC),
            retention_years=10,
            retention_start=dt.date(2026, 3, 20),
            final_action="transfert",
            files=tuple(files),
        )
        for n, (identifier, files) in enumerate(by_unit.items())
    ]


def transfer_info() -> Any:
    return TransferInfo(
        message_identifier="WEBFORMS-20261122-0001",
        date=TRANSFER_DATE,
        comment="Bench de l'export d'archives",
        archival_agency="FRAD075",
        transferring_agency="DEP75-DASES-LOGEMENT",
    )


# --------------------------------------------------------------------------- memory (as dossier_bench.py)








# --------------------------------------------------------------------------- one export (child)


def hash_only(units: list[Any]) -> None:
    buffer = bytearray(MIB)
    view = memoryview(buffer)
    for unit in units:
        for file in unit.files:
            digest = hashlib.sha512()
            with file.path.open("rb") as source:
                while count := source.readinto(buffer):
                    digest.update(view[:count])
            if digest.hexdigest() != file.sha512:
                raise SystemExit(f"Empreinte différente : {file.path}")


def verify(mode: str, target: Path, plan: list[dict[str, Any]]) -> list[str]:
    """Problems of the written ZIP: CRC of every entry, then the package's own manifest."""
    problems = []
    with zipfile.ZipFile(target) as archive:
        bad = archive.testzip()
        if bad:
            problems.append(f"CRC faux : {bad}")
        names = set(archive.namelist())
        if mode == "seda":
            problems += validate_seda(archive.read("manifest.xml"))
            expected = {f"content/{e['unit']}/{e['name']}" for e in plan}
        else:
            bag = "WEBFORMS-20261122-0001"
            listed = {}
            for line in archive.read(f"{bag}/manifest-sha512.txt").decode().splitlines():
                digest, path = line.split(None, 1)
                listed[path] = digest
            for e in plan:
                if listed.get(f"data/{e['unit']}/{e['name']}") != e["sha512"]:
                    problems.append(f"manifest-sha512.txt : {e['unit']}/{e['name']}")
            expected = {f"{bag}/data/{e['unit']}/{e['name']}" for e in plan}
        if expected - names:
            problems.append(f"{len(expected - names)} fichiers absents du ZIP")
    return problems


def run_child(mode: str, workdir: Path) -> dict[str, Any]:
    """One export in this (fresh) process; return its figures."""
    plan = json.loads((workdir / "plan.json").read_text())
    units, info = units_from(plan), transfer_info()
    target = workdir / f"{mode}.zip"
    if mode == "seda":
        validate_seda(seda_manifest(units[:1], info))  # the XSD, as a warm worker has it
    out: dict[str, Any] = {"mode": mode, "setup_peak": benchkit.maxrss()}
    resettable = benchkit.reset_peak()
    out["peak_method"] = "VmHWM remis à zéro" if resettable else "ru_maxrss depuis le début du processus"
    gc.collect()
    out["rss_before"] = benchkit.status()["VmRSS"]
    if resettable:
        benchkit.reset_peak()
    w0, c0 = time.perf_counter(), time.process_time()
    if mode == "hash":
        hash_only(units)
    else:
        writer = write_seda if mode == "seda" else write_bagit
        with target.open("wb") as stream:
            writer(units, info, stream)
    out["wall"], out["cpu"] = time.perf_counter() - w0, time.process_time() - c0
    out["peak"] = benchkit.status()["VmHWM"] if resettable else benchkit.maxrss()
    if mode != "hash":
        out["zip_bytes"] = target.stat().st_size
        w0 = time.perf_counter()
        out["problems"] = verify(mode, target, plan)
        out["verify_s"] = time.perf_counter() - w0
        target.unlink()
    return out


# --------------------------------------------------------------------------- main




def child(mode: str, workdir: Path) -> dict[str, Any] | str:
    """Run one export in a fresh interpreter; return its figures, or why it failed."""
    return benchkit.child_process(Path(__file__).resolve(), ["--child", mode, "--dir", str(workdir)], timeout=1800)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--total-mb", type=int, default=TOTAL_MIB, help="MiB of files to export")
    parser.add_argument("--files", type=int, default=FILES, help="number of files (two per record)")
    parser.add_argument("--runs", type=int, default=RUNS, help="alternated passes of the three measures")
    parser.add_argument("--dir", help="where to write the files and the ZIPs (default: the temporary directory)")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_child(args.child, Path(args.dir))))
        return 0

    import render_bench as rb

    started = time.perf_counter()
    print(f"Bench de l'export d'archives webforms — {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    rb.title("Machine")
    print(f"Python {platform.python_version()}, {os.cpu_count()} cœurs, charge {rb.load_average()}")
    workdir = Path(tempfile.mkdtemp(prefix="bench-archive-", dir=args.dir))
    usage = shutil.disk_usage(workdir)
    print(f"Répertoire de travail : {workdir} ({usage.free / 2**30:.0f} Gio libres)")
    missed: list[str] = []
    results: dict[str, Any] = {"total_mib": args.total_mb, "files": args.files, "modes": {}}
    try:
        rb.title(f"Export de {args.files} fichiers, {args.total_mb} Mio au total ({args.files // 2} archives de 2 fichiers)")
        w0 = time.perf_counter()
        plan = make_files(workdir, args.total_mb, args.files)
        (workdir / "plan.json").write_text(json.dumps(plan))
        total = sum(e["size"] for e in plan)
        print(
            f"Fichiers écrits par morceaux (octets aléatoires, incompressibles comme des PDF et des scans), SHA-512 compris : "
            f"{time.perf_counter() - w0:.1f} s ; de {benchkit.mib(min(e['size'] for e in plan))} à {benchkit.mib(max(e['size'] for e in plan))} Mio."
        )
        print(
            f"{args.runs} passes alternées (SEDA et BagIt échangent leur place d'une passe à l'autre) ; chaque mesure tourne dans un processus neuf, après un sync : l'écriture "
            "différée des fichiers précédents ne retombe pas sur elle."
        )
        print("Les fichiers viennent d'être écrits : ils sont lus depuis le cache de pages (chaud).")
        runs: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
        for run in range(args.runs):
            # The two exports swap places from one pass to the next: the first write after the
            # hashing pass tends to be the slower one, whichever format it is.
            for mode in MODES if run % 2 == 0 else ("hash", "bagit", "seda"):
                os.sync()  # flush the pieces (or the previous ZIP): its writeback would slow this measure down
                out = child(mode, workdir)
                if isinstance(out, str):
                    print(f"{LABELS[mode]} : {out}")
                    missed.append(f"{LABELS[mode]} : {out}")
                    continue
                runs[mode].append(out)
                if out.get("problems"):
                    missed.append(f"{LABELS[mode]} : ZIP incorrect : {out['problems'][:3]}")
        results["modes"] = runs
        rows = []
        for mode, outs in runs.items():
            if not outs:
                continue
            wall, cpu = statistics.median(o["wall"] for o in outs), statistics.median(o["cpu"] for o in outs)
            worst = max(outs, key=lambda o: o["peak"] - o["rss_before"])
            growth = worst["peak"] - worst["rss_before"]
            verdict = "OK" if growth < MEMORY_TARGET_MIB * MIB else "MANQUÉ"
            if mode != "hash" and verdict != "OK":
                missed.append(f"{LABELS[mode]} : le pic croît de {benchkit.mib(growth)} Mio (cible < {MEMORY_TARGET_MIB} Mio)")
            checked = all(not o["problems"] for o in outs) if mode != "hash" else True
            rows.append(
                [
                    LABELS[mode],
                    f"{wall:.2f} · {cpu:.2f}",
                    f"{min(o['wall'] for o in outs):.2f} – {max(o['wall'] for o in outs):.2f}",
                    f"{total / MIB / wall:.0f}",
                    f"{benchkit.mib(outs[0]['zip_bytes'])} Mio" if "zip_bytes" in outs[0] else "—",
                    benchkit.mib(worst["rss_before"]),
                    benchkit.mib(worst["peak"]),
                    f"{growth / MIB:+.1f}",
                    "—" if mode == "hash" else f"< {MEMORY_TARGET_MIB} : {verdict}",
                    "—" if mode == "hash" else ("oui" if checked else "NON") + f" ({outs[0]['verify_s']:.1f} s)",
                ]
            )
        print()
        print("Temps : médianes des passes (secondes) ; mémoire : la passe dont le pic a le plus crû.")
        rb.table(
            [
                "Mesure",
                "temps s (mur · CPU)",
                "mur min – max",
                "Mio/s",
                "ZIP",
                "RSS avant (Mio)",
                "pic (Mio)",
                "croissance (Mio)",
                "cible (Mio)",
                "ZIP vérifié",
            ],
            rows,
        )
        done = [o for outs in runs.values() for o in outs]
        if done:
            print(f"Méthode du pic : {done[0]['peak_method']}.")
        print(
            "La copie lit et écrit par morceaux de 1 Mio : la mémoire ne dépend pas du volume exporté. Le cache de pages du"
        )
        print("noyau (fichiers lus, ZIP écrit) n'est pas compté dans le RSS du processus.")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    return benchkit.finish(results, missed, started, "archive_export_bench", strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
