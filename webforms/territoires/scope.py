"""Which territory a document or a measure belongs to, and which territories a user reads.

The one place that derives a territory (issue 13); ``webforms.policy`` asks it for every right.

- A fiche saisine: the platform of the EPCI it names (AML §1: CALL, CAHC → Lens-Hénin;
  CABBALR → Artois), read from its frozen data once submitted, from the draft before.
- A document about a measure (bilans, contrat tripartite, a fiche d'incident opened from one):
  the measure's territory.
- A measure: the territory fixed when it was opened (``territory_for_mesure``).
- Anything else (a candidature, which answers the Département's call; an operator's annual
  bilan; a fiche d'incident not attached to a measure): no territory, the Département's.

A user reads the territories they are attached to, and, with a Département-wide grant, every
territory of that Département and what belongs to no territory but to that Département (a
measure: the Département of its type's territories; a document: its measure's, else its
organisation's; ``in_scope``; what has no known Département, only a grant of every
Département). A user with neither reads nothing
beyond what their own organisation wrote (docs/decisions.md).
"""

from __future__ import annotations

import unicodedata

from sqlalchemy import ColumnElement, Select, and_, case, exists, false, func, or_, select
from sqlalchemy.orm import Session, object_session

from webforms.models import (
    Departement,
    Document,
    Mesure,
    OrganisationTerritoire,
    PorteeDepartement,
    Territoire,
    TerritoireZone,
    User,
    UserTerritoire,
)

# The nature of territory that holds each measure type (AML §1; ASLL §11).
NATURE_OF_MEASURE = {"aml": "plateforme_aml", "asll_installation": "lot_asll", "asll_maintien": "lot_asll"}
# Where a kind's data names its territory: (zone nature, path in the data). Data, so that a kind
# that gains a territory field is one line here.
KIND_ZONES: dict[str, tuple[str, tuple[str, ...]]] = {"fiche_saisine": ("epci", ("territoire", "epci"))}
# The zones a household's commune is compared with, to find a measure's lot or platform.
COMMUNE_ZONES = ("commune", "pms")


def document_territory() -> ColumnElement[int | None]:
    """Return the SQL expression of a document's territory id (NULL: the Département's)."""
    cases = []
    for kind, (nature, path) in KIND_ZONES.items():
        # Recipients read the frozen version: its territory is the one they see.
        named = func.json_extract_path_text(func.coalesce(Document.submitted_data, Document.data), *path)
        zone = select(TerritoireZone.territoire_id).where(TerritoireZone.nature == nature, TerritoireZone.nom == named)
        cases.append((Document.kind == kind, zone.scalar_subquery()))
    of_measure = select(Mesure.territoire_id).where(Mesure.id == Document.mesure_id).scalar_subquery()
    cases.append((Document.mesure_id.is_not(None), of_measure))
    return case(*cases, else_=None)


def attached_territories(user: User) -> Select[tuple[int]]:
    """Return the ids of the territories ``user`` is attached to."""
    return select(UserTerritoire.territoire_id).where(UserTerritoire.user_id == user.id)


def granted_territories(user: User) -> Select[tuple[int]]:
    """Return the ids of the territories of the Départements ``user`` was granted."""
    return select(Territoire.id).join(PorteeDepartement, PorteeDepartement.departement == Territoire.departement).where(PorteeDepartement.user_id == user.id)


def _nature_of(type_mesure: ColumnElement[str]) -> ColumnElement[str | None]:
    return case(NATURE_OF_MEASURE, value=type_mesure, else_=None)


def mesure_home() -> Select[tuple[str]]:
    """Return the Départements a measure without territory belongs to: those holding territories of its type's nature."""
    # ASLL §11 (lots) and AML §1 (platforms) are each one Département's: an ASLL measure is
    # Haute-Savoie's wherever its operator also works.
    return select(Territoire.departement).where(Territoire.nature == _nature_of(Mesure.type_mesure))


def document_home() -> Select[tuple[str]]:
    """Return the Départements a document without territory belongs to: its measure's, else its organisation's."""
    # Two levels down from the document's query: correlated by name, SQLAlchemy does not reach it alone.
    measure_nature = select(_nature_of(Mesure.type_mesure)).where(Mesure.id == Document.mesure_id).correlate(Document).scalar_subquery()
    organisation_places = (
        select(OrganisationTerritoire.territoire_id).where(OrganisationTerritoire.organisation_id == Document.organisation_id).correlate(Document)
    )
    return select(Territoire.departement).where(
        or_(
            and_(Document.mesure_id.is_not(None), Territoire.nature == measure_nature),
            and_(Document.mesure_id.is_(None), Territoire.id.in_(organisation_places)),
        )
    )


def in_scope(user: User, territory: ColumnElement[int | None], home: Select[tuple[str]] | None = None) -> ColumnElement[bool]:
    """Return the SQL condition: ``territory`` (NULL for none) is one ``user`` reads.

    Without a territory, the object is its Départements' (``home``): a grant of one of them reads
    it. One whose Département nothing tells (an operator attached nowhere yet) may be any
    Département's: only a grant of every Département reads it, never a territory's user nor one
    Département's grant (docs/decisions.md).
    """
    granted = select(PorteeDepartement.departement).where(PorteeDepartement.user_id == user.id)
    of_home = exists(home.where(Territoire.departement.in_(granted))) if home is not None else exists(granted)
    every_departement = ~exists(select(Departement.nom).where(Departement.nom.not_in(granted)))
    unknown = and_(~exists(home), every_departement) if home is not None else false()
    return or_(
        territory.in_(attached_territories(user)),
        territory.in_(granted_territories(user)),
        and_(territory.is_(None), exists(granted), or_(of_home, unknown)),
    )


def document_scope(user: User) -> ColumnElement[bool]:
    """Return the SQL condition: the document belongs to a territory, or a Département, ``user`` reads."""
    return in_scope(user, document_territory(), document_home())


def mesure_scope(user: User) -> ColumnElement[bool]:
    """Return the SQL condition: the measure belongs to a territory, or a Département, ``user`` reads."""
    return in_scope(user, Mesure.territoire_id, mesure_home())


def document_in_scope(user: User, doc: Document) -> bool:
    """Does ``doc`` belong to a territory ``user`` reads?"""
    session = object_session(doc)
    if session is None or doc.id is None:
        return False
    return bool(session.scalar(select(document_scope(user)).where(Document.id == doc.id)))


def mesure_in_scope(user: User, mesure: Mesure) -> bool:
    """Does ``mesure`` belong to a territory ``user`` reads?"""
    session = object_session(mesure)
    if session is None or mesure.id is None:
        return False
    return bool(session.scalar(select(mesure_scope(user)).where(Mesure.id == mesure.id)))


def territory_of(session: Session, doc: Document) -> Territoire | None:
    """Return the territory of a stored document, or None (the Département's)."""
    found = select(document_territory()).where(Document.id == doc.id).scalar_subquery()
    return session.scalar(select(Territoire).where(Territoire.id == found))


def same_place(a: str, b: str) -> bool:
    """Are two place names the same, whatever their case, accents, hyphens and spaces?"""
    return plain_place(a) == plain_place(b)


def plain_place(name: str) -> str:
    """Return a place name folded for comparison: no case, accents, hyphens, apostrophes nor extra spaces."""
    decomposed = unicodedata.normalize("NFKD", name.casefold())
    letters = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(letters.replace("-", " ").replace("'", " ").split())


def territory_of_commune(session: Session, nature: str, commune: str | None) -> int | None:
    """Return the territory of ``nature`` one of whose communes or PMS is ``commune``, or None."""
    if not commune or not commune.strip():
        return None
    zones = session.scalars(select(TerritoireZone).join(Territoire).where(Territoire.nature == nature, TerritoireZone.nature.in_(COMMUNE_ZONES))).all()
    return next((zone.territoire_id for zone in zones if same_place(zone.nom, commune)), None)


def territory_for_mesure(session: Session, *, organisation_id: int, type_mesure: str, commune: str | None) -> int | None:
    """Return the territory a new measure belongs to: the one holding the household's commune, else
    the operator's only territory of that nature; None if neither tells (the Département's)."""
    nature = NATURE_OF_MEASURE.get(type_mesure)
    if nature is None:
        return None
    if (found := territory_of_commune(session, nature, commune)) is not None:
        return found
    own = session.scalars(
        select(OrganisationTerritoire.territoire_id)
        .join(Territoire, Territoire.id == OrganisationTerritoire.territoire_id)
        .where(OrganisationTerritoire.organisation_id == organisation_id, Territoire.nature == nature)
    ).all()
    return own[0] if len(own) == 1 else None


def has_departement_grant(session: Session, user: User) -> bool:
    """Has ``user`` an explicit Département-wide grant (what reading a whole call's jury work across territories asks)?"""
    return bool(session.scalar(select(exists().where(PorteeDepartement.user_id == user.id))))
