"""Metrics, request ids and structured logs — what operators watch.

- **Metrics** (Prometheus text format at `/metrics`): HTTP requests and latency per route,
  GraphQL operations and latency per operation name, errors by machine code, open websocket
  connections, files the scheduled integrity check found damaged, and — computed when scraped —
  the database pool, the event and notification outboxes (backlog, age of the oldest) and the
  dossiers overdue per agency. Each app process keeps its own counters; scrape every process
  (they are labelled by the scraper's target).
- **Request ids**: each HTTP request carries `X-Request-Id` (the caller's, if it is a sane token,
  else a new one); it is answered in the same header, put on every log line written while the
  request runs, and given to background work started from it.
- **JSON logs** (`LOG_FORMAT=json`): one object per line with time, level, logger, message, the
  request id and any `extra` fields — what log collectors read without parsing rules.
"""

from __future__ import annotations

import functools
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from typing import IO, Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from pythonjsonlogger.json import JsonFormatter

REGISTRY = CollectorRegistry(auto_describe=True)
_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "dvc_http_requests",
    "HTTP requests by route, method and status.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_SECONDS = Histogram(
    "dvc_http_request_seconds",
    "HTTP request latency by route.",
    ["route"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
GRAPHQL_OPERATIONS = Counter(
    "dvc_graphql_operations",
    "GraphQL operations by name and type.",
    ["operation", "type"],
    registry=REGISTRY,
)
GRAPHQL_SECONDS = Histogram(
    "dvc_graphql_operation_seconds",
    "GraphQL operation latency by name.",
    ["operation"],
    buckets=_LATENCY_BUCKETS,
    registry=REGISTRY,
)
PLANNED_OPERATIONS = Counter(
    "dvc_graphql_planned_operations",
    "GraphQL requests by path: compiled (one SQL statement) or executed (the executor).",
    ["path"],
    registry=REGISTRY,
)
FALLBACKS = Counter(
    "dvc_graphql_fallbacks",
    "Requests the planner did not compile, by reason (a field without declaration, a mutation…).",
    ["reason"],
    registry=REGISTRY,
)
LIVE_READS = Counter(
    "dvc_live_reads",
    "Statements re-reading a live subscription's payload (web.live): one per group of subscribers "
    "sharing a plan and its parameters, per change (cause=change), and each subscriber's own reads "
    "when it starts (cause=start).",
    ["cause"],
    registry=REGISTRY,
)
ERRORS = Counter(
    "dvc_errors",
    "Errors answered to clients by machine code (GraphQL errors and typed error results).",
    ["code"],
    registry=REGISTRY,
)
WEBSOCKETS_OPEN = Gauge(
    "dvc_websockets_open",
    "Open websocket connections (subscriptions).",
    registry=REGISTRY,
)
DB_POOL = Gauge(
    "dvc_db_pool_connections",
    "Database pool connections by state.",
    ["state"],
    registry=REGISTRY,
)
OUTBOX_BACKLOG = Gauge(
    "dvc_outbox_backlog_events",
    "Dossier events not yet acknowledged, per consumer.",
    ["consumer"],
    registry=REGISTRY,
)
OUTBOX_AGE = Gauge(
    "dvc_outbox_oldest_pending_seconds",
    "Age of the oldest unacknowledged dossier event, per consumer.",
    ["consumer"],
    registry=REGISTRY,
)
NOTIFICATIONS_BACKLOG = Gauge(
    "dvc_notifications_backlog",
    "Notifications waiting to be sent (not given up).",
    registry=REGISTRY,
)
NOTIFICATIONS_AGE = Gauge(
    "dvc_notifications_oldest_pending_seconds",
    "Age of the oldest notification waiting.",
    registry=REGISTRY,
)
PARTITION_DEFAULT_ROWS = Gauge(
    "dvc_partition_default_rows",
    "Rows waiting in a DEFAULT partition (no yearly partition covers them; `dvc partitions ensure`).",
    ["table"],
    registry=REGISTRY,
)
OVERDUE = Gauge(
    "dvc_dossiers_overdue",
    "Dossiers in progress past their due time, per receiving agency.",
    ["agency"],
    registry=REGISTRY,
)
CLAMAV_SIGNATURE_AGE = Gauge(
    "dvc_clamav_signature_age_seconds",
    "Age of the newest ClamAV signatures clamd loaded: from its database build time "
    '(dated_by="clamd"), else from the signature files\' modification time (dated_by="files").',
    ["dated_by"],
    registry=REGISTRY,
)

FILE_INTEGRITY_FAILURES = Counter(
    "dvc_file_integrity_failures",
    "READY files the scheduled check found missing or different from their row (now DAMAGED).",
    ["problem"],
    registry=REGISTRY,
)

request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_SANE_ID = re.compile(r"^[A-Za-z0-9._:-]{8,100}$")


def new_request_id(offered: str | None) -> str:
    """The caller's id if it is a sane token (so traces join across systems), else a new one."""
    return offered if offered and _SANE_ID.match(offered) else uuid.uuid4().hex


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (None outside requests)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        return True


def log_handler(fmt: str, stream: IO[str] | None = None) -> logging.Handler:
    """JSON lines (`json`) or readable text (`text`), with the request id on each line."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    if fmt == "json":
        handler.setFormatter(
            JsonFormatter(
                "{asctime}{levelname}{name}{message}{request_id}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
            )
        )
    else:
        text = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
        handler.setFormatter(logging.Formatter(text))
    return handler


class NoQueryStrings(logging.Filter):
    """uvicorn's access log without query strings: a query string may carry what must not be kept
    in logs (a persisted query's variables, a token someone put in a link); the path is enough."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0], *args[3:])
        return True


def configure_logging(level: str, fmt: str) -> None:
    """The root logger of a serving process (uvicorn's loggers propagate to it)."""
    root = logging.getLogger()
    root.handlers[:] = [log_handler(fmt)]
    root.setLevel(level)
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, NoQueryStrings) for f in access.filters):
        access.addFilter(NoQueryStrings())


Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@functools.lru_cache(maxsize=4096)
def http_children(route: str, method: str, status: int) -> tuple[Any, Any]:
    """The request counter's and the duration histogram's children for these labels (looked up
    once: `labels()` costs a lock and a dict of label values on every call)."""
    return HTTP_REQUESTS.labels(route, method, str(status)), HTTP_SECONDS.labels(route)


@functools.lru_cache(maxsize=4096)
def graphql_children(operation: str, kind: str) -> tuple[Any, Any]:
    """The operation counter's and histogram's children (operation names are bounded to 500 by
    `schema.extensions.operation_label`)."""
    return GRAPHQL_OPERATIONS.labels(operation, kind), GRAPHQL_SECONDS.labels(operation)


def _route(scope: Scope) -> str:
    """A bounded label: the matched route's path template, never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


class ObservabilityMiddleware:
    """Request id in and out, HTTP metrics, open websocket gauge. Pure ASGI (no body buffering)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            WEBSOCKETS_OPEN.inc()
            token = request_id.set(new_request_id(_header(scope, b"x-request-id")))
            try:
                await self.app(scope, receive, send)
            finally:
                WEBSOCKETS_OPEN.dec()
                request_id.reset(token)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        rid = new_request_id(_header(scope, b"x-request-id"))
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", rid.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            count, seconds = http_children(_route(scope), scope.get("method", ""), status)
            count.inc()
            seconds.observe(time.perf_counter() - started)
            request_id.reset(token)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None
