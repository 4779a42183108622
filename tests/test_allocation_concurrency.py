"""Two allocations at once on the same territory (issue 12: "the sum per territory never exceeds the call's count", AML §5),
and the letters asked twice at once (AML §6d).

Two instructeurs, each in a session of their own on the tests' PostgreSQL cluster, retain two dossiers
of the 2019 call at the same moment. ``instruction._within_call`` locks the call's row
(``SELECT … FOR UPDATE``) before it counts what is already granted: the second waits for the first's
commit, then counts it. To make the race certain rather than likely, each request, once it has counted,
waits (at most 3 s) for the other to have counted too: without the lock both count 0 and both grant;
with it the second is still waiting for the lock, so the first goes on alone.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from tests.test_candidatures import _in_threads, each_waits_for_the_other
from tests.test_instruction import DEPARTEMENT, instruction_rows, shown
from tests.test_jury_decision import AFTER_CP, decide
from tests.test_jury_work import examined, granted, jury  # noqa: F401 - the fixture, used by name
from webforms import db
from webforms.candidatures import decision, instruction
from webforms.models import Document, Lettre

RETAINED = "maintenant « retenu »"


@pytest.fixture
def counted_together(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each count of the granted measures waits for the other request's count (3 s at most)."""
    monkeypatch.setattr(instruction, "allocated", each_waits_for_the_other(threading.Barrier(2), instruction.allocated))


def _retain_at_once(app: Flask, login_as: Any, jury: dict[str, Any], artois_a: int, artois_b: int) -> list[str]:  # noqa: F811
    """Both dossiers examined, then retained at the same moment by two instructeurs: what each was told."""
    docs = jury["docs"]
    for doc_id in docs.values():
        examined(app, jury, doc_id)
    first, second = jury["instructeur"], login_as("instructeur", org=DEPARTEMENT)[0]

    def retain(web: Any, doc_id: int, artois: int) -> Any:
        return web.post(f"/documents/{doc_id}/instruction", {"action": "retenir", "mesures-Artois": str(artois), "mesures-Lens-Hénin": "0"})

    responses = _in_threads(lambda: retain(first, docs["A"], artois_a), lambda: retain(second, docs["B"], artois_b))
    assert [r.status_code for r in responses] == [302, 302]
    return [shown(first), shown(second)]


def _artois_granted(app: Flask) -> dict[int, tuple[str, int]]:
    return {doc_id: (etat, (mesures or {}).get("Artois", 0)) for doc_id, (etat, mesures) in granted(app).items()}


def test_two_allocations_at_once_over_the_territorys_count_one_is_refused_aml_5(app: Flask, login_as: Any, jury: dict[str, Any], counted_together: None) -> None:  # noqa: F811
    """20 + 10 Artois at once, Artois has 26: exactly one is retained, the other told in French what remains."""
    docs = jury["docs"]
    told = _retain_at_once(app, login_as, jury, 20, 10)
    rows = _artois_granted(app)
    retained = [d for d in docs.values() if rows[d][0] == "retenu"]
    assert len(retained) == 1, (told, rows)
    assert sum(n for etat, n in rows.values() if etat == "retenu") <= 26
    (other,) = set(docs.values()) - set(retained)
    assert rows[other] == ("examine", 0)  # refused: nothing changed
    refusal = told[0] if other == docs["A"] else told[1]
    # The one refused counted the other's grant: 26 - 10 = 16 left for A's 20, or 26 - 20 = 6 for B's 10.
    expected = (
        "Territoire Artois : 20 mesures demandées à l'allocation, il n'en reste que 16 (26 pour l'appel, 10 déjà accordées, AML §5)"
        if other == docs["A"]
        else "Territoire Artois : 10 mesures demandées à l'allocation, il n'en reste que 6 (26 pour l'appel, 20 déjà accordées, AML §5)"
    )
    assert expected in refusal
    assert sum(RETAINED in t for t in told) == 1


def test_two_allocations_at_once_within_the_territorys_count_are_both_retained_aml_5(app: Flask, login_as: Any, jury: dict[str, Any], counted_together: None) -> None:  # noqa: F811
    """16 + 10 Artois at once: exactly the 26 of Artois, both retained."""
    docs = jury["docs"]
    told = _retain_at_once(app, login_as, jury, 16, 10)
    assert all(RETAINED in t for t in told), told
    assert _artois_granted(app) == {docs["A"]: ("retenu", 16), docs["B"]: ("retenu", 10)}


def _decided(app: Flask, jury: dict[str, Any]) -> tuple[Any, dict[str, int], int]:  # noqa: F811
    """A retained, B not: the decision of the Commission Permanente recorded (4 November 2019)."""
    instructeur, docs, appel_id = jury["instructeur"], jury["docs"], jury["appel"]
    for doc_id in docs.values():
        examined(app, jury, doc_id)
    instructeur.post(f"/documents/{docs['A']}/instruction", {"action": "retenir", "mesures-Artois": "10", "mesures-Lens-Hénin": "12"})
    instructeur.post(f"/documents/{docs['B']}/instruction", {"action": "ne_pas_retenir", "texte": "Hors périmètre"})
    app.config["CLOCK"].now = AFTER_CP
    assert "Décision de la Commission Permanente enregistrée" in decide(instructeur, appel_id, "2019-11-04")
    return instructeur, docs, appel_id


def _one_letter_each_notified_once(app: Flask, docs: dict[str, int]) -> None:
    with app.app_context():
        s = db.session()
        links = {link.dossier_id: link.lettre_id for link in s.scalars(select(Lettre))}
        letters = s.scalars(select(Document.id).where(Document.kind == "notification_aml")).all()
    assert set(links) == set(docs.values()) and sorted(letters) == sorted(links.values())
    assert {d: state for d, (state, _) in granted(app).items()} == dict.fromkeys(docs.values(), "notifie")
    for doc_id in docs.values():
        assert [m[0] for m in instruction_rows(app, doc_id)[1]].count("notifier") == 1


def test_two_instructeurs_establishing_the_letters_at_once_make_one_letter_per_dossier_aml_6d(app: Flask, login_as: Any, jury: dict[str, Any]) -> None:  # noqa: F811
    """The decision recorded, two instructeurs ask the letters at the same moment: one letter per dossier, each notified once, no error page."""
    instructeur, docs, appel_id = _decided(app, jury)
    second = login_as("instructeur", org=DEPARTEMENT)[0]
    responses = _in_threads(lambda: instructeur.post(f"/appels/{appel_id}/lettres"), lambda: second.post(f"/appels/{appel_id}/lettres"))
    assert [r.status_code for r in responses] == [302, 302]
    _one_letter_each_notified_once(app, docs)


def test_letters_asked_again_while_the_first_request_is_between_two_letters_are_all_made_once_aml_6d(
    app: Flask, login_as: Any, jury: dict[str, Any], monkeypatch: pytest.MonkeyPatch  # noqa: F811
) -> None:
    """Each letter commits on its own (the one lifecycle's submit), which lets the call's lock go: the
    race made certain. The first request, once its first letter is committed, waits (3 s at most) for
    the other request to end; that one makes what is left. The first then goes on without refusing
    what the other did: each request says the letters are established, one letter per dossier.
    """
    instructeur, docs, appel_id = _decided(app, jury)
    other_done, first_letter = threading.Event(), threading.Lock()
    submit = decision.submit

    def submit_then_let_the_other_go(*args: Any, **kwargs: Any) -> Any:
        done = submit(*args, **kwargs)
        if first_letter.acquire(blocking=False):  # the first letter of both requests only
            other_done.wait(timeout=3)
        return done

    monkeypatch.setattr(decision, "submit", submit_then_let_the_other_go)
    second = login_as("instructeur", org=DEPARTEMENT)[0]

    def ask(web: Any) -> str:
        try:
            web.post(f"/appels/{appel_id}/lettres")
            return shown(web)
        finally:
            other_done.set()

    told = _in_threads(lambda: ask(instructeur), lambda: ask(second))
    assert all("Lettres de notification établies" in t for t in told), told
    assert not any("Enregistrer la notification" in t for t in told), told
    _one_letter_each_notified_once(app, docs)
