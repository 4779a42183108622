"""bilan due of a document

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




def downgrade() -> None:

    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_column('echeance_date')
        batch_op.drop_column('echeance')


