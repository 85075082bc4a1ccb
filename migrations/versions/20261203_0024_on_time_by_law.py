"""On time as the law and the 766 index count it: dossiers.deadline_at (the deadline by law, never
moved by an apology) and dossiers.supplement_requests; every stored punctuality recomputed under the
province's on-time policy (services/dossiers/ontime.py), and the statistics facts rebuilt.

Before: a dossier paused for a supplement was judged against the receipt's appointment, so one
finished early against its moved deadline was LATE; an apologised dossier still open left the
overdue counts once its apology's date was later. After: judged against `deadline_at`; the facts'
`due_at` is the deadline by law, so an apologised open dossier stays overdue.

The policy is the ON_TIME_POLICY environment variable (default DECISION_766), the calendar the
province's (TIMEZONE, the holidays and the admins' overrides), as the app runs them.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-03 13:30:00.000000
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

from services.calendar import WorkingCalendar
from services.dossiers.ontime import OnTimePolicy, Pause, Timeline, days_for, replay
from models.dossiers import Channel

revision: str = '0024'
down_revision: str | None = '0023'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The facts' due_at: the deadline by law (the view of migration 0014 otherwise unchanged).
SOURCE = """
CREATE OR REPLACE VIEW dossier_facts_source AS
SELECT x.id AS dossier_id,
       x.receiving_agency_id AS agency_id,
       x.procedure_id,
       v.field_id,
       v.online_mode::text AS online_mode,
       x.channel::text AS channel,
       x.status::text AS status,
       x.received_at,
       x.result_at AS ready_at,
       x.finished_at,
       COALESCE(x.deadline_at, x.due_at) AS due_at,
       x.paused_at IS NOT NULL AS paused,
       x.punctuality::text AS punctuality,
       EXISTS (SELECT 1 FROM dossier_events e WHERE e.dossier_id = x.id AND e.action = 'REFUSE') AS refused,
       x.payment_status <> 'NOT_REQUIRED' AS fee_owed,
       EXISTS (SELECT 1 FROM payments p WHERE p.dossier_id = x.id AND p.state = 'PAID') AS paid_online,
       EXISTS (SELECT 1 FROM vault_documents d
               WHERE d.source_dossier_id = x.id AND d.source = 'DIGITISED') AS digitised,
       EXISTS (SELECT 1 FROM dossier_attachments a
               WHERE a.dossier_id = x.id AND a.kind = 'RESULT' AND a.removed_at IS NULL) AS electronic_result,
       EXISTS (SELECT 1 FROM dossier_attachments a JOIN vault_documents d ON d.file_id = a.file_id
               WHERE a.dossier_id = x.id AND a.kind = 'COMPONENT' AND a.removed_at IS NULL
                 AND d.source_dossier_id IS DISTINCT FROM x.id) AS reused,
       x.sync_status = 'SYNCED' AS synced,
       r.overall AS rating,
       r.at AS rated_at
FROM dossiers x
JOIN procedure_versions v ON v.id = x.procedure_version_id
LEFT JOIN dossier_ratings r ON r.dossier_id = x.id
"""
SOURCE_BEFORE = """
CREATE OR REPLACE VIEW dossier_facts_source AS
SELECT x.id AS dossier_id,
       x.receiving_agency_id AS agency_id,
       x.procedure_id,
       v.field_id,
       v.online_mode::text AS online_mode,
       x.channel::text AS channel,
       x.status::text AS status,
       x.received_at,
       x.result_at AS ready_at,
       x.finished_at,
       x.due_at,
       x.paused_at IS NOT NULL AS paused,
       x.punctuality::text AS punctuality,
       EXISTS (SELECT 1 FROM dossier_events e WHERE e.dossier_id = x.id AND e.action = 'REFUSE') AS refused,
       x.payment_status <> 'NOT_REQUIRED' AS fee_owed,
       EXISTS (SELECT 1 FROM payments p WHERE p.dossier_id = x.id AND p.state = 'PAID') AS paid_online,
       EXISTS (SELECT 1 FROM vault_documents d
               WHERE d.source_dossier_id = x.id AND d.source = 'DIGITISED') AS digitised,
       EXISTS (SELECT 1 FROM dossier_attachments a
               WHERE a.dossier_id = x.id AND a.kind = 'RESULT' AND a.removed_at IS NULL) AS electronic_result,
       EXISTS (SELECT 1 FROM dossier_attachments a JOIN vault_documents d ON d.file_id = a.file_id
               WHERE a.dossier_id = x.id AND a.kind = 'COMPONENT' AND a.removed_at IS NULL
                 AND d.source_dossier_id IS DISTINCT FROM x.id) AS reused,
       x.sync_status = 'SYNCED' AS synced,
       r.overall AS rating,
       r.at AS rated_at
FROM dossiers x
JOIN procedure_versions v ON v.id = x.procedure_version_id
LEFT JOIN dossier_ratings r ON r.dossier_id = x.id
"""

_DOSSIERS = sa.text(
    "SELECT d.id, d.channel, d.counts_from, d.received_at, d.apologised, d.result_at, d.finished_at, "
    "d.punctuality, d.due_at, v.processing_days, v.online_processing_days "
    "FROM dossiers d JOIN procedure_versions v ON v.id = d.procedure_version_id "
    "WHERE d.received_at IS NOT NULL ORDER BY d.id"
)
_PAUSES = sa.text(
    "SELECT dossier_id, action, at FROM dossier_events "
    "WHERE action IN ('REQUEST_SUPPLEMENT', 'SUPPLEMENT') ORDER BY dossier_id, seq"
)


def _pauses(connection: sa.Connection) -> dict[Any, list[Pause]]:
    found: dict[Any, list[Pause]] = {}
    for dossier_id, action, at in connection.execute(_PAUSES):
        pauses = found.setdefault(dossier_id, [])
        if action == 'REQUEST_SUPPLEMENT':
            pauses.append(Pause(at, None))
        elif pauses and pauses[-1].arrived_at is None:
            pauses[-1] = Pause(pauses[-1].requested_at, at)
    return found


def recompute(connection: sa.Connection, calendar: WorkingCalendar, policy: OnTimePolicy) -> tuple[int, int]:
    """Replay every received dossier's supplements under `policy`: its deadline by law, its count of
    supplement requests and, for a returned dossier, its punctuality (the result's readiness against
    that deadline; an apology always late). An open dossier not apologised is due at that deadline.
    Returns (dossiers replayed, punctualities changed)."""
    pauses = _pauses(connection)
    count = changed = 0
    for row in connection.execute(_DOSSIERS).all():
        start = row.counts_from or row.received_at
        history = pauses.get(row.id, [])
        ready = (row.result_at or row.finished_at) if row.punctuality is not None else None
        t = Timeline(
            counts_from=calendar.counts_from(start),
            days=days_for(Channel(row.channel), row.processing_days, row.online_processing_days),
            pauses=history,
            apologised=row.apologised,
            ready_at=ready,
        )
        done = replay(policy, calendar, t)
        judged = done.punctuality.value if done.punctuality else row.punctuality
        due = row.due_at if row.apologised or row.finished_at is not None else done.deadline
        connection.execute(
            sa.text(
                "UPDATE dossiers SET deadline_at = :deadline, supplement_requests = :requests, "
                "punctuality = CAST(:punctuality AS punctuality), due_at = :due WHERE id = :id"
            ),
            {"deadline": done.deadline, "requests": len(history), "punctuality": judged, "due": due, "id": row.id},
        )
        count += 1
        changed += judged != row.punctuality
    return count, changed


def _calendar(connection: sa.Connection) -> WorkingCalendar:
    zone = ZoneInfo(os.environ.get("TIMEZONE") or "Asia/Ho_Chi_Minh")
    overrides = connection.execute(sa.text("SELECT day, is_working_day FROM holiday_overrides")).all()
    first, last = connection.execute(
        sa.text("SELECT min(received_at), max(GREATEST(received_at, finished_at)) FROM dossiers")
    ).one()
    now = datetime.now(zone).year
    low = min(now, first.astimezone(zone).year if first else now) - 1
    high = max(now, last.astimezone(zone).year if last else now) + 3
    return WorkingCalendar.vietnam(
        range(low, high),
        zone=zone,
        extra_days_off=[d for d, working in overrides if not working],
        extra_working_days=[d for d, working in overrides if working],
    )


def upgrade() -> None:
    op.add_column('dossiers', sa.Column('deadline_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        'dossiers', sa.Column('supplement_requests', sa.Integer(), server_default=sa.text('0'), nullable=False)
    )
    op.execute(SOURCE)
    connection = op.get_bind()
    policy = OnTimePolicy(os.environ.get("ON_TIME_POLICY") or OnTimePolicy.DECISION_766.value)
    recompute(connection, _calendar(connection), policy)
    op.execute("DELETE FROM dossier_facts")
    op.execute("INSERT INTO dossier_facts SELECT * FROM dossier_facts_source")


def downgrade() -> None:
    op.execute(SOURCE_BEFORE)
    op.drop_column('dossiers', 'supplement_requests')
    op.drop_column('dossiers', 'deadline_at')
    op.execute("DELETE FROM dossier_facts")
    op.execute("INSERT INTO dossier_facts SELECT * FROM dossier_facts_source")
