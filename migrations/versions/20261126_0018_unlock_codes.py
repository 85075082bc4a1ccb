"""one-time codes to unlock an account locked for wrong passwords

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-26 18:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op


revision: str = '0018'
down_revision: str | None = '0017'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("ALTER TYPE code_purpose ADD VALUE IF NOT EXISTS 'UNLOCK_ACCOUNT'")


def downgrade() -> None:
    # PostgreSQL cannot drop an enum value: rebuild the type without it.
    op.execute("DELETE FROM one_time_codes WHERE purpose = 'UNLOCK_ACCOUNT'")
    op.execute("ALTER TYPE code_purpose RENAME TO code_purpose_old")
    op.execute("CREATE TYPE code_purpose AS ENUM ('VERIFY_CONTACT', 'RESET_PASSWORD')")
    op.execute(
        "ALTER TABLE one_time_codes ALTER COLUMN purpose TYPE code_purpose "
        "USING purpose::text::code_purpose"
    )
    op.execute("DROP TYPE code_purpose_old")
