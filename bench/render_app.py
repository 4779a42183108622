"""Sections 3 and 4 of the render bench: frozen downloads through the app, and WeasyPrint's import."""

from __future__ import annotations

import gc
import hashlib
import json
import re
import shutil
import statistics
import subprocess
import sys
import time
from typing import Any

from benchkit import PASSWORD, ROOT, bench_writer, ms, p95, table, temporary_app, title
from render_data import DOWNLOAD_TARGET, DOWNLOADS, FIXED_NOW, IMPORT_RUNS

_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def count_renders(renderer: Any) -> dict[str, int]:
    """Count by format, from now on, every DOCX and PDF ``renderer`` makes; return the live counts.

    Every render goes through ``Renderer.render(output, context)`` (the service's submission, its
    previews, the dossier's pages): counting there sees them all. tests/test_bench_counter.py
    checks that it sees a submission's renders, so that "0 rendu" below proves something.
    """
    calls = {"docx": 0, "pdf": 0}
    render = renderer.render

    def counting(output: Any, context: Any) -> bytes:
        calls[output.fmt] += 1
        return render(output, context)

    renderer.render = counting  # an instance attribute shadows the method
    return calls


def bench_download(
    kind: Any, payload: dict[str, Any], rows: int, pdf_render_s: float | None, results: dict[str, Any], missed: list[str]
) -> None:
    """Submit a document, then time its frozen downloads signed in, and count the renders they cause."""
    # The service's modules (SQLAlchemy, the models) are loaded here, after the render sections:
    # as before the split, their objects are not in the collector's heap while renders are timed.
    from webforms import db, jobs
    from webforms.documents import services as svc_docs
    from webforms.models import Document, User

    title(f"3. Téléchargement d'un document soumis (figé), {rows} lignes/liste, client de test Flask connecté")
    tmp, app = temporary_app("bench-webforms-", FIXED_NOW)
    try:
        services = app.extensions["webforms.services"]
        renderer = services.renderer
        calls = count_renders(renderer)

        with app.app_context():
            session = db.session()
            user = bench_writer(session)
            doc = svc_docs.create_draft(session, services, kind_name=kind.name, user=user, payload=payload)
            start = time.perf_counter()
            svc_docs.submit(session, services, doc, user=session.get(User, user.id))
            # The render is a worker's (webforms.jobs): one runs here until the queue is empty.
            jobs.run_worker(app, wait=False, signals=False)
            submit_s = time.perf_counter() - start
            session.expire_all()
            doc = session.get(Document, doc.id)
            stored = {r.format: (r.sha256, r.size) for r in doc.renditions}
            doc_id, reference = doc.id, doc.reference
        renders_at_submit = dict(calls)
        print(
            f"Soumission {reference} puis son rendu par un worker (PDF + DOCX une fois, stockage) : {ms(submit_s, 0)} ms ; rendus : {renders_at_submit}"
        )
        if not all(renders_at_submit.values()):
            # The submission renders a DOCX and a PDF: a counter that missed them proves nothing below.
            missed.append(f"Téléchargement : le compteur de rendus n'a pas vu les rendus de la soumission ({renders_at_submit})")

        client = app.test_client()
        page = client.get("/connexion").get_data(as_text=True)
        match = _TOKEN.search(page)
        if not match:
            raise RuntimeError("jeton CSRF introuvable dans GET /connexion")
        resp = client.post(
            "/connexion",
            data={"email": "redacteur@example.fr", "password": PASSWORD, "csrf_token": match.group(1) or match.group(2)},
        )
        if resp.status_code != 302:
            raise RuntimeError(f"connexion refusée : HTTP {resp.status_code}")
        print("Connexion : POST /connexion avec le jeton CSRF de GET /connexion → 302")

        for name in calls:
            calls[name] = 0
        store = services.store
        table_rows = []
        for fmt in ("pdf", "docx"):
            digest, size = stored[fmt]
            on_disk = hashlib.sha256(store.path(digest).read_bytes()).hexdigest()
            times, ok = [], True
            first = None
            for i in range(DOWNLOADS + 1):
                gc.collect()
                start = time.perf_counter()
                response = client.get(f"/documents/{doc_id}/telecharger/{fmt}")
                body = response.get_data()
                response.close()
                elapsed = time.perf_counter() - start
                if response.status_code != 200:
                    raise RuntimeError(f"téléchargement {fmt} : HTTP {response.status_code}")
                ok = ok and hashlib.sha256(body).hexdigest() == digest == response.headers.get("X-Content-SHA256") == on_disk
                if i == 0:
                    first = elapsed
                else:
                    times.append(elapsed)
            med, high = statistics.median(times), p95(times)
            verdict = "OK" if med * 1000 <= DOWNLOAD_TARGET and high * 1000 <= DOWNLOAD_TARGET else "MANQUÉ"
            if verdict != "OK":
                missed.append(
                    f"Téléchargement {fmt} : médiane {ms(med)} ms, p95 {ms(high)} ms (cible ≤ {DOWNLOAD_TARGET:.0f} ms)"
                )
            table_rows.append(
                [
                    fmt.upper(),
                    f"{size / 1024:.0f} Ko",
                    DOWNLOADS,
                    ms(first),
                    ms(med, 2),
                    ms(high, 2),
                    ms(max(times), 2),
                    "oui" if ok else "NON",
                    verdict,
                ]
            )
            results.setdefault("download", {})[fmt] = {"median_ms": med * 1000, "p95_ms": high * 1000, "sha_ok": ok}
        table(
            [
                "Format",
                "taille",
                "n",
                "1er ms",
                "médiane ms",
                "p95 ms",
                "max ms",
                "SHA-256 = stocké",
                f"cible ≤{DOWNLOAD_TARGET:.0f} ms",
            ],
            table_rows,
        )
        rerenders = sum(calls.values())
        print(
            f"Rendus pendant les {2 * DOWNLOADS + 2} téléchargements : {rerenders} (Renderer.render comptés par format : {calls})"
        )
        if pdf_render_s:
            pdf_med = results["download"]["pdf"]["median_ms"] / 1000
            print(
                f"Comparaison : rendu PDF du service à {rows} lignes/liste {ms(pdf_render_s, 0)} ms contre téléchargement "
                f"{ms(pdf_med, 2)} ms, soit {pdf_render_s / pdf_med:,.0f}× plus rapide : le fichier servi est celui du stockage."
            )
        if rerenders:
            missed.append(f"Téléchargement : {rerenders} rendu(s) pendant les téléchargements d'un document figé")
        print(f"Dans ce processus, après create_app : 'weasyprint' in sys.modules = {'weasyprint' in sys.modules}")
        app.extensions["webforms.engine"].dispose()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)



_APP_PROBE = r"""
import json, sys, tempfile, time, shutil, datetime as dt
from pathlib import Path
out = {}
import webforms
from webforms import create_app, db
out["after_import_webforms"] = "weasyprint" in sys.modules
from webforms.pgcluster import Cluster
tmp = Path(tempfile.mkdtemp(prefix="bench-probe-"))
cluster = Cluster(tmp / "postgres")
try:
    url = cluster.start()
    db.upgrade(url)
    out["after_db_upgrade"] = "weasyprint" in sys.modules
    t = time.perf_counter()
    app = create_app({"INSTANCE_PATH": str(tmp / "instance"), "DATABASE_URL": url, "SECRET_KEY": "x",
                      "CLOCK": lambda: dt.datetime(2019, 10, 14, tzinfo=dt.timezone.utc)})
    out["create_app_ms"] = (time.perf_counter() - t) * 1000
    out["after_create_app"] = "weasyprint" in sys.modules
    client = app.test_client()
    before = set(sys.modules)
    for key in ("first_request_ms", "second_request_ms"):
        t = time.perf_counter(); client.get("/connexion").get_data(); out[key] = (time.perf_counter() - t) * 1000
    out["modules_imported_by_requests"] = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("weasyprint", "docxtpl", "docx"))
    app.extensions["webforms.engine"].dispose()
finally:
    cluster.stop()
    shutil.rmtree(tmp, ignore_errors=True)
print(json.dumps(out))
"""


def bench_import(results: dict[str, Any], missed: list[str]) -> None:
    """Time a cold import of WeasyPrint, and check that create_app loads it and no request does."""
    title("4. Import de WeasyPrint : une fois par processus")

    def cold(code: str) -> list[float]:
        times = []
        for _ in range(IMPORT_RUNS):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True)
            times.append(time.perf_counter() - start)
        return times

    bare = statistics.median(cold("pass"))
    weasy = statistics.median(cold("import weasyprint"))
    table(
        ["Processus neuf (médiane de 5)", "ms"],
        [
            ["python -c pass", ms(bare, 0)],
            ["python -c 'import weasyprint'", ms(weasy, 0)],
            ["⇒ coût de l'import", ms(weasy - bare, 0)],
        ],
    )
    probe = subprocess.run([sys.executable, "-c", _APP_PROBE], cwd=ROOT, capture_output=True, text=True, timeout=120)
    if probe.returncode != 0:
        print(f"Sonde create_app en échec : {probe.stderr.strip().splitlines()[-1:]}")
        missed.append("Import WeasyPrint : la sonde create_app a échoué")
        return
    info = json.loads(probe.stdout.strip().splitlines()[-1])
    print()
    print("Processus neuf qui fait create_app() puis deux requêtes GET /connexion :")
    table(
        ["Étape", "'weasyprint' in sys.modules", "ms"],
        [
            ["import webforms", info["after_import_webforms"], ""],
            ["db.upgrade (Alembic)", info["after_db_upgrade"], ""],
            ["create_app()", info["after_create_app"], f"{info['create_app_ms']:.0f}"],
            ["1re requête", "", f"{info['first_request_ms']:.1f}"],
            ["2e requête", "", f"{info['second_request_ms']:.1f}"],
        ],
    )
    print(f"Modules weasyprint/docxtpl/docx importés par les requêtes : {info['modules_imported_by_requests'] or 'aucun'}")
    print("(create_app importe webforms.rendering, donc WeasyPrint ; `make run` lance gunicorn --preload : le maître")
    print(" l'importe une fois avant de créer les workers, aucune requête ne paie l'import.)")
    results["import"] = {"cold_import_ms": (weasy - bare) * 1000, **info}
    if not info["after_create_app"] or info["modules_imported_by_requests"]:
        missed.append("Import WeasyPrint : pas chargé par create_app, ou importé pendant une requête")

