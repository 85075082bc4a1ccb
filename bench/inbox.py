"""Staff inbox: a page of 100 dossiers with nested procedure, agency, steps (the current one among
them) and applicant, for the specialist holding the most open steps in the 1M data set.

1. SQL statements per request for pages of 1, 10 and 100 (must not grow with the page), from
   bench/statements.py.
2. Server CPU per page and pages/s, our app against baseline (b) — PostGraphile 4 answering the
   equivalent query (that specialist's open steps, nested dossier, procedure version, agency,
   steps) — with 8 concurrent wrk connections. Target: ≥ 1.0× (b).

Run: `python -m bench.inbox`.
"""

from __future__ import annotations

import json
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from auth.tokens import TokenConfig, issue_access
from bench.servers import (
    SECONDS,
    SECRET,
    dataset,
    interleaved,
    node_dsn,
    ratio,
    running,
    sample,
    start_app,
    start_postgraphile,
)
from bench.statements import count_statements

CONCURRENCY = 8
QUERY = """query($first: Int!) { inbox(first: $first) { edges { node {
  id code status dueAt currentStep overdue
  applicant { name idNumber }
  procedure { code name }
  receivingAgency { code name }
  steps { position name role dueAt finishedAt agency { code name } }
} } } }"""
POSTGRAPHILE_QUERY = """query($me: UUID!, $first: Int!) {
  allDossierSteps(first: $first, orderBy: DUE_AT_ASC, condition: {assigneeId: $me, finishedAt: null}) {
    nodes { dossierByDossierId {
      id code status dueAt currentStep applicantName applicantIdNumber
      procedureVersionByProcedureVersionId { name procedureByProcedureId { code } }
      agencyByReceivingAgencyId { code name }
      dossierStepsByDossierId(orderBy: POSITION_ASC) { nodes { position name role dueAt finishedAt
        agencyByAgencyId { code name } } }
    } }
  }
}"""
BUSIEST = """SELECT assignee_id FROM dossier_steps WHERE finished_at IS NULL AND started_at IS NOT NULL
AND assignee_id IS NOT NULL GROUP BY assignee_id ORDER BY count(*) DESC LIMIT 1"""


def token_for(account_id: uuid.UUID) -> str:
    config = TokenConfig(SECRET, access_ttl=timedelta(hours=3))
    return issue_access(config, account_id=account_id, token_version=1, now=datetime.now(UTC))


def measure(pg: Any, logs: Path, *, seconds: float = SECONDS) -> dict[str, Any]:
    me = sample(pg.dsn, BUSIEST)[0]
    token = token_for(me)
    counts = count_statements(
        pg.database_url,
        QUERY,
        lambda first: {"first": first},
        (1, 10, 100),
        field="inbox",
        headers={"Authorization": f"Bearer {token}"},
    )
    app = start_app(pg.database_url, logs)
    postgraphile = start_postgraphile(node_dsn(str(pg.socket_dir)), logs)
    with running(app, postgraphile):
        ours = [["POST", "/graphql", json.dumps({"query": QUERY, "variables": {"first": 100}}), '"edges"']]
        body = json.dumps({"query": POSTGRAPHILE_QUERY, "variables": {"me": str(me), "first": 100}})
        theirs = [["POST", "/graphql", body, '"dossierByDossierId"']]
        rows = interleaved(
            [
                ("our app", app, ours, {"Authorization": f"Bearer {token}"}),
                ("(b) PostGraphile 4", postgraphile, theirs, None),
            ],
            concurrency=CONCURRENCY,
            seconds=seconds,
        )
    return {"counts": counts, "rows": rows}


def report(result: dict[str, Any]) -> None:
    print("\nStaff inbox: SQL statements per request (our app)")
    for first, (statements, answered) in result["counts"].items():
        print(f"  first: {first:3d} → {statements} statements ({answered} dossiers)")
    constant = len({s for s, _ in result["counts"].values()}) == 1
    print(f"  constant: {'yes' if constant else 'NO'}")
    print(f"\nStaff inbox, pages of 100, {CONCURRENCY} concurrent clients, 1 server process")
    print(f"{'server':26s} {'pages/s':>8s} {'p50 ms':>8s} {'p99 ms':>8s} {'CPU ms/page':>12s} {'errors':>7s}")
    for name, r in result["rows"]:
        if r is None:
            print(f"{name:26s} not available")
            continue
        print(
            f"{name:26s} {r['rps']:8.1f} {r['p50']:8.1f} {r['p99']:8.1f} {r['cpu_ms']:12.2f} {r['errors']:7d}"
        )
        if r["errors"]:
            print(f"  first error: {r['first_error']}")
    ours = result["rows"][0][1]
    theirs = result["rows"][1][1]
    if theirs is not None:
        verdict = "met" if ours["rps"] >= theirs["rps"] else "NOT met"
        print(
            f"pages/s vs (b): {ratio(ours['rps'], theirs['rps'])}; CPU per page vs (b): "
            f"{ratio(ours['cpu_ms'], theirs['cpu_ms'])} (target ≥ 1.0× throughput: {verdict})"
        )


def main() -> None:
    with dataset() as pg, tempfile.TemporaryDirectory(prefix="dvc-bench-inbox-") as logs:
        report(measure(pg, Path(logs)))


if __name__ == "__main__":
    main()
