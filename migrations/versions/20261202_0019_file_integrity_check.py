"""file integrity check: DAMAGED status, verified_at

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02 11:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0019'
down_revision: str | None = '0018'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TYPE file_status ADD VALUE IF NOT EXISTS 'DAMAGED'")
    op.add_column('stored_files', sa.Column('verified_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index('ix_stored_files_verified_at', 'stored_files', [sa.text('verified_at NULLS FIRST')])


def downgrade() -> None:
    # PostgreSQL cannot drop an enum value: DAMAGED files become REJECTED, the value stays unused.
    op.execute(
        "UPDATE stored_files SET status = 'REJECTED', "
        "rejection = 'Nội dung tệp trong kho không còn khớp với bản đã kiểm tra.' WHERE status = 'DAMAGED'"
    )
    op.drop_index('ix_stored_files_verified_at', table_name='stored_files')
    op.drop_column('stored_files', 'verified_at')
