"""a document's state is its statut, in French like a measure's and a piece's

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

# English state -> French state (docs/decisions.md, « Noms des états »).
STATES = {'draft': 'brouillon', 'submitted': 'soumis', 'reviewed': 'decide'}


def _rename(old_column: str, new_column: str, values: dict[str, str]) -> None:
    # The index is named after its column: recreated under the new name, as the model declares it.
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_index(f'ix_document_{old_column}')
        batch_op.alter_column(old_column, new_column_name=new_column, existing_type=sa.String(length=20), existing_nullable=False)
        batch_op.create_index(f'ix_document_{new_column}', [new_column], unique=False)
    document = sa.table('document', sa.column(new_column, sa.String(length=20)))
    for old, new in values.items():
        op.execute(document.update().where(document.c[new_column] == old).values({new_column: new}))


def upgrade() -> None:
    _rename('status', 'statut', STATES)


def downgrade() -> None:
    _rename('statut', 'status', {new: old for old, new in STATES.items()})
