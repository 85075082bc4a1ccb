"""deploy/nginx/dvc.conf in front of two `dvc serve` processes (tests/deploy/conftest.py): GraphQL
over HTTPS, the redirect from HTTP, a graphql-transport-ws subscription through the proxy, the
client address the rate limits count, and the refusals of slow headers, slow and large bodies."""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import time
import uuid
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.sync.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.catalog.factories import CREATE, PUBLISH, procedure_input
from tests.conftest import ADMIN_TOKEN
from tests.deploy.conftest import HEADER_TIMEOUT, LOOKUP_LIMIT, Deployment

pytestmark = pytest.mark.slow

SEARCH = '{ procedures(search: "khai sinh", first: 1) { edges { node { code } } } }'
SUBSCRIBE = "subscription($code: String!) { procedureChanged(code: $code) { code status version } }"


def _served_graphql(log: str) -> int:
    return sum(1 for line in log.splitlines() if '"POST /graphql HTTP/1.1" 200' in line)


def test_graphql_over_https_reaches_both_app_processes(deployment: Deployment) -> None:
    before = [_served_graphql(log.read_text()) for log in deployment.app_logs]
    with deployment.client() as client:
        for _ in range(6):
            response = client.post("/graphql", json={"query": SEARCH})
            assert response.status_code == 200
            assert response.json()["data"]["procedures"]["edges"][0]["node"]["code"] == "1.001193"
            assert response.headers["x-request-id"]
            assert response.headers["server"].startswith("nginx")
    time.sleep(0.5)  # the access log line is written after the response
    after = [_served_graphql(log.read_text()) for log in deployment.app_logs]
    served = [a - b for a, b in zip(after, before, strict=True)]
    assert sum(served) == 6
    assert min(served) >= 1, served  # the upstream holds both processes and uses both


def test_plain_http_is_sent_to_https(deployment: Deployment) -> None:
    response = httpx.get(f"http://127.0.0.1:{deployment.ports.http}/tra-cuu/ABC?x=1", timeout=10)
    assert response.status_code == 301
    assert response.headers["location"] == "https://127.0.0.1/tra-cuu/ABC?x=1"


def test_metrics_are_not_published_through_the_proxy(deployment: Deployment) -> None:
    with deployment.client() as client:
        assert client.get("/metrics").status_code == 404


def test_a_subscription_through_nginx_sees_a_change_made_through_nginx(deployment: Deployment) -> None:
    """graphql-transport-ws over wss:// through the proxy (Upgrade and Connection passed on), and
    a change committed through the proxy by the other app process reaches it."""
    code = f"6.{uuid.uuid4().int % 10**6:06d}"
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}

    def post(query: str, variables: dict[str, Any]) -> dict[str, Any]:
        with deployment.client() as client:
            body: dict[str, Any] = client.post(
                "/graphql", json={"query": query, "variables": variables}, headers=admin
            ).json()
        assert "errors" not in body, body
        data: dict[str, Any] = body["data"]
        return data

    def receive(ws: ClientConnection) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(ws.recv(timeout=10))
        return message

    created = post(CREATE, {"input": procedure_input(code)})
    assert created["procedureCreate"]["__typename"] == "ProcedureSaved", created
    url = f"wss://127.0.0.1:{deployment.ports.https}/graphql"
    with connect(
        url,
        ssl=deployment.tls(),
        subprotocols=[Subprotocol("graphql-transport-ws")],
        additional_headers=admin,
    ) as ws:
        assert ws.subprotocol == "graphql-transport-ws"
        ws.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert receive(ws)["type"] == "connection_ack"
        subscribe = {"query": SUBSCRIBE, "variables": {"code": code}}
        ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": subscribe}))
        first = receive(ws)
        assert first["type"] == "next", first
        assert first["payload"]["data"]["procedureChanged"]["status"] == "DRAFT"
        # through nginx again (least_conn: to the process not holding the socket)
        post(PUBLISH, {"code": code, "number": "9/QĐ-UBND", "date": "2026-11-20"})
        changed = receive(ws)
        assert changed["type"] == "next", changed
        assert changed["payload"]["data"]["procedureChanged"]["status"] == "PUBLISHED"
        ws.send(json.dumps({"id": "1", "type": "complete"}))


def _counted_addresses(deployment: Deployment) -> set[str]:
    async def read() -> set[str]:
        dsn = deployment.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
        conn = await asyncpg.connect(dsn)
        try:
            rows = await conn.fetch("SELECT key FROM rate_counters WHERE key LIKE 'lookup:addr:%'")
        finally:
            await conn.close()
        return {row["key"].removeprefix("lookup:addr:") for row in rows}

    return asyncio.run(read())


def test_rate_limits_count_the_address_nginx_saw_not_what_the_client_claims(deployment: Deployment) -> None:
    """Clients on 127.0.0.2 and 127.0.0.3 (nginx's $remote_addr) each get their own allowance, whatever
    X-Forwarded-For or X-Real-IP they send; nginx itself (127.0.0.1, the app's only trusted proxy) is
    never counted. A client reaching an app process directly cannot claim an address either."""
    statuses = []
    with deployment.client(source="127.0.0.2") as client:
        for i in range(LOOKUP_LIMIT + 1):
            spoofed = {"X-Forwarded-For": f"203.0.113.{i}", "X-Real-IP": f"198.51.100.{i}"}
            response = client.get(f"/tra-cuu/KHONGCO{i}", headers=spoofed)
            statuses.append(response.status_code)
        assert response.headers["retry-after"].isdigit()
    assert statuses == [404] * LOOKUP_LIMIT + [429]
    with deployment.client(source="127.0.0.3") as other:
        assert other.get("/tra-cuu/KHONGCO", headers={"X-Forwarded-For": "127.0.0.2"}).status_code == 404

    direct = httpx.HTTPTransport(local_address="127.0.0.4")
    with httpx.Client(transport=direct, timeout=20) as client:
        app = f"http://127.0.0.1:{deployment.ports.apps[0]}"
        response = client.get(f"{app}/tra-cuu/KHONGCO", headers={"X-Forwarded-For": "192.0.2.9"})
        assert response.status_code == 404
    assert _counted_addresses(deployment) == {"127.0.0.2", "127.0.0.3", "127.0.0.4"}


def _tls_socket(deployment: Deployment) -> ssl.SSLSocket:
    raw = socket.create_connection(("127.0.0.1", deployment.ports.https), timeout=HEADER_TIMEOUT * 5)
    return deployment.tls().wrap_socket(raw, server_hostname="127.0.0.1")


def _read_until_closed(conn: ssl.SSLSocket) -> bytes:
    received = b""
    try:
        while chunk := conn.recv(65536):
            received += chunk
    except (ssl.SSLError, ConnectionResetError):
        pass
    return received


def test_a_client_sending_its_headers_slowly_is_cut_off(deployment: Deployment) -> None:
    with _tls_socket(deployment) as conn:
        conn.sendall(b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # and never the rest
        started = time.monotonic()
        received = _read_until_closed(conn)
        waited = time.monotonic() - started
    assert HEADER_TIMEOUT - 0.5 <= waited < HEADER_TIMEOUT + 4, waited
    assert received == b""  # closed, no answer: the app never saw the request


def test_a_client_sending_its_body_slowly_is_cut_off_with_408(deployment: Deployment) -> None:
    marker = uuid.uuid4().hex
    with _tls_socket(deployment) as conn:
        conn.sendall(
            f"POST /graphql?slow={marker} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            'Content-Length: 100\r\n\r\n{"query":'.encode()
        )
        started = time.monotonic()
        received = _read_until_closed(conn)
        waited = time.monotonic() - started
    assert HEADER_TIMEOUT - 0.5 <= waited < HEADER_TIMEOUT + 4, waited
    assert received == b""  # nginx closes a timed-out request without an answer
    time.sleep(0.3)
    (line,) = [
        x for x in (deployment.folder / "logs" / "dvc.access.log").read_text().splitlines() if marker in x
    ]
    assert '" 408 ' in line  # logged as a request timeout …
    assert "upstream=- " in line  # … that no app process ever saw


def test_a_body_over_the_limit_is_refused_with_413(deployment: Deployment) -> None:
    limit = 1024 * 1024  # client_max_body_size 1m, as the app's MAX_BODY_BYTES
    padding = " " * (limit + 1 - len(json.dumps({"query": SEARCH})))
    too_large = json.dumps({"query": SEARCH + padding}).encode()
    assert len(too_large) == limit + 1
    with deployment.client() as client:
        refused = client.post("/graphql", content=too_large, headers={"Content-Type": "application/json"})
        assert refused.status_code == 413
        assert "nginx" in refused.text
        at_limit = client.post(
            "/graphql",
            content=json.dumps({"query": SEARCH + padding[1:]}),
            headers={"Content-Type": "application/json"},
        )
        assert at_limit.status_code == 200, at_limit.text[:300]  # exactly the limit passes both
        assert at_limit.json()["data"]["procedures"]["edges"]


def test_the_app_warns_at_start_that_public_base_url_is_the_default(deployment: Deployment) -> None:
    for log in deployment.app_logs:
        text = log.read_text()
        assert "configuration check public-base-url: PUBLIC_BASE_URL is http://127.0.0.1:8000" in text
