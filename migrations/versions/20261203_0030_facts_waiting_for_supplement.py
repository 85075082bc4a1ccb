"""The 766 formula's waiting dossiers: a dossier still waiting for the applicant's supplement
ends, for the index, at the request date — on time if asked for by the deadline by law and the
first request (a second request counts as late). The facts carry `paused_at` and
`supplement_requests` (the view of migration 0027 with the two columns at its end; CREATE OR
REPLACE keeps the dependants), recomputed here.

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-03 14:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0030'
down_revision: str | None = '0029'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = """
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
       COALESCE(x.deadline_at, x.due_at) AS due_at,  -- the deadline by law (migration 0024)
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
       r.at AS rated_at"""
_FROM = """
FROM dossiers x
JOIN procedure_versions v ON v.id = x.procedure_version_id
LEFT JOIN dossier_ratings r ON r.dossier_id = x.id
"""
# The competent agency as services.dossiers.routing.competent_agency_id says (the one routed at
# submission — migration 0026 —, else the procedure's, else the receiving unit); the processing
# agencies: those of the steps that have started (a step planned at an agency the dossier has not
# reached yet does not count for it).
_ATTRIBUTION = """,
       COALESCE(x.competent_agency_id, v.competent_agency_id, x.receiving_agency_id) AS competent_agency_id,
       ARRAY(SELECT DISTINCT s.agency_id FROM dossier_steps s
             WHERE s.dossier_id = x.id AND s.started_at IS NOT NULL
             ORDER BY s.agency_id) AS processing_agency_ids"""

_WAITING = """,
       x.paused_at,
       x.supplement_requests"""

SOURCE_UP = "CREATE OR REPLACE VIEW dossier_facts_source AS" + _COLUMNS + _ATTRIBUTION + _WAITING + _FROM
SOURCE_DOWN = "CREATE VIEW dossier_facts_source AS" + _COLUMNS + _ATTRIBUTION + _FROM


def _recompute() -> None:
    op.execute('DELETE FROM dossier_facts')
    op.execute('INSERT INTO dossier_facts SELECT * FROM dossier_facts_source')


def upgrade() -> None:
    op.add_column('dossier_facts', sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('dossier_facts', sa.Column('supplement_requests', sa.Integer(), nullable=True))
    op.execute(SOURCE_UP)
    _recompute()
    op.alter_column('dossier_facts', 'supplement_requests', nullable=False)


def downgrade() -> None:
    # A view cannot lose columns by CREATE OR REPLACE: drop it and make 0027's again.
    op.execute('DROP VIEW dossier_facts_source')
    op.execute(SOURCE_DOWN)
    op.drop_column('dossier_facts', 'supplement_requests')
    op.drop_column('dossier_facts', 'paused_at')
    _recompute()
