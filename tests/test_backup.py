"""Backup and restore bring a service back with every dossier and file: a real service fills its
own database and bucket (committed, not a test transaction), `dvc backup` dumps and mirrors them,
`dvc restore` puts them into an empty database and bucket, and the restored service answers with
the same dossier, the same trail and the same bytes. A tampered backup is refused, and an edited
trail row is caught by `dvc verify`."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import pytest_asyncio

from app import create_app
from core import migrate
from core.db import make_engine, make_session_factory
from core.settings import Settings
from devservers import EmbeddedClamd
from storage.clamav import ClamAV
from storage.s3 import ObjectStore, S3Config
from tests.conftest import JWT_SECRET, ROOT, Servers, app_runtime, gql, seed_demo_site
from tests.dossiers.helpers import DOSSIER_FIELDS, act
from tests.payments.helpers import submitted

DVC = [sys.executable, "-m", "cli.main"]
ONE = "query($id: ID!) { dossier(id: $id) { %s } }" % DOSSIER_FIELDS


def _dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def _fresh_database(servers: Servers, name: str) -> str:
    conn = await asyncpg.connect(_dsn(servers.database_url))
    await conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await conn.execute(f"CREATE DATABASE {name}")
    await conn.close()
    return servers.database_url.replace("/postgres?", f"/{name}?", 1)


def _env(servers: Servers, url: str, bucket: str, tmp: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "S3_ENDPOINT": servers.s3.endpoint,
        "S3_ACCESS_KEY": servers.s3.access_key,
        "S3_SECRET_KEY": servers.s3.secret_key,
        "S3_BUCKET": bucket,
        "DATA_DIR": str(tmp / "var"),
        "JWT_SECRET": JWT_SECRET,
    }


def dvc(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*DVC, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
    )


class Service:
    """A service on its own database and bucket, with real commits."""

    def __init__(self, servers: Servers, clamd: EmbeddedClamd, url: str, bucket: str) -> None:
        self.url = url
        self.engine = make_engine(url, pool_size=3)
        self.factory = make_session_factory(self.engine)
        self.store = ObjectStore(
            S3Config(servers.s3.endpoint, servers.s3.access_key, servers.s3.secret_key, bucket)
        )
        settings = Settings(
            database_url=url,
            s3_endpoint=servers.s3.endpoint,
            s3_access_key=servers.s3.access_key,
            s3_secret_key=servers.s3.secret_key,
            s3_bucket=bucket,
            jwt_secret=JWT_SECRET,
            vnpay_pay_url="http://127.0.0.1:9/pay",
            vnpay_return_url="http://127.0.0.1:8000/payments/return",
            vnpay_merchants="H44.19=PTHO0001:GATEWAYSECRET0123456789",
            load_demo_data=False,
        )
        self.app = create_app(
            app_runtime(settings, self.factory, self.store, scanner=ClamAV(clamd.socket_path))
        )

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://test")


@pytest_asyncio.fixture
async def source(servers: Servers, clamd: EmbeddedClamd) -> AsyncIterator[Service]:
    url = await _fresh_database(servers, "backup_source")
    await asyncio.to_thread(migrate.upgrade, url)
    service = Service(servers, clamd, url, f"backup-source-{uuid.uuid4().hex[:8]}")
    await service.store.ensure_bucket()
    async with service.factory() as session:
        await seed_demo_site(session, actor="test:backup")
    yield service
    await service.engine.dispose()


async def test_backup_and_restore_bring_back_every_dossier_and_file(
    source: Service, servers: Servers, clamd: EmbeddedClamd, tmp_path: Path
) -> None:
    async with source.client() as client, source.factory() as session:
        s, dossier_id = await submitted(client, session, source.store)
        received = await act(client, s.reception, "dossierReceive", id=str(dossier_id))
        assert received["dossier"]["status"] == "IN_PROGRESS"
        before = (await gql(client, ONE, {"id": str(dossier_id)}, token=s.citizen))["data"]["dossier"]
    files = {
        key: await source.store.get_bytes(key)
        for key in [
            o.object_name for o in source.store.client.list_objects(source.store.bucket, recursive=True)
        ]
    }
    assert files  # the form the citizen uploaded

    backup_dir = tmp_path / "backup"
    made = dvc(_env(servers, source.url, source.store.bucket, tmp_path), "backup", str(backup_dir))
    assert made.returncode == 0, made.stderr + made.stdout
    manifest = json.loads((backup_dir / "manifest.json").read_text(encoding="utf-8"))
    assert {o["key"] for o in manifest["objects"]} == set(files)
    assert manifest["migration"]

    # Into an empty database and an empty bucket.
    target_url = await _fresh_database(servers, "backup_target")
    target_bucket = f"backup-target-{uuid.uuid4().hex[:8]}"
    target_env = _env(servers, target_url, target_bucket, tmp_path)
    restored = dvc(target_env, "restore", str(backup_dir))
    assert restored.returncode == 0, restored.stderr + restored.stdout
    assert "thiếu 0, sai 0, chuỗi nhật ký hỏng 0" in restored.stderr + restored.stdout

    # The restored service answers with the same dossier, trail and bytes.
    target = Service(servers, clamd, target_url, target_bucket)
    try:
        async with target.client() as client:
            after = (await gql(client, ONE, {"id": str(dossier_id)}, token=s.citizen))["data"]["dossier"]
        assert after == before
        assert after["trailCheck"]["valid"] is True
        for key, data in files.items():
            assert await target.store.get_bytes(key) == data

        # Restoring twice is refused: the database is no longer empty.
        again = dvc(target_env, "restore", str(backup_dir))
        assert again.returncode == 1
        assert "trống" in again.stderr + again.stdout

        # An edited trail row is caught (the trigger forbids edits: an operator bypassing it).
        conn = await asyncpg.connect(_dsn(target_url))
        await conn.execute("SET session_replication_role = replica")
        await conn.execute(
            "UPDATE dossier_events SET comment = 'sửa lén' WHERE seq = (SELECT max(seq) FROM dossier_events)"
        )
        await conn.close()
        checked = dvc(target_env, "verify")
        assert checked.returncode == 1
        assert "không khớp" in checked.stderr + checked.stdout
    finally:
        await target.engine.dispose()


def test_a_tampered_backup_is_refused(servers: Servers, tmp_path: Path) -> None:
    backup_dir = tmp_path / "backup"
    (backup_dir / "objects").mkdir(parents=True)
    (backup_dir / "database.dump").write_bytes(b"not a dump")
    (backup_dir / "manifest.json").write_text(
        json.dumps({"format": 1, "database": {"file": "database.dump", "sha256": "0" * 64}, "objects": []}),
        encoding="utf-8",
    )
    env = _env(servers, servers.database_url, "unused-bucket", tmp_path)
    refused = dvc(env, "restore", str(backup_dir))
    assert refused.returncode == 1
    assert "đã bị sửa" in refused.stderr + refused.stdout
    missing = dvc(env, "restore", str(tmp_path / "nothing"))
    assert missing.returncode == 1
    assert "Không đọc được" in missing.stderr + missing.stdout


@pytest.mark.parametrize("key", ["../escape", "a/../../b"])
def test_object_keys_cannot_leave_the_backup(key: str, tmp_path: Path) -> None:
    from cli.backup import BackupError, _safe_path

    with pytest.raises(BackupError):
        _safe_path(tmp_path, key)
