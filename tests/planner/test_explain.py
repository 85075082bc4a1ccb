"""What the compiled statements cost: EXPLAIN of the plans of the public lookup by code, one
dossier by id and the inbox, on the seeded scene.

The scene's tables are tiny, so PostgreSQL would rightly read them whole; with sequential scans
disabled (`SET LOCAL enable_seqscan = off`, in a transaction rolled back) a `Seq Scan` that
remains on a large table means the statement has no index to reach its rows (trap 9 of
PLANNER.md). The lookup by code and the dossier by id must go through their indexes.
"""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest

from core.db import RequestDb
from core.partitions import partition_year
from planner.plans import Planner
from resolvers.root import build_schema
from schema.limits import Limits
from services.accounts.journal import RequestMeta
from tests.planner.scene import Scene
from web.authentication import authenticate

# The tables that grow with the service's use (a province: millions of dossiers and steps).
LARGE = {"dossiers", "dossier_steps", "dossier_events", "dossier_attachments", "files", "payments"}


async def _plan(scene: Scene, caller: str, query: str, variables: dict[str, Any]) -> tuple[str, list[Any]]:
    rt = scene.runtime
    zone = rt.settings.zone
    planner = Planner(build_schema(zone=zone)._schema, Limits.from_settings(rt.settings), zone)
    db = RequestDb(rt.session_factory)
    try:
        actor = await authenticate(rt, db, scene.tokens[caller], RequestMeta(address=None, user_agent=None))
    finally:
        await db.finish(commit=False)
    ready = planner.prepare(query, None, variables, actor)
    ready.values["now"] = rt.clock.now()
    return ready.plan.sql, ready.arguments()


def _nodes(node: dict[str, Any]) -> list[dict[str, Any]]:
    found = [node]
    for child in node.get("Plans", ()):
        found += _nodes(child)
    return found


async def _explain(scene: Scene, sql: str, arguments: list[Any]) -> list[dict[str, Any]]:
    database_url = scene.runtime.settings.database_url
    assert database_url is not None
    url = database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    conn = await asyncpg.connect(url)
    try:
        async with conn.transaction():
            await conn.execute("SET LOCAL enable_seqscan = off")
            text = await conn.fetchval(f"EXPLAIN (FORMAT JSON) {sql}", *arguments)
            # and the statement does run with these parameters
            assert json.loads(await conn.fetchval(sql, *arguments)) is not None
    finally:
        await conn.close()
    plan = json.loads(text)[0]["Plan"]
    return _nodes(plan)


def _table(relation: str) -> str:
    """A partition's table (dossier_events_y2026 → dossier_events, migration 0033), else itself."""
    partition = partition_year(relation)
    return partition[0] if partition else relation


def _seq_scans(nodes: list[dict[str, Any]]) -> list[str]:
    return sorted({_table(n["Relation Name"]) for n in nodes if n["Node Type"] == "Seq Scan"} & LARGE)


def _indexes(nodes: list[dict[str, Any]], table: str) -> set[str]:
    """The indexes through which `table` is read (index scans, and bitmap scans under a heap scan)."""
    found = set()
    for node in nodes:
        if _table(node.get("Relation Name", "")) != table:
            continue
        if node["Node Type"] in ("Index Scan", "Index Only Scan"):
            found.add(node["Index Name"])
        elif node["Node Type"] == "Bitmap Heap Scan":
            found |= {n["Index Name"] for n in _nodes(node) if n["Node Type"] == "Bitmap Index Scan"}
    return found


LOOKUP = """query($code: String!) { dossierStatus(code: $code) { public {
  code status statusLabel procedureName agencyName receivedAt appointmentAt finishedAt } } }"""
ONE = """query($id: ID!) { dossier(id: $id) { id code status overdue applicant { name }
  procedure { code name } receivingAgency { code } steps { position dueAt agency { code } } } }"""
INBOX = """query { inbox(first: 20) { edges { cursor node { id code dueAt overdue currentStep
  steps { position agency { name } } } } pageInfo { hasNextPage endCursor } } }"""


async def test_the_lookup_by_code_reads_the_code_index(scene: Scene) -> None:
    sql, arguments = await _plan(scene, "anonymous", LOOKUP, {"code": scene.codes["ready"]})
    nodes = await _explain(scene, sql, arguments)
    assert _seq_scans(nodes) == [], nodes
    assert any("code" in name for name in _indexes(nodes, "dossiers")), _indexes(nodes, "dossiers")


async def test_one_dossier_by_id_reads_the_primary_key(scene: Scene) -> None:
    sql, arguments = await _plan(scene, "citizen_a", ONE, {"id": scene.dossiers["ready"]})
    nodes = await _explain(scene, sql, arguments)
    assert _seq_scans(nodes) == [], nodes
    assert "pk_dossiers" in _indexes(nodes, "dossiers"), nodes
    assert _indexes(nodes, "dossier_steps"), nodes


@pytest.mark.parametrize("caller", ["specialist", "reception", "citizen_a"])
async def test_the_inbox_has_an_index_for_every_large_table(caller: str, scene: Scene) -> None:
    sql, arguments = await _plan(scene, caller, INBOX, {})
    nodes = await _explain(scene, sql, arguments)
    assert _seq_scans(nodes) == [], (
        caller,
        [n["Node Type"] + " " + n.get("Relation Name", "") for n in nodes],
    )
