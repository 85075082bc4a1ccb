"""Public lookup (`dossierStatus(code)`) over HTTP with 64 concurrent clients, against the
1M-dossier data set: requests/s and p50/p99 for our app (uvicorn + uvloop + httptools, one
process) and, in the same run, for baseline (a) — a minimal Starlette endpoint running the same
SQL through raw asyncpg — and baseline (b) — PostGraphile 4 serving the same tables with the
equivalent GraphQL query. A fourth line measures our app answering `{ __typename }`: not a
baseline, and not compiled — the floor of the executor's path (HTTP, middleware, GraphQL request
handling, extensions, JSON) that every query the planner does not answer pays before its fields. Each server is driven by wrk with the same script
(bench/wrk.lua); codes are a fixed sample of 4,000 real ones. The servers run side by side and
are driven in turn, three rounds of 10 s each (medians; BENCH_SECONDS sets the total), so that
the load others put on the machine falls on all alike. Targets (issue 13): ≥ 0.6× (a), ≥ 1.0× (b).

Run: `python -m bench.lookup` (loads the data set into var/bench on first use).
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from bench.servers import (
    SECONDS,
    dataset,
    interleaved,
    node_dsn,
    ratio,
    running,
    sample,
    start_app,
    start_baseline,
    start_postgraphile,
)

CONCURRENCY = 64
QUERY = (
    "query($code: String!) { dossierStatus(code: $code) { public { code status statusLabel procedureName"
    " agencyName receivedAt appointmentAt finishedAt } } }"
)
POSTGRAPHILE_QUERY = (
    "query($code: String!) { dossierByCode(code: $code) { code status receivedAt appointmentAt finishedAt"
    " procedureVersionByProcedureVersionId { name } agencyByReceivingAgencyId { name } } }"
)
FLOOR_QUERY = "{ __typename }"
CODES_SQL = (
    "SELECT code FROM dossiers TABLESAMPLE BERNOULLI (1) REPEATABLE (7) WHERE code IS NOT NULL LIMIT 4000"
)


def requests_for(codes: list[str], query: str, expect: str, path: str = "/graphql") -> list[list[str]]:
    return [["POST", path, json.dumps({"query": query, "variables": {"code": c}}), expect] for c in codes]


def measure(
    pg: Any, logs: Path, *, seconds: float = SECONDS, extra_env: dict[str, str] | None = None
) -> list[Any]:
    codes = sample(pg.dsn, CODES_SQL)
    app = start_app(pg.database_url, logs, env=extra_env)
    baseline = start_baseline(pg.dsn, logs)
    postgraphile = start_postgraphile(node_dsn(str(pg.socket_dir)), logs)
    with running(app, baseline, postgraphile):
        plain = [["POST", "/lookup", json.dumps({"code": c}), '"procedure_name"'] for c in codes]
        pg_reqs = requests_for(codes, POSTGRAPHILE_QUERY, '"procedureVersionByProcedureVersionId":{')
        return interleaved(
            [
                ("our app", app, requests_for(codes, QUERY, '"statusLabel"'), None),
                ("(a) Starlette + asyncpg", baseline, plain, None),
                ("(b) PostGraphile 4", postgraphile, pg_reqs, None),
                # Not a baseline: the floor of our own stack, what any query costs before its fields.
                ("our app, { __typename }", app, requests_for(codes, FLOOR_QUERY, '"__typename"'), None),
            ],
            concurrency=CONCURRENCY,
            seconds=seconds,
        )


def report(rows: list[Any]) -> None:
    print(f"\nPublic lookup dossierStatus(code), {CONCURRENCY} concurrent clients, 1 server process")
    print(f"{'server':26s} {'req/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'CPU ms/req':>11s} {'errors':>7s}")
    for name, r in rows:
        if r is None:
            print(f"{name:26s} not available (npm install postgraphile@4 failed or node missing)")
            continue
        print(
            f"{name:26s} {r['rps']:8.0f} {r['p50']:8.1f} {r['p99']:8.1f} {r['cpu_ms']:11.2f} {r['errors']:7d}"
        )
        if r["errors"]:
            print(f"  first error: {r['first_error']}")
    ours = rows[0][1]
    for name, r in rows[1:]:
        if r is not None and name.startswith("("):
            target = 0.6 if name.startswith("(a)") else 1.0
            verdict = "met" if ours["rps"] >= target * r["rps"] else "NOT met"
            print(f"throughput vs {name}: {ratio(ours['rps'], r['rps'])} (target ≥ {target}×: {verdict})")


def main() -> None:
    with dataset() as pg, tempfile.TemporaryDirectory(prefix="dvc-bench-lookup-") as logs:
        report(measure(pg, Path(logs)))


if __name__ == "__main__":
    main()
