"""submitted documents and their stored renditions are write-once in the database

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# DESIGN §3: a submitted document is frozen; issue 11 asks the database to refuse, whoever asks
# (the application, a SQL console), what 0007 already refuses on the archive tables.
#
# A rendition (the bytes rendered for a version, stored by their hash) never changes.
#
# A submitted document is never deleted, and its reference, kind, organisation and submission
# date stay. Its lifecycle still changes the rest, so the rest stays free: a régularisation
# puts it back to draft and edits its form; the next submission writes new frozen data, a new
# version and a later submission date (never an earlier one, never none); a decision writes its
# review. The test reads ``submitted_at`` and ``reference``, never ``status``, whose values are
# the lifecycle's to name.
_FROZEN = """
CREATE FUNCTION webforms_frozen() RETURNS trigger AS $$ BEGIN
RAISE EXCEPTION 'écriture unique : % refusé sur %', TG_OP, TG_TABLE_NAME; END; $$ LANGUAGE plpgsql
"""

_SUBMITTED = """
CREATE FUNCTION webforms_submitted_document() RETURNS trigger AS $$ BEGIN
IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'document soumis en écriture unique : suppression refusée (document %)', OLD.id;
END IF;
IF NEW.reference IS DISTINCT FROM OLD.reference OR NEW.kind IS DISTINCT FROM OLD.kind
        OR NEW.organisation_id IS DISTINCT FROM OLD.organisation_id THEN
    RAISE EXCEPTION 'document soumis en écriture unique : sa référence, son type et son organisation ne changent plus (document %)', OLD.id;
END IF;
IF NEW.submitted_at IS NULL OR NEW.submitted_at < OLD.submitted_at THEN
    RAISE EXCEPTION 'document soumis en écriture unique : sa date de soumission ne s''efface pas et ne recule pas (document %)', OLD.id;
END IF;
RETURN NEW;
END; $$ LANGUAGE plpgsql
"""

# A row-level trigger does not see TRUNCATE: a statement-level one refuses it on every guarded table.
_TRUNCATE_GUARDED = ("document", "rendition", "archive_record", "archive_log", "retention_rule", "destruction_visa", "destruction_item", "tombstone")
_SUBMITTED_ONLY = "WHEN (OLD.submitted_at IS NOT NULL OR OLD.reference IS NOT NULL)"  # a draft never submitted stays free


def upgrade() -> None:
    op.execute(_FROZEN)
    op.execute(_SUBMITTED)
    for operation in ("UPDATE", "DELETE"):
        op.execute(f"CREATE TRIGGER rendition_no_{operation.lower()} BEFORE {operation} ON rendition FOR EACH ROW EXECUTE FUNCTION webforms_frozen()")
        op.execute(
            f"CREATE TRIGGER document_submitted_no_{operation.lower()} BEFORE {operation} ON document "
            f"FOR EACH ROW {_SUBMITTED_ONLY} EXECUTE FUNCTION webforms_submitted_document()"
        )
    for table in _TRUNCATE_GUARDED:
        op.execute(f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION webforms_frozen()")


def downgrade() -> None:
    for table in _TRUNCATE_GUARDED:
        op.execute(f"DROP TRIGGER IF EXISTS {table}_no_truncate ON {table}")
    for operation in ("update", "delete"):
        op.execute(f"DROP TRIGGER IF EXISTS document_submitted_no_{operation} ON document")
        op.execute(f"DROP TRIGGER IF EXISTS rendition_no_{operation} ON rendition")
    op.execute("DROP FUNCTION IF EXISTS webforms_submitted_document()")
    op.execute("DROP FUNCTION IF EXISTS webforms_frozen()")
