"""procedure search: a stored tsvector column and its GIN index

The catalog search matched and ranked `to_tsvector('simple', search_text)` computed per row, three
times per row for a search that matches everything (filter, rank, count). The words are now a
generated column kept by PostgreSQL.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03 07:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = '0020'
down_revision: str | None = '0019'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        'procedure_versions',
        sa.Column(
            'search_vector',
            postgresql.TSVECTOR(),
            sa.Computed("to_tsvector('simple'::regconfig, search_text)", persisted=True),
            nullable=True,
        ),
    )
    op.create_index(
        'ix_procedure_versions_search_vector', 'procedure_versions', ['search_vector'], postgresql_using='gin'
    )
    op.drop_index('ix_procedure_versions_search', table_name='procedure_versions', postgresql_using='gin')


def downgrade() -> None:
    op.create_index(
        'ix_procedure_versions_search',
        'procedure_versions',
        [sa.literal_column("to_tsvector('simple'::regconfig, search_text)")],
        unique=False,
        postgresql_using='gin',
    )
    op.drop_index('ix_procedure_versions_search_vector', table_name='procedure_versions', postgresql_using='gin')
    op.drop_column('procedure_versions', 'search_vector')
