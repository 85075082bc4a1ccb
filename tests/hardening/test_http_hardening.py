"""HTTP hardening: security headers, CORS by configuration, bounded and timed request bodies,
websocket authentication and connection-init timeout, uvicorn's limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from httpx_ws import WebSocketDisconnect, aconnect_ws
from httpx_ws.transport import ASGIWebSocketTransport
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import create_app
from cli.serve import server_limits
from core import checklist
from core.http import STRICT_CSP
from core.settings import Settings
from tests.hardening.helpers import client_with, runtime
from web.graphiql import POLICY

UNKNOWN = "000.00.99.H44-261127-9999"


def _policy(csp: str) -> dict[str, list[str]]:
    return {d.split()[0]: d.split()[1:] for d in (part.strip() for part in csp.split(";")) if d}


async def test_security_headers_on_every_kind_of_answer(client: httpx.AsyncClient) -> None:
    answers = [
        await client.get("/healthz"),
        await client.post("/graphql", json={"query": "{ __typename }"}),
        await client.post("/graphql", json={"query": "{ nope }"}),
        await client.get(f"/tra-cuu/{UNKNOWN}"),
        await client.get("/no-such-page"),
        await client.post("/graphql", content=b"x" * 2_000_000, headers={"Content-Type": "application/json"}),
    ]
    for response in answers:
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["referrer-policy"] == "no-referrer"
        assert response.headers["x-frame-options"] == "DENY"
        assert response.headers["content-security-policy"] == STRICT_CSP
        assert "strict-transport-security" not in response.headers  # PUBLIC_BASE_URL is http here


async def test_hsts_only_behind_https(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with client_with(settings, session_factory, public_base_url="https://dichvucong.example.vn") as c:
        response = await c.get("/healthz")
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


async def test_graphiql_brings_its_own_policy_with_no_other_host(client: httpx.AsyncClient) -> None:
    page = await client.get("/graphql", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert page.headers["content-security-policy"] == POLICY  # the middleware kept the page's own
    policy = _policy(POLICY)
    for directive, sources in policy.items():
        for source in sources:
            assert source in {"'self'", "'none'", "data:"} or source.startswith("'sha256-"), (
                directive,
                source,
            )
    assert policy["default-src"] == ["'none'"]
    assert policy["connect-src"] == ["'self'"]  # queries and subscriptions go to this origin
    assert policy["frame-ancestors"] == ["'none'"]
    for directive in ("script-src", "style-src"):
        assert "'unsafe-inline'" not in policy[directive]
        assert "'unsafe-eval'" not in policy[directive]
    assert "http://" not in page.text
    assert "https://" not in page.text


async def test_server_rendered_pages_fit_the_strict_policy(client: httpx.AsyncClient) -> None:
    page = await client.get(f"/tra-cuu/{UNKNOWN}")
    assert page.headers["content-type"].startswith("text/html")
    assert "<script" not in page.text
    assert "<style>" in page.text
    assert _policy(page.headers["content-security-policy"])["style-src"] == ["'unsafe-inline'"]
    assert "<script" not in (await client.get("/xac-minh/KHONG-CO")).text


async def test_no_cors_headers_by_default(client: httpx.AsyncClient) -> None:
    preflight = await client.options(
        "/graphql",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers
    answer = await client.post(
        "/graphql", json={"query": "{ __typename }"}, headers={"Origin": "https://evil.example"}
    )
    assert "access-control-allow-origin" not in answer.headers


async def test_cors_for_the_configured_origins_only(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    front = "https://dichvucong.example.vn"
    async with client_with(settings, session_factory, cors_origins=f"{front}, http://localhost:5173") as c:
        allowed = await c.options(
            "/graphql",
            headers={
                "Origin": front,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization, content-type",
            },
        )
        assert allowed.status_code == 200
        assert allowed.headers["access-control-allow-origin"] == front
        refused = await c.options(
            "/graphql", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
        )
        assert refused.status_code == 400
        assert "access-control-allow-origin" not in refused.headers
        simple = await c.post("/graphql", json={"query": "{ __typename }"}, headers={"Origin": front})
        assert simple.headers["access-control-allow-origin"] == front


def test_cors_origins_are_validated() -> None:
    with pytest.raises(ValidationError, match=r"CORS_ORIGINS: 'dichvucong\.example\.vn' is not an origin"):
        Settings(cors_origins="dichvucong.example.vn")
    assert Settings(cors_origins="https://a.example.vn/, http://localhost:5173").cors_origin_list == [
        "https://a.example.vn",
        "http://localhost:5173",
    ]


def _refusal(response: httpx.Response, code: str) -> str:
    body = response.json()
    assert body["errors"][0]["extensions"]["code"] == code
    message: str = body["errors"][0]["message"]
    return message


async def test_a_declared_large_body_is_refused_before_reading(client: httpx.AsyncClient) -> None:
    big = json.dumps({"query": "{ __typename }", "variables": {"x": "a" * 1_100_000}}).encode()
    for path in ("/graphql", "/sms/inbound", "/oauth/token"):
        response = await client.post(path, content=big, headers={"Content-Type": "application/json"})
        assert response.status_code == 413
        assert _refusal(response, "BODY_TOO_LARGE") == "Nội dung yêu cầu quá lớn: tối đa 1048576 byte."


async def test_a_streamed_body_is_counted_while_read(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"query": "{ __typename }", "variables": {"x": "'
        for _ in range(40):
            yield b"a" * 65_536
        yield b'"}}'

    response = await client.post("/graphql", content=chunks(), headers={"Content-Type": "application/json"})
    assert "content-length" not in response.request.headers  # chunked: nothing declared
    assert response.status_code == 413
    _refusal(response, "BODY_TOO_LARGE")
    small = await client.post("/graphql", json={"query": "{ __typename }"})
    assert small.json() == {"data": {"__typename": "Query"}}


async def _raw(
    app: Any, headers: list[tuple[bytes, bytes]], parts: list[bytes | float], *, hang: bool = False
) -> tuple[int, bytes]:
    """Drive the ASGI app by hand: `parts` are body pieces, or pauses (seconds) between them;
    `hang`: the body never ends (a half-open client)."""
    queue = list(parts)
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if queue and isinstance(queue[0], float):
            await asyncio.sleep(queue.pop(0))  # type: ignore[arg-type]  # one pause between pieces
        if not queue:
            await asyncio.Event().wait()  # a half-open client: nothing more ever comes
        piece = queue.pop(0)
        assert isinstance(piece, bytes)
        return {
            "type": "http.request",
            "body": piece,
            "more_body": hang or any(isinstance(p, bytes) for p in queue),
        }

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"test"), (b"content-type", b"application/json"), *headers],
        "client": ("127.0.0.1", 5000),
        "server": ("test", 80),
    }
    await asyncio.wait_for(app(scope, receive, send), timeout=10)
    start = next(m for m in sent if m["type"] == "http.response.start")
    return start["status"], b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")


async def test_a_body_longer_than_its_declared_length_is_cut(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    app = create_app(runtime(settings, session_factory, None, max_body_bytes=4096))
    status, body = await _raw(app, [(b"content-length", b"100")], [b"{" + b" " * 3000, b" " * 3000 + b"}"])
    assert status == 413
    assert json.loads(body)["errors"][0]["extensions"]["code"] == "BODY_TOO_LARGE"


async def test_a_client_that_stops_sending_gets_408(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    app = create_app(runtime(settings, session_factory, None, body_read_timeout_seconds=0.3))
    status, body = await _raw(app, [], [b'{"query": "{ __typ'], hang=True)  # and then nothing
    assert status == 408
    refusal = json.loads(body)["errors"][0]
    assert refusal["extensions"]["code"] == "BODY_TIMEOUT"
    assert refusal["message"] == "Gửi nội dung yêu cầu quá chậm (quá 0.3 giây không nhận được dữ liệu)."
    # a slow but steady client is served
    status, body = await _raw(app, [], [b'{"query": ', 0.1, b'"{ __typename }"', 0.1, b"}"])
    assert status == 200
    assert json.loads(body) == {"data": {"__typename": "Query"}}


async def _ws_close_code(app: Any, messages: list[dict[str, Any]]) -> tuple[int, str]:
    async with (
        ASGIWebSocketTransport(app=app) as transport,
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        connect: Any = aconnect_ws
        async with connect("http://test/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            for message in messages:
                await ws.send_json(message)
            with pytest.raises(WebSocketDisconnect) as closed:
                await asyncio.wait_for(ws.receive_text(), timeout=5)
    return closed.value.code, closed.value.reason


async def test_a_bad_token_in_connection_init_is_refused(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    app = create_app(runtime(settings, session_factory, None))
    code, _ = await _ws_close_code(
        app, [{"type": "connection_init", "payload": {"Authorization": "Bearer forged"}}]
    )
    assert code == 4403


async def test_a_websocket_that_never_initialises_is_closed(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    app = create_app(runtime(settings, session_factory, None, ws_connection_init_timeout_seconds=0.3))
    code, reason = await _ws_close_code(app, [])
    assert code == 4408
    assert reason == "Connection initialisation timeout"


def test_uvicorn_guards_slow_idle_and_half_open_clients() -> None:
    options = server_limits(
        Settings(http_keep_alive_seconds=7, http_limit_concurrency=500, max_body_bytes=2048)
    )
    assert options == {
        "proxy_headers": False,  # no TRUSTED_PROXIES: X-Forwarded-For is nobody's word
        "forwarded_allow_ips": [],
        "timeout_keep_alive": 7,
        "limit_concurrency": 500,
        "ws_max_size": 2048,
        "ws_ping_interval": 20.0,
        "ws_ping_timeout": 20.0,
        "timeout_graceful_shutdown": 30,
    }


def test_forwarded_headers_only_from_trusted_proxies() -> None:
    behind = server_limits(Settings(trusted_proxies="127.0.0.1, 10.0.0.0/24"))
    assert behind["proxy_headers"] is True
    assert behind["forwarded_allow_ips"] == ["127.0.0.1", "10.0.0.0/24"]
    with pytest.raises(ValidationError, match="TRUSTED_PROXIES"):
        Settings(trusted_proxies="nginx")


def test_production_refuses_to_start_with_open_metrics() -> None:
    """The rule is one of the production checklist's (tests/test_checklist.py has them all)."""
    with pytest.raises(checklist.NotReadyForProduction, match="METRICS_TOKEN"):
        checklist.enforce(Settings(environment="production", metrics_token=None))
    open_metrics = [
        f.check for f in checklist.findings(Settings(environment="production", metrics_token=None))
    ]
    assert "metrics-token" in open_metrics
    closed = [
        f.check
        for f in checklist.findings(Settings(environment="production", metrics_token="Pq7Lx2Vb9Nc4Zs1K"))
    ]
    assert "metrics-token" not in closed
    assert Settings(environment="development").metrics_token is None  # trying it: open is fine
    assert "metrics-token" not in [f.check for f in checklist.findings(Settings(environment="development"))]
