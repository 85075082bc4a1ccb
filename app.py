"""The ASGI application: GraphQL (HTTP and websockets), the plain HTTP endpoints, the middleware
and the lifespan. The parts live in `web/`; this module only assembles them.

`create_app()` builds the process's long-lived parts (`web.runtime.Runtime`) in the lifespan and
starts the background workers; tests pass their own `Runtime` to bind the app to a per-test
transaction and a fixed clock.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.routing import BaseRoute, Mount, Route, WebSocketRoute

from core import checklist
from core.observability import configure_logging
from core.settings import Settings, get_settings
from core.tracing import configure_tracing, shutdown_tracing
from resolvers.root import build_schema
from schema.persisted import PersistedQueries
from web.endpoints import bind
from web.endpoints.dev_messages import dev_messages_endpoint
from web.endpoints.exports import statistics_export_endpoint
from web.endpoints.health import healthz, readyz
from web.endpoints.metrics import metrics_endpoint
from web.endpoints.national_pakn import feedback_endpoint
from web.endpoints.national_portal import portal_endpoint
from web.endpoints.oauth import oauth_token
from web.endpoints.open311 import open311_endpoint
from web.endpoints.pages import lookup_endpoint, verification_endpoint
from web.endpoints.payments import ipn_endpoint
from web.endpoints.sms import sms_endpoint
from web.endpoints.zalo import zalo_webhook
from web.graphiql import ASSETS_PATH, GraphiQLAssets
from web.graphql import GraphQLApp
from web.middleware import http_middleware
from web.runtime import (
    Runtime,
    RuntimeRef,
    close_runtime,
    default_calendar,
    oidc_from_settings,
    open_runtime,
    policy_from_settings,
    runtime_from_settings,
    settle_heap,
)
from web.workers import start_workers

__all__ = [
    "Runtime",
    "create_app",
    "default_calendar",
    "oidc_from_settings",
    "policy_from_settings",
    "runtime_from_settings",
]


def create_app(runtime: Runtime | None = None, settings: Settings | None = None) -> Starlette:
    settings = settings or (runtime.settings if runtime else get_settings())
    ref = RuntimeRef(runtime)
    tracing = configure_tracing(settings.otel_exporter_otlp_endpoint, settings.otel_service_name)
    graphql = GraphQLApp(
        ref,
        graphiql=settings.serves_graphiql,
        init_timeout=settings.ws_connection_init_timeout_seconds,
        graphql_schema=build_schema(zone=settings.zone, tracing=tracing is not None),
        persisted=PersistedQueries.load(settings.persisted_queries, only=settings.persisted_queries_only),
        compiled_reads=settings.compiled_reads,
        tracing=tracing is not None,
    )
    # GraphiQL's own files (web.graphiql), only where GraphiQL is served
    assets: list[BaseRoute] = [Mount(ASSETS_PATH, GraphiQLAssets())] if settings.serves_graphiql else []
    return Starlette(
        routes=[
            *assets,
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/oauth/token", bind(ref, oauth_token), methods=["POST"]),
            Route("/tra-cuu/{code}", bind(ref, lookup_endpoint)),
            Route("/xac-minh/{code}", bind(ref, verification_endpoint)),
            Route("/sms/inbound", bind(ref, sms_endpoint), methods=["POST"]),
            Route("/zalo/webhook", bind(ref, zalo_webhook), methods=["POST"]),
            Route("/payments/vnpay/ipn", bind(ref, ipn_endpoint), methods=["GET"]),
            Route(
                "/open311/v2/{resource:path}.{format}", bind(ref, open311_endpoint), methods=["GET", "POST"]
            ),
            Route("/national-portal/dossiers", bind(ref, portal_endpoint), methods=["POST"]),
            Route("/national-portal/feedback", bind(ref, feedback_endpoint), methods=["POST"]),
            Route("/exports/statistics.{kind}", bind(ref, statistics_export_endpoint), methods=["GET"]),
            Route("/healthz", bind(ref, healthz)),
            Route("/readyz", bind(ref, readyz)),
            Route("/metrics", bind(ref, metrics_endpoint)),
            *_development_routes(ref, settings),
        ],
        middleware=http_middleware(settings, tracing=tracing is not None),
        lifespan=_lifespan(ref, settings),
    )


def _development_routes(ref: RuntimeRef, settings: Settings) -> list[Route]:
    """Pages for trying the service, absent (404) in production: the caught messages."""
    if settings.environment != "development":
        return []
    return [Route("/dev/messages", bind(ref, dev_messages_endpoint))]


def _lifespan(
    ref: RuntimeRef, settings: Settings
) -> Callable[[Starlette], contextlib.AbstractAsyncContextManager[None]]:
    """Without a runtime given, the process builds its own (and later closes it) and runs every
    background worker; with one (tests), only what serves requests."""

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        owned = ref.current is None
        if owned:
            configure_logging(settings.log_level, settings.log_format)
            checklist.enforce(settings)  # production refuses what is only fit for trying; warnings logged
            ref.current = runtime_from_settings(settings)
        rt = ref.runtime
        await open_runtime(rt)
        workers = await start_workers(rt, owned=owned)
        if owned:
            settle_heap()
        try:
            yield
        finally:
            if owned:
                shutdown_tracing()  # flush the last spans
            await workers.stop()  # first, before the broker and engine go
            await close_runtime(rt, owned=owned)

    return lifespan


def __getattr__(name: str) -> Starlette:
    # `uvicorn app:app` builds the app from the environment on first access, not at import,
    # so importing this module (tests, tools) never needs a configured environment.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
