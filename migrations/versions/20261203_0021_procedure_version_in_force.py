"""procedures: a procedure in force or suspended has its version in force (CHECK)

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03 08:50:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = '0021'
down_revision: str | None = '0020'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_check_constraint(
        op.f('ck_procedures_version_in_force'),
        'procedures',
        "status NOT IN ('PUBLISHED', 'SUSPENDED') OR published_version_id IS NOT NULL",
    )


def downgrade() -> None:
    op.drop_constraint(op.f('ck_procedures_version_in_force'), 'procedures', type_='check')
