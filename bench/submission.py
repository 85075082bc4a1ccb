"""Online submission: `dossierSaveDraft` with three components then `dossierSubmit`, end to end
over HTTP (permission checks, file ownership and readiness, completeness, the chained trail,
the statistics trigger, the applicant's notification, the announcement), against a baseline of
raw asyncpg inserts of the same rows (the dossier, three attachments, the SUBMIT trail event) in
one transaction each, with the same triggers on. Both from a separate client process, 16 at a
time, against the 1M data set. The ratio is reported (no target).

Run: `python -m bench.submission`.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import secrets
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench.dataset_rows import GENESIS, event_hash
from bench.http1 import build, read_response
from bench.inbox import token_for
from bench.servers import dataset, ratio, running, start_app
from services.statistics.facts import adjust_months

CONCURRENCY = 16
SECONDS = 15.0
DRAFT = """mutation($input: DossierDraftInput!) { r: dossierSaveDraft(input: $input) {
  __typename ... on DossierChanged { dossier { id version } } } }"""
SUBMIT = """mutation($id: ID!) { r: dossierSubmit(id: $id) {
  __typename ... on DossierChanged { dossier { id status version } } } }"""


async def _prepare(dsn: str) -> dict[str, Any]:
    """Applicants with three ready files each, and an online procedure with three components."""
    conn = await asyncpg.connect(dsn)
    try:
        procedure = await conn.fetchrow(
            """SELECT p.code, v.id AS version_id, v.levels FROM procedures p
               JOIN procedure_versions v ON v.id = p.published_version_id
               WHERE v.online_mode = 'FULL' AND v.levels = ARRAY['province']::varchar[] ORDER BY p.code LIMIT 1"""
        )
        assert procedure is not None, "no online provincial procedure in the data set"
        components = [
            str(r["id"])
            for r in await conn.fetch(
                "SELECT id FROM procedure_components WHERE version_id = $1 ORDER BY position",
                procedure["version_id"],
            )
        ]
        unit = await conn.fetchval(
            "SELECT code FROM agencies WHERE is_one_stop_unit AND level_code = 'province'"
        )
        accounts = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM accounts WHERE kind = 'CITIZEN' ORDER BY email LIMIT $1", CONCURRENCY * 2
            )
        ]
        now = datetime.now(UTC)
        files: dict[str, list[str]] = {}
        rows = []
        for account in accounts:
            ids = [uuid.uuid4() for _ in range(3)]
            files[str(account)] = [str(i) for i in ids]
            rows += [
                (
                    i,
                    account,
                    f"bench/sub/{i.hex}",
                    "to-khai.pdf",
                    "application/pdf",
                    90_000,
                    "0" * 64,
                    "READY",
                    now,
                )
                for i in ids
            ]
        await conn.copy_records_to_table(
            "stored_files",
            records=rows,
            columns=["id", "owner_account_id", "object_key", "filename", "content_type", "size", "sha256", "status", "created_at"],
        )  # fmt: skip
        return {
            "procedure": procedure["code"],
            "version_id": str(procedure["version_id"]),
            "procedure_id": str(
                await conn.fetchval("SELECT id FROM procedures WHERE code = $1", procedure["code"])
            ),
            "unit": unit,
            "unit_id": str(await conn.fetchval("SELECT id FROM agencies WHERE code = $1", unit)),
            "components": components,
            "accounts": [str(a) for a in accounts],
            "files": files,
        }
    finally:
        await conn.close()


async def _http_client(port: int, setup: dict[str, Any], k: int, stop_at: float, done: list[float]) -> None:
    account = setup["accounts"][k]
    headers = {"Authorization": f"Bearer {token_for(uuid.UUID(account))}"}
    comps = [
        {"componentId": c, "fileIds": [f]}
        for c, f in zip(setup["components"], setup["files"][account], strict=True)
    ]
    draft_input = {
        "procedureCode": setup["procedure"],
        "receivingAgencyCode": setup["unit"],
        "formData": {},
        "components": comps,
    }
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while (started := time.perf_counter()) < stop_at:
            body = json.dumps({"query": DRAFT, "variables": {"input": draft_input}})
            writer.write(build("127.0.0.1", port, "POST", "/graphql", body, headers=headers))
            status, answer = await read_response(reader)
            result = json.loads(answer)["data"]["r"]
            assert result["__typename"] == "DossierChanged", answer
            body = json.dumps({"query": SUBMIT, "variables": {"id": result["dossier"]["id"]}})
            writer.write(build("127.0.0.1", port, "POST", "/graphql", body, headers=headers))
            status, answer = await read_response(reader)
            assert status == 200, answer
            assert b'"SUBMITTED"' in answer, answer
            done.append(time.perf_counter() - started)
    finally:
        writer.close()


async def _raw_client(
    pool: asyncpg.Pool, setup: dict[str, Any], k: int, stop_at: float, done: list[float]
) -> None:
    account = uuid.UUID(setup["accounts"][k])
    version_id, procedure_id, unit_id = (
        uuid.UUID(setup[x]) for x in ("version_id", "procedure_id", "unit_id")
    )
    components = [uuid.UUID(c) for c in setup["components"]]
    files = [uuid.UUID(f) for f in setup["files"][setup["accounts"][k]]]
    while (started := time.perf_counter()) < stop_at:
        now = datetime.now(UTC)
        dossier = uuid.uuid4()
        body: dict[str, Any] = {
            "dossier": str(dossier), "at": now.isoformat(), "action": "SUBMIT", "actor": "bench", "role": None,
            "agency": None, "from": "DRAFT", "to": "SUBMITTED", "fromStep": None, "toStep": None, "comment": None,
            "punctuality": None, "data": {}, "prev": GENESIS,
        }  # fmt: skip
        digest = event_hash(body)
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                """INSERT INTO dossiers (id, procedure_id, procedure_version_id, applicant_account_id, applicant_name,
                   channel, receiving_agency_id, status, payment_status, delivery_status, sync_status, form_data,
                   submitted_at, counts_from, apologised, completion_requested, lookup_secret, version, trail_head)
                   VALUES ($1, $2, $3, $4, 'Bench', 'ONLINE', $5, 'SUBMITTED', 'NOT_REQUIRED', 'NOT_READY', 'PENDING',
                   '{}', $6, $6, false, false, $7, 2, $8)""",
                dossier, procedure_id, version_id, account, unit_id, now, secrets.token_urlsafe(24), digest,
            )  # fmt: skip
            await conn.executemany(
                """INSERT INTO dossier_attachments (id, dossier_id, component_id, kind, file_id, added_at, added_by)
                   VALUES ($1, $2, $3, 'COMPONENT', $4, $5, 'bench')""",
                [(uuid.uuid4(), dossier, c, f, now) for c, f in zip(components, files, strict=True)],
            )
            await conn.execute(
                """INSERT INTO dossier_events (dossier_id, at, action, actor_label, from_status, to_status, data,
                   prev_hash, hash) VALUES ($1, $2, 'SUBMIT', 'bench', 'DRAFT', 'SUBMITTED', '{}', $3, $4)""",
                dossier, now, GENESIS, digest,
            )  # fmt: skip
        done.append(time.perf_counter() - started)


def _drive(kind: str, target: Any, setup: dict[str, Any], seconds: float, out: Any) -> None:
    async def run() -> list[float]:
        done: list[float] = []
        stop_at = time.perf_counter() + seconds
        if kind == "http":
            await asyncio.gather(*(_http_client(target, setup, k, stop_at, done) for k in range(CONCURRENCY)))
        else:
            pool = await asyncpg.create_pool(target, min_size=10, max_size=10)
            await asyncio.gather(*(_raw_client(pool, setup, k, stop_at, done) for k in range(CONCURRENCY)))
            await pool.close()
        return done

    out.put(asyncio.run(run()))


def _in_process(kind: str, target: Any, setup: dict[str, Any], seconds: float) -> dict[str, float]:
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    process = context.Process(target=_drive, args=(kind, target, setup, seconds, queue))
    process.start()
    done = sorted(queue.get())
    process.join()
    return {
        "ops": len(done),
        "per_second": len(done) / seconds,
        "p50": done[len(done) // 2] * 1000 if done else float("nan"),
        "p99": done[int(len(done) * 0.99)] * 1000 if done else float("nan"),
    }


async def _cleanup(dsn: str, setup: dict[str, Any], since: datetime) -> None:
    """Take out what the run wrote, so the data set stays the same for the next run (the trail
    refuses DELETE, hence the replica role for this session only)."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SET session_replication_role = replica")
        accounts = [uuid.UUID(a) for a in setup["accounts"]]
        ids = [
            r["id"]
            for r in await conn.fetch(
                "SELECT id FROM dossiers WHERE applicant_account_id = ANY($1) AND created_at >= $2",
                accounts,
                since,
            )
        ]
        async with conn.transaction():
            # The month rows lose what the facts taken out added (written around the triggers).
            await conn.execute(adjust_months(-1, "dossier_id = ANY($1)"), ids)
            for table in ("dossier_attachments", "dossier_events", "dossier_facts", "dossier_steps"):
                await conn.execute(f"DELETE FROM {table} WHERE dossier_id = ANY($1)", ids)
            await conn.execute(
                "DELETE FROM notification_outbox WHERE account_id = ANY($1) AND created_at >= $2",
                accounts,
                since,
            )
            await conn.execute("DELETE FROM dossiers WHERE id = ANY($1)", ids)
            files = [uuid.UUID(f) for fs in setup["files"].values() for f in fs]
            await conn.execute("DELETE FROM stored_files WHERE id = ANY($1)", files)
    finally:
        await conn.close()


def measure(pg: Any, logs: Path, *, seconds: float = SECONDS) -> dict[str, Any]:
    since = datetime.now(UTC) - timedelta(seconds=5)
    setup = asyncio.run(_prepare(pg.dsn))
    try:
        app = start_app(pg.database_url, logs)
        with running(app):
            ours = _in_process("http", app.port, setup, seconds)
        raw = _in_process("raw", pg.dsn, setup, seconds)
    finally:
        asyncio.run(_cleanup(pg.dsn, setup, since))
    return {"ours": ours, "raw": raw}


def report(result: dict[str, Any]) -> None:
    ours, raw = result["ours"], result["raw"]
    print(f"\nSubmission (draft with 3 components + submit), {CONCURRENCY} concurrent clients")
    print(f"{'path':34s} {'dossiers/s':>11s} {'p50 ms':>8s} {'p99 ms':>8s}")
    print(
        f"{'our app (2 GraphQL mutations)':34s} {ours['per_second']:11.1f} {ours['p50']:8.1f} {ours['p99']:8.1f}"
    )
    print(
        f"{'raw asyncpg inserts, same rows':34s} {raw['per_second']:11.1f} {raw['p50']:8.1f} {raw['p99']:8.1f}"
    )
    print(f"throughput ratio (ours / raw): {ratio(ours['per_second'], raw['per_second'])}")


def main() -> None:
    with dataset() as pg, tempfile.TemporaryDirectory(prefix="dvc-bench-submission-") as logs:
        report(measure(pg, Path(logs)))


if __name__ == "__main__":
    main()
