"""Partitions by time (issue 15 item 2) on a populated database of their own: migration 0033
converts it in place — every row the same, every trail checking, each row in its year's
partition — and back; new rows land in this year's partition; `ensure_partitions` empties the
DEFAULT partition; old years detach for the archive; lookups stay on indexes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import SYSTEM
from bench.dataset import pg_dsn
from core import migrate
from core.partitions import PARTITIONED, ZONE
from models.dossiers import Dossier
from services.accounts.journal import RequestMeta, security_event
from services.dossiers import queries
from services.dossiers.recording import record_payment
from services.dossiers.transition import ActContext
from services.errors import Refused
from services.partitions import default_rows, detach_before, ensure_partitions, list_partitions
from tests.conftest import CALENDAR, NOW
from tests.partitions.conftest import DAYS, DUMPS, SPEC, dumps


async def test_migration_0033_keeps_every_row_of_a_populated_database(converted: dict[str, Any]) -> None:
    """Issue 15 item 2: the migration converts an existing database in place — the trail, the
    audit, the outbox, the facts and their month pre-aggregates are row for row the same."""
    before, after = converted["before"], converted["after"]
    assert {name: len(rows) for name, rows in before.items()} == {
        name: len(rows) for name, rows in after.items()
    }
    assert len(before["dossier_events"]) > SPEC.dossiers
    assert len(before["security_events"]) == len(DAYS)
    for name in DUMPS:
        assert before[name] == after[name], name


async def test_every_trail_still_checks_after_the_conversion(db: AsyncSession) -> None:
    """Issue 15 item 2: the trail's hash chain (phiếu kiểm soát) reads whole through the parent."""
    dossiers = list(await db.scalars(select(Dossier)))
    assert len(dossiers) == SPEC.dossiers
    for dossier in dossiers:
        check = await queries.check_trail(db, dossier)
        assert check.valid, (dossier.id, check)
        assert check.events == dossier.version


async def test_rows_sit_in_the_partition_of_their_local_year(db: AsyncSession) -> None:
    """Issue 15 item 2: one partition per local year (Asia/Ho_Chi_Minh) from the data's first
    year to the next one, and nothing in the DEFAULT partition after the migration."""
    for table, key in PARTITIONED.items():
        rows = await db.execute(text(f"SELECT tableoid::regclass::text, {key} FROM {table}"))
        for partition, moment in rows:
            assert partition == f"{table}_y{moment.astimezone(ZONE).year}", (table, moment)
        years = [p.year for p in await list_partitions(db, table)]
        assert years[-1] is None  # the DEFAULT partition, last
        assert years[-2] == datetime.now(ZONE).year + 1
    assert await default_rows(db) == dict.fromkeys(PARTITIONED, 0)
    # 31 Dec 2025 17:30 UTC is already 1 January 2026 in Hà Nội.
    assert await db.scalar(
        text("SELECT tableoid::regclass::text FROM security_events ORDER BY seq OFFSET 1 LIMIT 1")
    ) == ("security_events_y2026")


async def test_new_acts_land_in_this_years_partition_with_the_sequence_continued(
    converted: dict[str, Any], db: AsyncSession
) -> None:
    """Issue 15 item 2: after the conversion the identity continues from the old sequence, and
    an act of today writes its trail line into this year's partition."""
    last_seq = max(row[0] for row in converted["before"]["dossier_events"])
    dossier = await db.scalar(select(Dossier).order_by(Dossier.code).limit(1))
    assert dossier is not None
    await record_payment(db, dossier, ActContext(SYSTEM, NOW, CALENDAR), {"amount": 1})
    row = (
        await db.execute(
            text(
                "SELECT seq, tableoid::regclass::text FROM dossier_events WHERE dossier_id = :d ORDER BY seq DESC"
            ),
            {"d": dossier.id},
        )
    ).first()
    assert row is not None
    assert row[0] > last_seq
    assert row[1] == f"dossier_events_y{NOW.astimezone(ZONE).year}"
    assert (await queries.check_trail(db, dossier)).valid


async def test_ensure_partitions_moves_the_default_rows_into_their_year_and_is_idempotent(
    db: AsyncSession,
) -> None:
    """Issue 15 item 2: rows of a year with no partition (a backdated clock) wait in the DEFAULT
    partition; ensure_partitions creates that year's partition and moves them in — the trail's
    append-only guard and the facts trigger do not see the move — and a second run does nothing."""
    old = datetime(2019, 6, 1, 3, tzinfo=UTC)
    dossier = await db.scalar(select(Dossier).order_by(Dossier.code).limit(1))
    assert dossier is not None
    await record_payment(db, dossier, ActContext(SYSTEM, old, CALENDAR), {"amount": 2})
    db.add(security_event("SIGN_IN", "FAILURE", actor=SYSTEM, now=old, meta=RequestMeta()))
    await db.flush()
    waiting = await default_rows(db)
    assert waiting["dossier_events"] == 1
    assert waiting["security_events"] == 1
    created = await ensure_partitions(db, now=NOW)
    assert sorted(created) == ["dossier_events_y2019", "security_events_y2019"]
    assert await default_rows(db) == dict.fromkeys(PARTITIONED, 0)
    assert await db.scalar(text("SELECT count(*) FROM dossier_events_y2019")) == 1
    assert (await queries.check_trail(db, dossier)).valid
    with pytest.raises(Exception, match="append-only"):
        async with db.begin_nested():
            await db.execute(text("DELETE FROM dossier_events_y2019"))
    assert await ensure_partitions(db, now=NOW) == []


async def test_detach_leaves_a_plain_table_and_the_parent_no_longer_sees_its_rows(db: AsyncSession) -> None:
    """Issue 15 item 2: old years detach for the archive — never this year or the last, never
    a year with a dossier not archived yet or a message not sent; a detached year becomes a
    plain table `<partition>_detached` holding its rows, and the parent no longer reads them."""
    with pytest.raises(Refused, match="2025"):
        await detach_before(db, before_year=2026, now=NOW)
    async with db.begin_nested():
        with pytest.raises(Refused, match="hồ sơ chưa lưu trữ"):
            await detach_before(db, before_year=2025, now=NOW)
    early = await db.scalar(text("SELECT count(*) FROM dossier_events WHERE at < '2025-01-01 00:00+07'"))
    year_rows = await db.scalar(text("SELECT count(*) FROM dossier_events_y2024"))
    total = await db.scalar(text("SELECT count(*) FROM dossier_events"))
    await db.execute(
        text(
            "UPDATE dossiers SET archived_at = :now WHERE id IN (SELECT dossier_id FROM dossier_events"
            " WHERE at < '2025-01-01 00:00+07')"
        ),
        {"now": NOW},
    )
    await db.execute(
        text("UPDATE notification_outbox SET sent_at = created_at WHERE created_at < '2025-01-01 00:00+07'")
    )
    detached = await detach_before(db, before_year=2025, now=NOW)
    assert "dossier_events_y2024_detached" in detached
    assert "security_events_y2024_detached" in detached
    kind = await db.scalar(
        text(
            "SELECT relkind::text || relispartition::text FROM pg_class WHERE relname = 'dossier_events_y2024_detached'"
        )
    )
    assert kind == "rfalse"
    assert await db.scalar(text("SELECT count(*) FROM dossier_events_y2024_detached")) == year_rows
    # Each table's partitions start at its own first year: the data set's trail in 2023.
    assert sorted(detached) == [
        "dossier_events_y2023_detached",
        "dossier_events_y2024_detached",
        "notification_outbox_y2024_detached",
        "security_events_y2024_detached",
    ]
    assert await db.scalar(text("SELECT count(*) FROM dossier_events")) == total - early
    assert await db.scalar(text("SELECT count(*) FROM dossier_events WHERE at < '2025-01-01 00:00+07'")) == 0
    # The trails that lost their first years check on from their anchors, every event counted.
    anchored = await db.scalar(text("SELECT count(*) FROM dossier_trail_anchors"))
    assert anchored == await db.scalar(
        text(
            "SELECT count(DISTINCT dossier_id) FROM (SELECT dossier_id FROM dossier_events_y2023_detached"
            " UNION ALL SELECT dossier_id FROM dossier_events_y2024_detached) d"
        )
    )
    for dossier in await db.scalars(select(Dossier)):
        check = await queries.check_trail(db, dossier)
        assert check.valid, (dossier.id, check)
        assert check.events == dossier.version


async def test_detach_refuses_a_trail_year_with_a_later_event_written_before(db: AsyncSession) -> None:
    """Issue 15 item 2: a year's trail lines leave only as the first lines of their chains — an
    act backdated into an old year after a later one (a clock set back) keeps that year in."""
    dossier = await db.scalar(
        select(Dossier).where(
            text("id NOT IN (SELECT dossier_id FROM dossier_events WHERE at < '2025-01-01 00:00+07')")
        )
    )
    assert dossier is not None
    await record_payment(
        db, dossier, ActContext(SYSTEM, datetime(2024, 5, 1, tzinfo=UTC), CALENDAR), {"amount": 3}
    )
    await db.execute(text("UPDATE dossiers SET archived_at = :now"), {"now": NOW})
    await db.execute(text("UPDATE notification_outbox SET sent_at = created_at"))
    with pytest.raises(Refused, match="1 hồ sơ có nhật ký năm sau ghi trước"):
        await detach_before(db, before_year=2025, now=NOW)


async def test_migration_0033_converts_back_on_downgrade(converted: dict[str, Any]) -> None:
    """Issue 15 item 2: the downgrade turns the partitioned tables back into plain ones with the
    same rows (and the upgrade again into partitions)."""
    url = converted["url"]
    await asyncio.to_thread(migrate.downgrade, url, "0032")
    conn = await asyncpg.connect(pg_dsn(url))
    kinds = await conn.fetch(
        "SELECT relname, relkind::text FROM pg_class WHERE relname = ANY($1)", list(PARTITIONED)
    )
    await conn.close()
    assert {r["relname"]: r["relkind"] for r in kinds} == dict.fromkeys(PARTITIONED, "r")
    assert await dumps(pg_dsn(url)) == converted["before"]
    await asyncio.to_thread(migrate.upgrade, url, "0033")
    assert await dumps(pg_dsn(url)) == converted["before"]
    await asyncio.to_thread(migrate.upgrade, url)
