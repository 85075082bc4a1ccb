"""How long a stored file is kept at least (set when its dossier is archived).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26 09:43:41.131743
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0007'
down_revision: str | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('stored_files', sa.Column('retain_until', sa.Date(), nullable=True))


def downgrade() -> None:
    op.drop_column('stored_files', 'retain_until')
