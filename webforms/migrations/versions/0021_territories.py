"""territories: AML platforms and ASLL lots, their zones, attachments and Département-wide grants (issue 13)

The shipped territories (webforms/territoires/territoires.json) are loaded here, so that every
database has them; a deployment loads its own with ``webforms territories load``.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""
import datetime as dt
import json
from pathlib import Path

from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None

SEED = Path(__file__).resolve().parents[2] / "territoires" / "territoires.json"


def upgrade() -> None:
    op.create_table(
        'departement',
        sa.Column('nom', sa.String(length=80), nullable=False),
        sa.Column('service_logement', sa.String(length=200), nullable=True),
        sa.PrimaryKeyConstraint('nom'),
    )
    op.create_table(
        'territoire',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('nature', sa.String(length=20), nullable=False),
        sa.Column('nom', sa.String(length=120), nullable=False),
        sa.Column('departement', sa.String(length=80), nullable=False),
        sa.Column('mesures_min', sa.Integer(), nullable=True),
        sa.Column('mesures_max', sa.Integer(), nullable=True),
        sa.Column('annee_indicative', sa.Integer(), nullable=True),
        sa.Column('indicatifs', sa.JSON(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.CheckConstraint('mesures_min IS NULL OR mesures_min >= 0', name='ck_territoire_min'),
        sa.CheckConstraint('mesures_min IS NULL OR mesures_max IS NULL OR mesures_min <= mesures_max', name='ck_territoire_bornes'),
        sa.ForeignKeyConstraint(['departement'], ['departement.nom']),
        sa.ForeignKeyConstraint(['updated_by_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('code'),
        sa.UniqueConstraint('nom'),
    )
    op.create_index('ix_territoire_departement', 'territoire', ['departement'])
    op.create_table(
        'territoire_zone',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('territoire_id', sa.Integer(), nullable=False),
        sa.Column('nature', sa.String(length=20), nullable=False),
        sa.Column('nom', sa.String(length=150), nullable=False),
        sa.ForeignKeyConstraint(['territoire_id'], ['territoire.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('nature', 'nom', name='uq_territoire_zone'),
    )
    op.create_index('ix_territoire_zone_territoire_id', 'territoire_zone', ['territoire_id'])
    op.create_table(
        'organisation_territoire',
        sa.Column('organisation_id', sa.Integer(), nullable=False),
        sa.Column('territoire_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['territoire_id'], ['territoire.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('organisation_id', 'territoire_id'),
    )
    op.create_index('ix_organisation_territoire_territoire_id', 'organisation_territoire', ['territoire_id'])
    op.create_table(
        'user_territoire',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('territoire_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['territoire_id'], ['territoire.id'], ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'territoire_id'),
    )
    op.create_index('ix_user_territoire_territoire_id', 'user_territoire', ['territoire_id'])
    op.create_table(
        'portee_departement',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('departement', sa.String(length=80), nullable=False),
        sa.Column('accordee_par_id', sa.Integer(), nullable=True),
        sa.Column('accordee_le', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['departement'], ['departement.nom']),
        sa.ForeignKeyConstraint(['accordee_par_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'departement', name='uq_portee_departement'),
    )
    op.create_index('ix_portee_departement_user_id', 'portee_departement', ['user_id'])
    op.add_column('mesure', sa.Column('territoire_id', sa.Integer(), nullable=True))
    op.create_foreign_key('fk_mesure_territoire', 'mesure', 'territoire', ['territoire_id'], ['id'])
    op.create_index('ix_mesure_territoire_id', 'mesure', ['territoire_id'])
    _load(json.loads(SEED.read_text(encoding="utf-8")))


def _load(data: dict) -> None:
    """Insert the shipped Départements, territories and zones (the tables are new: nothing to merge)."""
    conn = op.get_bind()
    departement = sa.table('departement', sa.column('nom'), sa.column('service_logement'))
    territoire = sa.table(
        'territoire', sa.column('id'), sa.column('code'), sa.column('nature'), sa.column('nom'), sa.column('departement'),
        sa.column('mesures_min'), sa.column('mesures_max'), sa.column('annee_indicative'), sa.column('indicatifs', sa.JSON), sa.column('updated_at'),
    )
    zone = sa.table('territoire_zone', sa.column('territoire_id'), sa.column('nature'), sa.column('nom'))
    now = dt.datetime.now(dt.UTC)
    for d in data["departements"]:
        conn.execute(departement.insert().values(nom=d["nom"], service_logement=d.get("service_logement")))
    for t in data["territoires"]:
        new_id = conn.execute(
            territoire.insert().values(
                code=t["code"], nature=t["nature"], nom=t["nom"], departement=t["departement"], mesures_min=t.get("mesures_min"),
                mesures_max=t.get("mesures_max"), annee_indicative=t.get("annee_indicative"), indicatifs=t.get("indicatifs", {}), updated_at=now,
            ).returning(territoire.c.id)
        ).scalar_one()
        for nature, names in t.get("zones", {}).items():
            for name in names:
                conn.execute(zone.insert().values(territoire_id=new_id, nature=nature, nom=name))


def downgrade() -> None:
    op.drop_index('ix_mesure_territoire_id', table_name='mesure')
    op.drop_constraint('fk_mesure_territoire', 'mesure', type_='foreignkey')
    op.drop_column('mesure', 'territoire_id')
    for table in ('portee_departement', 'user_territoire', 'organisation_territoire', 'territoire_zone', 'territoire', 'departement'):
        op.drop_table(table)
