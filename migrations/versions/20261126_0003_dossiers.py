"""Dossiers, steps, attachments, stored files, the hash-chained trail (append-only), code
counters, idempotency keys, holiday overrides, event consumers and deliveries.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 08:50:25.573184
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('event_consumers',
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('url', sa.String(length=1000), nullable=False),
    sa.Column('secret', sa.String(length=200), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_event_consumers')),
    sa.UniqueConstraint('name', name=op.f('uq_event_consumers_name'))
    )
    op.create_table('holiday_overrides',
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('is_working_day', sa.Boolean(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('day', name=op.f('pk_holiday_overrides'))
    )
    op.create_table('idempotency_keys',
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('operation', sa.String(length=60), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('response', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('actor', 'key', name=op.f('pk_idempotency_keys'))
    )
    op.create_table('stored_files',
    sa.Column('owner_account_id', sa.Uuid(), nullable=True),
    sa.Column('object_key', sa.String(length=200), nullable=False),
    sa.Column('filename', sa.String(length=300), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('QUARANTINED', 'READY', 'REJECTED', name='file_status'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['owner_account_id'], ['accounts.id'], name=op.f('fk_stored_files_owner_account_id_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stored_files')),
    sa.UniqueConstraint('object_key', name=op.f('uq_stored_files_object_key'))
    )
    op.create_index(op.f('ix_stored_files_owner_account_id'), 'stored_files', ['owner_account_id'], unique=False)
    op.create_table('dossier_code_counters',
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('last', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_dossier_code_counters_agency_id_agencies')),
    sa.PrimaryKeyConstraint('agency_id', 'day', name=op.f('pk_dossier_code_counters'))
    )
    op.create_table('dossiers',
    sa.Column('code', sa.String(length=40), nullable=True),
    sa.Column('procedure_id', sa.Uuid(), nullable=False),
    sa.Column('procedure_version_id', sa.Uuid(), nullable=False),
    sa.Column('applicant_account_id', sa.Uuid(), nullable=True),
    sa.Column('applicant_name', sa.String(length=300), nullable=False),
    sa.Column('applicant_id_number', sa.String(length=14), nullable=True),
    sa.Column('applicant_phone', sa.String(length=20), nullable=True),
    sa.Column('applicant_email', sa.String(length=320), nullable=True),
    sa.Column('applicant_address', sa.String(length=500), nullable=True),
    sa.Column('channel', sa.Enum('ONLINE', 'COUNTER', 'POST', 'NATIONAL_PORTAL', name='dossier_channel'), nullable=False),
    sa.Column('receiving_agency_id', sa.Uuid(), nullable=False),
    sa.Column('status', sa.Enum('DRAFT', 'SUBMITTED', 'AWAITING_COMPLETION', 'IN_PROGRESS', 'SUPPLEMENT_REQUESTED', 'RESULT_READY', 'REFUSED', 'CLOSED', 'REJECTED', 'WITHDRAWN', name='dossier_status'), nullable=False),
    sa.Column('payment_status', sa.Enum('NOT_REQUIRED', 'UNPAID', 'PAID', 'REFUNDED', name='payment_status'), nullable=False),
    sa.Column('delivery_status', sa.Enum('NOT_READY', 'AWAITING_PICKUP', 'DELIVERED', name='delivery_status'), nullable=False),
    sa.Column('sync_status', sa.Enum('PENDING', 'SYNCED', name='sync_status'), nullable=False),
    sa.Column('delivery_method', sa.String(length=16), nullable=True),
    sa.Column('form_data', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('counts_from', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('received_by', sa.Uuid(), nullable=True),
    sa.Column('appointment_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('apologised', sa.Boolean(), nullable=False),
    sa.Column('completion_requested', sa.Boolean(), nullable=False),
    sa.Column('current_step', sa.Integer(), nullable=True),
    sa.Column('result_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('punctuality', sa.Enum('EARLY', 'ON_TIME', 'LATE', name='punctuality'), nullable=True),
    sa.Column('outcome_note', sa.Text(), nullable=True),
    sa.Column('lookup_secret', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('trail_head', sa.String(length=64), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['applicant_account_id'], ['accounts.id'], name=op.f('fk_dossiers_applicant_account_id_accounts')),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedures.id'], name=op.f('fk_dossiers_procedure_id_procedures')),
    sa.ForeignKeyConstraint(['procedure_version_id'], ['procedure_versions.id'], name=op.f('fk_dossiers_procedure_version_id_procedure_versions')),
    sa.ForeignKeyConstraint(['received_by'], ['accounts.id'], name=op.f('fk_dossiers_received_by_accounts')),
    sa.ForeignKeyConstraint(['receiving_agency_id'], ['agencies.id'], name=op.f('fk_dossiers_receiving_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossiers')),
    sa.UniqueConstraint('code', name=op.f('uq_dossiers_code'))
    )
    op.create_index('ix_dossiers_agency_status', 'dossiers', ['receiving_agency_id', 'status'], unique=False)
    op.create_index(op.f('ix_dossiers_applicant_account_id'), 'dossiers', ['applicant_account_id'], unique=False)
    op.create_index(op.f('ix_dossiers_applicant_id_number'), 'dossiers', ['applicant_id_number'], unique=False)
    op.create_index(op.f('ix_dossiers_due_at'), 'dossiers', ['due_at'], unique=False)
    op.create_index(op.f('ix_dossiers_procedure_id'), 'dossiers', ['procedure_id'], unique=False)
    op.create_index(op.f('ix_dossiers_receiving_agency_id'), 'dossiers', ['receiving_agency_id'], unique=False)
    op.create_index('ix_dossiers_status_due', 'dossiers', ['status', 'due_at'], unique=False)
    op.create_table('dossier_attachments',
    sa.Column('dossier_id', sa.Uuid(), nullable=False),
    sa.Column('component_id', sa.Uuid(), nullable=True),
    sa.Column('kind', sa.Enum('COMPONENT', 'SUPPLEMENT', 'RESULT', name='attachment_kind'), nullable=False),
    sa.Column('file_id', sa.Uuid(), nullable=False),
    sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('added_by', sa.String(length=200), nullable=False),
    sa.Column('removed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['component_id'], ['procedure_components.id'], name=op.f('fk_dossier_attachments_component_id_procedure_components')),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_dossier_attachments_dossier_id_dossiers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['file_id'], ['stored_files.id'], name=op.f('fk_dossier_attachments_file_id_stored_files')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_attachments'))
    )
    op.create_index(op.f('ix_dossier_attachments_dossier_id'), 'dossier_attachments', ['dossier_id'], unique=False)
    op.create_table('dossier_events',
    sa.Column('seq', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('dossier_id', sa.Uuid(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor_label', sa.String(length=200), nullable=False),
    sa.Column('actor_role', sa.String(length=40), nullable=True),
    sa.Column('agency_id', sa.Uuid(), nullable=True),
    sa.Column('from_status', sa.String(length=30), nullable=True),
    sa.Column('to_status', sa.String(length=30), nullable=False),
    sa.Column('from_step', sa.Integer(), nullable=True),
    sa.Column('to_step', sa.Integer(), nullable=True),
    sa.Column('comment', sa.Text(), nullable=True),
    sa.Column('punctuality', sa.String(length=10), nullable=True),
    sa.Column('data', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_dossier_events_dossier_id_dossiers')),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_dossier_events'))
    )
    op.create_index(op.f('ix_dossier_events_dossier_id'), 'dossier_events', ['dossier_id'], unique=False)
    op.create_table('dossier_steps',
    sa.Column('dossier_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('days', sa.String(length=10), nullable=False),
    sa.Column('assignee_id', sa.Uuid(), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('due_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('punctuality', sa.Enum('EARLY', 'ON_TIME', 'LATE', name='punctuality'), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_dossier_steps_agency_id_agencies')),
    sa.ForeignKeyConstraint(['assignee_id'], ['accounts.id'], name=op.f('fk_dossier_steps_assignee_id_accounts')),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_dossier_steps_dossier_id_dossiers'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_dossier_steps')),
    sa.UniqueConstraint('dossier_id', 'position', name='uq_dossier_steps_position')
    )
    op.create_index(op.f('ix_dossier_steps_agency_id'), 'dossier_steps', ['agency_id'], unique=False)
    op.create_index(op.f('ix_dossier_steps_assignee_id'), 'dossier_steps', ['assignee_id'], unique=False)
    op.create_index(op.f('ix_dossier_steps_dossier_id'), 'dossier_steps', ['dossier_id'], unique=False)
    op.create_table('event_deliveries',
    sa.Column('consumer_id', sa.Uuid(), nullable=False),
    sa.Column('dossier_id', sa.Uuid(), nullable=False),
    sa.Column('delivered_seq', sa.BigInteger(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['consumer_id'], ['event_consumers.id'], name=op.f('fk_event_deliveries_consumer_id_event_consumers'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['dossier_id'], ['dossiers.id'], name=op.f('fk_event_deliveries_dossier_id_dossiers')),
    sa.PrimaryKeyConstraint('consumer_id', 'dossier_id', name=op.f('pk_event_deliveries'))
    )
    # The process control trail is append-only: nobody edits or deletes what happened.
    op.execute("""
        CREATE FUNCTION dossier_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'dossier_events is append-only (% refused)', TG_OP;
        END $$;
    """)
    op.execute("""
        CREATE TRIGGER dossier_events_append_only BEFORE UPDATE OR DELETE ON dossier_events
        FOR EACH ROW EXECUTE FUNCTION dossier_events_append_only();
    """)


def downgrade() -> None:
    op.execute('DROP TRIGGER IF EXISTS dossier_events_append_only ON dossier_events')
    op.execute('DROP FUNCTION IF EXISTS dossier_events_append_only()')
    op.drop_table('event_deliveries')
    op.drop_index(op.f('ix_dossier_steps_dossier_id'), table_name='dossier_steps')
    op.drop_index(op.f('ix_dossier_steps_assignee_id'), table_name='dossier_steps')
    op.drop_index(op.f('ix_dossier_steps_agency_id'), table_name='dossier_steps')
    op.drop_table('dossier_steps')
    op.drop_index(op.f('ix_dossier_events_dossier_id'), table_name='dossier_events')
    op.drop_table('dossier_events')
    op.drop_index(op.f('ix_dossier_attachments_dossier_id'), table_name='dossier_attachments')
    op.drop_table('dossier_attachments')
    op.drop_index('ix_dossiers_status_due', table_name='dossiers')
    op.drop_index(op.f('ix_dossiers_receiving_agency_id'), table_name='dossiers')
    op.drop_index(op.f('ix_dossiers_procedure_id'), table_name='dossiers')
    op.drop_index(op.f('ix_dossiers_due_at'), table_name='dossiers')
    op.drop_index(op.f('ix_dossiers_applicant_id_number'), table_name='dossiers')
    op.drop_index(op.f('ix_dossiers_applicant_account_id'), table_name='dossiers')
    op.drop_index('ix_dossiers_agency_status', table_name='dossiers')
    op.drop_table('dossiers')
    op.drop_table('dossier_code_counters')
    op.drop_index(op.f('ix_stored_files_owner_account_id'), table_name='stored_files')
    op.drop_table('stored_files')
    op.drop_table('idempotency_keys')
    op.drop_table('holiday_overrides')
    op.drop_table('event_consumers')
    for name in ('attachment_kind', 'punctuality', 'sync_status', 'delivery_status', 'payment_status',
                 'dossier_status', 'dossier_channel', 'file_status'):
        op.execute(f'DROP TYPE IF EXISTS {name}')
