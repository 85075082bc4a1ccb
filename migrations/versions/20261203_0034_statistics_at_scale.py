"""Statistics at scale (issue 15, the 5M benchmark): what the province-wide reads need.

1. `ix_dossier_facts_open_span`: a GiST index on each fact's open span — received (excluded) to
   finished (included; none: still open) — so "in progress at R" (received before R, not finished
   before R) is one probe of the spans holding R instead of a scan of every dossier finished
   after R (services.statistics.figures.open_span). A dossier "finished" before it was received
   gets an empty span: it is open at no instant, as the facts path has it.
2. Two coarser monthly rollups of `dossier_fact_months` (migration 0032), with the same measures:
   `dossier_fact_months_agency` per (month, receiving agency, competent agency) — the total, the
   periods, the groups by agency and level — and `dossier_fact_months_procedure` per (month,
   procedure, field) — the groups by field and procedure and the index's distinct procedures.
   A province-wide year reads a few thousand of their rows instead of a hundred thousand fine
   ones (1M dossiers; several hundred thousand at 5M). Exact by construction: a row trigger on
   `dossier_fact_months` adds each change of a fine row (insert, update, delete) to both, in the
   same transaction, whoever writes the fine rows (the refresh, the rebuild, the benchmarks'
   restores: it fires under session_replication_role = replica too).

Revision ID: 0034
Revises: 0033
Create Date: 2026-12-03 17:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The measures of dossier_fact_months (migration 0032), numeric ones marked.
NAMES = (
    "received received_online received_national_portal received_counter received_post "
    "full_online_received full_online_online fee_owed paid_online paper_received digitised "
    "received_synced received_reused offered_online offered_online_online "
    "finished finished_early finished_on_time finished_late refused finished_electronic "
    "handling_seconds rejected withdrawn ratings rating_total unsatisfied "
    "waiting waiting_good waiting_late waiting_odd"
).split()
NUMERIC = {"handling_seconds", "rating_total"}
ROLLUPS = {
    "dossier_fact_months_agency": ("agency_id", "competent_agency_id"),
    "dossier_fact_months_procedure": ("procedure_id", "field_id"),
}
SPAN = (
    "tstzrange(received_at, CASE WHEN (finished_at < received_at) THEN received_at ELSE finished_at END, "
    "'(]'::text)"
)


def _add(table: str, keys: tuple[str, ...], row: str, sign: str) -> str:
    """Add `sign` times the fine row `row` (NEW or OLD) to the rollup `table`."""
    columns = ", ".join(("month", *keys, *NAMES))
    values = ", ".join((f"{row}.month", *(f"{row}.{k}" for k in keys), *(f"{sign}{row}.{n}" for n in NAMES)))
    updates = ", ".join(f"{n} = r.{n} + EXCLUDED.{n}" for n in NAMES)
    return (
        f"INSERT INTO {table} AS r ({columns}) VALUES ({values}) "
        f"ON CONFLICT (month, {', '.join(keys)}) DO UPDATE SET {updates};"
    )


def _roll_function() -> str:
    removals = "\n        ".join(_add(t, k, "OLD", "-") for t, k in ROLLUPS.items())
    additions = "\n        ".join(_add(t, k, "NEW", "") for t, k in ROLLUPS.items())
    return f"""
CREATE FUNCTION dossier_fact_months_roll() RETURNS trigger LANGUAGE plpgsql AS $$
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
    op.execute(
        f"CREATE INDEX ix_dossier_facts_open_span ON dossier_facts USING gist (({SPAN})) "
        "WHERE received_at IS NOT NULL"
    )
    for table, keys in ROLLUPS.items():
        columns = [sa.Column("month", sa.Date(), nullable=False)]
        columns += [sa.Column(k, sa.Uuid(), nullable=False) for k in keys]
        columns += [
            sa.Column(
                n, sa.Numeric() if n in NUMERIC else sa.BigInteger(), nullable=False, server_default="0"
            )
            for n in NAMES
        ]
        op.create_table(table, *columns, sa.PrimaryKeyConstraint("month", *keys, name=op.f(f"pk_{table}")))
        sums = ", ".join(f"sum({n})" for n in NAMES)
        op.execute(
            f"INSERT INTO {table} (month, {', '.join(keys)}, {', '.join(NAMES)}) "
            f"SELECT month, {', '.join(keys)}, {sums} FROM dossier_fact_months GROUP BY month, {', '.join(keys)}"
        )
    op.create_index(
        "ix_dossier_fact_months_agency_competent",
        "dossier_fact_months_agency",
        ["competent_agency_id", "month"],
    )
    op.create_index(
        "ix_dossier_fact_months_procedure_field", "dossier_fact_months_procedure", ["field_id", "month"]
    )
    for table in ROLLUPS:
        op.execute(f'ANALYZE {table}')
    op.execute(_roll_function())
    op.execute(
        "CREATE TRIGGER dossier_fact_months_roll AFTER INSERT OR UPDATE OR DELETE ON dossier_fact_months "
        "FOR EACH ROW EXECUTE FUNCTION dossier_fact_months_roll()"
    )
    # Also under session_replication_role = replica: the benchmarks' restores write the month
    # rows themselves with the other triggers off (services.statistics.facts.adjust_months).
    op.execute("ALTER TABLE dossier_fact_months ENABLE ALWAYS TRIGGER dossier_fact_months_roll")


def downgrade() -> None:
    op.execute("DROP TRIGGER dossier_fact_months_roll ON dossier_fact_months")
    op.execute("DROP FUNCTION dossier_fact_months_roll()")
    for table in ROLLUPS:
        op.drop_table(table)
    op.execute("DROP INDEX ix_dossier_facts_open_span")
