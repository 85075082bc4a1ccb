"""Partitions by time (issue 15 item 2): yearly partitions created ahead, listed, and old ones
detached for the archive (core.partitions names the tables; migration 0033 made them).

`ensure_partitions` runs with the daily jobs (`dvc run-jobs`) and at start after the migrations:
it creates every missing yearly partition from this year to `ahead_years` later, and one for
every year that has rows waiting in the DEFAULT partition — those rows move into it in the same
transaction, so creating a partition never fails on them. `detach_before` detaches the yearly
partitions before a year from their parent and renames them `<partition>_detached`: plain tables
the archive takes away, no longer seen through the parent.

The table and partition names put into the statements come from core.partitions and the
catalog (pg_class), never from a caller.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import String, any_, bindparam, literal_column, select, text
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from core.partitions import PARTITIONED, ZONE, detached_name, partition_name, partition_year, year_start
from models.dossiers import DossierEvent, DossierTrailAnchor
from services.dossiers import trail
from services.errors import Refused

LOCK_TIMEOUT = "10s"  # a partition change waits this long for the parent's lock, then fails
ADVISORY_LOCK = 0x7061727469  # one `ensure_partitions` at a time ("parti")


@dataclass(frozen=True)
class Partition:
    table: str
    name: str
    year: int | None  # None: the DEFAULT partition
    bounds: str  # as PostgreSQL prints them: FOR VALUES FROM (…) TO (…) / DEFAULT
    rows_estimate: int  # pg_class.reltuples (after ANALYZE / autovacuum); -1: never counted


async def list_partitions(session: AsyncSession, table: str | None = None) -> list[Partition]:
    """Every partition attached to the partitioned tables (or to `table`), by table and year."""
    rows = await session.execute(
        text(
            "SELECT p.relname, c.relname, pg_get_expr(c.relpartbound, c.oid), c.reltuples::bigint"
            " FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " JOIN pg_class p ON p.oid = i.inhparent"
            " WHERE p.relname = ANY(:tables) AND p.relnamespace = 'public'::regnamespace"
        ),
        {"tables": [table] if table else list(PARTITIONED)},
    )
    found = []
    for parent, name, bounds, estimate in rows:
        named = partition_year(name)
        found.append(Partition(parent, name, named[1] if named else None, bounds, int(estimate)))
    return sorted(found, key=lambda p: (p.table, p.year is None, p.year or 0, p.name))


async def default_rows(session: AsyncSession) -> dict[str, int]:
    """The rows waiting in each DEFAULT partition (exact): none once `ensure_partitions` ran."""
    counts = {}
    for table in await partitioned_tables(session):
        default = partition_name(table, None)
        counts[table] = int(await session.scalar(text(f"SELECT count(*) FROM {default}")) or 0)  # noqa: S608
    return counts


def local_year(moment: datetime) -> int:
    return moment.astimezone(ZONE).year


async def partitioned_tables(session: AsyncSession) -> list[str]:
    """The tables of core.partitions.PARTITIONED that are partitioned in this database (all of
    them from migration 0033 on)."""
    rows = await session.scalars(
        text(
            "SELECT c.relname FROM pg_partitioned_table t JOIN pg_class c ON c.oid = t.partrelid"
            " WHERE c.relname = ANY(:tables) AND c.relnamespace = 'public'::regnamespace"
        ),
        {"tables": list(PARTITIONED)},
    )
    return sorted(rows)


async def ensure_partitions(
    session: AsyncSession, *, now: datetime, ahead_years: int = 1, years: Iterable[int] = ()
) -> list[str]:
    """Create the missing yearly partitions from `now`'s year to `ahead_years` after it, those of
    `years` (a bulk load's span), and those the DEFAULT partition's rows need (moving the rows
    in). Idempotent; returns the names created. Does nothing before migration 0033."""
    await session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    # Two app processes starting together: the second waits here, then finds the partitions made.
    await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK})
    this_year = local_year(now)
    wanted = set(range(this_year, this_year + ahead_years + 1)) | set(years)
    created = []
    for table in await partitioned_tables(session):
        key = PARTITIONED[table]
        existing = {p.year for p in await list_partitions(session, table) if p.year is not None}
        waiting = await _default_years(session, table, key)
        for year in sorted((wanted | waiting) - existing):
            await _create(session, table, key, year, move=year in waiting)
            created.append(partition_name(table, year))
    return created


async def _default_years(session: AsyncSession, table: str, key: str) -> set[int]:
    rows = await session.scalars(
        text(
            f"SELECT DISTINCT extract(year FROM {key} AT TIME ZONE 'Asia/Ho_Chi_Minh')::int"  # noqa: S608
            f" FROM {partition_name(table, None)}"
        )
    )
    return set(rows)


async def _create(session: AsyncSession, table: str, key: str, year: int, *, move: bool) -> None:
    """One yearly partition. With rows of that year in the DEFAULT partition, PostgreSQL would
    refuse to create it: the default is detached, the rows go into the new table (a plain one,
    attached after, so no trigger sees them again), and both are attached."""
    name, default = partition_name(table, year), partition_name(table, None)
    bounds = f"FOR VALUES FROM ('{year_start(year).isoformat()}') TO ('{year_start(year + 1).isoformat()}')"
    if not move:
        await session.execute(text(f"CREATE TABLE {name} PARTITION OF {table} {bounds}"))
        return
    in_year = f"{key} >= '{year_start(year).isoformat()}' AND {key} < '{year_start(year + 1).isoformat()}'"
    for statement in (
        f"ALTER TABLE {table} DETACH PARTITION {default}",
        f"CREATE TABLE {name} (LIKE {table} INCLUDING DEFAULTS INCLUDING STORAGE INCLUDING COMPRESSION)",
        f"INSERT INTO {name} SELECT * FROM {default} WHERE {in_year} ORDER BY {key}",  # noqa: S608
        f"DELETE FROM {default} WHERE {in_year}",  # noqa: S608
        f"ALTER TABLE {table} ATTACH PARTITION {name} {bounds}",
        f"ALTER TABLE {table} ATTACH PARTITION {default} DEFAULT",
    ):
        await session.execute(text(statement))


async def detach_before(session: AsyncSession, *, before_year: int, now: datetime) -> list[str]:
    """Detach every yearly partition of a year before `before_year`, leaving it as a plain table
    `<partition>_detached` for the archive. Never this year's or last year's; never a trail year
    with an event of a dossier not archived yet, nor of the message outbox with a message still
    to send. The trails that lose their first events keep an anchor (`DossierTrailAnchor`) from
    which their check goes on. Returns the tables detached."""
    this_year = local_year(now)
    if before_year > this_year - 1:
        raise Refused(
            "PARTITION_TOO_RECENT",
            f"Không tách được phân vùng của năm {this_year - 1} trở về sau"
            f" (chỉ tách các năm trước năm {this_year - 1}).",
        )
    await session.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'"))
    chosen = [p for p in await list_partitions(session) if p.year is not None and p.year < before_year]
    trail_years = [p.name for p in chosen if p.table == "dossier_events"]
    blocked = [f"{p.name}: {reason}" for p in chosen if (reason := await _unsent(session, p))]
    if trail_years and (reason := await _trail_still_needed(session, trail_years)):
        blocked.append(f"{', '.join(trail_years)}: {reason}")
    if blocked:
        raise Refused("PARTITION_STILL_NEEDED", "Chưa tách được: " + "; ".join(blocked))
    if trail_years:
        await _anchor_trails(session, trail_years)
    for p in chosen:
        assert p.year is not None
        await session.execute(text(f"ALTER TABLE {p.table} DETACH PARTITION {p.name}"))
        await session.execute(text(f"ALTER TABLE {p.name} RENAME TO {detached_name(p.table, p.year)}"))
    return [detached_name(p.table, p.year) for p in chosen if p.year is not None]


async def _unsent(session: AsyncSession, partition: Partition) -> str | None:
    if partition.table != "notification_outbox":
        return None
    pending = await session.scalar(
        text(f"SELECT count(*) FROM {partition.name} WHERE sent_at IS NULL AND attempts < 10")  # noqa: S608
    )
    return f"{pending} tin nhắn chưa gửi" if pending else None


async def _trail_still_needed(session: AsyncSession, names: list[str]) -> str | None:
    """A dossier of these years not archived yet; or one whose events in them are not the first
    ones of its chain (an event of a later year came before one of these — a backdated clock)."""
    open_dossiers = await session.scalar(
        text(
            "SELECT count(DISTINCT e.dossier_id) FROM dossier_events e JOIN dossiers d ON d.id = e.dossier_id"
            " WHERE e.tableoid::regclass::text = ANY(:names) AND d.archived_at IS NULL"
        ),
        {"names": names},
    )
    if open_dossiers:
        return f"{open_dossiers} hồ sơ chưa lưu trữ"
    out_of_order = await session.scalar(
        text(
            "SELECT count(DISTINCT e.dossier_id) FROM dossier_events e JOIN dossier_events l"
            " ON l.dossier_id = e.dossier_id AND l.seq < e.seq WHERE e.tableoid::regclass::text = ANY(:names)"
            " AND NOT l.tableoid::regclass::text = ANY(:names)"
        ),
        {"names": names},
    )
    return f"{out_of_order} hồ sơ có nhật ký năm sau ghi trước" if out_of_order else None


async def _anchor_trails(session: AsyncSession, names: list[str]) -> None:
    """Check the chain of the events about to leave (from the dossier's anchor, if an earlier
    detach left one) and keep where each dossier's chain goes on; a broken chain refuses."""
    where: ColumnElement[str] = literal_column("dossier_events.tableoid::regclass::text")
    rows = await session.stream(
        select(DossierEvent, where, DossierTrailAnchor.hash, DossierTrailAnchor.events)
        .outerjoin(DossierTrailAnchor, DossierTrailAnchor.dossier_id == DossierEvent.dossier_id)
        .where(where == any_(bindparam("names", names, type_=ARRAY(String()))))
        .order_by(DossierEvent.dossier_id, DossierEvent.seq)
        .execution_options(yield_per=2_000)
    )
    anchors: list[dict[str, Any]] = []
    broken: list[str] = []
    group: list[DossierEvent] = []
    current: dict[str, Any] = {}
    async for event, table, start, before in rows:
        if group and event.dossier_id != group[0].dossier_id:
            _close(group, current, anchors, broken)
            group = []
        if not group:
            current = {"start": start or trail.GENESIS, "before": before or 0}
        group.append(event)
        current["into"] = table
    if group:
        _close(group, current, anchors, broken)
    if broken:
        raise Refused("TRAIL_BROKEN", f"Chuỗi nhật ký hỏng, không tách: {', '.join(broken[:10])}")
    for at in range(0, len(anchors), 1_000):
        upsert = insert(DossierTrailAnchor).values(anchors[at : at + 1_000])
        await session.execute(
            upsert.on_conflict_do_update(
                index_elements=[DossierTrailAnchor.dossier_id],
                set_={
                    "seq": upsert.excluded.seq,
                    "hash": upsert.excluded.hash,
                    "events": DossierTrailAnchor.events + upsert.excluded.events,
                    "detached_into": upsert.excluded.detached_into,
                },
            )
        )


def _close(
    group: list[DossierEvent], current: dict[str, Any], anchors: list[dict[str, Any]], broken: list[str]
) -> None:
    check = trail.verify(group, None, start=current["start"], before=current["before"])
    if not check.valid:
        broken.append(str(group[0].dossier_id))
        return
    anchors.append(
        {
            "dossier_id": group[0].dossier_id,
            "seq": group[-1].seq,
            "hash": check.head,
            "events": len(group),
            "detached_into": detached_name("dossier_events", int(current["into"].rsplit("_y", 1)[1])),
        }
    )
