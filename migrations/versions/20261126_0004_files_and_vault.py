"""Uploads (quarantine, checks, scan verdict), download records, the data vault (documents,
versions, consent grants, access log).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 09:15:10.411700
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0004'
down_revision: str | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('file_downloads',
    sa.Column('file_id', sa.Uuid(), nullable=False),
    sa.Column('actor_id', sa.Uuid(), nullable=True),
    sa.Column('actor_label', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('address', sa.String(length=60), nullable=True),
    sa.Column('basis', sa.String(length=40), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['stored_files.id'], name=op.f('fk_file_downloads_file_id_stored_files')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_file_downloads'))
    )
    op.create_index(op.f('ix_file_downloads_file_id'), 'file_downloads', ['file_id'], unique=False)
    op.create_table('vault_grants',
    sa.Column('vault_id', sa.Uuid(), nullable=False),
    sa.Column('agency_id', sa.Uuid(), nullable=False),
    sa.Column('document_ids', postgresql.ARRAY(sa.Uuid()), nullable=True),
    sa.Column('purpose', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['agency_id'], ['agencies.id'], name=op.f('fk_vault_grants_agency_id_agencies')),
    sa.ForeignKeyConstraint(['vault_id'], ['vaults.id'], name=op.f('fk_vault_grants_vault_id_vaults'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vault_grants'))
    )
    op.create_index(op.f('ix_vault_grants_vault_id'), 'vault_grants', ['vault_id'], unique=False)
    op.create_table('vault_documents',
    sa.Column('vault_id', sa.Uuid(), nullable=False),
    sa.Column('file_id', sa.Uuid(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('search_text', sa.Text(), nullable=False),
    sa.Column('doc_type', sa.String(length=200), nullable=True),
    sa.Column('issuer', sa.String(length=300), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('source', sa.Enum('UPLOAD', 'ISSUED_COPY', 'CERTIFIED_COPY', 'DIGITISED', 'RESULT', name='vault_source'), nullable=False),
    sa.Column('source_dossier_id', sa.Uuid(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.ForeignKeyConstraint(['file_id'], ['stored_files.id'], name=op.f('fk_vault_documents_file_id_stored_files')),
    sa.ForeignKeyConstraint(['source_dossier_id'], ['dossiers.id'], name=op.f('fk_vault_documents_source_dossier_id_dossiers')),
    sa.ForeignKeyConstraint(['vault_id'], ['vaults.id'], name=op.f('fk_vault_documents_vault_id_vaults'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vault_documents'))
    )
    op.create_index(op.f('ix_vault_documents_vault_id'), 'vault_documents', ['vault_id'], unique=False)
    op.create_table('vault_accesses',
    sa.Column('document_id', sa.Uuid(), nullable=False),
    sa.Column('actor_label', sa.String(length=200), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('basis', sa.String(length=40), nullable=False),
    sa.Column('reference', sa.Uuid(), nullable=True),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['vault_documents.id'], name=op.f('fk_vault_accesses_document_id_vault_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vault_accesses'))
    )
    op.create_index(op.f('ix_vault_accesses_document_id'), 'vault_accesses', ['document_id'], unique=False)
    op.create_table('vault_document_versions',
    sa.Column('document_id', sa.Uuid(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('file_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.ForeignKeyConstraint(['document_id'], ['vault_documents.id'], name=op.f('fk_vault_document_versions_document_id_vault_documents'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['file_id'], ['stored_files.id'], name=op.f('fk_vault_document_versions_file_id_stored_files')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vault_document_versions'))
    )
    op.create_index(op.f('ix_vault_document_versions_document_id'), 'vault_document_versions', ['document_id'], unique=False)
    op.add_column('stored_files', sa.Column('upload_expires_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('stored_files', sa.Column('scan_verdict', sa.String(length=20), nullable=True))
    op.add_column('stored_files', sa.Column('scan_signature', sa.String(length=200), nullable=True))
    op.add_column('stored_files', sa.Column('rejection', sa.String(length=300), nullable=True))
    op.add_column('stored_files', sa.Column('checked_at', sa.DateTime(timezone=True), nullable=True))
    op.create_index(op.f('ix_stored_files_upload_expires_at'), 'stored_files', ['upload_expires_at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_stored_files_upload_expires_at'), table_name='stored_files')
    op.drop_column('stored_files', 'checked_at')
    op.drop_column('stored_files', 'rejection')
    op.drop_column('stored_files', 'scan_signature')
    op.drop_column('stored_files', 'scan_verdict')
    op.drop_column('stored_files', 'upload_expires_at')
    op.drop_index(op.f('ix_vault_document_versions_document_id'), table_name='vault_document_versions')
    op.drop_table('vault_document_versions')
    op.drop_index(op.f('ix_vault_accesses_document_id'), table_name='vault_accesses')
    op.drop_table('vault_accesses')
    op.drop_index(op.f('ix_vault_documents_vault_id'), table_name='vault_documents')
    op.drop_table('vault_documents')
    op.drop_index(op.f('ix_vault_grants_vault_id'), table_name='vault_grants')
    op.drop_table('vault_grants')
    op.drop_index(op.f('ix_file_downloads_file_id'), table_name='file_downloads')
    op.drop_table('file_downloads')
    op.execute('DROP TYPE IF EXISTS vault_source')
