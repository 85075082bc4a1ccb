"""caught_messages: e-mails and SMS kept instead of sent in development (no SMTP / SMS gateway);
notification_outbox.dossier_id: the dossier a notice is about

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-03 10:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0022'
down_revision: str | None = '0021'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('notification_outbox', sa.Column('dossier_id', sa.Uuid(), nullable=True))
    op.create_table(
        'caught_messages',
        sa.Column('seq', sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column('notification_id', sa.Uuid(), nullable=False),
        sa.Column('account_id', sa.Uuid(), nullable=True),
        sa.Column('dossier_id', sa.Uuid(), nullable=True),
        sa.Column('channel', sa.String(length=10), nullable=False),
        sa.Column('destination', sa.String(length=320), nullable=False),
        sa.Column('template', sa.String(length=80), nullable=False),
        sa.Column('subject', sa.String(length=300), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('queued_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('caught_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['account_id'],
            ['accounts.id'],
            name=op.f('fk_caught_messages_account_id_accounts'),
            ondelete='SET NULL',
        ),
        sa.PrimaryKeyConstraint('seq', name=op.f('pk_caught_messages')),
        sa.UniqueConstraint('notification_id', name=op.f('uq_caught_messages_notification_id')),
    )
    op.create_index(op.f('ix_caught_messages_account_id'), 'caught_messages', ['account_id'], unique=False)
    op.create_index(op.f('ix_caught_messages_destination'), 'caught_messages', ['destination'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_caught_messages_destination'), table_name='caught_messages')
    op.drop_index(op.f('ix_caught_messages_account_id'), table_name='caught_messages')
    op.drop_table('caught_messages')
    op.drop_column('notification_outbox', 'dossier_id')
