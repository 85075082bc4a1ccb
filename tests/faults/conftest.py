"""Fault tests: a private PostgreSQL, a private SeaweedFS, a private clamd and real app processes
(uvicorn) that the tests stop, kill and start again.

Nothing here is shared with the rest of the suite: killing this PostgreSQL or this object store
must not disturb anything else. Marked `faults` (skipped by the default `make test`); run them
with `make test-faults`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine

from core import migrate
from devservers import (
    EmbeddedClamd,
    EmbeddedPostgres,
    EmbeddedS3,
    clamd_binary,
    find_free_port,
    start_clamd,
    start_postgres,
    start_s3,
)
from models.catalog import Procedure, ProcedureComponent
from services.files import store_bytes
from storage.s3 import ObjectStore, S3Config
from tests.catalog.factories import CREATE, PUBLISH, procedure_input
from tests.conftest import ADMIN_TOKEN, JWT_SECRET, NOW, seed_demo_site
from tests.dossiers.helpers import PDF, long_token

ROOT = Path(__file__).resolve().parents[2]
BUCKET = "dvc-faults"


def record(name: str, figures: dict[str, Any]) -> None:
    """Keep a run's figures (tests/artifacts/faults-<name>.json, git-ignored) and print them."""
    out = ROOT / "tests" / "artifacts"
    out.mkdir(exist_ok=True)
    (out / f"faults-{name}.json").write_text(json.dumps(figures, indent=2, ensure_ascii=False))
    print(f"\n{name}: {json.dumps(figures, ensure_ascii=False)}")


class AppProcess:
    """One uvicorn process of the app; `kill()` is SIGKILL, `stop()` a clean SIGTERM."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = find_free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("ab") as out:  # the child keeps its own copy of the descriptor
            self.process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(self.port)],
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"app process exited: {log.read_text()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        self.process.kill()
        raise RuntimeError(f"app process did not become ready: {log.read_text()[-3000:]}")

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass
class Site:
    """The private servers, the seeded world, and the app processes started on them."""

    root: Path
    pg: EmbeddedPostgres
    s3: EmbeddedS3
    clamd: EmbeddedClamd
    tokens: dict[str, str] = field(default_factory=dict)
    components: dict[str, str] = field(default_factory=dict)
    citizen_id: uuid.UUID | None = None
    apps: list[AppProcess] = field(default_factory=list)

    @property
    def database_url(self) -> str:
        return self.pg.database_url

    @property
    def s3_config(self) -> S3Config:
        return S3Config(self.s3.endpoint, self.s3.access_key, self.s3.secret_key, BUCKET)

    def env(self, **extra: str) -> dict[str, str]:
        return {
            **os.environ,
            "DATABASE_URL": self.database_url,
            "S3_ENDPOINT": self.s3.endpoint,
            "S3_ACCESS_KEY": self.s3.access_key,
            "S3_SECRET_KEY": self.s3.secret_key,
            "S3_BUCKET": BUCKET,
            "CLAMD_SOCKET": str(self.clamd.socket_path),
            "JWT_SECRET": JWT_SECRET,
            "LOAD_DEMO_DATA": "false",
            "JOBS_INTERVAL_MINUTES": "0",
            **extra,
        }

    def start_app(self, name: str, **extra: str) -> AppProcess:
        app = AppProcess(self.env(**extra), self.root / f"{name}.log")
        self.apps.append(app)
        return app

    def stop_postgres(self) -> None:
        """`pg_ctl stop -m fast`: every connection is cut."""
        self.pg.stop()

    def start_postgres_again(self) -> None:
        """The same data folder (and so the same socket) again."""
        self.pg = start_postgres(self.pg.data_dir)

    def stop_s3(self) -> None:
        self.s3.stop()

    def start_s3_again(self) -> None:
        """The same folder, keys and ports (kept in ports.json) again."""
        endpoint = self.s3.endpoint
        self.s3 = start_s3(self.s3.data_dir)
        assert self.s3.endpoint == endpoint, "the object store came back on another port"

    def engine(self) -> AsyncEngine:
        return create_async_engine(self.database_url)

    def store(self) -> ObjectStore:
        return ObjectStore(self.s3_config)

    async def new_files(self, count: int) -> list[str]:
        """Clean PDFs owned by the citizen, already READY (as after a completed upload)."""
        engine = self.engine()
        ids = []
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session:
                for i in range(count):
                    row = await store_bytes(
                        session,
                        self.store(),
                        owner_id=self.citizen_id,
                        filename=f"to-khai-{i}.pdf",
                        content_type="application/pdf",
                        data=PDF,
                        now=NOW,
                    )
                    ids.append(str(row.id))
                await session.commit()
        finally:
            await engine.dispose()
        return ids


async def gql(
    base: str,
    token: str | None,
    query: str,
    variables: dict[str, Any] | None = None,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _seed(site: Site, base: str) -> None:
    from tests.accounts.helpers import add_citizen, make_staff

    engine = site.engine()
    async with AsyncSession(engine, expire_on_commit=False) as session:
        await seed_demo_site(session)
    saved = await gql(base, ADMIN_TOKEN, CREATE, {"input": procedure_input()})
    assert saved["data"]["procedureCreate"]["__typename"] == "ProcedureSaved", saved
    await gql(base, ADMIN_TOKEN, PUBLISH, {"code": "9.999001", "number": "1/QĐ-UBND", "date": "2026-11-01"})
    async with AsyncSession(engine, expire_on_commit=False) as session:
        citizen = await add_citizen(session, "Nguyễn Thị Lan", "025190000001", "lan@example.vn")
        site.citizen_id = citizen.id
        site.tokens["citizen"] = long_token(citizen.id)
        site.tokens["admin"] = ADMIN_TOKEN
        for name, email, role, agency in (
            ("reception", "motcua@phutho.gov.vn", "RECEPTION_OFFICER", "H44.99"),
            ("specialist", "chuyenvien@phutho.gov.vn", "SPECIALIST", "H44.19"),
        ):
            staff_id, _ = await make_staff(session, email, (role, agency, False))
            site.tokens[name] = long_token(staff_id)
        procedure = await session.scalar(select(Procedure).where(Procedure.code == "9.999001"))
        assert procedure is not None
        site.components = {
            c.name: str(c.id)
            for c in await session.scalars(
                select(ProcedureComponent).where(
                    ProcedureComponent.version_id == procedure.published_version_id
                )
            )
        }
        await session.commit()
    await engine.dispose()


@pytest.fixture(scope="session")
def fault_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    """Private PostgreSQL, SeaweedFS and clamd, migrated and seeded; app processes are per test."""
    root = tmp_path_factory.mktemp("faults")
    if clamd_binary() is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "install-clamav.sh")], check=True)
    pg = start_postgres(root / "pg")
    s3: EmbeddedS3 | None = None
    clamd: EmbeddedClamd | None = None
    site: Site | None = None
    try:
        s3 = start_s3(root / "s3")
        clamd = start_clamd(root / "clamd", signatures=ROOT / "assets" / "clamav")
        migrate.upgrade(pg.database_url)
        site = Site(root, pg, s3, clamd)
        seeder = site.start_app("seed")
        try:
            asyncio.run(_seed(site, seeder.base))
        finally:
            seeder.stop()
        yield site
    finally:
        if site is not None:
            for app in site.apps:
                app.stop()
            pg = site.pg
            s3 = site.s3
        if clamd is not None:
            clamd.stop()
        if s3 is not None:
            s3.stop()
        pg.stop()


@pytest_asyncio.fixture
async def site(fault_site: Site) -> AsyncIterator[Site]:
    """The shared private site; every app process a test started is stopped at its end."""
    yield fault_site
    for app in fault_site.apps:
        app.stop()
    fault_site.apps.clear()
