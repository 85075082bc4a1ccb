"""Two app hosts (issue 15 item 5): one PostgreSQL primary with a real streaming replica, one S3
store, one clamd, and two `dvc serve` processes on two ports, each with a DATA_DIR of its own (as
two machines have two disks) and the same DATABASE_URL (the primary), DATABASE_READ_URLS (the
replica), S3 settings and secrets.

The primary and its standby are this module's own (`devservers.start_postgres`, then
`pg_basebackup -R` by `start_replica`); the object store and clamd are the session's (the
project's embedded SeaweedFS and Debian's clamd, as tests/deploy uses them). What the processes
commit stays in this primary.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from core import migrate
from devservers import (
    EmbeddedClamd,
    EmbeddedPostgres,
    EmbeddedReplica,
    find_free_port,
    start_postgres,
    start_replica,
)
from models.catalog import Procedure, ProcedureComponent
from services.files import store_bytes
from storage.s3 import ObjectStore
from tests.catalog.factories import CREATE, PUBLISH, procedure_input
from tests.conftest import ADMIN_TOKEN, JWT_SECRET, NOW, Servers, seed_demo_site
from tests.deploy.conftest import start_serve, stop
from tests.dossiers.helpers import PDF, long_token
from tests.replica.conftest import Cluster, caught_up

LOOKUP_LIMIT = 8  # LOOKUP_RATE_LIMIT of both hosts: the shared limit the rate-limit test reaches
MAX_LAG_SECONDS = 60  # DATABASE_READ_MAX_LAG_SECONDS: a paused standby stays in use for the tests
OWN_WRITES_SECONDS = 5  # DATABASE_READ_OWN_WRITES_SECONDS: a caller reads the primary after a write
# READY files owned by the citizen, for the dossiers the tests create: the outbox-order test alone
# may walk four rounds of three dossiers at three files each (36); the other tests take a dozen.
FILES = 64


@dataclass
class Hosts:
    """The servers, the two hosts' base URLs and DATA_DIRs, and the seeded world."""

    primary: EmbeddedPostgres
    replica: EmbeddedReplica
    store: ObjectStore
    bases: tuple[str, str]
    data_dirs: tuple[Path, Path]
    logs: tuple[Path, Path]
    tokens: dict[str, str] = field(default_factory=dict)
    components: dict[str, str] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)

    @property
    def cluster(self) -> Cluster:
        return Cluster(self.primary, self.replica)

    def file(self) -> str:
        """A READY file of the citizen not used before."""
        return self.files.pop()


def host_env(
    servers: Servers, clamd: EmbeddedClamd, primary: str, replica: str, data_dir: Path
) -> dict[str, str]:
    """What one host's /etc/dvc/dvc.env would hold; only DATA_DIR differs between the two."""
    inherited = {
        k: v for k, v in os.environ.items() if k not in {"PUBLIC_BASE_URL", "TRUSTED_PROXIES", "ENVIRONMENT"}
    }
    return {
        **inherited,
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": primary,
        "DATABASE_READ_URLS": replica,
        "DATABASE_READ_MAX_LAG_SECONDS": str(MAX_LAG_SECONDS),
        "DATABASE_READ_CHECK_SECONDS": "0.2",
        "DATABASE_READ_OWN_WRITES_SECONDS": str(OWN_WRITES_SECONDS),
        "S3_ENDPOINT": servers.s3.endpoint,
        "S3_ACCESS_KEY": servers.s3.access_key,
        "S3_SECRET_KEY": servers.s3.secret_key,
        "S3_BUCKET": servers.s3.bucket,
        "CLAMD_SOCKET": str(clamd.socket_path),
        "JWT_SECRET": JWT_SECRET,
        "LOAD_DEMO_DATA": "false",
        "JOBS_INTERVAL_MINUTES": "0",
        "LOOKUP_RATE_LIMIT": str(LOOKUP_LIMIT),
    }


async def gql(
    base: str, token: str | None, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    """One GraphQL request to one host; the whole body (data and errors)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        response = await client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _seed(hosts: Hosts) -> None:
    """The demo catalog and admin, the factory procedure published through host A, a verified
    citizen, staff of every role the dossier path needs, and READY files."""
    from tests.accounts.helpers import add_citizen, make_staff

    engine = create_async_engine(hosts.primary.database_url)
    try:
        saved = await gql(hosts.bases[0], ADMIN_TOKEN, CREATE, {"input": procedure_input()})
        assert saved["data"]["procedureCreate"]["__typename"] == "ProcedureSaved", saved
        published = await gql(
            hosts.bases[0],
            ADMIN_TOKEN,
            PUBLISH,
            {"code": "9.999001", "number": "1/QĐ-UBND", "date": "2026-11-01"},
        )
        assert "errors" not in published, published
        async with AsyncSession(engine, expire_on_commit=False) as session:
            citizen = await add_citizen(session, "Nguyễn Thị Lan", "025190000001", "lan@example.vn")
            hosts.tokens["citizen"] = long_token(citizen.id)
            hosts.tokens["admin"] = ADMIN_TOKEN
            for name, email, role, agency in (
                ("reception", "motcua@phutho.gov.vn", "RECEPTION_OFFICER", "H44.99"),
                ("specialist", "chuyenvien@phutho.gov.vn", "SPECIALIST", "H44.19"),
                ("tax", "thue@phutho.gov.vn", "SPECIALIST", "H44.96"),
                ("leader", "lanhdao@phutho.gov.vn", "LEADER", "H44.19"),
            ):
                staff_id, _ = await make_staff(session, email, (role, agency, False))
                hosts.tokens[name] = long_token(staff_id)
            procedure = await session.scalar(select(Procedure).where(Procedure.code == "9.999001"))
            assert procedure is not None
            hosts.components = {
                c.name: str(c.id)
                for c in await session.scalars(
                    select(ProcedureComponent).where(
                        ProcedureComponent.version_id == procedure.published_version_id
                    )
                )
            }
            for i in range(FILES):
                row = await store_bytes(
                    session,
                    hosts.store,
                    owner_id=citizen.id if i else None,  # the first: a result file the leader attaches
                    filename=f"to-khai-{i}.pdf",
                    content_type="application/pdf",
                    data=PDF,
                    now=NOW,
                )
                hosts.files.append(str(row.id))
            await session.commit()
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
def hosts(
    servers: Servers, clamd: EmbeddedClamd, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Hosts]:
    root = tmp_path_factory.mktemp("hosts")
    primary = start_postgres(root / "primary")
    replica: EmbeddedReplica | None = None
    apps: list[subprocess.Popen[bytes]] = []
    try:
        migrate.upgrade(primary.database_url)
        engine_url = primary.database_url

        async def seed_catalog() -> None:
            engine = create_async_engine(engine_url)
            async with AsyncSession(engine) as session:
                await seed_demo_site(session)
            await engine.dispose()

        asyncio.run(seed_catalog())
        replica = start_replica(primary, root / "standby", port=find_free_port())
        ports = (find_free_port(), find_free_port())
        data_dirs = (root / "host-a", root / "host-b")
        logs = (root / "host-a.log", root / "host-b.log")
        for port, data_dir, log in zip(ports, data_dirs, logs, strict=True):
            env = host_env(servers, clamd, primary.database_url, replica.database_url, data_dir)
            apps.append(start_serve(env, port, log))
        hosts = Hosts(
            primary,
            replica,
            ObjectStore(servers.s3),
            (f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"),
            data_dirs,
            logs,
        )
        asyncio.run(_seed(hosts))
        asyncio.run(caught_up(hosts.cluster))
        yield hosts
    finally:
        stop(*apps)
        if replica is not None:
            replica.stop()
        primary.stop()
