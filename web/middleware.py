"""The middleware every request passes through, outermost first."""

from __future__ import annotations

from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware

from core.http import BodyLimit, DatabaseUnavailable, RefuseNul, SecurityHeaders
from core.observability import ObservabilityMiddleware
from core.settings import Settings


def http_middleware(settings: Settings, *, tracing: bool = False) -> list[Middleware]:
    """Outermost first: observability (sees every answer), the request's trace span when tracing
    is on, CORS (answers preflights), security headers (on every answer, refusals included), 400
    for a NUL in the path or query string, 503 while the database is unreachable, then the body
    limit."""
    stack = [Middleware(ObservabilityMiddleware)]
    if tracing:
        stack.append(Middleware(OpenTelemetryMiddleware, excluded_urls="/healthz,/readyz,/metrics"))
    if settings.cors_origin_list:
        stack.append(
            Middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origin_list,
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type", "X-Request-Id"],
                expose_headers=["X-Request-Id"],
                max_age=600,
            )
        )
    stack.append(Middleware(SecurityHeaders, hsts=settings.https))
    stack.append(Middleware(RefuseNul))
    stack.append(Middleware(DatabaseUnavailable))
    stack.append(
        Middleware(
            BodyLimit,
            max_bytes=settings.max_body_bytes,
            read_timeout=settings.body_read_timeout_seconds,
            exempt=("/national-portal/",),  # bounded by its own, larger limit (files in the body)
        )
    )
    return stack
