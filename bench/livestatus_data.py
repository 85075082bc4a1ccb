"""Live status benchmark (bench/livestatus.py): the dossiers it moves, chosen from the data set,
and the data set put back afterwards."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.statistics.facts import adjust_months

DOSSIERS = 200

CANDIDATES = """
SELECT d.id, d.code, d.lookup_secret, d.version, s.assignee_id AS specialist,
       (SELECT a.account_id FROM staff_assignments a JOIN accounts x ON x.id = a.account_id
         WHERE a.agency_id = t.agency_id AND a.role = 'LEADER' AND x.status = 'ACTIVE'
         ORDER BY a.account_id LIMIT 1) AS leader
FROM dossiers d
JOIN dossier_steps s ON s.dossier_id = d.id AND s.position = 2
JOIN dossier_steps t ON t.dossier_id = d.id AND t.position = 3
WHERE d.status = 'IN_PROGRESS' AND d.current_step = 2 AND d.code IS NOT NULL AND d.paused_at IS NULL
  AND s.assignee_id IS NOT NULL AND s.role = 'SPECIALIST' AND t.role = 'LEADER'
ORDER BY d.id
"""
# What the run changes, by dossier: copied before, put back after.
RESTORED = ("dossiers", "dossier_steps", "dossier_facts", "event_deliveries")


async def prepare(dsn: str) -> list[dict[str, Any]]:
    await restore(dsn)  # a run that was interrupted leaves its copy behind
    conn = await asyncpg.connect(dsn)
    try:
        rows = [dict(r) for r in await conn.fetch(CANDIDATES) if r["leader"] is not None][:DOSSIERS]
        assert rows, "no dossier in progress at its second step in the data set"
        ids = [r["id"] for r in rows]
        for table in RESTORED:
            key = "id" if table == "dossiers" else "dossier_id"
            await conn.execute(f"DROP TABLE IF EXISTS bench_live_{table}")
            await conn.execute(
                f"CREATE UNLOGGED TABLE bench_live_{table} AS SELECT * FROM {table} WHERE {key} = ANY($1)",
                ids,
            )
        marks = {
            "events": await conn.fetchval("SELECT coalesce(max(seq), 0) FROM dossier_events"),
            "notifications": await conn.fetchval("SELECT coalesce(max(seq), 0) FROM notification_outbox"),
        }
        await conn.execute("DROP TABLE IF EXISTS bench_live_marks")
        await conn.execute("CREATE UNLOGGED TABLE bench_live_marks (events bigint, notifications bigint)")
        await conn.execute(
            "INSERT INTO bench_live_marks VALUES ($1, $2)", marks["events"], marks["notifications"]
        )
    finally:
        await conn.close()
    return [
        {
            "id": str(r["id"]),
            "code": r["code"],
            "secret": r["lookup_secret"],
            "version": r["version"],
            "specialist": str(r["specialist"]),
            "leader": str(r["leader"]),
        }
        for r in rows
    ]


async def restore(dsn: str) -> None:
    """Put the dossiers back as they were (the trail refuses DELETE, hence the replica role for this
    session only; foreign keys are not checked either, rows are put back as they were)."""
    conn = await asyncpg.connect(dsn)
    try:
        if not await conn.fetchval("SELECT to_regclass('bench_live_marks') IS NOT NULL"):
            return
        await conn.execute("SET session_replication_role = replica")
        async with conn.transaction():
            marks = await conn.fetchrow("SELECT events, notifications FROM bench_live_marks")
            assert marks is not None
            events, notifications = marks
            ids = [r["id"] for r in await conn.fetch("SELECT id FROM bench_live_dossiers")]
            await conn.execute(
                "DELETE FROM dossier_events WHERE dossier_id = ANY($1) AND seq > $2", ids, events
            )
            await conn.execute("DELETE FROM notification_outbox WHERE seq > $1", notifications)
            # The month rows follow the facts put back (written around the triggers).
            await conn.execute(adjust_months(-1, "dossier_id = ANY($1)"), ids)
            for table in RESTORED:
                key = "id" if table == "dossiers" else "dossier_id"
                await conn.execute(f"DELETE FROM {table} WHERE {key} = ANY($1)", ids)
                await conn.execute(f"INSERT INTO {table} SELECT * FROM bench_live_{table}")
            await conn.execute(adjust_months(1, "dossier_id = ANY($1)"), ids)
            for table in (*RESTORED, "marks"):
                await conn.execute(f"DROP TABLE bench_live_{table}")
    finally:
        await conn.close()
