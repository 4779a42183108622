"""Public pages, open without signing in: the accessibility statement (RGAA 4.1, issue 16 point 11).

A Département's online service must publish one (loi n° 2005-102, article 47; décret
n° 2019-768): its compliance status, what is not accessible, how to report a problem and the
recourse. The contact and the date of the last audit are the deployment's configuration.
"""

from __future__ import annotations

from flask import Blueprint, current_app, render_template

bp = Blueprint("pages", __name__)


@bp.get("/accessibilite")
def accessibility() -> str:
    """Show the accessibility statement."""
    config = current_app.config
    return render_template(
        "accessibilite.html",
        organisme=config["ORGANISME_NOM"],
        contact=config["ACCESSIBILITE_CONTACT"],
        audit=config["ACCESSIBILITE_AUDIT"],
    )
