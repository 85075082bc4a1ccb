"""`/metrics` shows what operators watch, computed from what really happened in this test."""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import create_app
from core.clock import FixedClock
from core.observability import log_handler, request_id
from core.settings import Settings
from devservers import EmbeddedClamd
from models.accounts import Notification
from models.dossiers import DossierEvent
from schema import extensions
from storage.clamav import ClamAV
from storage.s3 import ObjectStore
from tests.conftest import NOW, ROOT, app_runtime
from tests.dossiers.helpers import act
from tests.payments.helpers import submitted


async def scrape(client: httpx.AsyncClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_operations_errors_and_overdue_dossiers_are_counted(
    client: httpx.AsyncClient,
    session: AsyncSession,
    store: ObjectStore,
    clock: FixedClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Operation names are labels up to 500 per process, then "other": the suite's generated
    # operations (tests/planner) may have used them all up.
    monkeypatch.setattr(extensions, "_SEEN_NAMES", set())
    before = await scrape(client)
    query = "query AgencyList { agencyTree { code } }"
    for _ in range(3):
        assert (await client.post("/graphql", json={"query": query})).status_code == 200
    bad = 'mutation Rate { dossierRate(id: "x", scores: []) { __typename } }'
    await client.post("/graphql", json={"query": bad})  # anonymous: refused, UNAUTHENTICATED
    await client.post("/graphql", json={"query": "{ nothingHere }"})  # invalid document

    s, dossier_id = await submitted(client, session, store)
    received = await act(client, s.reception, "dossierReceive", id=str(dossier_id))
    assert received["dossier"]["status"] == "IN_PROGRESS"
    clock.at = NOW + timedelta(days=30)  # far past the appointment

    after = await scrape(client)
    ops = "dvc_graphql_operations_total"
    assert (
        value(after, ops, operation="AgencyList", type="query")
        - value(before, ops, operation="AgencyList", type="query")
        == 3
    )
    errors = "dvc_errors_total"
    # Deltas over this test's own calls: one anonymous refusal, one invalid document, three timings.
    for name, labels, delta in (
        (errors, {"code": "UNAUTHENTICATED"}, 1),
        (errors, {"code": "GRAPHQL_ERROR"}, 1),
        ("dvc_graphql_operation_seconds_count", {"operation": "AgencyList"}, 3),
    ):
        assert value(after, name, **labels) - value(before, name, **labels) == delta, (name, labels)
    assert value(after, "dvc_http_requests_total", route="/graphql", method="POST", status="200") >= 5
    assert value(after, "dvc_dossiers_overdue", agency="H44.99") == 1
    # The notification outbox holds the receipt notice to the citizen, waiting for a sender.
    assert value(after, "dvc_notifications_backlog") >= 1
    assert value(after, "dvc_notifications_oldest_pending_seconds") >= timedelta(days=29).total_seconds()


async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    mine = await client.get("/healthz", headers={"X-Request-Id": "client-trace-0001"})
    assert mine.headers["x-request-id"] == "client-trace-0001"
    fresh = await client.get("/healthz", headers={"X-Request-Id": "bad id with spaces"})
    assert fresh.headers["x-request-id"] != "bad id with spaces"
    assert len(fresh.headers["x-request-id"]) == 32


def test_json_log_lines_carry_the_request_id() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("dvc.test.json")
    logger.propagate = False
    logger.addHandler(log_handler("json", stream))
    token = request_id.set("req-12345678")
    try:
        logger.warning("hồ sơ %s quá hạn", "X-1", extra={"agency": "H44.99"})
    finally:
        request_id.reset(token)
    line = json.loads(stream.getvalue())
    assert line["message"] == "hồ sơ X-1 quá hạn"
    assert line["level"] == "WARNING"
    assert line["request_id"] == "req-12345678"
    assert line["agency"] == "H44.99"
    assert line["time"]


async def test_metrics_can_require_a_token(
    settings: Settings, client: httpx.AsyncClient, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    guarded = create_app(
        app_runtime(settings.model_copy(update={"metrics_token": "scrape-token-0123456789"}), session_factory)
    )
    transport = httpx.ASGITransport(app=guarded)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        assert (await c.get("/metrics")).status_code == 401
        assert (await c.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        ok = await c.get("/metrics", headers={"Authorization": "Bearer scrape-token-0123456789"})
        assert ok.status_code == 200
        assert "dvc_http_requests_total" in ok.text


async def test_the_clamav_signature_age_is_a_gauge(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    clamd: EmbeddedClamd,
    tmp_path: Path,
) -> None:
    """The age of the signatures the running clamd loaded (here: by file time, as clamd gives
    no date for the test .hdb); without a way to date them, no sample at all (not a fake 0)."""
    signatures = tmp_path / "signatures"
    signatures.mkdir()
    shutil.copy(ROOT / "assets" / "clamav" / "test.hdb", signatures / "test.hdb")
    built = NOW - timedelta(hours=5)
    os.utime(signatures / "test.hdb", (built.timestamp(), built.timestamp()))

    def app_with(changes: dict[str, object]) -> httpx.AsyncClient:
        app = create_app(
            app_runtime(
                settings.model_copy(update=changes), session_factory, scanner=ClamAV(clamd.socket_path)
            )
        )
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")

    async with app_with({"clamav_signatures": signatures}) as c:
        samples = await scrape(c)
    assert value(samples, "dvc_clamav_signature_age_seconds", dated_by="files") == 5 * 3600
    async with app_with({}) as c:
        samples = await scrape(c)
    assert not [key for key in samples if key[0] == "dvc_clamav_signature_age_seconds"]


async def test_the_request_id_is_carried_to_the_events_and_notifications_it_made(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    s, dossier_id = await submitted(client, session, store)
    receive = "mutation($id: ID!) { dossierReceive(id: $id) { __typename } }"
    answer = await client.post(
        "/graphql",
        json={"query": receive, "variables": {"id": str(dossier_id)}},
        headers={"Authorization": f"Bearer {s.reception}", "X-Request-Id": "counter-desk-0042"},
    )
    assert answer.json()["data"]["dossierReceive"]["__typename"] == "DossierChanged"
    event = await session.scalar(
        select(DossierEvent).where(DossierEvent.dossier_id == dossier_id, DossierEvent.action == "RECEIVE")
    )
    assert event is not None
    assert event.request_id == "counter-desk-0042"
    told = (
        await session.scalars(select(Notification).where(Notification.template == "dossier_receive"))
    ).all()
    assert told
    assert {n.request_id for n in told} == {"counter-desk-0042"}
    submit_event = await session.scalar(
        select(DossierEvent).where(DossierEvent.dossier_id == dossier_id, DossierEvent.action == "SUBMIT")
    )
    assert submit_event is not None
    assert submit_event.request_id is not None
    assert submit_event.request_id != "counter-desk-0042"  # each request its own id
