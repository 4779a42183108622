"""The pages printed outside any kind's outputs, replaceable like them (issue 18, audit point 4).

The complete dossier's cover and the jury's procès-verbal are printed by the one renderer, from
HTML templates of their own. The issue asks that "the Département's templates" be replaced from
the admin page; these two are the Département's too, so each is declared here as a kind's
output is: its template, what it prints, and the example it is checked and previewed with. The
example declares the page's context: every name a replacement may use is in it (a list holds one
row with every column), as a kind's schema declares a document's.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from schemas.base.kind import Output

# The complete dossier's cover with its contents (webforms/candidatures/dossier.py).
COVER = Output("couverture", "Couverture et sommaire du dossier complet", "pdf", "dossier_couverture.html")
# The procès-verbal of a call's selection jury (webforms/candidatures/exports.py; AML §6c, §6d).
PROCES_VERBAL = Output("proces_verbal", "Procès-verbal du jury de sélection", "pdf", "jury_proces_verbal.html")


@dataclass(frozen=True)
class Page:
    """A template printed outside the kinds: its output, and the example context it is checked with.

    ``kind`` names the kind whose document context the page receives besides ``example`` (the
    cover prints the candidature's own fields), or is None when ``example`` is all of it.
    """

    output: Output
    kind: str | None = None
    example: Mapping[str, Any] = field(default_factory=dict)

    @property
    def owner(self) -> str:
        """Return the page as a message names it: « la page … »."""
        return f"la page « {self.output.title} »"


_COVER_EXAMPLE = {
    "dossier": {"appel": "Appel à projets AML 2019", "date_limite": "30 septembre 2019"},
    "sommaire": [{"titre": "Courrier de candidature", "page": 3, "pages": 1, "fichier": "courrier.pdf"}],
}

_MEMBER = {"nom": "Claire Martin", "organisme": "Département du Pas-de-Calais", "code": "departement"}
_PV_EXAMPLE = {
    "appel": {"titre": "Appel à projets AML 2019", "code": "AML-2019"},
    "jury": {"date": "14 octobre 2019", "membres": [_MEMBER], "president": _MEMBER},
    "maximum": 100,
    "dossiers": [
        {
            "reference": "CA-2019-000001", "association": "Association exemple", "etat_label": "Déposé",
            "avis": "Favorable", "avis_texte": "Projet solide.", "evaluations": 3,
            "criteres": [{"titre": "Qualité du projet", "notes": ["16,5"], "moyenne": "16,5", "ecart": "1,5"}],
            "totaux": ["72,5"], "total": "72,5", "accordees": ["Lens-Hénin : 4"], "motifs": "",
        }
    ],
    "allocation": [{"territoire": "Lens-Hénin", "appel": 10, "accordees": 4, "reste": 6, "montant": "20 000,00 €"}],
    "decision": "21 octobre 2019",
}

PAGES: dict[str, Page] = {
    page.output.template: page
    for page in (
        Page(COVER, "candidature_aml", _COVER_EXAMPLE),
        Page(PROCES_VERBAL, None, _PV_EXAMPLE),
    )
}
