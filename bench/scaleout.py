"""Scale-out, shown: the public lookup with one app process and with two behind one address
(uvicorn's workers share the listening socket), against the same PostgreSQL, driven in turn by
wrk. On this 2-core machine PostgreSQL and wrk share the cores with the app, so two processes
cannot double the figure; the ratio shows the trend.

Run: `python -m bench.scaleout`.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from bench.lookup import CODES_SQL, CONCURRENCY, QUERY, requests_for
from bench.servers import SECONDS, dataset, interleaved, ratio, running, sample, start_app


def measure(pg: Any, logs: Path, *, seconds: float = SECONDS) -> list[Any]:
    codes = sample(pg.dsn, CODES_SQL)
    requests = requests_for(codes, QUERY, '"statusLabel"')
    one = start_app(pg.database_url, logs)
    two = start_app(pg.database_url, logs, workers=2)
    with running(one, two):
        return interleaved(
            [("1 process", one, requests, None), ("2 processes", two, requests, None)],
            concurrency=CONCURRENCY,
            seconds=seconds,
        )


def report(rows: list[Any]) -> None:
    print(f"\nScale-out: public lookup, {CONCURRENCY} concurrent clients, one address")
    print(f"{'app':14s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'errors':>7s}")
    for name, r in rows:
        print(f"{name:14s} {r['rps']:8.0f} {r['p50']:8.1f} {r['p99']:8.1f} {r['errors']:7d}")
    print(f"2 processes vs 1: {ratio(rows[1][1]['rps'], rows[0][1]['rps'])}")


def main() -> None:
    with dataset() as pg, tempfile.TemporaryDirectory(prefix="dvc-bench-scaleout-") as logs:
        report(measure(pg, Path(logs)))


if __name__ == "__main__":
    main()
