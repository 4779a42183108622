"""The archive through its pages: deposit, search, record, download, export, retention, rules.

Exports are opened and checked for real: the SEDA manifest against the SEDA 2.2 schemas, the
BagIt bag with the ``bagit`` library. Electronic signatures are verified against trust roots
read from the instance's configured directory.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import zipfile
from pathlib import Path
from typing import Any

import bagit
import pytest
from flask import Flask
from sqlalchemy import select

from tests.conftest import Clock, WebClient, pdf_titled
from tests.databases import Databases
from tests.signing import make_pdf, make_pki, sign_pdf, write_trust_root
from tests.test_archive import jpeg_scan
from tests.test_mesures_web import open_mesure
from tests.test_web import doc_id_from, example_form, submitted
from webforms import create_app, db
from webforms.archive.export import validate_seda
from webforms.archive.verify import verify
from webforms.models import ArchiveLog, ArchiveRecord, DiplomeReferent, Document, Tombstone


def deposit(web: WebClient, doc_id: int, data: bytes, name: str = "scan.pdf", signature: str = "scan", motif: str | None = None) -> Any:
    form: dict[str, Any] = {"fichier": (io.BytesIO(data), name), "signature": signature}
    if motif is not None:
        form["motif"] = motif
    return web.post(f"/documents/{doc_id}/archiver", form, content_type="multipart/form-data")


def record_id_from(response: Any) -> int:
    match = re.fullmatch(r"/archives/(\d+)", response.headers["Location"])
    assert match, response.headers.get("Location")
    return int(match.group(1))


def records(app: Flask) -> list[tuple[int, int, str]]:
    with app.app_context():
        return [(r.id, r.document_id, r.signed_sha512) for r in db.session().scalars(select(ArchiveRecord).order_by(ArchiveRecord.id))]


def actions(app: Flask) -> list[tuple[str, int | None]]:
    with app.app_context():
        return [(r.action, r.record_id) for r in db.session().scalars(select(ArchiveLog).order_by(ArchiveLog.id))]


@pytest.fixture
def people(login_as: Any) -> dict[str, Any]:
    writer_web, writer = login_as("redacteur")
    other_web, _ = login_as("redacteur", "Association Autre")
    archivist_web, archivist = login_as("archiviste", "Département du Pas-de-Calais")
    second_web, _ = login_as("archiviste", "Département du Pas-de-Calais")
    instructeur_web, _ = login_as("instructeur", "Département du Pas-de-Calais")
    coordinateur_web, _ = login_as("coordinateur", "Plateforme Lens-Hénin")
    admin_web, _ = login_as("admin", "Département du Pas-de-Calais")
    return {
        "writer": writer_web, "writer_account": writer, "other": other_web, "archivist": archivist_web, "archivist_account": archivist,
        "second": second_web, "instructeur": instructeur_web, "coordinateur": coordinateur_web, "admin": admin_web,
    }


def test_deposit_page_archives_a_scan_and_refuses_a_disguised_file_in_french(app: Flask, people: dict[str, Any]) -> None:
    archivist = people["archivist"]
    doc_id = submitted(people["writer"], "fiche_saisine")
    # The archive's page lists the submitted documents still waiting for their signed copy.
    waiting = archivist.get("/archives").get_data(as_text=True)
    assert "en attente de leur copie signée (1)" in waiting and f'href="/documents/{doc_id}/archiver"' in waiting
    assert "Aucune vérification d'intégrité n'a encore été faite" in waiting.replace("&#39;", "'")
    page = archivist.get(f"/documents/{doc_id}").get_data(as_text=True)
    assert f'href="/documents/{doc_id}/archiver"' in page and "Archiver la copie signée" in page
    refused = deposit(archivist, doc_id, b"<html><body>faux</body></html>", "scan.pdf")
    body = refused.get_data(as_text=True).replace("&#39;", "'")
    assert refused.status_code == 422 and "Copie signée refusée" in body and "Rien n'a été modifié dans l'archive." in body
    assert records(app) == [] and actions(app) == []
    missing = archivist.post(f"/documents/{doc_id}/archiver", {"signature": "scan"}, content_type="multipart/form-data")
    assert missing.status_code == 422 and "Choisissez le fichier" in missing.get_data(as_text=True)
    scan = pdf_titled("Copie signée")
    done = deposit(archivist, doc_id, scan)
    assert done.status_code == 302
    record_id = record_id_from(done)
    page = archivist.get(f"/archives/{record_id}").get_data(as_text=True)
    assert "Copie signée archivée." in page and hashlib.sha512(scan).hexdigest() in page
    assert "Signature manuscrite numérisée" in page and "5 ans à compter de la date de soumission" in page
    # The document's page now links to its archived copy.
    assert f'href="/archives/{record_id}"' in archivist.get(f"/documents/{doc_id}").get_data(as_text=True)
    # A correction needs its reason; with it, a new record supersedes the first and both stay.
    again = deposit(archivist, doc_id, pdf_titled("deuxième"))
    assert again.status_code == 422 and "motif de la correction" in again.get_data(as_text=True)
    corrected = deposit(archivist, doc_id, jpeg_scan(), "scan.jpg", motif="Scan illisible")
    second_id = record_id_from(corrected)
    old = archivist.get(f"/archives/{record_id}").get_data(as_text=True)
    assert "remplacée par une correction" in old and f'href="/archives/{second_id}"' in old
    assert [a for a, _ in actions(app)] == ["deposit", "view", "deposit", "view"]
    assert "en attente de leur copie signée" not in archivist.get("/archives").get_data(as_text=True)


def test_electronically_signed_pdf_is_verified_against_the_configured_roots(tmp_path: Path, databases: Databases) -> None:
    pki = make_pki()
    instance = tmp_path / "instance"
    write_trust_root(instance / "certificats_confiance", pki.ca_cert)
    app = create_app({"TESTING": True, "INSTANCE_PATH": str(instance), "DATABASE_URL": databases.fresh(), "SECRET_KEY": "t", "CLOCK": Clock()})
    try:
        from webforms.accounts.services import create_organisation, create_user
        from webforms.territoires.services import attach

        with app.app_context():
            s = db.session()
            org = create_organisation(s, "Association")
            dep = create_organisation(s, "Département")
            writer_id = create_user(s, email="r@example.fr", full_name="R", role="redacteur", organisation_id=org.id, password="mot-de-passe-de-test-1234").id
            s.add(DiplomeReferent(user_id=writer_id, diplome="ass", recorded_by_id=writer_id))  # an ASLL referent (ASLL §4)
            archiviste = create_user(s, email="a@example.fr", full_name="A", role="archiviste", organisation_id=dep.id, password="mot-de-passe-de-test-1234")
            attach(s, archiviste, ["aml-lens-henin"])  # the example fiche saisine's platform (issue 13)
            s.commit()
        writer, archivist = WebClient(app.test_client()), WebClient(app.test_client())
        writer.get("/connexion")
        assert writer.post("/connexion", {"email": "r@example.fr", "password": "mot-de-passe-de-test-1234"}).status_code == 302
        archivist.get("/connexion")
        assert archivist.post("/connexion", {"email": "a@example.fr", "password": "mot-de-passe-de-test-1234"}).status_code == 302
        doc_id = submitted(writer, "fiche_saisine")
        signed = sign_pdf(make_pdf(), pki.signer_key, pki.signer_cert, pki.ca_cert)
        record_id = record_id_from(deposit(archivist, doc_id, signed, "signe.pdf", "electronique"))
        with app.app_context():
            check = db.session().get(ArchiveRecord, record_id).signature_check
        assert (check["signed"], check["intact"], check["valid"], check["trusted"]) == (True, True, True, True)
        page = archivist.get(f"/archives/{record_id}").get_data(as_text=True)
        assert "Jeanne Martin" in page and "autorité de confiance" in page
        # Signed by an authority that is not configured: archived, and said so.
        other = make_pki("Autre autorité", "Paul Durand", seed=2)
        untrusted = sign_pdf(make_pdf(b"Autre"), other.signer_key, other.signer_cert, other.ca_cert)
        second = record_id_from(deposit(archivist, doc_id, untrusted, "signe2.pdf", "electronique", motif="Nouvelle signature"))
        with app.app_context():
            check = db.session().get(ArchiveRecord, second).signature_check
        assert (check["intact"], check["valid"], check["trusted"]) == (True, True, False)
    finally:
        app.extensions["webforms.engine"].dispose()


def test_search_filters_pages_and_scope(app: Flask, people: dict[str, Any], clock: Clock) -> None:
    writer, archivist = people["writer"], people["archivist"]
    saisines = []
    for day in range(3):
        clock.now = dt.datetime(2019, 10, 14 + day, 8, 30, tzinfo=dt.UTC)
        saisines.append(submitted(writer, "fiche_saisine"))
    incident = submitted(writer, "fiche_incident")
    for doc_id in (*saisines, incident):
        assert deposit(archivist, doc_id, pdf_titled(f"scan {doc_id}")).status_code == 302
    with app.app_context():
        by_doc = {r.document_id: r for r in db.session().scalars(select(ArchiveRecord))}

    def found(web: WebClient, query: str = "") -> set[int]:
        response = web.get(f"/archives{query}")
        assert response.status_code == 200
        return {int(n) for n in re.findall(r'href="/archives/(\d+)"', response.get_data(as_text=True))}

    everything = {r.id for r in by_doc.values()}
    assert found(archivist) == everything
    assert found(archivist, "?type=fiche_incident") == {by_doc[incident].id}
    assert found(archivist, f"?reference={by_doc[saisines[1]].reference.lower()}") == {by_doc[saisines[1]].id}
    # The beginning of a reference finds them all; % and _ are taken literally.
    assert found(archivist, "?reference=fs-2019") == {by_doc[d].id for d in saisines}
    assert found(archivist, "?reference=%25") == set() and found(archivist, "?reference=FS_2019") == set()
    assert found(archivist, "?du=2019-10-15&au=2019-10-15") == {by_doc[saisines[1]].id}
    assert found(archivist, f"?organisation={people['writer_account'].organisation_id}") == everything
    bad = archivist.get("/archives?du=15/10/2019&type=inconnu").get_data(as_text=True)
    assert "date invalide, attendue au format AAAA-MM-JJ" in bad and "Type de document inconnu" in bad
    # Scope: the writer's organisation sees its own; another association nothing; the
    # coordinator the fiches saisine only (its kinds); the admin is refused.
    assert found(writer) == everything
    assert found(people["other"]) == set()
    assert found(people["coordinateur"]) == {by_doc[d].id for d in saisines}
    assert people["admin"].get("/archives").status_code == 403
    assert people["other"].get(f"/archives/{by_doc[incident].id}").status_code == 404
    # Pages of 20, newest deposit first.
    for n in range(18):
        assert deposit(archivist, saisines[0], pdf_titled(f"correction {n}"), motif=f"correction {n}").status_code == 302
    first = archivist.get("/archives?type=fiche_saisine").get_data(as_text=True)
    assert "21 enregistrements – page 1 sur 2" in first and "Page suivante" in first
    second = archivist.get("/archives?type=fiche_saisine&page=2").get_data(as_text=True)
    assert len(re.findall(r'href="/archives/(\d+)"', second)) == 1 and "Page précédente" in second
    assert "Remplacé par une correction" in first


def test_download_is_logged_and_serves_the_archived_bytes(app: Flask, people: dict[str, Any]) -> None:
    archivist, instructeur = people["archivist"], people["instructeur"]
    doc_id = submitted(people["writer"], "fiche_incident")
    scan = pdf_titled("incident signé")
    record_id = record_id_from(deposit(archivist, doc_id, scan))
    signed = instructeur.get(f"/archives/{record_id}/fichiers/signe")
    assert signed.status_code == 200 and signed.data == scan and "attachment" in signed.headers["Content-Disposition"]
    pdfa = instructeur.get(f"/archives/{record_id}/fichiers/pdfa")
    assert pdfa.mimetype == "application/pdf" and pdfa.data.startswith(b"%PDF")
    assert instructeur.get(f"/archives/{record_id}/fichiers/autre").status_code == 404
    assert actions(app)[-2:] == [("download", record_id), ("download", record_id)]


def test_a_missing_file_tells_the_archivist_the_administrator_knows_and_nothing_technical(
    app: Flask, people: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Issue 16, point 8: no command line shown to an archiviste; the administrator is told (the error log)."""
    archivist = people["archivist"]
    doc_id = submitted(people["writer"], "fiche_incident")
    record_id = record_id_from(deposit(archivist, doc_id, pdf_titled("incident signé")))
    # The other side first: the file is there, it is served and nothing is logged as an error.
    with caplog.at_level("ERROR"):
        assert archivist.get(f"/archives/{record_id}/fichiers/signe").status_code == 200
    assert not [r for r in caplog.records if "manquant" in r.getMessage()]
    with app.app_context():
        record = db.session().get(ArchiveRecord, record_id)
        path = app.extensions["webforms.archive"].archive.path(record.signed_sha512)
    path.chmod(0o644)
    path.unlink()
    before = actions(app)
    with caplog.at_level("ERROR"):
        missing = archivist.get(f"/archives/{record_id}/fichiers/signe")
    assert missing.status_code == 302
    assert actions(app) == before  # not served, so not logged as a download
    page = archivist.get(f"/archives/{record_id}").get_data(as_text=True)
    assert "introuvable" in page and "administrateur a été prévenu" in page
    for jargon in ("webforms", "verify", "lancez", "commande", "SHA"):
        assert jargon not in page.split("introuvable", 1)[1].split("</", 1)[0], jargon
    told = [r for r in caplog.records if "manquant" in r.getMessage()]
    assert told and str(record_id) in told[0].getMessage() and "webforms archive verify" in told[0].getMessage()


def _zip_of(response: Any) -> zipfile.ZipFile:
    assert response.status_code == 200 and response.mimetype == "application/zip", response.get_data(as_text=True)[:300]
    return zipfile.ZipFile(io.BytesIO(response.data))


def export_page_of(response: Any) -> str:
    """The export page a posted export sends its asker to."""
    assert response.status_code == 302, response.get_data(as_text=True)[:300]
    location = response.headers["Location"]
    assert re.fullmatch(r"/archives/exports/\d+", location), location
    return location


def exported(web: WebClient, form: dict[str, Any]) -> zipfile.ZipFile:
    """Ask an export, then download it from its page once a worker built it (as a user comes back)."""
    page = export_page_of(web.post("/archives/export", form))
    assert f'href="{page}/fichier"' in web.get(page).get_data(as_text=True)
    return _zip_of(web.get(f"{page}/fichier"))


def test_export_seda_and_bagit_of_a_selection(app: Flask, people: dict[str, Any], tmp_path: Path) -> None:
    archivist = people["archivist"]
    docs = [submitted(people["writer"], "fiche_saisine"), submitted(people["writer"], "fiche_incident")]
    scans = [pdf_titled("saisine signée"), jpeg_scan()]
    ids = [record_id_from(deposit(archivist, d, s, n)) for d, s, n in zip(docs, scans, ("a.pdf", "b.jpg"), strict=True)]
    with app.app_context():
        stored = {r.id: r for r in db.session().scalars(select(ArchiveRecord))}
    seda = exported(archivist, {"format": "seda", "record": [str(i) for i in ids]})
    manifest = seda.read("manifest.xml")
    assert validate_seda(manifest) == []
    text = manifest.decode()
    for record in stored.values():
        assert record.signed_sha512 in text and record.pdfa_sha512 in text
        assert record.reference in text
    names = seda.namelist()
    signed_names = [n for n in names if n.endswith("copie-signee.pdf")]
    assert len(signed_names) == 1 and seda.read(signed_names[0]) == scans[0]
    for menage_name in ("Durand", "Morel"):  # titles carry kinds and references, not households
        assert menage_name not in text
    bag_zip = exported(archivist, {"format": "bagit", "record": [str(ids[1])]})
    bag_zip.extractall(tmp_path / "bag")
    (bag_dir,) = (tmp_path / "bag").iterdir()
    bag = bagit.Bag(str(bag_dir))
    bag.validate()
    assert bag.algorithms == ["sha512"]
    assert actions(app)[-3:] == [("export", ids[0]), ("export", ids[1]), ("export", ids[1])]
    # Every result of a search, without ticking them one by one: here, the fiches d'incident.
    page = archivist.get("/archives?type=fiche_incident").get_data(as_text=True)
    assert "Exporter tous les résultats (1)" in page and 'name="type" value="fiche_incident"' in page
    everything = exported(archivist, {"format": "seda", "tout": "1", "type": "fiche_incident"})
    manifest = everything.read("manifest.xml").decode()
    assert validate_seda(everything.read("manifest.xml")) == []
    assert stored[ids[1]].reference in manifest and stored[ids[0]].reference not in manifest
    assert actions(app)[-1] == ("export", ids[1])
    # Nothing chosen, or an unknown format: a message, nothing exported or logged.
    before = actions(app)
    none = archivist.post("/archives/export", {"format": "seda"})
    assert none.status_code == 302 and "Cochez au moins un enregistrement" in archivist.get("/archives").get_data(as_text=True)
    nothing = archivist.post("/archives/export", {"format": "seda", "tout": "1", "reference": "XX-0000"})
    assert nothing.status_code == 302 and "Aucun enregistrement à exporter" in archivist.get("/archives").get_data(as_text=True)
    bad = archivist.post("/archives/export", {"format": "tar", "record": str(ids[0])})
    assert bad.status_code == 302 and "Choisissez le format" in archivist.get("/archives").get_data(as_text=True)
    assert people["instructeur"].post("/archives/export", {"format": "seda", "record": str(ids[0])}).status_code == 403
    assert actions(app) == before


def test_a_sheet_submitted_after_its_measure_ended_is_exported_alone_and_among_all_results(app: Flask, people: dict[str, Any]) -> None:
    writer, archivist = people["writer"], people["archivist"]
    # The measure ends on 5 September 2019; its incident sheet is submitted on 14 October (the clock).
    mesure_id = open_mesure(writer, date_bon_commande="2019-06-03", date_premiere_rencontre="2019-06-05", duree_mois="3")
    late = doc_id_from(writer.post(f"/mesures/{mesure_id}/documents/fiche_incident"))
    assert writer.post(f"/documents/{late}/modifier", {**example_form("fiche_incident"), "action": "submit"}).status_code == 302
    plain = submitted(writer, "fiche_saisine")
    ids = [record_id_from(deposit(archivist, d, pdf_titled("Copie signée"))) for d in (late, plain)]
    for chosen in ({"record": str(ids[0])}, {"tout": "1"}):
        seda = exported(archivist, {"format": "seda", **chosen})
        assert validate_seda(seda.read("manifest.xml")) == []
        manifest = seda.read("manifest.xml").decode()
        # The record covers the measure's end and the submission, in that order.
        assert "<StartDate>2019-09-05</StartDate>" in manifest and "<EndDate>2019-10-14</EndDate>" in manifest
        exported(archivist, {"format": "bagit", **chosen})
    assert [a for a in actions(app) if a[0] == "export"] == [("export", ids[0])] * 2 + [("export", ids[0]), ("export", ids[1])] * 2


def test_export_stops_on_a_damaged_file(app: Flask, people: dict[str, Any]) -> None:
    archivist = people["archivist"]
    doc_id = submitted(people["writer"], "fiche_saisine")
    record_id = record_id_from(deposit(archivist, doc_id, pdf_titled("Copie signée")))
    with app.app_context():
        record = db.session().get(ArchiveRecord, record_id)
        path = app.extensions["webforms.archive"].archive.path(record.signed_sha512)
    path.chmod(0o644)
    path.write_bytes(path.read_bytes().replace(b"Copie", b"Copi3"))
    before = actions(app)
    response = archivist.post("/archives/export", {"format": "bagit", "record": str(record_id)})
    assert response.status_code == 302
    # The worker finds the damage: the export's page says so, and nothing is offered.
    page = archivist.get(export_page_of(response)).get_data(as_text=True)
    assert "Export impossible" in page and "/fichier" not in page
    assert actions(app) == before


def test_retention_visa_then_destruction_by_another_archivist(app: Flask, people: dict[str, Any], clock: Clock) -> None:
    archivist, second = people["archivist"], people["second"]
    doc_id = submitted(people["writer"], "fiche_saisine")
    record_id = record_id_from(deposit(archivist, doc_id, pdf_titled("Copie signée")))
    assert "Aucun document ni aucune mesure n'a atteint le terme" in archivist.get("/archives/conservation").get_data(as_text=True)
    clock.now = dt.datetime(2025, 2, 3, 9, 0, tzinfo=dt.UTC)
    page = archivist.get("/archives/conservation").get_data(as_text=True)
    assert f'name="document" value="{doc_id}"' in page and "14 octobre 2024" in page
    incomplete = archivist.post("/archives/conservation/visa", {"document": str(doc_id), "numero": "2025-7", "date_visa": "", "signataire": ""})
    body = incomplete.get_data(as_text=True)
    # Refused with its reason, and what was typed and ticked is still there.
    assert incomplete.status_code == 422 and "numéro, une date et un signataire" in body
    assert 'value="2025-7"' in body and f'value="{doc_id}" id="due-{doc_id}" aria-label="Sélectionner' in body and "checked" in body
    bad_date = archivist.post("/archives/conservation/visa", {"document": str(doc_id), "numero": "2025-7", "date_visa": "30/01/2025", "signataire": "D"})
    assert bad_date.status_code == 422 and "Date du visa invalide" in bad_date.get_data(as_text=True)
    archivist.post("/archives/conservation/visa", {"document": str(doc_id), "numero": "2025-7", "date_visa": "2025-01-30", "signataire": "Directrice des Archives"})
    page = archivist.get("/archives/conservation").get_data(as_text=True)
    assert "Visa n° 2025-7 enregistré" in page and "À faire par un autre archiviste" in page
    with app.app_context():
        visa_id = db.session().scalar(select(ArchiveLog.detail).where(ArchiveLog.action == "destruction_visa"))["visa_id"]
    archivist.post(f"/archives/visas/{visa_id}/eliminer")
    assert "autre archiviste" in archivist.get("/archives/conservation").get_data(as_text=True)
    assert second.post(f"/archives/visas/{visa_id}/eliminer").status_code == 302
    assert "Élimination effectuée (1 enregistrement)" in second.get("/archives/conservation").get_data(as_text=True)
    with app.app_context():
        tomb = db.session().scalar(select(Tombstone))
        assert tomb.record_id == record_id and tomb.visa.numero == "2025-7"
    record_page = second.get(f"/archives/{record_id}").get_data(as_text=True)
    assert "Éliminé le" in record_page and "visa n° 2025-7" in record_page
    gone = second.get(f"/archives/{record_id}/fichiers/signe")
    assert gone.status_code == 302 and "a été éliminé" in second.get(f"/archives/{record_id}").get_data(as_text=True)
    assert "Élimination" in record_page


def test_an_eliminated_record_is_no_longer_found_by_household_name_or_free_text(app: Flask, people: dict[str, Any], clock: Clock) -> None:
    """Issue 16, point 9 (privacy): once eliminated, what a record said of the household no longer finds it."""
    archivist, second, writer = people["archivist"], people["second"], people["writer"]
    form = {**example_form("fiche_saisine"), "menage-demandeur-nom": "Zébulon", "situation-description": "Expulsion prévue.", "action": "submit"}
    doc_id = doc_id_from(writer.post("/documents/nouveau/fiche_saisine", form))
    record_id = record_id_from(deposit(archivist, doc_id, pdf_titled("Copie signée")))

    def found(**query: str) -> set[int]:
        return {int(n) for n in re.findall(r'href="/archives/(\d+)"', archivist.get("/archives", query_string=query).get_data(as_text=True))}

    # Before the elimination: found by the name and by a word of the text.
    assert found(nom="zebulon") == {record_id} and found(texte="expulsion") == {record_id}
    clock.now = dt.datetime(2025, 2, 3, 9, 0, tzinfo=dt.UTC)
    archivist.post("/archives/conservation/visa", {"document": str(doc_id), "numero": "2025-8", "date_visa": "2025-01-30", "signataire": "Directrice des Archives"})
    with app.app_context():
        visa_id = db.session().scalar(select(ArchiveLog.detail).where(ArchiveLog.action == "destruction_visa"))["visa_id"]
    assert second.post(f"/archives/visas/{visa_id}/eliminer").status_code == 302
    with app.app_context():
        assert db.session().scalar(select(Tombstone)).record_id == record_id
    # After: neither finds it; its tombstone is still listed by type (the elimination is on record).
    assert found(nom="zebulon") == set() and found(texte="expulsion") == set()
    assert record_id in found(type="fiche_saisine")


def test_admin_sets_a_rule_and_sees_its_default(app: Flask, people: dict[str, Any]) -> None:
    admin = people["admin"]
    page = admin.get("/admin/conservation").get_data(as_text=True)
    assert "Versement aux Archives départementales" in page and "Par défaut" in page
    refused = admin.post("/admin/conservation", {"type": "fiche_saisine", "annees": "0", "sort": "destruction"})
    assert refused.status_code == 422 and "de 1 à 100" in refused.get_data(as_text=True)
    refused = admin.post("/admin/conservation", {"type": "fiche_incident", "annees": "3", "sort": "brûler", "note": "Tableau de gestion 2020"})
    body = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "sort final" in body
    assert 'value="3"' in body and 'value="Tableau de gestion 2020"' in body and '<option value="fiche_incident" selected>' in body
    assert admin.post("/admin/conservation", {"type": "fiche_saisine", "annees": "3", "sort": "transfert", "note": "Délibération n° 12"}).status_code == 302
    page = admin.get("/admin/conservation").get_data(as_text=True)
    assert "Délibération n° 12" in page
    assert [a for a, _ in actions(app)] == ["retention_rule"]


def test_the_journal_file_follows_every_committed_row(app: Flask, people: dict[str, Any]) -> None:
    archivist = people["archivist"]
    doc_id = submitted(people["writer"], "fiche_saisine")
    record_id = record_id_from(deposit(archivist, doc_id, pdf_titled("Copie signée")))
    archivist.get(f"/archives/{record_id}")
    with app.app_context():
        rows = [(r.id, r.hash) for r in db.session().scalars(select(ArchiveLog).order_by(ArchiveLog.id))]
    assert [a for a, _ in actions(app)] == ["deposit", "view"]
    assert app.extensions["webforms.archive"].archive.witnessed() == rows


def test_admin_configures_the_trust_roots_used_by_the_next_verifications(app: Flask, people: dict[str, Any]) -> None:
    from cryptography.hazmat.primitives import serialization

    admin, archivist = people["admin"], people["archivist"]
    pki = make_pki()
    ca_pem = pki.ca_cert.public_bytes(serialization.Encoding.PEM)

    def upload_root(data: bytes, name: str = "autorite.pem") -> Any:
        return admin.post("/admin/certificats", {"certificat": (io.BytesIO(data), name)}, content_type="multipart/form-data")

    assert "Aucune autorité configurée" in admin.get("/admin/certificats").get_data(as_text=True)
    for data, message in (
        (b"pas un certificat", "n'est pas un certificat PEM ou DER lisible"),
        (pki.signer_cert.public_bytes(serialization.Encoding.PEM), "n'est pas le certificat d'une autorité de certification"),
        (b"", "Déposez le certificat de l'autorité"),
    ):
        refused = upload_root(data)
        text = refused.get_data(as_text=True).replace("&#39;", "'")
        # Said beside the file field, which it describes (issue 16, point 7), not at the top.
        field = re.search(
            r'<p class="error-message" id="certificat-error"><span class="visually-hidden">Erreur : </span>([^<]*)</p>\s*<input type="file" id="certificat"[^>]*>', text
        )
        assert refused.status_code == 422 and field and message in field.group(1), text
        assert 'aria-invalid="true"' in field.group(0) and 'aria-describedby="certificat-help certificat-error"' in field.group(0)
        assert "error-summary" not in text
    assert 'id="certificat-error"' not in admin.get("/admin/certificats").get_data(as_text=True)
    assert upload_root(pki.ca_cert.public_bytes(serialization.Encoding.DER), "autorite.cer").status_code == 302
    page = admin.get("/admin/certificats").get_data(as_text=True)
    assert "Autorité de test webforms" in page
    again = upload_root(ca_pem)
    assert again.status_code == 422 and "déjà une autorité de confiance" in again.get_data(as_text=True).replace("&#39;", "'")

    doc_id = submitted(people["writer"], "fiche_saisine")
    signed = sign_pdf(make_pdf(), pki.signer_key, pki.signer_cert, pki.ca_cert)
    first = record_id_from(deposit(archivist, doc_id, signed, "signe.pdf", "electronique"))
    fingerprint = re.search(r"/admin/certificats/([0-9a-f]{64})/retirer", page).group(1)  # type: ignore[union-attr]
    assert admin.post(f"/admin/certificats/{fingerprint}/retirer").status_code == 302
    assert "Autorité retirée : Common Name: Autorité de test webforms" in admin.get("/admin/certificats").get_data(as_text=True)
    resigned = sign_pdf(make_pdf(b"Autre version"), pki.signer_key, pki.signer_cert, pki.ca_cert)
    second = record_id_from(deposit(archivist, doc_id, resigned, "signe2.pdf", "electronique", motif="Nouvelle signature"))
    with app.app_context():
        checks = [db.session().get(ArchiveRecord, i).signature_check["trusted"] for i in (first, second)]
    assert checks == [True, False]  # the earlier verification stays as it was recorded
    assert [a for a, _ in actions(app) if a.startswith("trust_root")] == ["trust_root_added", "trust_root_removed"]
    assert people["archivist"].get("/admin/certificats").status_code == 403


def test_concurrent_views_are_all_logged_and_the_chain_holds(app: Flask, people: dict[str, Any]) -> None:
    """Several workers reading the same record at once: every view is in the trail, in one chain."""
    import threading

    archivist = people["archivist"]
    doc_id = submitted(people["writer"], "fiche_saisine")
    record_id = record_id_from(deposit(archivist, doc_id, pdf_titled("Copie signée")))
    clients = [people[name] for name in ("archivist", "second", "instructeur", "coordinateur", "writer")]
    statuses: list[int] = []
    lock = threading.Lock()

    def read(web: WebClient) -> None:
        for _ in range(4):
            status = web.client.get(f"/archives/{record_id}").status_code
            with lock:
                statuses.append(status)

    threads = [threading.Thread(target=read, args=(web,)) for web in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Writers collide (without the retries, about a third of these views failed): each one
    # is retried, so every page is shown, and each shown page is in the trail.
    assert statuses == [200] * 20
    assert [a for a, _ in actions(app)].count("view") == 20
    with app.app_context():
        assert verify(db.session(), app.extensions["webforms.archive"]).problems == []


def test_search_by_household_name_ignores_case_and_accents_within_the_readers_scope(app: Flask, login_as: Any) -> None:
    """Issue 16, point 9: an archiviste finds a household's records by its name, as typed or not."""
    writer, _ = login_as("redacteur")
    archivist, _ = login_as("archiviste", "Département du Pas-de-Calais")

    def referral(nom: str, prenom: str, epci: str = "CALL") -> int:
        form = {**example_form("fiche_saisine"), "menage-demandeur-nom": nom, "menage-demandeur-prenom": prenom, "territoire-epci": epci, "action": "submit"}
        return doc_id_from(writer.post("/documents/nouveau/fiche_saisine", form))

    lefevre, durand = referral("Lefèvre-Dupré", "Élodie"), referral("Durand", "Julie")
    # A document held by a measure: the measure's household name counts (its summary too).
    mesure_id = open_mesure(writer, menage_nom="Cœurdacier", menage_prenom="Anaïs", type_mesure="asll_maintien", duree_mois="6")
    started = writer.post(f"/mesures/{mesure_id}/documents/fiche_incident")
    incident = int(re.search(r"/documents/(\d+)/modifier", started.headers["Location"]).group(1))  # type: ignore[union-attr]
    form = {k: v for k, v in example_form("fiche_incident").items() if not k.startswith("mesure-")}
    with app.app_context():
        form |= {f"mesure-{k}": v for k, v in db.session().get(Document, incident).data["mesure"].items() if isinstance(v, str)}
    assert writer.post(f"/documents/{incident}/modifier", form | {"action": "submit"}).status_code == 302
    for doc_id in (lefevre, durand, incident):
        assert deposit(archivist, doc_id, pdf_titled(f"scan {doc_id}")).status_code == 302
    with app.app_context():
        by_doc = {r.document_id: r.id for r in db.session().scalars(select(ArchiveRecord))}

    def found(web: WebClient, name: str) -> set[int]:
        response = web.get("/archives", query_string={"nom": name})
        assert response.status_code == 200
        return {int(n) for n in re.findall(r'href="/archives/(\d+)"', response.get_data(as_text=True))}

    # Any case, without accents, a part of the name, the words in any order, hyphen or space.
    for typed in ("Lefèvre-Dupré", "LEFEVRE DUPRE", "lefev", "elodie lefevre", "DUPRÉ"):
        assert found(archivist, typed) == {by_doc[lefevre]}, typed
    assert found(archivist, "coeurdacier anais") == {by_doc[incident]}
    assert found(archivist, "Cœurdacier") == {by_doc[incident]}
    # The other side: another name, a word matching nothing, a commune (not the name), a wildcard.
    assert found(archivist, "Durand") == {by_doc[durand]}
    assert found(archivist, "Lefèvre Julie") == set()
    assert found(archivist, "Martin") == set()
    assert found(archivist, "Liévin") == set()  # the example's commune, in the summary after the name
    assert found(archivist, "%") == set() and found(archivist, "_") == set()
    assert found(archivist, "   ") == set(by_doc.values())  # no word: no filter
    # Scope: another association, and the Artois coordinator (a Lens-Hénin household), find nothing;
    # the Lens-Hénin coordinator finds the referral.
    other, _ = login_as("redacteur", "Association Autre")
    assert found(other, "Lefèvre") == set()
    artois, _ = login_as("coordinateur", org="Plateforme Logement d'abord Artois", territoires=("aml-artois",))
    assert found(artois, "Lefèvre") == set()
    lens, _ = login_as("coordinateur", org="Plateforme Logement d'abord Lens-Hénin", territoires=("aml-lens-henin",))
    assert found(lens, "Lefèvre") == {by_doc[lefevre]}


def test_free_text_search_finds_words_of_the_submitted_document_within_the_readers_scope(app: Flask, login_as: Any) -> None:
    """Issue 16, point 9: "free text for those allowed": words of what was submitted, not the form's field names."""
    writer, _ = login_as("redacteur")
    archivist, _ = login_as("archiviste", "Département du Pas-de-Calais")

    def referral(description: str, motif: str) -> int:
        form = {**example_form("fiche_saisine"), "situation-description": description, "orientation-motif": motif, "action": "submit"}
        return doc_id_from(writer.post("/documents/nouveau/fiche_saisine", form))

    hebergee = referral("Hébergée chez une amie à Hénin-Beaumont, expulsion prévue en février.", "Relogement rapide.")
    incendie = referral("Dette de loyer après l'incendie du logement.", "Relogement après sinistre.")
    for doc_id in (hebergee, incendie):
        assert deposit(archivist, doc_id, pdf_titled(f"scan {doc_id}")).status_code == 302
    with app.app_context():
        by_doc = {r.document_id: r.id for r in db.session().scalars(select(ArchiveRecord))}

    def found(web: WebClient, text: str) -> set[int]:
        response = web.get("/archives", query_string={"texte": text})
        assert response.status_code == 200
        return {int(n) for n in re.findall(r'href="/archives/(\d+)"', response.get_data(as_text=True))}

    # Any case, without accents, every word somewhere (description, motif, any nested text).
    assert found(archivist, "EXPULSION fevrier") == {by_doc[hebergee]}
    assert found(archivist, "henin beaumont") == {by_doc[hebergee]}
    assert found(archivist, "INCENDIE dette") == {by_doc[incendie]}
    assert found(archivist, "Conseillère") == {by_doc[hebergee], by_doc[incendie]}  # the prescriber, in both
    # The other side: a word of one and a word of the other, a word in neither, a field's name.
    assert found(archivist, "expulsion incendie") == set()
    assert found(archivist, "cambriolage") == set()
    assert found(archivist, "parcours_institutionnel") == set() and found(archivist, "precisions_besoins") == set()
    assert found(archivist, "%") == set()
    # Those allowed: who may open the document. Another association and the Artois coordinator
    # find nothing; the Lens-Hénin coordinator finds it.
    other, _ = login_as("redacteur", "Association Autre")
    assert found(other, "expulsion") == set()
    artois, _ = login_as("coordinateur", org="Plateforme Logement d'abord Artois", territoires=("aml-artois",))
    assert found(artois, "expulsion") == set()
    lens, _ = login_as("coordinateur", org="Plateforme Logement d'abord Lens-Hénin", territoires=("aml-lens-henin",))
    assert found(lens, "expulsion") == {by_doc[hebergee]}


def test_the_document_s_thread_and_its_attachments_travel_with_its_record_seda_and_bagit(app: Flask, people: dict[str, Any], tmp_path: Path) -> None:
    """Issue 14: "the thread belongs to the document's record and is part of its archive export"."""
    archivist, writer = people["archivist"], people["writer"]
    doc_id = submitted(writer, "fiche_saisine")
    attachment = pdf_titled("Avis d'imposition (pièce jointe)")
    coordinator = people["coordinateur"]
    assert writer.post(f"/documents/{doc_id}/messages", {"texte": "Voici l'avis.", "fichier": (io.BytesIO(attachment), "avis.pdf")},
                       content_type="multipart/form-data").status_code == 302
    assert coordinator.post(f"/documents/{doc_id}/messages", {"texte": "Bien reçu, merci."}).status_code == 302
    record_id = record_id_from(deposit(archivist, doc_id, pdf_titled("Copie signée")))
    for fmt in ("seda", "bagit"):
        package = exported(archivist, {"format": fmt, "record": str(record_id)})
        names = {n.rsplit("/", 1)[-1]: n for n in package.namelist()}
        transcript = json.loads(package.read(names["discussion.json"]))
        assert [(m["texte"], m["nature"]) for m in transcript] == [("Voici l'avis.", "Message"), ("Bien reçu, merci.", "Message")]
        (joined,) = transcript[0]["pieces_jointes"]
        assert joined["nom_d_origine"] == "avis.pdf" and transcript[1]["pieces_jointes"] == []
        assert package.read(names[joined["fichier"]]) == attachment
        if fmt == "seda":
            manifest = package.read("manifest.xml")
            assert validate_seda(manifest) == [] and joined["fichier"].encode() in manifest and b"discussion.json" in manifest
        else:
            bag = extract_bag(package, tmp_path / "bag")
            assert bagit.Bag(str(bag)).is_valid()


def extract_bag(package: zipfile.ZipFile, target: Path) -> Path:
    package.extractall(target)
    (bag,) = [p.parent for p in target.rglob("bagit.txt")]
    return bag


def test_a_record_without_a_thread_exports_no_transcript(app: Flask, people: dict[str, Any]) -> None:
    doc_id = submitted(people["writer"], "fiche_saisine")
    record_id = record_id_from(deposit(people["archivist"], doc_id, pdf_titled("Copie signée")))
    package = exported(people["archivist"], {"format": "bagit", "record": str(record_id)})
    assert not any("discussion" in n for n in package.namelist())
