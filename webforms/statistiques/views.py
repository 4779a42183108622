"""The statistics page, its PDF report and its XLSX export (issue 13): the same figures, three forms."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, abort, render_template, request
from flask.typing import ResponseReturnValue
from flask_login import current_user, login_required

from webforms import db, policy
from webforms.mesures.lots import lot_counts
from webforms.statistiques import exports
from webforms.statistiques.services import NONE_CODE, Figures, StatisticsError, figures, parse_period, readable_territories
from webforms.web import services

bp = Blueprint("statistiques", __name__, url_prefix="/statistiques")


@bp.before_request
@login_required
def _allowed() -> None:
    """Require a signed-in reader of the Département's figures for every page here."""
    if not policy.can_view_statistics(current_user):
        abort(403)


def _read() -> tuple[Figures, list[dict[str, Any]], int]:
    """The figures the query string asks for; a wrong period or territory raises ``StatisticsError``."""
    today = services().today()
    period = parse_period(request.args.get("du"), request.args.get("au"), today)
    session = db.session()
    found = figures(session, current_user, period, today=today, territoire=request.args.get("territoire") or None)
    return found, lot_counts(session, current_user, period.last.year), period.last.year


def _page(ctx: dict[str, Any] | None, error: str | None = None, tables: str = "") -> ResponseReturnValue:
    """The page, with the figures or, for a period or territory refused, its message (422)."""
    territories = readable_territories(db.session(), current_user)
    # Only the three parameters go back into the links (another name could clash with url_for's own).
    args = {k: request.args[k] for k in ("du", "au", "territoire") if request.args.get(k)}
    html = render_template("statistiques.html", s=ctx, tables=tables, territoires=territories, none_code=NONE_CODE, args=args, error=error)
    return (html, 422) if error else html


@bp.get("/")
def page() -> ResponseReturnValue:
    """The figures per territory and measure type for a period, with their charts."""
    try:
        found, lots, year = _read()
    except StatisticsError as exc:
        return _page(None, str(exc))
    ctx = exports.context(found, lots, year=year)
    return _page(ctx, tables=exports.tables_html(services().documents, ctx))


@bp.get("/rapport.pdf")
def report() -> ResponseReturnValue:
    """The same figures and charts as a PDF report."""
    try:
        found, lots, year = _read()
    except StatisticsError as exc:
        return _page(None, str(exc))
    pdf = exports.report_pdf(services().documents, exports.context(found, lots, year=year))
    return Response(pdf, mimetype="application/pdf", headers={"Content-Disposition": 'attachment; filename="chiffres-mesures.pdf"'})


@bp.get("/chiffres.xlsx")
def spreadsheet() -> ResponseReturnValue:
    """The same figures as an XLSX workbook."""
    try:
        found, lots, year = _read()
    except StatisticsError as exc:
        return _page(None, str(exc))
    return Response(exports.workbook(found, lots, year=year), mimetype=exports.XLSX_MIME, headers={"Content-Disposition": 'attachment; filename="chiffres-mesures.xlsx"'})
