"""Signature updates with a real clamd: freshclam run by the service against the configured mirror
(a local HTTP server), the embedded clamd and an external one reloading what it wrote, and the
app updating on its schedule only when a mirror is set."""

from __future__ import annotations

import asyncio
import contextlib
import http.server
import shutil
import sys
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from core.settings import Settings
from devservers import EmbeddedClamd, start_clamd
from storage import signatures
from storage.clamav import ClamAV
from tests.conftest import Servers
from tests.live.conftest import app_process
from tests.test_clamav import TEST_HDB, installed

pytestmark = pytest.mark.slow

# ----------------------------------------------------------------------- signature updates

# A body signature (.ndb) the stand-in for freshclam adds: it matches this marker anywhere.
MARKER = b"dvc-signature-update-test-" + b"7f3a9c1e"
NEW_SIGNATURE = f"Dvc-Test-Update:0:*:{MARKER.hex()}\n"
# Stands in for freshclam (same arguments): records each run, writes the new signature file
# into --datadir. A real program run by the service, not a mock: only the download is missing.
FAKE_FRESHCLAM = f"""#!{sys.executable}
import sys, time
from pathlib import Path
args = dict(a.split("=", 1) for a in sys.argv[1:] if a.startswith("--"))
conf = Path(args["--config-file"]).read_text()
with open(Path(sys.argv[0]).with_suffix(".runs"), "a") as runs:
    runs.write(f"{{time.time()}} {{args['--datadir']}} {{conf.count('PrivateMirror')}}\\n")
target = Path(args["--datadir"]) / "dvc-update.ndb"
if not target.exists() or target.read_text() != {NEW_SIGNATURE!r}:  # up to date: left alone
    target.write_text({NEW_SIGNATURE!r})
"""


def _fake_freshclam(folder: Path) -> Path:
    script = folder / "fake-freshclam"
    script.write_text(FAKE_FRESHCLAM)
    script.chmod(0o755)
    return script


def _runs(script: Path) -> list[str]:
    runs = script.with_suffix(".runs")
    return runs.read_text().splitlines() if runs.exists() else []


@contextlib.contextmanager
def _mirror() -> Iterator[tuple[str, list[str]]]:
    """A local HTTP "mirror" holding no database: it records the paths asked for (404 to all)."""
    asked: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            self.send_error(404)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", asked
    finally:
        server.shutdown()
        server.server_close()


def _signature_settings(data_dir: Path, socket_path: str, **changes: Any) -> Settings:
    return Settings(
        jwt_secret="x" * 32,
        data_dir=data_dir,
        clamd_socket=socket_path,
        clamav_mirror_url="http://127.0.0.1:9",
        **changes,
    )


async def _detected(scanner: ClamAV, seconds: float = 20) -> str:
    deadline = time.monotonic() + seconds
    while (result := await scanner.scan_bytes(b"prefix " + MARKER + b" suffix")).clean:
        assert time.monotonic() < deadline, "clamd did not load the new signature"
        await asyncio.sleep(0.1)
    assert result.signature is not None
    return result.signature


async def test_the_real_freshclam_asks_the_configured_mirror(tmp_path: Path) -> None:
    """freshclam (Debian's clamav-freshclam) accepts the generated configuration and goes to the
    mirror configured, nowhere else; with no database there the update fails: nothing reloads."""
    await asyncio.to_thread(installed)
    with _mirror() as (url, asked):
        settings = Settings(
            jwt_secret="x" * 32, data_dir=tmp_path, clamav_mirror_url=url, clamav_signatures=tmp_path / "db"
        )
        # An unreachable clamd: a reload would raise, so none is attempted.
        result = await signatures.update(settings, ClamAV(str(tmp_path / "none.sock"), timeout=1))
    assert (result.ok, result.changed, result.reloaded) == (False, False, False)
    assert asked
    assert set(asked) <= {"/daily.cld", "/daily.cvd", "/main.cvd", "/main.cld", "/bytecode.cvd"}
    assert "/daily.cvd" in asked, asked
    assert "Update failed" in result.output


async def test_an_update_reaches_the_embedded_clamd(tmp_path: Path) -> None:
    """The folder freshclam writes is the embedded clamd's source: its copy is refreshed and
    clamd reloads, then finds what only the new signature describes."""
    database = tmp_path / "database"
    database.mkdir()
    shutil.copy(TEST_HDB, database / "test.hdb")
    handle = start_clamd(tmp_path / "clamav", signatures=database)
    try:
        scanner = ClamAV(handle.socket_path, timeout=5)
        assert (await scanner.scan_bytes(b"prefix " + MARKER + b" suffix")).clean
        script = _fake_freshclam(tmp_path)
        settings = _signature_settings(
            tmp_path, handle.socket_path, clamav_signatures=database, freshclam_command=str(script)
        )
        assert signatures.embedded_copy(settings) == handle.data_dir / "signatures"
        result = await signatures.update(settings, scanner)
        assert (result.ok, result.changed, result.reloaded) == (True, True, True)
        assert await _detected(scanner) == "Dvc-Test-Update.UNOFFICIAL"
        assert (handle.data_dir / "signatures" / "dvc-update.ndb").read_text() == NEW_SIGNATURE
        [run] = _runs(script)
        assert run.split()[1:] == [str(database), "1"]  # --datadir, and the mirror in the config
        again = await signatures.update(settings, scanner)  # nothing new: no reload
        assert (again.ok, again.changed, again.reloaded) == (True, False, False)
    finally:
        handle.stop()


async def test_an_update_reaches_an_external_clamd_by_reload(tmp_path: Path) -> None:
    """An external clamd (not under DATA_DIR): freshclam writes its DatabaseDirectory
    (CLAMAV_SIGNATURES), and the RELOAD command makes it load the new file."""
    handle = start_clamd(tmp_path / "elsewhere", signatures=TEST_HDB)
    try:
        scanner = ClamAV(handle.socket_path, timeout=5)
        settings = _signature_settings(
            tmp_path / "app",
            handle.socket_path,
            clamav_signatures=handle.data_dir / "signatures",
            freshclam_command=str(_fake_freshclam(tmp_path)),
        )
        assert signatures.embedded_copy(settings) is None
        result = await signatures.update(settings, scanner)
        assert (result.ok, result.changed, result.reloaded) == (True, True, True)
        assert await _detected(scanner) == "Dvc-Test-Update.UNOFFICIAL"
    finally:
        handle.stop()


def test_clamd_version_line_is_parsed() -> None:
    version, built = signatures.parse_version("ClamAV 1.4.6/27850/Tue Nov 25 09:30:00 2026")
    assert version == "27850"
    assert built is not None
    assert built == datetime(2026, 11, 25, 9, 30).astimezone()  # clamd: ctime(), local time
    assert signatures.parse_version("ClamAV 1.4.6") == (None, None)


def _live_env(tmp_path: Path, handle: EmbeddedClamd, database: Path, script: Path) -> dict[str, str]:
    return {
        "DATA_DIR": str(tmp_path),
        "CLAMD_SOCKET": handle.socket_path,
        "CLAMAV_SIGNATURES": str(database),
        "FRESHCLAM_COMMAND": str(script),
        "CLAMAV_UPDATE_INTERVAL_SECONDS": "1",
        "JOBS_INTERVAL_MINUTES": "0",
        "PAYMENT_JOBS_INTERVAL_SECONDS": "0",
    }


async def test_the_app_updates_on_schedule_only_with_a_mirror(servers: Servers, tmp_path: Path) -> None:
    """A running app process with CLAMAV_MIRROR_URL runs the updater every interval and its
    clamd then finds the new signature; /readyz and /metrics carry the signatures' age. Without
    a mirror the updater never runs."""
    database = tmp_path / "database"
    database.mkdir()
    shutil.copy(TEST_HDB, database / "test.hdb")
    handle = start_clamd(tmp_path / "clamav", signatures=database)
    try:
        scanner = ClamAV(handle.socket_path, timeout=5)
        script = _fake_freshclam(tmp_path)
        env = _live_env(tmp_path, handle, database, script)
        with app_process(servers, tmp_path / "app-without.log", extra_env=env) as base:
            await asyncio.sleep(3)
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                ready = (await http.get("/readyz")).json()
        assert _runs(script) == []
        assert (await scanner.scan_bytes(MARKER)).clean
        assert ready["signatures"]["updates"] is False
        assert ready["signatures"]["datedBy"] == "files"  # the embedded clamd's copy, by file time

        with (
            _mirror() as (url, _),
            app_process(
                servers, tmp_path / "app-with.log", extra_env={**env, "CLAMAV_MIRROR_URL": url}
            ) as base,
        ):
            assert await _detected(scanner, 30) == "Dvc-Test-Update.UNOFFICIAL"
            deadline = time.monotonic() + 20
            while len(_runs(script)) < 3:  # every second, not once
                assert time.monotonic() < deadline, _runs(script)
                await asyncio.sleep(0.2)
            async with httpx.AsyncClient(base_url=base, timeout=10) as http:
                response = await http.get("/readyz")
                metrics = (await http.get("/metrics")).text
        assert response.status_code == 200
        found = response.json()["signatures"]
        new_file = (handle.data_dir / "signatures" / "dvc-update.ndb").stat().st_mtime
        built = datetime.fromisoformat(found["builtAt"])
        assert abs(built.timestamp() - new_file) < 1e-3  # the newest file: the update's
        assert found["updates"] is True
        assert found["datedBy"] == "files"
        assert found["version"] is None
        assert found["stale"] is False
        assert 0 <= found["ageHours"] < 1
        [age] = [
            sample.value
            for family in text_string_to_metric_families(metrics)
            for sample in family.samples
            if sample.name == "dvc_clamav_signature_age_seconds"
        ]
        assert 0 <= age < 3600
        assert 'dated_by="files"' in metrics
    finally:
        handle.stop()
