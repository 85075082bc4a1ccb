"""Slips stored with their dossier (attachment kind SLIP) and paper conversions.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 09:32:13.752371
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0005'
down_revision: str | None = '0004'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TYPE attachment_kind ADD VALUE IF NOT EXISTS 'SLIP'")
    op.create_table('paper_conversions',
    sa.Column('verification_code', sa.String(length=20), nullable=False),
    sa.Column('source_file_id', sa.Uuid(), nullable=False),
    sa.Column('source_checksum', sa.String(length=64), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('converted_by', sa.String(length=200), nullable=False),
    sa.Column('converted_by_agency_id', sa.Uuid(), nullable=True),
    sa.Column('converted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('output_file_id', sa.Uuid(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['converted_by_agency_id'], ['agencies.id'], name=op.f('fk_paper_conversions_converted_by_agency_id_agencies')),
    sa.ForeignKeyConstraint(['output_file_id'], ['stored_files.id'], name=op.f('fk_paper_conversions_output_file_id_stored_files')),
    sa.ForeignKeyConstraint(['source_file_id'], ['stored_files.id'], name=op.f('fk_paper_conversions_source_file_id_stored_files')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_paper_conversions')),
    sa.UniqueConstraint('verification_code', name=op.f('uq_paper_conversions_verification_code'))
    )


def downgrade() -> None:
    op.drop_table('paper_conversions')
