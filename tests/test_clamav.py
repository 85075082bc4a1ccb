"""Malware scanning with a real clamd: the embedded daemon (devservers.clamd) and the asyncio client
(storage.clamav) speaking zINSTREAM over its Unix socket.

clamd is installed from the distribution's packages by scripts/install-clamav.sh when missing
and started with assets/clamav/test.hdb, the one-line hash signature of the EICAR test file.
The EICAR string is assembled here from parts, so this file is not itself "infected".
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import tempfile
import time
import tracemalloc
import zipfile
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from devservers import EmbeddedClamd, clamd_binary, start_clamd
from storage import signatures
from storage.clamav import UNREACHABLE, ClamAV, ScanError, ScanResult

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
TEST_HDB = ROOT / "assets" / "clamav" / "test.hdb"
MiB = 1024 * 1024

EICAR = b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$" + b"EICAR-STANDARD-ANTIVIRUS" + b"-TEST-FILE!$H+H*"


def test_eicar_matches_the_shipped_signature() -> None:
    assert len(EICAR) == 68
    md5, size, name = TEST_HDB.read_text().strip().split(":")
    assert (hashlib.md5(EICAR).hexdigest(), str(len(EICAR))) == (md5, size)
    assert name == "Eicar-Test-Signature"


def installed() -> None:
    """clamd and freshclam, installed by the project's own script when missing (never a skip)."""
    if clamd_binary() is None or shutil.which("freshclam") is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "install-clamav.sh")], check=True, timeout=600)
    assert clamd_binary() is not None
    assert shutil.which("freshclam") is not None


@pytest.fixture(scope="module")
def clamd_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedClamd]:
    installed()
    handle = start_clamd(tmp_path_factory.mktemp("clamd"), signatures=TEST_HDB)
    yield handle
    handle.stop()


async def _chunks(
    count: int, size: int = MiB, *, tail: bytes = b"", pulled: list[int] | None = None
) -> AsyncIterator[bytes]:
    """`count` fresh chunks of zeros, then `tail`; `pulled` records how many were asked for."""
    for _ in range(count):
        if pulled is not None:
            pulled.append(size)
        yield bytes(size)
    if tail:
        yield tail


async def _from_buffer(data: bytes, size: int = MiB) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


# ------------------------------------------------------------------------------- the daemon


async def test_ping_and_version(clamd_server: EmbeddedClamd) -> None:
    scanner = ClamAV(clamd_server.socket_path)
    assert await scanner.ping() is True
    assert (await scanner.version()).startswith("ClamAV ")


def test_socket_and_files_stay_in_the_data_dir(clamd_server: EmbeddedClamd) -> None:
    assert clamd_server.socket.parent == clamd_server.data_dir
    assert clamd_server.socket.is_socket()
    assert oct(clamd_server.socket.stat().st_mode & 0o777) == "0o600"
    assert (clamd_server.data_dir / "signatures" / "test.hdb").read_bytes() == TEST_HDB.read_bytes()
    conf = (clamd_server.data_dir / "clamd.conf").read_text()
    assert "TCPSocket" not in conf  # no network listener at all
    assert "StreamMaxLength 250M" in conf
    assert "Loaded 1 signature" in clamd_server.log_path.read_text()


# ------------------------------------------------------------------------------------ scans


async def test_eicar_is_found(clamd_server: EmbeddedClamd) -> None:
    result = await ClamAV(clamd_server.socket_path).scan_bytes(EICAR)
    assert result.infected
    assert not result.clean
    assert result.signature is not None
    assert "Eicar" in result.signature


async def test_eicar_split_into_tiny_chunks_is_found(clamd_server: EmbeddedClamd) -> None:
    result = await ClamAV(clamd_server.socket_path, chunk=7).scan_bytes(EICAR)
    assert result.signature == "Eicar-Test-Signature.UNOFFICIAL"


async def test_clean_bytes(clamd_server: EmbeddedClamd) -> None:
    scanner = ClamAV(clamd_server.socket_path)
    assert await scanner.scan_bytes("Đơn đề nghị cấp giấy phép xây dựng".encode()) == ScanResult(clean=True)
    assert await scanner.scan_bytes(b"") == ScanResult(clean=True)
    assert (await scanner.scan_bytes(EICAR[:-1])).clean  # a hash signature needs the exact file


async def test_30_mb_are_streamed_chunk_by_chunk(clamd_server: EmbeddedClamd) -> None:
    pulled: list[int] = []
    tracemalloc.start()
    try:
        result = await ClamAV(clamd_server.socket_path).scan_stream(_chunks(30, pulled=pulled))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert result.clean
    assert sum(pulled) == 30 * MiB
    assert peak < 8 * MiB, f"{peak / MiB:.1f} MiB held while streaming 30 MiB"


async def test_eicar_inside_an_archive_after_5_mb(clamd_server: EmbeddedClamd) -> None:
    """clamd unpacks the archive and hashes each member, wherever it is in the stream."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        archive.writestr("scan.pdf", bytes(5 * MiB))
        archive.writestr("readme.com", EICAR)
    data = buffer.getvalue()
    assert data.index(EICAR) > 5 * MiB
    result = await ClamAV(clamd_server.socket_path).scan_stream(_from_buffer(data))
    assert result.signature is not None
    assert "Eicar" in result.signature


async def test_source_errors_propagate_unchanged(clamd_server: EmbeddedClamd) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield bytes(MiB)
        raise OSError("S3 read failed")

    started = time.monotonic()
    with pytest.raises(OSError, match="S3 read failed"):
        await ClamAV(clamd_server.socket_path).scan_stream(broken())
    assert time.monotonic() - started < 5
    assert await ClamAV(clamd_server.socket_path).ping()  # clamd is not disturbed


@pytest.fixture(scope="module")
def body_signature_server(
    tmp_path_factory: pytest.TempPathFactory, clamd_server: EmbeddedClamd
) -> Iterator[EmbeddedClamd]:
    """A second clamd with a signature folder: test.hdb plus an EICAR *body* signature (.ndb),
    and an 8 MiB stream limit."""
    signatures = tmp_path_factory.mktemp("signatures")
    shutil.copy(TEST_HDB, signatures / "test.hdb")
    (signatures / "test.ndb").write_text(f"Eicar-Test-Body:0:*:{EICAR.hex()}\n")
    handle = start_clamd(
        tmp_path_factory.mktemp("clamd-body"), signatures=signatures, stream_max_length=8 * MiB
    )
    yield handle
    handle.stop()


async def test_eicar_after_5_mb_of_zeros_is_found_by_a_body_signature(
    clamd_server: EmbeddedClamd, body_signature_server: EmbeddedClamd
) -> None:
    # A hash signature (.hdb, like the EICAR line in test.hdb and the official EICAR_HDB one)
    # matches whole files only: EICAR bytes inside a larger file are not that file.
    hash_only = await ClamAV(clamd_server.socket_path).scan_stream(_chunks(5, tail=EICAR))
    assert hash_only.clean
    # A body signature matches anywhere in the stream, also after megabytes of other data.
    result = await ClamAV(body_signature_server.socket_path).scan_stream(_chunks(5, tail=EICAR))
    assert result.signature == "Eicar-Test-Body.UNOFFICIAL"


async def test_stream_over_the_limit_is_an_error_not_a_verdict(body_signature_server: EmbeddedClamd) -> None:
    pulled: list[int] = []
    with pytest.raises(ScanError, match="StreamMaxLength") as caught:
        await ClamAV(body_signature_server.socket_path).scan_stream(_chunks(20, pulled=pulled))
    assert caught.value.kind == "too_large"
    assert "size limit exceeded" in str(caught.value)
    assert sum(pulled) < 20 * MiB  # the rest of the source was not read
    assert await ClamAV(body_signature_server.socket_path).ping()


async def test_refresh_signatures_reloads_updated_ones(tmp_path_factory: pytest.TempPathFactory) -> None:
    source = tmp_path_factory.mktemp("freshclam")
    shutil.copy(TEST_HDB, source / "test.hdb")
    handle = start_clamd(tmp_path_factory.mktemp("clamd-reload"), signatures=source)
    try:
        scanner = ClamAV(handle.socket_path, timeout=5)
        assert (await scanner.scan_stream(_chunks(1, tail=EICAR))).clean
        assert handle.refresh_signatures() is False  # nothing changed: no reload
        (source / "test.ndb").write_text(f"Eicar-Test-Body:0:*:{EICAR.hex()}\n")
        assert handle.refresh_signatures() is True
        deadline = time.monotonic() + 20
        while (await scanner.scan_stream(_chunks(1, tail=EICAR))).clean:
            assert time.monotonic() < deadline, "clamd did not reload its signatures"
            await asyncio.sleep(0.1)
        assert sorted(p.name for p in (handle.data_dir / "signatures").iterdir()) == ["test.hdb", "test.ndb"]
    finally:
        handle.stop()


# ---------------------------------------------------------------------------- no clamd there


async def test_stopped_clamd_raises_scan_error_quickly(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A data folder too long for a Unix socket path gets its socket in a short private folder."""
    installed()
    data_dir = tmp_path_factory.mktemp("long") / ("d" * 60) / ("e" * 60)
    handle = start_clamd(data_dir, signatures=TEST_HDB, timeout=30)
    try:
        assert len(os.fsencode(handle.socket)) <= 107
        assert handle.socket.parent != handle.data_dir
        assert handle.socket.parent.name.startswith("clamd-")
        scanner = ClamAV(handle.socket_path, timeout=2)
        assert (await scanner.scan_bytes(EICAR)).infected
    finally:
        handle.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(handle.pid, 0)
    assert not handle.socket.exists()
    assert not handle.socket.parent.exists()
    handle.stop()  # idempotent

    started = time.monotonic()
    with pytest.raises(ScanError, match=UNREACHABLE) as caught:
        await scanner.scan_bytes(b"hello")
    assert caught.value.kind == "unavailable"
    assert await scanner.ping() is False
    with pytest.raises(ScanError, match=UNREACHABLE):
        await scanner.version()
    assert time.monotonic() - started < 2


async def test_clamd_stopped_during_a_stream(tmp_path_factory: pytest.TempPathFactory) -> None:
    handle = start_clamd(tmp_path_factory.mktemp("clamd-stop"), signatures=TEST_HDB)

    async def source() -> AsyncIterator[bytes]:
        for index in range(200):
            if index == 3:
                await asyncio.to_thread(handle.stop)
            yield bytes(MiB)

    try:
        started = time.monotonic()
        with pytest.raises(ScanError, match=UNREACHABLE):
            await ClamAV(handle.socket_path, timeout=3).scan_stream(source())
        assert time.monotonic() - started < 15
    finally:
        handle.stop()
    with pytest.raises(ProcessLookupError):
        os.kill(handle.pid, 0)


async def test_missing_socket() -> None:
    with pytest.raises(ScanError, match=UNREACHABLE) as caught:
        await ClamAV("/nonexistent/clamd.sock", timeout=1).scan_bytes(EICAR)
    assert caught.value.kind == "unavailable"


@contextlib.asynccontextmanager
async def _fake_clamd(reply: bytes | None) -> AsyncIterator[str]:
    """A Unix socket server that reads one INSTREAM and answers `reply` (None: never answers)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\0")
            while True:
                size = int.from_bytes(await reader.readexactly(4), "big")
                if size == 0:
                    break
                await reader.readexactly(size)
            if reply is None:
                await reader.read()  # until the client gives up
            else:
                writer.write(reply + b"\0")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    with tempfile.TemporaryDirectory(prefix="fakeclamd-", dir="/tmp") as folder:
        path = os.path.join(folder, "s")
        server = await asyncio.start_unix_server(handle, path)
        try:
            yield path
        finally:
            server.close()
            await server.wait_closed()


async def test_server_that_never_answers_times_out() -> None:
    async with _fake_clamd(None) as path:
        started = time.monotonic()
        with pytest.raises(ScanError, match="không trả kết quả") as caught:
            await ClamAV(path, timeout=0.5).scan_bytes(b"data")
        assert caught.value.kind == "timeout"
        assert await ClamAV(path, timeout=0.5).ping() is False
        assert time.monotonic() - started < 3


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (b"stream: OK", ScanResult(clean=True)),
        (b"stream: Win.Test.EICAR_HDB-1 FOUND", ScanResult(clean=False, signature="Win.Test.EICAR_HDB-1")),
        (
            b"1: stream: Heuristics.Limits.Exceeded.MaxFileSize FOUND",
            ScanResult(False, "Heuristics.Limits.Exceeded.MaxFileSize"),
        ),
        (b"INSTREAM size limit exceeded. ERROR", "too_large"),
        (b"stream: Can't allocate memory ERROR", "error"),
        (b"stream: FOUND", "error"),
        (b"UNKNOWN COMMAND", "error"),
    ],
)
async def test_replies_are_parsed(reply: bytes, expected: ScanResult | str) -> None:
    async with _fake_clamd(reply) as path:
        scanner = ClamAV(path, timeout=2)
        if isinstance(expected, ScanResult):
            assert await scanner.scan_bytes(b"x" * 10) == expected
        else:
            with pytest.raises(ScanError) as caught:
                await scanner.scan_bytes(b"x" * 10)
            assert caught.value.kind == expected
            assert reply.decode() in str(caught.value)


# --------------------------------------------------------------------------- start failures


def test_start_fails_with_the_log_on_a_bad_signature_file(
    tmp_path: Path, clamd_server: EmbeddedClamd
) -> None:
    bad = tmp_path / "bad.hdb"
    bad.write_text("this is not a signature\n")
    with pytest.raises(RuntimeError, match="Malformed database"):
        start_clamd(tmp_path / "data", signatures=bad, timeout=30)
    assert not (tmp_path / "data" / "clamd.sock").exists()


def test_start_fails_without_signatures(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(RuntimeError, match="no ClamAV signature files"):
        start_clamd(tmp_path / "data", signatures=tmp_path / "empty")
    with pytest.raises(RuntimeError, match="not found"):
        start_clamd(tmp_path / "data", signatures=tmp_path / "missing.hdb")


def test_restart_replaces_an_orphaned_clamd(tmp_path_factory: pytest.TempPathFactory) -> None:
    """A clamd left behind by a killed app (its starter gone) is killed on the next start."""
    data_dir = tmp_path_factory.mktemp("clamd-orphan")
    first = start_clamd(data_dir, signatures=TEST_HDB)
    (data_dir / "clamd.owner").write_text("999999999\n")  # pretend the starter died
    second = start_clamd(data_dir, signatures=TEST_HDB)
    try:
        assert second.pid != first.pid
        assert not first.running
    finally:
        second.stop()
        first.stop()


async def test_the_age_of_test_signatures_comes_from_the_files(
    clamd_server: EmbeddedClamd, tmp_path: Path
) -> None:
    """clamd gives no date for a custom .hdb: the newest file's mtime stands in, and says so."""
    scanner = ClamAV(clamd_server.socket_path)
    folder = clamd_server.data_dir / "signatures"
    found = await signatures.age(scanner, folder)
    mtime = datetime.fromtimestamp((folder / "test.hdb").stat().st_mtime, UTC)
    assert (found.version, found.dated_by) == (None, "files")
    assert found.built_at is not None
    assert abs((found.built_at - mtime).total_seconds()) < 1e-3
    assert await signatures.age(scanner, None) == signatures.SignatureAge(None, None, None)
