"""Load bench (issue 11, performance): submissions under 10 concurrent writers, and the form page.

Run with ``make bench`` or ``.venv/bin/python bench/load_bench.py [--seconds 60] [--clients 10]
[--processus 2] [--ref 4ddaf32] [--strict]``; ``--seconds 20 --form-seconds 3`` for a quick run.

The reference is the code the issue measured (``4ddaf32``: SQLite, rendering inside the submit
request); ``--ref e929f42`` is the same design on PostgreSQL. It runs from a ``git worktree`` of
that commit, the current tree from here, both with this venv's Python and packages
(``PYTHONPATH`` at the tree). A tree older than PostgreSQL keeps its SQLite file in its instance
folder; otherwise one private PostgreSQL cluster (``webforms.pgcluster``) in a temporary folder
holds a database per side. Each side's database is migrated by its own
``webforms upgrade``, its writers made by its own ``webforms create-user``, and it is served by
``gunicorn --preload -w 2`` (as ``make run``) on a free port; the current tree adds
``webforms worker --processus N`` (2 by default: renders are CPU-bound, so one process per core;
the web workers' requests are short and share the cores with them).

Phase 1, for each side in turn: ``--clients`` writers (threads) sign in and, until ``--seconds``
have passed, create a fiche saisine, fill it with the kind's example, save, open the draft again
and click « Soumettre le document »; then they wait for the PDF as the document page does
(``/travaux/<id>/etat``, asked after 0.5 s then every ``--poll`` s, 1 s as ``progress.js``; then the
page is loaded again, as ``progress.js`` reloads it) before the next one. A thread of the bench
watches the database (one query every 50 ms) and notes when each PDF is stored: "PDF prêt" is
that moment minus the click. Afterwards every submitted document must have its reference and
its stored PDF (else it is counted lost).

Phase 2: ``GET`` of the form page of a saved draft (``/documents/<id>/modifier``) and of the
empty form (``/documents/nouveau/fiche_saisine``) by 10 connections, both sides alternating in
rounds of ``--form-seconds``.
"""

from __future__ import annotations

import argparse
import atexit
import datetime as dt
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for path in (ROOT, ROOT / "bench"):
    if str(path) not in sys.path:
        sys.path.insert(0, str(path))

import psycopg  # noqa: E402
from benchkit import finish, load_average, percentile, table, title  # noqa: E402
from load_client import Browser, Tally, form_fields, hammer, sign_in, users  # noqa: E402

from schemas import get_kind  # noqa: E402
from webforms.pgcluster import Cluster  # noqa: E402

# The code the issue measured (4.3 submissions/s): SQLite, renders inside the submit request.
# ``--ref e929f42`` is the same design moved to PostgreSQL (its embedded default since then).
REFERENCE = "4ddaf32"
KIND = "fiche_saisine"
PASSWORD = "mot-de-passe-du-bench-1234"
TARGETS = {"response_p95_s": 0.3, "ready_p95_s": 2.0, "throughput_ratio": 2.0, "form_rps": 300.0}
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass
class Side:
    """One tree served: its database, its processes, what its users did."""

    name: str
    tree: Path
    database: str
    instance: Path
    port: int = 0
    url: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def env(self, url: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH",) and not k.startswith("WEBFORMS_")}
        return env | {"PYTHONPATH": str(self.tree), "DATABASE_URL": url, "WEBFORMS_INSTANCE_PATH": str(self.instance), "PYTHONIOENCODING": "utf-8"}


def run(side: Side, url: str, *args: str) -> str:
    """Run ``python -m webforms ARGS`` from the side's tree; return its output."""
    # From the tree itself: `python -m` puts its working folder first on the path.
    done = subprocess.run([sys.executable, "-m", "webforms", *args], cwd=side.tree, env=side.env(url), capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise RuntimeError(f"{side.name} : webforms {args[0]} : {(done.stderr or done.stdout).strip()[-500:]}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(side: Side, url: str, command: list[str]) -> None:
    """Start a server process of the side, in a process group of its own (stopped as a whole at exit)."""
    log = open(side.instance / f"{command[1]}.log", "ab")  # noqa: SIM115 — closed with the process
    proc = subprocess.Popen([sys.executable, *command], cwd=side.tree, env=side.env(url), stdout=log, stderr=log, start_new_session=True)
    side.processes.append(proc)
    atexit.register(stop, proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)


def cpu_seconds(side: Side) -> float:
    """CPU seconds used so far by the side's processes (gunicorn and its workers, queue workers)."""
    return sum(cpu_by_group(side).values())


def cpu_by_group(side: Side) -> dict[int, float]:
    """CPU seconds used so far by each process group of the side (gunicorn's, the queue workers')."""
    groups = {p.pid: 0 for p in side.processes}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) in groups:  # field 5 of stat: the process group
            groups[int(fields[2])] += int(fields[11]) + int(fields[12])  # utime, stime
    return {group: ticks / CLK_TCK for group, ticks in groups.items()}


def renders(side: Side, doc_ids: list[int]) -> dict[str, float]:
    """Count what the submitted documents' jobs rendered: versions' files and drafts' previews (current tree only)."""
    conn, mark = connect(side)
    try:
        ids = list(doc_ids) or [0]
        files = conn.execute(f"SELECT count(*) FROM rendition WHERE document_id = ANY({mark})", (ids,)).fetchone()[0]
        jobs = dict(conn.execute(f"SELECT nature, count(*) FROM travail WHERE document_id = ANY({mark}) GROUP BY nature", (ids,)).fetchall())
        previews = conn.execute(
            f"SELECT coalesce(sum(json_array_length(resultat->'rendus')), 0) FROM travail WHERE nature = 'apercu' AND document_id = ANY({mark})", (ids,)
        ).fetchone()[0]
    finally:
        conn.close()
    n = len(doc_ids) or 1
    return {"fichiers rendus par soumission": files / n, "aperçus rendus par soumission": previews / n,
            "travaux « rendu » par soumission": jobs.get("rendu", 0) / n, "travaux « apercu » par soumission": jobs.get("apercu", 0) / n}


def serve(side: Side, url: str, workers: int) -> None:
    """Migrate the side's database, make its writers, start gunicorn (and queue workers); wait until it answers."""
    run(side, url, "upgrade")
    for i in range(ARGS.clients):
        run(side, url, "create-user", "--email", f"redacteur{i}@example.fr", "--name", f"Rédacteur {i}", "--role", "redacteur", "--organisation", "Association du bench", "--password", PASSWORD)
    side.port = free_port()
    start(side, url, ["-m", "gunicorn", "--preload", "-w", "2", "--timeout", "120", "-b", f"127.0.0.1:{side.port}", "webforms:create_app()"])
    if workers:
        start(side, url, ["-m", "webforms", "worker", "--processus", str(workers)])
    for _ in range(600):
        try:
            if Browser(side.port).request("GET", "/connexion")[0] == 200:
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{side.name} : gunicorn ne répond pas (voir {side.instance}/gunicorn.log)")


def connect(side: Side) -> Any:
    """Return an autocommit DB-API connection to the side's database, and its parameter mark."""
    if side.url.startswith("sqlite:///"):
        conn = sqlite3.connect(side.url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False, timeout=30)
        return conn, "?"
    return psycopg.connect(side.url.replace("postgresql+psycopg://", "postgresql://", 1), autocommit=True), "%s"


class Watcher(threading.Thread):
    """Notes when each document's PDF is first stored, from one query every 50 ms."""

    def __init__(self, side: Side) -> None:
        super().__init__(daemon=True)
        self.conn, self.mark = connect(side)
        self.stored: dict[int, float] = {}
        self.halt = threading.Event()

    def run(self) -> None:
        last = 0
        query = f"SELECT id, document_id FROM rendition WHERE format = 'pdf' AND output = 'document' AND id > {self.mark}"
        while not self.halt.is_set():
            rows = self.conn.execute(query, (last,)).fetchall()
            now = time.perf_counter()
            for rid, doc_id in rows:
                self.stored.setdefault(doc_id, now)
                last = max(last, rid)
            self.halt.wait(0.05)
        self.conn.close()


def lost(side: Side, doc_ids: list[int]) -> list[int]:
    """Return the submitted documents without a reference or without a stored PDF."""
    conn, _ = connect(side)
    # A reference is given at submission only, by both trees (whose status columns differ).
    rows = conn.execute(
        "SELECT d.id FROM document d WHERE d.reference IS NOT NULL"
        " AND EXISTS (SELECT 1 FROM rendition r WHERE r.document_id = d.id AND r.format = 'pdf' AND r.output = 'document')"
    ).fetchall()
    conn.close()
    return sorted(set(doc_ids) - {r[0] for r in rows})


def load(side: Side, fields: list[tuple[str, str]]) -> None:
    """Phase 1 for one side: the writers' journeys, then the waits, throughput and losses."""
    title(f"Soumissions : {side.name} ({ARGS.clients} rédacteurs, {ARGS.seconds:.0f} s) — charge au départ {load_average()}")
    watcher = Watcher(side)
    watcher.start()
    cpu0 = cpu_by_group(side)
    accounts = [(f"redacteur{i}@example.fr", PASSWORD) for i in range(ARGS.clients)]
    start_t = time.perf_counter()
    tally: Tally = users(side.port, accounts, KIND, fields, ARGS.seconds, ARGS.poll, ARGS.patience)
    ended = time.perf_counter()
    submitted = [s.doc_id for s in tally.submissions]
    for _ in range(int(ARGS.patience * 10)):  # the queue's last jobs (none left on the landed code)
        if all(d in watcher.stored for d in submitted):
            break
        time.sleep(0.1)
    watcher.halt.set()
    watcher.join()
    spent = {group: used - cpu0[group] for group, used in cpu_by_group(side).items()}
    cpu = sum(spent.values())
    missing = lost(side, submitted)
    n = len(submitted) or 1
    # gunicorn first, then the queue workers (the current tree): where a submission's CPU goes.
    split = dict(zip(("gunicorn", "processus de travail"), (spent[p.pid] / n for p in side.processes), strict=False))
    counts = renders(side, submitted) if len(side.processes) > 1 else {}
    in_window = sum(1 for d, t in watcher.stored.items() if start_t <= t <= start_t + ARGS.seconds)
    ready = [watcher.stored[s.doc_id] - s.clicked for s in tally.submissions if s.doc_id in watcher.stored]
    side.figures = {
        "submissions": len(submitted),
        "response_s": [s.response_s for s in tally.submissions],
        "page_s": [s.page_s for s in tally.submissions],
        "ready_s": ready,
        "seen_s": [s.seen_s for s in tally.submissions if s.seen_s is not None],
        "throughput": in_window / ARGS.seconds,
        "errors": tally.errors,
        "lost": missing,
        "cpu_per_submission_s": cpu / len(submitted) if submitted else None,
        "cpu_split_s": split,
        "renders": counts,
        "duration_s": ended - start_t,
    }
    print(f"{len(submitted)} soumissions, {in_window} PDF stockés dans la fenêtre de {ARGS.seconds:.0f} s ; erreurs {len(tally.errors)}, perdues {len(missing)}")
    print("CPU par soumission : " + ", ".join(f"{name} {value:.3f} s" for name, value in split.items()) + "".join(f" ; {k} {v:.2f}" for k, v in counts.items()))
    for error in tally.errors[:5]:
        print(f"  erreur : {error}")
    if tally.errors:
        # The server's own account of it, before the temporary folder goes.
        trace = (side.instance / "gunicorn.log").read_text(errors="replace").splitlines()
        tail = [line for line in trace if "Error" in line or "Exception" in line][-5:] or trace[-10:]
        print("  journal de gunicorn : " + "\n  ".join(tail))


def form_pages(sides: list[Side], fields: list[tuple[str, str]]) -> dict[str, dict[str, float]]:
    """Phase 2: requests/s of the form pages at 10 connections, the sides alternating round by round."""
    title(f"Page du formulaire : 10 connexions, {ARGS.rounds} manches de {ARGS.form_seconds:.0f} s par page et par côté, en alternance")
    pages: dict[str, dict[str, str]] = {}
    browsers: dict[str, list[Browser]] = {}
    for side in sides:
        # Each connection is a writer of its own, as ten users would be; the draft is one of theirs.
        browsers[side.name] = [sign_in(side.port, f"redacteur{i % ARGS.clients}@example.fr", PASSWORD) for i in range(10)]
        first = browsers[side.name][0]
        page = first.get(f"/documents/nouveau/{KIND}")
        token = page.split('name="csrf_token"', 1)[1].split('value="', 1)[1].split('"', 1)[0]
        draft = first.post(f"/documents/nouveau/{KIND}", [("csrf_token", token), *fields, ("action", "save")]).split("#", 1)[0]
        pages[side.name] = {"brouillon enregistré (modifier)": draft, "formulaire vide (nouveau)": f"/documents/nouveau/{KIND}"}
    rates: dict[str, dict[str, list[float]]] = {s.name: {label: [] for label in pages[s.name]} for s in sides}
    cpu: dict[tuple[str, str], list[float]] = {(s.name, label): [0.0, 0.0, 0.0] for s in sides for label in pages[s.name]}
    failures = 0
    for _ in range(ARGS.rounds):
        for label in pages[sides[0].name]:
            for side in sides:
                server0, client0 = cpu_seconds(side), time.process_time()
                ok, bad, elapsed = hammer(browsers[side.name], pages[side.name][label], ARGS.form_seconds)
                spent = cpu[side.name, label]
                spent[0] += cpu_seconds(side) - server0
                spent[1] += time.process_time() - client0
                spent[2] += ok + bad
                rates[side.name][label].append(ok / elapsed)
                failures += bad
    if failures:
        print(f"ATTENTION : {failures} réponses autres que 200")
    # CPU per request depends far less on the other programs sharing the cores than req/s:
    # on an idle machine, req/s ≈ cores / (server's + client's CPU per request).
    table(
        ["page — côté", "CPU serveur ms/req", "CPU client ms/req", "req/s possibles sur 2 cœurs libres"],
        [
            [f"{label} — {name}", f"{server / n * 1000:.1f}", f"{client / n * 1000:.1f}", f"{2 * n / (server + client):.0f}"]
            for (name, label), (server, client, n) in cpu.items()
            if n
        ],
    )
    return {name: {label: statistics.median(values) for label, values in by_label.items()} for name, by_label in rates.items()}


def quantiles(values: list[float]) -> list[str]:
    if not values:
        return ["—"] * 4
    return [f"{percentile(values, q) * 1000:.0f}" for q in (50, 95, 99)] + [f"{max(values) * 1000:.0f}"]


def report(sides: list[Side], forms: dict[str, dict[str, float]]) -> list[str]:
    """Print both sides side by side with ratios and verdicts; return the missed targets."""
    ref, cur = sides
    title("Résultats côte à côte (ms ; débit en soumissions rendues par seconde)")
    rows = []
    for key, label in (("response_s", "réponse au clic (POST)"), ("page_s", "clic → page affichée"), ("ready_s", "clic → PDF stocké"), ("seen_s", "clic → PDF vu (client)")):
        for side in sides:
            rows.append([f"{label} — {side.name}", len(side.figures[key]), *quantiles(side.figures[key])])
    table(["mesure", "n", "p50", "p95", "p99", "max"], rows)
    print()
    r, c = ref.figures, cur.figures
    ratio = c["throughput"] / r["throughput"] if r["throughput"] else float("inf")
    rows = [
        ["débit (rendues/s)", f"{r['throughput']:.2f}", f"{c['throughput']:.2f}", f"{ratio:.2f}×"],
        ["CPU serveur par soumission (s)", *(f"{s.figures['cpu_per_submission_s'] or 0:.3f}" for s in sides), "—"],
        ["erreurs", len(r["errors"]), len(c["errors"]), "—"],
        ["perdues", len(r["lost"]), len(c["lost"]), "—"],
    ]
    for label in forms[cur.name]:
        a, b = forms[ref.name][label], forms[cur.name][label]
        rows.append([f"page du formulaire, req/s — {label}", f"{a:.0f}", f"{b:.0f}", f"{b / a:.2f}×"])
    table(["mesure", ref.name, cur.name, "rapport"], rows)

    response_p95 = percentile(c["response_s"], 95) if c["response_s"] else float("inf")
    ready_p95 = percentile(c["ready_s"], 95) if c["ready_s"] else float("inf")
    form_min = min(forms[cur.name].values())
    verdicts = [
        (f"réponse au clic p95 ≤ {TARGETS['response_p95_s'] * 1000:.0f} ms", response_p95 <= TARGETS["response_p95_s"], f"{response_p95 * 1000:.0f} ms"),
        (f"PDF stocké p95 ≤ {TARGETS['ready_p95_s']:.0f} s après le clic", ready_p95 <= TARGETS["ready_p95_s"], f"{ready_p95:.2f} s"),
        ("0 erreur, 0 perdue", not c["errors"] and not c["lost"], f"{len(c['errors'])} erreurs, {len(c['lost'])} perdues"),
        (f"débit ≥ {TARGETS['throughput_ratio']:.0f}× celui de la référence", ratio >= TARGETS["throughput_ratio"], f"{ratio:.2f}×"),
        (f"page du formulaire ≥ {TARGETS['form_rps']:.0f} req/s (les deux pages)", form_min >= TARGETS["form_rps"], f"{form_min:.0f} req/s"),
    ]
    title("Cibles (code actuel)")
    table(["cible", "mesuré", "verdict"], [[t, m, "tenue" if ok else "MANQUÉE"] for t, ok, m in verdicts])
    return [f"{t} : {m}" for t, ok, m in verdicts if not ok]


def form_report(sides: list[Side], forms: dict[str, dict[str, float]]) -> list[str]:
    """Print the form pages' figures alone (``--form-only``); return the missed target."""
    ref, cur = sides
    title("Page du formulaire, requêtes par seconde à 10 connexions")
    table(["page", ref.name, cur.name, "rapport"], [[label, f"{forms[ref.name][label]:.0f}", f"{forms[cur.name][label]:.0f}", f"{forms[cur.name][label] / forms[ref.name][label]:.2f}×"] for label in forms[cur.name]])
    worst = min(forms[cur.name].values())
    return [] if worst >= TARGETS["form_rps"] else [f"page du formulaire ≥ {TARGETS['form_rps']:.0f} req/s : {worst:.0f} req/s"]


def reference_tree(commit: str, into: Path) -> Path:
    """Check ``commit`` out in a detached worktree at ``into`` (removed at exit)."""
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(into), commit], capture_output=True, check=True, timeout=120)
    atexit.register(subprocess.run, ["git", "-C", str(ROOT), "worktree", "remove", "--force", str(into)], capture_output=True, check=False)
    return into


def database_url(cluster: Cluster, side: Side) -> str:
    """Return the side's database: SQLite in its instance for a tree older than PostgreSQL, else one of the cluster."""
    if not (side.tree / "webforms" / "pgcluster.py").exists():
        return f"sqlite:///{side.instance / 'webforms.db'}"
    return create_database(cluster, side.database)


def create_database(cluster: Cluster, name: str) -> str:
    with psycopg.connect(host=str(cluster.socket_dir), user="postgres", dbname="postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" OWNER webforms')
    return cluster.url(name)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60, help="durée des soumissions par côté (défaut 60)")
    parser.add_argument("--clients", type=int, default=10, help="rédacteurs simultanés (défaut 10)")
    parser.add_argument("--processus", type=int, default=2, help="processus de travail du code actuel (défaut 2, un par cœur)")
    parser.add_argument("--poll", type=float, default=1.0, help="intervalle de la question « PDF prêt ? » d'un client, s (défaut 1, comme la page : static/progress.js)")
    parser.add_argument("--patience", type=float, default=60, help="attente maximale d'un PDF, s (défaut 60)")
    parser.add_argument("--form-seconds", type=float, default=5, help="durée d'une manche de la page du formulaire, s (défaut 5)")
    parser.add_argument("--rounds", type=int, default=3, help="manches par page et par côté (défaut 3)")
    parser.add_argument("--form-only", action="store_true", help="seulement la page du formulaire (phase 2)")
    parser.add_argument("--ref", default=REFERENCE, help=f"commit de référence (défaut {REFERENCE})")
    parser.add_argument("--strict", action="store_true", help="code de sortie 1 si une cible est manquée")
    return parser.parse_args()


def main() -> int:
    """Run both phases on both sides and print the comparison; return the exit code."""
    started = time.perf_counter()
    print(f"Bench de charge webforms — {dt.datetime.now().astimezone():%Y-%m-%d %H:%M %Z} — {os.cpu_count()} cœurs, charge {load_average()}")
    scratch = Path(tempfile.mkdtemp(prefix="bench-load-"))
    atexit.register(shutil.rmtree, scratch, ignore_errors=True)  # registered first, so run last
    cluster = Cluster(scratch / "postgres")
    cluster.start()
    atexit.register(cluster.stop)
    sides = [
        Side(f"référence {ARGS.ref}", reference_tree(ARGS.ref, scratch / "reference"), "bench_reference", scratch / "instance-reference"),
        Side("actuel", ROOT, "bench_actuel", scratch / "instance-actuel"),
    ]
    for side, workers in zip(sides, (0, ARGS.processus), strict=True):
        side.instance.mkdir()
        side.url = database_url(cluster, side)
        serve(side, side.url, workers)
        print(f"{side.name} : {side.tree}, port {side.port}, gunicorn -w 2 --preload" + (f" + webforms worker --processus {workers}" if workers else " (rendu dans la requête)"))
    fields = list(form_fields(dict(get_kind(KIND).example)))
    if not ARGS.form_only:
        for side in sides:
            load(side, fields)
    forms = form_pages(sides, fields)
    missed = report(sides, forms) if not ARGS.form_only else form_report(sides, forms)
    results = {"args": vars(ARGS), "sides": {s.name: s.figures for s in sides}, "form_rps": forms}
    notes = [f"Processus : gunicorn --preload -w 2 par côté ; le code actuel ajoute {ARGS.processus} processus de travail (rendus)."]
    return finish(results, missed, started, "load_bench", strict=ARGS.strict, notes=notes)


ARGS = parse() if __name__ == "__main__" else argparse.Namespace()

if __name__ == "__main__":
    raise SystemExit(main())
