"""What a kind's decision adds to the lifecycle: the lists it chooses from, what it opens.

The lifecycle (``services.record_review``) calls the rules registered for the document's kind; the
app factory registers them (``register_review``), so that the lifecycle names none of the features
a decision leads to (a validated referral opens a measure: ``mesures.thread``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, Protocol

from sqlalchemy.orm import Session

from webforms.models import Document, User


class ReviewRules(Protocol):
    """What a kind's decision adds to the lifecycle (lists to choose from, what it opens); by default nothing.

    Implementations subclass it to inherit the defaults and override what the decision adds.
    """

    def choices(self, session: Session, doc: Document) -> dict[str, list[tuple[str, str]]]:
        """Return the choices of the decision's list fields (widget ``lookup``), by field name."""
        return {}

    def complete(self, session: Session, doc: Document, review: dict[str, Any], *, user: User) -> dict[str, Any]:
        """Return the loaded decision checked against the database and completed; refuse it with ValidationFailed."""
        return review

    def on_review(self, session: Session, doc: Document, review: Mapping[str, Any], *, user: User, now: dt.datetime) -> None:
        """Do what the recorded decision opens, in its transaction (e.g. create the measure)."""


class NoReviewRules(ReviewRules):
    """A decision that only records itself."""


_NO_REVIEW_RULES = NoReviewRules()
# The rules of a kind's decision, by kind name. Filled by the app factory (``register_review``),
# so that the lifecycle names none of the features a decision leads to.
_REVIEWS: dict[str, ReviewRules] = {}


def register_review(kind_name: str, rules: ReviewRules) -> None:
    """Make ``rules`` apply to every decision recorded on a document of ``kind_name``."""
    _REVIEWS[kind_name] = rules


def review_rules(doc: Document) -> ReviewRules:
    """Return the rules of ``doc``'s decision, or none."""
    return _REVIEWS.get(doc.kind, _NO_REVIEW_RULES)
