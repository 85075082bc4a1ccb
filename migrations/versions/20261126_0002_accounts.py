"""Accounts, profiles, staff assignments, vaults, tokens, codes, outbox, apps, audit.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 08:25:02.999393
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0002'
down_revision: str | None = '0001'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('kind', sa.Enum('CITIZEN', 'ORGANISATION', 'STAFF', name='account_kind'), nullable=False),
    sa.Column('status', sa.Enum('PENDING', 'ACTIVE', 'LOCKED', 'DELETED', name='account_status'), nullable=False),
    sa.Column('display_name', sa.String(length=300), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('phone', sa.String(length=20), nullable=True),
    sa.Column('email_verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('phone_verified_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('password_hash', sa.String(length=200), nullable=True),
    sa.Column('failed_sign_ins', sa.Integer(), nullable=False),
    sa.Column('last_sign_in_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('lock_reason', sa.Enum('FAILED_SIGN_INS', 'INACTIVITY', 'OWNER_REQUEST', 'DECEASED', 'DISSOLVED', 'UNASSIGNED', 'ADMIN', name='lock_reason'), nullable=True),
    sa.Column('locked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('inactivity_warned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('token_version', sa.Integer(), nullable=False),
    sa.Column('notify_email', sa.Boolean(), nullable=False),
    sa.Column('notify_sms', sa.Boolean(), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("(status = 'LOCKED') = (lock_reason IS NOT NULL)", name=op.f('ck_accounts_lock_reason')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts'))
    )
    op.create_index('ix_accounts_inactivity', 'accounts', ['last_sign_in_at'], unique=False, postgresql_where=sa.text("status = 'ACTIVE'"))
    op.create_index('uq_accounts_email', 'accounts', ['email'], unique=True, postgresql_where=sa.text("status <> 'DELETED'"))
    op.create_index('uq_accounts_phone', 'accounts', ['phone'], unique=True, postgresql_where=sa.text("status <> 'DELETED'"))
    op.create_table('oauth_clients',
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('secret_hash', sa.String(length=200), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('contact_email', sa.String(length=320), nullable=False),
    sa.Column('scopes', postgresql.ARRAY(sa.String(length=60)), nullable=False),
    sa.Column('rate_limit_per_minute', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_oauth_clients')),
    sa.UniqueConstraint('client_id', name=op.f('uq_oauth_clients_client_id'))
    )
    op.create_table('oidc_logins',
    sa.Column('state', sa.String(length=100), nullable=False),
    sa.Column('nonce', sa.String(length=100), nullable=False),
    sa.Column('code_verifier', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('state', name=op.f('pk_oidc_logins'))
    )
    op.create_table('rate_counters',
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'window_start', name=op.f('pk_rate_counters'))
    )
    op.create_table('security_events',
    sa.Column('seq', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('event', sa.String(length=60), nullable=False),
    sa.Column('outcome', sa.String(length=20), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor_label', sa.String(length=200), nullable=False),
    sa.Column('subject_id', sa.Uuid(), nullable=True),
    sa.Column('address', postgresql.INET(), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.Column('detail', postgresql.JSONB(astext_type=sa.Text()), server_default=sa.text("'{}'::jsonb"), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_security_events'))
    )
    op.create_index('ix_security_events_address', 'security_events', ['address', 'at'], unique=False)
    op.create_index(op.f('ix_security_events_at'), 'security_events', ['at'], unique=False)
    op.create_index(op.f('ix_security_events_subject_id'), 'security_events', ['subject_id'], unique=False)
    op.create_table('citizen_profiles',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('citizen_id', sa.String(length=12), nullable=True),
    sa.Column('full_name', sa.String(length=200), nullable=False),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.Column('national_identity_subject', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_citizen_profiles_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_citizen_profiles')),
    sa.UniqueConstraint('citizen_id', name=op.f('uq_citizen_profiles_citizen_id')),
    sa.UniqueConstraint('national_identity_subject', name=op.f('uq_citizen_profiles_national_identity_subject'))
    )
    op.create_table('notification_outbox',
    sa.Column('seq', sa.BigInteger(), sa.Identity(always=True), nullable=False),
    sa.Column('account_id', sa.Uuid(), nullable=True),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('destination', sa.String(length=320), nullable=False),
    sa.Column('template', sa.String(length=80), nullable=False),
    sa.Column('subject', sa.String(length=300), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_notification_outbox_account_id_accounts'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_outbox')),
    sa.UniqueConstraint('seq', name=op.f('uq_notification_outbox_seq'))
    )
    op.create_index(op.f('ix_notification_outbox_account_id'), 'notification_outbox', ['account_id'], unique=False)
    op.create_table('one_time_codes',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('purpose', sa.Enum('VERIFY_CONTACT', 'RESET_PASSWORD', name='code_purpose'), nullable=False),
    sa.Column('channel', sa.String(length=10), nullable=False),
    sa.Column('destination', sa.String(length=320), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_one_time_codes_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_one_time_codes'))
    )
    op.create_index(op.f('ix_one_time_codes_account_id'), 'one_time_codes', ['account_id'], unique=False)
    op.create_index('ix_one_time_codes_destination', 'one_time_codes', ['destination', 'purpose'], unique=False)
    op.create_table('organisation_profiles',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('tax_code', sa.String(length=14), nullable=True),
    sa.Column('name', sa.String(length=300), nullable=False),
    sa.Column('representative_name', sa.String(length=200), nullable=False),
    sa.Column('representative_citizen_id', sa.String(length=12), nullable=True),
    sa.Column('address', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_organisation_profiles_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('account_id', name=op.f('pk_organisation_profiles')),
    sa.UniqueConstraint('tax_code', name=op.f('uq_organisation_profiles_tax_code'))
    )
    op.create_table('refresh_tokens',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('family_id', sa.Uuid(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rotated_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('user_agent', sa.String(length=300), nullable=True),
    sa.Column('address', postgresql.INET(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_refresh_tokens_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refresh_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_refresh_tokens_token_hash'))
    )
    op.create_index(op.f('ix_refresh_tokens_account_id'), 'refresh_tokens', ['account_id'], unique=False)
    op.create_index(op.f('ix_refresh_tokens_family_id'), 'refresh_tokens', ['family_id'], unique=False)
    op.create_table('vaults',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_vaults_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vaults')),
    sa.UniqueConstraint('account_id', name=op.f('uq_vaults_account_id'))
    )
    op.create_table('staff_assignments',
    sa.Column('account_id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=True),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('include_sub_agencies', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.CheckConstraint("agency_id IS NOT NULL OR role = 'SYSTEM_ADMIN'", name=op.f('ck_staff_assignments_global_only_system_admin')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_staff_assignments_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_staff_assignments_agency_id_agencies')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_assignments'))
    )
    op.create_index(op.f('ix_staff_assignments_account_id'), 'staff_assignments', ['account_id'], unique=False)
    op.create_index(op.f('ix_staff_assignments_agency_id'), 'staff_assignments', ['agency_id'], unique=False)
    op.create_index('uq_staff_assignments_active', 'staff_assignments', ['account_id', sa.literal_column("coalesce(agency_id, '00000000-0000-0000-0000-000000000000'::uuid)"), 'role'], unique=True, postgresql_where=sa.text('ended_at IS NULL'))


def downgrade() -> None:
    op.drop_index('uq_staff_assignments_active', table_name='staff_assignments', postgresql_where=sa.text('ended_at IS NULL'))
    op.drop_index(op.f('ix_staff_assignments_agency_id'), table_name='staff_assignments')
    op.drop_index(op.f('ix_staff_assignments_account_id'), table_name='staff_assignments')
    op.drop_table('staff_assignments')
    op.drop_table('vaults')
    op.drop_index(op.f('ix_refresh_tokens_family_id'), table_name='refresh_tokens')
    op.drop_index(op.f('ix_refresh_tokens_account_id'), table_name='refresh_tokens')
    op.drop_table('refresh_tokens')
    op.drop_table('organisation_profiles')
    op.drop_index('ix_one_time_codes_destination', table_name='one_time_codes')
    op.drop_index(op.f('ix_one_time_codes_account_id'), table_name='one_time_codes')
    op.drop_table('one_time_codes')
    op.drop_index(op.f('ix_notification_outbox_account_id'), table_name='notification_outbox')
    op.drop_table('notification_outbox')
    op.drop_table('citizen_profiles')
    op.drop_index(op.f('ix_security_events_subject_id'), table_name='security_events')
    op.drop_index(op.f('ix_security_events_at'), table_name='security_events')
    op.drop_index('ix_security_events_address', table_name='security_events')
    op.drop_table('security_events')
    op.drop_table('rate_counters')
    op.drop_table('oidc_logins')
    op.drop_table('oauth_clients')
    op.drop_index('uq_accounts_phone', table_name='accounts', postgresql_where=sa.text("status <> 'DELETED'"))
    op.drop_index('uq_accounts_email', table_name='accounts', postgresql_where=sa.text("status <> 'DELETED'"))
    op.drop_index('ix_accounts_inactivity', table_name='accounts', postgresql_where=sa.text("status = 'ACTIVE'"))
    op.drop_table('accounts')
    for name in ('code_purpose', 'lock_reason', 'account_status', 'account_kind'):
        op.execute(f'DROP TYPE IF EXISTS {name}')
