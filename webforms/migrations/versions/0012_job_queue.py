"""the job queue (procrastinate) and the work it does for users

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""
from pathlib import Path

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

# Issue 11: procrastinate keeps its jobs in this same database, so that a job is deferred in the
# transaction of the change that needs it. Its schema is applied here, so that Alembic stays the
# one owner of the schema; the SQL is the one procrastinate 3.10.0 ships, copied so that this
# migration does the same thing whatever version is installed later (a procrastinate upgrade
# brings its own migration files: apply them in a new revision).
_PROCRASTINATE = Path(__file__).resolve().parents[1] / "sql" / "procrastinate-3.10.0.sql"


def upgrade() -> None:
    # Through the driver: the SQL holds "::type" casts and "%" that SQLAlchemy's text() and
    # parameter styles would read as placeholders. Same connection, same transaction.
    op.get_bind().connection.driver_connection.execute(_PROCRASTINATE.read_text())
    # What was asked of the queue for a user (a render, a dossier, an export): its progress page,
    # its outcome (an error in French for the administrator) and what it produced.
    op.create_table(
        'travail',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('nature', sa.String(length=40), nullable=False),
        sa.Column('libelle', sa.String(length=200), nullable=False),
        sa.Column('statut', sa.String(length=20), nullable=False, server_default='en_attente'),
        sa.Column('job_id', sa.BigInteger(), nullable=True, index=True),
        sa.Column('document_id', sa.Integer(), sa.ForeignKey('document.id'), nullable=True, index=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('user_account.id'), nullable=True),
        sa.Column('parametres', sa.JSON(), nullable=False),
        sa.Column('resultat', sa.JSON(), nullable=True),
        sa.Column('erreur', sa.Text(), nullable=True),
        sa.Column('essais', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    )
    # The number of frozen versions of a document. Renditions are now written by a worker after
    # the submission's commit, so the next version's number can no longer be read from them.
    op.add_column('document', sa.Column('versions', sa.Integer(), nullable=False, server_default='0'))
    op.execute("UPDATE document SET versions = COALESCE((SELECT max(version) FROM rendition WHERE rendition.document_id = document.id), 0)")


def downgrade() -> None:
    op.drop_column('document', 'versions')
    op.drop_table('travail')
    op.execute("DROP TABLE procrastinate_events, procrastinate_periodic_defers, procrastinate_jobs, procrastinate_workers CASCADE")
    op.execute(
        "DO $$ DECLARE f record; BEGIN "
        "FOR f IN SELECT p.oid::regprocedure AS sig FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
        "WHERE n.nspname = 'public' AND p.proname LIKE 'procrastinate%' LOOP EXECUTE 'DROP FUNCTION ' || f.sig || ' CASCADE'; END LOOP; END $$"
    )
    op.execute("DROP TYPE procrastinate_job_status, procrastinate_job_event_type")
