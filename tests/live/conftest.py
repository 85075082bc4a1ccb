"""Real app processes (uvicorn) on loopback, sharing the test session's PostgreSQL and S3.

Used where a rolled-back test transaction cannot stand in: live events need real commits,
and "another app process" must really be another process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from core import migrate
from devservers import find_free_port
from tests.conftest import JWT_SECRET, Servers, seed_demo_site

ROOT = Path(__file__).resolve().parents[2]


def start_app(
    servers: Servers, log: Path, database_url: str | None = None, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    port = find_free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url or servers.database_url,
        "S3_ENDPOINT": servers.s3.endpoint,
        "S3_ACCESS_KEY": servers.s3.access_key,
        "S3_SECRET_KEY": servers.s3.secret_key,
        "S3_BUCKET": servers.s3.bucket,
        "JWT_SECRET": JWT_SECRET,
        "LOAD_DEMO_DATA": "false",
        **(extra_env or {}),
    }
    with log.open("wb") as out:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # importing the app alone took 32 s on a loaded 2-core machine
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"app process exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"app process did not become ready: {log.read_text()[-2000:]}")


def stop(*processes: subprocess.Popen[bytes]) -> None:
    """SIGTERM to each, then up to 10 s for each to end, else SIGKILL."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def app_process(
    servers: Servers, log: Path, database_url: str | None = None, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """One app process (`start_app`) for the block; its base URL; stopped after."""
    process, base = start_app(servers, log, database_url, extra_env)
    try:
        yield base
    finally:
        stop(process)


@pytest.fixture(scope="session")
def app_processes(
    servers: Servers, demo_catalog: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[str]]:
    """Two app processes on two addresses, over the demo catalog; returns their base URLs."""
    logs = tmp_path_factory.mktemp("app-logs")
    started = [start_app(servers, logs / f"app-{i}.log") for i in range(2)]
    try:
        yield [base for _, base in started]
    finally:
        stop(*(process for process, _ in started))


@dataclass(frozen=True)
class LiveSite:
    """Two app processes over a database of their own (committed data stays there)."""

    database_url: str
    bases: list[str]


def site_database(servers: Servers, name: str) -> str:
    """A database of its own (dropped and created again), migrated and seeded with the demo site,
    for app processes started by a test: what they commit stays there. Returns its URL."""
    dsn = servers.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def recreate() -> None:
        conn = await asyncpg.connect(dsn)
        await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {name}")
        await conn.close()

    asyncio.run(recreate())
    url = servers.database_url.replace("/postgres?", f"/{name}?", 1)
    assert url != servers.database_url
    migrate.upgrade(url)

    async def seed() -> None:
        engine = create_async_engine(url)
        async with AsyncSession(engine) as session:
            await seed_demo_site(session)
        await engine.dispose()

    asyncio.run(seed())
    return url


@pytest.fixture(scope="module")
def live_site(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveSite]:
    url = site_database(servers, "live_check")
    logs = tmp_path_factory.mktemp("live-site-logs")
    started = [start_app(servers, logs / f"app-{i}.log", url) for i in range(2)]
    try:
        yield LiveSite(url, [base for _, base in started])
    finally:
        stop(*(process for process, _ in started))
