"""Today's legal map (since 1 July 2025: provinces and communes, no district level) and reception
anywhere in the province (Decree 118/2025).

- administrative_levels.retired_on: a level an admin retired; its agencies stay readable, no new
  agency may use it.
- The district level is removed where nothing uses it; a database that has district agencies (or
  procedures at that level) keeps it, retired on 1 July 2025.
- dossiers.competent_agency_id: the agency a dossier was routed to (NULL on older dossiers: the
  procedure's competent agency, else the receiving unit — services.dossiers.routing).

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-03 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0026'
down_revision: str | None = '0025'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column('administrative_levels', sa.Column('retired_on', sa.Date(), nullable=True))
    op.execute(
        "DELETE FROM administrative_levels WHERE code = 'district' "
        "AND NOT EXISTS (SELECT 1 FROM agencies WHERE level_code = 'district') "
        "AND NOT EXISTS (SELECT 1 FROM procedure_versions WHERE 'district' = ANY(levels))"
    )
    op.execute(
        "UPDATE administrative_levels SET retired_on = DATE '2025-07-01', "
        "name = 'Cấp huyện (trước 01/7/2025)' WHERE code = 'district'"
    )
    op.add_column('dossiers', sa.Column('competent_agency_id', sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f('fk_dossiers_competent_agency_id_agencies'), 'dossiers', 'agencies', ['competent_agency_id'], ['id']
    )
    op.create_index(op.f('ix_dossiers_competent_agency_id'), 'dossiers', ['competent_agency_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_dossiers_competent_agency_id'), table_name='dossiers')
    op.drop_constraint(op.f('fk_dossiers_competent_agency_id_agencies'), 'dossiers', type_='foreignkey')
    op.drop_column('dossiers', 'competent_agency_id')
    op.execute(
        "INSERT INTO administrative_levels (code, name, rank, retired_on) "
        "VALUES ('district', 'Cấp huyện (trước 01/7/2025)', 2, NULL) ON CONFLICT (code) DO NOTHING"
    )
    op.drop_column('administrative_levels', 'retired_on')
