"""Exact monthly pre-aggregates of the statistics facts (`dossier_fact_months`): one row per
(local month, receiving agency, competent agency, procedure, field) with every additive figure,
each counted in the month of its own moment — received counts in `received_at`'s month,
finished / rejected / withdrawn in `finished_at`'s, ratings in `rated_at`'s, the 766 formula's
waiting dossiers in `paused_at`'s. `dossier_fact_contributions` says what each fact row adds to
which month (one row per moment); `dossier_fact_refresh` takes the old row's contributions off
and adds the new row's, in the same transaction as the facts. Months are local to
Asia/Ho_Chi_Minh (services.statistics.months uses them only for that zone). A later migration
that rewrites `dossier_facts` outside the refresh (as 0030 did) must recount the month rows after
it (services.statistics.facts.rebuild_months' statement), and one that drops or retypes a fact
column the view reads must drop and recreate `dossier_fact_contributions`.

Revision ID: 0032
Revises: 0030
Create Date: 2026-12-03 15:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0032'
down_revision: str | None = '0030'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ZONE = 'Asia/Ho_Chi_Minh'
KEYS = ('agency_id', 'competent_agency_id', 'procedure_id', 'field_id')
_ONLINE = "f.channel IN ('ONLINE', 'NATIONAL_PORTAL')"
_PAPER = "f.channel IN ('COUNTER', 'POST')"
_JUDGED = 'f.punctuality IS NOT NULL'
# A waiting dossier the index counts as the fast path assumes: received before it was paused and
# not finished. Any other dossier with status SUPPLEMENT_REQUESTED and a pause is "odd": the fast
# path falls back to the facts when one is paused in the period.
_NORMAL = 'f.received_at IS NOT NULL AND f.received_at <= f.paused_at AND f.finished_at IS NULL'
_WAITING_LATE = '(f.paused_at > f.due_at OR f.supplement_requests > 1)'

# (name, moment, SQL type, expression)
MEASURES = [
    ('received', 'received', 'integer', '1'),
    ('received_online', 'received', 'integer', f'({_ONLINE})::int'),
    ('received_national_portal', 'received', 'integer', "(f.channel = 'NATIONAL_PORTAL')::int"),
    ('received_counter', 'received', 'integer', "(f.channel = 'COUNTER')::int"),
    ('received_post', 'received', 'integer', "(f.channel = 'POST')::int"),
    ('full_online_received', 'received', 'integer', "(f.online_mode = 'FULL')::int"),
    ('full_online_online', 'received', 'integer', f"(f.online_mode = 'FULL' AND {_ONLINE})::int"),
    ('fee_owed', 'received', 'integer', 'f.fee_owed::int'),
    ('paid_online', 'received', 'integer', '(f.fee_owed AND f.paid_online)::int'),
    ('paper_received', 'received', 'integer', f'({_PAPER})::int'),
    ('digitised', 'received', 'integer', f'({_PAPER} AND f.digitised)::int'),
    ('received_synced', 'received', 'integer', 'f.synced::int'),
    ('received_reused', 'received', 'integer', 'f.reused::int'),
    ('offered_online', 'received', 'integer', "(f.online_mode <> 'NONE')::int"),
    ('offered_online_online', 'received', 'integer', f"(f.online_mode <> 'NONE' AND {_ONLINE})::int"),
    ('finished', 'finished', 'integer', f'({_JUDGED})::int'),
    ('finished_early', 'finished', 'integer', "(f.punctuality = 'EARLY')::int"),
    ('finished_on_time', 'finished', 'integer', "(f.punctuality = 'ON_TIME')::int"),
    ('finished_late', 'finished', 'integer', "(f.punctuality = 'LATE')::int"),
    ('refused', 'finished', 'integer', f'({_JUDGED} AND f.refused)::int'),
    ('finished_electronic', 'finished', 'integer', f'({_JUDGED} AND NOT f.refused AND f.electronic_result)::int'),
    ('handling_seconds', 'finished', 'numeric',
     f'CASE WHEN {_JUDGED} THEN COALESCE(extract(epoch FROM COALESCE(f.ready_at, f.finished_at)'
     ' - f.received_at)::numeric, 0) ELSE 0 END'),
    ('rejected', 'finished', 'integer', "(f.status = 'REJECTED')::int"),
    ('withdrawn', 'finished', 'integer', "(f.status = 'WITHDRAWN')::int"),
    ('ratings', 'rated', 'integer', '1'),
    ('rating_total', 'rated', 'numeric', 'COALESCE(f.rating::numeric, 0)'),
    ('unsatisfied', 'rated', 'integer', 'COALESCE(f.rating < 3, false)::int'),
    ('waiting', 'waiting', 'integer', f'({_NORMAL})::int'),
    ('waiting_good', 'waiting', 'integer',
     f"COALESCE({_NORMAL} AND (({_JUDGED} AND f.punctuality IN ('EARLY', 'ON_TIME'))"
     f' OR NOT {_WAITING_LATE}), false)::int'),
    ('waiting_late', 'waiting', 'integer',
     f"COALESCE({_NORMAL} AND (f.punctuality = 'LATE' OR {_WAITING_LATE}), false)::int"),
    ('waiting_odd', 'waiting', 'integer', f'(NOT ({_NORMAL}))::int'),
]
MOMENTS = {
    'received': 'f.received_at',
    'finished': 'f.finished_at',
    'rated': 'f.rated_at',
    'waiting': "CASE WHEN f.status = 'SUPPLEMENT_REQUESTED' THEN f.paused_at END",
}


def _values() -> str:
    rows = []
    for moment, at in MOMENTS.items():
        cells = [f"'{moment}'", at]
        cells += [
            f'COALESCE({expr}, 0)' if kind == moment else ('0::numeric' if t == 'numeric' else '0')
            for _, kind, t, expr in MEASURES
        ]
        rows.append('(' + ', '.join(cells) + ')')
    return ',\n        '.join(rows)


_NAMES = [m[0] for m in MEASURES]
CONTRIBUTIONS = f"""
CREATE VIEW dossier_fact_contributions AS
SELECT f.dossier_id, c.moment, c.at,
       (date_trunc('month', c.at AT TIME ZONE '{ZONE}'))::date AS month,
       {', '.join('f.' + k for k in KEYS)},
       f.received_at, f.finished_at, f.rated_at, f.paused_at, f.status,
       {', '.join('c.' + n for n in _NAMES)}
FROM dossier_facts f
CROSS JOIN LATERAL (VALUES
        {_values()}
    ) c(moment, at, {', '.join(_NAMES)})
WHERE c.at IS NOT NULL
"""
_SUMS = ', '.join(f'sign * sum({n})' for n in _NAMES)


def _upsert(sign: str, where: str) -> str:
    """Add the contributions of the fact rows `where` (times `sign`) to the month rows."""
    updates = ', '.join(f'{n} = m.{n} + EXCLUDED.{n}' for n in _NAMES)
    keys = ', '.join(KEYS)
    return (
        f'INSERT INTO dossier_fact_months AS m (month, {keys}, {", ".join(_NAMES)})'
        f' SELECT month, {keys}, {_SUMS.replace("sign", sign)} FROM dossier_fact_contributions'
        f' WHERE {where} GROUP BY month, {keys} ORDER BY month, {keys}'
        f' ON CONFLICT (month, {keys}) DO UPDATE SET {updates}'
    )


# A row that did not change touches nothing (most triggers leave the facts as they were): no
# write, no lock on the month rows.
REFRESH = f"""
CREATE OR REPLACE FUNCTION dossier_fact_refresh(d uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    old_row dossier_facts;
    new_row dossier_facts;
BEGIN
    IF d IS NULL THEN
        RETURN;
    END IF;
    SELECT * INTO old_row FROM dossier_facts WHERE dossier_id = d;
    SELECT * INTO new_row FROM dossier_facts_source WHERE dossier_id = d;
    IF old_row IS NOT DISTINCT FROM new_row THEN
        RETURN;
    END IF;
    {_upsert('-1', 'dossier_id = d')};
    DELETE FROM dossier_facts WHERE dossier_id = d;
    IF new_row.dossier_id IS NOT NULL THEN
        INSERT INTO dossier_facts SELECT (new_row).*;
    END IF;
    {_upsert('1', 'dossier_id = d')};
END $$
"""
REFRESH_DOWN = """
CREATE OR REPLACE FUNCTION dossier_fact_refresh(d uuid) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    IF d IS NULL THEN
        RETURN;
    END IF;
    DELETE FROM dossier_facts WHERE dossier_id = d;
    INSERT INTO dossier_facts SELECT * FROM dossier_facts_source WHERE dossier_id = d;
END $$
"""


def upgrade() -> None:
    columns = [sa.Column('month', sa.Date(), nullable=False)]
    columns += [sa.Column(k, sa.Uuid(), nullable=False) for k in KEYS]
    columns += [
        sa.Column(n, sa.Numeric() if t == 'numeric' else sa.BigInteger(), nullable=False, server_default='0')
        for n, _, t, _ in MEASURES
    ]
    op.create_table(
        'dossier_fact_months',
        *columns,
        sa.PrimaryKeyConstraint('month', *KEYS, name=op.f('pk_dossier_fact_months')),
    )
    op.create_index('ix_dossier_fact_months_agency', 'dossier_fact_months', ['agency_id', 'month'])
    op.create_index('ix_dossier_fact_months_competent', 'dossier_fact_months', ['competent_agency_id', 'month'])
    op.create_index(
        'ix_dossier_facts_waiting', 'dossier_facts', ['paused_at'],
        postgresql_where=sa.text("status = 'SUPPLEMENT_REQUESTED'"),
    )
    op.execute(CONTRIBUTIONS)
    op.execute(REFRESH)
    op.execute(_upsert('1', 'true'))


def downgrade() -> None:
    op.execute(REFRESH_DOWN)
    op.execute('DROP VIEW dossier_fact_contributions')
    op.drop_index('ix_dossier_facts_waiting', table_name='dossier_facts')
    op.drop_table('dossier_fact_months')
