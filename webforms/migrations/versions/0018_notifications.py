"""notifications, e-mail preferences and the log of sent e-mails (issue 14); reminders' occurrences

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'notification',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('document_id', sa.Integer(), nullable=True),
        sa.Column('mesure_id', sa.Integer(), nullable=True),
        sa.Column('evenement', sa.String(length=40), nullable=False),
        sa.Column('message', sa.String(length=300), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('mailed_at', sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint('(document_id IS NULL) <> (mesure_id IS NULL)', name='ck_notification_about_one_thing'),
        sa.ForeignKeyConstraint(['document_id'], ['document.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['mesure_id'], ['mesure.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_notification_document_id', 'notification', ['document_id'])
    op.create_index('ix_notification_mesure_id', 'notification', ['mesure_id'])
    op.create_index('ix_notification_user_unread', 'notification', ['user_id', 'read_at'])
    op.create_table(
        'notification_preference',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('frequence', sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id'),
    )
    op.create_table(
        'courriel',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('adresse', sa.String(length=254), nullable=False),
        sa.Column('nature', sa.String(length=60), nullable=False),
        sa.Column('notifications', sa.JSON(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('statut', sa.String(length=20), nullable=False),
        sa.Column('erreur', sa.Text(), nullable=True),
        sa.Column('travail_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['travail_id'], ['travail.id'], ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_courriel_user_id', 'courriel', ['user_id'])
    op.create_table(
        'rappel',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('cle', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('cle'),
    )


def downgrade() -> None:
    op.drop_table('rappel')
    op.drop_index('ix_courriel_user_id', table_name='courriel')
    op.drop_table('courriel')
    op.drop_table('notification_preference')
    op.drop_index('ix_notification_user_unread', table_name='notification')
    op.drop_index('ix_notification_mesure_id', table_name='notification')
    op.drop_index('ix_notification_document_id', table_name='notification')
    op.drop_table('notification')
