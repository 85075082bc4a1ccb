"""A primary and one real streaming replica of it, for this package only (module scope): its
own embedded PostgreSQL, migrated and seeded with the demo catalog, then `pg_basebackup -R` and
a hot standby (devservers.postgres.start_replica). Unlike the rest of the suite, the app here
commits for real (a replica only sees what the primary committed), so nothing here touches the
session's database."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app import create_app
from core import migrate
from core.db import ReadsPool, make_engine, make_session_factory
from core.replicas import ReadReplicas
from core.settings import Settings
from devservers import EmbeddedPostgres, EmbeddedReplica, start_postgres, start_replica
from tests.conftest import JWT_SECRET, app_runtime, seed_demo_site
from web.runtime import Runtime

MAX_LAG_SECONDS = 1.5


@dataclass(frozen=True)
class Cluster:
    primary: EmbeddedPostgres
    replica: EmbeddedReplica


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    with tempfile.TemporaryDirectory(prefix="dvc-replica-") as tmp:
        primary = start_postgres(Path(tmp) / "primary")
        try:
            migrate.upgrade(primary.database_url)
            replica = start_replica(primary, Path(tmp) / "standby")
            try:
                yield Cluster(primary, replica)
            finally:
                replica.stop()
        finally:
            primary.stop()


class Checkouts:
    """Connections taken from one engine's pool (whatever runs on them: ORM, autocommit, raw)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.count = 0
        event.listen(engine.sync_engine.pool, "checkout", self._taken)

    def _taken(self, *_args: object) -> None:
        self.count += 1


@dataclass
class Scene:
    runtime: Runtime
    replicas: ReadReplicas
    primary: AsyncEngine
    on_replica: Checkouts
    on_primary: Checkouts


@pytest_asyncio.fixture(scope="module")
async def scene(cluster: Cluster) -> AsyncIterator[Scene]:
    settings = Settings(
        database_url=cluster.primary.database_url,
        database_read_urls=cluster.replica.database_url,
        database_read_max_lag_seconds=MAX_LAG_SECONDS,
        database_read_check_seconds=0.2,
        jwt_secret=JWT_SECRET,
        load_demo_data=False,
    )
    primary = make_engine(cluster.primary.database_url, pool_size=5)
    async with AsyncSession(primary) as session:
        await seed_demo_site(session)
    await caught_up(cluster)
    replicas = ReadReplicas.from_urls(
        [cluster.replica.database_url],
        pool_size=5,
        max_lag_seconds=settings.database_read_max_lag_seconds,
        check_seconds=settings.database_read_check_seconds,
        own_writes_seconds=settings.database_read_own_writes_seconds,
    )
    runtime = app_runtime(settings, make_session_factory(primary), None, engine=primary, replicas=replicas)
    runtime.reads = ReadsPool(cluster.primary.database_url, size=2)  # the compiled reads, as in production
    yield Scene(runtime, replicas, primary, Checkouts(replicas.replicas[0].engine), Checkouts(primary))
    await runtime.reads.close()
    await replicas.close()
    await primary.dispose()


def client_at(scene: Scene, address: str) -> httpx.AsyncClient:
    """A client of the app whose requests come from `address` (the caller of anonymous reads)."""
    transport = httpx.ASGITransport(app=create_app(scene.runtime), client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://test")


async def caught_up(cluster: Cluster, within: float = 10.0) -> None:
    """Wait until the standby has replayed everything the primary has written so far."""
    primary = await asyncpg.connect(cluster.primary.dsn)
    try:
        target = await primary.fetchval("SELECT pg_current_wal_lsn()::text")
    finally:
        await primary.close()
    query = f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"
    async with asyncio.timeout(within):
        while True:  # polling another server: nothing to wait on here
            if await on_standby(cluster, query):
                return
            await asyncio.sleep(0.05)


async def commit_now(cluster: Cluster) -> None:
    """A transaction with an id committed on the primary now (the standby's replay timestamp)."""
    primary = await asyncpg.connect(cluster.primary.dsn)
    try:
        await primary.fetchval("SELECT pg_current_xact_id()::text")
    finally:
        await primary.close()


async def on_standby(cluster: Cluster, statement: str) -> object:
    """One statement on the standby, as its superuser (pause and resume the replay)."""
    connection = await asyncpg.connect(cluster.replica.dsn)
    try:
        return await connection.fetchval(statement)
    finally:
        await connection.close()
