"""instruction of deposited candidature dossiers: state, moves, correction requests, private annotations

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import op

# The evaluation grid of the 2019 call (AML §6c), put into that call's configuration.
GRILLE = Path(__file__).resolve().parents[2] / "data" / "grille_aml_2019.json"

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


# Issue 12: what happens to a dossier after its deposit (AML §6b–§6d), the candidature's own
# tables (webforms/models/instruction.py); the generic lifecycle's tables are untouched.
def upgrade() -> None:
    op.create_table(
        'instruction',
        sa.Column('document_id', sa.Integer(), sa.ForeignKey('document.id'), primary_key=True),
        sa.Column('etat', sa.String(length=20), nullable=False),
        sa.Column('motif', sa.String(length=20), nullable=True),
        sa.Column('texte', sa.String(length=2000), nullable=True),
        sa.Column('mesures', sa.JSON(), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        'instruction_move',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('document_id', sa.Integer(), sa.ForeignKey('document.id'), nullable=False, index=True),
        sa.Column('action', sa.String(length=30), nullable=False),
        sa.Column('depuis', sa.String(length=20), nullable=False),
        sa.Column('vers', sa.String(length=20), nullable=False),
        sa.Column('motif', sa.String(length=20), nullable=True),
        sa.Column('texte', sa.String(length=2000), nullable=True),
        sa.Column('mesures', sa.JSON(), nullable=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('user_account.id'), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        'correction_request',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('document_id', sa.Integer(), sa.ForeignKey('document.id'), nullable=False, index=True),
        sa.Column('piece_id', sa.Integer(), sa.ForeignKey('piece.id'), nullable=True),
        sa.Column('texte', sa.String(length=2000), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('user_account.id'), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('answered_at', sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        'annotation',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('document_id', sa.Integer(), sa.ForeignKey('document.id'), nullable=False, index=True),
        sa.Column('texte', sa.String(length=4000), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('user_account.id'), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    )


    op.create_table(
        'jury',
        sa.Column('appel_id', sa.Integer(), sa.ForeignKey('appel.id'), primary_key=True),
        sa.Column('date', sa.Date(), nullable=False),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        'jury_member',
        sa.Column('appel_id', sa.Integer(), sa.ForeignKey('jury.appel_id'), primary_key=True),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('user_account.id'), primary_key=True, index=True),
        sa.Column('organisme', sa.String(length=20), nullable=False),
    )
    _set_grille(lambda data, grille: {**data, "grille": grille})


def _set_grille(change: Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]) -> None:
    """Apply ``change(data, grid)`` to the data of the call the shipped grid belongs to."""
    grille = json.loads(GRILLE.read_text(encoding="utf-8"))
    appel = sa.table("appel", sa.column("id", sa.Integer), sa.column("code", sa.String), sa.column("data", sa.JSON))
    conn = op.get_bind()
    for appel_id, data in conn.execute(sa.select(appel.c.id, appel.c.data).where(appel.c.code == grille["appel"])).all():
        conn.execute(appel.update().where(appel.c.id == appel_id).values(data=change(data, grille)))


def downgrade() -> None:
    _set_grille(lambda data, grille: {k: v for k, v in data.items() if k != "grille"})
    op.drop_table('jury_member')
    op.drop_table('jury')
    op.drop_table('annotation')
    op.drop_table('correction_request')
    op.drop_table('instruction_move')
    op.drop_table('instruction')
