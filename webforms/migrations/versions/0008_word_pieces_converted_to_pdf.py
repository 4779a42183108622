"""word pieces converted to pdf

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('piece', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pdf_sha256', sa.String(length=64), nullable=True))



def downgrade() -> None:
    with op.batch_alter_table('piece', schema=None) as batch_op:
        batch_op.drop_column('pdf_sha256')

