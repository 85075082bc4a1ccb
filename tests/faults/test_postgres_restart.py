"""PostgreSQL restarted under load: the app recovers by itself, no request hangs, no acknowledged
write is lost.

Clients save drafts (writes, each with a unique marker in its form) and look up the catalog and
their own drafts, continuously, against a real app process; in the middle the test stops
PostgreSQL (`pg_ctl stop -m fast`: every connection is cut) and starts the same data folder again.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from models.dossiers import Dossier
from tests.faults.conftest import AppProcess, Site, record

pytestmark = pytest.mark.faults

CLIENT_TIMEOUT = 15.0  # no request may take longer than this: a hang would show as a timeout
RECOVERY_BOUND = 20.0  # seconds from PostgreSQL answering again to /readyz answering 200
WORKERS = 6

SAVE = """mutation($input: DossierDraftInput!) { dossierSaveDraft(input: $input) {
  __typename ... on DossierChanged { dossier { id } } ... on UserError { code message } } }"""
LOOKUP = """query { procedures(search: "khai sinh", first: 3) { totalCount } }"""


@dataclass
class Tally:
    sent: int = 0
    writes_sent: int = 0
    acknowledged: dict[str, str] = field(default_factory=dict)  # marker -> dossier id
    lookups_ok: int = 0
    errors: dict[str, int] = field(default_factory=dict)  # clear errors by code / kind
    timeouts: int = 0
    slowest: float = 0.0

    def error(self, kind: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1


async def _one(
    client: httpx.AsyncClient, tally: Tally, token: str, query: str, variables: dict[str, Any]
) -> dict[str, Any] | None:
    started = time.monotonic()
    try:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {token}"},
        )
    except httpx.TimeoutException:
        tally.timeouts += 1
        return None
    except httpx.TransportError as error:
        tally.error(type(error).__name__)
        return None
    finally:
        tally.slowest = max(tally.slowest, time.monotonic() - started)
    if response.status_code not in (200, 503):
        tally.error(f"HTTP {response.status_code}")
        return None
    body: dict[str, Any] = response.json()
    if response.status_code == 503:
        assert response.headers["retry-after"], response.headers
    if body.get("errors"):
        first = body["errors"][0]
        # a clear error: a message for people and a stable code for programs, nothing internal
        assert first["message"], body
        assert "Traceback" not in str(body), body
        assert "asyncpg" not in str(body), body
        tally.error(str((first.get("extensions") or {}).get("code", "NO_CODE")))
        return None
    data: dict[str, Any] = body["data"]
    return data


async def _load(app: AppProcess, site: Site, tally: Tally, stop: asyncio.Event) -> None:
    token = site.tokens["citizen"]
    async with httpx.AsyncClient(base_url=app.base, timeout=CLIENT_TIMEOUT) as client:
        while not stop.is_set():
            marker = uuid.uuid4().hex
            tally.sent += 1
            tally.writes_sent += 1
            data = await _one(
                client,
                tally,
                token,
                SAVE,
                {
                    "input": {
                        "procedureCode": "9.999001",
                        "receivingAgencyCode": "H44.99",
                        "formData": {"hoTen": f"Người nộp {marker}"},
                    }
                },
            )
            if data is not None:
                result = data["dossierSaveDraft"]
                assert result["__typename"] == "DossierChanged", result
                tally.acknowledged[marker] = result["dossier"]["id"]
            tally.sent += 1
            if await _one(client, tally, token, LOOKUP, {}) is not None:
                tally.lookups_ok += 1
            await asyncio.sleep(0.02)


async def _ready(app: AppProcess) -> int:
    async with httpx.AsyncClient(timeout=5) as client:
        try:
            return (await client.get(f"{app.base}/readyz")).status_code
        except httpx.TransportError:
            return 0


async def test_postgres_restarted_under_load(site: Site) -> None:
    app = site.start_app("pg-restart")
    tally = Tally()
    stop = asyncio.Event()
    workers = [asyncio.create_task(_load(app, site, tally, stop)) for _ in range(WORKERS)]
    await asyncio.sleep(4)
    before_restart = len(tally.acknowledged)
    assert before_restart > 0, tally

    down_at = time.monotonic()
    await asyncio.to_thread(site.stop_postgres)
    await asyncio.sleep(1)
    assert await _ready(app) == 503  # readiness tells the balancer while the database is away
    await asyncio.sleep(2)
    await asyncio.to_thread(site.start_postgres_again)
    up_at = time.monotonic()
    while await _ready(app) != 200:
        assert time.monotonic() - up_at < RECOVERY_BOUND, "the app did not recover by itself"
        await asyncio.sleep(0.2)
    recovered_after = time.monotonic() - up_at
    acknowledged_at_recovery = len(tally.acknowledged)
    await asyncio.sleep(4)
    stop.set()
    await asyncio.gather(*workers)
    assert len(tally.acknowledged) > acknowledged_at_recovery, "writes did not succeed after recovery"

    # After recovery every request succeeds.
    after = Tally()
    async with httpx.AsyncClient(base_url=app.base, timeout=CLIENT_TIMEOUT) as client:
        for _ in range(20):
            assert await _one(client, after, site.tokens["citizen"], LOOKUP, {}) is not None, after

    # No acknowledged write is lost.
    engine = site.engine()
    try:
        async with engine.connect() as conn:
            rows = await conn.execute(
                select(Dossier.id, Dossier.form_data).where(
                    Dossier.id.in_([uuid.UUID(i) for i in tally.acknowledged.values()])
                )
            )
            stored = {str(r.id): r.form_data for r in rows}
    finally:
        await engine.dispose()
    lost = [m for m, i in tally.acknowledged.items() if stored.get(i, {}).get("hoTen") != f"Người nộp {m}"]
    assert lost == []
    assert tally.timeouts == 0, tally
    assert set(tally.errors) <= {"DATABASE_UNAVAILABLE"}, tally.errors  # 503 or typed, never internal
    assert tally.slowest < CLIENT_TIMEOUT
    record(
        "postgres-restart",
        {
            "requests sent": tally.sent,
            "writes sent": tally.writes_sent,
            "writes acknowledged": len(tally.acknowledged),
            "acknowledged writes lost": len(lost),
            "lookups answered": tally.lookups_ok,
            "clear errors while down": tally.errors,
            "timeouts (hangs)": tally.timeouts,
            "slowest request s": round(tally.slowest, 2),
            "database down s": round(up_at - down_at, 1),
            "ready again after s": round(recovered_after, 1),
        },
    )
