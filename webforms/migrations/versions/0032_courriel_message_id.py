"""the Message-ID of each e-mail sent, to match a delivery status notification to it (issue 14)

Revision ID: 0032
Revises: 0030
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0032'
down_revision = '0030'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # E-mails sent before this revision have none: a bounce about them is not matched (docs/decisions.md).
    op.add_column('courriel', sa.Column('message_id', sa.String(length=250), nullable=True))
    op.create_index('ix_courriel_message_id', 'courriel', ['message_id'])


def downgrade() -> None:
    op.drop_index('ix_courriel_message_id', table_name='courriel')
    op.drop_column('courriel', 'message_id')
