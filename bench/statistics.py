"""Statistics and the Decision 766 index over a history of one million dossiers.

Starts its own PostgreSQL, applies the migrations, and fills `dossier_facts` with one million
synthetic rows over five years and 31 agencies (48 procedures each, the competent agency
the receiving one or the next) (the foreign key to `dossiers` is dropped in this
throwaway database: the reports read only the facts). Then times the service calls the
`statistics` and `serviceIndex` queries make, 15 runs each, for one agency and province-wide.

Each is timed from the facts alone and with whole months read from the monthly pre-aggregate
(`dossier_fact_months`, recounted after the fill): "figures" / "figures/months", "index" /
"index/months" (the facts-counted indicators).

Run: `python -m bench.statistics` (`--rows 20000` for a quick check that it runs).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from core import migrate
from core.db import make_engine, make_session_factory
from devservers import EmbeddedServices
from services.statistics import figures as stats
from services.statistics import index766, months
from services.statistics.facts import rebuild_months

ROWS = 1_000_000  # --rows N for a quick run
FILL = [
    "SET LOCAL statement_timeout = 0",
    "ALTER TABLE dossier_facts DROP CONSTRAINT fk_dossier_facts_dossier_id_dossiers",
    "INSERT INTO administrative_levels(code, name, rank) VALUES ('province', 'Tỉnh', 1) ON CONFLICT DO NOTHING",
    """INSERT INTO agencies(id, code, name, search_text, level_code, is_one_stop_unit, created_at, updated_at)
       SELECT gen_random_uuid(), 'B' || g, 'Cơ quan ' || g, '', 'province', false, now(), now()
       FROM generate_series(1, 31) g""",
    """WITH a AS (SELECT array_agg(id) ids FROM agencies WHERE code LIKE 'B%'),
       p AS (SELECT array_agg(gen_random_uuid()) ids FROM generate_series(1, 1500)),
       fi AS (SELECT array_agg(gen_random_uuid()) ids FROM generate_series(1, 60)),
       g AS (SELECT i, timestamptz '2022-01-01' + random() * interval '1780 days' AS rec
             FROM generate_series(1, {rows}) i)
       INSERT INTO dossier_facts
       SELECT gen_random_uuid(), a.ids[1 + i % 31], p.ids[1 + (i % 31) * 48 + (i / 31) % 48],
              fi.ids[1 + ((i % 31) * 48 + (i / 31) % 48) % 60],
              (ARRAY['FULL', 'PARTIAL', 'NONE'])[1 + i % 3],
              (ARRAY['ONLINE', 'COUNTER', 'POST', 'NATIONAL_PORTAL'])[1 + i % 4],
              CASE WHEN rec > timestamptz '2026-11-01' THEN 'IN_PROGRESS' ELSE 'CLOSED' END,
              rec, rec + interval '3 days',
              CASE WHEN rec > timestamptz '2026-11-01' THEN NULL ELSE rec + interval '4 days' END,
              rec + interval '5 days', false,
              CASE WHEN rec > timestamptz '2026-11-01' THEN NULL
                   ELSE (ARRAY['EARLY', 'ON_TIME', 'LATE'])[1 + i % 3] END,
              i % 50 = 0, i % 2 = 0, i % 3 = 0, i % 5 = 0, i % 2 = 1, i % 7 = 0, i % 3 <> 0,
              CASE WHEN i % 4 = 0 THEN 1 + i % 5 END,
              CASE WHEN i % 4 = 0 THEN rec + interval '6 days' END,
              a.ids[1 + (i % 31 + (i / 7) % 2) % 31], ARRAY[a.ids[1 + i % 31]], NULL, 0
       FROM g, a, p, fi""",
    "ANALYZE dossier_facts",
]
CASES = [
    ("agency, a month", stats.Scope(date(2026, 10, 1), date(2026, 10, 31), "B7")),
    ("agency, a quarter", stats.Scope(date(2026, 7, 1), date(2026, 9, 30), "B7")),
    ("agency, a year", stats.Scope(date(2025, 1, 1), date(2025, 12, 31), "B7")),
    ("province, a month", stats.Scope(date(2026, 10, 1), date(2026, 10, 31))),
    ("province, a year", stats.Scope(date(2025, 1, 1), date(2025, 12, 31))),
]


async def measure(url: str, rows: int) -> None:
    engine = make_engine(url, pool_size=2)
    factory = make_session_factory(engine)
    async with factory() as session:
        started = time.perf_counter()
        for statement in FILL:
            await session.execute(text(statement.replace("{rows}", str(rows))))
        # The facts were written around the triggers: recount the month rows from them.
        months_rows, _ = await rebuild_months(session)
        await session.execute(text("ANALYZE dossier_fact_months"))
        await session.commit()
        print(
            f"{rows:,} fact rows, {months_rows:,} month rows written in {time.perf_counter() - started:.0f} s"
        )
    now = datetime(2026, 11, 26, 2, tzinfo=UTC)
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    print(f"{'scope':20s} {'query':16s} {'p50 ms':>8s} {'p95 ms':>8s}")
    for label, scope in CASES:
        for what in ("figures", "figures/months", "index", "index/months"):
            times = []
            for _ in range(15):
                async with factory() as session:
                    started = time.perf_counter()
                    r = await stats.resolve(session, scope, now=now, zone=zone)
                    await QUERIES[what](session, r)
                    times.append((time.perf_counter() - started) * 1000)
            times.sort()
            print(f"{label:20s} {what:16s} {statistics.median(times):8.1f} {times[13]:8.1f}")
    await engine.dispose()


async def _figures_by_months(session: AsyncSession, r: stats.Resolved) -> object:
    return await months.figures(session, r) or await stats.from_facts(session, r)


async def _index_by_months(session: AsyncSession, r: stats.Resolved) -> object:
    return await months.index_counts(session, r) or await index766.counts_from_facts(session, r)


# The facts alone, and whole months from the monthly pre-aggregate (STATISTICS_MONTHLY).
QUERIES: dict[str, Callable[[AsyncSession, stats.Resolved], Awaitable[object]]] = {
    "figures": stats.from_facts,
    "figures/months": _figures_by_months,
    "index": index766.counts_from_facts,
    "index/months": _index_by_months,
}


def main() -> None:
    parser = argparse.ArgumentParser(description="Statistics and the 766 index on synthetic facts.")
    parser.add_argument("--rows", type=int, default=ROWS, help="fact rows (default one million)")
    rows = parser.parse_args().rows
    with (
        tempfile.TemporaryDirectory(prefix="dvc-bench-") as tmp,
        EmbeddedServices(Path(tmp) / "servers", s3=False) as servers,
    ):
        assert servers.postgres is not None
        url = servers.postgres.database_url
        migrate.upgrade(url)
        asyncio.run(measure(url, rows))


if __name__ == "__main__":
    main()
