"""What is in progress and overdue at the start of a month, from the month rows (issue 15): three
more measures in `dossier_fact_months` and its two rollups, so that a period of whole months —
a year province-wide, a breakdown by month, an agency's month — no longer probes the facts for
the dossiers open at its end (the probe grew with the data: a year by month on 5M dossiers).

A dossier is in progress at an instant R when received before R and not finished before R; of
them overdue when its deadline by law is before R and its clock not stopped now
(services.statistics.figures.open_at / overdue_at). For R the first midnight of a month, that is
a difference of two counts each additive over months:

    in progress at R = received before R − (received and finished both before R)
    overdue at R     = (received and due both before R, not paused)
                       − (received, due and finished all before R, not paused)

"Both before R" is "the later of the two before R", so each subtrahend counts in the month of
the later moment: `closed` in the month of greatest(received, finished), `due_opened` in that of
greatest(received, due), `due_closed` in that of greatest(received, due, finished) — new moments
of `dossier_fact_contributions`. The sum of `received − closed` (and `due_opened − due_closed`)
over the months before R's is then exactly what the facts count at R; `paused` and `due_at` as
they stand now, as the facts path has them (a change of either refreshes the fact row and moves
its contributions).

The view, `dossier_fact_refresh` and the rollups' trigger function are regenerated from the
definitions of migrations 0032 and 0034 (loaded from their files, which never change) with the
three measures added; the measures are backfilled from the facts with the rollups' trigger off,
then the rollups from the month rows. The downgrade drops them, and the rows that held nothing
else.

Revision ID: 0035
Revises: 0034
Create Date: 2026-12-03 20:30:00.000000
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from alembic import op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _migration(name: str) -> ModuleType:
    """An earlier migration's module, for its (frozen) definitions."""
    path = Path(__file__).with_name(name)
    spec = importlib.util.spec_from_file_location(f"migration_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


M0032 = _migration("20261203_0032_fact_months.py")
M0034 = _migration("20261203_0034_statistics_at_scale.py")

NEW = [
    ("closed", "closed", "integer", "1"),
    ("due_opened", "due", "integer", "1"),
    ("due_closed", "due_closed", "integer", "1"),
]
NEW_NAMES = [n for n, _, _, _ in NEW]
NEW_MOMENTS = {
    "closed": "CASE WHEN f.received_at IS NOT NULL AND f.finished_at IS NOT NULL"
    " THEN greatest(f.received_at, f.finished_at) END",
    "due": "CASE WHEN f.received_at IS NOT NULL AND f.due_at IS NOT NULL AND f.paused IS FALSE"
    " THEN greatest(f.received_at, f.due_at) END",
    "due_closed": "CASE WHEN f.received_at IS NOT NULL AND f.due_at IS NOT NULL AND f.finished_at IS NOT NULL"
    " AND f.paused IS FALSE THEN greatest(f.received_at, f.due_at, f.finished_at) END",
}
TABLES = ("dossier_fact_months", *M0034.ROLLUPS)


def _contributions(measures: list[tuple[str, str, str, str]], moments: dict[str, str]) -> str:
    """The view of migration 0032 over `measures` and `moments`."""
    names = [m[0] for m in measures]
    rows = []
    for moment, at in moments.items():
        cells = [f"'{moment}'", at]
        cells += [
            f"COALESCE({expr}, 0)" if kind == moment else ("0::numeric" if t == "numeric" else "0")
            for _, kind, t, expr in measures
        ]
        rows.append("(" + ", ".join(cells) + ")")
    values = ",\n        ".join(rows)
    return f"""
CREATE VIEW dossier_fact_contributions AS
SELECT f.dossier_id, c.moment, c.at,
       (date_trunc('month', c.at AT TIME ZONE '{M0032.ZONE}'))::date AS month,
       {', '.join('f.' + k for k in M0032.KEYS)},
       f.received_at, f.finished_at, f.rated_at, f.paused_at, f.status,
       {', '.join('c.' + n for n in names)}
FROM dossier_facts f
CROSS JOIN LATERAL (VALUES
        {values}
    ) c(moment, at, {', '.join(names)})
WHERE c.at IS NOT NULL
"""


def _upsert(names: list[str], sign: str, where: str) -> str:
    """Migration 0032's `_upsert` over `names`."""
    keys = ", ".join(M0032.KEYS)
    sums = ", ".join(f"{sign} * sum({n})" for n in names)
    updates = ", ".join(f"{n} = m.{n} + EXCLUDED.{n}" for n in names)
    return (
        f"INSERT INTO dossier_fact_months AS m (month, {keys}, {', '.join(names)})"
        f" SELECT month, {keys}, {sums} FROM dossier_fact_contributions"
        f" WHERE {where} GROUP BY month, {keys} ORDER BY month, {keys}"
        f" ON CONFLICT (month, {keys}) DO UPDATE SET {updates}"
    )


def _refresh(names: list[str]) -> str:
    """Migration 0032's `dossier_fact_refresh` over `names`."""
    return f"""
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
    {_upsert(names, '-1', 'dossier_id = d')};
    DELETE FROM dossier_facts WHERE dossier_id = d;
    IF new_row.dossier_id IS NOT NULL THEN
        INSERT INTO dossier_facts SELECT (new_row).*;
    END IF;
    {_upsert(names, '1', 'dossier_id = d')};
END $$
"""


def _roll(names: list[str]) -> str:
    """Migration 0034's rollup trigger function over `names`."""

    def add(table: str, keys: tuple[str, ...], row: str, sign: str) -> str:
        columns = ", ".join(("month", *keys, *names))
        values = ", ".join((f"{row}.month", *(f"{row}.{k}" for k in keys), *(f"{sign}{row}.{n}" for n in names)))
        updates = ", ".join(f"{n} = r.{n} + EXCLUDED.{n}" for n in names)
        return (
            f"INSERT INTO {table} AS r ({columns}) VALUES ({values}) "
            f"ON CONFLICT (month, {', '.join(keys)}) DO UPDATE SET {updates};"
        )

    removals = "\n        ".join(add(t, k, "OLD", "-") for t, k in M0034.ROLLUPS.items())
    additions = "\n        ".join(add(t, k, "NEW", "") for t, k in M0034.ROLLUPS.items())
    return f"""
CREATE OR REPLACE FUNCTION dossier_fact_months_roll() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {removals}
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {additions}
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    for table in TABLES:
        for name in NEW_NAMES:
            op.execute(f"ALTER TABLE {table} ADD COLUMN {name} bigint NOT NULL DEFAULT 0")
    op.execute("DROP VIEW dossier_fact_contributions")
    op.execute(_contributions([*M0032.MEASURES, *NEW], {**M0032.MOMENTS, **NEW_MOMENTS}))
    names = [*M0032._NAMES, *NEW_NAMES]
    op.execute(_refresh(names))
    op.execute(_roll(names))
    # The backfill: the fine rows from the facts, then each rollup from the fine rows (its
    # trigger off meanwhile: one statement per rollup instead of a row at a time).
    op.execute("ALTER TABLE dossier_fact_months DISABLE TRIGGER dossier_fact_months_roll")
    keys = ", ".join(M0032.KEYS)
    sets = ", ".join(f"{n} = EXCLUDED.{n}" for n in NEW_NAMES)
    op.execute(
        f"INSERT INTO dossier_fact_months AS m (month, {keys}, {', '.join(NEW_NAMES)})"
        f" SELECT month, {keys}, {', '.join(f'sum({n})' for n in NEW_NAMES)}"
        f" FROM dossier_fact_contributions WHERE moment IN ({', '.join(repr(m) for m in NEW_MOMENTS)})"
        f" GROUP BY month, {keys} ON CONFLICT (month, {keys}) DO UPDATE SET {sets}"
    )
    for table, rollup_keys in M0034.ROLLUPS.items():
        group = ", ".join(rollup_keys)
        op.execute(
            f"INSERT INTO {table} AS r (month, {group}, {', '.join(NEW_NAMES)})"
            f" SELECT month, {group}, {', '.join(f'sum({n})' for n in NEW_NAMES)}"
            f" FROM dossier_fact_months GROUP BY month, {group}"
            f" ON CONFLICT (month, {group}) DO UPDATE SET {sets}"
        )
    op.execute("ALTER TABLE dossier_fact_months ENABLE ALWAYS TRIGGER dossier_fact_months_roll")
    for table in TABLES:
        op.execute(f"ANALYZE {table}")


def downgrade() -> None:
    op.execute(M0034._roll_function().replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1))
    op.execute(M0032.REFRESH)
    op.execute("DROP VIEW dossier_fact_contributions")
    op.execute(M0032.CONTRIBUTIONS)
    for table in TABLES:
        for name in NEW_NAMES:
            op.execute(f"ALTER TABLE {table} DROP COLUMN {name}")
        # Rows that held only the balances now count nothing (as 0032 and 0034 never made them).
        op.execute(f"DELETE FROM {table} WHERE {' AND '.join(f'{n} = 0' for n in M0032._NAMES)}")
