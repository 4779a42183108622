"""Reference numbers: unique per prefix and year, even for the first two asked at the same moment."""

from __future__ import annotations

import threading
import time

from flask import Flask

from webforms import db
from webforms.documents.services import next_reference


def test_the_first_two_references_of_a_year_asked_at_once_are_both_given(app: Flask) -> None:
    # Found by the load bench: both saw no counter for the year, both created it, and one
    # submission failed with a duplicate key (a 500) instead of getting the next number.
    results: dict[str, str | BaseException] = {}
    with app.app_context():
        first = db.session()
        results["first"] = next_reference(first, "FS", 2031)  # its new counter row, not yet committed

        def second() -> None:
            with app.app_context():
                session = db.session()
                try:
                    results["second"] = next_reference(session, "FS", 2031)
                    session.commit()
                except Exception as exc:  # the defect: IntegrityError once the first commits
                    results["second"] = exc

        thread = threading.Thread(target=second)
        thread.start()
        time.sleep(0.5)  # the second waits on the first's row
        first.commit()
        thread.join(timeout=30)
    assert results == {"first": "FS-2031-000001", "second": "FS-2031-000002"}


def test_references_follow_each_other_per_prefix_and_year(app: Flask) -> None:
    with app.app_context():
        session = db.session()
        given = [next_reference(session, "FS", 2031), next_reference(session, "FS", 2031), next_reference(session, "FI", 2031), next_reference(session, "FS", 2032)]
        session.commit()
    assert given == ["FS-2031-000001", "FS-2031-000002", "FI-2031-000001", "FS-2032-000001"]
