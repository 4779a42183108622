"""one dossier per organisation and call; the row a piece was deposited for

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Two "Préparer un dossier" clicks at once created two dossiers: the database now refuses
    # the second (NULL appel_id, every other kind, stays unconstrained).
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_document_appel_organisation', ['appel_id', 'organisation_id'])
    # A job description is deposited for one planned recruitment: its label at that moment.
    with op.batch_alter_table('piece', schema=None) as batch_op:
        batch_op.add_column(sa.Column('libelle', sa.String(length=255), nullable=True))
        # The last deposited version a piece belongs to (what recipients read while a dossier
        # is being corrected).
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=True))
    # Dossiers deposited before: the pieces current at their last deposit.
    op.execute(
        """
        UPDATE piece SET version = (SELECT MAX(r.version) FROM rendition r WHERE r.document_id = piece.document_id)
        WHERE EXISTS (
            SELECT 1 FROM document d
            WHERE d.id = piece.document_id AND d.submitted_at IS NOT NULL
              AND piece.uploaded_at <= d.submitted_at
              AND (piece.replaced_at IS NULL OR piece.replaced_at > d.submitted_at)
        )
        """
    )


def downgrade() -> None:
    with op.batch_alter_table('piece', schema=None) as batch_op:
        batch_op.drop_column('version')
        batch_op.drop_column('libelle')
    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_constraint('uq_document_appel_organisation', type_='unique')
