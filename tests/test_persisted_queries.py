"""Persisted queries (Apollo's protocol, allow-listed by SHA-256): by hash over POST and GET, an
unknown hash answers PERSISTED_QUERY_NOT_FOUND, a hash that is not the query's is refused, and
with PERSISTED_QUERIES_ONLY nothing but the allow-list runs — over websockets too."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from httpx_ws import aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import Runtime, create_app
from core.settings import Settings
from schema.persisted import PersistedQueries, document_hash
from tests.conftest import ROOT, app_runtime

LOOKUP = "query($code: String!) { dossierStatus(code: $code) { public { code status } } }"
OTHER = "query { __typename }"
NOT_LISTED = "query { calendarDays: __typename }"

Client = Callable[..., Any]


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "persisted.json"
    operations = [{"id": document_hash(LOOKUP), "name": "Lookup", "type": "query", "body": LOOKUP}]
    path.write_text(
        json.dumps({"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations})
    )
    return path


def _runtime(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], path: Path, *, only: bool
) -> Runtime:
    configured = settings.model_copy(update={"persisted_queries": path, "persisted_queries_only": only})
    return app_runtime(configured, session_factory)


@pytest.fixture
def app_client(settings: Settings, session_factory: async_sessionmaker[AsyncSession]) -> Callable[..., Any]:
    @asynccontextmanager
    async def make(path: Path, *, only: bool = False) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=create_app(_runtime(settings, session_factory, path, only=only)))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client

    return make


def _persisted(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


def _code(body: dict[str, Any]) -> str:
    return str(body["errors"][0]["extensions"]["code"])


async def test_a_listed_hash_runs_its_document_over_post_and_get(manifest: Path, app_client: Client) -> None:
    async with app_client(manifest) as client:
        posted = await client.post(
            "/graphql",
            json={"variables": {"code": "NO-SUCH-CODE"}, "extensions": _persisted(document_hash(LOOKUP))},
        )
        assert posted.status_code == 200
        assert posted.json() == {"data": {"dossierStatus": None}}
        got = await client.get(
            "/graphql",
            params={
                "variables": json.dumps({"code": "NO-SUCH-CODE"}),
                "extensions": json.dumps(_persisted(document_hash(LOOKUP))),
            },
        )
        assert got.status_code == 200
        assert got.json() == {"data": {"dossierStatus": None}}
        # The text may come along with its hash (Apollo clients retrying): it must be that document.
        both = await client.post(
            "/graphql",
            json={
                "query": LOOKUP,
                "variables": {"code": "X"},
                "extensions": _persisted(document_hash(LOOKUP)),
            },
        )
        assert both.json() == {"data": {"dossierStatus": None}}


async def test_an_unknown_hash_is_not_found_and_a_wrong_one_refused(
    manifest: Path, app_client: Client
) -> None:
    async with app_client(manifest) as client:
        unknown = await client.post("/graphql", json={"extensions": _persisted("ab" * 32)})
        assert unknown.status_code == 200
        assert unknown.json()["data"] is None
        assert _code(unknown.json()) == "PERSISTED_QUERY_NOT_FOUND"
        assert unknown.json()["errors"][0]["message"] == "PersistedQueryNotFound"
        wrong = await client.post(
            "/graphql", json={"query": OTHER, "extensions": _persisted(document_hash(LOOKUP))}
        )
        assert _code(wrong.json()) == "PERSISTED_QUERY_MISMATCH"
        missing = await client.post("/graphql", json={"extensions": {"persistedQuery": {"version": 1}}})
        assert _code(missing.json()) == "PERSISTED_QUERY_INVALID"
        # Without the production switch, ordinary queries still run (with or without a hash).
        plain = await client.post("/graphql", json={"query": OTHER})
        assert plain.json() == {"data": {"__typename": "Query"}}
        hashed = await client.post(
            "/graphql", json={"query": NOT_LISTED, "extensions": _persisted(document_hash(NOT_LISTED))}
        )
        assert hashed.json() == {"data": {"calendarDays": "Query"}}


async def test_only_persisted_queries_run_when_required(manifest: Path, app_client: Client) -> None:
    async with app_client(manifest, only=True) as client:
        plain = await client.post("/graphql", json={"query": OTHER})
        assert plain.status_code == 200
        assert plain.json()["data"] is None
        assert _code(plain.json()) == "PERSISTED_QUERY_REQUIRED"
        hashed = await client.post(
            "/graphql", json={"query": NOT_LISTED, "extensions": _persisted(document_hash(NOT_LISTED))}
        )
        assert _code(hashed.json()) == "PERSISTED_QUERY_NOT_FOUND"
        listed = await client.post(
            "/graphql", json={"variables": {"code": "X"}, "extensions": _persisted(document_hash(LOOKUP))}
        )
        assert listed.json() == {"data": {"dossierStatus": None}}


def test_the_allow_list_is_checked_when_read(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"ab" * 32: LOOKUP}))
    with pytest.raises(ValueError, match="does not have that SHA-256"):
        PersistedQueries.load(bad)
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps({document_hash(LOOKUP): LOOKUP}))
    assert PersistedQueries.load(plain).documents == {document_hash(LOOKUP): LOOKUP}
    shipped = PersistedQueries.load(ROOT / "assets" / "persisted-queries.json")
    assert len(shipped.documents) >= 2


def test_only_needs_a_list(settings: Settings) -> None:
    with pytest.raises(ValidationError, match="PERSISTED_QUERIES_ONLY needs PERSISTED_QUERIES"):
        Settings(database_url=settings.database_url, jwt_secret="x" * 40, persisted_queries_only=True)


@asynccontextmanager
async def _websocket(app: Any, protocol: str) -> AsyncIterator[Any]:
    async with (
        ASGIWebSocketTransport(app=app) as transport,
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        connect: Any = aconnect_ws
        async with connect("http://test/graphql", client, subprotocols=[protocol]) as ws:
            await ws.send_json({"type": "connection_init", "payload": {}})
            assert (await asyncio.wait_for(ws.receive_json(), timeout=5))["type"] == "connection_ack"
            yield ws


async def test_websockets_follow_the_same_allow_list(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession], manifest: Path
) -> None:
    app = create_app(_runtime(settings, session_factory, manifest, only=True))
    async with _websocket(app, "graphql-transport-ws") as ws:
        # plain text, even a subscription: refused, and the connection stays usable
        await ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": 'subscription { procedureChanged(code: "X") { code } }'},
            }
        )
        refused = await asyncio.wait_for(ws.receive_json(), timeout=5)
        assert (refused["id"], refused["type"]) == ("1", "error")
        assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
        # a listed hash runs its document, with or without the text
        digest = document_hash(LOOKUP)
        for ident, payload in (
            ("2", {"variables": {"code": "NO-SUCH-CODE"}, "extensions": _persisted(digest)}),
            ("3", {"query": LOOKUP, "variables": {"code": "NO-SUCH-CODE"}, "extensions": _persisted(digest)}),
        ):
            await ws.send_json({"id": ident, "type": "subscribe", "payload": payload})
            answer = await asyncio.wait_for(ws.receive_json(), timeout=5)
            assert answer == {"id": ident, "type": "next", "payload": {"data": {"dossierStatus": None}}}
            assert (await asyncio.wait_for(ws.receive_json(), timeout=5)) == {"id": ident, "type": "complete"}
        # a text that is not the hash's document
        await ws.send_json(
            {"id": "4", "type": "subscribe", "payload": {"query": OTHER, "extensions": _persisted(digest)}}
        )
        mismatch = await asyncio.wait_for(ws.receive_json(), timeout=5)
        assert mismatch["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_MISMATCH"
    async with _websocket(app, "graphql-ws") as ws:  # the legacy protocol too
        await ws.send_json({"id": "1", "type": "start", "payload": {"query": OTHER}})
        refused = await asyncio.wait_for(ws.receive_json(), timeout=5)
        assert refused["type"] == "error"
        assert refused["payload"]["extensions"]["code"] == "PERSISTED_QUERY_REQUIRED"
