"""the addresses the territory's recipients are sent documents at (issue 13)

Revision ID: 0038
Revises: 0036
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0038'
down_revision = '0036'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # The RAST of a CAMS (ASLL §9.1) and the Service Logement of the DPDS (§9.2, §10) have no
    # account: a deployment gives their addresses; the sources do not, so none is shipped.
    op.add_column('territoire_zone', sa.Column('adresse', sa.String(length=254), nullable=True))
    op.add_column('departement', sa.Column('service_logement_adresse', sa.String(length=254), nullable=True))


def downgrade() -> None:
    op.drop_column('departement', 'service_logement_adresse')
    op.drop_column('territoire_zone', 'adresse')
