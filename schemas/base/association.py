"""What the documents the service writes to a candidate association share (AML §5, §6d).

The notification letter (``notification_aml``) and the draft convention (``convention_aml``) are
both filled by the service from a dossier, never typed: the same header block (the association,
its address, its representative), the same table of measures granted per territory with their
amount (5 000 € per measure, AML §5) and its totals, and the same declaration (read by the
association, its instructeurs and archivistes; never started by hand). Declared once here.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from schemas.base.fields import Integer, Money, Section, Text
from schemas.base.layout import Table
from schemas.base.names import Name


class AssociationSchema(Section):
    """The association the document is addressed to, as its deposited dossier names it."""

    association = Name("Association", required=True, max_length=200)
    adresse = Text("Adresse", max_length=300)
    representant = Name("Représentant légal", max_length=200)


class MesureAccordeeSchema(Section):
    """The measures granted on one territory, and their amount (AML §5)."""

    territoire = Text("Territoire", required=True, max_length=100)
    nombre = Integer("Mesures accordées", required=True, min=1, max=1000)
    montant = Money("Montant", required=True)


def measures_totals(data: Mapping[str, Any]) -> dict[str, Any]:
    """The measures and the amount granted in all (none when nothing is granted)."""
    rows = data.get("mesures") or []
    return {
        "total_mesures": sum(r.get("nombre") or 0 for r in rows) if rows else None,
        "montant_total": sum((r.get("montant") or Decimal(0) for r in rows), Decimal(0)) if rows else None,
    }


def measures_table(empty: str) -> Table:
    """The table of the measures per territory, with its total row."""
    return Table("mesures", (("territoire", 40), ("nombre", 25), ("montant", 35)), empty, numbers=("nombre", "montant"), total=("calcul.total_mesures", "calcul.montant_total"))


def written_by_the_service(group: str, recipient: str, totals: tuple[str, str]) -> dict[str, Any]:
    """The ``Kind`` arguments of a document the service writes to an association named in ``group``."""
    return {
        "recipients": (recipient,),
        "recipient_roles": frozenset({"instructeur", "archiviste"}),
        "derive": measures_totals,
        "derived_labels": {"total_mesures": totals[0], "montant_total": totals[1]},
        "summary": lambda data: str((data.get(group) or {}).get("association") or ""),
        "summary_label": "Association",
        # Filled and submitted (or rendered) by the service from the dossier, never started by hand.
        "standalone": False,
    }
