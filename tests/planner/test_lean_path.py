"""The lean path of compiled reads: what it counts and logs, what it hands to the executor, and
the connections it runs on (`core.db.ReadsPool`, on the real PostgreSQL)."""

from __future__ import annotations

import logging

import asyncpg
import httpx
import pytest

from auth.actor import ANONYMOUS
from core.db import ReadsPool
from core.observability import FALLBACKS, PLANNED_OPERATIONS
from planner.plans import Planner
from planner.statements import NotCompilable
from resolvers.root import build_schema
from schema.limits import Limits
from tests.conftest import Servers
from tests.planner.conftest import Paths

LOOKUP = 'query { dossierStatus(code: "KHONG-CO") { public { code status } } }'


def _count(path: str) -> float:
    return float(PLANNED_OPERATIONS.labels(path)._value.get())


async def test_a_compiled_read_and_a_fallback_are_counted_by_path_and_reason(paths: Paths) -> None:
    compiled, executed = _count("compiled"), _count("executed")
    answer = await paths.compiled.post("/graphql", json={"query": LOOKUP})
    assert answer.json() == {"data": {"dossierStatus": None}}
    assert (_count("compiled"), _count("executed")) == (compiled + 1, executed)
    reason = FALLBACKS.labels("a mutation")._value.get()
    refused = await paths.compiled.post(
        "/graphql", json={"query": 'mutation { signOut(refreshToken: "x") { __typename } }'}
    )
    assert refused.status_code == 200
    assert (_count("compiled"), _count("executed")) == (compiled + 1, executed + 1)
    assert FALLBACKS.labels("a mutation")._value.get() == reason + 1
    metrics = (await paths.compiled.get("/metrics")).text
    assert 'dvc_graphql_planned_operations_total{path="compiled"}' in metrics
    assert 'dvc_graphql_fallbacks_total{reason="a mutation"}' in metrics


async def test_why_an_operation_fell_back_is_logged_when_asked(
    paths: Paths, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = paths.settings  # the runtime's: the lean path reads the flag on each request
    monkeypatch.setattr(settings, "log_fallbacks", True)
    with caplog.at_level(logging.INFO, logger="dvc"):
        await paths.compiled.post("/graphql", json={"query": "{ __typename }"})
    assert any("executor answers: root __typename" in r.getMessage() for r in caplog.records)
    caplog.clear()
    monkeypatch.setattr(settings, "log_fallbacks", False)
    with caplog.at_level(logging.INFO, logger="dvc"):
        await paths.compiled.post("/graphql", json={"query": "{ __typename }"})
    assert not any("executor answers" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b'{"query": "{ dossierStatus(code: 1) { public { code } } }"}', 200),  # invalid: errors
        (b'{"query": "query { nope }"}', 200),
    ],
)
async def test_what_the_planner_cannot_read_the_executor_answers_as_before(
    paths: Paths, body: bytes, status: int
) -> None:
    headers = {"content-type": "application/json"}
    ours = await paths.compiled.post("/graphql", content=body, headers=headers)
    theirs = await paths.executor.post("/graphql", content=body, headers=headers)
    assert ours.status_code == theirs.status_code == status
    assert ours.json() == theirs.json()


async def test_a_get_and_a_form_post_still_reach_the_executor(client: httpx.AsyncClient) -> None:
    got = await client.get("/graphql", params={"query": LOOKUP})
    assert got.status_code == 200
    assert got.json() == {"data": {"dossierStatus": None}}


async def test_the_reads_pool_runs_statements_and_drops_a_connection_that_failed(servers: Servers) -> None:
    pool = ReadsPool(servers.database_url, size=2, statement_timeout_ms=5_000)
    try:
        assert await pool.fetchval("SELECT json_build_object('a', $1::int)::text", 7) == '{"a" : 7}'
        assert len(pool._idle) == 1
        assert await pool.fetchval("SHOW TimeZone") == "UTC"
        with pytest.raises(asyncpg.PostgresError):
            await pool.fetchval("SELECT 1/0")
        assert pool._idle == []  # the failed connection is not reused
        assert await pool.fetchval("SELECT 2") == 2
        with pytest.raises(TimeoutError):
            await pool.fetchval("SELECT pg_sleep(2)", timeout=0.2)
        assert pool._idle == []
    finally:
        await pool.close()
    assert pool._idle == []


def test_a_cached_refusal_is_raised_afresh_each_time(paths: Paths) -> None:
    """A refusal the planner caches (a mutation here) is a new exception on each request: raising
    the cached one again chained every request's traceback onto it, and with the frames every
    request's session and the ORM objects it had loaded (tests/hardening/test_memory.py)."""
    zone = paths.settings.zone
    planner = Planner(build_schema(zone=zone)._schema, Limits.from_settings(paths.settings), zone)
    refusals = []
    for _ in range(3):
        with pytest.raises(NotCompilable) as refused:
            planner.prepare('mutation { signOut(refreshToken: "x") { __typename } }', None, None, ANONYMOUS)
        refusals.append(refused.value)
    assert len({id(r) for r in refusals}) == 3
    depth = [len(list(_frames(r.__traceback__))) for r in refusals]
    assert depth[0] == depth[1] == depth[2]


def _frames(tb: object) -> list[object]:
    frames = []
    while tb is not None:
        frames.append(tb)
        tb = tb.tb_next  # type: ignore[attr-defined]
    return frames
