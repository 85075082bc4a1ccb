"""What the HTTP benchmarks share: the data set's PostgreSQL, the servers under test (our app,
the raw-asyncpg baseline, PostGraphile 4), their CPU time, and the load they get from wrk."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx

from devservers import find_free_port

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
DATA_DIR = Path(os.environ.get("BENCH_DATA_DIR", ROOT / "var" / "bench"))
POSTGRAPHILE_DIR = (
    Path(os.environ.get("BENCH_POSTGRAPHILE_DIR", tempfile.gettempdir())) / "dvc-bench-postgraphile"
)
TICKS = os.sysconf("SC_CLK_TCK")
WRK_SCRIPT = Path(__file__).with_name("wrk.lua")
WRK_TIMEOUT = 10  # seconds; an answer slower than this is an error
JSON_HEADERS = {"Content-Type": "application/json"}
# Seconds of load per server for the interleaved benchmarks; BENCH_SECONDS shortens a trial run.
SECONDS = float(os.environ.get("BENCH_SECONDS", "30"))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its (waited-for) children, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(x) for x in fields[11:15]) / TICKS


@dataclass
class Server:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    log: Path

    def cpu(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def _wait(server: Server, probe: str, body: dict[str, Any] | None = None, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    url = f"http://127.0.0.1:{server.port}{probe}"
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            break
        try:
            answer = httpx.post(url, json=body, timeout=2) if body is not None else httpx.get(url, timeout=2)
            if answer.status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.3)
    server.stop()
    raise RuntimeError(f"{server.name} did not start:\n{server.log.read_text()[-3000:]}")


def _spawn(name: str, argv: list[str], env: dict[str, str], port: int, logs: Path) -> Server:
    log = logs / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    return Server(name, process, port, log)


def app_env(database_url: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "JWT_SECRET": SECRET,
        "LOAD_DEMO_DATA": "false",
        "JOBS_INTERVAL_MINUTES": "0",
        "LOG_LEVEL": "WARNING",
        # Every benchmark client comes from 127.0.0.1: the per-address lookup limit is raised so
        # that it does not refuse them, but still counted (in leases, as in production).
        "LOOKUP_RATE_LIMIT": "1000000000",
        **extra,
    }


def start_app(
    database_url: str,
    logs: Path,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
    uvicorn_args: list[str] | None = None,
) -> Server:
    """Our service as `dvc serve` runs it: uvicorn, uvloop, httptools, one process by default."""
    port = find_free_port()
    argv = [
        sys.executable, "-m", "uvicorn", "app:app", "--host", "127.0.0.1", "--port", str(port),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
        "--workers", str(workers), *(uvicorn_args or []),
    ]  # fmt: skip
    server = _spawn(
        "app" if workers == 1 else f"app-x{workers}", argv, app_env(database_url, **(env or {})), port, logs
    )
    _wait(server, "/healthz")  # /readyz also wants the object store, which these benchmarks do not use
    return server


def start_baseline(dsn: str, logs: Path) -> Server:
    """Baseline (a): a minimal Starlette app running the same SQL through raw asyncpg."""
    port = find_free_port()
    argv = [
        sys.executable, "-m", "uvicorn", "bench.baseline:app", "--host", "127.0.0.1", "--port", str(port),
        "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    server = _spawn("baseline", argv, {**os.environ, "BENCH_DSN": dsn}, port, logs)
    _wait(server, "/readyz")
    return server


def postgraphile_binary() -> Path | None:
    """PostGraphile 4 from the npm registry, installed once into a folder of its own."""
    binary = POSTGRAPHILE_DIR / "node_modules" / ".bin" / "postgraphile"
    if binary.exists():
        return binary
    npm = shutil.which("npm")
    if npm is None or shutil.which("node") is None:
        return None
    POSTGRAPHILE_DIR.mkdir(parents=True, exist_ok=True)
    (POSTGRAPHILE_DIR / "package.json").write_text('{"name": "dvc-bench-postgraphile", "private": true}')
    done = subprocess.run(
        [npm, "install", "--no-audit", "--no-fund", "postgraphile@4"],
        cwd=POSTGRAPHILE_DIR,
        capture_output=True,
        check=False,
    )
    return binary if done.returncode == 0 and binary.exists() else None


def node_dsn(socket_dir: str, database: str = "postgres") -> str:
    """node-postgres reaches a Unix socket through a URL-encoded host."""
    return f"postgres://postgres@{quote(socket_dir, safe='')}/{database}"


def start_postgraphile(connection: str, logs: Path, schemas: str = "public") -> Server | None:
    """Baseline (b): PostGraphile 4 over the same tables (production mode, no query log)."""
    binary = postgraphile_binary()
    if binary is None:
        return None
    port = find_free_port()
    argv = [
        str(binary), "-c", connection, "--schema", schemas, "--host", "127.0.0.1", "--port", str(port),
        "--disable-query-log", "--disable-graphiql", "--max-pool-size", "10", "--no-ignore-rbac",
    ]  # fmt: skip
    server = _spawn("postgraphile", argv, {**os.environ, "NODE_ENV": "production"}, port, logs)
    _wait(server, "/graphql", {"query": "{ __typename }"})
    return server


def _lua_string(text: str) -> str:
    """A Lua string literal: quotes, backslashes, control and non-ASCII bytes as decimal escapes."""
    raw = text.encode()
    return '"' + "".join(chr(b) if 32 <= b < 127 and b not in (34, 92) else f"\\{b:03d}" for b in raw) + '"'


def _wrk_data(requests: list[list[str]], headers: dict[str, str], path: Path) -> None:
    """The data file bench/wrk.lua reads: the headers and the [method, path, body, expect] list."""
    with path.open("w") as out:
        out.write("return {headers = {\n")
        for name, value in headers.items():
            out.write(f"[{_lua_string(name)}] = {_lua_string(value)},\n")
        out.write("}, requests = {\n")
        for request in requests:
            out.write("{" + ", ".join(_lua_string(part) for part in request) + "},\n")
        out.write("}}\n")


def _wrk(port: int, data: Path, *, concurrency: int, seconds: float) -> dict[str, Any]:
    argv = [
        "wrk", "-t1", f"-c{concurrency}", f"-d{max(1, round(seconds))}s", "--timeout", f"{WRK_TIMEOUT}s",
        "--latency", "-s", str(WRK_SCRIPT), f"http://127.0.0.1:{port}", "--", str(data),
    ]  # fmt: skip
    out = subprocess.run(argv, cwd=ROOT, capture_output=True, check=True).stdout.decode(errors="replace")
    result: dict[str, Any] = json.loads(next(x for x in reversed(out.splitlines()) if x.startswith("{")))
    if not result["requests"]:
        result.update(p50=float("nan"), p90=float("nan"), p99=float("nan"))
    return result


def load(
    server: Server, requests: list[list[str]], *, concurrency: int, seconds: float, warmup: float = 2.0,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Drive a server with wrk (bench/wrk.lua) after a warm-up run; add the server's CPU per request.

    One wrk thread, so that the client takes little of this 2-core machine from the server:
    about 30 µs of CPU per request. Requests are [method, path, body, expect]; an answer is good
    when its status is 2xx and its body holds `expect`, checked on every answer by wrk's
    `response` callback: measured against the fastest server (the Starlette baseline, about
    4,000 lookups/s), handing every answer to Lua costs wrk 5–6 µs more per request and the
    server's throughput did not move beyond the run-to-run noise (−2.5 % in the medians, under
    the 5 % that would have called for checking a sample only)."""
    with tempfile.TemporaryDirectory(prefix="dvc-bench-wrk-") as work:
        data = Path(work) / "requests.lua"
        _wrk_data(requests, {**JSON_HEADERS, **(headers or {})}, data)
        if warmup > 0:
            _wrk(server.port, data, concurrency=concurrency, seconds=warmup)
        cpu_before = server.cpu()
        result = _wrk(server.port, data, concurrency=concurrency, seconds=seconds)
        cpu_after = server.cpu()
    total = result["requests"] + result["errors"]
    # The window is wrk's run with its start and end (the server idle then): enough per request.
    result["cpu_ms"] = (cpu_after - cpu_before) * 1000 / total if total else float("nan")
    return result


@contextlib.contextmanager
def running(*servers: Server | None) -> Iterator[None]:
    try:
        yield
    finally:
        for server in servers:
            if server is not None:
                server.stop()


@contextlib.contextmanager
def dataset(
    data_dir: Path = DATA_DIR, dossiers: int = int(os.environ.get("BENCH_DOSSIERS", "1000000"))
) -> Iterator[Any]:
    """The data set's PostgreSQL (embedded, kept in `var/bench`); loaded on first use."""
    import asyncio

    import asyncpg

    from bench.dataset import load as load_dataset
    from bench.dataset_rows import Spec
    from core import migrate
    from devservers import EmbeddedServices

    with EmbeddedServices(data_dir, s3=False) as servers:
        pg = servers.postgres
        assert pg is not None
        migrate.upgrade(pg.database_url)  # the data set follows the schema (new indexes too)

        async def count() -> int:
            conn = await asyncpg.connect(pg.dsn)
            try:
                return int(await conn.fetchval("SELECT count(*) FROM dossiers"))
            finally:
                await conn.close()

        async def vacuum() -> None:
            """The monthly rollups as autovacuum keeps them in service: a migration that
            rewrites their rows (0035's backfill) leaves every row dead once, doubling what a
            year's statistics read until the next autovacuum."""
            conn = await asyncpg.connect(pg.dsn)
            try:
                await conn.execute(
                    "VACUUM (ANALYZE) dossier_fact_months_agency, dossier_fact_months_procedure"
                )
            finally:
                await conn.close()

        if asyncio.run(count()) == 0:
            print(f"loading the data set ({dossiers:,} dossiers) into {data_dir} …", flush=True)
            asyncio.run(load_dataset(pg.dsn, Spec(dossiers=dossiers)))
        asyncio.run(vacuum())
        yield pg


def sample(dsn: str, sql: str, *args: Any) -> list[Any]:
    import asyncio

    import asyncpg

    async def fetch() -> list[Any]:
        conn = await asyncpg.connect(dsn)
        try:
            return [tuple(r) if len(r) > 1 else r[0] for r in await conn.fetch(sql, *args)]
        finally:
            await conn.close()

    return asyncio.run(fetch())


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}×" if theirs else "n/a"


def interleaved(
    targets: list[tuple[str, Server | None, list[list[str]], dict[str, str] | None]],
    *,
    concurrency: int,
    seconds: float,
    rounds: int = 3,
) -> list[tuple[str, dict[str, Any] | None]]:
    """Drive every (running) server in turn, `rounds` times, `seconds / rounds` each: the load
    others put on this shared machine then falls on all of them alike. Figures are the medians
    over the rounds (requests and errors are summed)."""
    import statistics

    per: dict[str, list[dict[str, Any]]] = {name: [] for name, *_ in targets}
    for _ in range(rounds):
        for name, server, requests, headers in targets:
            if server is not None:
                result = load(
                    server,
                    requests,
                    concurrency=concurrency,
                    seconds=seconds / rounds,
                    warmup=1.0,
                    headers=headers,
                )
                per[name].append(result)
    out: list[tuple[str, dict[str, Any] | None]] = []
    for name, server, *_ in targets:
        runs = per[name]
        if server is None or not runs:
            out.append((name, None))
            continue
        merged = {
            key: statistics.median(r[key] for r in runs) for key in ("rps", "p50", "p90", "p99", "cpu_ms")
        }
        merged["requests"] = sum(r["requests"] for r in runs)
        merged["errors"] = sum(r["errors"] for r in runs)
        merged["first_error"] = next((r["first_error"] for r in runs if r["first_error"]), None)
        out.append((name, merged))
    return out
