"""Lookups by code and by id stay index-only (issue 15 item 2): the statements the app runs for a
dossier's lookup by code, its read by id and its trail by dossier id, explained with ANALYZE on
the converted database, read through indexes.

PostgreSQL reads a table of a few pages whole rather than through an index (cheaper): the
empty partitions (next year's, the DEFAULT one) and the data set's first month. So the plan as
chosen must use an index on every partition beyond `SMALL` pages, and with sequential scans
priced out (`enable_seqscan = off`, which still plans one where no index can serve) it must use
an index on every partition — each one has the index the lookup needs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import asyncpg
from sqlalchemy import event, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from bench.dataset import pg_dsn
from models.dossiers import Dossier
from services.dossiers import queries

INDEX_SCANS = {"Index Scan", "Index Only Scan", "Bitmap Heap Scan"}
SMALL = 8  # pages: a partition this small may be read whole


def _scans(plan: dict[str, Any]) -> Iterator[tuple[str, str]]:
    if "Relation Name" in plan:
        yield plan["Node Type"], plan["Relation Name"]
    for child in plan.get("Plans", []):
        yield from _scans(child)


async def _explained(
    url: str, session: AsyncSession, work: Any, *, seqscan: bool
) -> list[list[tuple[str, str]]]:
    """Run `work(session)` capturing the statements it sends, then EXPLAIN ANALYZE each one."""
    sent: list[tuple[str, Any]] = []

    def capture(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    engine = session.bind.sync_engine  # type: ignore[union-attr]
    event.listen(engine, "before_cursor_execute", capture)
    try:
        await work(session)
    finally:
        event.remove(engine, "before_cursor_execute", capture)
    assert sent
    conn = await asyncpg.connect(pg_dsn(url))
    try:
        await conn.execute(f"SET enable_seqscan = {'on' if seqscan else 'off'}")
        plans = []
        for statement, parameters in sent:
            raw = await conn.fetchval(f"EXPLAIN (ANALYZE, FORMAT JSON) {statement}", *(parameters or ()))
            plans.append(list(_scans(json.loads(raw)[0]["Plan"])))
        return plans
    finally:
        await conn.close()


async def test_lookups_by_code_and_by_id_stay_index_only(converted: dict[str, Any], db: AsyncSession) -> None:
    """Issue 15 item 2: "Lookups by code and by id stay index-only" — a dossier's lookup by code,
    its read by id and its trail read by dossier id use index scans only, the trail's on every
    yearly partition (and the DEFAULT one), with no sequential scan anywhere."""
    await db.execute(text("ANALYZE"))  # the downgrade test may have rebuilt the tables
    await db.commit()
    dossier = await db.scalar(select(Dossier).order_by(Dossier.code).offset(7).limit(1))
    assert dossier is not None
    code, dossier_id = dossier.code, dossier.id
    assert code is not None
    db.expunge_all()

    async def by_code(session: AsyncSession) -> None:
        assert await queries.lookup(session, code) is not None

    async def by_id(session: AsyncSession) -> None:
        assert await session.get(Dossier, dossier_id) is not None

    async def trail(session: AsyncSession) -> None:
        assert len(await queries.trail_of(session, dossier_id)) > 1

    rows = await db.execute(text("SELECT relname, relpages FROM pg_class WHERE relkind = 'r'"))
    pages = {name: count for name, count in rows}
    partitions = set(
        await db.scalars(
            text(
                "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'dossier_events'::regclass"
            )
        )
    )
    assert sum(pages[p] > SMALL for p in partitions) >= 3  # the data set's three years
    for seqscan in (True, False):
        for work, table in ((by_code, "dossiers"), (by_id, "dossiers"), (trail, "dossier_events")):
            db.expunge_all()
            for scans in await _explained(converted["url"], db, work, seqscan=seqscan):
                assert {relation for _, relation in scans} == (
                    partitions if table == "dossier_events" else {table}
                )
                for kind, relation in scans:
                    if seqscan and pages[relation] <= SMALL:
                        continue
                    assert kind in INDEX_SCANS, (work.__name__, seqscan, scans)
