"""Optional OpenTelemetry tracing, on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

Spans go to an OTLP/HTTP collector (`<endpoint>/v1/traces`, protobuf) in batches: one span per
HTTP request (ASGI instrumentation: method, route, status) and, inside it, one per GraphQL
operation (its name and type, the request id). No resolver arguments, variables or query text are
recorded: they carry passwords and personal data. Off, nothing is installed and nothing costs.
"""

from __future__ import annotations

from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor

_provider: TracerProvider | None = None


def configure_tracing(endpoint: str | None, service_name: str) -> TracerProvider | None:
    """Install the process's tracer provider once; None when tracing is off."""
    global _provider  # noqa: PLW0603 — one provider per process, as OpenTelemetry wants
    if not endpoint:
        return None
    if _provider is None:
        provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
        exporter = OTLPSpanExporter(endpoint=endpoint.rstrip("/") + "/v1/traces", timeout=5)
        provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(provider)
        _provider = provider
    return _provider


def shutdown_tracing() -> None:
    """Flush what is buffered (at process stop)."""
    if _provider is not None:
        _provider.shutdown()
