"""the operator who made an API token on the command line (issue 17)

Revision ID: 0030
Revises: 0028
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0030'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Tokens made on the command line before this revision name no operator: it was not asked.
    op.add_column('api_token', sa.Column('created_by_operator', sa.String(length=100), nullable=True))


def downgrade() -> None:
    op.drop_column('api_token', 'created_by_operator')
