"""agencies.email (the official address, spared by redaction); inquiries.location_address (where a
feedback happened: Open311's `address_string`, published with the answer)

Open311 submissions stored `address_string` as the submitter's address; it is the location of
what is reported, so it is moved to the new column for them.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-03 10:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0023'
down_revision: str | None = '0022'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('agencies', sa.Column('email', sa.String(length=254), nullable=True))
    op.add_column('inquiries', sa.Column('location_address', sa.String(length=500), nullable=True))
    op.execute(
        "UPDATE inquiries SET location_address = submitter_address, submitter_address = NULL "
        "WHERE channel = 'OPEN311' AND submitter_address IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_column('inquiries', 'location_address')
    op.drop_column('agencies', 'email')
