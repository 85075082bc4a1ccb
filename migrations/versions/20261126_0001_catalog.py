"""The procedure catalog: levels, agencies, fields, procedures and their versions.

Revision ID: 0001
Revises: 
Create Date: 2026-11-26 08:02:09.139123
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0001'
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('administrative_levels',
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('code', name=op.f('pk_administrative_levels'))
    )
    op.create_table('fields',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fields')),
    sa.UniqueConstraint('code', name=op.f('uq_fields_code'))
    )
    op.create_table('procedures',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('status', sa.Enum('DRAFT', 'PUBLISHED', 'SUSPENDED', 'ABOLISHED', name='procedure_status'), nullable=False),
    sa.Column('published_version_id', sa.Uuid(), nullable=True),
    sa.Column('revision', sa.Integer(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procedures')),
    sa.UniqueConstraint('code', name=op.f('uq_procedures_code'))
    )
    op.create_table('agencies',
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('electronic_id', sa.String(length=40), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('level_code', sa.String(length=32), nullable=False),
    sa.Column('parent_id', sa.Uuid(), nullable=True),
    sa.Column('is_one_stop_unit', sa.Boolean(), nullable=False),
    sa.Column('fee_account_number', sa.String(length=60), nullable=True),
    sa.Column('fee_account_bank', sa.String(length=200), nullable=True),
    sa.Column('fee_account_holder', sa.String(length=300), nullable=True),
    sa.Column('support_phone', sa.String(length=40), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_until', sa.Date(), nullable=True),
    sa.Column('successor_id', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('parent_id IS NULL OR parent_id <> id', name=op.f('ck_agencies_not_own_parent')),
    sa.CheckConstraint('valid_until IS NULL OR valid_from IS NULL OR valid_until >= valid_from', name=op.f('ck_agencies_validity')),
    sa.ForeignKeyConstraint(['level_code'], ['administrative_levels.code'], name=op.f('fk_agencies_level_code_administrative_levels')),
    sa.ForeignKeyConstraint(['parent_id'], ['agencies.id'], name=op.f('fk_agencies_parent_id_agencies')),
    sa.ForeignKeyConstraint(['successor_id'], ['agencies.id'], name=op.f('fk_agencies_successor_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agencies')),
    sa.UniqueConstraint('code', name=op.f('uq_agencies_code')),
    sa.UniqueConstraint('electronic_id', name=op.f('uq_agencies_electronic_id'))
    )
    op.create_index(op.f('ix_agencies_parent_id'), 'agencies', ['parent_id'], unique=False)
    op.create_table('procedure_versions',
    sa.Column('procedure_id', sa.Uuid(), nullable=False),
    sa.Column('version_no', sa.Integer(), nullable=False),
    sa.Column('state', sa.Enum('DRAFT', 'PUBLISHED', 'SUPERSEDED', name='procedure_version_state'), nullable=False),
    sa.Column('name', sa.String(length=1000), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('field_id', sa.Uuid(), nullable=False),
    sa.Column('levels', postgresql.ARRAY(sa.String(length=32)), nullable=False),
    sa.Column('competent_agency_id', sa.Uuid(), nullable=True),
    sa.Column('legal_basis', sa.Text(), nullable=False),
    sa.Column('online_mode', sa.Enum('FULL', 'PARTIAL', 'NONE', name='online_mode'), nullable=False),
    sa.Column('processing_days', sa.Numeric(precision=6, scale=1), nullable=False),
    sa.Column('online_processing_days', sa.Numeric(precision=6, scale=1), nullable=True),
    sa.Column('result_name', sa.String(length=1000), nullable=False),
    sa.Column('delivery_methods', postgresql.ARRAY(sa.String(length=16)), nullable=False),
    sa.Column('form_schema', postgresql.JSONB(astext_type=sa.Text()), nullable=False),
    sa.Column('decision_number', sa.String(length=100), nullable=True),
    sa.Column('decision_date', sa.Date(), nullable=True),
    sa.Column('change_note', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('online_processing_days IS NULL OR online_processing_days <= processing_days', name=op.f('ck_procedure_versions_online_days')),
    sa.CheckConstraint('processing_days >= 0', name=op.f('ck_procedure_versions_processing_days')),
    sa.ForeignKeyConstraint(['competent_agency_id'], ['agencies.id'], name=op.f('fk_procedure_versions_competent_agency_id_agencies')),
    sa.ForeignKeyConstraint(['field_id'], ['fields.id'], name=op.f('fk_procedure_versions_field_id_fields')),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedures.id'], name=op.f('fk_procedure_versions_procedure_id_procedures'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procedure_versions')),
    sa.UniqueConstraint('procedure_id', 'version_no', name='uq_procedure_versions_number')
    )
    op.create_index(op.f('ix_procedure_versions_competent_agency_id'), 'procedure_versions', ['competent_agency_id'], unique=False)
    op.create_index(op.f('ix_procedure_versions_field_id'), 'procedure_versions', ['field_id'], unique=False)
    op.create_index('ix_procedure_versions_search', 'procedure_versions', [sa.literal_column("to_tsvector('simple'::regconfig, search_text)")], unique=False, postgresql_using='gin')
    op.create_index('uq_procedure_versions_one_draft', 'procedure_versions', ['procedure_id'], unique=True, postgresql_where=sa.text("state = 'DRAFT'"))
    op.create_index('uq_procedure_versions_one_published', 'procedure_versions', ['procedure_id'], unique=True, postgresql_where=sa.text("state = 'PUBLISHED'"))
    # procedures <-> procedure_versions refer to each other: this key comes after both tables.
    op.create_foreign_key(
        'fk_procedures_published_version', 'procedures', 'procedure_versions',
        ['published_version_id'], ['id'],
    )
    op.create_table('procedure_components',
    sa.Column('version_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=1000), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('copy_type', sa.Enum('ORIGINAL', 'COPY', 'CERTIFIED_COPY', 'ORIGINAL_OR_COPY', name='copy_type'), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('template_url', sa.String(length=1000), nullable=True),
    sa.Column('accepted_formats', postgresql.ARRAY(sa.String(length=100)), nullable=False),
    sa.Column('max_size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('count >= 1', name=op.f('ck_procedure_components_count')),
    sa.CheckConstraint('max_size_bytes > 0', name=op.f('ck_procedure_components_max_size')),
    sa.ForeignKeyConstraint(['version_id'], ['procedure_versions.id'], name=op.f('fk_procedure_components_version_id_procedure_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procedure_components'))
    )
    op.create_index(op.f('ix_procedure_components_version_id'), 'procedure_components', ['version_id'], unique=False)
    op.create_table('procedure_events',
    sa.Column('seq', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('procedure_id', sa.Uuid(), nullable=False),
    sa.Column('version_id', sa.Uuid(), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('from_status', sa.String(length=20), nullable=True),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('decision_number', sa.String(length=100), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['procedure_id'], ['procedures.id'], name=op.f('fk_procedure_events_procedure_id_procedures'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['version_id'], ['procedure_versions.id'], name=op.f('fk_procedure_events_version_id_procedure_versions')),
    sa.UniqueConstraint('seq', name=op.f('uq_procedure_events_seq')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procedure_events'))
    )
    op.create_index(op.f('ix_procedure_events_procedure_id'), 'procedure_events', ['procedure_id'], unique=False)
    op.create_table('procedure_fees',
    sa.Column('version_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('FEE', 'CHARGE', name='fee_kind'), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('online_amount', sa.BigInteger(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint('amount >= 0', name=op.f('ck_procedure_fees_amount')),
    sa.CheckConstraint('online_amount IS NULL OR (online_amount >= 0 AND online_amount <= amount)', name=op.f('ck_procedure_fees_online_amount')),
    sa.ForeignKeyConstraint(['version_id'], ['procedure_versions.id'], name=op.f('fk_procedure_fees_version_id_procedure_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_procedure_fees'))
    )
    op.create_index(op.f('ix_procedure_fees_version_id'), 'procedure_fees', ['version_id'], unique=False)
    op.create_table('procedure_receiving_agencies',
    sa.Column('version_id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_procedure_receiving_agencies_agency_id_agencies')),
    sa.ForeignKeyConstraint(['version_id'], ['procedure_versions.id'], name=op.f('fk_procedure_receiving_agencies_version_id_procedure_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', 'agency_id', name=op.f('pk_procedure_receiving_agencies'))
    )
    op.create_table('workflow_steps',
    sa.Column('version_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('agency_ref', sa.Enum('RECEIVING', 'COMPETENT', 'AGENCY', name='step_agency_ref'), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=True),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('days', sa.Numeric(precision=6, scale=1), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("(agency_ref = 'AGENCY') = (agency_id IS NOT NULL)", name=op.f('ck_workflow_steps_agency_matches_ref')),
    sa.CheckConstraint('days >= 0', name=op.f('ck_workflow_steps_days')),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_workflow_steps_agency_id_agencies')),
    sa.ForeignKeyConstraint(['version_id'], ['procedure_versions.id'], name=op.f('fk_workflow_steps_version_id_procedure_versions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_steps'))
    )
    op.create_index(op.f('ix_workflow_steps_version_id'), 'workflow_steps', ['version_id'], unique=False)
    # Levels are data (the 2025 reform removed the district level); these are the known ones.
    levels = sa.table(
        'administrative_levels', sa.column('code', sa.String), sa.column('name', sa.String),
        sa.column('rank', sa.Integer),
    )
    op.bulk_insert(levels, [
        {'code': 'province', 'name': 'Cấp tỉnh', 'rank': 1},
        {'code': 'district', 'name': 'Cấp huyện (trước 01/7/2025)', 'rank': 2},
        {'code': 'commune', 'name': 'Cấp xã', 'rank': 3},
    ])


def downgrade() -> None:
    op.drop_constraint('fk_procedures_published_version', 'procedures', type_='foreignkey')
    op.drop_index(op.f('ix_workflow_steps_version_id'), table_name='workflow_steps')
    op.drop_table('workflow_steps')
    op.drop_table('procedure_receiving_agencies')
    op.drop_index(op.f('ix_procedure_fees_version_id'), table_name='procedure_fees')
    op.drop_table('procedure_fees')
    op.drop_index(op.f('ix_procedure_events_procedure_id'), table_name='procedure_events')
    op.drop_table('procedure_events')
    op.drop_index(op.f('ix_procedure_components_version_id'), table_name='procedure_components')
    op.drop_table('procedure_components')
    op.drop_index('uq_procedure_versions_one_published', table_name='procedure_versions', postgresql_where=sa.text("state = 'PUBLISHED'"))
    op.drop_index('uq_procedure_versions_one_draft', table_name='procedure_versions', postgresql_where=sa.text("state = 'DRAFT'"))
    op.drop_index('ix_procedure_versions_search', table_name='procedure_versions', postgresql_using='gin')
    op.drop_index(op.f('ix_procedure_versions_field_id'), table_name='procedure_versions')
    op.drop_index(op.f('ix_procedure_versions_competent_agency_id'), table_name='procedure_versions')
    op.drop_table('procedure_versions')
    op.drop_index(op.f('ix_agencies_parent_id'), table_name='agencies')
    op.drop_table('agencies')
    op.drop_table('procedures')
    op.drop_table('fields')
    op.drop_table('administrative_levels')
    for name in ('step_agency_ref', 'fee_kind', 'copy_type', 'online_mode', 'procedure_version_state', 'procedure_status'):
        op.execute(f'DROP TYPE IF EXISTS {name}')
