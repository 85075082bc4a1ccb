"""The populated database the partition tests share (issue 15 item 2): at migration 0032,
filled with three years of dossiers (the benchmark's data set, hash-chained trails, facts and
month pre-aggregates), audit lines and outbox messages, then upgraded to 0033 — the dumps taken
before and after it — and on to the head."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import SYSTEM
from bench.dataset import load, pg_dsn
from bench.dataset_rows import Spec
from core import migrate
from core.db import make_engine, make_session_factory
from services.accounts.journal import RequestMeta, notification, security_event
from tests.conftest import NOW, Servers

SPEC = Spec(dossiers=600, seed=5, procedures=30, citizens=300, files=3)
DATABASE = "partitions_conversion"
# Every row of these, in a stable order, must be the same after the migration as before.
DUMPS = {
    "dossier_events": "SELECT * FROM dossier_events ORDER BY seq",
    "security_events": "SELECT * FROM security_events ORDER BY seq",
    "notification_outbox": "SELECT * FROM notification_outbox ORDER BY seq",
    "dossier_facts": "SELECT * FROM dossier_facts ORDER BY dossier_id",
    "dossier_fact_months": "SELECT * FROM dossier_fact_months m ORDER BY m::text",
}
# Audit lines and messages written on days of three years (two of them before this one).
DAYS = [datetime(2024, 3, 5, 1, tzinfo=UTC), datetime(2025, 12, 31, 17, 30, tzinfo=UTC), NOW]


async def dumps(dsn: str) -> dict[str, list[tuple[Any, ...]]]:
    conn = await asyncpg.connect(dsn)
    try:
        return {name: [tuple(r) for r in await conn.fetch(sql)] for name, sql in DUMPS.items()}
    finally:
        await conn.close()


async def _write_audit_and_messages(url: str) -> None:
    """Audit lines and outbox messages through the constructors the app uses, on each day."""
    engine = make_engine(url, pool_size=1)
    try:
        async with make_session_factory(engine)() as session:
            for n, day in enumerate(DAYS):
                session.add(
                    security_event("SIGN_IN", "SUCCESS", actor=SYSTEM, now=day, meta=RequestMeta("10.0.0.1"))
                )
                session.add(
                    notification(
                        account_id=None,
                        channel="EMAIL",
                        destination=f"dan{n}@example.vn",
                        template="t",
                        subject="s",
                        body="b",
                        now=day,
                    )
                )
            await session.commit()
    finally:
        await engine.dispose()


@pytest_asyncio.fixture(scope="package")
async def converted(servers: Servers) -> AsyncIterator[dict[str, Any]]:
    """A database at 0032 filled with three years of dossiers, audit and messages, then
    upgraded to 0033 (and the dumps taken before and after), then to the head."""
    admin = pg_dsn(servers.database_url)
    conn = await asyncpg.connect(admin)
    await conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    await conn.execute(f"CREATE DATABASE {DATABASE}")
    await conn.close()
    url = servers.database_url.replace("/postgres?", f"/{DATABASE}?", 1)
    await asyncio.to_thread(migrate.upgrade, url, "0032")
    await load(pg_dsn(url), SPEC, echo=False)
    await _write_audit_and_messages(url)
    before = await dumps(pg_dsn(url))
    await asyncio.to_thread(migrate.upgrade, url, "0033")
    after = await dumps(pg_dsn(url))
    await asyncio.to_thread(migrate.upgrade, url)  # and on to the head
    conn = await asyncpg.connect(pg_dsn(url))
    await conn.execute("ANALYZE")
    await conn.close()
    yield {"url": url, "before": before, "after": after}
    conn = await asyncpg.connect(admin)
    await conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    await conn.close()


@pytest_asyncio.fixture
async def db(converted: dict[str, Any]) -> AsyncIterator[AsyncSession]:
    """A session on the converted database whose writes are rolled back at the end."""
    engine = make_engine(converted["url"], pool_size=1)
    async with make_session_factory(engine)() as session:
        yield session
        await session.rollback()
    await engine.dispose()
