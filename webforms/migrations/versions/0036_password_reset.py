"""password resets by e-mail: a single-use link, stored as its SHA-256; measures on a destruction visa (issue 15)

Revision ID: 0036
Revises: 0032
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0036'
down_revision = '0032'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'password_reset',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('jeton_sha256', sa.String(length=64), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('ended_reason', sa.String(length=20), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('jeton_sha256'),
    )
    op.create_index(op.f('ix_password_reset_user_id'), 'password_reset', ['user_id'], unique=False)
    op.create_table(
        'mesure_elimination',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('visa_id', sa.Integer(), nullable=False),
        sa.Column('mesure_id', sa.Integer(), nullable=False),
        sa.Column('eliminated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('eliminated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['visa_id'], ['destruction_visa.id']),
        sa.ForeignKeyConstraint(['mesure_id'], ['mesure.id']),
        sa.ForeignKeyConstraint(['eliminated_by_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('mesure_id'),
    )
    op.create_index(op.f('ix_mesure_elimination_visa_id'), 'mesure_elimination', ['visa_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_mesure_elimination_visa_id'), table_name='mesure_elimination')
    op.drop_table('mesure_elimination')
    op.drop_index(op.f('ix_password_reset_user_id'), table_name='password_reset')
    op.drop_table('password_reset')
