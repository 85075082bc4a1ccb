"""Peak memory of the API process while a file is uploaded and completed.

The bytes go from the client straight to the object store (presigned POST); completion streams
them back in 1 MiB chunks through SHA-256 and clamd. So the API process's peak resident memory
should not grow with the file: each size runs in a fresh app process (peak RSS only grows), and
the 1 MB upload in the same run is the baseline.

Run: `make bench` (or `python -m bench`). Starts its own PostgreSQL, S3 store, clamd and app.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from auth import passwords
from auth.tokens import TokenConfig, issue_access
from core import migrate
from devservers import EmbeddedServices, clamd_binary, find_free_port, start_clamd
from models.accounts import Account, AccountKind, AccountStatus, Vault

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
SIZES_MB = (1, 10, 50, 200)

START = """mutation($n: String!, $s: ByteCount!, $h: String!) { r: fileUploadStart(filename: $n,
  contentType: "application/zip", size: $s, sha256: $h) { ... on UploadTicket { url fields file { id } } } }"""
COMPLETE = """mutation($id: ID!) { r: fileUploadComplete(fileId: $id) { __typename
  ... on FileResult { file { status rejection } } ... on Refused { code message } } }"""


def _peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _make_file(path: Path, size_mb: int) -> str:
    """A zip header followed by random bytes (type detection sees a zip), and its SHA-256."""
    digest = hashlib.sha256()
    with path.open("wb") as out:
        head = b"PK\x03\x04" + os.urandom(1020)
        out.write(head)
        digest.update(head)
        remaining = size_mb * 1024 * 1024 - len(head)
        while remaining > 0:
            chunk = os.urandom(min(remaining, 1 << 20))
            out.write(chunk)
            digest.update(chunk)
            remaining -= len(chunk)
    return digest.hexdigest()


async def _account(url: str) -> str:
    engine = create_async_engine(url)
    account_id = uuid.uuid4()
    async with AsyncSession(engine) as session:
        session.add(
            Account(
                id=account_id,
                kind=AccountKind.CITIZEN,
                status=AccountStatus.ACTIVE,
                display_name="Bench",
                email="bench@example.vn",
                email_verified_at=datetime.now(UTC),
                password_hash=passwords.hash_password("bench-pass-123"),
                failed_sign_ins=0,
                token_version=1,
            )
        )
        await session.flush()
        session.add(Vault(account_id=account_id, created_at=datetime.now(UTC)))
        await session.commit()
    await engine.dispose()
    return issue_access(
        TokenConfig(SECRET, access_ttl=timedelta(hours=2)),
        account_id=account_id,
        token_version=1,
        now=datetime.now(UTC),
    )


def _start_app(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = find_free_port()
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return process, base
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    process.kill()
    raise RuntimeError(log.read_text()[-2000:])


async def _one(base: str, token: str, path: Path, digest: str) -> tuple[str, float]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base, timeout=600, headers=headers) as api:
        variables = {"n": path.name, "s": path.stat().st_size, "h": digest}
        ticket = (await api.post("/graphql", json={"query": START, "variables": variables})).json()["data"][
            "r"
        ]
        started = time.perf_counter()
        async with httpx.AsyncClient(timeout=600) as browser:
            with path.open("rb") as handle:
                sent = await browser.post(
                    ticket["url"],
                    data=ticket["fields"],
                    files={"file": (path.name, handle, "application/zip")},
                )
        assert sent.status_code in (200, 204), sent.text[:300]
        done = (
            await api.post("/graphql", json={"query": COMPLETE, "variables": {"id": ticket["file"]["id"]}})
        ).json()
        status = (
            done["data"]["r"]["file"]["status"] if "file" in done["data"]["r"] else str(done["data"]["r"])
        )
        return status, time.perf_counter() - started


async def main() -> None:
    if clamd_binary() is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "install-clamav.sh")], check=True)
    with (
        tempfile.TemporaryDirectory(prefix="dvc-bench-") as tmp,
        EmbeddedServices(Path(tmp) / "servers") as servers,
    ):
        assert servers.postgres is not None
        assert servers.s3 is not None
        clamd = start_clamd(Path(tmp) / "clamd", signatures=ROOT / "assets" / "clamav")
        try:
            url = servers.postgres.database_url
            await asyncio.to_thread(migrate.upgrade, url)
            token = await _account(url)
            env = {
                **os.environ,
                "DATABASE_URL": url,
                "S3_ENDPOINT": servers.s3.endpoint,
                "S3_ACCESS_KEY": servers.s3.access_key,
                "S3_SECRET_KEY": servers.s3.secret_key,
                "JWT_SECRET": SECRET,
                "CLAMD_SOCKET": clamd.socket_path,
                "LOAD_DEMO_DATA": "false",
                "JOBS_INTERVAL_MINUTES": "0",
            }
            results = []
            for size in SIZES_MB:
                path = Path(tmp) / f"upload-{size}mb.zip"
                digest = _make_file(path, size)
                process, base = _start_app(env, Path(tmp) / f"app-{size}.log")
                try:
                    idle = _peak_rss_mb(process.pid)
                    status, seconds = await _one(base, token, path, digest)
                    peak = _peak_rss_mb(process.pid)
                finally:
                    process.terminate()
                    process.wait(timeout=20)
                path.unlink()
                results.append((size, status, idle, peak, seconds))
        finally:
            clamd.stop()
    baseline = results[0][3]
    print("\nUpload and completion: peak resident memory of the API process (fresh process per size)")
    print(f"{'size':>8} {'status':>8} {'idle MB':>9} {'peak MB':>9} {'peak / 1 MB run':>16} {'seconds':>8}")
    for size, status, idle, peak, seconds in results:
        print(f"{size:>6}MB {status:>8} {idle:>9.1f} {peak:>9.1f} {peak / baseline:>16.2f} {seconds:>8.1f}")
    growth = results[-1][3] - baseline
    print(
        f"\npeak growth from {SIZES_MB[0]} MB to {SIZES_MB[-1]} MB: {growth:+.1f} MB (flat means a few MB at most)"
    )


if __name__ == "__main__":
    asyncio.run(main())
