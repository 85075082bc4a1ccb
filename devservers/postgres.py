"""Embedded PostgreSQL (pgserver) for dev, tests and one-box installs.

PostgreSQL listens on a Unix socket only (pgserver passes `-h ""`), never on TCP.

Pitfalls handled here (each checked on this machine with pgserver 0.1.4):

* pgserver trusts any process whose pid is in a leftover `postmaster.pid` -- a pid reused by
  another program, or the zombie of a killed postmaster in a container whose pid 1 does not
  reap -- and then never starts the server; and it only stops the server when no other pid is
  listed in its `.handle_pids.json`, which a killed run never cleans. Both are repaired before
  starting.
* As root, pgserver runs PostgreSQL as a `pgserver` system user (created with useradd) and
  adds o+rx to every parent folder of the data folder.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import json
import os
import subprocess
import tempfile
import time
import warnings
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import asyncpg

from devservers.process import install_exit_hooks, pid_alive, pid_exists, proc_cmdline

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

__all__ = ["PG_START_TIMEOUT", "EmbeddedPostgres", "EmbeddedReplica", "start_postgres", "start_replica"]

PG_START_TIMEOUT = 30.0

_T = TypeVar("_T")


def _run_coroutine(factory: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """Run a coroutine to completion from sync code, even when an event loop is running.

    `asyncio.run` refuses to nest, so inside a running loop (an async test, an app lifespan) the
    coroutine runs on a fresh loop in a helper thread; the caller's thread blocks meanwhile.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


@dataclass(frozen=True)
class EmbeddedPostgres:
    """A running pgserver PostgreSQL reachable through a Unix socket in `socket_dir`."""

    data_dir: Path
    socket_dir: Path
    pid: int
    _server: PostgresServer = field(repr=False, compare=False)

    @property
    def dsn(self) -> str:
        """libpq/asyncpg URL: `postgresql://postgres@/postgres?host=<socket dir>`."""
        return f"postgresql://postgres@/postgres?host={quote(str(self.socket_dir), safe='/')}"

    @property
    def database_url(self) -> str:
        """SQLAlchemy async URL for the same server (`postgresql+asyncpg://…`)."""
        return self.dsn.replace("postgresql://", "postgresql+asyncpg://", 1)

    def stop(self) -> None:
        """Release this process's handle; pgserver stops the server when it was the last one.

        Another live process that started the same data folder (e.g. the app while a CLI command
        ran) keeps it running: stopping it under that process would break its connections.
        """
        self._server.cleanup()


def _is_our_postmaster(pid: int, data_dir: Path) -> bool:
    """True if `pid` is a live (non-zombie) postgres serving `data_dir`."""
    args = proc_cmdline(pid)
    if args is None:
        # No /proc (not Linux): trust a live pid, as pgserver does.
        return not Path("/proc").is_dir() and pid_exists(pid)
    return bool(args) and Path(args[0]).name == "postgres" and str(data_dir) in args


def _wait_shared_memory_released(pid_lines: list[str], timeout: float) -> None:
    """Wait until no process is attached to the old server's SysV shared memory segment.

    Removing `postmaster.pid` also removes PostgreSQL's own guard against starting while
    backends of a killed postmaster still run; they exit within moments of noticing its death,
    so wait for the segment's attach count (line 7 holds "key shmid") to reach zero.
    """
    try:
        shmid = pid_lines[6].split()[-1]
    except IndexError:
        return
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            rows = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
        except OSError:
            return
        attached = [row.split()[6] for row in rows if row.split()[1] == shmid]
        if not attached or attached[0] == "0":
            return
        time.sleep(0.05)


def _clear_stale_postmaster_pid(data_dir: Path) -> None:
    """Remove a `postmaster.pid` that would mislead pgserver into not starting the server.

    pgserver treats any process with the recorded pid as the running server: a pid reused by
    another program (after a reboot, in a container) or a zombie (a killed postmaster that a
    container's pid 1 never reaps) then hands out a dead socket. It also cannot parse a file cut
    short by a crash during start-up. The socket's `.lock` file, naming the same pid, goes too.
    A complete file whose pid no longer exists is left alone:
    pgserver starts the server and PostgreSQL itself checks the old shared memory.
    """
    pid_file = data_dir / "postmaster.pid"
    try:
        lines = pid_file.read_text().splitlines()
    except FileNotFoundError:
        return
    try:
        pid = int(lines[0])
    except (IndexError, ValueError):
        pid_file.unlink(missing_ok=True)
        return
    if _is_our_postmaster(pid, data_dir):
        return
    if len(lines) == 8 and not pid_exists(pid):
        return
    _wait_shared_memory_released(lines, timeout=5.0)
    if len(lines) >= 5 and lines[3].strip().isdigit() and lines[4].strip():
        # The socket's lock file names the same pid and would stop PostgreSQL for the same reason.
        lock = Path(lines[4].strip()) / f".s.PGSQL.{lines[3].strip()}.lock"
        with contextlib.suppress(OSError, IndexError):
            if lock.read_text().splitlines()[0].strip() == str(pid):
                lock.unlink()
    pid_file.unlink(missing_ok=True)


def _prune_handle_pids(data_dir: Path) -> None:
    """Drop dead pids from pgserver's `.handle_pids.json` reference list.

    A run that was killed never removes its pid, and pgserver then never stops the server again
    (it stops only when the list holds nothing but the exiting process).
    """
    path = data_dir / ".handle_pids.json"
    try:
        pids = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if not isinstance(pids, list):
        return
    alive = [pid for pid in pids if isinstance(pid, int) and pid_alive(pid)]
    if alive != pids:
        path.write_text(json.dumps(alive))


async def _pg_answers(dsn: str, deadline: float) -> None:
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            conn = await asyncpg.connect(dsn, timeout=2)
            try:
                await conn.fetchval("select 1")
            finally:
                await conn.close()
            return
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            last = exc
            await asyncio.sleep(0.1)
    raise RuntimeError(f"embedded PostgreSQL at {dsn} did not answer: {last!r}")


def start_postgres(data_dir: Path, *, timeout: float = PG_START_TIMEOUT) -> EmbeddedPostgres:
    """Start (or join) the PostgreSQL whose PGDATA is `data_dir`, and wait until it answers.

    `data_dir` is created (with its parents) and initialised on first use; an existing folder
    starts again with its data. The server is stopped at interpreter exit by pgserver
    (`cleanup_mode='stop'`) unless another process still uses it. Blocking: from async code call
    it through `asyncio.to_thread`.
    """
    with warnings.catch_warnings():
        # platformdirs warns at pgserver's import when XDG_RUNTIME_DIR is unset (root, services,
        # containers) and falls back to /tmp/runtime-<uid>, which is fine; under pytest's
        # `filterwarnings = error` the warning would otherwise abort the import.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from pgserver.postgres_server import PostgresServer, get_server

    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    deadline = time.monotonic() + timeout
    with PostgresServer._lock:
        _clear_stale_postmaster_pid(data_dir)
        _prune_handle_pids(data_dir)
        cached = PostgresServer._instances.get(data_dir)
        if cached is not None:
            info = cached._postmaster_info
            if info is None or not _is_our_postmaster(info.pid, data_dir):
                # Killed behind our back: get_server would hand back the dead handle.
                del PostgresServer._instances[data_dir]
    install_exit_hooks()
    server = get_server(data_dir, cleanup_mode="stop")
    info = server.get_postmaster_info()
    if info.socket_dir is None:
        raise RuntimeError(f"pgserver started PostgreSQL in {data_dir} without a Unix socket")
    handle = EmbeddedPostgres(
        data_dir=data_dir, socket_dir=Path(info.socket_dir), pid=info.pid, _server=server
    )
    try:
        _run_coroutine(lambda: _pg_answers(handle.dsn, deadline))
    except BaseException:
        handle.stop()
        raise
    return handle


# --- a streaming replica of an embedded primary (tests of DATABASE_READ_URLS) ---------------------


def _pg_binaries() -> tuple[Path, str | None]:
    """pgserver's PostgreSQL `bin` folder, and the system user its servers run as (root: `pgserver`)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        from pgserver._commands import POSTGRES_BIN_PATH

    return POSTGRES_BIN_PATH, ("pgserver" if os.geteuid() == 0 else None)


def _owned_folder(path: Path, user: str | None) -> None:
    """`path` (created) private to `user`, its parents traversable by it (as pgserver does)."""
    path.mkdir(parents=True, exist_ok=True)
    if user is not None:
        import pwd

        from pgserver.utils import ensure_prefix_permissions

        entry = pwd.getpwnam(user)
        ensure_prefix_permissions(path)
        os.chown(path, entry.pw_uid, entry.pw_gid)
    path.chmod(0o700)


@dataclass(frozen=True)
class EmbeddedReplica:
    """A hot standby of an embedded primary, streaming its WAL, on a Unix socket of its own."""

    data_dir: Path
    socket_dir: Path
    port: int

    @property
    def dsn(self) -> str:
        host = quote(str(self.socket_dir), safe="/")
        return f"postgresql://postgres@/postgres?host={host}&port={self.port}"

    @property
    def database_url(self) -> str:
        return self.dsn.replace("postgresql://", "postgresql+asyncpg://", 1)

    def _pg_ctl(self, *args: str) -> None:
        bin_dir, user = _pg_binaries()
        command = [str(bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-w", "-t", str(int(PG_START_TIMEOUT))]
        subprocess.run(  # noqa: S603 — our own binary and folders
            [*command, *args], check=True, capture_output=True, user=user, timeout=PG_START_TIMEOUT + 5
        )

    def start(self) -> None:
        """Start (again) the standby and wait until it answers."""
        options = f'-h "" -k {self.socket_dir} -p {self.port}'
        log = self.data_dir / "standby.log"
        self._pg_ctl("-l", str(log), "-o", options, "start")
        _run_coroutine(lambda: _pg_answers(self.dsn, time.monotonic() + PG_START_TIMEOUT))

    def stop(self) -> None:
        """Stop the standby (fast shutdown); stopping a stopped one does nothing."""
        if (self.data_dir / "postmaster.pid").exists():
            with contextlib.suppress(subprocess.CalledProcessError):
                self._pg_ctl("-m", "fast", "stop")


def start_replica(primary: EmbeddedPostgres, data_dir: Path, *, port: int = 5433) -> EmbeddedReplica:
    """A streaming replica of `primary` in the empty folder `data_dir`: `pg_basebackup -R` over
    the primary's Unix socket (PostgreSQL 16's defaults suffice on the primary: `wal_level=replica`,
    `max_wal_senders=10`, and initdb's `local replication all trust` line in pg_hba.conf), then
    the standby started on a socket folder and port of its own. Stopped at interpreter exit.
    Blocking, like `start_postgres`."""
    bin_dir, user = _pg_binaries()
    data_dir = data_dir.expanduser().resolve()
    _owned_folder(data_dir, user)
    # A short path: a Unix socket's path is limited to about 100 bytes.
    socket_dir = Path(tempfile.mkdtemp(prefix="dvc-standby-"))
    _owned_folder(socket_dir, user)
    backup = [
        str(bin_dir / "pg_basebackup"),
        *("-D", str(data_dir), "-h", str(primary.socket_dir), "-U", "postgres"),
        *("-R", "-X", "stream", "-c", "fast", "--no-sync"),
    ]
    subprocess.run(backup, check=True, capture_output=True, user=user, timeout=120)  # noqa: S603
    replica = EmbeddedReplica(data_dir=data_dir, socket_dir=socket_dir, port=port)
    replica.start()
    atexit.register(replica.stop)
    return replica
