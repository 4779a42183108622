"""a notification's detail, told below its line and in the e-mail's body, not in its subject (issue 14)

Revision ID: 0046
Revises: 0044
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0046'
down_revision = '0044'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A call's deadline reminder names the call in its subject and says what is still missing in
    # its body: the line (``message``) is the subject, the detail the body's second paragraph.
    op.add_column('notification', sa.Column('detail', sa.String(length=300), nullable=True))


def downgrade() -> None:
    op.drop_column('notification', 'detail')
