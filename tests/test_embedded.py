"""The embedded PostgreSQL and SeaweedFS start, keep data across restarts, stay on loopback,
refuse anonymous S3 access, and never outlive the process that started them.

These tests start real servers (a few seconds each) in their own folders, independent of the
session-wide servers in conftest.py.
"""

from __future__ import annotations

import asyncio
import io
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import asyncpg
import httpx
import pytest
import urllib3
from minio import Minio
from minio.error import S3Error

from devservers import (
    EmbeddedS3,
    EmbeddedServices,
    find_free_port,
    start_clamd,
    start_postgres,
    start_s3,
    weed_command,
)

ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.slow


# ------------------------------------------------------------------------------------- helpers


def _alive(pid: int) -> bool:
    """A process that exists and is not a zombie (this container's pid 1 may not reap them)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _wait_gone(pid: int, timeout: float = 10.0) -> bool:
    end = time.monotonic() + timeout
    while _alive(pid):
        if time.monotonic() > end:
            return False
        time.sleep(0.05)
    return True


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(1.0)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _listening_addresses(pid: int) -> list[str]:
    """Local addresses of every listening TCP socket (IPv4 and IPv6) owned by `pid`, from /proc."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    found: list[str] = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:  # 0A = LISTEN
                continue
            hex_addr, hex_port = local.split(":")
            if table == "tcp":
                addr = socket.inet_ntop(socket.AF_INET, bytes.fromhex(hex_addr)[::-1])
            else:
                raw = bytes.fromhex(hex_addr)
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, 16, 4))
                addr = "[" + socket.inet_ntop(socket.AF_INET6, words) + "]"
            found.append(f"{addr}:{int(hex_port, 16)}")
    return found


def _client(s3: EmbeddedS3) -> tuple[Minio, urllib3.PoolManager]:
    """A minio client whose connection pool the test closes (unclosed sockets warn -> error)."""
    http = urllib3.PoolManager(retries=urllib3.Retry(total=2, backoff_factor=0.2))
    return Minio(
        s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key, secure=s3.secure, http_client=http
    ), http


async def _query(dsn: str, sql: str) -> object:
    conn = await asyncpg.connect(dsn)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def _execute(dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


# --------------------------------------------------------------------------------------- tests


def test_both_servers_round_trip_and_restart(tmp_path: Path) -> None:
    started = time.monotonic()
    with EmbeddedServices(tmp_path) as svc:
        print(f"first start of both: {time.monotonic() - started:.1f} s")
        assert svc.postgres is not None
        assert svc.s3 is not None
        s3, pg = svc.s3, svc.postgres
        assert s3.endpoint.startswith("127.0.0.1:")
        assert s3.secure is False
        assert pg.database_url.startswith("postgresql+asyncpg://postgres@/postgres?host=/")
        assert pg.dsn == pg.database_url.replace("postgresql+asyncpg://", "postgresql://")

        # S3: create a bucket, put and get an object with the SDK.
        client, http = _client(s3)
        try:
            client.make_bucket("dossiers")
            client.put_object("dossiers", "a/b.txt", io.BytesIO(b"hello"), 5, content_type="text/plain")
            response = client.get_object("dossiers", "a/b.txt")
            try:
                assert response.read() == b"hello"
            finally:
                response.close()
                response.release_conn()
            # More buckets: with weed's default -volume.max=8 (7 volumes per bucket) the third fails.
            for name in ("second", "third"):
                client.make_bucket(name)
                client.put_object(name, "x", io.BytesIO(b"x"), 1)
        finally:
            http.clear()

        # A wrong secret is refused.
        wrong = Minio(
            s3.endpoint, access_key=s3.access_key, secret_key="wrong" * 8, secure=False, http_client=http
        )
        with pytest.raises(S3Error, match="SignatureDoesNotMatch"):
            wrong.list_buckets()
        http.clear()

        # Anonymous requests are refused: the object, the bucket listing, the service listing.
        with httpx.Client(timeout=5) as web:
            assert web.get(f"{s3.url}/dossiers/a/b.txt").status_code == 403
            assert web.get(f"{s3.url}/dossiers").status_code == 403
            assert web.get(f"{s3.url}/").status_code == 403

        # Only loopback listeners, none on 0.0.0.0 or [::].
        listening = _listening_addresses(s3.pid)
        assert listening, "weed listens on nothing?"
        assert all(addr.startswith("127.0.0.1:") for addr in listening), listening
        assert {int(a.rsplit(":", 1)[1]) for a in listening} == set(s3.ports.values())

        # PostgreSQL answers and keeps a table for the next run.
        assert asyncio.run(_query(pg.dsn, "select 1")) == 1
        asyncio.run(_execute(pg.dsn, "create table kept (id int primary key); insert into kept values (42)"))
        weed_pid, pg_pid, ports, keys = s3.pid, pg.pid, dict(s3.ports), (s3.access_key, s3.secret_key)
        socket_file = pg.socket_dir / ".s.PGSQL.5432"
        assert socket_file.exists()

    # Everything is stopped: processes gone, ports closed, socket removed.
    assert s3._process is not None  # started here, not shared
    assert s3._process.returncode is not None
    assert _wait_gone(weed_pid)
    assert _wait_gone(pg_pid)
    assert not any(_port_open(port) for port in ports.values())
    assert not socket_file.exists()
    assert not list(Path(tempfile.gettempdir()).glob(f"seaweedfs-*-{ports['master_grpc']}.sock"))
    svc.stop()  # idempotent

    # PostgreSQL alone on the same folder: the table from the first run is there.
    started = time.monotonic()
    with EmbeddedServices(tmp_path, s3=False) as again:
        print(f"restart of PostgreSQL: {time.monotonic() - started:.1f} s")
        assert again.s3 is None
        assert again.postgres is not None
        assert asyncio.run(_query(again.postgres.dsn, "select id from kept")) == 42

    # S3 alone on the same folder: same keys, same ports, the object is still there.
    started = time.monotonic()
    with EmbeddedServices(tmp_path, postgres=False) as again:
        print(f"restart of S3: {time.monotonic() - started:.1f} s")
        assert again.postgres is None
        assert again.s3 is not None
        assert (again.s3.access_key, again.s3.secret_key) == keys
        assert again.s3.ports == ports
        client, http = _client(again.s3)
        try:
            response = client.get_object("dossiers", "a/b.txt")
            try:
                assert response.read() == b"hello"
            finally:
                response.close()
                response.release_conn()
        finally:
            http.clear()
    assert (tmp_path / "s3" / "s3-identities.json").stat().st_mode & 0o077 == 0


def test_postgres_survives_stale_pid_file_and_kill(tmp_path: Path) -> None:
    data = tmp_path / "pg"
    pg = start_postgres(data)
    asyncio.run(_execute(pg.dsn, "create table t (v text); insert into t values ('before')"))
    pg.stop()
    assert _wait_gone(pg.pid)

    # A postmaster.pid naming a live process that is not PostgreSQL (a reused pid after a
    # reboot or in a container): pgserver alone would think the server runs and hand out a dead
    # socket.
    lines = ["", str(data), str(int(time.time())), "5432", str(data), "", "0 0", "ready"]
    lines[0] = str(os.getpid())
    (data / "postmaster.pid").write_text("\n".join(lines) + "\n")
    pg = start_postgres(data)
    assert asyncio.run(_query(pg.dsn, "select v from t")) == "before"

    # The server is killed behind our back; starting again in the same process works.
    os.kill(pg.pid, signal.SIGKILL)
    assert _wait_gone(pg.pid)
    pg = start_postgres(data)
    assert asyncio.run(_query(pg.dsn, "select v from t")) == "before"
    pg.stop()
    assert _wait_gone(pg.pid)


def test_start_postgres_from_a_running_event_loop(tmp_path: Path) -> None:
    async def main() -> object:
        pg = await asyncio.to_thread(start_postgres, tmp_path / "pg")
        try:
            # Called directly inside the loop it still works (blocking the loop meanwhile).
            again = start_postgres(tmp_path / "pg")
            assert again.pid == pg.pid
            return await _query(pg.dsn, "select 2")
        finally:
            pg.stop()

    assert asyncio.run(main()) == 2


_CHILD = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from devservers import start_s3
    s3 = start_s3(Path(sys.argv[2]))
    print(s3.pid, *s3.ports.values(), flush=True)
    if sys.argv[3] == "sleep":
        time.sleep(600)
    """
)


@pytest.mark.parametrize("how", ["sigterm", "normal-exit", "sigkill"])
def test_weed_does_not_outlive_its_parent(tmp_path: Path, how: str) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(ROOT), str(tmp_path), "exit" if how == "normal-exit" else "sleep"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        weed_pid, *ports = (int(x) for x in child.stdout.readline().split())
        assert _alive(weed_pid)
        expected = {"sigterm": 128 + signal.SIGTERM, "normal-exit": 0, "sigkill": -signal.SIGKILL}[how]
        if how != "normal-exit":
            child.send_signal(signal.SIGTERM if how == "sigterm" else signal.SIGKILL)
        assert child.wait(90) == expected  # generous: a loaded 2-core machine is slow to stop weed
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if child.stdout is not None:
            child.stdout.close()
    if how == "sigkill":
        # Nothing runs in a SIGKILLed parent: weed lingers, and the next start on the folder
        # stops it instead of running a second weed on the same files.
        assert _alive(weed_pid)
        s3 = start_s3(tmp_path)
        try:
            assert not _alive(weed_pid)
            # (the old ports are reused only when still free: best effort, not asserted)
            assert len(s3.ports) == len(ports)
        finally:
            s3.stop()
        weed_pid = s3.pid
    assert _wait_gone(weed_pid)
    assert not any(_port_open(port) for port in ports)


def test_s3_refuses_a_busy_port_and_a_broken_identity_file(tmp_path: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        with pytest.raises(RuntimeError, match="already in use"):
            start_s3(tmp_path / "a", port=busy.getsockname()[1])
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "s3-identities.json").write_text("{not json")
    with pytest.raises(RuntimeError, match="cannot read S3 identity"):
        start_s3(tmp_path / "b")


def test_weed_command_binds_loopback_only() -> None:
    ports = {name: 1000 + i for i, name in enumerate(("s3", "s3_grpc", "master", "master_grpc"))}
    ports |= {"volume": 2000, "volume_grpc": 2001, "filer": 2002, "filer_grpc": 2003}
    cmd = weed_command("weed", Path("/d"), Path("/d/ids.json"), ports)
    assert "-ip.bind=127.0.0.1" in cmd
    assert "-s3.config=/d/ids.json" in cmd
    assert "-master.telemetry=false" in cmd
    for flag in ("master.port.grpc", "volume.port.grpc", "filer.port.grpc", "s3.port.grpc"):
        assert any(arg.startswith(f"-{flag}=") for arg in cmd), flag
    assert not any(arg.startswith("-s3.port.iceberg=") and not arg.endswith("=0") for arg in cmd)


def test_find_free_port() -> None:
    port = find_free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


_OWNER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    sys.path.insert(0, sys.argv[1])
    from devservers import start_clamd, start_s3
    s3 = start_s3(Path(sys.argv[2]) / "s3")
    clamd = start_clamd(Path(sys.argv[2]) / "clamav", signatures=Path(sys.argv[1]) / "assets/clamav/test.hdb")
    print(s3.pid, clamd.pid, flush=True)
    time.sleep(600)
    """
)


def test_a_command_beside_a_running_service_shares_its_s3_and_clamd(tmp_path: Path) -> None:
    """`dvc messages` (or any `dvc` command) run beside `dvc serve` on the same DATA_DIR uses
    the store and scanner the service started, and leaves them running when it ends: before,
    it killed the service's weed as a leftover and refused to start a second clamd."""
    owner = subprocess.Popen(
        [sys.executable, "-c", _OWNER, str(ROOT), str(tmp_path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert owner.stdout is not None
        weed_pid, clamd_pid = (int(x) for x in owner.stdout.readline().split())
        s3 = start_s3(tmp_path / "s3")
        clamd = start_clamd(tmp_path / "clamav", signatures=ROOT / "assets" / "clamav" / "test.hdb")
        assert (s3.pid, clamd.pid) == (weed_pid, clamd_pid)
        s3.client().make_bucket("shared")
        assert clamd.running
        s3.stop()
        clamd.stop()
        assert _alive(weed_pid)
        assert _alive(clamd_pid)
        assert [b.name for b in s3.client().list_buckets()] == ["shared"]
        assert clamd.running  # still answers PING on the owner's socket
    finally:
        owner.terminate()
        owner.wait(90)
        if owner.stdout is not None:
            owner.stdout.close()
    assert _wait_gone(weed_pid, 30)
    assert _wait_gone(clamd_pid, 30)
