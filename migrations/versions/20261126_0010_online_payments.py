"""Online payments of dossier fees.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26 10:08:56.829749
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0010'
down_revision: str | None = '0009'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('payments',
    sa.Column('dossier_id', sa.Uuid(), nullable=False),
    sa.Column('gateway', sa.String(length=40), nullable=False),
    sa.Column('merchant', sa.String(length=60), nullable=False),
    sa.Column('txn_ref', sa.String(length=100), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('state', sa.Enum('PENDING', 'PAID', 'FAILED', 'EXPIRED', 'DUPLICATE', name='payment_state'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('settled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('transaction_no', sa.String(length=100), nullable=True),
    sa.Column('bank_code', sa.String(length=40), nullable=True),
    sa.Column('response_code', sa.String(length=10), nullable=True),
    sa.Column('notification', postgresql.JSONB(astext_type=sa.Text()), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_payments_amount')),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_payments_dossier_id_dossiers')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('txn_ref', name=op.f('uq_payments_txn_ref'))
    )
    op.create_index(op.f('ix_payments_dossier_id'), 'payments', ['dossier_id'], unique=False)
    op.create_index('ix_payments_pending', 'payments', ['expires_at'], unique=False, postgresql_where=sa.text("state = 'PENDING'"))
    op.create_index('uq_payments_one_paid_per_dossier', 'payments', ['dossier_id'], unique=True, postgresql_where=sa.text("state = 'PAID'"))


def downgrade() -> None:
    op.drop_index('uq_payments_one_paid_per_dossier', table_name='payments', postgresql_where=sa.text("state = 'PAID'"))
    op.drop_index('ix_payments_pending', table_name='payments', postgresql_where=sa.text("state = 'PENDING'"))
    op.drop_index(op.f('ix_payments_dossier_id'), table_name='payments')
    op.drop_table('payments')
    sa.Enum(name='payment_state').drop(op.get_bind(), checkfirst=False)
