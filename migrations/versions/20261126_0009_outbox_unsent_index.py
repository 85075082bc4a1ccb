"""A partial index for the notification sender: only unsent, not given up rows.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26 09:55:50.383245
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0009'
down_revision: str | None = '0008'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index('ix_notification_outbox_unsent', 'notification_outbox', ['seq'], unique=False, postgresql_where=sa.text('sent_at IS NULL AND attempts < 10'))


def downgrade() -> None:
    op.drop_index('ix_notification_outbox_unsent', table_name='notification_outbox', postgresql_where=sa.text('sent_at IS NULL AND attempts < 10'))
