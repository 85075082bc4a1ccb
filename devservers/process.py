"""The one process helper behind every development server (weed, clamd; pgserver runs its own).

A server runs as a child in its own session (`start_new_session=True`: out of reach of the
terminal's Ctrl-C, and stoppable as a whole process group), with its output in a log file. This
module starts it, waits for it to answer before a deadline, stops it (SIGTERM to the group, then
SIGKILL after a grace period), stops what this interpreter started at exit and on SIGTERM/SIGHUP,
kills a server left running by a starter that was SIGKILLed, and picks free loopback ports.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Protocol

__all__ = [
    "LOOPBACK",
    "ChildExited",
    "find_free_port",
    "free_ports",
    "install_exit_hooks",
    "kill_leftover",
    "pid_alive",
    "pid_exists",
    "port_is_free",
    "proc_cmdline",
    "proc_stat",
    "read_pid",
    "register",
    "remove_if_names",
    "spawn",
    "stop_child",
    "tail",
    "wait_ready",
]

LOOPBACK = "127.0.0.1"


# ----------------------------------------------------------------------------------------- ports


def find_free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now.

    The port is only free at the moment of asking; the caller binds it soon after.
    """
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
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


def port_is_free(port: int) -> bool:
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


# ------------------------------------------------------------------------------------- processes


def proc_stat(pid: int) -> tuple[str, int] | None:
    """(state, parent pid) of a process from /proc, or None when it does not exist."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return fields[0], int(fields[1])
    except (OSError, IndexError, ValueError):
        return None


def live_owner(pid: int, owner_file: Path) -> int | None:
    """The live process (not this one) that started `pid` and still is its parent, as recorded
    in `owner_file`; None for a server left behind by a starter that is gone (or never
    recorded), which its next starter may kill."""
    owner = read_pid(owner_file)
    stat = proc_stat(pid)
    if owner is None or owner == os.getpid() or stat is None or stat[1] != owner:
        return None
    return owner if proc_cmdline(owner) is not None else None


def proc_cmdline(pid: int) -> list[str] | None:
    """Argument vector of a live, non-zombie process, or None when it is gone (Linux /proc)."""
    stat = proc_stat(pid)
    if stat is None or stat[0] == "Z":
        return None
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def _signal_zero(pid: int) -> bool | None:
    """Send signal 0: False if no process holds `pid`, True if it is another user's, else None."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return None


def pid_exists(pid: int) -> bool:
    """True while any process (zombies included) holds `pid`, the way pgserver/psutil see it."""
    return _signal_zero(pid) is not False


def pid_alive(pid: int) -> bool:
    """True while `pid` is a live process that is not a zombie (any live pid without /proc)."""
    found = _signal_zero(pid)
    if found is not None:
        return found
    return proc_cmdline(pid) is not None or not Path("/proc").is_dir()


def read_pid(path: Path) -> int | None:
    """The pid written (first) in `path`, or None if the file is missing or holds none."""
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def remove_if_names(path: Path, value: object) -> None:
    """Delete `path` if it holds exactly `value` (a pid, a folder): it is still ours, not a newer run's."""
    with contextlib.suppress(OSError):
        if path.read_text().strip() == str(value):
            path.unlink()


def tail(path: Path, lines: int, *, empty: str = "") -> str:
    """The last `lines` lines of a log file, `empty` when it has none, "(no log)" when unreadable."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or empty


def kill_leftover(pid: int) -> None:
    """SIGKILL a server left behind by a starter that was killed, and wait (5 s at most) for it to go."""
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    end = time.monotonic() + 5
    while proc_cmdline(pid) is not None and time.monotonic() < end:
        time.sleep(0.05)


def spawn(argv: list[str], *, cwd: Path, log: Path, stdout: bool, append: bool) -> subprocess.Popen[bytes]:
    """Start `argv` in its own session with stderr (and stdout, if `stdout`) going to `log`.

    `append` adds to the log after a line naming the time and the command; otherwise the log is
    started afresh. Without `stdout` the child's stdout is discarded.
    """
    with log.open("ab" if append else "wb") as out:
        if append:
            out.write(f"\n==== {time.strftime('%Y-%m-%dT%H:%M:%S')} {' '.join(argv)}\n".encode())
            out.flush()
        return subprocess.Popen(  # noqa: S603 - argv built by the caller, no shell
            argv,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out if stdout else subprocess.DEVNULL,
            stderr=subprocess.STDOUT if stdout else out,
            start_new_session=True,
        )


class ChildExited(Exception):
    """The server died before it was ready."""


def wait_ready(
    process: subprocess.Popen[bytes], ready: Callable[[], bool], deadline: float, interval: float
) -> None:
    """Poll `ready()` every `interval` seconds until it is true.

    Raises ChildExited once `process` has exited, TimeoutError once `deadline` (a
    `time.monotonic()` value) has passed.
    """
    while True:
        if process.poll() is not None:
            raise ChildExited
        if time.monotonic() > deadline:
            raise TimeoutError
        if ready():
            return
        time.sleep(interval)


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


# --------------------------------------------------------------------------------- process cleanup


class Stoppable(Protocol):
    def stop(self) -> None: ...


_live_lock = threading.Lock()
_live: dict[int, tuple[int, Stoppable]] = {}  # server pid -> (pid of the process that started it, handle)
_atexit_registered = threading.Event()
_signals_installed = threading.Event()


def register(pid: int, handle: Stoppable) -> None:
    """Have `handle.stop()` called at exit and on SIGTERM/SIGHUP unless it was stopped before."""
    with _live_lock:
        _live[pid] = (os.getpid(), handle)


def stop_child(process: subprocess.Popen[bytes], grace: float) -> None:
    """SIGTERM the process group of `process`, SIGKILL it after `grace` seconds; idempotent."""
    _terminate(process, grace)
    with _live_lock:
        _live.pop(process.pid, None)


def _stop_all_live() -> None:
    """Stop every server this interpreter started; run at exit and on SIGTERM/SIGHUP.

    A forked child inherits the registry and the atexit hook but must not stop its parent's servers.
    """
    with _live_lock:
        handles = [handle for owner, handle in _live.values() if owner == os.getpid()]
    for handle in handles:
        with contextlib.suppress(Exception):
            handle.stop()


def _on_terminate(signum: int, frame: FrameType | None) -> None:
    """Stop the servers, then exit through SystemExit so every atexit hook (pgserver's too) runs.

    Python's default SIGTERM/SIGHUP action kills the interpreter without atexit, which would
    leave weed and clamd (they run in their own session, out of reach of the terminal) and
    PostgreSQL running.
    """
    _stop_all_live()
    raise SystemExit(128 + signum)


def install_exit_hooks() -> None:
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
