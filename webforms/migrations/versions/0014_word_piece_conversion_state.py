"""a word piece's conversion to pdf runs in a worker: its state

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

# Issue 11, point 4: a Word piece is stored at once and converted to PDF by a worker. NULL: not a
# Word piece; "en_cours", "faite", "echec". Word pieces deposited before were converted at upload.


def upgrade() -> None:
    op.add_column('piece', sa.Column('conversion', sa.String(length=20), nullable=True))
    op.execute("UPDATE piece SET conversion = 'faite' WHERE pdf_sha256 IS NOT NULL")


def downgrade() -> None:
    op.drop_column('piece', 'conversion')
