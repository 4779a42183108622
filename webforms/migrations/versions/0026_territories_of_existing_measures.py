"""the territory of the measures opened before territories existed, where it can be told (issue 13)

Filled, in this order, only where none is set: a measure opened by a referral takes the platform
of the referral's EPCI (AML §1); a measure whose household's commune is a commune or PMS zone of
a territory of its nature takes that one (accents, case, hyphens ignored); a measure whose
operator works on exactly one territory of its nature takes it; then a measure opened from
another (a Maintien after an Installation) takes that measure's, if still without one. The rest stays without territory, listed on
/admin/territoires/mesures for an administrator to assign (docs/territories.md). Downgrading
keeps the territories set: nothing tells which were filled here.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""
from alembic import op


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None

NATURE = "CASE m.type_mesure WHEN 'aml' THEN 'plateforme_aml' WHEN 'asll_installation' THEN 'lot_asll' WHEN 'asll_maintien' THEN 'lot_asll' END"


def _plain(column: str) -> str:
    """A place name compared without case, accents, hyphens, apostrophes or repeated spaces."""
    lowered = f"translate(lower({column}), 'àâäáãéèêëíìîïóòôöõúùûüçÿ-''', 'aaaaaeeeeiiiiooooouuuucy  ')"
    return f"btrim(regexp_replace({lowered}, '\\s+', ' ', 'g'))"


STATEMENTS = (
    # The referral's EPCI (its frozen data): the platform holding that EPCI.
    f"""UPDATE mesure m SET territoire_id = z.territoire_id
    FROM mesure_origine o, document d, territoire_zone z, territoire t
    WHERE m.territoire_id IS NULL AND o.mesure_id = m.id AND d.id = o.saisine_id AND z.nature = 'epci'
      AND z.nom = json_extract_path_text(coalesce(d.submitted_data, d.data)::json, 'territoire', 'epci')
      AND t.id = z.territoire_id AND t.nature = {NATURE}""",
    # The household's commune, a commune or PMS zone of a territory of the measure's nature.
    f"""UPDATE mesure m SET territoire_id = z.territoire_id
    FROM territoire_zone z, territoire t
    WHERE m.territoire_id IS NULL AND m.menage_commune IS NOT NULL AND z.nature IN ('commune', 'pms')
      AND {_plain('z.nom')} = {_plain('m.menage_commune')} AND t.id = z.territoire_id AND t.nature = {NATURE}""",
    # The operator's only territory of that nature.
    f"""UPDATE mesure m SET territoire_id = (
        SELECT min(ot.territoire_id) FROM organisation_territoire ot JOIN territoire t ON t.id = ot.territoire_id
        WHERE ot.organisation_id = m.organisation_id AND t.nature = {NATURE})
    WHERE m.territoire_id IS NULL AND (
        SELECT count(*) FROM organisation_territoire ot JOIN territoire t ON t.id = ot.territoire_id
        WHERE ot.organisation_id = m.organisation_id AND t.nature = {NATURE}) = 1""",
    # The measure it follows (a Maintien opened by an Installation bilan), once that one has its own.
    """UPDATE mesure m SET territoire_id = p.territoire_id
    FROM mesure_origine o, mesure p
    WHERE m.territoire_id IS NULL AND o.mesure_id = m.id AND p.id = o.mesure_precedente_id AND p.territoire_id IS NOT NULL""",
)


def upgrade() -> None:
    for statement in STATEMENTS:
        op.execute(statement)


def downgrade() -> None:
    pass  # the territories set stay: a later assignment cannot be told from one made here
