"""Read replicas (issue 15, item 1; docs/operations.md "Read replicas"): lag-tolerant reads on a
real streaming replica, the primary for everything else, for a caller who just wrote, and
whenever the replica is down or too far behind."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from core.db import RequestDb
from tests.conftest import ADMIN_TOKEN
from tests.replica.conftest import (
    MAX_LAG_SECONDS,
    Cluster,
    Scene,
    caught_up,
    client_at,
    commit_now,
    on_standby,
)

PERIOD = {"f": {"from": "2026-11-01", "to": "2026-11-30"}}
LAG_TOLERANT_READS = {
    "procedures": ("{ procedures(first: 5) { totalCount edges { node { code } } } }", None),
    "fields": ("{ fields { code name } }", None),
    "agencyTree": ("{ agencyTree { code name } }", None),
    "administrativeLevels": ("{ administrativeLevels { code } }", None),
    "dossierStatus": ('{ dossierStatus(code: "KHONG-CO") { public { code } } }', None),
    "inquiryTracking": ('{ inquiryTracking(code: "KHONG-CO") { code } }', None),
    "publishedAnswers": ("{ publishedAnswers { edges { node { code } } } }", None),
    "statistics": (
        "query($f: StatisticsFilter!) { statistics(filter: $f) { total { inProgress } } }",
        PERIOD,
    ),
    "serviceIndex": ("query($f: StatisticsFilter!) { serviceIndex(filter: $f) { score } }", PERIOD),
}
FIELDS = "{ fields { code } }"
FIELD_CREATE = """mutation($code: String!) { fieldCreate(input: {code: $code, name: "Lĩnh vực mới"}) {
    __typename } }"""


async def _post(
    client: httpx.AsyncClient, query: str, variables: Any = None, token: str | None = None
) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post("/graphql", json={"query": query, "variables": variables}, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


async def _field_codes(client: httpx.AsyncClient, token: str | None = None) -> set[str]:
    return {f["code"] for f in (await _post(client, FIELDS, token=token))["fields"]}


async def _fresh(scene: Scene) -> None:
    """The replica's health checked now (not waiting for the cached one to expire)."""
    for replica in scene.replicas.replicas:
        await scene.replicas.check(replica)


@pytest.fixture
async def paused(cluster: Cluster, scene: Scene) -> AsyncIterator[None]:
    """The standby's replay paused, right after it caught up with a fresh commit (its lag counts from
    that commit), and resumed at the end."""
    await commit_now(cluster)
    await caught_up(cluster)
    await on_standby(cluster, "SELECT pg_wal_replay_pause()")
    await _fresh(scene)
    try:
        yield
    finally:
        await on_standby(cluster, "SELECT pg_wal_replay_resume()")
        await caught_up(cluster)
        await _fresh(scene)


@pytest.mark.parametrize("kind", sorted(LAG_TOLERANT_READS))
async def test_lag_tolerant_reads_go_to_the_replica(scene: Scene, kind: str) -> None:
    """Issue 15.1: public lookup, catalog, published answers, statistics and the 766 index are read
    on a replica (connections taken from its pool), whichever path answers (compiled or executor)."""
    query, variables = LAG_TOLERANT_READS[kind]
    await _fresh(scene)
    before = scene.on_replica.count
    async with client_at(scene, "10.1.0.1") as client:
        await _post(client, query, variables)
    assert scene.on_replica.count > before


@pytest.mark.parametrize(
    "path", ["/exports/statistics.csv?from=2026-11-01&to=2026-11-30", "/tra-cuu/KHONG-CO"]
)
async def test_exports_and_the_lookup_page_read_the_replica(scene: Scene, path: str) -> None:
    """Issue 15.1: the statistics exports and the public lookup page are lag-tolerant reads too."""
    await _fresh(scene)
    before = scene.on_replica.count
    async with client_at(scene, "10.1.0.2") as client:
        response = await client.get(path)
    assert response.status_code in {200, 404}, response.text
    assert scene.on_replica.count > before


async def test_other_reads_stay_on_the_primary(scene: Scene) -> None:
    """Issue 15.1: a staff member's dossier list (and anything not listed as lag-tolerant) never
    touches the replica."""
    await _fresh(scene)
    scene.replicas.check_seconds = 3600.0  # no health check during the request
    try:
        before = scene.on_replica.count
        async with client_at(scene, "10.1.0.3") as client:
            await _post(client, "{ dossiers(first: 1) { edges { node { id } } } }", token=ADMIN_TOKEN)
        assert scene.on_replica.count == before
    finally:
        scene.replicas.check_seconds = 0.2


async def test_the_read_session_is_the_standby_except_inside_a_mutation(scene: Scene) -> None:
    """Issue 15.1: `RequestDb.read_session()` is on the standby (in recovery); inside a mutation
    (`writing`) and for a caller who just wrote, it is the primary's session."""
    await _fresh(scene)
    db = scene.runtime.request_db()
    async with db.read_session() as session:
        assert (await session.execute(text("SELECT pg_is_in_recovery()"))).scalar() is True
    await db.finish(commit=False)
    db = scene.runtime.request_db()
    db.writing = True
    async with db.read_session() as session:
        assert (await session.execute(text("SELECT pg_is_in_recovery()"))).scalar() is False
    await db.finish(commit=False)
    scene.replicas.wrote("person:someone")
    db = scene.runtime.request_db()
    db.caller = "person:someone"
    async with db.read_session() as session:
        assert (await session.execute(text("SELECT pg_is_in_recovery()"))).scalar() is False
    await db.finish(commit=False)


async def test_a_caller_reads_its_own_writes_while_the_replica_lags(scene: Scene, paused: None) -> None:
    """Issue 15.1 (read-your-writes): after a mutation its caller reads the primary for
    DATABASE_READ_OWN_WRITES_SECONDS and sees the write, though the standby has not replayed it;
    another caller, within the lag limit, still reads the standby and does not see it yet."""
    async with client_at(scene, "10.2.0.1") as admin, client_at(scene, "10.2.0.2") as stranger:
        created = await _post(admin, FIELD_CREATE, {"code": "RYW_1"}, token=ADMIN_TOKEN)
        assert created["fieldCreate"]["__typename"] == "FieldSaved"
        assert "RYW_1" in await _field_codes(admin, ADMIN_TOKEN)
        assert "RYW_1" not in await _field_codes(stranger)


async def test_a_lagging_replica_is_read_only_within_the_lag_limit(scene: Scene, paused: None) -> None:
    """Issue 15.1: a standby whose replay is behind is read by other callers only while its lag is
    at most DATABASE_READ_MAX_LAG_SECONDS; past it, it is skipped and the primary answers."""
    async with client_at(scene, "10.3.0.1") as admin, client_at(scene, "10.3.0.2") as stranger:
        await _post(admin, FIELD_CREATE, {"code": "LAG_1"}, token=ADMIN_TOKEN)
        await _fresh(scene)
        assert scene.replicas.replicas[0].usable
        assert "LAG_1" not in await _field_codes(stranger)  # the standby, behind but within the limit
        await asyncio.sleep(MAX_LAG_SECONDS + 0.3)
        await _fresh(scene)
        assert not scene.replicas.replicas[0].usable
        assert "LAG_1" in await _field_codes(stranger)  # the primary


async def test_a_stopped_replica_is_skipped(cluster: Cluster, scene: Scene) -> None:
    """Issue 15.1: a standby that is down is skipped (reads go to the primary, no error), and used
    again once it answers and has caught up."""
    await _fresh(scene)
    assert scene.replicas.replicas[0].usable
    cluster.replica.stop()
    scene.replicas.check_seconds = 3600.0  # the cached health still says "usable"
    try:
        async with client_at(scene, "10.4.0.2") as client:
            assert "BAD" not in await _field_codes(client)  # answered all the same
            assert not scene.replicas.replicas[0].usable  # found unreachable by the request
            assert "BAD" not in await _field_codes(client)
        scene.replicas.check_seconds = 0.2
        await _fresh(scene)
        assert not scene.replicas.replicas[0].usable
        before = scene.on_replica.count
        async with client_at(scene, "10.4.0.1") as client:
            assert "BAD" not in await _field_codes(client)
            response = await client.get("/exports/statistics.csv?from=2026-11-01&to=2026-11-30")
            assert response.status_code == 200
        assert scene.on_replica.count == before + 0  # only the failed health check tried it
    finally:
        scene.replicas.check_seconds = 0.2
        cluster.replica.start()
    await caught_up(cluster)
    await _fresh(scene)
    assert scene.replicas.replicas[0].usable


async def test_no_replica_configured_reads_the_primary(scene: Scene) -> None:
    """Issue 15.1: without DATABASE_READ_URLS every read is on the primary (the request's session)."""
    db = RequestDb(scene.runtime.session_factory)
    async with db.read_session() as session:
        assert (await session.execute(text("SELECT pg_is_in_recovery()"))).scalar() is False
    async with db.session() as same:
        assert session is same
    await db.finish(commit=False)
