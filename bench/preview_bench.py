"""Bench of the preview click (issue 11, point 4): a draft's preview and a stored version's download.

For a fiche saisine (the kind's example) and a fiche descriptive (the candidature's document,
50 team members and 60 budget lines, as in the dossier bench), each saved more than 2 s before
the clicks: p50 and p95 of ``GET /documents/<id>/telecharger/<fmt>`` (the draft's preview) and of
``…?version=1`` (a submitted document's stored file), through the Flask test client signed in.

Beside them, the same measurement of the reference (commit e929f42, which renders the preview
at the click), run from a ``git worktree add --detach`` copy with the same interpreter, each tree
in a fresh child process. Target: p95 ≤ 20 ms for every click.

Run with ``make bench`` or ``.venv/bin/python bench/preview_bench.py [--clicks 21] [--ref e929f42] [--strict]``.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
REFERENCE = "e929f42"  # the landed code that renders a draft's preview at the click
TARGET_MS = 20.0
SETTLE_S = 2.1  # the drafts are saved more than 2 s before the clicks
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"')


def _sign_in(client: Any, password: str) -> None:
    match = _TOKEN.search(client.get("/connexion").get_data(as_text=True))
    assert match, "jeton CSRF introuvable"
    response = client.post("/connexion", data={"email": "redacteur@example.fr", "password": password, "csrf_token": match.group(1) or match.group(2)})
    if response.status_code != 302:
        raise RuntimeError(f"connexion refusée : HTTP {response.status_code}")


def _run_queue(app: Any) -> None:
    """Run the queue's jobs due now (the tree under test has one; the reference has none)."""
    try:
        from webforms import jobs
    except ImportError:
        return
    jobs.run_worker(app, wait=False, signals=False)


def measure(tree: Path, clicks: int) -> dict[str, Any]:
    """In this (fresh) process, on ``tree``'s code: save the drafts, wait, time the clicks."""
    sys.path[:0] = [str(tree)]
    import benchkit
    from sqlalchemy import select

    from schemas import get_kind
    from webforms import db
    from webforms.candidatures import services as candidatures
    from webforms.documents import services as documents
    from webforms.models import Appel, User
    from webforms.rendering import Renderer

    # Imported after the tree's modules, which its path setup (this repository first) then
    # finds loaded: the reference's code stays the one measured.
    dossier_bench = importlib.import_module("dossier_bench")

    tmp, app = benchkit.temporary_app("bench-apercu-", dossier_bench.CLOCK)
    renders = {"clic": 0}
    real = Renderer.render
    counting = {"on": False}

    def counted(self: Any, output: Any, context: Any) -> bytes:
        renders["clic"] += counting["on"]
        return real(self, output, context)

    Renderer.render = counted  # type: ignore[method-assign]
    out: dict[str, Any] = {}
    try:
        services = app.extensions["webforms.services"]
        with app.app_context():
            session = db.session()
            user = benchkit.bench_writer(session)
            saisine = get_kind("fiche_saisine")
            drafts = {"fiche saisine": documents.create_draft(session, services, kind_name=saisine.name, user=user, payload=dict(saisine.example))}
            dossier = candidatures.open_dossier(session, services, user=user, appel=session.scalars(select(Appel)).one())
            drafts["fiche descriptive"] = documents.save_draft(session, services, dossier, user=user, payload=dossier_bench.payload())
            for doc in drafts.values():
                documents.save_draft(session, services, doc, user=session.get(User, user.id), payload=dict(doc.data))
                if documents.problems(doc):
                    raise SystemExit(f"Brouillon de bench incomplet : {documents.problems(doc)}")
            frozen = documents.create_draft(session, services, kind_name=saisine.name, user=user, payload=dict(saisine.example))
            documents.submit(session, services, frozen, user=session.get(User, user.id))
            ids = {name: doc.id for name, doc in drafts.items()}
            frozen_id = frozen.id
        time.sleep(SETTLE_S)
        _run_queue(app)  # a worker a moment after the saves (the reference has none: nothing to do)
        client = app.test_client()
        _sign_in(client, benchkit.PASSWORD)
        urls = {f"Aperçu {name} {fmt.upper()}": f"/documents/{i}/telecharger/{fmt}" for name, i in ids.items() for fmt in ("pdf", "docx")}
        urls |= {f"Version stockée {fmt.upper()}": f"/documents/{frozen_id}/telecharger/{fmt}?version=1" for fmt in ("pdf", "docx")}
        counting["on"] = True
        for label, url in urls.items():
            times = []
            for i in range(clicks + 1):
                gc.collect()
                start = time.perf_counter()
                response = client.get(url)
                body = response.get_data()
                response.close()
                elapsed = time.perf_counter() - start
                if response.status_code != 200 or not body.startswith((b"%PDF", b"PK")):
                    raise RuntimeError(f"{label} : HTTP {response.status_code} {response.headers.get('Location', '')}")
                if i:  # the first click warms the process
                    times.append(elapsed * 1000)
            out[label] = {"p50": statistics.median(times), "p95": benchkit.p95(times)}
        out["renders_at_click"] = renders["clic"]
        app.extensions["webforms.engine"].dispose()
    finally:
        Renderer.render = real  # type: ignore[method-assign]
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _child(tree: Path, clicks: int) -> dict[str, Any] | str:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(tree), "--clicks", str(clicks)],
        cwd=tree, capture_output=True, text=True, timeout=1800,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return f"échec (code {proc.returncode}) : {' | '.join((proc.stderr.strip().splitlines() or ['?'])[-3:])}"
    return json.loads(lines[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clicks", type=int, default=21, help="timed clicks per case (after one warm-up)")
    parser.add_argument("--ref", default=REFERENCE, help=f"reference commit (default {REFERENCE})")
    parser.add_argument("--strict", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sys.path.insert(0, str(BENCH))
    if args.child:
        print(json.dumps(measure(args.child, args.clicks)))
        return 0

    import benchkit

    started = time.perf_counter()
    benchkit.title(f"Clic d'aperçu et de téléchargement : ce code contre {args.ref} (rendu au clic), {args.clicks} clics par cas")
    reference = Path(tempfile.mkdtemp(prefix="bench-apercu-ref-")) / "arbre"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(reference), args.ref], check=True, capture_output=True)
    try:
        current, before = _child(ROOT, args.clicks), _child(reference, args.clicks)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(reference)], capture_output=True)
        shutil.rmtree(reference.parent, ignore_errors=True)
    missed: list[str] = []
    if isinstance(current, str) or isinstance(before, str):
        missed.append(f"mesure impossible : ce code {current if isinstance(current, str) else 'ok'}, référence {before if isinstance(before, str) else 'ok'}")
        return benchkit.finish({"current": current, "reference": before}, missed, started, "preview_bench", strict=args.strict)
    rows = []
    for label in (k for k in current if k != "renders_at_click"):
        now, ref = current[label], before[label]
        met = now["p95"] <= TARGET_MS
        if not met:
            missed.append(f"{label} : p95 {now['p95']:.1f} ms (cible ≤ {TARGET_MS:.0f} ms)")
        rows.append([label, f"{now['p50']:.1f}", f"{now['p95']:.1f}", f"{ref['p50']:.1f}", f"{ref['p95']:.1f}", "tenue" if met else "MANQUÉE"])
    benchkit.table(["Clic", "p50 (ms)", "p95 (ms)", f"p50 {args.ref}", f"p95 {args.ref}", f"cible p95 ≤ {TARGET_MS:.0f} ms"], rows)
    print(f"Rendus pendant les clics : ce code {current['renders_at_click']}, {args.ref} {before['renders_at_click']}")
    if current["renders_at_click"]:
        missed.append(f"{current['renders_at_click']} rendus pendant les clics (attendu : aucun)")
    return benchkit.finish({"current": current, "reference": before}, missed, started, "preview_bench", strict=args.strict)


if __name__ == "__main__":
    raise SystemExit(main())
