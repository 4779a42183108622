"""outputs of a rendition

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


# The unique constraint of 0001 had no name: SQLite reflects it under this convention, and
# PostgreSQL named it itself.
_CONVENTION = {"uq": "uq_%(table_name)s_%(column_0_name)s"}
_OLD = {"sqlite": "uq_rendition_document_id", "postgresql": "rendition_document_id_version_format_key"}


def upgrade() -> None:
    # Several outputs (the document, its annexes, the complete dossier) per version and format.
    dialect = op.get_bind().dialect.name
    with op.batch_alter_table('rendition', schema=None, naming_convention=_CONVENTION) as batch_op:
        batch_op.add_column(sa.Column('output', sa.String(length=40), server_default='document', nullable=False))
        if dialect in _OLD:
            batch_op.drop_constraint(_OLD[dialect], type_='unique')
        batch_op.create_unique_constraint('uq_rendition_output', ['document_id', 'version', 'output', 'format'])




def downgrade() -> None:

    with op.batch_alter_table('rendition', schema=None) as batch_op:
        batch_op.drop_constraint('uq_rendition_output', type_='unique')
        batch_op.drop_column('output')
        batch_op.create_unique_constraint('uq_rendition_document_id', ['document_id', 'version', 'format'])


