"""measures, meetings, renewals

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('mesure',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('referent_id', sa.Integer(), nullable=False),
    sa.Column('type_mesure', sa.String(length=30), nullable=False),
    sa.Column('menage_nom', sa.String(length=150), nullable=False),
    sa.Column('menage_prenom', sa.String(length=100), nullable=False),
    sa.Column('menage_commune', sa.String(length=150), nullable=True),
    sa.Column('date_bon_commande', sa.Date(), nullable=True),
    sa.Column('date_premiere_rencontre', sa.Date(), nullable=True),
    sa.Column('duree_mois', sa.Integer(), nullable=False),
    sa.Column('travailleur_social', sa.String(length=150), nullable=True),
    sa.Column('statut', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['referent_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('mesure', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mesure_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mesure_referent_id'), ['referent_id'], unique=False)

    op.create_table('rencontre',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mesure_id', sa.Integer(), nullable=False),
    sa.Column('date', sa.Date(), nullable=False),
    sa.Column('nature', sa.String(length=40), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['mesure_id'], ['mesure.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('rencontre', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_rencontre_mesure_id'), ['mesure_id'], unique=False)

    op.create_table('renouvellement',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mesure_id', sa.Integer(), nullable=False),
    sa.Column('date_decision', sa.Date(), nullable=False),
    sa.Column('duree_mois', sa.Integer(), nullable=False),
    sa.Column('motif', sa.String(length=1000), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['mesure_id'], ['mesure.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('renouvellement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_renouvellement_mesure_id'), ['mesure_id'], unique=False)

    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.add_column(sa.Column('mesure_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_document_mesure_id'), ['mesure_id'], unique=False)
        batch_op.create_foreign_key('fk_document_mesure_id', 'mesure', ['mesure_id'], ['id'])




def downgrade() -> None:

    with op.batch_alter_table('document', schema=None) as batch_op:
        batch_op.drop_constraint('fk_document_mesure_id', type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_document_mesure_id'))
        batch_op.drop_column('mesure_id')

    with op.batch_alter_table('renouvellement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_renouvellement_mesure_id'))

    op.drop_table('renouvellement')
    with op.batch_alter_table('rencontre', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_rencontre_mesure_id'))

    op.drop_table('rencontre')
    with op.batch_alter_table('mesure', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_mesure_referent_id'))
        batch_op.drop_index(batch_op.f('ix_mesure_organisation_id'))

    op.drop_table('mesure')

