"""The figures as plain values for the page and the PDF report, and as an XLSX workbook.

The page, the PDF and the spreadsheet read the same ``Figures`` (one set of queries); the PDF goes
through the one HTML → PDF path (the renderer's locked-down environment and ``AssetFetcher``).
"""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

from markupsafe import Markup
from openpyxl import Workbook

from schemas.base.kind import Output
from webforms.documents.services import Services
from webforms.mesures.lots import ASLL_TYPES
from webforms.mesures.rules import TYPES
from webforms.rendering.context import date_fr
from webforms.statistiques.charts import bar_chart
from webforms.statistiques.services import FIGURES, Figures

REPORT = Output("statistiques", "Chiffres des mesures", "pdf", "statistiques.html")
# The tables and charts alone, which the page shows: the same template as the report's body.
TABLES = Output("statistiques_tableaux", "Chiffres des mesures", "pdf", "_statistiques.html")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def days_text(value: float | None) -> str:
    """An average duration in days, one decimal, the French way ("–" when nothing ended)."""
    return "–" if value is None else f"{value:.1f}".replace(".", ",")


def context(figures: Figures, lots: list[dict[str, Any]], *, year: int) -> dict[str, Any]:
    """The plain values of the page and the PDF: the period, the tables, the charts."""
    rows = [*figures.rows, figures.total] if figures.rows else []
    labels = [f"{r['territoire']} – {r['type_mesure']}" for r in figures.rows]
    return {
        "periode": {"du": date_fr(figures.period.first), "au": date_fr(figures.period.last), "aujourdhui": date_fr(figures.today)},
        "territoire": figures.territoire or "Tous vos territoires",
        "colonnes": FIGURES,
        "lignes": [{**r, "duree_moyenne": days_text(r["duree_moyenne"])} for r in rows],
        "incidents": figures.incidents,
        "issues": figures.outcomes,
        "annee_lots": year,
        "lots": lots,
        "types_lots": {t: TYPES[t] for t in ASLL_TYPES},
        "graphiques": _charts(figures, labels, lots, year),
    }


def _charts(figures: Figures, labels: list[str], lots: list[dict[str, Any]], year: int) -> dict[str, Markup]:
    """Each chart, beside the table that holds its numbers."""
    charts = {}
    if figures.rows:
        charts["mesures"] = bar_chart(
            "Mesures commandées, commencées et terminées", "Par territoire et type de mesure ; les nombres sont dans le tableau des chiffres.",
            labels, [(FIGURES[k], [r[k] for r in figures.rows]) for k in ("commandees", "commencees", "terminees")],
        )
        charts["bilans"] = bar_chart(
            "Bilans transmis à temps et en retard", "Par territoire et type de mesure ; les nombres sont dans le tableau des chiffres.",
            labels, [(FIGURES[k], [r[k] for r in figures.rows]) for k in ("bilans_a_temps", "bilans_en_retard")],
        )
    if figures.incidents:
        charts["incidents"] = bar_chart(
            "Incidents par nature", "Fiches d'incident transmises sur la période ; les nombres sont dans le tableau des incidents.",
            [f"{r['nature']} ({r['territoire']}, {r['type_mesure']})" for r in figures.incidents], [("Incidents", [r["nombre"] for r in figures.incidents])],
        )
    if lots:
        charts["lots"] = bar_chart(
            f"Mesures ASLL commandées en {year} par lot (CCTP ASLL §11)", "Le total de chaque lot, son minimum et son maximum ; les nombres sont dans le tableau des lots.",
            [r["lot"] for r in lots], [("Total", [r["total"] for r in lots]), ("Minimum", [r["minimum"] or 0 for r in lots]), ("Maximum", [r["maximum"] or 0 for r in lots])],
        )
    return charts


def tables_html(svc: Services, ctx: dict[str, Any]) -> Markup:
    """The tables and charts for the page, rendered (escaped) by the document environment the report uses."""
    # Safe: the sandboxed environment escaped every value (make_env autoescapes).
    return Markup(svc.renderer.html(TABLES, ctx))


def report_pdf(svc: Services, ctx: dict[str, Any]) -> bytes:
    """The figures as a PDF report: the same tables and charts as the page."""
    return svc.renderer.render(REPORT, ctx)


def workbook(figures: Figures, lots: list[dict[str, Any]], *, year: int) -> bytes:
    """The figures as an XLSX workbook: one sheet per table, numbers as numbers."""
    book = Workbook()
    sheet = book.active
    sheet.title = "Chiffres"
    sheet.append(["Période du", figures.period.first, "au", figures.period.last, "Territoire", figures.territoire or "Tous vos territoires"])
    sheet.append(["Territoire", "Type de mesure", *FIGURES.values()])
    for r in [*figures.rows, figures.total] if figures.rows else []:
        average = None if r["duree_moyenne"] is None else round(r["duree_moyenne"], 1)
        sheet.append([r["territoire"], r["type_mesure"], *(average if k == "duree_moyenne" else r[k] for k in FIGURES)])
    incidents = book.create_sheet("Incidents")
    incidents.append(["Territoire", "Type de mesure", "Nature de l'incident", "Nombre"])
    for r in figures.incidents:
        incidents.append([r["territoire"], r["type_mesure"], r["nature"], r["nombre"]])
    outcomes = book.create_sheet("Issues")
    outcomes.append(["Territoire", "Type de mesure", "Issue de la mesure", "Nombre"])
    for r in figures.outcomes:
        outcomes.append([r["territoire"], r["type_mesure"], r["issue"], r["nombre"]])
    sheet_lots = book.create_sheet(f"Lots ASLL {year}")
    sheet_lots.append(["Lot", *(TYPES[t] for t in ASLL_TYPES), "Total", "Minimum", "Maximum", "État (CCTP ASLL §11)"])
    for r in lots:
        sheet_lots.append([r["lot"], *(r[t] for t in ASLL_TYPES), r["total"], r["minimum"], r["maximum"], r["etat"]])
    for ws in book.worksheets:
        for cell in ws[1 if ws is not sheet else 2]:
            cell.style = "Headline 4"
    for row in sheet.iter_rows(min_row=1, max_row=1):
        for cell in row:
            if isinstance(cell.value, dt.date):
                cell.number_format = "DD/MM/YYYY"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
