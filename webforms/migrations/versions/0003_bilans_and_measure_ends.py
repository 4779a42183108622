"""bilans and measure ends

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:

    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.add_column(sa.Column('echeance', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('echeance_date', sa.Date(), nullable=True))

    with op.batch_alter_table('mesure', schema=None) as batch_op:
        batch_op.add_column(sa.Column('date_fin_effective', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('motif_fin', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('commentaire_fin', sa.String(length=1000), nullable=True))




def downgrade() -> None:

    with op.batch_alter_table('mesure', schema=None) as batch_op:
        batch_op.drop_column('commentaire_fin')
        batch_op.drop_column('motif_fin')
        batch_op.drop_column('date_fin_effective')

    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_column('echeance_date')
        batch_op.drop_column('echeance')


