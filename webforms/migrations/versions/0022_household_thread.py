"""one thread per household: the origin of a measure, the start of the measure taking over, the ASLL referents' diplomas (issue 13)

The coordinator's decisions recorded before this revision named the operator and the referent as
free text; they stay as they were (the decision keeps those names, printed and shown as before),
and no measure is created for them: a name typed by hand cannot be trusted to designate an account
(docs/decisions.md, "Un fil par ménage").

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('mesure', sa.Column('date_debut_relais', sa.Date(), nullable=True))
    op.create_table(
        'mesure_origine',
        sa.Column('mesure_id', sa.Integer(), nullable=False),
        sa.Column('saisine_id', sa.Integer(), nullable=True),
        sa.Column('bilan_id', sa.Integer(), nullable=True),
        sa.Column('mesure_precedente_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['mesure_id'], ['mesure.id']),
        sa.ForeignKeyConstraint(['saisine_id'], ['document.id']),
        sa.ForeignKeyConstraint(['bilan_id'], ['document.id']),
        sa.ForeignKeyConstraint(['mesure_precedente_id'], ['mesure.id']),
        sa.PrimaryKeyConstraint('mesure_id'),
        sa.UniqueConstraint('saisine_id'),
        sa.UniqueConstraint('bilan_id'),
    )
    op.create_index('ix_mesure_origine_mesure_precedente_id', 'mesure_origine', ['mesure_precedente_id'])
    op.create_table(
        'diplome_referent',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('diplome', sa.String(length=10), nullable=False),
        sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('recorded_by_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id']),
        sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('user_id'),
    )


def downgrade() -> None:
    op.drop_table('diplome_referent')
    op.drop_index('ix_mesure_origine_mesure_precedente_id', table_name='mesure_origine')
    op.drop_table('mesure_origine')
    op.drop_column('mesure', 'date_debut_relais')
