"""the departement's templates: uploaded versions, the one in force, the log of moves; a rendition's template version

Revision ID: 0017
Revises: 0015
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0015'
branch_labels = None
depends_on = None

# Issue 18: an administrator replaces a template from the admin page. The database says which
# version is in force, so that every host sharing it renders with the same bytes; each frozen
# rendition records the version it was made with (NULL: the shipped template, or a host's file).


def upgrade() -> None:
    op.create_table(
        'modele_version',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('template', sa.String(length=200), nullable=False),
        sa.Column('format', sa.String(length=10), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.Integer(), nullable=False),
        sa.Column('original_name', sa.String(length=200), nullable=False),
        sa.Column('deposited_by_id', sa.Integer(), nullable=False),
        sa.Column('deposited_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('previewed_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['deposited_by_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('template', 'number', name='uq_modele_version'),
    )
    op.create_index(op.f('ix_modele_version_template'), 'modele_version', ['template'], unique=False)
    op.create_table(
        'modele_en_vigueur',
        sa.Column('template', sa.String(length=200), nullable=False),
        sa.Column('version_id', sa.Integer(), nullable=True),
        sa.Column('since', sa.DateTime(timezone=True), nullable=False),
        sa.Column('by_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['by_id'], ['user_account.id']),
        sa.ForeignKeyConstraint(['version_id'], ['modele_version.id']),
        sa.PrimaryKeyConstraint('template'),
    )
    op.create_table(
        'modele_mouvement',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('template', sa.String(length=200), nullable=False),
        sa.Column('action', sa.String(length=20), nullable=False),
        sa.Column('number', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index(op.f('ix_modele_mouvement_template'), 'modele_mouvement', ['template'], unique=False)
    # Adding a nullable column rewrites no row: the rendition's write-once trigger is not fired.
    op.add_column('rendition', sa.Column('template_version', sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column('rendition', 'template_version')
    op.drop_index(op.f('ix_modele_mouvement_template'), table_name='modele_mouvement')
    op.drop_table('modele_mouvement')
    op.drop_table('modele_en_vigueur')
    op.drop_index(op.f('ix_modele_version_template'), table_name='modele_version')
    op.drop_table('modele_version')
