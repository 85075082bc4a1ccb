"""The HTTP surface: liveness, readiness against the real servers, GraphiQL, error masking."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta
from pathlib import Path

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import create_app
from core.settings import Settings
from devservers import EmbeddedClamd
from storage.clamav import ClamAV
from storage.s3 import ObjectStore
from tests.conftest import NOW, ROOT, app_runtime, gql


async def test_healthz(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_checks_database_object_store_and_scanner(client: httpx.AsyncClient) -> None:
    response = await client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ready",
        "checks": {"database": True, "objectStore": True, "malwareScanner": True},
        # Test signature only, no folder configured to date it by: the age is unknown, and said so.
        "signatures": {
            "version": None,
            "builtAt": None,
            "ageHours": None,
            "datedBy": None,
            "stale": False,
            "updates": False,
        },
    }


async def test_readyz_reports_stale_signatures_and_stays_ready(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    clamd: EmbeddedClamd,
    tmp_path: Path,
) -> None:
    """Signatures three days old (clamd gives no date for the test .hdb: the file's time) are
    reported stale; the service stays ready (old signatures still catch known malware)."""
    signatures = tmp_path / "signatures"
    signatures.mkdir()
    shutil.copy(ROOT / "assets" / "clamav" / "test.hdb", signatures / "test.hdb")
    built = NOW - timedelta(hours=72)
    os.utime(signatures / "test.hdb", (built.timestamp(), built.timestamp()))
    app = create_app(
        app_runtime(
            settings.model_copy(update={"clamav_signatures": signatures}),
            session_factory,
            store,
            scanner=ClamAV(clamd.socket_path),
        )
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        response = await c.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"
    assert response.json()["signatures"] == {
        "version": None,
        "builtAt": built.isoformat(),
        "ageHours": 72.0,
        "datedBy": "files",
        "stale": True,
        "updates": False,
    }


async def test_readyz_fails_when_the_scanner_is_gone(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], store: ObjectStore, tmp_path: Path
) -> None:
    app = create_app(
        app_runtime(
            settings, session_factory, store, scanner=ClamAV(str(tmp_path / "no-clamd.sock"), timeout=1)
        )
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        response = await c.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "objectStore": True, "malwareScanner": False}


async def test_graphiql_is_served_to_browsers(client: httpx.AsyncClient) -> None:
    response = await client.get("/graphql", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "graphiql" in response.text.lower()


async def test_syntax_error_is_reported_not_masked(client: httpx.AsyncClient) -> None:
    body = await gql(client, "{ procedures(first: ) }", expect_errors=True)
    assert "Syntax Error" in body["errors"][0]["message"]


async def test_bad_bearer_token_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ fields { code } }"}, headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401
    # In GraphQL's error shape, so a GraphQL client reads it as an error, not a transport failure.
    assert response.headers["content-type"] == "application/json"
    assert response.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    assert response.json() == {
        "errors": [
            {
                "message": "Thông tin xác thực không hợp lệ hoặc đã hết hạn.",
                "extensions": {"code": "UNAUTHENTICATED"},
            }
        ]
    }


async def test_bad_cursor_is_a_clear_client_error(client: httpx.AsyncClient) -> None:
    body = await gql(client, '{ procedures(after: "%%%") { totalCount } }', expect_errors=True)
    error = body["errors"][0]
    assert error["extensions"]["code"] == "BAD_CURSOR"
    assert "phân trang" in error["message"]
