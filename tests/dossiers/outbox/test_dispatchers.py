"""The outbox under concurrency and at scale: two dispatchers never deliver the same dossier at
once, delivery rows are made only past the watermark, and the `dvc outbox` command."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest_asyncio
from sqlalchemy import select, text

from core import migrate
from core.db import make_engine, make_session_factory
from models.dossiers import Dossier, EventDelivery, SyncStatus
from services.outbox.delivery import deliver_once, ensure_deliveries
from tests.conftest import NOW, Servers
from tests.dossiers.outbox.support import PORTAL_AS_WEBHOOK, SECRET, Receiver, Stall, T, ids, later

# --- two dispatchers ------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def own_database(servers: Servers) -> AsyncIterator[str]:
    """A database of its own, with committed rows that two connections can fight over (the test
    transaction's rows are invisible to a second connection)."""
    admin = servers.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def on_server(statement: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    await on_server("DROP DATABASE IF EXISTS outbox_locks WITH (FORCE)")
    await on_server("CREATE DATABASE outbox_locks")
    url = servers.database_url.replace("/postgres?", "/outbox_locks?", 1)
    await asyncio.to_thread(migrate.upgrade, url)
    yield url
    await on_server("DROP DATABASE IF EXISTS outbox_locks WITH (FORCE)")


async def seed_dossier(conn: asyncpg.Connection, events: int) -> str:
    """A bare dossier and its events (foreign keys to the catalog skipped: replica mode)."""
    dossier = str(uuid.uuid4())
    await conn.execute(
        "INSERT INTO dossiers (id, procedure_id, procedure_version_id, applicant_name, channel,"
        " receiving_agency_id, status, payment_status, delivery_status, sync_status, lookup_secret,"
        " version, apologised, completion_requested) VALUES ($1, gen_random_uuid(), gen_random_uuid(),"
        " 'Nguyễn Văn A', 'ONLINE', gen_random_uuid(), 'SUBMITTED', 'NOT_REQUIRED', 'NOT_READY',"
        " 'PENDING', 's', 1, false, false)",
        uuid.UUID(dossier),
    )
    for i in range(events):
        await conn.execute(
            "INSERT INTO dossier_events (dossier_id, at, action, actor_label, to_status, prev_hash, hash)"
            " VALUES ($1, $2, 'FORWARD', 'x', 'IN_PROGRESS', $3, $4)",
            uuid.UUID(dossier),
            NOW,
            f"{i:064d}",
            f"{i + 1:064d}",
        )
    return dossier


async def test_two_dispatchers_never_deliver_the_same_dossier_at_once(
    own_database: str, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    conn = await asyncpg.connect(own_database.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute("SET session_replication_role = replica")
        first = await seed_dossier(conn, 3)
        second = await seed_dossier(conn, 2)
        await conn.execute(
            "INSERT INTO event_consumers (id, name, url, secret, active, created_at, kind)"
            " VALUES (gen_random_uuid(), 'portal', $1, $2, true, now(), 'NATIONAL_PORTAL')",
            receiver.url,
            SECRET,
        )
    finally:
        await conn.close()
    engine = make_engine(own_database, pool_size=2)
    factory = make_session_factory(engine)
    try:
        async with factory() as s:  # as run_dispatcher does: rows first, in a short transaction
            await ensure_deliveries(s)
            await s.commit()
        receiver.plan(first, Stall(1.5))  # the first dossier's first request takes a while
        async with factory() as one, factory() as two:
            busy = asyncio.create_task(deliver_once(one, http, now=T, batch=1, transports=PORTAL_AS_WEBHOOK))
            for _ in range(200):
                if receiver.of(first):
                    break
                await asyncio.sleep(0.01)
            # While the first dispatcher holds the first dossier, the second skips it, delivers the
            # other one, and does not wait.
            other = await deliver_once(two, http, now=T, batch=10, transports=PORTAL_AS_WEBHOOK)
            await two.commit()
            assert not busy.done()
            assert (other.dossiers, other.sent) == (1, 2)
            done = await busy
            await one.commit()
            assert (done.dossiers, done.sent) == (1, 3)
        async with factory() as s:
            again = await deliver_once(s, http, now=later(60), transports=PORTAL_AS_WEBHOOK)
            await s.commit()
            assert again.dossiers == 0
            synced = await s.scalars(select(Dossier.sync_status).where(Dossier.id.in_([first, second])))
            assert set(synced) == {SyncStatus.SYNCED}
    finally:
        await engine.dispose()
    assert len(ids(receiver.of(first))) == 3
    assert ids(receiver.of(first)) == sorted(set(ids(receiver.of(first))))
    assert len(ids(receiver.of(second))) == 2


# --- the command line -----------------------------------------------------------------------------


ROOT = Path(__file__).resolve().parents[3]


def test_the_outbox_command(servers: Servers, tmp_path: Path) -> None:
    """`dvc outbox` on a database of its own: the backlog, a replay, an unknown consumer, pausing,
    resuming and removing a consumer, one operation at a time."""
    dsn = servers.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def sql(statement: str, database: str = "outbox_cli") -> None:
        conn = await asyncpg.connect(dsn.replace("/postgres?", f"/{database}?", 1) if database else dsn)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(sql("DROP DATABASE IF EXISTS outbox_cli WITH (FORCE)", ""))
    asyncio.run(sql("CREATE DATABASE outbox_cli", ""))
    env = {
        **os.environ,
        "DATABASE_URL": servers.database_url.replace("/postgres?", "/outbox_cli?", 1),
        "S3_ENDPOINT": servers.s3.endpoint,
        "S3_ACCESS_KEY": servers.s3.access_key,
        "S3_SECRET_KEY": servers.s3.secret_key,
        "DATA_DIR": str(tmp_path / "var"),
        "JWT_SECRET": "cli-test-secret-0123456789abcdef0123456789",
    }

    def dvc(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli.main", "outbox", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    empty = dvc()
    assert empty.returncode == 0, empty.stderr
    asyncio.run(
        sql(
            "INSERT INTO event_consumers (id, name, url, secret, active, created_at) VALUES "
            f"('{uuid.uuid4()}', 'cong-quoc-gia', 'http://127.0.0.1:9/x', 's', true, now())"
        )
    )
    listed = dvc()
    assert listed.returncode == 0, listed.stderr
    assert "cong-quoc-gia" in listed.stdout
    replayed = dvc("--replay-consumer", "cong-quoc-gia", "--from-seq", "1")
    assert replayed.returncode == 0, replayed.stderr
    assert "cong-quoc-gia" in replayed.stdout
    unknown = dvc("--replay-consumer", "khong-co", "--from-seq", "1")
    assert unknown.returncode == 1
    half = dvc("--from-seq", "1")
    assert half.returncode == 2

    def active(listing: subprocess.CompletedProcess[str]) -> str:
        assert listing.returncode == 0, listing.stderr
        (row,) = [line for line in listing.stdout.splitlines() if line.startswith("cong-quoc-gia\t")]
        return row.split("\t")[1]

    assert active(dvc("--pause", "cong-quoc-gia")) == "no"
    assert active(dvc()) == "no"
    assert active(dvc("--resume", "cong-quoc-gia")) == "yes"
    assert dvc("--pause", "cong-quoc-gia", "--remove", "cong-quoc-gia").returncode == 2
    assert dvc("--remove", "khong-co").returncode == 1
    removed = dvc("--remove", "cong-quoc-gia")
    assert removed.returncode == 0, removed.stderr
    assert "Đã xoá cong-quoc-gia" in removed.stderr  # messages go to the console (stderr)
    assert "cong-quoc-gia\t" not in removed.stdout


async def test_delivery_rows_are_made_only_past_the_watermark_and_only_for_consumers(
    own_database: str,
) -> None:
    """Over millions of events the full scan takes seconds: with no active consumer nothing is
    scanned, and the dispatcher's watermark limits the scan to dossiers with newer events."""
    conn = await asyncpg.connect(own_database.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("DELETE FROM event_deliveries")
        await conn.execute("UPDATE event_consumers SET active = false")
        older = uuid.UUID(str(await seed_dossier(conn, 2)))
        mark = int(await conn.fetchval("SELECT max(seq) FROM dossier_events"))
        newer = uuid.UUID(str(await seed_dossier(conn, 1)))
    finally:
        await conn.close()
    engine = make_engine(own_database, pool_size=1)
    factory = make_session_factory(engine)
    try:
        async with factory() as s:
            assert await ensure_deliveries(s) == 0  # no active consumer
            await s.execute(
                text(
                    "INSERT INTO event_consumers (id, name, url, secret, active, created_at)"
                    " VALUES (gen_random_uuid(), 'watermark', 'http://127.0.0.1:9/', 'k', true, now())"
                )
            )
            assert await ensure_deliveries(s, after_seq=mark) == 1
            made = set(await s.scalars(select(EventDelivery.dossier_id)))
            assert newer in made
            assert older not in made
            await ensure_deliveries(s)  # the full pass catches the rest
            assert {older, newer} <= set(await s.scalars(select(EventDelivery.dossier_id)))
            await s.rollback()
    finally:
        await engine.dispose()
