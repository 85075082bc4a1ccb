"""Archive exports and the archived state of dossiers.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 09:38:02.483004
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('archive_exports',
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('closed_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('dossiers', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_archive_exports_agency_id_agencies')),
    sa.ForeignKeyConstraint(['file_id'], ['stored_files.id'], name=op.f('fk_archive_exports_file_id_stored_files')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_archive_exports'))
    )
    op.create_index(op.f('ix_archive_exports_agency_id'), 'archive_exports', ['agency_id'], unique=False)
    op.add_column('dossiers', sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    op.drop_column('dossiers', 'archived_at')
    op.drop_index(op.f('ix_archive_exports_agency_id'), table_name='archive_exports')
    op.drop_table('archive_exports')
