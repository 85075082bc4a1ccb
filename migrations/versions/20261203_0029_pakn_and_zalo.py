"""The national feedback system (PAKN): inquiries.national_id, the NATIONAL_PORTAL channel, the
feed's per-inquiry positions and the inbound messages applied; Zalo: accounts.notify_zalo and the
Official Account's tokens.

Revision ID: 0029
Revises: 0028
Create Date: 2026-12-03 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0029'
down_revision: str | None = '0028'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TYPE inquiry_channel ADD VALUE IF NOT EXISTS 'NATIONAL_PORTAL'")
    op.add_column('inquiries', sa.Column('national_id', sa.String(length=64), nullable=True))
    op.create_unique_constraint(op.f('uq_inquiries_national_id'), 'inquiries', ['national_id'])
    op.create_table(
        'inquiry_deliveries',
        sa.Column('inquiry_id', sa.Uuid(), nullable=False),
        sa.Column('delivered_seq', sa.BigInteger(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False),
        sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('last_error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ['inquiry_id'], ['inquiries.id'], name=op.f('fk_inquiry_deliveries_inquiry_id_inquiries'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('inquiry_id', name=op.f('pk_inquiry_deliveries')),
    )
    op.create_table(
        'national_feedback_messages',
        sa.Column('message_id', sa.String(length=64), nullable=False),
        sa.Column('request_hash', sa.String(length=64), nullable=False),
        sa.Column('inquiry_id', sa.Uuid(), nullable=True),
        sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['inquiry_id'],
            ['inquiries.id'],
            name=op.f('fk_national_feedback_messages_inquiry_id_inquiries'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('message_id', name=op.f('pk_national_feedback_messages')),
    )
    op.add_column(
        'accounts', sa.Column('notify_zalo', sa.Boolean(), server_default=sa.text('false'), nullable=False)
    )
    op.create_table(
        'zalo_tokens',
        sa.Column('app_id', sa.String(length=64), nullable=False),
        sa.Column('access_token', sa.Text(), nullable=True),
        sa.Column('refresh_token', sa.Text(), nullable=False),
        sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('app_id', name=op.f('pk_zalo_tokens')),
    )


def downgrade() -> None:
    op.drop_table('zalo_tokens')
    op.drop_column('accounts', 'notify_zalo')
    op.drop_table('national_feedback_messages')
    op.drop_table('inquiry_deliveries')
    op.drop_constraint(op.f('uq_inquiries_national_id'), 'inquiries', type_='unique')
    op.drop_column('inquiries', 'national_id')
    # PostgreSQL cannot drop an enum value: rebuild the type without it (those rows become ONLINE).
    op.execute("UPDATE inquiries SET channel = 'ONLINE' WHERE channel = 'NATIONAL_PORTAL'")
    op.execute("ALTER TYPE inquiry_channel RENAME TO inquiry_channel_old")
    op.execute("CREATE TYPE inquiry_channel AS ENUM ('ONLINE', 'LETTER', 'PHONE', 'EMAIL', 'OPEN311')")
    op.execute(
        "ALTER TABLE inquiries ALTER COLUMN channel TYPE inquiry_channel USING channel::text::inquiry_channel"
    )
    op.execute("DROP TYPE inquiry_channel_old")
