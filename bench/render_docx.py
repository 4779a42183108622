"""Section 1 of the render bench: the service's DOCX against docxtpl alone, and where the overhead comes from."""

from __future__ import annotations

import cProfile
import io
import pstats
import re
import zipfile
from typing import Any

import jinja2
from benchkit import ROOT, both, interleaved, ms, pct, table, title
from docxtpl import DocxTemplate
from render_data import DOCX_TARGET, SIZES, meta

from webforms.rendering import Renderer, normalise_docx
from webforms.rendering.context import build_context


def bench_docx(
    kind: Any, renderer: Renderer, datasets: dict[int, dict[str, Any]], results: dict[str, Any], missed: list[str]
) -> dict[int, dict[str, Any]]:
    """Compare the service's DOCX with docxtpl alone at each size; print the tables and return the figures."""
    title("1. DOCX : chemin du service contre docxtpl seul")
    template = renderer.template_path(kind.output("docx"))
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
            return renderer.render(kind.output("docx"), build_context(kind, data, meta()))

        def raw(ctx: dict[str, Any] = ctx) -> bytes:
            tpl = DocxTemplate(template)
            tpl.render(ctx, jinja_env=raw_env, autoescape=True)
            buf = io.BytesIO()
            tpl.save(buf)
            return buf.getvalue()

        def context_only(data: dict[str, Any] = data) -> dict[str, Any]:
            return build_context(kind, data, meta())

        def sandboxed_unnormalised(ctx: dict[str, Any] = ctx) -> bytes:
            # Renderer.render of the DOCX without its last step (normalise_docx).
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
            "dont Renderer.render seul (CPU)",
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
    print("« service » = build_context + Renderer.render (SandboxedEnvironment, StrictUndefined, finalize, puis")
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
    tpl = DocxTemplate(renderer.template_path(kind.output("docx")))
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

