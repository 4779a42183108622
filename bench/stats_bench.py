"""Bench of the statistics' figures (issue 13): ``figures()`` over a Département's measures.

A Département of N measures (AML, ASLL Installation and Maintien, opened over five years), each
with a meeting every two weeks, its bilans sent (a sixth never sent), a renewal for one Maintien
in three: ``statistiques.services.figures`` for the first half of 2019, median and p95 of the
runs. Most of the figures are counted in SQL; the bilans due and never sent are counted from each
measure's calendar, in Python, which reads its renewals and the slots of its bilans.

Beside each figure, the same measurement of the reference (the landed code, 9dad539 by default,
which loaded each measure's documents whole and its meetings, and computed its meeting rhythm
too), run from a ``git worktree add --detach`` copy in a fresh child process on the same data.
The two must count the same: a difference is an error, not a result.

Run with ``.venv/bin/python bench/stats_bench.py [--mesures 500,2000] [--runs 9] [--ref 9dad539]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = "9dad539"
TODAY = dt.date(2019, 10, 14)
FIRST, LAST = dt.date(2019, 1, 1), dt.date(2019, 6, 30)
KINDS = (("aml", 12, "bilan_aml"), ("asll_installation", 3, "bilan_asll_installation"), ("asll_maintien", 6, "bilan_asll_maintien"))


def seed(session: Any, count: int) -> Any:
    """Add ``count`` measures of one operator, their meetings, bilans and renewals; return a reader of every Département."""
    from sqlalchemy import select

    from webforms.accounts.services import create_organisation, create_user
    from webforms.mesures.services import overview
    from webforms.models import Departement, Document, Mesure, PorteeDepartement, Rencontre, Renouvellement, Territoire

    org = create_organisation(session, "Opérateur du bench")
    writer = create_user(session, email="redacteur@example.fr", full_name="Claire Martin", role="redacteur", organisation_id=org.id, password="mot-de-passe-du-bench-1234")
    reader = create_user(session, email="instructeur@example.fr", full_name="Inès Truc", role="instructeur", organisation_id=org.id, password="mot-de-passe-du-bench-1234")
    session.add_all([PorteeDepartement(user_id=reader.id, departement=d) for d in session.scalars(select(Departement.nom))])
    territories = list(session.scalars(select(Territoire.id)))
    start = dt.date(2015, 1, 5)
    for n in range(count):
        kind, months, bilan = KINDS[n % 3]
        first_meeting = start + dt.timedelta(days=(n * 1826) // count)  # spread over five years
        m = Mesure(reference=f"ME-B-{n}", organisation_id=org.id, referent_id=writer.id, type_mesure=kind, menage_nom=f"Ménage {n}", menage_prenom="X",
                   duree_mois=months, territoire_id=territories[n % len(territories)], date_premiere_rencontre=first_meeting,
                   date_bon_commande=None if kind == "aml" else first_meeting - dt.timedelta(days=7),
                   created_at=dt.datetime.combine(first_meeting, dt.time(10), tzinfo=dt.UTC))
        session.add(m)
        session.flush()
        if kind == "asll_maintien" and n % 9 == 2:
            session.add(Renouvellement(mesure_id=m.id, date_decision=first_meeting + dt.timedelta(days=170), duree_mois=3, motif="Dette", created_by_id=writer.id))
        days = [first_meeting + dt.timedelta(days=14 * k) for k in range(1, months * 2)]
        session.add_all([Rencontre(mesure_id=m.id, date=d, nature="visite_domicile", created_by_id=writer.id) for d in days if d < TODAY])
        session.flush()
        session.refresh(m)
        for k, due in enumerate(d for d in overview(m, TODAY).calendar.dues if d.slot and d.due < TODAY):
            if (n + k) % 6:  # a sixth never sent
                late = dt.timedelta(days=(n + k) % 20)
                session.add(Document(kind=bilan, organisation_id=org.id, author_id=writer.id, statut="soumis", data={"note": "x" * 2000},
                                     submitted_data={"note": "x" * 2000}, mesure_id=m.id, echeance=due.slot, echeance_date=due.due,
                                     submitted_at=dt.datetime.combine(due.due + late, dt.time(10), tzinfo=dt.UTC)))
    session.commit()
    return reader


def measure(tree: Path, counts: list[int], runs: int) -> dict[str, Any]:
    """In this (fresh) process, on ``tree``'s code: seed each size, time ``figures()``."""
    sys.path[:0] = [str(tree), str(tree / "bench")]
    import benchkit

    from webforms import db
    from webforms.models import User
    from webforms.statistiques.services import Period, figures

    out: dict[str, Any] = {}
    for count in counts:
        tmp, app = benchkit.temporary_app("bench-stats-", dt.datetime(2019, 10, 14, 10, tzinfo=dt.UTC))
        with app.app_context():
            session = db.session()
            reader_id = seed(session, count).id
            times, found = [], None
            for i in range(runs + 1):
                session.expunge_all()
                reader = session.get(User, reader_id)
                start = time.perf_counter()
                found = figures(session, reader, Period(FIRST, LAST), today=TODAY)
                elapsed = time.perf_counter() - start
                session.rollback()
                if i:  # the first run warms the process
                    times.append(elapsed * 1000)
            assert found is not None
            out[str(count)] = {"p50": statistics.median(times), "p95": benchkit.p95(times), "total": found.total}
        app.extensions["webforms.engine"].dispose()
        shutil.rmtree(tmp, ignore_errors=True)
    return out


def _child(tree: Path, counts: list[int], runs: int) -> dict[str, Any] | str:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--child", str(tree), "--mesures", ",".join(map(str, counts)), "--runs", str(runs)],
        cwd=tree, capture_output=True, text=True, timeout=3600,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        return f"échec (code {proc.returncode}) : {' | '.join(proc.stderr.strip().splitlines()[-3:])}"
    return json.loads(lines[-1])  # type: ignore[no-any-return]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mesures", default="500,2000", help="numbers of measures, comma-separated")
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--ref", default=REFERENCE, help=f"reference commit (default {REFERENCE})")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    counts = [int(c) for c in args.mesures.split(",")]
    if args.child:
        print(json.dumps(measure(Path(args.child), counts, args.runs), default=str))
        return 0
    sys.path.insert(0, str(ROOT / "bench"))
    import benchkit

    started = time.perf_counter()
    benchkit.title(f"Chiffres des statistiques (1er semestre 2019) : ce code contre {args.ref}, {args.runs} mesures du temps par taille")
    reference = Path(tempfile.mkdtemp(prefix="bench-stats-ref-")) / "arbre"
    subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(reference), args.ref], check=True, capture_output=True)
    try:
        current, before = _child(ROOT, counts, args.runs), _child(reference, counts, args.runs)
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(reference)], capture_output=True)
        shutil.rmtree(reference.parent, ignore_errors=True)
    if isinstance(current, str) or isinstance(before, str):
        print(f"ce code : {current if isinstance(current, str) else 'ok'} ; {args.ref} : {before if isinstance(before, str) else 'ok'}")
        return 1
    rows, missed = [], []
    for count in map(str, counts):
        now, ref = current[count], before[count]
        if now["total"] != ref["total"]:
            missed.append(f"{count} mesures : les chiffres diffèrent de la référence ({now['total']} contre {ref['total']})")
        rows.append([count, f"{now['p50']:.0f}", f"{now['p95']:.0f}", f"{ref['p50']:.0f}", f"{ref['p95']:.0f}", f"{ref['p50'] / now['p50']:.2f}×",
                     now["total"]["bilans_en_retard"]])
    benchkit.table(["Mesures", "p50 (ms)", "p95 (ms)", f"p50 {args.ref}", f"p95 {args.ref}", "gain p50", "bilans en retard"], rows)
    return benchkit.finish({"current": current, "reference": before}, missed, started, "stats_bench", strict=True)


if __name__ == "__main__":
    raise SystemExit(main())
