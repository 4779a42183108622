"""archive of signed documents

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('destruction_visa',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('numero', sa.String(length=100), nullable=False),
    sa.Column('date_visa', sa.Date(), nullable=False),
    sa.Column('signataire', sa.String(length=200), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_table('retention_rule',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('years', sa.Integer(), nullable=False),
    sa.Column('fate', sa.String(length=20), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_by_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('retention_rule', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_retention_rule_kind'), ['kind'], unique=False)

    op.create_table('archive_record',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('document_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=50), nullable=False),
    sa.Column('organisation_id', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=40), nullable=False),
    sa.Column('household_reference', sa.String(length=40), nullable=True),
    sa.Column('source_rendition_id', sa.Integer(), nullable=False),
    sa.Column('source_sha512', sa.String(length=128), nullable=False),
    sa.Column('pdfa_sha512', sa.String(length=128), nullable=False),
    sa.Column('pdfa_size', sa.Integer(), nullable=False),
    sa.Column('signed_sha512', sa.String(length=128), nullable=False),
    sa.Column('signed_size', sa.Integer(), nullable=False),
    sa.Column('signed_mime', sa.String(length=100), nullable=False),
    sa.Column('signed_pages', sa.Integer(), nullable=True),
    sa.Column('received_sha512', sa.String(length=128), nullable=False),
    sa.Column('received_size', sa.Integer(), nullable=False),
    sa.Column('original_name', sa.String(length=255), nullable=False),
    sa.Column('signature_kind', sa.String(length=20), nullable=False),
    sa.Column('signature_check', sa.JSON(), nullable=True),
    sa.Column('retention_years', sa.Integer(), nullable=False),
    sa.Column('retention_fate', sa.String(length=20), nullable=False),
    sa.Column('deposited_by_id', sa.Integer(), nullable=False),
    sa.Column('deposited_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('supersedes_id', sa.Integer(), nullable=True),
    sa.Column('motif', sa.String(length=1000), nullable=True),
    sa.ForeignKeyConstraint(['deposited_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], ),
    sa.ForeignKeyConstraint(['organisation_id'], ['organisation.id'], ),
    sa.ForeignKeyConstraint(['source_rendition_id'], ['rendition.id'], ),
    sa.ForeignKeyConstraint(['supersedes_id'], ['archive_record.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('supersedes_id')
    )
    with op.batch_alter_table('archive_record', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_record_deposited_at'), ['deposited_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_record_document_id'), ['document_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_record_household_reference'), ['household_reference'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_record_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_record_organisation_id'), ['organisation_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_record_reference'), ['reference'], unique=False)
        batch_op.create_index(batch_op.f('ix_archive_record_signed_sha512'), ['signed_sha512'], unique=False)

    op.create_table('archive_log',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=True),
    sa.Column('document_id', sa.Integer(), nullable=True),
    sa.Column('detail', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=128), nullable=False),
    sa.Column('hash', sa.String(length=128), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['document.id'], ),
    sa.ForeignKeyConstraint(['record_id'], ['archive_record.id'], ),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('hash'),
    sa.UniqueConstraint('prev_hash')
    )
    with op.batch_alter_table('archive_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_archive_log_record_id'), ['record_id'], unique=False)

    op.create_table('destruction_item',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('visa_id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['record_id'], ['archive_record.id'], ),
    sa.ForeignKeyConstraint(['visa_id'], ['destruction_visa.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('visa_id', 'record_id', name='uq_destruction_item')
    )
    with op.batch_alter_table('destruction_item', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_destruction_item_record_id'), ['record_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_destruction_item_visa_id'), ['visa_id'], unique=False)

    op.create_table('tombstone',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('record_id', sa.Integer(), nullable=False),
    sa.Column('visa_id', sa.Integer(), nullable=False),
    sa.Column('signed_sha512', sa.String(length=128), nullable=False),
    sa.Column('pdfa_sha512', sa.String(length=128), nullable=False),
    sa.Column('destroyed_by_id', sa.Integer(), nullable=False),
    sa.Column('destroyed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['destroyed_by_id'], ['user_account.id'], ),
    sa.ForeignKeyConstraint(['record_id'], ['archive_record.id'], ),
    sa.ForeignKeyConstraint(['visa_id'], ['destruction_visa.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('record_id')
    )
    _write_once()


# DESIGN §3: archived documents are write-once. The service never updates or deletes these
# rows, and the database refuses it as well, whoever asks (the application, a SQL console).
_GUARDED = ("archive_record", "archive_log", "retention_rule", "destruction_visa", "destruction_item", "tombstone")


def _write_once() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute(
            "CREATE FUNCTION webforms_write_once() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'archive en écriture unique : % refusé sur %', TG_OP, TG_TABLE_NAME; END; $$ LANGUAGE plpgsql"
        )
    for table in _GUARDED:
        for operation in ("UPDATE", "DELETE"):
            name = f"{table}_no_{operation.lower()}"
            if dialect == "sqlite":
                op.execute(
                    f"CREATE TRIGGER {name} BEFORE {operation} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'archive en écriture unique : {operation} refusé sur {table}'); END"
                )
            elif dialect == "postgresql":
                op.execute(f"CREATE TRIGGER {name} BEFORE {operation} ON {table} FOR EACH ROW EXECUTE FUNCTION webforms_write_once()")


def _drop_write_once() -> None:
    dialect = op.get_bind().dialect.name
    for table in _GUARDED:
        for operation in ("update", "delete"):
            if dialect == "sqlite":
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation}")
            elif dialect == "postgresql":
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{operation} ON {table}")
    if dialect == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS webforms_write_once()")


def downgrade() -> None:
    _drop_write_once()
    op.drop_table('tombstone')
    with op.batch_alter_table('destruction_item', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_destruction_item_visa_id'))
        batch_op.drop_index(batch_op.f('ix_destruction_item_record_id'))

    op.drop_table('destruction_item')
    with op.batch_alter_table('archive_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_archive_log_record_id'))

    op.drop_table('archive_log')
    with op.batch_alter_table('archive_record', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_archive_record_signed_sha512'))
        batch_op.drop_index(batch_op.f('ix_archive_record_reference'))
        batch_op.drop_index(batch_op.f('ix_archive_record_organisation_id'))
        batch_op.drop_index(batch_op.f('ix_archive_record_kind'))
        batch_op.drop_index(batch_op.f('ix_archive_record_household_reference'))
        batch_op.drop_index(batch_op.f('ix_archive_record_document_id'))
        batch_op.drop_index(batch_op.f('ix_archive_record_deposited_at'))

    op.drop_table('archive_record')
    with op.batch_alter_table('retention_rule', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_retention_rule_kind'))

    op.drop_table('retention_rule')
    op.drop_table('destruction_visa')
