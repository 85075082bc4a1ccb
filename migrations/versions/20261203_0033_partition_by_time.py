"""Partitions by time (issue 15 item 2): the tables that grow with every act, sign-in and message
— `dossier_events` (the trail and the dossiers' outbox), `security_events` (the audit) and
`notification_outbox` — become declarative RANGE partitions by local year (Asia/Ho_Chi_Minh),
one partition `<table>_y<YYYY>` per year plus `<table>_default`, the safety net that takes any
row outside the yearly ones (a backdated clock) so no insert ever fails.

The conversion is in place and in this one transaction, per table: the old table is renamed
`<table>_old` (its indexes and constraints dropped, its identity sequence renamed); the
partitioned parent is created LIKE it (the same columns, order, defaults, identity, storage and
column comments) with yearly partitions covering the data's years and the current year + 1; the
rows are copied in key order with their identity values, the identity sequence continues from
the old one's; then the indexes (now partitioned indexes), the primary key and unique
constraints (with the partition key added: PostgreSQL requires it), the foreign keys, the
triggers (the trail's append-only guard, the facts trigger on refusals), the grants, the table
comment and the views that read the table (`dossier_facts_source`) are put back, and the old
table is dropped. The keys: `dossier_events.at`, `security_events.at`,
`notification_outbox.created_at` — each set once when the row is written and never changed. The
other growing tables stay as they are (docs/architecture.md, "Partitions by time", says why).
`dossier_trail_anchors` is new: where a dossier's trail goes on once its first years were
detached for the archive (services.partitions.detach_before).

Downgrade converts back the same way into plain tables with the former keys. Partitions that
were detached for the archive (`dvc partitions detach`) are not part of the parent any more and
stay as they are; the trail anchors go with the downgrade, so the trails that lost their first
years no longer check after it (attach those years back first to keep them checking).

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-03 17:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from alembic import op

revision: str = '0033'
down_revision: str | None = '0032'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ZONE = ZoneInfo('Asia/Ho_Chi_Minh')

# table → (partition key, {unique constraint: (kind, columns before partitioning)})
TABLES: dict[str, tuple[str, dict[str, tuple[str, tuple[str, ...]]]]] = {
    'dossier_events': ('at', {'pk_dossier_events': ('PRIMARY KEY', ('seq',))}),
    'security_events': ('at', {'pk_security_events': ('PRIMARY KEY', ('seq',))}),
    'notification_outbox': (
        'created_at',
        {
            'pk_notification_outbox': ('PRIMARY KEY', ('id',)),
            'uq_notification_outbox_seq': ('UNIQUE', ('seq',)),
        },
    ),
}


def _rows(sql: str, **params: Any) -> list[Any]:
    return list(op.get_bind().execute(sa.text(sql), params))


def _scalar(sql: str, **params: Any) -> Any:
    return op.get_bind().execute(sa.text(sql), params).scalar()


def _bound(year: int) -> str:
    return datetime(year, 1, 1, tzinfo=ZONE).isoformat()


def _capture(table: str) -> dict[str, Any]:
    """What must be put back on the new table, read while it still has its name."""
    oid = _scalar('SELECT CAST(CAST(:t AS regclass) AS oid)', t=table)
    return {
        'indexes': [
            r[0]
            for r in _rows(
                'SELECT pg_get_indexdef(i.indexrelid) FROM pg_index i WHERE i.indrelid = :o'
                ' AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid'
                ' AND c.conrelid = :o) ORDER BY i.indexrelid::regclass::text',
                o=oid,
            )
        ],
        'index_names': [
            r[0] for r in _rows('SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = :o', o=oid)
        ],
        'constraints': _rows(
            "SELECT conname, contype::text, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = :o AND contype IN ('p', 'u', 'f', 'c') ORDER BY conname",
            o=oid,
        ),
        'triggers': [
            r[0]
            for r in _rows(
                'SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = :o AND NOT tgisinternal'
                ' AND tgparentid = 0 ORDER BY tgname',
                o=oid,
            )
        ],
        'views': _rows(
            "SELECT DISTINCT v.oid::regclass::text, pg_get_viewdef(v.oid) FROM pg_depend d"
            " JOIN pg_rewrite w ON w.oid = d.objid JOIN pg_class v ON v.oid = w.ev_class"
            " WHERE d.refobjid = :o AND d.classid = 'pg_rewrite'::regclass AND v.oid <> :o",
            o=oid,
        ),
        'grants': _rows(
            "SELECT a.privilege_type, CASE WHEN a.grantee = 0 THEN 'PUBLIC'"
            " ELSE quote_ident(pg_get_userbyid(a.grantee)) END"
            " FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = :o AND a.grantee <> c.relowner",
            o=oid,
        ),
        'comment': _scalar("SELECT obj_description(:o, 'pg_class')", o=oid),
        'sequences': _rows(
            "SELECT a.attname, pg_get_serial_sequence(:t, a.attname) FROM pg_attribute a"
            " WHERE a.attrelid = :o AND a.attidentity <> '' AND NOT a.attisdropped",
            t=table,
            o=oid,
        ),
    }


def _years(table: str, key: str) -> list[int]:
    first, last = _rows(
        f"SELECT min(extract(year FROM {key} AT TIME ZONE 'Asia/Ho_Chi_Minh'))::int,"
        f" max(extract(year FROM {key} AT TIME ZONE 'Asia/Ho_Chi_Minh'))::int FROM {table}"
    )[0]
    this_year = _scalar("SELECT extract(year FROM now() AT TIME ZONE 'Asia/Ho_Chi_Minh')::int")
    first = min(first or this_year, this_year)
    return list(range(first, max(last or this_year, this_year + 1) + 1))


def _convert(table: str, *, partitioned: bool) -> None:
    """Rebuild `table` as a partitioned table (or back as a plain one) with the same rows."""
    key, keys = TABLES[table]
    kept = _capture(table)
    old = f'{table}_old'
    op.execute(f'ALTER TABLE {table} RENAME TO {old}')
    for name, _kind, _definition in kept['constraints']:
        op.execute(f'ALTER TABLE {old} DROP CONSTRAINT {name}')
    for name in kept['index_names']:
        op.execute(f'DROP INDEX IF EXISTS {name}')
    sequences = []
    for column, sequence in kept['sequences']:
        last_value, is_called = _rows(f'SELECT last_value, is_called FROM {sequence}')[0]
        op.execute(f'ALTER SEQUENCE {sequence} RENAME TO {sequence.split(".")[-1]}_old')
        sequences.append((column, last_value, is_called))
    like = (
        f'CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS INCLUDING IDENTITY INCLUDING COMMENTS'
        ' INCLUDING STORAGE INCLUDING COMPRESSION)'
    )
    if partitioned:
        years = _years(old, key)
        op.execute(f'{like} PARTITION BY RANGE ({key})')
        for year in years:
            op.execute(
                f'CREATE TABLE {table}_y{year} PARTITION OF {table}'
                f" FOR VALUES FROM ('{_bound(year)}') TO ('{_bound(year + 1)}')"
            )
        op.execute(f'CREATE TABLE {table}_default PARTITION OF {table} DEFAULT')
    else:
        op.execute(like)
    order = ', '.join([key, *[c for _k, cols in keys.values() for c in cols]])
    op.execute(f'INSERT INTO {table} OVERRIDING SYSTEM VALUE SELECT * FROM {old} ORDER BY {order}')
    for column, last_value, is_called in sequences:
        op.execute(
            f"SELECT setval(pg_get_serial_sequence('{table}', '{column}'), {last_value}, {bool(is_called)})"
        )
    for name, (kind, columns) in keys.items():
        wanted = [*columns, key] if partitioned else list(columns)
        op.execute(f'ALTER TABLE {table} ADD CONSTRAINT {name} {kind} ({", ".join(wanted)})')
    for name, kind, definition in kept['constraints']:
        if kind in ('f', 'c'):
            op.execute(f'ALTER TABLE {table} ADD CONSTRAINT {name} {definition}')
    for statement in kept['indexes']:  # a partitioned index prints as ON ONLY: not wanted on a plain table
        op.execute(statement.replace(' ON ONLY ', ' ON ', 1))
    for statement in kept['triggers']:
        op.execute(statement)
    for view, definition in kept['views']:
        op.execute(f'CREATE OR REPLACE VIEW {view} AS {definition}')
    for privilege, grantee in kept['grants']:
        op.execute(f'GRANT {privilege} ON {table} TO {grantee}')
    if kept['comment'] is not None:
        op.get_bind().execute(sa.text(f'COMMENT ON TABLE {table} IS ' + _quote(kept['comment'])))
    op.execute(f'DROP TABLE {old}')  # with its partitions


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def upgrade() -> None:
    for table in TABLES:
        _convert(table, partitioned=True)
    op.create_table(
        'dossier_trail_anchors',
        sa.Column('dossier_id', sa.Uuid(), nullable=False),
        sa.Column('seq', sa.BigInteger(), nullable=False),
        sa.Column('hash', sa.String(length=64), nullable=False),
        sa.Column('events', sa.Integer(), nullable=False),
        sa.Column('detached_into', sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(
            ['dossier_id'], ['dossiers.id'], name=op.f('fk_dossier_trail_anchors_dossier_id_dossiers')
        ),
        sa.PrimaryKeyConstraint('dossier_id', name=op.f('pk_dossier_trail_anchors')),
    )


def downgrade() -> None:
    op.drop_table('dossier_trail_anchors')
    for table in TABLES:
        _convert(table, partitioned=False)
