"""Soak: does the server's memory stay flat under a long run of every public query?

Starts the service the way `make run` does — embedded PostgreSQL, S3 (and clamd when installed)
under a fresh data folder, migrations, the demo catalog, then one uvicorn process (uvloop,
httptools, the app's own lifespan) — and drives each anonymous query in turn with `wrk`
(32 connections by default) for a fixed time, sampling the server's resident memory (VmRSS from
/proc/<pid>/status) every few seconds. Per query it prints the requests served, the RSS after the
warm-up (the first quarter of the run), the RSS at the end, the growth per 10,000 requests after
the warm-up (least squares over the samples) and a verdict: `flat` below FLAT_MB_PER_10K, else
`growing`.

Run: `python -m bench.soak [--seconds 60] [--connections 32] [--only procedures-search …]`
(`python -m bench soak` runs it with the defaults: a minute per query, about 15 minutes in all).
Needs `wrk` (Debian package `wrk`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.servers import Server, running, start_app

SECONDS = 60.0
CONNECTIONS = 32
SAMPLE_EVERY = 2.0
WARMUP_SHARE = 0.25
FLAT_MB_PER_10K = 2.0  # a leak of one 200-byte object per request is 2 MB per 10,000

CATALOG_FIELDS = "code name fees { name amount } components { name required }"


@dataclass(frozen=True)
class Query:
    name: str
    bodies: list[dict[str, Any]]  # cycled through by wrk
    expect: str  # what every good answer holds (checked once before the run)


def _gql(query: str, **variables: Any) -> dict[str, Any]:
    return {"query": query, "variables": variables}


def public_queries() -> list[Query]:
    """Every query an anonymous caller may send (schema.graphql, docs/graphql-guide.md)."""
    return [*_catalog_queries(), *_tracking_queries(), *_report_queries()]


def _catalog_queries() -> list[Query]:
    """The procedure catalog and the organisation (thủ tục, cơ quan)."""
    return [
        Query(
            "procedures-search",
            [
                _gql(
                    "query($s: String!) { procedures(search: $s, first: 10) { totalCount edges { node {"
                    f" {CATALOG_FIELDS} }} }} }} }}",
                    s=s,
                )
                for s in ("khai sinh", "dang ky", "giấy phép", "1.00", "hộ tịch", "kết hôn")
            ],
            '"totalCount"',
        ),
        Query(
            "procedures-list",
            [
                _gql(
                    "query($after: String) { procedures(first: 10, after: $after) { totalCount"
                    f" pageInfo {{ endCursor }} edges {{ node {{ {CATALOG_FIELDS} }} }} }} }}",
                    after=after,
                )
                for after in (None, "azoxLjAwMTE5Mw==", "azoyLjAwMDAwMA==")
            ],
            '"totalCount"',
        ),
        Query(
            "procedures-filtered",
            [
                _gql(
                    '{ procedures(first: 20, filter: {fieldCode: "HOTICH"}) { totalCount edges { node { code } } } }'
                )
            ],
            '"totalCount"',
        ),
        Query(
            "procedure",
            [
                _gql(
                    f"query($c: String!) {{ procedure(code: $c) {{ {CATALOG_FIELDS} levels {{ name }}"
                    " field { name } receivingAgencies { name } workflow { name days } } }",
                    c=c,
                )
                for c in ("1.001193", "1.001022", "2.000986", "9.999999")
            ],
            '"procedure"',
        ),
        Query(
            "agencies",
            [
                _gql(
                    "{ agencyTree { code name children { code name level { name } children { code name } } } }"
                ),
                _gql('{ agency(code: "H44.19") { code name feeAccount { number } parent { name } } }'),
                _gql("{ fields { code name } administrativeLevels { code name rank } }"),
            ],
            '"data":{',
        ),
    ]


def _tracking_queries() -> list[Query]:
    """Following a dossier, an answered question, an inquiry (tra cứu)."""
    return [
        Query(
            "dossier-status",
            [
                _gql(
                    "query($c: String!) { dossierStatus(code: $c) { public { code status statusLabel"
                    " procedureName agencyName receivedAt appointmentAt finishedAt } } }",
                    c=f"000.00.19.H44-261126-{n:04d}",
                )
                for n in range(1, 50)
            ],
            '"dossierStatus"',
        ),
        Query(
            "published-answers",
            [
                _gql(
                    "query($s: String) { publishedAnswers(search: $s, first: 10) { edges { node { code"
                    " title question answer competentAgency { name } field { name } } } pageInfo { hasNextPage } } }",
                    s=s,
                )
                for s in (None, "khai sinh", "đất đai")
            ],
            '"publishedAnswers"',
        ),
        Query(
            "inquiry-tracking",
            [
                _gql(
                    "query($c: String!) { inquiryTracking(code: $c) { code status statusLabel } }",
                    c=f"PA-{n}",
                )
                for n in range(20)
            ],
            '"inquiryTracking"',
        ),
    ]


def _report_queries() -> list[Query]:
    """The public figures (thống kê), the working calendar and the rest."""
    stats = "from: $from, to: $to"
    return [
        Query(
            "statistics",
            [
                _gql(
                    f"query($from: Date!, $to: Date!) {{ statistics(filter: {{{stats}}}, groupBy: AGENCY) {{"
                    " total { received finished onTimeShare } rows { key label figures { received } } } }",
                    **{"from": "2026-01-01", "to": "2026-11-30"},
                ),
                _gql(
                    f"query($from: Date!, $to: Date!) {{ serviceIndex(filter: {{{stats}}}) {{ score groups {{"
                    " code score indicators { code score } } } }",
                    **{"from": "2026-01-01", "to": "2026-11-30"},
                ),
                _gql('{ satisfaction(agencyCode: "H44.19") { ratings overall byCriterion } }'),
            ],
            '"data":{',
        ),
        Query(
            "calendar-and-verify",
            [
                _gql("{ workingCalendar(year: 2026) { year daysOff workingWeekendDays } }"),
                _gql('{ conversionVerify(code: "NO-SUCH-CODE") { title } }'),
                _gql("{ me { id } }"),
            ],
            '"data":{',
        ),
        Query("typename", [_gql("{ __typename }")], '"__typename"'),
    ]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


@dataclass
class Sampler:
    pid: int
    every: float
    samples: list[tuple[float, int]] = field(default_factory=list)  # (seconds since start, KiB)
    _stop: threading.Event = field(default_factory=threading.Event)

    def __enter__(self) -> Sampler:
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.is_set():
            self.samples.append((time.monotonic() - self._start, rss_kib(self.pid)))
            self._stop.wait(self.every)

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.samples.append((time.monotonic() - self._start, rss_kib(self.pid)))


LUA = """
local bodies = {}
for line in io.lines("%s") do bodies[#bodies + 1] = line end
local i = 0
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  i = i %% #bodies + 1
  return wrk.format(nil, "/graphql", nil, bodies[i])
end
"""


def wrk(
    port: int, bodies: list[dict[str, Any]], *, seconds: float, connections: int, work: Path
) -> dict[str, Any]:
    """Drive POST /graphql with `wrk`, cycling through `bodies`; requests, rate, non-2xx."""
    lines = work / "bodies.jsonl"
    lines.write_text("".join(json.dumps(b, ensure_ascii=False) + "\n" for b in bodies), encoding="utf-8")
    script = work / "soak.lua"
    script.write_text(LUA % lines)
    argv = [
        "wrk", "-t", "2", "-c", str(connections), "-d", f"{seconds:.0f}s", "--timeout", "30s",
        "-s", str(script), f"http://127.0.0.1:{port}",
    ]  # fmt: skip
    out = subprocess.run(argv, capture_output=True, text=True, check=True).stdout
    total = re.search(r"(\d+) requests in", out)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "requests": int(total.group(1)) if total else 0,
        "rps": float(rate.group(1)) if rate else 0.0,
        "non_2xx": int(bad.group(1)) if bad else 0,
        "socket_errors": errors.group(1) if errors else None,
    }


def slope_kib_per_second(samples: list[tuple[float, int]]) -> float:
    n = len(samples)
    if n < 2:
        return 0.0
    mt = sum(t for t, _ in samples) / n
    mr = sum(r for _, r in samples) / n
    den = sum((t - mt) ** 2 for t, _ in samples)
    return sum((t - mt) * (r - mr) for t, r in samples) / den if den else 0.0


def check(port: int, query: Query) -> None:
    """Each body answers 200, with what is expected and no errors, before the load starts."""
    for body in query.bodies:
        answer = httpx.post(f"http://127.0.0.1:{port}/graphql", json=body, timeout=30)
        if answer.status_code != 200 or query.expect not in answer.text or '"errors"' in answer.text:
            raise RuntimeError(f"{query.name}: {answer.status_code} {answer.text[:300]}")


def soak(server: Server, query: Query, *, seconds: float, connections: int, every: float) -> dict[str, Any]:
    check(server.port, query)
    with (
        tempfile.TemporaryDirectory(prefix="dvc-soak-") as work,
        Sampler(server.process.pid, every) as sampler,
    ):
        result = wrk(server.port, query.bodies, seconds=seconds, connections=connections, work=Path(work))
    samples = sampler.samples
    warm = [(t, r) for t, r in samples if t >= seconds * WARMUP_SHARE]
    after_warmup = warm[0][1] if warm else samples[0][1]
    end = samples[-1][1]
    # Requests arrive at a steady rate: KiB/s after the warm-up ÷ requests/s → per request.
    per_request_kib = slope_kib_per_second(warm) / result["rps"] if result["rps"] else 0.0
    growth = per_request_kib * 10_000 / 1024
    return {
        **result,
        "name": query.name,
        "rss_start_mb": samples[0][1] / 1024,
        "rss_warm_mb": after_warmup / 1024,
        "rss_end_mb": end / 1024,
        "mb_per_10k": growth,
        "verdict": "flat" if growth < FLAT_MB_PER_10K else "growing",
    }


def report(rows: list[dict[str, Any]], *, seconds: float, connections: int) -> None:
    print(
        f"\nSoak: one app process, wrk {connections} connections, {seconds:.0f} s per query "
        f"(warm-up: the first {WARMUP_SHARE:.0%}); RSS in MB"
    )
    print(
        f"{'query':22s} {'requests':>9s} {'req/s':>7s} {'RSS start':>10s} {'after warm-up':>14s} "
        f"{'end':>7s} {'MB/10k req':>11s}  verdict"
    )
    for r in rows:
        print(
            f"{r['name']:22s} {r['requests']:9d} {r['rps']:7.0f} {r['rss_start_mb']:10.1f} "
            f"{r['rss_warm_mb']:14.1f} {r['rss_end_mb']:7.1f} {r['mb_per_10k']:11.2f}  {r['verdict']}"
        )
        if r["non_2xx"] or r["socket_errors"]:
            print(f"  non-2xx: {r['non_2xx']}, socket errors: {r['socket_errors']}")


def uvicorn_limits(settings: Any) -> list[str]:
    """The guards `dvc serve` gives uvicorn (cli/serve.py `server_limits`), as its options."""
    from cli.serve import server_limits

    limits = server_limits(settings)
    args = ["--timeout-keep-alive", str(limits["timeout_keep_alive"])]
    if limits["limit_concurrency"] is not None:
        args += ["--limit-concurrency", str(limits["limit_concurrency"])]
    return args


def measure(
    *, seconds: float, connections: int, every: float, only: list[str] | None = None
) -> list[dict[str, Any]]:
    from cli.demo import load_demo
    from core import environment, migrate
    from core.settings import Settings

    if shutil.which("wrk") is None:
        raise SystemExit("wrk is not installed: apt-get install wrk")
    queries = [q for q in public_queries() if not only or q.name in only]
    with tempfile.TemporaryDirectory(prefix="dvc-soak-data-") as data, tempfile.TemporaryDirectory() as logs:
        os.environ["DATA_DIR"] = data
        with environment.prepared(Settings(data_dir=Path(data))) as settings:
            assert settings.database_url is not None
            migrate.upgrade(settings.database_url)
            load_demo(settings)
            server = start_app(
                settings.database_url,
                Path(logs),
                env={"JWT_SECRET": settings.jwt_secret or ""},
                uvicorn_args=uvicorn_limits(settings),
            )
            with running(server):
                return [
                    soak(server, q, seconds=seconds, connections=connections, every=every) for q in queries
                ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=SECONDS, help="load time per query")
    parser.add_argument("--connections", type=int, default=CONNECTIONS)
    parser.add_argument(
        "--sample-every", type=float, default=SAMPLE_EVERY, help="seconds between RSS samples"
    )
    parser.add_argument(
        "--only", nargs="*", help="query names: " + ", ".join(q.name for q in public_queries())
    )
    args = parser.parse_args(argv)
    rows = measure(
        seconds=args.seconds, connections=args.connections, every=args.sample_every, only=args.only
    )
    report(rows, seconds=args.seconds, connections=args.connections)


if __name__ == "__main__":
    main()
