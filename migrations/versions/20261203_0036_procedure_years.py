"""Yearly rows of the per-procedure rollup (issue 15, the 5M benchmark): a year's statistics
grouped by procedure or field summed twelve months of 1,500 procedures' rows (and what was in
progress at its end every month before it) — 60 to 70 ms on 5M dossiers, most of the query.

`dossier_fact_years_procedure` holds per (year, procedure, field) the same measures as
`dossier_fact_months_procedure` (migrations 0034, 0035), summed over the year's months; `year`
is the year's first day. Exact by construction like the month rollups: a row trigger on
`dossier_fact_months_procedure` adds each change of one of its rows (insert, update, delete) to
the year's row, in the same transaction — so whatever changes the fine month rows reaches it
through their own trigger. ENABLE ALWAYS, as 0034's: the benchmarks' restores write the month
rows with the other triggers off. services.statistics.months reads the whole years of a period
here and the months around them in the month rollup.

Revision ID: 0036
Revises: 0035
Create Date: 2026-12-03 21:00:00.000000
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

import sqlalchemy as sa
from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLE = "dossier_fact_years_procedure"
KEYS = ("procedure_id", "field_id")


def _migration(name: str) -> ModuleType:
    """An earlier migration's module, for its (frozen) definitions."""
    path = Path(__file__).with_name(name)
    spec = importlib.util.spec_from_file_location(f"migration_{path.stem}", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


M0035 = _migration("20261203_0035_month_balances.py")
NAMES = [*M0035.M0032._NAMES, *M0035.NEW_NAMES]
NUMERIC = M0035.M0034.NUMERIC


def _add(row: str, sign: str) -> str:
    """Add `sign` times the month rollup's row `row` (NEW or OLD) to its year's row."""
    columns = ", ".join(("year", *KEYS, *NAMES))
    values = ", ".join(
        (f"date_trunc('year', {row}.month)::date", *(f"{row}.{k}" for k in KEYS), *(f"{sign}{row}.{n}" for n in NAMES))
    )
    updates = ", ".join(f"{n} = r.{n} + EXCLUDED.{n}" for n in NAMES)
    return (
        f"INSERT INTO {TABLE} AS r ({columns}) VALUES ({values}) "
        f"ON CONFLICT (year, {', '.join(KEYS)}) DO UPDATE SET {updates};"
    )


ROLL = f"""
CREATE FUNCTION dossier_fact_years_procedure_roll() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        {_add('OLD', '-')}
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        {_add('NEW', '')}
    END IF;
    RETURN NULL;
END $$
"""


def upgrade() -> None:
    columns = [sa.Column("year", sa.Date(), nullable=False)]
    columns += [sa.Column(k, sa.Uuid(), nullable=False) for k in KEYS]
    columns += [
        sa.Column(n, sa.Numeric() if n in NUMERIC else sa.BigInteger(), nullable=False, server_default="0")
        for n in NAMES
    ]
    op.create_table(TABLE, *columns, sa.PrimaryKeyConstraint("year", *KEYS, name=op.f(f"pk_{TABLE}")))
    op.create_index("ix_dossier_fact_years_procedure_field", TABLE, ["field_id", "year"])
    op.execute(
        f"INSERT INTO {TABLE} (year, {', '.join(KEYS)}, {', '.join(NAMES)})"
        f" SELECT date_trunc('year', month)::date, {', '.join(KEYS)}, {', '.join(f'sum({n})' for n in NAMES)}"
        f" FROM dossier_fact_months_procedure GROUP BY 1, {', '.join(KEYS)}"
    )
    op.execute(f"ANALYZE {TABLE}")
    op.execute(ROLL)
    op.execute(
        "CREATE TRIGGER dossier_fact_years_procedure_roll AFTER INSERT OR UPDATE OR DELETE"
        " ON dossier_fact_months_procedure FOR EACH ROW EXECUTE FUNCTION dossier_fact_years_procedure_roll()"
    )
    op.execute(
        "ALTER TABLE dossier_fact_months_procedure ENABLE ALWAYS TRIGGER dossier_fact_years_procedure_roll"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER dossier_fact_years_procedure_roll ON dossier_fact_months_procedure")
    op.execute("DROP FUNCTION dossier_fact_years_procedure_roll()")
    op.drop_table(TABLE)
