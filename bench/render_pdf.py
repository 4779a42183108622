"""Section 2 of the render bench: the service's PDF against raw WeasyPrint and the peers' LibreOffice."""

from __future__ import annotations

from typing import Any

from benchkit import Job, both, interleaved, ms, pct, pdf_pages, table, title
from peer_pipeline import UnoServer, start_warm
from render_data import SIZES, meta
from weasyprint import HTML

from webforms.rendering import Renderer
from webforms.rendering.context import build_context


def bench_pdf(
    kind: Any,
    renderer: Renderer,
    datasets: dict[int, dict[str, Any]],
    docx_out: dict[int, dict[str, Any]],
    use_lo: bool,
    results: dict[str, Any],
    missed: list[str],
) -> dict[int, dict[str, Any]]:
    """Compare the service's PDF with raw WeasyPrint and with LibreOffice at each size; print and return the figures."""
    title("2. PDF : service (WeasyPrint, PDF/A-3b) contre WeasyPrint brut contre DOCX + LibreOffice (unoserver)")
    lo: UnoServer | None = None
    lo_reason = None
    lo_status = ""
    lo_pids: list[int] = []
    if not use_lo:
        lo_reason = "désactivé (--no-libreoffice)"
    else:
        try:
            lo, lo_status, lo_pids = start_warm(docx_out[min(datasets)]["docx"])
        except Exception as exc:
            lo_reason = str(exc) or type(exc).__name__
    print(f"LibreOffice : {lo_status}" if lo is not None else f"LibreOffice indisponible: {lo_reason}")

    # Warm WeasyPrint once (fonts, hyphenation dictionaries) before timing anything.
    small = min(datasets)
    ctx = build_context(kind, datasets[small], meta())
    document = kind.output("pdf")
    renderer.render(document, ctx)
    fetcher = renderer.printer().fetcher  # the service's own: raw WeasyPrint reads the same assets
    HTML(string=renderer.html(document, ctx), url_fetcher=fetcher).write_pdf()

    out: dict[int, dict[str, Any]] = {}
    try:
        for n, data in datasets.items():
            runs = SIZES[n][1]
            ctx = build_context(kind, data, meta())
            html = renderer.html(document, ctx)
            docx = docx_out[n]["docx"]

            def service(data: dict[str, Any] = data) -> bytes:
                return renderer.render(document, build_context(kind, data, meta()))

            def raw(html: str = html) -> bytes:
                return HTML(string=html, url_fetcher=fetcher).write_pdf()

            def templating(data: dict[str, Any] = data) -> str:
                return renderer.html(document, build_context(kind, data, meta()))

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

