"""drafts' previews rendered in the background, one per document, output and format

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


# Issue 11, point 4: a draft's preview is rendered by a worker after a save and stored by its
# hash; the click serves it while ``source_sha256`` (what it was rendered from) still matches.
def upgrade() -> None:
    op.create_table(
        'apercu',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('document_id', sa.Integer(), sa.ForeignKey('document.id'), nullable=False, index=True),
        sa.Column('output', sa.String(length=40), nullable=False),
        sa.Column('format', sa.String(length=10), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('source_sha256', sa.String(length=64), nullable=False),
        sa.Column('source_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('document_id', 'output', 'format', name='uq_apercu_output'),
    )


def downgrade() -> None:
    op.drop_table('apercu')
