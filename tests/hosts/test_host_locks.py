"""What N hosts run at the same time (issue 15 item 5, "N app hosts"): every host migrates at start
and may run the daily jobs' timer, so these take PostgreSQL advisory locks — one host does the
work, the others wait (migrations) or skip (jobs); the signature update is each host's own."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest
from alembic.script import ScriptDirectory

from core import migrate
from core.settings import Settings
from devservers import EmbeddedClamd
from tests.conftest import JWT_SECRET, Servers
from web.workers import SIGNATURES_LOCK, signatures_place

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
MIGRATION_LOCK = 4242010  # migrations/env.py
JOBS_LOCK, FILES_LOCK = 4242001, 4242004  # web/workers.py


def empty_database(servers: Servers, name: str) -> tuple[str, str]:
    """A new empty database of the session's PostgreSQL: its SQLAlchemy URL and its asyncpg DSN."""
    dsn = servers.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def recreate() -> None:
        conn = await asyncpg.connect(dsn)
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {name}")
        await conn.close()

    asyncio.run(recreate())
    url = servers.database_url.replace("/postgres?", f"/{name}?", 1)
    return url, dsn.replace("/postgres?", f"/{name}?", 1)


def test_hosts_starting_together_migrate_one_at_a_time(servers: Servers) -> None:
    """Two hosts migrating an empty database at once (each `dvc serve` and dvc-migrate.service
    migrates at start): both wait on the migration lock while another holds it, then each in
    turn finds what is left — both succeed and every migration is applied once."""
    url, dsn = empty_database(servers, "hosts_migrate")

    async def scenario() -> str:
        holder = await asyncpg.connect(dsn)
        await holder.execute(f"SELECT pg_advisory_lock({MIGRATION_LOCK})")
        code = "import sys; from core import migrate; migrate.upgrade(sys.argv[1])"
        hosts = [
            await asyncio.create_subprocess_exec(
                sys.executable, "-c", code, url, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
            )
            for _ in range(2)
        ]
        try:
            deadline = time.monotonic() + 180  # the interpreter's start and imports, on a loaded machine
            waiting = 0
            while waiting < 2:
                assert time.monotonic() < deadline, "the two hosts never waited on the migration lock"
                for host in hosts:
                    if host.returncode is not None:
                        output = (await host.communicate())[0]
                        pytest.fail(
                            f"a host ended before the lock was free: {output.decode(errors='replace')[-3000:]}"
                        )
                waiting = await holder.fetchval(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = $1 AND NOT granted",
                    MIGRATION_LOCK,
                )
                await asyncio.sleep(0.2)
            await holder.execute(f"SELECT pg_advisory_unlock({MIGRATION_LOCK})")
            for host in hosts:
                output = (await asyncio.wait_for(host.communicate(), timeout=300))[0]
                assert host.returncode == 0, output.decode(errors="replace")[-3000:]
            version: str = await holder.fetchval("SELECT version_num FROM alembic_version")
            assert await holder.fetchval("SELECT count(*) FROM alembic_version") == 1
            return version
        finally:
            for host in hosts:
                if host.returncode is None:
                    host.kill()
                    await host.wait()
            await holder.close()

    head = ScriptDirectory.from_config(migrate.alembic_config(url)).get_current_head()
    assert asyncio.run(scenario()) == head


def test_run_jobs_on_another_host_skips_the_jobs_one_host_is_running(
    servers: Servers, clamd: EmbeddedClamd, tmp_path: Path
) -> None:
    """`dvc run-jobs` (dvc-jobs.timer, on every host) takes the advisory locks of the app
    processes' jobs loop: while another process holds them, it skips the inactivity rule, the
    abandoned uploads and the file check (never two runs at once) and still ends well."""
    url, dsn = empty_database(servers, "hosts_jobs")
    migrate.upgrade(url)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "S3_ENDPOINT": servers.s3.endpoint,
        "S3_ACCESS_KEY": servers.s3.access_key,
        "S3_SECRET_KEY": servers.s3.secret_key,
        "S3_BUCKET": servers.s3.bucket,
        "CLAMD_SOCKET": str(clamd.socket_path),
        "DATA_DIR": str(tmp_path / "var"),
        "JWT_SECRET": JWT_SECRET,
    }

    async def held() -> subprocess.CompletedProcess[str]:
        holder = await asyncpg.connect(dsn)
        try:
            await holder.execute(f"SELECT pg_advisory_lock({JOBS_LOCK}), pg_advisory_lock({FILES_LOCK})")
            command = [sys.executable, "-m", "cli.main", "run-jobs"]
            return await asyncio.to_thread(
                subprocess.run, command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
            )
        finally:
            await holder.close()

    skipped = asyncio.run(held())
    assert skipped.returncode == 0, skipped.stderr
    said = " ".join(skipped.stderr.split())  # the console wraps long lines
    assert said.count("another process holds its lock") == 2, said
    free = subprocess.run(  # noqa: PLW1510 — the exit code is asserted
        [sys.executable, "-m", "cli.main", "run-jobs"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert free.returncode == 0, free.stderr
    said = " ".join(free.stderr.split())
    assert "another process holds its lock" not in said
    assert "cảnh báo 0 tài khoản, khoá 0 tài khoản" in said


async def test_each_host_updates_the_signatures_of_its_own_clamd(servers: Servers, tmp_path: Path) -> None:
    """The ClamAV signature update (CLAMAV_MIRROR_URL) writes the folder the host's own clamd
    reads, so its lock is per host and folder: a process updating one DATA_DIR's signatures makes
    another process on that folder skip its run, never a host with a folder of its own."""
    dsn = servers.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    here = Settings(data_dir=tmp_path / "host-a", jwt_secret=JWT_SECRET)
    there = Settings(data_dir=tmp_path / "host-b", jwt_secret=JWT_SECRET)
    statement = SIGNATURES_LOCK.text.replace(":place", "$1")
    first, second = await asyncpg.connect(dsn), await asyncpg.connect(dsn)
    try:
        async with first.transaction():
            assert await first.fetchval(statement, signatures_place(here))
            async with second.transaction():
                assert not await second.fetchval(statement, signatures_place(here))  # the same folder: skip
                assert await second.fetchval(statement, signatures_place(there))  # its own folder: update
    finally:
        await first.close()
        await second.close()
