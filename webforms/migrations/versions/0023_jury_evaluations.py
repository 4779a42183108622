"""the jury's evaluations of the recevable dossiers, its avis, the call's decision and its letters (issue 12, AML §6c, §6d)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'jury_evaluation',
        sa.Column('document_id', sa.Integer(), sa.ForeignKey('document.id'), primary_key=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('user_account.id'), primary_key=True, index=True),
        sa.Column('notes', sa.JSON(), nullable=False),
        sa.Column('commentaires', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('signed_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        'jury_avis',
        sa.Column('document_id', sa.Integer(), sa.ForeignKey('document.id'), primary_key=True),
        sa.Column('avis', sa.String(length=20), nullable=False),
        sa.Column('texte', sa.String(length=2000), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('user_account.id'), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        'jury_decision',
        sa.Column('appel_id', sa.Integer(), sa.ForeignKey('appel.id'), primary_key=True),
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('user_account.id'), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        'jury_lettre',
        sa.Column('dossier_id', sa.Integer(), sa.ForeignKey('document.id'), primary_key=True),
        sa.Column('lettre_id', sa.Integer(), sa.ForeignKey('document.id'), nullable=False, unique=True),
    )


def downgrade() -> None:
    op.drop_table('jury_lettre')
    op.drop_table('jury_decision')
    op.drop_table('jury_avis')
    op.drop_table('jury_evaluation')
