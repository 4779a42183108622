"""Benchmark of a complete candidature dossier: complete PDF, ZIP, peak memory, fiche descriptive.

Run with ``make bench`` (after bench/render_bench.py) or ``.venv/bin/python bench/dossier_bench.py``.
A dossier of the 2019 AML call (kind ``candidature_aml``) with a 50-member team, a 60-line
balanced budget (30 charges, 30 produits) and 17 planned recruitments gets 20 uploaded pieces
(courrier, délibération, organigramme, 17 fiches de poste), totalling 100 MiB, then 400 MiB:
the courrier is a JPEG scan (A4, 300 dpi), the organigramme a PNG drawn on a transparent
background (6000 × 8000 RGBA), the others real PDFs with large raw images. Everything goes through the services, as the web views do
(``open_dossier``, ``save_draft``, ``add_piece`` with its content checks, ``submit``), on a
temporary instance whose clock is fixed on 2 September 2019, before the call's deadline.

1. Submission of the dossier, each size in a fresh subprocess so that peaks do not mix: time of
   the whole submission and of its two dossier steps (complete PDF, ZIP), and the process's
   peak memory (the kernel's RSS high-water mark, reset just before the submission) against
   its memory just before; target: grows by less than 100 MiB, whatever the pieces weigh.
2. The fiche descriptive of that dossier as a PDF: the service path (build_context ->
   Renderer.render, PDF/A-3b) against the same DOCX converted by a warm LibreOffice through
   unoserver (bench/peer_pipeline.py); target: ours is faster.

Options: ``--sizes 100,400`` (MiB of pieces), ``--no-libreoffice``, ``--strict`` (exit 1 when a
target is missed; by default a benchmark reports, it does not gate).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import gc
import json
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import benchkit  # noqa: E402
import dossier_build  # noqa: E402
from dossier_pieces import IMAGES, PIECES, RECRUTEMENTS, piece_plan, write_piece_pdf  # noqa: E402
from peer_pipeline import start_warm  # noqa: E402

KIND_NAME = "candidature_aml"
TEAM = 50
CHARGES, PRODUITS = 30, 30  # 60 budget lines
SIZES_MIB = (100, 400)
MEMORY_TARGET_MIB = 100
BUILD_SIZE_MIB = 100  # section 3: the dossier (issue 11)
FICHE_RUNS = 5  # interleaved runs of the fiche descriptive, service against LibreOffice
# Before the call's deadline (6 September 2019, 16:00 Paris).
CLOCK = dt.datetime(2019, 9, 2, 9, 0, tzinfo=dt.UTC)
MIB = benchkit.MIB


# --------------------------------------------------------------------------- data


def payload() -> dict[str, Any]:
    """The kind's EXAMPLE with 50 team members, a balanced 60-line budget, 17 recruitments."""
    from schemas import get_kind

    kind = get_kind(KIND_NAME)
    data = copy.deepcopy(dict(kind.example))
    team = kind.example["moyens"]["equipe"]
    data["moyens"]["equipe"] = [
        {**copy.deepcopy(team[i % len(team)]), "poste": f"{team[i % len(team)]['poste']} ({i + 1})"} for i in range(TEAM)
    ]
    data["moyens"]["recrutements"] = [
        {"poste": f"Travailleur pair n° {i + 1}", "date_prevue": f"2019-{10 + i % 3}-{1 + i % 28:02d}"}
        for i in range(RECRUTEMENTS)
    ]
    subvention = Decimal(data["budget"]["subvention_ddcs"])
    produits = [{"libelle": "Subvention DDCS (AML Logement d'abord)", "montant": f"{subvention:.2f}"}]
    produits += [
        {"libelle": f"Produit n° {i} (fonds propres, CAF, communes)", "montant": f"{500 + 37 * i:.2f}"}
        for i in range(1, PRODUITS)
    ]
    total = sum(Decimal(p["montant"]) for p in produits)
    charges = [
        {"libelle": f"Charge n° {i + 1} (salaires, locaux, déplacements)", "montant": f"{1000 + 41 * i:.2f}"}
        for i in range(CHARGES - 1)
    ]
    charges.append({"libelle": "Frais de structure", "montant": f"{total - sum(Decimal(c['montant']) for c in charges):.2f}"})
    data["budget"]["produits"], data["budget"]["charges"] = produits, charges
    errors = kind.validate(data)
    if errors:
        raise SystemExit(f"Données de bench invalides : {errors}")
    return data



# --------------------------------------------------------------------------- memory


class Phases:
    """Time and peak RSS of the dossier's steps, by wrapping the functions freeze_dossier imports
    from webforms.candidatures.dossier when it runs (nothing is changed in what they do)."""

    def __init__(self, resettable: bool) -> None:
        self.resettable = resettable
        self.data: dict[str, dict[str, float]] = {}
        self.peak = 0  # highest VmHWM seen over all segments since start()
        self.depth = 0

    def start(self) -> None:
        self.peak = 0
        if self.resettable:
            benchkit.reset_peak()

    def _segment(self) -> int:
        """The peak of the segment that ends now; a new segment starts."""
        high = benchkit.status()["VmHWM"]
        self.peak = max(self.peak, high)
        if self.resettable:
            benchkit.reset_peak()
        return high

    def overall(self) -> int:
        return max(self.peak, benchkit.status()["VmHWM"]) if self.resettable else benchkit.maxrss()

    def wrap(self, module: Any, attr: str, phase: str) -> None:
        fn = getattr(module, attr)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if self.depth:  # a wrapped function calling another: count the outer call only
                return fn(*args, **kwargs)
            self.depth += 1
            self._segment()
            before = benchkit.status()["VmRSS"]
            w0, c0 = time.perf_counter(), time.process_time()
            try:
                return fn(*args, **kwargs)
            finally:
                wall, cpu = time.perf_counter() - w0, time.process_time() - c0
                high = self._segment()
                self.depth -= 1
                entry = self.data.setdefault(phase, {"wall": 0.0, "cpu": 0.0, "peak_growth": 0.0, "calls": 0, "via": attr})
                entry["wall"] += wall
                entry["cpu"] += cpu
                entry["calls"] += 1
                entry["peak_growth"] = max(entry["peak_growth"], high - before)

        setattr(module, attr, wrapper)


# --------------------------------------------------------------------------- 1. one size (child)


def run_size(total_mib: int, builds: int = 0) -> dict[str, Any]:
    """Build, fill, upload and submit one dossier in this (fresh) process; return the figures.

    With ``builds``, the dossier is then built that many times more (section 3).
    """
    # The service is imported by the child that measures a size, not by the children that draw
    # an image, which run this same script.
    import pikepdf
    from sqlalchemy import select

    import webforms.candidatures.dossier as dossier
    from schemas import get_kind
    from webforms import db
    from webforms.candidatures import services as candidatures
    from webforms.documents import services as documents
    from webforms.models import Appel, Document, User

    out: dict[str, Any] = {"size_mib": total_mib}
    tmp, app = benchkit.temporary_app("bench-dossier-", CLOCK)
    try:
        services = app.extensions["webforms.services"]
        kind = get_kind(KIND_NAME)
        # Pieces of up to ~40 MiB for the bench only: the rule is changed in this process's
        # memory, the schema keeps its 10 MiB.
        for rule in kind.attachments:
            if rule.formats:
                object.__setattr__(rule, "max_mb", max(rule.max_mb, 64))
        data = payload()
        with app.app_context():
            session = db.session()
            user = benchkit.bench_writer(session)
            appel = session.scalars(select(Appel)).one()
            doc = candidatures.open_dossier(session, services, user=user, appel=appel)
            documents.save_draft(session, services, doc, user=user, payload=data)

            pieces_dir, workdir = tmp / "pieces", tmp / "uploads"
            pieces_dir.mkdir()
            workdir.mkdir()
            w0 = time.perf_counter()
            for code, (name, _) in IMAGES.items():  # drawn in a child: Pillow's pixels stay out of this process
                subprocess.run([sys.executable, str(Path(__file__).resolve()), "--image", code, str(pieces_dir / name)], check=True)
            image_sizes = {code: (pieces_dir / name).stat().st_size for code, (name, _) in IMAGES.items()}
            plan = piece_plan(total_mib, sum(image_sizes.values()))
            files = []
            for i, (code, rang, name, size, pages) in enumerate(plan):
                path = pieces_dir / name
                if code not in IMAGES:
                    write_piece_pdf(path, size, pages, f"Pièce {i + 1} : {name}")
                files.append((code, rang, name, path))
            out["generate_s"] = time.perf_counter() - w0
            out["pieces_bytes"] = sum(p.stat().st_size for *_, p in files)
            out["largest_stream"] = max([size // pages for *_, size, pages in plan] + list(image_sizes.values()))
            w0 = time.perf_counter()
            for code, rang, name, path in files:
                with path.open("rb") as stream:
                    candidatures.add_piece(
                        session, services, doc, user=user, code=code, rang=rang, stream=stream, filename=name, workdir=workdir
                    )
                path.unlink()  # the store holds it now
            out["upload_s"] = time.perf_counter() - w0
            out["pieces_pages"] = sum(p.pages or 1 for p in doc.pieces if p.replaced_at is None)  # an image: one page
            blockers = candidatures.submission_blockers(doc, documents.problems(doc), CLOCK)
            if blockers or documents.problems(doc):
                raise SystemExit(f"Dossier de bench incomplet : {blockers or documents.problems(doc)}")

            # A worker is warm: WeasyPrint's fonts and caches are loaded before the baseline.
            services.renderer.render(kind.output("pdf"), documents.context_for(doc, draft=False))
            # Peak of the preparation (instance, pieces written, uploads, warm-up), read before
            # the high-water mark is reset: the pieces never went through this process's memory.
            out["setup_peak"] = benchkit.maxrss()
            phases = Phases(benchkit.reset_peak())
            out["peak_method"] = "VmHWM remis à zéro" if phases.resettable else "ru_maxrss depuis le début du processus"
            phases.wrap(dossier, "complete_pdf_file", "pdf")
            phases.wrap(dossier, "write_zip", "zip")
            gc.collect()
            before = benchkit.status()
            out["rss_before"] = before["VmRSS"]
            phases.start()
            w0, c0 = time.perf_counter(), time.process_time()
            documents.submit(session, services, doc, user=session.get(User, user.id))
            out["submit_wall"], out["submit_cpu"] = time.perf_counter() - w0, time.process_time() - c0
            out["peak"] = phases.overall()
            out["phases"] = phases.data
            doc = session.get(Document, doc.id)
            stored = {(r.output, r.format): r for r in doc.renditions}
            pdf, archive = stored[("dossier", "pdf")], stored[("dossier", "zip")]
            out["pdf_bytes"], out["zip_bytes"] = pdf.size, archive.size
            with pikepdf.open(services.store.path(pdf.sha256)) as complete:
                out["pdf_pages"] = len(complete.pages)
            w0 = time.perf_counter()
            out["zip_problems"] = dossier.verify_zip(services.store.path(archive.sha256))
            out["verify_s"] = time.perf_counter() - w0
            out["code"] = str(Path(candidatures.__file__).resolve().parents[2])
            if builds:
                out["builds"] = dossier_build.child_builds(services, doc, candidatures, documents, builds)
        app.extensions["webforms.engine"].dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return out


# --------------------------------------------------------------------------- 2. fiche descriptive


def bench_fiche(use_lo: bool) -> dict[str, Any]:
    """Compare the fiche descriptive's PDF by the service with the same DOCX converted by LibreOffice."""
    from schemas import get_kind  # as in run_size: not in the children that draw an image
    from webforms.rendering import Renderer
    from webforms.rendering.context import DocumentMeta, build_context

    benchkit.title(
        f"2. Fiche descriptive du même dossier ({TEAM} membres d'équipe, {CHARGES + PRODUITS} lignes de budget) : PDF du service contre LibreOffice"
    )
    kind = get_kind(KIND_NAME)
    data = kind.load(payload())
    meta = DocumentMeta(
        reference="CA-2019-000001",
        organisation="Association Habitat Solidaire",
        author="Claire Martin",
        issued_at=CLOCK,
        draft=False,
        version=1,
    )
    renderer = Renderer()
    docx = renderer.render(kind.output("docx"), build_context(kind, data, meta))

    def service() -> bytes:
        return renderer.render(kind.output("pdf"), build_context(kind, data, meta))

    def docx_only() -> bytes:
        return renderer.render(kind.output("docx"), build_context(kind, data, meta))

    fns: dict[str, Any] = {"service": service, "docx": docx_only}
    lo, lo_error, status_line = None, None, ""
    if not use_lo:
        lo_error = "désactivé (--no-libreoffice)"
    else:
        try:
            lo, status_line, pids = start_warm(docx)
            fns["lo"] = (lambda: lo.convert(docx), lambda: lo.cpu_seconds(pids))  # type: ignore[union-attr]
        except Exception as exc:
            lo_error = str(exc) or type(exc).__name__
    print(f"LibreOffice : {status_line}" if lo is not None else f"LibreOffice indisponible: {lo_error}")
    service()  # warm WeasyPrint
    failures: dict[str, str] = {}
    try:
        wall, cpu, last = benchkit.interleaved(fns, FICHE_RUNS, failures)
    finally:
        if lo is not None:
            lo.stop()
    for name in ("service", "docx"):
        if name in failures:
            raise RuntimeError(f"rendu {name} en échec : {failures[name]}")
    if "lo" in failures:
        lo_error = failures["lo"]
    rows = [
        [
            "Service : build_context → Renderer.render (WeasyPrint, PDF/A-3b)",
            benchkit.both(wall["service"], cpu["service"], 0),
            benchkit.pdf_pages(last["service"]),
            f"{len(last['service']) / 1024:.0f}",
        ]
    ]
    result: dict[str, Any] = {
        "runs": FICHE_RUNS,
        "wall_ms": {k: v * 1000 for k, v in wall.items()},
        "cpu_ms": {k: v * 1000 for k, v in cpu.items()},
    }
    if "lo" in wall:
        rows.append(
            [
                "Même DOCX converti par LibreOffice chaud (unoserver)",
                benchkit.both(wall["lo"], cpu["lo"], 0),
                benchkit.pdf_pages(last["lo"]),
                f"{len(last['lo']) / 1024:.0f}",
            ]
        )
        rows.append(
            [
                "Chaîne des pairs : docxtpl (Renderer.render, DOCX) + LibreOffice",
                benchkit.both(wall["docx"] + wall["lo"], cpu["docx"] + cpu["lo"], 0),
                "",
                "",
            ]
        )
    else:
        rows.append(["Même DOCX converti par LibreOffice chaud (unoserver)", f"LibreOffice indisponible: {lo_error}", "", ""])
    print(
        f"Médianes sur {FICHE_RUNS} exécutions alternées, en ms, « mur · CPU » (CPU de LibreOffice = unoserver + soffice + client) :"
    )
    benchkit.table(["Chemin", "mur · CPU", "pages", "Ko"], rows)
    if "lo" in wall:
        faster_wall, faster_cpu = wall["service"] < wall["lo"], cpu["service"] < cpu["lo"]
        result["verdict"] = "OK" if faster_wall and faster_cpu else "MANQUÉ"
        print(
            f"Service ÷ LibreOffice : {wall['service'] / wall['lo']:.2f}× en temps mur, {cpu['service'] / cpu['lo']:.2f}× en CPU "
            f"(cible : < 1, le service plus rapide) → {result['verdict']}"
        )
        print(
            "LibreOffice met en page autrement (colonne des pages) ; la conversion seule exclut le rendu du DOCX, compté à la ligne suivante."
        )
    else:
        result["verdict"] = "indisponible"
        result["lo_error"] = lo_error
    return result


# --------------------------------------------------------------------------- main


def child(total_mib: int, extra: list[str] | None = None) -> dict[str, Any] | str:
    """Run one size in a fresh interpreter; return its figures, or why it failed."""
    return benchkit.child_process(Path(__file__).resolve(), ["--child", str(total_mib), *(extra or [])], timeout=900)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=",".join(map(str, SIZES_MIB)), help="MiB of pieces, comma-separated")
    parser.add_argument("--no-libreoffice", action="store_true", help="skip the LibreOffice/unoserver column")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--landed", default=dossier_build.LANDED, help="commit of the code section 3 compares with")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--builds", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--code", help=argparse.SUPPRESS)  # the service's code the child runs
    parser.add_argument("--image", nargs=2, metavar=("CODE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.code:  # before anything imports the service: its code comes from there
            sys.path.insert(0, args.code)
        print(json.dumps(run_size(args.child, args.builds), default=str))
        return 0
    if args.image:
        code, path = args.image
        IMAGES[code][1](Path(path))
        return 0

    started = time.perf_counter()
    print(f"Bench du dossier complet webforms — {KIND_NAME}, {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}")
    benchkit.machine_info()
    missed: list[str] = []
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    benchkit.title(f"1. Soumission d'un dossier : {PIECES} pièces déposées, PDF complet et ZIP, mémoire de pointe")
    print(
        f"Dossier : {TEAM} membres d'équipe, {CHARGES} charges + {PRODUITS} produits (équilibrés), {RECRUTEMENTS} recrutements ; "
        f"{PIECES} pièces (courrier, délibération, organigramme, {RECRUTEMENTS} fiches de poste) : courrier en JPEG (scan A4 300 dpi), "
        "organigramme en PNG transparent (6000 × 8000 RGBA), les autres en PDF à grandes images brutes ; "
        "déposées par candidatures.add_piece (contrôle du contenu, stockage par morceaux), puis documents.submit."
    )
    print("Chaque taille tourne dans un processus neuf ; rendu WeasyPrint chauffé avant la mesure (comme un worker).")
    results: dict[str, Any] = {"sizes": {}}
    rows, memory_rows = [], []
    for size in sizes:
        out = child(size)
        if isinstance(out, str):
            print(f"{size} Mio : {out}")
            missed.append(f"Dossier {size} Mio : {out}")
            continue
        results["sizes"][size] = out
        phases = out["phases"]
        growth = out["peak"] - out["rss_before"]
        verdict = "OK" if growth < MEMORY_TARGET_MIB * MIB else "MANQUÉ"
        if verdict != "OK":
            missed.append(f"Mémoire {size} Mio de pièces : le pic croît de {benchkit.mib(growth)} Mio (cible < {MEMORY_TARGET_MIB} Mio)")
        if out["zip_problems"]:
            missed.append(f"ZIP {size} Mio : {out['zip_problems'][:3]}")
        pdf, archive = phases.get("pdf", {}), phases.get("zip", {})
        other = out["submit_wall"] - pdf.get("wall", 0) - archive.get("wall", 0)
        rows.append(
            [
                f"{size} Mio ({benchkit.mib(out['pieces_bytes'])} Mio, {out['pieces_pages']} p.)",
                f"{out['submit_wall']:.1f} · {out['submit_cpu']:.1f}",
                f"{pdf.get('wall', 0):.1f} · {pdf.get('cpu', 0):.1f}",
                f"{archive.get('wall', 0):.1f} · {archive.get('cpu', 0):.1f}",
                f"{other:.1f}",
                f"{out['pdf_pages']} p., {benchkit.mib(out['pdf_bytes'])} Mio",
                f"{benchkit.mib(out['zip_bytes'])} Mio",
                "oui" if not out["zip_problems"] else "NON",
            ]
        )
        memory_rows.append(
            [
                f"{size} Mio",
                f"{out['largest_stream'] / MIB:.1f}",
                benchkit.mib(out["setup_peak"]),
                benchkit.mib(out["rss_before"]),
                benchkit.mib(out["peak"]),
                f"{growth / MIB:+.0f}",
                f"{pdf.get('peak_growth', 0) / MIB:+.0f} ({pdf.get('via', '—')})",
                f"{archive.get('peak_growth', 0) / MIB:+.0f}",
                f"< {MEMORY_TARGET_MIB} : {verdict}",
            ]
        )
    if rows:
        print()
        print("Temps en secondes, « mur · CPU » (CPU de ce processus ; le contrôle des dépôts, fait avant, n'est pas compté) :")
        benchkit.table(
            [
                "Pièces",
                "soumission",
                "dont PDF complet",
                "dont ZIP",
                "reste (rendus, stockage)",
                "PDF complet",
                "ZIP",
                "ZIP vérifié",
            ],
            rows,
        )
        print()
        print(
            "Mémoire du processus en Mio (RSS) : plus grande image d'une pièce ; pic de la préparation (instance, pièces écrites"
        )
        print(
            "et déposées, chauffe : ru_maxrss) ; juste avant la soumission ; pic pendant (VmHWM remis à zéro avant) ; croissance :"
        )
        benchkit.table(
            [
                "Pièces",
                "plus grande image",
                "pic de la préparation",
                "avant",
                "pic",
                "croissance",
                "dans le PDF complet",
                "dans le ZIP",
                "cible (Mio)",
            ],
            memory_rows,
        )
        print(
            "qpdf copie les flux d'un fichier à l'autre mais en garde un entier en mémoire le temps de l'écrire (≈ 2× sa taille) :"
        )
        print("le pic suit la plus grande image d'une pièce (10 Mio au plus par pièce hors bench), pas le total des pièces.")
        done = [results["sizes"][s] for s in sizes if s in results["sizes"]]
        if len(done) >= 2:
            small, large = done[0], done[-1]
            delta = (large["peak"] - large["rss_before"]) - (small["peak"] - small["rss_before"])
            print(
                f"Croissance à {large['size_mib']} Mio − croissance à {small['size_mib']} Mio : {delta / MIB:+.0f} Mio "
                f"pour {benchkit.mib(large['pieces_bytes'] - small['pieces_bytes'])} Mio de pièces en plus."
            )
        print(
            "Pièces : uploads générés puis déposés en "
            + ", ".join(f"{o['upload_s']:.0f} s ({o['size_mib']} Mio)" for o in done)
            + "."
        )
        print(
            f"Méthode du pic : {done[0]['peak_method'] if done else '?'} ; vérification du ZIP (verify_zip) : "
            + ", ".join(f"{o['verify_s']:.1f} s" for o in done)
            + "."
        )

    try:
        fiche = bench_fiche(use_lo=not args.no_libreoffice)
        results["fiche"] = fiche
        if fiche["verdict"] == "MANQUÉ":
            missed.append(
                f"Fiche descriptive : le service n'est pas plus rapide que LibreOffice ({fiche['wall_ms']['service']:.0f} ms contre {fiche['wall_ms']['lo']:.0f} ms)"
            )
    except Exception as exc:  # report and go on
        print(f"Fiche descriptive : échec ({type(exc).__name__}: {exc})")
        missed.append(f"Fiche descriptive : échec ({exc})")

    results["build"] = dossier_build.section(child, BUILD_SIZE_MIB, args.landed, missed, MEMORY_TARGET_MIB)
    return benchkit.finish(results, missed, started, "dossier_bench", strict=args.strict)


if __name__ == "__main__":
    sys.exit(main())
