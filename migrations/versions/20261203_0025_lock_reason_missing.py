"""lock_reason MISSING: an account locked because its owner is declared missing (Trà Vinh art. 6.4.b)

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-03 13:45:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0025'
down_revision: str | None = '0024'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BEFORE = ('FAILED_SIGN_INS', 'INACTIVITY', 'OWNER_REQUEST', 'DECEASED', 'DISSOLVED', 'UNASSIGNED', 'ADMIN')


def upgrade() -> None:
    op.execute("ALTER TYPE lock_reason ADD VALUE IF NOT EXISTS 'MISSING' AFTER 'DECEASED'")


def downgrade() -> None:
    # A missing person's lock becomes an admin decision: PostgreSQL cannot drop an enum value.
    op.execute("UPDATE accounts SET lock_reason = 'ADMIN' WHERE lock_reason = 'MISSING'")
    op.execute("ALTER TYPE lock_reason RENAME TO lock_reason_old")
    values = ", ".join(f"'{v}'" for v in _BEFORE)
    op.execute(f"CREATE TYPE lock_reason AS ENUM ({values})")
    op.execute(
        "ALTER TABLE accounts ALTER COLUMN lock_reason TYPE lock_reason USING lock_reason::text::lock_reason"
    )
    op.execute("DROP TYPE lock_reason_old")
