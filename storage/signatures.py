"""ClamAV signatures: updates from a configured mirror (freshclam) and how old they are.

`update` runs freshclam once against `CLAMAV_MIRROR_URL` (a generated configuration with
`PrivateMirror`), into the signature folder, and has clamd reload when a file changed: the
embedded clamd first gets its copy refreshed (it reads `DATA_DIR/clamav/signatures`, see
devservers/clamd.py), an external one is sent RELOAD only (its DatabaseDirectory must be the folder
freshclam writes, `CLAMAV_SIGNATURES`).

`age` asks clamd: `VERSION` answers `ClamAV 1.4.6/<db version>/<db build time>` once an official
database (.cvd/.cld) is loaded. With custom signatures only (the project's test .hdb) clamd gives no
date: the newest signature file's modification time stands in, and `dated_by` says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from core.settings import Settings
from devservers.clamd import embedded_database_dir, sync_signatures
from storage.clamav import ClamAV, ScanError

log = logging.getLogger(__name__)

FRESHCLAM_TIMEOUT = 30 * 60.0
# freshclam's own bookkeeping, not signatures
_NOT_SIGNATURES = frozenset({"freshclam.dat", "mirrors.dat"})


@dataclass(frozen=True)
class SignatureAge:
    """`version`: the database version clamd reports (None without an official database);
    `built_at`: its build time, or the newest signature file's mtime (`dated_by="files"`)."""

    version: str | None
    built_at: datetime | None
    dated_by: Literal["clamd", "files"] | None

    def age_seconds(self, now: datetime) -> float | None:
        return None if self.built_at is None else max(0.0, (now - self.built_at).total_seconds())


@dataclass(frozen=True)
class UpdateResult:
    ok: bool
    changed: bool  # freshclam changed a signature file
    reloaded: bool  # clamd was asked to reload
    output: str  # the tail of freshclam's output


def database_folder(settings: Settings) -> Path:
    """The folder freshclam updates (CLAMAV_SIGNATURES, else DATA_DIR/clamav/database)."""
    if settings.clamav_signatures is not None:
        return settings.clamav_signatures.expanduser().resolve()
    return (settings.data_dir / "clamav" / "database").resolve()


def embedded_copy(settings: Settings) -> Path | None:
    """The embedded clamd's own copy of the signatures, when CLAMD_SOCKET is that clamd's."""
    if not settings.clamd_socket:
        return None
    return embedded_database_dir((settings.data_dir / "clamav").resolve(), settings.clamd_socket)


def signature_folder(settings: Settings) -> Path | None:
    """Where the signatures clamd loaded lie, for dating them by file time (None: unknown)."""
    copy = embedded_copy(settings)
    if copy is not None:
        return copy
    if settings.clamav_signatures is not None or settings.clamav_mirror_url:
        return database_folder(settings)
    return None


def freshclam_config(mirror: str, folder: Path) -> str:
    return (
        "\n".join(
            [
                "# written by the service (storage/signatures.py) before each update",
                f"DatabaseDirectory {folder}",
                f"DatabaseOwner {getpass.getuser()}",  # as root, freshclam would switch to `clamav`
                f"PrivateMirror {mirror}",  # no DNS look-up, no official mirrors
                "ScriptedUpdates yes",
                "ConnectTimeout 30",
                "ReceiveTimeout 600",
                "MaxAttempts 3",
                "Foreground yes",
            ]
        )
        + "\n"
    )


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    files: dict[str, tuple[int, int]] = {}
    with contextlib.suppress(OSError):
        for path in folder.iterdir():
            if path.is_file() and not path.name.startswith(".") and path.name not in _NOT_SIGNATURES:
                st = path.stat()
                files[path.name] = (st.st_size, st.st_mtime_ns)
    return files


async def update(settings: Settings, scanner: ClamAV) -> UpdateResult:
    """Run freshclam once against the configured mirror, then have clamd reload what changed."""
    mirror = settings.clamav_mirror_url
    if not mirror:
        raise ValueError("CLAMAV_MIRROR_URL is not set")
    folder = database_folder(settings)
    folder.mkdir(parents=True, exist_ok=True)
    conf = (settings.data_dir / "clamav" / "freshclam.conf").resolve()
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(freshclam_config(mirror, folder))
    before = _snapshot(folder)
    process = await asyncio.create_subprocess_exec(
        settings.freshclam_command,
        f"--config-file={conf}",
        f"--datadir={folder}",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(FRESHCLAM_TIMEOUT):
            raw, _ = await process.communicate()
    except TimeoutError:
        process.kill()
        await process.wait()
        raw = b"(timed out)"
    output = "\n".join(raw.decode(errors="replace").splitlines()[-20:])
    changed = _snapshot(folder) != before
    ok = process.returncode == 0
    if not ok:
        log.warning("freshclam failed (exit %s) with mirror %s:\n%s", process.returncode, mirror, output)
    copy = embedded_copy(settings)
    if copy is not None:
        # The embedded clamd reads its copy: bring it up to date from the folder (even after a
        # failed run, which may have changed a file before failing).
        changed = await asyncio.to_thread(sync_signatures, folder, copy)
    reloaded = False
    if changed:
        await scanner.reload()
        reloaded = True
        log.info("ClamAV signatures updated from %s; clamd reloads them", mirror)
    return UpdateResult(ok=ok, changed=changed, reloaded=reloaded, output=output)


def parse_version(reply: str) -> tuple[str | None, datetime | None]:
    """(database version, build time) from clamd's VERSION reply; Nones when it has none.

    clamd formats the time with ctime(), in its host's local time zone (read here in this
    process's zone: the embedded clamd runs on this host)."""
    parts = reply.split("/", 2)
    if len(parts) != 3:
        return None, None
    version = parts[1].strip() or None
    try:
        built = datetime.strptime(" ".join(parts[2].split()), "%a %b %d %H:%M:%S %Y").astimezone()
    except ValueError:
        return version, None
    return version, built


async def age(scanner: ClamAV, folder: Path | None) -> SignatureAge:
    """How old the loaded signatures are (see the module docstring)."""
    version: str | None = None
    try:
        version, built = parse_version(await scanner.version(min(scanner.timeout, 5.0)))
    except ScanError:
        built = None
    if built is not None:
        return SignatureAge(version, built.astimezone(UTC), "clamd")
    if folder is not None:
        times = await asyncio.to_thread(lambda: [mtime for _, mtime in _snapshot(folder).values()])
        if times:
            return SignatureAge(version, datetime.fromtimestamp(max(times) / 1e9, UTC), "files")
    return SignatureAge(version, None, None)


def stale(settings: Settings, found: SignatureAge, now: datetime) -> bool:
    seconds = found.age_seconds(now)
    return seconds is not None and seconds > settings.clamav_signatures_stale_hours * 3600


__all__ = [
    "SignatureAge",
    "UpdateResult",
    "age",
    "database_folder",
    "embedded_copy",
    "freshclam_config",
    "parse_version",
    "signature_folder",
    "stale",
    "update",
]
