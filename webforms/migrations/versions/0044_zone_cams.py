"""the CAMS of each PMS or commune, territory data (issue 13, brief h19 point 4)

Revision ID: 0044
Revises: 0038
Create Date: 2026-12-07
"""
import json
from pathlib import Path

from alembic import op
import sqlalchemy as sa


revision = '0044'
down_revision = '0038'
branch_labels = None
depends_on = None

SEED = Path(__file__).resolve().parents[2] / "territoires" / "territoires.json"


def upgrade() -> None:
    # ASLL §11 draws each lot as the "secteur géographique" of its CAMS, listed by their PMS: the
    # PMS → CAMS link is the territory's data (``rattachement_cams`` of the shipped file), editable
    # by an administrator; a PMS without one sends to every CAMS of its lot, as before.
    op.add_column('territoire_zone', sa.Column('cams', sa.String(length=150), nullable=True))
    zone = sa.table('territoire_zone', sa.column('territoire_id'), sa.column('nature'), sa.column('nom'), sa.column('cams'))
    territoire = sa.table('territoire', sa.column('id'), sa.column('code'))
    conn = op.get_bind()
    for t in json.loads(SEED.read_text(encoding="utf-8"))["territoires"]:
        found = conn.execute(sa.select(territoire.c.id).where(territoire.c.code == t["code"])).scalar()
        if found is None:
            continue
        for cams, names in t.get("rattachement_cams", {}).items():
            conn.execute(
                zone.update()
                .where(zone.c.territoire_id == found, zone.c.nature.in_(("pms", "commune")), zone.c.nom.in_(names))
                .values(cams=cams)
            )


def downgrade() -> None:
    op.drop_column('territoire_zone', 'cams')
