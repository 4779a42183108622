"""candidature pieces

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('piece',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('rang', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('mime', sa.String(length=100), nullable=False),
    sa.Column('pages', sa.Integer(), nullable=True),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('uploaded_by_id', sa.Integer(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('nonconforme_motif', sa.String(length=1000), nullable=True),
    sa.Column('nonconforme_par_id', sa.Integer(), nullable=True),
    sa.Column('nonconforme_le', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], ),
    sa.ForeignKeyConstraint(['nonconforme_par_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['uploaded_by_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('piece', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_piece_document_id'), ['document_id'], unique=False)

    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.add_column(sa.Column('appel_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_document_appel_id'), ['appel_id'], unique=False)
        batch_op.create_foreign_key('fk_document_appel_id', 'appel', ['appel_id'], ['id'])




def downgrade() -> None:

    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_constraint('fk_document_appel_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_document_appel_id'))
        batch_op.drop_column('appel_id')

    with op.batch_alter_table('piece', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_piece_document_id'))

    op.drop_table('piece')

