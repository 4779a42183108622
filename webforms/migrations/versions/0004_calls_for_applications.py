"""calls for applications

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
import datetime as dt
import json
from pathlib import Path
from zoneinfo import ZoneInfo

from alembic import op
import sqlalchemy as sa

# The 2019 call of the seed (AML §1, §5, §6) ships as data; administrators edit calls afterwards.
SEED = Path(__file__).resolve().parents[2] / "data" / "appel_aml_2019.json"


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('appel',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=60), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('deadline', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('code')
    )
    data = json.loads(SEED.read_text(encoding="utf-8"))
    local = dt.datetime.fromisoformat(f"{data['date_limite']}T{data['heure_limite']}").replace(tzinfo=ZoneInfo("Europe/Paris"))
    now = dt.datetime.now(dt.UTC)
    appel = sa.table(
        "appel",
        sa.column("code", sa.String), sa.column("data", sa.JSON), sa.column("deadline", sa.DateTime(timezone=True)),
        sa.column("created_at", sa.DateTime(timezone=True)), sa.column("updated_at", sa.DateTime(timezone=True)),
    )
    op.bulk_insert(appel, [{"code": data["code"], "data": data, "deadline": local.astimezone(dt.UTC), "created_at": now, "updated_at": now}])


def downgrade() -> None:

    op.drop_table('appel')

