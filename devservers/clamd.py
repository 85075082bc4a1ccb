"""Embedded ClamAV daemon (`clamd`) for scanning uploaded files, private to this machine.

`start_clamd` runs the distribution's `clamd` binary (package clamav-daemon, installed by
`scripts/install-clamav.sh`) with a configuration written into a data folder, and the
signatures copied into that folder. Clients talk to it over a Unix socket only (no TCP
listener) with `storage.clamav.ClamAV`. An external clamd can be used instead (CLAMD_SOCKET).

Facts checked on this machine (Debian 12, ClamAV 1.4.6):

* clamd starts in ~0.05 s with the one-line `assets/clamav/test.hdb`. The official databases
  (freshclam; no network here, so not measured) are known to take tens of seconds and about
  1 GB of memory to load -- hence the generous default `timeout`.
* A `.hdb` signature is the MD5 of a whole file (or of a whole file inside an archive): the
  EICAR line in test.hdb detects the 68-byte EICAR file, not EICAR bytes embedded in a larger
  file. Body signatures (`.ndb`, `.ldb`) match anywhere in the stream.
* Run as root without a `User` line, clamd stays root (Debian's own clamd.conf says
  `User clamav`); here it runs as whoever starts it, which is what the socket mode 0600 needs.
* In the foreground clamd copies every log line to stdout (unrotated), so stdout is discarded;
  start-up errors (bad config, malformed or missing databases) go to stderr, kept in
  `clamd.err`. clamd's own log is `clamd.log` (rotated at 5 MB).
* clamd writes a stream to a temp file before scanning it (as ClamAV documents; not measured
  here), in TemporaryDirectory `<data_dir>/tmp`, not /tmp. A stream longer than StreamMaxLength gets the reply
  `INSTREAM size limit exceeded. ERROR` and the connection is closed.
* SIGTERM stops clamd within 0.1-2 s; it removes its socket and pid file itself.
* clamd reads the copy in `<data_dir>/signatures`: `EmbeddedClamd.refresh_signatures()` copies
  freshclam's updates again and sends RELOAD (clamd's SelfCheck only sees its own folder).
* A Unix socket path must fit in 108 bytes (107 characters and a NUL). If
  `<data_dir>/clamd.sock` is longer than 100 bytes, the socket goes into a short private folder
  (`/tmp/clamd-XXXX`), removed again at stop.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from devservers.process import (
    ChildExited,
    install_exit_hooks,
    kill_leftover,
    live_owner,
    proc_cmdline,
    read_pid,
    register,
    remove_if_names,
    spawn,
    stop_child,
    tail,
    wait_ready,
)

__all__ = [
    "CLAMD_START_TIMEOUT",
    "DEFAULT_STREAM_MAX_LENGTH",
    "EmbeddedClamd",
    "clamd_binary",
    "embedded_database_dir",
    "start_clamd",
    "sync_signatures",
]

CLAMD_START_TIMEOUT = 60.0
CLAMD_STOP_GRACE = 5.0
DEFAULT_STREAM_MAX_LENGTH = 250 * 1024 * 1024  # uploads are allowed up to 200 MB
_SOCKET_PATH_MAX = 100  # sun_path holds 108 bytes with the NUL; keep a margin
_MiB = 1024 * 1024


def clamd_binary() -> str | None:
    """Path of the `clamd` executable (PATH, then /usr/sbin, /usr/local/sbin), or None."""
    found = shutil.which("clamd")
    if found:
        return found
    for candidate in ("/usr/sbin/clamd", "/usr/local/sbin/clamd"):
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


# ------------------------------------------------------------------------------------- helpers


def _command(path: Path, command: bytes, timeout: float = 1.0) -> str | None:
    """Send one `z`-command to the clamd at `path`; its reply, or None if it cannot be reached."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(path))
            sock.sendall(b"z" + command + b"\0")
            reply = b""
            while not reply.endswith(b"\0") and len(reply) < 4096:
                data = sock.recv(4096)
                if not data:
                    break
                reply += data
    except OSError:
        return None
    return reply.rstrip(b"\0").decode(errors="replace")


def _ping(path: Path, timeout: float = 1.0) -> bool:
    """True if the clamd at `path` answers PING with PONG."""
    return _command(path, b"PING", timeout) == "PONG"


def _size(value: int) -> str:
    """clamd size option: whole MiB as `<n>M`, otherwise plain bytes (all values < 4 GiB)."""
    if value <= 0 or value >= 4 * 1024 * _MiB:
        raise ValueError(f"clamd size limits must be between 1 byte and 4 GiB, got {value}")
    return f"{value // _MiB}M" if value % _MiB == 0 else str(value)


# -------------------------------------------------------------------------------------- handle


@dataclass(frozen=True, kw_only=True)
class EmbeddedClamd:
    """A running clamd answering on the Unix socket `socket`."""

    socket: Path
    pid: int
    data_dir: Path
    signatures: Path  # where the signatures are copied from (a file or a folder)
    # None: another live process started this clamd and stops it (see _attach)
    _process: subprocess.Popen[bytes] | None = field(repr=False, compare=False)
    _socket_dir: Path | None = field(default=None, repr=False, compare=False)

    @property
    def socket_path(self) -> str:
        """`socket` as a string, for `storage.clamav.ClamAV(...)`."""
        return str(self.socket)

    @property
    def log_path(self) -> Path:
        """clamd's own log (start-up errors are in `clamd.err` next to it)."""
        return self.data_dir / "clamd.log"

    @property
    def running(self) -> bool:
        if self._process is None:
            return _ping(self.socket)
        return self._process.poll() is None

    def refresh_signatures(self) -> bool:
        """Copy changed signature files from `signatures` again and have clamd reload them.

        The copy is what clamd reads, so freshclam's updates reach it only through this (or a
        restart): call it periodically, e.g. from the scheduled jobs. clamd loads the new
        database in the background while it goes on scanning with the old one (which briefly
        needs twice the memory with the official databases). Returns True if a reload was
        asked for; raises RuntimeError if clamd does not accept it.
        """
        if not _sync_signatures(self.signatures, self.data_dir / "signatures"):
            return False
        reply = _command(self.socket, b"RELOAD", timeout=10.0)
        if reply != "RELOADING":
            raise RuntimeError(f"clamd on {self.socket} refused to reload its signatures: {reply!r}")
        return True

    def stop(self, grace: float = CLAMD_STOP_GRACE) -> None:
        """SIGTERM clamd's process group, SIGKILL it after `grace` seconds; idempotent. A shared
        clamd (started by another live process) is left to that process."""
        if self._process is None:
            return
        was_running = self._process.poll() is None
        stop_child(self._process, grace)
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            remove_if_names(self.data_dir / "clamd.socket-dir", self._socket_dir)
        if not was_running:
            # Died earlier: the socket path and records may already belong to a newer clamd.
            return
        # clamd removes its socket and pid file on SIGTERM, not when killed.
        with contextlib.suppress(OSError):
            if self.socket.is_socket():
                self.socket.unlink()
        remove_if_names(self.data_dir / "clamd.pid", self.pid)
        remove_if_names(self.data_dir / "clamd.owner", os.getpid())


# ---------------------------------------------------------------------------------- set-up steps


def _sync_signatures(source: Path, dest: Path) -> bool:
    """Make `dest` hold exactly the signature files of `source` (a file or a folder).

    Unchanged files (same size and mtime) are kept, so after the first start only what
    freshclam changed is copied again. Returns True if anything in `dest` changed.
    """
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith("."))
    elif source.is_file():
        files = [source]
    else:
        raise RuntimeError(f"ClamAV signatures not found: {source}")
    if not files:
        raise RuntimeError(
            f"no ClamAV signature files in {source} (run freshclam, or use assets/clamav/test.hdb)"
        )
    dest.mkdir(parents=True, exist_ok=True)
    changed = False
    names = {p.name for p in files}
    for old in dest.iterdir():
        if old.name not in names:
            changed = True
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)
    for src in files:
        target = dest / src.name
        st = src.stat()
        with contextlib.suppress(OSError):
            tt = target.stat()
            if (tt.st_size, tt.st_mtime_ns) == (st.st_size, st.st_mtime_ns):
                continue
        tmp = dest / f".{src.name}.tmp"
        tmp.unlink(missing_ok=True)
        shutil.copy2(src, tmp)  # a copy, not a link: nothing done to it can reach the source
        tmp.replace(target)
        changed = True
    return changed


sync_signatures = _sync_signatures


def embedded_database_dir(data_dir: Path, socket_path: str) -> Path | None:
    """The folder the embedded clamd under `data_dir` reads (its copy of the signatures), if
    that clamd is the one answering on `socket_path` (read from its clamd.conf); else None."""
    try:
        lines = (data_dir / "clamd.conf").read_text().splitlines()
    except OSError:
        return None
    options = dict(line.split(" ", 1) for line in lines if " " in line)
    if options.get("LocalSocket") != str(socket_path) or "DatabaseDirectory" not in options:
        return None
    return Path(options["DatabaseDirectory"])


def _socket_location(data_dir: Path) -> tuple[Path, Path | None]:
    """The socket path, and the private short folder holding it if `data_dir` is too long."""
    preferred = data_dir / "clamd.sock"
    if len(os.fsencode(preferred)) <= _SOCKET_PATH_MAX:
        return preferred, None
    base = tempfile.gettempdir()
    if len(os.fsencode(base)) > 60:
        base = "/tmp"  # noqa: S108 - a private mkdtemp folder (mode 0700), not a fixed name
    short = Path(tempfile.mkdtemp(prefix="clamd-", dir=base))
    (data_dir / "clamd.socket-dir").write_text(f"{short}\n")
    return short / "clamd.sock", short


def _remove_old_socket_dir(data_dir: Path) -> None:
    """Remove the short socket folder of a run that was killed before it could clean up."""
    record = data_dir / "clamd.socket-dir"
    try:
        old = Path(record.read_text().strip())
    except OSError:
        return
    base_ok = old.name.startswith("clamd-") and old.parent in {Path(tempfile.gettempdir()), Path("/tmp")}  # noqa: S108
    if base_ok and old.is_dir() and not old.is_symlink() and old.stat().st_uid == os.geteuid():
        shutil.rmtree(old, ignore_errors=True)
    record.unlink(missing_ok=True)


def _handle_leftover(data_dir: Path, conf: Path) -> int | None:
    """Deal with a clamd already running on this folder; returns its pid if it is to be shared.

    One whose starter is gone (the app was SIGKILLed or crashed) is killed. One whose starter
    still runs belongs to another live process (`dvc serve`, while a `dvc` command runs beside
    it on the same DATA_DIR): it is shared, never pulled from under that process.
    """
    pid = read_pid(data_dir / "clamd.pid")
    if pid is None:
        return None
    args = proc_cmdline(pid)
    if not args or Path(args[0]).name != "clamd" or str(conf) not in args:
        return None
    if live_owner(pid, data_dir / "clamd.owner") is not None:
        return pid
    kill_leftover(pid)
    return None


def _attach(data_dir: Path, pid: int, signatures: Path) -> EmbeddedClamd:
    """A handle on the clamd another live process runs on `data_dir`: it scans the same way
    (same socket), and stopping the handle leaves that clamd running."""
    options = dict(
        line.split(" ", 1) for line in (data_dir / "clamd.conf").read_text().splitlines() if " " in line
    )
    socket = Path(options["LocalSocket"])
    if not _ping(socket, timeout=5.0):
        raise RuntimeError(f"clamd (pid {pid}) for {data_dir} runs but does not answer on {socket}")
    return EmbeddedClamd(socket=socket, pid=pid, data_dir=data_dir, signatures=signatures, _process=None)


def _write_config(
    conf: Path,
    *,
    data_dir: Path,
    socket_path: Path,
    stream_max_length: int,
    max_file_size: int,
    max_scan_size: int,
) -> None:
    lines = [
        "# Embedded clamd for the service. Written by devservers.clamd at each start; edits are lost.",
        f"DatabaseDirectory {data_dir / 'signatures'}",
        f"LocalSocket {socket_path}",
        "LocalSocketMode 600",
        "FixStaleSocket yes",
        # No TCPSocket line: no network listener at all.
        "Foreground yes",
        f"PidFile {data_dir / 'clamd.pid'}",
        f"LogFile {data_dir / 'clamd.log'}",
        "LogTime yes",
        "LogRotate yes",
        "LogFileMaxSize 5M",
        "LogClean no",
        f"TemporaryDirectory {data_dir / 'tmp'}",
        f"StreamMaxLength {_size(stream_max_length)}",
        f"MaxFileSize {_size(max_file_size)}",
        f"MaxScanSize {_size(max_scan_size)}",
        # 200 MB with the full database may take long; 2 min (the default) would let it pass.
        "MaxScanTime 600000",
        "ReadTimeout 120",
        "CommandReadTimeout 30",
        "MaxThreads 10",
        "SelfCheck 3600",
        "ExtendedDetectionInfo no",
    ]
    conf.write_text("\n".join(lines) + "\n")


# ------------------------------------------------------------------------------------- start


def _wait_ready(
    handle: EmbeddedClamd, process: subprocess.Popen[bytes], err_path: Path, deadline: float
) -> None:
    """Poll PING until PONG; raise RuntimeError with the logs if clamd exits or times out."""
    try:
        wait_ready(process, lambda: _ping(handle.socket), deadline, interval=0.05)
    except ChildExited:
        problem = f"clamd exited during start-up (code {process.returncode})"
    except TimeoutError:
        problem = f"clamd on {handle.socket} did not answer in time"
    else:
        return
    raise RuntimeError(
        f"{problem}; {err_path}:\n{_tail(err_path)}\n{handle.log_path}:\n{_tail(handle.log_path)}"
    )


def _tail(path: Path) -> str:
    return tail(path, 10, empty="(empty)")


def start_clamd(
    data_dir: Path,
    *,
    signatures: Path,
    timeout: float = CLAMD_START_TIMEOUT,
    stream_max_length: int = DEFAULT_STREAM_MAX_LENGTH,
    max_file_size: int | None = None,
    max_scan_size: int | None = None,
) -> EmbeddedClamd:
    """Start clamd with its configuration, log and signatures under `data_dir`; wait for PONG.

    `signatures` is a signature file (e.g. assets/clamav/test.hdb) or a folder of them (e.g.
    /var/lib/clamav kept current by freshclam); they are copied to `data_dir/signatures`.
    `stream_max_length` caps one scanned stream (MaxFileSize defaults to the same, MaxScanSize,
    which counts unpacked archive content, to four times it, at most 4000 MiB).

    Blocking (up to `timeout` seconds); from async code use `asyncio.to_thread`. Raises
    RuntimeError with the log tail if clamd is missing, exits, or does not answer in time.
    clamd is stopped at interpreter exit and on SIGTERM/SIGHUP if `.stop()` was not called.
    """
    binary = clamd_binary()
    if binary is None:
        raise RuntimeError("clamd is not installed: run scripts/install-clamav.sh (package clamav-daemon)")
    data_dir = data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "tmp").mkdir(exist_ok=True)
    conf = data_dir / "clamd.conf"
    signatures = signatures.expanduser().resolve()
    shared = _handle_leftover(data_dir, conf)
    if shared is not None:
        return _attach(data_dir, shared, signatures)
    _remove_old_socket_dir(data_dir)
    _sync_signatures(signatures, data_dir / "signatures")
    socket_path, socket_dir = _socket_location(data_dir)
    _write_config(
        conf,
        data_dir=data_dir,
        socket_path=socket_path,
        stream_max_length=stream_max_length,
        max_file_size=max_file_size or stream_max_length,
        max_scan_size=max_scan_size or min(4 * stream_max_length, 4000 * _MiB),
    )
    install_exit_hooks()
    err_path = data_dir / "clamd.err"
    started = time.monotonic()
    # stdout is discarded: a copy of clamd.log, never rotated
    process = spawn([binary, "-c", str(conf)], cwd=data_dir, log=err_path, stdout=False, append=False)
    (data_dir / "clamd.owner").write_text(f"{os.getpid()}\n")
    handle = EmbeddedClamd(
        socket=socket_path,
        pid=process.pid,
        data_dir=data_dir,
        signatures=signatures,
        _process=process,
        _socket_dir=socket_dir,
    )
    register(process.pid, handle)
    try:
        _wait_ready(handle, process, err_path, started + timeout)
    except BaseException:
        handle.stop()
        raise
    return handle
