"""The lean path of compiled reads: a GraphQL POST answered by one planned SQL statement.

The body is parsed once (orjson), the caller authenticated as on the other path, the plan found
by the document's text and the caller's permission set (`planner.plans.Planner`), guards run
(the lookup rate limit), and the statement run once on a connection of `Runtime.reads`
(`core.db.ReadsPool`); PostgreSQL builds the `data` JSON and its text is written to the client
as it came, never decoded here.

Whatever this path cannot answer exactly — a document that does not parse or validate, a
mutation, a field without SQL declaration, a refused caller, an argument the services refuse,
a guard that says no, a database error — it hands to the executor with the body untouched
(`Handoff`): the executor answers it, errors and refusals included, as it always did.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import orjson
from opentelemetry import trace

from auth.actor import Actor
from core.db import RequestDb
from core.observability import (
    FALLBACKS,
    PLANNED_OPERATIONS,
    Receive,
    Scope,
    Send,
    graphql_children,
    request_id,
)
from planner.plans import Planner, Ready
from planner.statements import NotCompilable
from schema.extensions import contains_nul, operation_label
from schema.limits import Limits, RequestTimedOut
from schema.persisted import PersistedQueries, PersistedQueryError
from schema.sql import RequestEnv
from services.accounts.journal import RequestMeta
from web.authentication import Refusal, authenticate, bearer
from web.runtime import RuntimeRef, caller_key

log = logging.getLogger("dvc")
COMPILED, EXECUTED = PLANNED_OPERATIONS.labels("compiled"), PLANNED_OPERATIONS.labels("executed")
# The caller this path authenticated and its unit of work, in the ASGI scope, for the executor.
ACTOR, DB = "dvc.actor", "dvc.db"
# Root fields whose reads tolerate a little lag (a read replica may answer them, core.replicas):
# the catalog, the public lookups, the published answers, the statistics and the 766 index.
LAG_TOLERANT = frozenset({
    "procedures", "procedure", "agencyTree", "agency", "fields", "legalTexts", "administrativeLevels",
    "dossierStatus", "inquiryTracking", "publishedAnswers", "statistics", "serviceIndex",
})  # fmt: skip


@dataclass(frozen=True)
class Handoff:
    """The executor answers: the body read here, to be given to it again."""

    body: bytes
    reason: str


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


async def _send_json(send: Send, body: bytes) -> None:
    """A 200 with a JSON body, as starlette's `Response` would send it."""
    headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def _trace(name: str | None, started: float) -> None:
    """The operation's span, as `schema.extensions.OperationTracing` records it on the other path
    (inside the request's span; its variables never recorded), ended now: made once the answer is
    known, so that a request handed to the executor is not traced twice."""
    elapsed_ns = int((time.perf_counter() - started) * 1e9)
    operation = name or "anonymous"
    span = trace.get_tracer("dvc.graphql").start_span(
        f"GraphQL query {operation}", kind=trace.SpanKind.INTERNAL, start_time=time.time_ns() - elapsed_ns
    )
    span.set_attribute("graphql.operation.name", operation)
    span.set_attribute("graphql.operation.type", "query")
    span.set_attribute("dvc.request_id", request_id.get() or "")
    span.set_attribute("dvc.compiled", True)
    span.end()


def _is_json_post(scope: Scope) -> bool:
    if scope.get("method") != "POST":
        return False
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            return bool(value.split(b";", 1)[0].strip().lower() == b"application/json")
    return False


async def read_body(receive: Receive) -> bytes | None:
    """The whole request body (the body limit middleware bounds it); None when the client left."""
    parts = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(parts)


def replay(body: bytes, receive: Receive) -> Receive:
    """`receive` for the executor: the body once, then whatever the client sends next."""
    sent = False

    async def again() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return dict(await receive())

    return again


class CompiledReads:
    """Answers the requests the planner compiles; hands the others to the executor."""

    def __init__(
        self,
        runtime_ref: RuntimeRef,
        schema: Any,
        persisted: PersistedQueries,
        *,
        enabled: bool = True,
        tracing: bool = False,
    ) -> None:
        self._runtime_ref, self._schema, self._persisted = runtime_ref, schema, persisted
        self.enabled = enabled  # COMPILED_READS
        self.tracing = tracing  # OTEL_EXPORTER_OTLP_ENDPOINT: a span per operation, as the executor's
        self._planner: Planner | None = None

    def planner(self) -> Planner:
        if self._planner is None:
            settings = self._runtime_ref.runtime.settings
            self._planner = Planner(self._schema, Limits.from_settings(settings), settings.zone)
        return self._planner

    def wants(self, scope: Scope) -> bool:
        return self.enabled and scope["type"] == "http" and _is_json_post(scope)

    async def answer(self, scope: Scope, receive: Receive, send: Send) -> Handoff | None:
        """Answers the request (None), or hands it to the executor."""
        body = await read_body(receive)
        if body is None:
            return None  # the client is gone: nothing to answer
        started = time.perf_counter()
        try:
            name, ready, db = await self._plan(scope, body)
        except NotCompilable as refused:
            return self._handoff(body, str(refused))
        try:
            text = await self._run(ready, db)
        except NotCompilable as refused:
            return self._handoff(body, str(refused))
        except TimeoutError:
            limits = self.planner().limits
            payload = orjson.dumps(
                {"data": None, "errors": [RequestTimedOut(limits.timeout_seconds).formatted]}
            )
            await _send_json(send, payload)
            return None
        finally:
            await db.finish(commit=False)
        name = ready.operation_name or name  # the document's, as the executor names it
        count, seconds = graphql_children(operation_label(name), "query")
        count.inc()
        seconds.observe(time.perf_counter() - started)
        COMPILED.inc()
        if self.tracing:
            _trace(name, started)
        await _send_json(send, b'{"data":' + text.encode() + b"}")
        return None

    def _handoff(self, body: bytes, reason: str) -> Handoff:
        EXECUTED.inc()
        FALLBACKS.labels(reason.split(":", 1)[0][:60]).inc()
        if self._runtime_ref.runtime.settings.log_fallbacks:
            log.info("compiled reads: executor answers: %s", reason)
        return Handoff(body, reason)

    async def _plan(self, scope: Scope, body: bytes) -> tuple[str | None, Ready, RequestDb]:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            raise NotCompilable("the body is not JSON") from None
        # U+0000 reaches a decoded string only as the escape `\u0000` (JSON forbids the raw byte):
        # the walk over the decoded body is for the rare body that holds one.
        if not isinstance(data, dict) or (b"\\u0000" in body and contains_nul(data)):
            raise NotCompilable("the body is not a GraphQL request")
        query, name, variables = data.get("query"), data.get("operationName"), data.get("variables")
        try:
            query = self._persisted.resolve(query, data.get("extensions"))
        except PersistedQueryError:
            raise NotCompilable("a persisted query refused") from None
        if (
            not isinstance(query, str)
            or not isinstance(name, str | None)
            or not isinstance(variables, dict | None)
        ):
            raise NotCompilable("the request is malformed")
        rt = self._runtime_ref.runtime
        client = scope.get("client")
        meta = RequestMeta(address=client[0] if client else None, user_agent=_header(scope, b"user-agent"))
        db = rt.request_db()
        try:
            actor = await authenticate(rt, db, bearer(_header(scope, b"authorization")), meta)
        except Refusal:
            await db.finish(commit=False)
            raise NotCompilable("the caller is refused") from None
        db.caller = caller_key(actor, meta.address)
        try:
            ready = self.planner().prepare(query, name, variables, actor)
            await self._guard(ready, actor, meta.address)
        except NotCompilable:
            # The executor answers with this caller and this unit of work, as if it had
            # authenticated them itself: counted once (an app's calls per minute), committed or
            # rolled back by its transaction boundary.
            scope[ACTOR], scope[DB] = actor, db
            raise
        return name, ready, db

    async def _guard(self, ready: Ready, actor: Actor, address: str | None) -> None:
        rt = self._runtime_ref.runtime
        now = rt.clock.now()
        ready.values["now"] = now
        for root in ready.plan.roots:
            if root.rows.guard is not None and not await root.rows.guard(RequestEnv(actor, address, now, rt)):
                raise NotCompilable(f"{root.key}: a guard refused")

    async def _run(self, ready: Ready, db: RequestDb) -> str:
        arguments = ready.arguments()
        limit = self.planner().limits.timeout_seconds
        reads = self._runtime_ref.runtime.reads
        lag_ok = all(root.nodes[0].name.value in LAG_TOLERANT for root in ready.plan.roots)
        replica = await db.replica() if lag_ok else None
        try:
            if reads is not None and replica is None:
                text = await reads.fetchval(ready.plan.sql, *arguments, timeout=limit)
            else:  # a replica, or a runtime bound to one connection (the tests' transaction)
                async with asyncio.timeout(limit), db.autocommit(lag_ok=replica is not None) as shared:
                    driver: Any = (await shared.get_raw_connection()).driver_connection  # asyncpg's
                    text = await driver.fetchval(ready.plan.sql, *arguments)
        except TimeoutError:
            raise
        except Exception as error:
            log.warning("compiled read failed, the executor answers: %s", type(error).__name__, exc_info=True)
            raise NotCompilable(f"the statement failed: {type(error).__name__}") from None
        return str(text)
