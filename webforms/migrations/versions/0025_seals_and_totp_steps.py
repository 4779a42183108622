"""archive log seals (HMAC with a key outside the database) and the last TOTP step used (issue 15)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows written before this revision stay unsealed: the first sealed row vouches for them
    # through the chain (docs/archive.md, « Journal d'audit scellé »).
    op.add_column('archive_log', sa.Column('seal', sa.String(length=128), nullable=True))
    op.add_column('account_security', sa.Column('totp_last_step', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column('account_security', 'totp_last_step')
    op.drop_column('archive_log', 'seal')
