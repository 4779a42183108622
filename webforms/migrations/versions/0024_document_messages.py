"""messages per document, how far each reader has read them, links for recipients without an account (issue 14)

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'message',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('nature', sa.String(length=30), nullable=False),
        sa.Column('texte', sa.Text(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['document_id'], ['document.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_message_document_at', 'message', ['document_id', 'id'])
    op.create_table(
        'message_read',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('last_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['document_id'], ['document.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'document_id'),
    )
    op.create_table(
        'partage',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=False),
        sa.Column('adresse', sa.String(length=254), nullable=False),
        sa.Column('qualite', sa.String(length=30), nullable=False),
        sa.Column('sel', sa.String(length=64), nullable=False),
        sa.Column('created_by_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('code_sel', sa.String(length=64), nullable=True),
        sa.Column('code_expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('code_essais', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['document_id'], ['document.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_partage_document_id', 'partage', ['document_id'])
    op.create_table(
        'partage_trace',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('partage_id', sa.Integer(), nullable=False),
        sa.Column('quoi', sa.String(length=20), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['partage_id'], ['partage.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_partage_trace_partage_id', 'partage_trace', ['partage_id'])


def downgrade() -> None:
    op.drop_index('ix_partage_trace_partage_id', table_name='partage_trace')
    op.drop_table('partage_trace')
    op.drop_index('ix_partage_document_id', table_name='partage')
    op.drop_table('partage')
    op.drop_table('message_read')
    op.drop_index('ix_message_document_at', table_name='message')
    op.drop_table('message')
