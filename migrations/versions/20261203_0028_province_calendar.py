"""The province's calendar set per receiving unit (unit_calendars: office hours, cut-off, Saturday
session) and the unit of a procedure's time limit (procedure_versions.time_limit_unit: working
days by default, half days, working hours or calendar days)

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-03 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0028'
down_revision: str | None = '0027'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNIT = postgresql.ENUM(
    'WORKING_DAYS', 'HALF_DAYS', 'WORKING_HOURS', 'CALENDAR_DAYS', name='time_limit_unit', create_type=False
)


def upgrade() -> None:
    UNIT.create(op.get_bind(), checkfirst=False)
    op.add_column(
        'procedure_versions',
        sa.Column('time_limit_unit', UNIT, server_default='WORKING_DAYS', nullable=False),
    )
    op.create_table(
        'unit_calendars',
        sa.Column('agency_id', sa.Uuid(), nullable=False),
        sa.Column('morning_start', sa.Time(), nullable=False),
        sa.Column('morning_end', sa.Time(), nullable=False),
        sa.Column('afternoon_start', sa.Time(), nullable=False),
        sa.Column('afternoon_end', sa.Time(), nullable=False),
        sa.Column('cutoff', sa.Time(), nullable=True),
        sa.Column('saturday_start', sa.Time(), nullable=True),
        sa.Column('saturday_end', sa.Time(), nullable=True),
        sa.Column('saturday_counts', sa.Boolean(), nullable=False),
        sa.Column('changed_by', sa.String(length=200), nullable=False),
        sa.Column('changed_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            '(saturday_start IS NULL) = (saturday_end IS NULL)', name=op.f('ck_unit_calendars_saturday_pair')
        ),
        sa.ForeignKeyConstraint(
            ['agency_id'], ['agencies.id'], name=op.f('fk_unit_calendars_agency_id_agencies'), ondelete='CASCADE'
        ),
        sa.PrimaryKeyConstraint('agency_id', name=op.f('pk_unit_calendars')),
    )


def downgrade() -> None:
    op.drop_table('unit_calendars')
    op.drop_column('procedure_versions', 'time_limit_unit')
    UNIT.drop(op.get_bind(), checkfirst=False)
