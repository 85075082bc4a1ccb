"""Satisfaction ratings of dossiers.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 09:50:58.200188
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0008'
down_revision: str | None = '0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('dossier_ratings',
    sa.Column('dossier_id', sa.Uuid(), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('procedure_id', sa.Uuid(), nullable=False),
    sa.Column('officer_ids', postgresql.ARRAY(sa.Uuid()), nullable=False),
    sa.Column('scores', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('overall', sa.Double(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_dossier_ratings_account_id_accounts')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_dossier_ratings_agency_id_agencies')),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_dossier_ratings_dossier_id_dossiers')),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedures.id'], name=op.f('fk_dossier_ratings_procedure_id_procedures')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_ratings')),
    sa.UniqueConstraint('dossier_id', name=op.f('uq_dossier_ratings_dossier_id'))
    )
    op.create_index(op.f('ix_dossier_ratings_agency_id'), 'dossier_ratings', ['agency_id'], unique=False)
    op.create_index(op.f('ix_dossier_ratings_procedure_id'), 'dossier_ratings', ['procedure_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_dossier_ratings_procedure_id'), table_name='dossier_ratings')
    op.drop_index(op.f('ix_dossier_ratings_agency_id'), table_name='dossier_ratings')
    op.drop_table('dossier_ratings')
