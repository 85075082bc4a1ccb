"""The statistics half of the scale benchmark (bench/scale.py): the service calls the `statistics`
and `serviceIndex` queries make, timed in process over a data set's own facts.

Province-wide, the calendar year 2025 (whole in the data set, which ends on 2026-11-26): the
`statistics` query with each grouping (what its resolver runs: the scope resolved, the total,
then the breakdown) and the `serviceIndex` query. One busy agency (the receiving unit with the
most dossiers received in October 2026), that month: `statistics` (the total) and
`serviceIndex`. Each call runs in a session of its own, once to warm up, then `runs` times;
p50, p95 and max over the runs. Reference instant: the data set's end (bench.dataset_rows.END),
so the figures do not move with the wall clock.
"""

from __future__ import annotations

import statistics
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from time import perf_counter
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.dataset_rows import END
from core.db import make_engine, make_session_factory
from services.statistics import figures as stats
from services.statistics import index766
from web.runtime import settle_heap

ZONE = ZoneInfo("Asia/Ho_Chi_Minh")
YEAR = (date(2025, 1, 1), date(2025, 12, 31))
MONTH = (date(2026, 10, 1), date(2026, 10, 31))
PROVINCE_TARGET_MS = 100.0  # issue 15: province-wide yearly statistics and the index, p95
AGENCY_TARGET_MS = 20.0  # issue 15: an agency's month, p95
BUSIEST_SQL = """
SELECT a.code FROM dossier_facts f JOIN agencies a ON a.id = f.agency_id
WHERE f.received_at >= :since AND f.received_at < :until
GROUP BY a.code ORDER BY count(*) DESC, a.code LIMIT 1
"""

Call = Callable[[AsyncSession, stats.Scope], Awaitable[Any]]


@dataclass(frozen=True)
class Timing:
    label: str
    p50: float
    p95: float
    max: float
    runs: int
    target: float

    @property
    def met(self) -> bool:
        return self.p95 <= self.target


def statistics_call(group_by: stats.GroupBy) -> Call:
    """What the `statistics` resolver runs for a filter and a grouping."""

    async def call(session: AsyncSession, scope: stats.Scope) -> Any:
        r = await stats.resolve(session, scope, now=END, zone=ZONE)
        total = await stats.figures(session, r)
        if group_by is stats.GroupBy.TOTAL:
            return total
        return await stats.breakdown(session, r, group_by, now=END, zone=ZONE)

    return call


async def index_call(session: AsyncSession, scope: stats.Scope) -> Any:
    """What the `serviceIndex` resolver runs for a filter."""
    r = await stats.resolve(session, scope, now=END, zone=ZONE)
    return await index766.service_index(session, r)


def percentile(sorted_ms: list[float], share: float) -> float:
    """The nearest-rank percentile of sorted times."""
    rank = max(1, -(-len(sorted_ms) * share // 1))
    return sorted_ms[int(rank) - 1]


async def _time(factory: Any, call: Call, scope: stats.Scope, runs: int) -> list[float]:
    times: list[float] = []
    for i in range(runs + 1):
        async with factory() as session:
            started = perf_counter()
            await call(session, scope)
            elapsed = (perf_counter() - started) * 1000
        if i:  # the first run warms the caches and the prepared statements
            times.append(elapsed)
    return sorted(times)


async def busiest_agency(session: AsyncSession) -> str:
    since = datetime.combine(MONTH[0], time(), tzinfo=ZONE)
    until = datetime.combine(MONTH[1] + timedelta(days=1), time(), tzinfo=ZONE)
    found = await session.scalar(text(BUSIEST_SQL), {"since": since, "until": until})
    if found is None:  # a tiny data set without that month: any agency
        found = await session.scalar(text("SELECT min(code) FROM agencies"))
    return str(found)


def cases(agency: str) -> list[tuple[str, Call, stats.Scope, float]]:
    province = stats.Scope(*YEAR)
    month = stats.Scope(*MONTH, agency_code=agency)
    found: list[tuple[str, Call, stats.Scope, float]] = [
        (f"province 2025 statistics {g.value}", statistics_call(g), province, PROVINCE_TARGET_MS)
        for g in stats.GroupBy
    ]
    found.append(("province 2025 serviceIndex", index_call, province, PROVINCE_TARGET_MS))
    found.append(
        (f"agency {agency} 2026-10 statistics", statistics_call(stats.GroupBy.TOTAL), month, AGENCY_TARGET_MS)
    )
    found.append((f"agency {agency} 2026-10 serviceIndex", index_call, month, AGENCY_TARGET_MS))
    return found


async def measure(url: str, runs: int) -> list[Timing]:
    """Every case on the data set at `url`, `runs` timed runs each."""
    engine = make_engine(url, pool_size=2)
    factory = make_session_factory(engine)
    try:
        async with factory() as session:
            agency = await busiest_agency(session)
        # As the served process does once started (web.runtime.settle_heap): the modules, the
        # schema and the mappers out of the collector's reach, or its full collections (100 ms
        # and more with all of them loaded) land in some runs and make their p95.
        settle_heap()
        timings = []
        for label, call, scope, target in cases(agency):
            ms = await _time(factory, call, scope, runs)
            timings.append(
                Timing(label, statistics.median(ms), percentile(ms, 0.95), ms[-1], len(ms), target)
            )
        return timings
    finally:
        await engine.dispose()


def report(name: str, timings: list[Timing]) -> None:
    print(f"\nStatistics and the 766 index on the {name} data set (service calls, in process)")
    print(f"{'call':44s} {'runs':>4s} {'p50 ms':>8s} {'p95 ms':>8s} {'max ms':>8s}  target")
    for t in timings:
        verdict = "met" if t.met else "missed"
        print(
            f"{t.label:44s} {t.runs:4d} {t.p50:8.1f} {t.p95:8.1f} {t.max:8.1f}"
            f"  p95 ≤ {t.target:.0f} ms: {verdict}"
        )
