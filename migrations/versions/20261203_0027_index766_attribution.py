"""The Decision 766 index as the national portal scores it: each dossier's fact row also names its
competent agency and every agency that held one of its steps (started), so a figure can count a dossier for
the receiving unit, the competent agency or each processing agency (`attribution`).

The view `dossier_facts_source` (migration 0014) is redefined with the two columns at its end
(CREATE OR REPLACE keeps the dependants), the steps refresh their dossier's row, and the facts
are recomputed.

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-03 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0027'
down_revision: str | None = '0026'
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

SOURCE_UP = "CREATE OR REPLACE VIEW dossier_facts_source AS" + _COLUMNS + _ATTRIBUTION + _FROM
SOURCE_DOWN = "CREATE VIEW dossier_facts_source AS" + _COLUMNS + _FROM

STEPS_UP = [
    "CREATE FUNCTION dossier_steps_facts() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "PERFORM dossier_fact_refresh(COALESCE(NEW.dossier_id, OLD.dossier_id)); "
    "RETURN COALESCE(NEW, OLD); END $$",
    "CREATE TRIGGER dossier_steps_facts AFTER INSERT OR DELETE "
    "OR UPDATE OF agency_id, dossier_id, started_at ON dossier_steps FOR EACH ROW EXECUTE FUNCTION dossier_steps_facts()",
]
STEPS_DOWN = [
    "DROP TRIGGER IF EXISTS dossier_steps_facts ON dossier_steps",
    "DROP FUNCTION IF EXISTS dossier_steps_facts()",
]


def upgrade() -> None:
    op.add_column('dossier_facts', sa.Column('competent_agency_id', sa.Uuid(), nullable=True))
    op.add_column(
        'dossier_facts', sa.Column('processing_agency_ids', postgresql.ARRAY(sa.Uuid()), nullable=True)
    )
    op.execute(SOURCE_UP)
    for statement in STEPS_UP:
        op.execute(statement)
    # Recompute every row (the refresh function reads the view by `SELECT *`).
    op.execute('DELETE FROM dossier_facts')
    op.execute('INSERT INTO dossier_facts SELECT * FROM dossier_facts_source')
    op.alter_column('dossier_facts', 'competent_agency_id', nullable=False)
    op.alter_column('dossier_facts', 'processing_agency_ids', nullable=False)
    op.create_index(
        'ix_dossier_facts_competent_received', 'dossier_facts', ['competent_agency_id', 'received_at']
    )
    op.create_index(
        'ix_dossier_facts_competent_finished', 'dossier_facts', ['competent_agency_id', 'finished_at']
    )
    op.create_index(
        'ix_dossier_facts_processing', 'dossier_facts', ['processing_agency_ids'], postgresql_using='gin'
    )


def downgrade() -> None:
    op.drop_index('ix_dossier_facts_processing', table_name='dossier_facts', postgresql_using='gin')
    op.drop_index('ix_dossier_facts_competent_finished', table_name='dossier_facts')
    op.drop_index('ix_dossier_facts_competent_received', table_name='dossier_facts')
    for statement in STEPS_DOWN:
        op.execute(statement)
    # A view cannot lose columns by CREATE OR REPLACE: drop it and make 0014's again.
    op.execute('DROP VIEW dossier_facts_source')
    op.execute(SOURCE_DOWN)
    op.drop_column('dossier_facts', 'processing_agency_ids')
    op.drop_column('dossier_facts', 'competent_agency_id')
