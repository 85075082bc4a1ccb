"""Statistics and the Decision 766 index over a history of one million dossiers.

Starts its own PostgreSQL, applies the migrations, and fills `dossier_facts` with one million
synthetic rows over five years and 31 agencies (the foreign key to `dossiers` is dropped in this
throwaway database: the reports read only the facts). Then times the service calls the
`statistics` and `serviceIndex` queries make, 15 runs each, for one agency and province-wide.

Run: `python -m bench.statistics`.
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import text

from core import migrate
from core.db import make_engine, make_session_factory
from devservers import EmbeddedServices
from services.statistics import figures as stats
from services.statistics import index766

ROWS = 1_000_000
FILL = [
    "SET LOCAL statement_timeout = 0",
    "ALTER TABLE dossier_facts DROP CONSTRAINT fk_dossier_facts_dossier_id_dossiers",
    "INSERT INTO administrative_levels(code, name, rank) VALUES ('province', 'Tỉnh', 1) ON CONFLICT DO NOTHING",
    """INSERT INTO agencies(id, code, name, search_text, level_code, is_one_stop_unit, created_at, updated_at)
       SELECT gen_random_uuid(), 'B' || g, 'Cơ quan ' || g, '', 'province', false, now(), now()
       FROM generate_series(1, 31) g""",
    f"""WITH a AS (SELECT array_agg(id) ids FROM agencies WHERE code LIKE 'B%'),
       g AS (SELECT i, timestamptz '2022-01-01' + random() * interval '1780 days' AS rec
             FROM generate_series(1, {ROWS}) i)
       INSERT INTO dossier_facts
       SELECT gen_random_uuid(), a.ids[1 + i % 31], gen_random_uuid(), gen_random_uuid(),
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
              a.ids[1 + (i / 7) % 31], ARRAY[a.ids[1 + i % 31]]
       FROM g, a""",
    "ANALYZE dossier_facts",
]
CASES = [
    ("agency, a month", stats.Scope(date(2026, 10, 1), date(2026, 10, 31), "B7")),
    ("agency, a quarter", stats.Scope(date(2026, 7, 1), date(2026, 9, 30), "B7")),
    ("agency, a year", stats.Scope(date(2025, 1, 1), date(2025, 12, 31), "B7")),
    ("province, a month", stats.Scope(date(2026, 10, 1), date(2026, 10, 31))),
    ("province, a year", stats.Scope(date(2025, 1, 1), date(2025, 12, 31))),
]


async def measure(url: str) -> None:
    engine = make_engine(url, pool_size=2)
    factory = make_session_factory(engine)
    async with factory() as session:
        started = time.perf_counter()
        for statement in FILL:
            await session.execute(text(statement))
        await session.commit()
        print(f"{ROWS:,} fact rows written in {time.perf_counter() - started:.0f} s")
    now = datetime(2026, 11, 26, 2, tzinfo=UTC)
    zone = ZoneInfo("Asia/Ho_Chi_Minh")
    print(f"{'scope':20s} {'query':8s} {'p50 ms':>8s} {'p95 ms':>8s}")
    for label, scope in CASES:
        for what in ("figures", "index"):
            times = []
            for _ in range(15):
                async with factory() as session:
                    started = time.perf_counter()
                    r = await stats.resolve(session, scope, now=now, zone=zone)
                    if what == "figures":
                        await stats.figures(session, r)
                    else:
                        await index766.service_index(session, r)
                    times.append((time.perf_counter() - started) * 1000)
            times.sort()
            print(f"{label:20s} {what:8s} {statistics.median(times):8.1f} {times[13]:8.1f}")
    await engine.dispose()


def main() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="dvc-bench-") as tmp,
        EmbeddedServices(Path(tmp) / "servers", s3=False) as servers,
    ):
        assert servers.postgres is not None
        url = servers.postgres.database_url
        migrate.upgrade(url)
        asyncio.run(measure(url))


if __name__ == "__main__":
    main()
