"""The monthly pre-aggregate (`dossier_fact_months`, migration 0032) on the benchmark data set
(bench/dataset.py, small N, filled by the rebuild) with ratings and moved dossiers added through
the triggers: every figure and every facts-counted 766 indicator read through the month rows
equals its recount from the facts rows, for whole months, partial months, a year, a period not
yet ended, province-wide and scoped, under each attribution; and `dvc statistics-rebuild`'s
rebuild finds and repairs a wrong month row."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest_asyncio
from sqlalchemy import func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import make_engine, make_session_factory
from core.settings import DEFAULT_TIMEZONE
from models.catalog import Agency, Field, Procedure
from models.statistics import DossierFact as F
from services.statistics import figures as stats
from services.statistics import index766, months
from services.statistics.facts import adjust_months, months_differing, rebuild, rollups_differing
from tests.test_bench_dataset import loaded  # noqa: F401 — the module's own data set

ZONE = ZoneInfo(DEFAULT_TIMEZONE)
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)  # bench/dataset_rows.END: Nov 2026 not ended

# Ratings (fractional overall scores, so sums are checked exact) on finished dossiers, and
# dossiers moved across month edges — all through the triggers that keep the month rows.
CHANGES = [
    """INSERT INTO dossier_ratings (id, dossier_id, account_id, agency_id, procedure_id, officer_ids,
           scores, overall, at)
       SELECT gen_random_uuid(), x.id, (SELECT id FROM accounts ORDER BY id LIMIT 1),
              x.receiving_agency_id, x.procedure_id, '{}', '{}',
              1 + (abs(hashtext(x.id::text)) % 40) / 10.0, x.finished_at + interval '3 days 5 hours'
       FROM dossiers x WHERE x.finished_at IS NOT NULL AND x.finished_at < '2026-11-01'
       ORDER BY x.id LIMIT 600""",
    """UPDATE dossiers SET received_at = date_trunc('month', received_at) - interval '30 minutes',
                           finished_at = finished_at + interval '20 days'
       WHERE id IN (SELECT id FROM dossiers WHERE finished_at IS NOT NULL ORDER BY md5(id::text) LIMIT 80)""",
    # Rejected and withdrawn dossiers, and dossiers waiting for a supplement (asked for once or
    # twice, before or after the deadline) over the whole span.
    """UPDATE dossiers SET status = (CASE WHEN abs(hashtext(id::text)) % 2 = 0 THEN 'REJECTED'
                                         ELSE 'WITHDRAWN' END)::dossier_status, punctuality = NULL
       WHERE id IN (SELECT id FROM dossiers WHERE finished_at IS NOT NULL ORDER BY md5(id::text) DESC
                    LIMIT 60)""",
    """UPDATE dossiers SET status = 'SUPPLEMENT_REQUESTED', finished_at = NULL, punctuality = NULL,
              result_at = NULL, paused_at = received_at + (abs(hashtext(id::text)) % 30) * interval '1 day',
              supplement_requests = 1 + abs(hashtext(id::text)) % 2
       WHERE id IN (SELECT id FROM dossiers WHERE finished_at IS NOT NULL AND received_at IS NOT NULL
                    ORDER BY md5(id::text || 'w') LIMIT 150)""",
]


@pytest_asyncio.fixture(scope="module")
async def changed(loaded: tuple[str, Any]) -> AsyncIterator[str]:  # noqa: F811
    engine = make_engine(loaded[0], pool_size=1)
    async with make_session_factory(engine)() as session:
        for statement in CHANGES:
            await session.execute(text(statement))
        await session.commit()
    await engine.dispose()
    yield loaded[0]


@pytest_asyncio.fixture
async def db(changed: str) -> AsyncIterator[AsyncSession]:
    engine = make_engine(changed, pool_size=1)
    async with make_session_factory(engine)() as session:
        yield session
    await engine.dispose()


PERIODS = [
    (date(2025, 3, 1), date(2025, 3, 31)),  # a whole month
    (date(2025, 3, 10), date(2025, 5, 20)),  # partial months at both ends
    (date(2025, 1, 1), date(2025, 12, 31)),  # a year
    (date(2024, 2, 29), date(2024, 4, 1)),  # one day of edge on each side
    (date(2023, 11, 1), date(2026, 11, 30)),  # everything, not yet ended: Nov from the facts
    (date(2026, 9, 1), date(2026, 11, 25)),  # whole months then the days up to now
]


async def _scopes(db: AsyncSession) -> list[dict[str, Any]]:
    """Province-wide, the busiest receiving agency's parent (with its sub-agencies), a level,
    the busiest field and procedure."""
    busiest: uuid.UUID | None = await db.scalar(
        select(F.agency_id).group_by(F.agency_id).order_by(func.count().desc(), F.agency_id).limit(1)
    )
    assert busiest is not None
    agency = await db.get(Agency, busiest)
    assert agency is not None
    parent = await db.get(Agency, agency.parent_id) if agency.parent_id else agency
    assert parent is not None
    field = await db.scalar(
        select(Field.code).join(F, F.field_id == Field.id).group_by(Field.code).order_by(func.count().desc())
    )
    procedure = await db.scalar(
        select(Procedure.code)
        .join(F, F.procedure_id == Procedure.id)
        .group_by(Procedure.code)
        .order_by(func.count().desc())
    )
    return [
        {},
        {"agency_code": agency.code},
        {"agency_code": parent.code},
        {"level_code": agency.level_code},
        {"field_code": field},
        {"procedure_code": procedure},
    ]


async def test_the_month_rows_say_what_the_facts_say(db: AsyncSession) -> None:
    """Kept by the triggers through the ratings and moves above: no month row differs from the
    recount of the facts (and the recount has something in every kind of moment)."""
    assert await months_differing(db) == 0
    assert await rollups_differing(db) == 0
    totals = (
        await db.execute(
            text(
                "SELECT sum(received), sum(finished), sum(ratings), sum(waiting), sum(rejected) FROM dossier_fact_months"
            )
        )
    ).one()
    assert all(t > 0 for t in totals), totals


async def test_monthly_fast_path_is_an_exact_rewrite_of_the_facts(db: AsyncSession) -> None:
    """Every figure and every facts-counted 766 indicator, for each period, scope and
    attribution: through the month rows = from the facts rows alone."""
    fast_paths = 0
    for scope_args in await _scopes(db):
        for start, end in PERIODS:
            for attribution in stats.Attribution:
                scope = stats.Scope(start, end, attribution=attribution, **scope_args)
                r = await stats.resolve(db, scope, now=NOW, zone=ZONE)
                exact = await stats.from_facts(db, r)
                fast = await months.figures(db, r)
                counts = await index766.counts_from_facts(db, r)
                fast_counts = await months.index_counts(db, r)
                if attribution is stats.Attribution.PROCESSING:
                    assert fast is None
                    assert fast_counts is None
                    continue
                assert fast is not None, scope
                assert fast == exact, scope
                assert fast_counts is not None, scope
                assert fast_counts == counts, scope
                assert await stats.figures(db, r) == exact  # the default goes through the months
                fast_paths += 1
    assert fast_paths == 6 * len(PERIODS) * 2


async def test_monthly_fast_path_groups_exactly(db: AsyncSession) -> None:
    """The groups by agency, level, field and procedure through the month rows = from the facts,
    province-wide and for an agency with its sub-agencies, under each attribution."""
    compared = 0
    for scope_args in (await _scopes(db))[:3]:
        for start, end in PERIODS[1:3]:
            for attribution in stats.Attribution:
                scope = stats.Scope(start, end, attribution=attribution, **scope_args)
                r = await stats.resolve(db, scope, now=NOW, zone=ZONE)
                for group_by in (
                    stats.GroupBy.AGENCY,
                    stats.GroupBy.LEVEL,
                    stats.GroupBy.FIELD,
                    stats.GroupBy.PROCEDURE,
                ):
                    exact = {
                        k: f for k, f in await stats.grouped_from_facts(db, r, group_by) if f != stats.ZERO
                    }
                    fast = await months.grouped(db, r, group_by)
                    if attribution is stats.Attribution.PROCESSING:
                        assert fast is None
                        continue
                    assert fast is not None
                    assert {k: f for k, f in fast if f != stats.ZERO} == exact, (scope, group_by)
                    compared += len(exact)
    assert compared > 100
    year = await stats.resolve(db, stats.Scope(date(2025, 1, 1), date(2025, 12, 31)), now=NOW, zone=ZONE)
    found = await stats.from_facts(db, year)
    assert min(found.received, found.finished_late, found.ratings, found.rejected, found.in_progress) > 0


async def test_a_period_inside_one_month_reads_the_facts(db: AsyncSession) -> None:
    """No whole month in the period (or only the month not yet ended): the facts answer."""
    for start, end in [(date(2025, 3, 2), date(2025, 3, 30)), (date(2026, 11, 1), date(2026, 11, 30))]:
        r = await stats.resolve(db, stats.Scope(start, end), now=NOW, zone=ZONE)
        assert months.whole_months(r) is None
        assert await months.figures(db, r) is None


async def test_statistics_rebuild_finds_and_repairs_a_wrong_month_row(db: AsyncSession) -> None:
    await db.execute(
        text(
            "UPDATE dossier_fact_months SET received = received + 1 WHERE ctid = "
            "(SELECT ctid FROM dossier_fact_months WHERE received > 0 ORDER BY month LIMIT 1)"
        )
    )
    await db.execute(text("DELETE FROM dossier_fact_months WHERE month = '2025-06-01'"))
    deleted = int(
        await db.scalar(
            text(
                "SELECT count(DISTINCT (agency_id, competent_agency_id, procedure_id, field_id))"
                " FROM dossier_fact_contributions WHERE month = '2025-06-01'"
            )
        )
        or 0
    )
    assert deleted > 0
    # The wrong row is counted twice (as kept, and as it should be), each missing one once.
    assert await months_differing(db) == 2 + deleted
    done = await rebuild(db)
    assert done.months_differed == 2 + deleted
    assert done.months > 0
    assert await months_differing(db) == 0
    await db.rollback()


async def test_a_waiting_dossier_the_months_cannot_place_sends_the_index_to_the_facts(
    db: AsyncSession,
) -> None:
    """A dossier waiting for a supplement but already finished (an "odd" one: the 766 formula
    would count it both ways) paused in the period: the index is counted from the facts, the
    figures (which do not count waiting dossiers) still through the months."""
    await db.execute(
        text(
            "UPDATE dossiers SET status = 'SUPPLEMENT_REQUESTED', paused_at = '2025-03-15 10:00+07',"
            " supplement_requests = 1 WHERE id = (SELECT id FROM dossiers WHERE punctuality IS NOT NULL"
            " AND finished_at >= '2025-04-01' AND finished_at < '2025-05-01' ORDER BY id LIMIT 1)"
        )
    )
    assert await months_differing(db) == 0
    march = await stats.resolve(db, stats.Scope(date(2025, 3, 1), date(2025, 4, 30)), now=NOW, zone=ZONE)
    assert await months.index_counts(db, march) is None
    assert await months.figures(db, march) == await stats.from_facts(db, march)
    may = await stats.resolve(db, stats.Scope(date(2025, 5, 1), date(2025, 5, 31)), now=NOW, zone=ZONE)
    assert await months.index_counts(db, may) == await index766.counts_from_facts(db, may)
    await db.rollback()


async def test_facts_written_around_the_triggers_keep_the_months_with_adjust_months(db: AsyncSession) -> None:
    """The benchmarks' restores write the facts with the triggers off: taking the contributions
    off before and adding them after keeps the month rows exact."""
    some = "dossier_id IN (SELECT dossier_id FROM dossier_facts ORDER BY md5(dossier_id::text) LIMIT 40)"
    await db.execute(
        text("CREATE TEMP TABLE kept ON COMMIT DROP AS SELECT * FROM dossier_facts WHERE " + some)
    )
    await db.execute(text("SET LOCAL session_replication_role = replica"))
    await db.execute(text(adjust_months(-1, "dossier_id IN (SELECT dossier_id FROM kept)")))
    await db.execute(text("DELETE FROM dossier_facts WHERE dossier_id IN (SELECT dossier_id FROM kept)"))
    assert await months_differing(db) == 0
    await db.execute(text("INSERT INTO dossier_facts SELECT * FROM kept"))
    assert await months_differing(db) > 0  # not yet added back
    await db.execute(text(adjust_months(1, "dossier_id IN (SELECT dossier_id FROM kept)")))
    assert await months_differing(db) == 0
    await db.rollback()


async def test_the_monthly_rollups_are_the_month_rows_summed(db: AsyncSession) -> None:
    """Migration 0034: the rollups per (month, receiving agency, competent agency) and per
    (month, procedure, field) follow every write of the month rows — the triggers' refreshes
    above, a rebuild, and the benchmarks' restores with the other triggers off."""
    assert await rollups_differing(db) == 0
    await db.execute(
        text(
            "UPDATE dossier_fact_months SET ratings = ratings + 2 WHERE ctid = (SELECT min(ctid) FROM dossier_fact_months)"
        )
    )
    await db.execute(
        text("DELETE FROM dossier_fact_months WHERE ctid = (SELECT max(ctid) FROM dossier_fact_months)")
    )
    assert await rollups_differing(db) == 0
    await rebuild(db)
    assert await rollups_differing(db) == 0
    await db.execute(text("SET LOCAL session_replication_role = replica"))
    await db.execute(text(adjust_months(-1, "dossier_id IN (SELECT dossier_id FROM dossier_facts LIMIT 30)")))
    assert await months_differing(db) > 0
    assert await rollups_differing(db) == 0
    await db.rollback()


async def test_a_breakdown_by_period_through_the_months_equals_each_period_from_the_facts(
    db: AsyncSession,
) -> None:
    """The months, quarters and years of a period read together through the month rows and the
    open spans (migration 0034) = each of them counted alone from the facts — whole periods,
    a partial first and last one, the month not yet ended, province-wide and by field."""
    checked = 0
    for start, end in [(date(2025, 1, 1), date(2025, 12, 31)), (date(2024, 2, 10), date(2026, 11, 30))]:
        for scope_args in ({}, {"field_code": (await _scopes(db))[4]["field_code"]}):
            r = await stats.resolve(db, stats.Scope(start, end, **scope_args), now=NOW, zone=ZONE)
            for group_by in stats.PERIODS:
                parts = stats._parts(r, group_by, now=NOW, zone=ZONE)
                batched = await months.periods(db, [part for _, _, part in parts])
                assert any(found is not None for found in batched)
                for (_, _, part), found in zip(parts, batched, strict=True):
                    if found is not None:
                        assert found == await stats.from_facts(db, part), (part.scope, group_by)
                        checked += 1
                rows = await stats.breakdown(db, r, group_by, now=NOW, zone=ZONE)
                exact = [(n, await stats.from_facts(db, p)) for n, _, p in parts]
                assert [(row.key, row.figures) for row in rows] == [
                    (n, f) for n, f in exact if f != stats.ZERO
                ]
    assert checked > 50


async def test_in_progress_at_an_instant_through_the_open_spans_equals_the_facts(db: AsyncSession) -> None:
    """The GiST index's open spans (migration 0034) find exactly the dossiers in progress at an
    instant: received before it and not finished before it."""
    for day in (date(2024, 6, 1), date(2025, 1, 1), date(2026, 10, 15), date(2026, 11, 26)):
        r = await stats.resolve(db, stats.Scope(date(2023, 11, 1), day), now=NOW, zone=ZONE)
        by_span = await db.scalar(select(func.count()).where(stats.open_span(r.reference)))
        exact = await db.scalar(select(func.count()).where(stats.open_at(r)))
        assert by_span == exact, day
        assert exact


async def test_in_progress_and_overdue_at_a_month_start_from_the_balances_equal_the_facts(
    db: AsyncSession,
) -> None:
    """Migration 0035: at every month's first midnight of the data set, what the month rows'
    balances say was in progress and overdue — province-wide, per scope and per grouping key —
    is what the facts count then (received before, not finished before; of them due before and
    not paused now), moved and paused dossiers included."""
    paused = await db.scalar(select(func.count()).where(F.paused, F.due_at.is_not(None)))
    assert paused, "the data set has dossiers whose clock is stopped"
    checked = overdue = 0
    for scope_args in await _scopes(db):
        for year, month in [(y, m) for y in (2024, 2025, 2026) for m in range(1, 13)][:35]:
            start = date(year, month, 1)
            before = date(year - 1, 12, 1) if month == 1 else date(year, month - 1, 1)
            scope = stats.Scope(before, start - timedelta(days=1), **scope_args)
            r = await stats.resolve(db, scope, now=NOW, zone=ZONE)
            assert months.month_start(r) == start
            exact = (
                await db.execute(
                    select(func.count(), func.count().filter(stats.overdue_at(r))).where(
                        stats.open_at(r), *stats.scoped(r)
                    )
                )
            ).one()
            assert (await months.open_then(db, r))[None] == tuple(exact), (scope, start)
            overdue += exact[1]
            checked += 1
        for group_by in (stats.GroupBy.AGENCY, stats.GroupBy.FIELD, stats.GroupBy.PROCEDURE):
            key = months._key(F, r, group_by)
            exact_by_key = {
                k: (o, d)
                for k, o, d in (
                    await db.execute(
                        select(key, func.count(), func.count().filter(stats.overdue_at(r)))
                        .where(stats.open_at(r), *stats.scoped(r))
                        .group_by(key)
                    )
                ).all()
            }
            found = {k: v for k, v in (await months.open_then(db, r, group_by)).items() if v != (0, 0)}
            assert found == exact_by_key, (r.scope, group_by)
    assert checked == 6 * 35
    assert overdue > 0
