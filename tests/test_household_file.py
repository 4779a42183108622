"""The household file's timeline (issue 13, "Un fil par ménage"): every kind of step appears, dated
and linked for those who may open it; a reader of another territory sees none of it.

The referral, decision, measure and meeting steps are in tests/test_thread.py; here: the bilans,
incidents, signed copies, renewals and closures (brief h19, point 1).
"""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import func, select

from schemas import get_kind
from tests.test_archive import jpeg_scan
from tests.test_mesures_web import meeting, open_mesure, start, started_doc
from tests.test_web import flatten
from webforms import db
from webforms.archive.deposit import deposit
from webforms.models import ArchiveLog, Document, User

LOT1 = ("asll-lot-1",)  # Annecy: the household's lot (ASLL §11)


def _row(page: str, label: str) -> tuple[str, str | None]:
    """The date and the link of the timeline row whose step contains ``label`` (one row only)."""
    steps = page.split("Chronologie", 1)[1]
    rows = [r for r in re.findall(r"<tr>(.*?)</tr>", steps, re.S) if label in r]
    assert len(rows) == 1, (label, rows)
    day = re.search(r'<td data-label="Date">([^<]*)</td>', rows[0])
    link = re.search(r'<td data-label="Étape"><a href="([^"]*)">', rows[0])
    assert day
    return day.group(1), link.group(1) if link else None


def _submit(web: Any, doc: Document, data: dict[str, Any]) -> None:
    response = web.post(f"/documents/{doc.id}/modifier", {**flatten(data), "action": "submit"})
    assert response.status_code == 302, response.get_data(as_text=True)


def test_the_timeline_shows_bilans_incidents_signed_copies_renewals_and_closures_to_its_territory_only(
    app: Flask, login_as: Any, make_user: Any, tmp_path: Path
) -> None:
    web, _ = login_as("redacteur", territoires=LOT1)
    mesure_id = open_mesure(web, type_mesure="asll_maintien", duree_mois="3", menage_commune="Annecy", date_bon_commande="2019-06-01",
                            date_premiere_rencontre="2019-06-05")
    assert web.post(f"/mesures/{mesure_id}/rencontres", meeting("2019-06-20", "visite_domicile")).status_code == 302
    # A Maintien bilan asking for a renewal (§9), transmitted on the clock's day (14 October 2019).
    bilan = started_doc(app, start(web, mesure_id, "bilan_asll_maintien"))
    example = get_kind("bilan_asll_maintien").example
    data = dict(bilan.data) | {k: v for k, v in example.items() if k not in ("mesure", "rencontres", "proposition")}
    data["objectifs"] = [{**row, "statut": "non_travaille"} for row in data["objectifs"]]
    data["proposition"] = {**data["proposition"], "proposition": "renouvellement", "motifs": "Plan d'apurement à tenir.", "duree_demandee_mois": 3}
    _submit(web, bilan, data)
    # An incident on the measure.
    incident = started_doc(app, start(web, mesure_id, "fiche_incident"))
    _submit(web, incident, dict(incident.data) | {k: v for k, v in get_kind("fiche_incident").example.items() if k not in ("mesure",)})
    # The DPDS grants the renewal (§8), the bilan's signed copy is archived, the measure is closed.
    dpds, _ = login_as("instructeur", org="Département de la Haute-Savoie", territoires=LOT1)
    decision = {"date_decision": "2019-10-14", "duree_mois": "3", "motif": "Plan d'apurement à tenir."}
    assert dpds.post(f"/mesures/{mesure_id}/renouvellements", decision).status_code == 302
    archivist = make_user("archiviste", "Département de la Haute-Savoie", LOT1)
    with app.app_context():
        s = db.session()
        record = deposit(s, app.extensions["webforms.archive"], s.get(Document, bilan.id), user=s.get(User, archivist.id),
                         stream=io.BytesIO(jpeg_scan()), filename="bilan signé.jpg", signature_kind="scan", workdir=tmp_path / "upload")
        bilan_ref, incident_ref, record_ref = s.get(Document, bilan.id).reference, s.get(Document, incident.id).reference, record.reference
    closing = {"date_fin": "2019-10-14", "motif": "demenagement", "commentaire": "Départ du ménage"}
    response = web.post(f"/mesures/{mesure_id}/cloture", closing)
    assert response.status_code == 302, response.get_data(as_text=True)

    expected = {
        f"{get_kind('bilan_asll_maintien').title} {bilan_ref} transmis": ("14 octobre 2019", f"/documents/{bilan.id}"),
        f"{get_kind('fiche_incident').title} {incident_ref} transmis": ("14 octobre 2019", f"/documents/{incident.id}"),
        f"Copie signée de {record_ref} archivée": ("14 octobre 2019", f"/documents/{bilan.id}"),
        "Renouvellement de 3 mois décidé": ("14 octobre 2019", f"/mesures/{mesure_id}"),
        "Mesure close : Départ du logement": ("14 octobre 2019", f"/mesures/{mesure_id}"),
    }
    for reader in (web, dpds):  # the operator's writer, the lot's instructeur (the DPDS)
        page = reader.get(f"/menages/{mesure_id}").get_data(as_text=True).replace("&#39;", "'")
        for label, (day, link) in expected.items():
            assert _row(page, label) == (day, link), label
            assert reader.get(link).status_code == 200, link  # the viewer may open what is linked
    # The lot's instructeur (the DPDS) and the writer find the household by name: the other side of the edge below.
    for reader in (dpds, web):
        found = reader.get("/menages/", query_string={"q": "Morel"}).get_data(as_text=True)
        assert f'href="/menages/{mesure_id}"' in found and "0 résultat" not in found
    with app.app_context():
        logged = db.session().scalar(select(func.count()).select_from(ArchiveLog).where(ArchiveLog.action == "household_view"))

    # Lot 2's instructeur and archivist, another operator's writer: the file is not found, none of it leaks.
    other_dpds, _ = login_as("instructeur", org="Département de la Haute-Savoie", territoires=("asll-lot-2",))
    other_archivist, _ = login_as("archiviste", org="Département de la Haute-Savoie", territoires=("asll-lot-2",))
    other_writer, _ = login_as("redacteur", org="Association Autre", territoires=("asll-lot-2",))
    for other in (other_dpds, other_writer, other_archivist):
        response = other.get(f"/menages/{mesure_id}")
        text = response.get_data(as_text=True)
        assert response.status_code == 404
        assert not any(ref in text for ref in (bilan_ref, incident_ref, record_ref, "Renouvellement", "Mesure close", "Morel"))
        for link in (f"/documents/{bilan.id}", f"/documents/{incident.id}", f"/mesures/{mesure_id}"):
            assert other.get(link).status_code == 404, link
    for other in (other_dpds, other_writer):  # the search does not find the household either (the archivist has none)
        found = other.get("/menages/", query_string={"q": "Morel"}).get_data(as_text=True)
        assert "0 résultat" in found and f"/menages/{mesure_id}" not in found
    with app.app_context():  # nothing opened, nothing logged
        assert db.session().scalar(select(func.count()).select_from(ArchiveLog).where(ArchiveLog.action == "household_view")) == logged
