"""The scale benchmark (issue 15): the 1M and the 5M data sets side by side, in one run.

a. Province-wide statistics for the calendar year 2025 (every grouping) and the 766 index:
   p50/p95/max over `--runs` runs (30 by default) on 1M and on 5M; target p95 ≤ 100 ms.
b. One busy agency's month (statistics and the index): target p95 ≤ 20 ms.
c. The public lookup `dossierStatus(code)` through one app process on each data set, driven in
   turn by wrk with bench/lookup.py's 64 clients: p50/p99 and the ratio 5M/1M (target ≤ 1.15×:
   lookup latency does not grow with the data).
d. On 5M: the lookup with two app processes (one address) reading a streaming replica
   (DATABASE_READ_URLS; made here with pg_basebackup, removed afterwards) against one app
   process on the primary alone: req/s and p99, the ratio (target ≥ 1.0×). Both sides are
   driven unmeasured for BENCH_WARM_SECONDS (20) first: the new replica's buffers are cold.

(a) and (b) time the service calls the resolvers make, in process, over each data set's own facts
(bench/scale_stats.py). Every figure is printed with its target and "met" or "missed".

Disk: the 5M set takes about 30 GB (the 1M one 5.6 GB), the replica of it as much again for the
length of (d). The benchmark checks the free space before loading the 5M set and before making
the replica, and refuses with the figures when it is short. The data sets: `BENCH_DATA_DIR`
(var/bench, `BENCH_DOSSIERS` dossiers, 1M) and `BENCH_5M_DATA_DIR` (var/bench5m,
`BENCH_5M_DOSSIERS`, 5M), each loaded on first use by bench.servers.dataset.

Run: `python -m bench.scale [--runs 30]` (or `python -m bench scale`); `BENCH_SECONDS` sets the
seconds of load per server in (c) and (d).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg

from bench import scale_stats
from bench.lookup import CODES_SQL, CONCURRENCY, QUERY, requests_for
from bench.servers import DATA_DIR, ROOT, SECONDS, dataset, interleaved, load, running, sample, start_app
from devservers import find_free_port

DATA_5M = Path(os.environ.get("BENCH_5M_DATA_DIR", ROOT / "var" / "bench5m"))
DOSSIERS_1M = int(os.environ.get("BENCH_DOSSIERS", "1000000"))
DOSSIERS_5M = int(os.environ.get("BENCH_5M_DOSSIERS", "5000000"))
BYTES_PER_DOSSIER = 6_000  # the 1M set takes 5.6 GB on disk: about 30 GB for 5M
MARGIN = 2 * 1024**3  # left free for WAL, sorts and the rest of the machine
LOOKUP_RATIO_TARGET = 1.15  # 5M/1M lookup latency: "unchanged"
SCALE_OUT_TARGET = 1.0  # two processes and a replica against one process on the primary
WARM_SECONDS = float(os.environ.get("BENCH_WARM_SECONDS", "20"))  # (d): unmeasured load first
GB = 1024**3


def folder_size(path: Path) -> int:
    """Bytes under `path` (0 when it does not exist)."""
    if not path.exists():
        return 0
    return sum(
        (Path(top) / name).stat().st_size
        for top, _, names in os.walk(path)
        for name in names
        if not (Path(top) / name).is_symlink()
    )


def free_bytes(path: Path) -> int:
    """Free bytes on the file system that holds (or will hold) `path`."""
    existing = path
    while not existing.exists():
        existing = existing.parent
    return shutil.disk_usage(existing).free


def check_disk(path: Path, need: int, what: str) -> None:
    """Refuse, with the figures, when `need` bytes (and a margin) are not free where `path` goes."""
    free = free_bytes(path)
    if need + MARGIN > free:
        raise SystemExit(
            f"not enough disk for {what} in {path}: it needs about {need / GB:.1f} GB "
            f"(plus {MARGIN / GB:.0f} GB to spare), {free / GB:.1f} GB are free. Free some space "
            "(`df -h`), or point BENCH_5M_DATA_DIR at a larger disk."
        )


def check_dataset_disk(data_dir: Path, dossiers: int) -> None:
    """Before loading: the data set's estimated size less what is already there."""
    there = folder_size(data_dir)
    need = max(0, dossiers * BYTES_PER_DOSSIER - there)
    if need > 0:
        print(
            f"{data_dir}: {there / GB:.1f} GB there; about {need / GB:.1f} GB more needed on disk "
            f"if its {dossiers:,} dossiers are still to be loaded",
            flush=True,
        )
    check_disk(data_dir, need, f"the {dossiers:,}-dossier data set")


def verdict(ok: bool) -> str:
    return "met" if ok else "missed"


# -- (c) lookup latency, 1M against 5M ------------------------------------------------------------


def lookups(small: Any, large: Any, logs: Path, seconds: float) -> list[tuple[str, dict[str, Any] | None]]:
    """One app process on each data set, driven in turn (the machine's noise falls on both)."""
    one = start_app(small.database_url, logs)
    five = start_app(large.database_url, logs)
    with running(one, five):
        return interleaved(
            [
                ("1M", one, requests_for(sample(small.dsn, CODES_SQL), QUERY, '"statusLabel"'), None),
                ("5M", five, requests_for(sample(large.dsn, CODES_SQL), QUERY, '"statusLabel"'), None),
            ],
            concurrency=CONCURRENCY,
            seconds=seconds,
        )


def report_lookups(rows: list[tuple[str, dict[str, Any] | None]]) -> None:
    print(f"\nPublic lookup dossierStatus(code), {CONCURRENCY} clients, one app process per data set")
    print(f"{'data set':10s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'errors':>7s}")
    for name, r in rows:
        assert r is not None
        print(f"{name:10s} {r['rps']:8.0f} {r['p50']:8.1f} {r['p99']:8.1f} {r['errors']:7d}")
    one, five = (r for _, r in rows)
    assert one is not None
    assert five is not None
    for key in ("p50", "p99"):
        ratio = five[key] / one[key] if one[key] else float("nan")
        print(
            f"lookup {key} 5M/1M: {ratio:.2f}× (target ≤ {LOOKUP_RATIO_TARGET}×: {verdict(ratio <= LOOKUP_RATIO_TARGET)})"
        )


# -- (d) two app processes on a replica against one on the primary ---------------------------------


async def _replica_transactions(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database"))
    finally:
        await conn.close()


async def _caught_up(primary_dsn: str, replica_dsn: str, within: float = 600.0) -> None:
    conn = await asyncpg.connect(primary_dsn)
    try:
        target = await conn.fetchval("SELECT pg_current_wal_lsn()::text")
    finally:
        await conn.close()
    async with asyncio.timeout(within):
        while True:  # polling another server: nothing to wait on
            standby = await asyncpg.connect(replica_dsn)
            try:
                if await standby.fetchval(f"SELECT pg_last_wal_replay_lsn() >= '{target}'::pg_lsn"):
                    return
            finally:
                await standby.close()
            await asyncio.sleep(0.2)


@contextlib.contextmanager
def replica_of(primary: Any, data_dir: Path) -> Iterator[Any]:
    """A streaming replica of `primary` (pg_basebackup), stopped and removed afterwards."""
    from devservers import start_replica

    check_disk(data_dir, folder_size(primary.data_dir), "a replica of the 5M data set")
    shutil.rmtree(data_dir, ignore_errors=True)
    print(f"making a streaming replica in {data_dir} (pg_basebackup) …", flush=True)
    replica = start_replica(primary, data_dir, port=find_free_port())
    try:
        asyncio.run(_caught_up(primary.dsn, replica.dsn))
        yield replica
    finally:
        replica.stop()
        shutil.rmtree(data_dir, ignore_errors=True)


def scale_out(large: Any, replica: Any, logs: Path, seconds: float) -> tuple[list[Any], int]:
    """Two app processes reading the replica against one on the primary alone; the replica's
    transactions during the run (the reads did land on it)."""
    requests = requests_for(sample(large.dsn, CODES_SQL), QUERY, '"statusLabel"')
    alone = start_app(large.database_url, logs)
    two = start_app(large.database_url, logs, workers=2, env={"DATABASE_READ_URLS": replica.database_url})
    with running(alone, two):
        # A replica just made by pg_basebackup has cold buffers, where one in service is warm
        # (as the primary is from the runs before): both sides are driven unmeasured first.
        for server in (two, alone):
            load(server, requests, concurrency=CONCURRENCY, seconds=WARM_SECONDS, warmup=0.0)
        before = asyncio.run(_replica_transactions(replica.dsn))
        rows = interleaved(
            [("1 process, primary", alone, requests, None), ("2 processes + replica", two, requests, None)],
            concurrency=CONCURRENCY,
            seconds=seconds,
        )
        return rows, asyncio.run(_replica_transactions(replica.dsn)) - before


def report_scale_out(rows: list[Any], on_replica: int) -> None:
    print(
        f"\nLookups on 5M, {CONCURRENCY} clients: two app processes reading a replica against one on the primary"
    )
    print(f"{'app':24s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'errors':>7s}")
    for name, r in rows:
        print(f"{name:24s} {r['rps']:8.0f} {r['p50']:8.1f} {r['p99']:8.1f} {r['errors']:7d}")
    alone, two = (r for _, r in rows)
    ratio = two["rps"] / alone["rps"] if alone["rps"] else float("nan")
    print(f"transactions on the replica during the runs: {on_replica:,}")
    print(
        f"req/s 2 processes + replica / 1 process: {ratio:.2f}× (target ≥ {SCALE_OUT_TARGET}×: {verdict(ratio >= SCALE_OUT_TARGET)})"
    )
    print(f"p99 2 processes + replica / 1 process: {two['p99'] / alone['p99']:.2f}×")


# -- the run ---------------------------------------------------------------------------------------


def run(small: Any, large: Any, *, runs: int, seconds: float, replica_dir: Path) -> None:
    """Everything on two running data sets (`small`: 1M, `large`: 5M; PostgreSQL handles)."""
    for name, pg in (("1M", small), ("5M", large)):
        scale_stats.report(name, asyncio.run(scale_stats.measure(pg.database_url, runs)))
    with tempfile.TemporaryDirectory(prefix="dvc-bench-scale-") as logs:
        report_lookups(lookups(small, large, Path(logs), seconds))
        with replica_of(large, replica_dir) as replica:
            report_scale_out(*scale_out(large, replica, Path(logs), seconds))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="The 1M and 5M data sets: statistics, index, lookups.")
    parser.add_argument("--runs", type=int, default=30, help="timed runs of each statistics call")
    args = parser.parse_args(argv)
    check_dataset_disk(DATA_DIR, DOSSIERS_1M)
    check_dataset_disk(DATA_5M, DOSSIERS_5M)
    replica_dir = DATA_5M.parent / f"{DATA_5M.name}-replica"
    with dataset(DATA_DIR, DOSSIERS_1M) as small, dataset(DATA_5M, DOSSIERS_5M) as large:
        run(small, large, runs=args.runs, seconds=SECONDS, replica_dir=replica_dir)


if __name__ == "__main__":
    main()
