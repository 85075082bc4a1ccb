"""Live over real processes: a websocket subscriber on one app process sees a change committed
through another (PostgreSQL LISTEN/NOTIFY), after the current state first."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from httpx_ws import AsyncWebSocketSession, WebSocketDisconnect, aconnect_ws
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.catalog.factories import CREATE, PUBLISH, procedure_input
from tests.conftest import ADMIN_TOKEN

SUBSCRIBE = "subscription($code: String!) { procedureChanged(code: $code) { code status version name } }"


@pytest_asyncio.fixture
async def code(engine: AsyncEngine) -> AsyncIterator[str]:
    """A procedure code of this test's own; its committed rows are removed afterwards."""
    value = f"6.{uuid.uuid4().int % 10**6:06d}"
    yield value
    async with engine.begin() as conn:
        pid = "(SELECT id FROM procedures WHERE code = :c)"
        await conn.execute(
            text(f"UPDATE procedures SET published_version_id = NULL, status = 'DRAFT' WHERE id = {pid}"),
            {"c": value},
        )
        for table in ("procedure_events", "procedure_versions"):
            await conn.execute(text(f"DELETE FROM {table} WHERE procedure_id = {pid}"), {"c": value})
        await conn.execute(text("DELETE FROM procedures WHERE code = :c"), {"c": value})


@contextlib.asynccontextmanager
async def _connect(
    url: str, token: str | None = None, *, in_init: bool = False
) -> AsyncIterator[AsyncWebSocketSession]:
    """A graphql-transport-ws connection, initialised and acknowledged. The token travels in the
    handshake's Authorization header, or (`in_init`) in the `connection_init` payload."""
    bearer = f"Bearer {token}" if token else None
    headers = {"Authorization": bearer} if bearer and not in_init else {}
    payload = {"Authorization": bearer} if bearer and in_init else {}
    async with httpx.AsyncClient(timeout=10) as client:
        connect: Any = aconnect_ws  # its decorator hides the types from mypy
        session: AsyncWebSocketSession
        async with connect(url, client, subprotocols=["graphql-transport-ws"], headers=headers) as session:
            await session.send_json({"type": "connection_init", "payload": payload})
            assert json.loads(await session.receive_text())["type"] == "connection_ack"
            yield session


async def _post(base: str, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=10) as client:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables},
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def _next(ws: AsyncWebSocketSession) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.receive_text(), timeout=10))
    assert message["type"] == "next", message
    assert message["payload"].get("data"), message
    data: dict[str, Any] = message["payload"]["data"]["procedureChanged"]
    return data


async def test_subscriber_on_one_process_sees_commits_from_another(
    app_processes: list[str], code: str
) -> None:
    writer, reader = app_processes
    created = await _post(writer, CREATE, {"input": procedure_input(code)})
    assert created["procedureCreate"]["__typename"] == "ProcedureSaved", created
    async with _connect(f"{reader}/graphql", ADMIN_TOKEN) as ws:
        await ws.send_json(
            {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": {"code": code}}}
        )
        first = await _next(ws)
        assert (first["code"], first["status"], first["version"]) == (code, "DRAFT", 1)

        await _post(writer, PUBLISH, {"code": code, "number": "9/QĐ-UBND", "date": "2026-11-20"})
        published = await _next(ws)
        assert (published["status"], published["version"]) == ("PUBLISHED", 1)

        # A failed mutation commits nothing, so subscribers hear nothing.
        failed = await _post(writer, PUBLISH, {"code": code, "number": "9/QĐ-UBND", "date": "2026-11-20"})
        assert failed["procedurePublish"]["__typename"] == "InvalidTransition"
        with contextlib.suppress(TimeoutError):
            extra = await asyncio.wait_for(ws.receive_text(), timeout=1.0)
            raise AssertionError(f"unexpected event after a failed mutation: {extra}")

        await ws.send_json({"id": "1", "type": "complete"})


async def test_unknown_procedure_subscription_ends_with_an_error(app_processes: list[str]) -> None:
    async with _connect(f"{app_processes[0]}/graphql") as ws:
        await ws.send_json(
            {
                "id": "1",
                "type": "subscribe",
                "payload": {"query": SUBSCRIBE, "variables": {"code": "0.000000"}},
            }
        )
        message = json.loads(await asyncio.wait_for(ws.receive_text(), timeout=10))
        assert message["type"] in {"error", "next"}
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_websocket_authenticates_in_connection_init(app_processes: list[str], code: str) -> None:
    created = await _post(app_processes[0], CREATE, {"input": procedure_input(code)})
    assert created["procedureCreate"]["__typename"] == "ProcedureSaved"
    subscribe = {"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE, "variables": {"code": code}}}
    async with _connect(f"{app_processes[1]}/graphql", ADMIN_TOKEN, in_init=True) as ws:
        await ws.send_json(subscribe)
        assert (await _next(ws))["status"] == "DRAFT"  # a draft: only a catalog admin sees it
    async with _connect(f"{app_processes[1]}/graphql") as ws:  # anonymous: the draft does not exist
        await ws.send_json(subscribe)
        message = json.loads(await asyncio.wait_for(ws.receive_text(), timeout=10))
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "NOT_FOUND"


async def test_websocket_with_a_forged_token_is_closed(app_processes: list[str]) -> None:
    forged = ADMIN_TOKEN[:-4] + ("AAAA" if not ADMIN_TOKEN.endswith("AAAA") else "BBBB")
    async with httpx.AsyncClient(timeout=10) as client:
        connect: Any = aconnect_ws
        async with connect(
            f"{app_processes[0]}/graphql", client, subprotocols=["graphql-transport-ws"]
        ) as ws:
            await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {forged}"}})
            with pytest.raises(WebSocketDisconnect) as closed:
                await asyncio.wait_for(ws.receive_text(), timeout=10)
            assert closed.value.code == 4403


async def test_twenty_subscriptions_and_queries_share_one_socket(app_processes: list[str], code: str) -> None:
    """Twenty `subscribe` messages at once on one graphql-transport-ws socket, with queries sent over
    the same socket in between: each operation does its own database work (once, four of six
    answered a masked internal error: the socket's one session was finished by two at a time)."""
    writer, reader = app_processes
    created = await _post(writer, CREATE, {"input": procedure_input(code)})
    assert created["procedureCreate"]["__typename"] == "ProcedureSaved", created
    query = "query($code: String!) { procedure(code: $code) { code status } }"
    async with _connect(f"{reader}/graphql", ADMIN_TOKEN) as ws:
        for i in range(20):
            await ws.send_json(
                {
                    "id": f"s{i}",
                    "type": "subscribe",
                    "payload": {"query": SUBSCRIBE, "variables": {"code": code}},
                }
            )
            if i % 4 == 0:
                await ws.send_json(
                    {
                        "id": f"q{i}",
                        "type": "subscribe",
                        "payload": {"query": query, "variables": {"code": code}},
                    }
                )
        firsts: dict[str, dict[str, Any]] = {}
        completed: set[str] = set()
        while len(firsts) < 25 or len(completed) < 5:
            message = json.loads(await asyncio.wait_for(ws.receive_text(), timeout=15))
            assert message["type"] in {"next", "complete"}, message
            if message["type"] == "complete":
                completed.add(message["id"])
                continue
            assert "errors" not in message["payload"], message
            assert message["id"] not in firsts, message
            firsts[message["id"]] = message["payload"]["data"]
        assert completed == {f"q{i}" for i in range(0, 20, 4)}
        for key, data in firsts.items():
            state = data["procedure"] if key.startswith("q") else data["procedureChanged"]
            assert (state["code"], state["status"]) == (code, "DRAFT"), data

        # a change reaches every one of the twenty, once each
        await _post(writer, PUBLISH, {"code": code, "number": "9/QĐ-UBND", "date": "2026-11-20"})
        seen: dict[str, str] = {}
        while len(seen) < 20:
            message = json.loads(await asyncio.wait_for(ws.receive_text(), timeout=15))
            assert message["type"] == "next", message
            assert "errors" not in message["payload"], message
            assert message["id"] not in seen, message
            seen[message["id"]] = message["payload"]["data"]["procedureChanged"]["status"]
        assert seen == {f"s{i}": "PUBLISHED" for i in range(20)}
        with contextlib.suppress(TimeoutError):
            extra = await asyncio.wait_for(ws.receive_text(), timeout=0.5)
            raise AssertionError(f"more than one event per subscription: {extra}")


async def test_a_bad_token_in_the_handshake_closes_with_4403(app_processes: list[str]) -> None:
    """A forged token in the handshake's Authorization header: the socket is closed with 4403 and
    a reason (once: 101, then the TCP connection dropped with no close frame)."""
    forged = ADMIN_TOKEN[:-4] + ("AAAA" if not ADMIN_TOKEN.endswith("AAAA") else "BBBB")
    for protocol in ("graphql-transport-ws", "graphql-ws"):
        async with httpx.AsyncClient(timeout=10) as client:
            connect: Any = aconnect_ws
            async with connect(
                f"{app_processes[0]}/graphql",
                client,
                subprotocols=[protocol],
                headers={"Authorization": f"Bearer {forged}"},
            ) as ws:
                with pytest.raises(WebSocketDisconnect) as closed:
                    await asyncio.wait_for(ws.receive_text(), timeout=10)
                assert closed.value.code == 4403, protocol
                assert closed.value.reason == "Forbidden"
