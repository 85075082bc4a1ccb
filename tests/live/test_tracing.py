"""Tracing by configuration: an app process with OTEL_EXPORTER_OTLP_ENDPOINT sends its spans over
OTLP/HTTP (protobuf) to a collector — here a local HTTP server that speaks it and decodes what it
receives: an HTTP span per request, a GraphQL span per operation inside it, nothing of the
variables, and no span for the probes (/healthz, /readyz, /metrics), which the test calls first."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from devservers import find_free_port
from tests.conftest import Servers
from tests.live.conftest import app_process


class Collector:
    def __init__(self) -> None:
        self.spans: list[Any] = []
        self.paths: list[str] = []
        self.lock = threading.Lock()


@pytest.fixture
def collector() -> Iterator[tuple[Collector, str]]:
    found = Collector()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", 0)))
            request = ExportTraceServiceRequest()
            request.ParseFromString(body)
            with found.lock:
                found.paths.append(self.path)
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        found.spans.extend(scope.spans)
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    port = find_free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield found, f"http://127.0.0.1:{port}"
    server.shutdown()
    server.server_close()


def test_spans_reach_the_collector_over_otlp(
    servers: Servers,
    demo_catalog: dict[str, Any],
    collector: tuple[Collector, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    found, endpoint = collector
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "dvc-test")
    monkeypatch.setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
    with app_process(servers, tmp_path / "app.log") as base:
        # The probes, before the operation: their spans (if any) would end, and be exported, first.
        probes = ("/healthz", "/readyz", "/metrics")
        for probe in probes:
            assert httpx.get(f"{base}{probe}", timeout=10).status_code == 200, probe
        secret = "Mat-khau-bi-mat-123"
        query = "query Agencies($x: String) { agencyTree { code } procedures(search: $x) { totalCount } }"
        answer = httpx.post(
            f"{base}/graphql",
            json={"query": query, "operationName": "Agencies", "variables": {"x": secret}},
            headers={"X-Request-Id": "trace-check-0001"},
            timeout=10,
        )
        assert answer.status_code == 200
        deadline = time.monotonic() + 15
        names: list[str] = []
        while time.monotonic() < deadline:
            # The ASGI middleware's inner spans ("http send", kind INTERNAL) end, and may be
            # exported, a batch before the request's SERVER span: wait for the latter itself.
            with found.lock:
                names = [s.name for s in found.spans]
                server_span = any(s.name.startswith("POST /graphql") and s.kind == 2 for s in found.spans)
            if "GraphQL query Agencies" in names and server_span:
                break
            time.sleep(0.2)
        assert "GraphQL query Agencies" in names, names
        assert any(n.startswith("POST /graphql") for n in names), names
        assert set(found.paths) == {"/v1/traces"}
        with found.lock:
            operation = next(s for s in found.spans if s.name == "GraphQL query Agencies")
            http_span = next(s for s in found.spans if s.name.startswith("POST /graphql") and s.kind == 2)
            attributes = {a.key: a.value.string_value for a in operation.attributes}
            recorded = b"".join(s.SerializeToString() for s in found.spans)
            probed = [s.name for s in found.spans if any(p in s.name for p in probes)]
        assert operation.trace_id == http_span.trace_id  # the operation inside the request's trace
        assert attributes["dvc.request_id"] == "trace-check-0001"
        assert secret.encode() not in recorded  # variables are never recorded
        assert probed == [], probed
