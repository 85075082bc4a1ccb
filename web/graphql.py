"""The GraphQL view (HTTP and websockets): persisted queries on both, a 400 with a code for a
malformed request, the request's context (caller, unit of work, clock) and, on a websocket, a
context of its own for every operation."""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import orjson
import strawberry
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ErrorMessage, StartMessage
from strawberry.types import ExecutionResult, SubscriptionExecutionResult
from strawberry.types.unset import UnsetType

from auth.actor import Actor
from auth.tokens import AccessClaims
from core.db import RequestDb
from core.http import NUL_MESSAGE
from core.observability import Receive, Scope, Send
from schema.context import Context
from schema.extensions import contains_nul
from schema.loaders import Loaders
from schema.persisted import PersistedQueries, PersistedQueryError
from services.accounts.journal import RequestMeta
from web.authentication import Refusal, Unauthorized, authenticate, bearer, request_meta, still_admitted
from web.compiled import ACTOR, DB, CompiledReads, replay
from web.graphiql import graphiql_page
from web.live import READMIT_EVERY_SECONDS, REVOKED_MESSAGE, LiveHub
from web.runtime import RuntimeRef, caller_key


def _persisted_of(view: object) -> PersistedQueries:
    return view.persisted if isinstance(view, GraphQLApp) else PersistedQueries({})


class SocketRefused(Exception):
    """A websocket whose handshake carried a bad token: already closed (4403) right after the
    upgrade; nothing more to do with it."""


Fork = Callable[[Context], Awaitable[Context]]
Admission = Callable[[AccessClaims], Awaitable[bool]]


async def _while_admitted(
    source: AsyncIterator[Any], ctx: Context, admitted: Admission
) -> AsyncIterator[Any]:
    """`source` while the caller's credential still holds: before each event (at most once a
    second) the session, account or app is checked again; once revoked, one UNAUTHENTICATED error
    ends the operation instead of the event."""
    claims = ctx.actor.credential
    if claims is None:  # anonymous: nothing to revoke
        async for item in source:
            yield item
        return
    checked = float("-inf")
    async for item in source:
        if time.monotonic() - checked >= READMIT_EVERY_SECONDS:
            if not await admitted(claims):
                refusal = GraphQLError(REVOKED_MESSAGE, extensions={"code": "UNAUTHENTICATED"})
                yield ExecutionResult(data=None, errors=[refusal])
                return
            checked = time.monotonic()
        yield item


async def _finishing(source: AsyncIterator[Any], ctx: Context) -> AsyncIterator[Any]:
    """`source`, then the operation's unit of work closed, however the operation ends."""
    try:
        async for item in source:
            yield item
    finally:
        try:
            aclose = getattr(source, "aclose", None)
            if aclose is not None:
                await aclose()
        finally:
            await ctx.db.finish(commit=False)


class OperationSchema:
    """The schema as a socket's handler sees it: every operation on a websocket (a subscription or
    a query sent over it) runs with a context of its own — its own database session and loaders —
    so twenty operations on one socket never share, or close, each other's unit of work."""

    def __init__(self, schema: strawberry.Schema, fork: Fork, admitted: Admission) -> None:
        self._schema, self._fork, self._admitted = schema, fork, admitted

    def __getattr__(self, name: str) -> Any:
        return getattr(self._schema, name)

    async def stream(self, query: str | None, **kwargs: Any) -> Any:
        ctx = kwargs["context_value"] = await self._fork(kwargs["context_value"])
        source = await self._schema.stream(query, **kwargs)
        return _finishing(_while_admitted(source, ctx, self._admitted), ctx)

    async def subscribe(self, query: str | None, **kwargs: Any) -> Any:
        ctx = kwargs["context_value"] = await self._fork(kwargs["context_value"])
        source = await self._schema.subscribe(query, **kwargs)
        if not hasattr(source, "__aiter__"):  # an error before execution: nothing to stream
            await ctx.db.finish(commit=False)
            return source
        return _finishing(_while_admitted(source, ctx, self._admitted), ctx)


def _per_operation(handler: Any) -> None:
    view = handler.view
    if isinstance(view, GraphQLApp):
        handler.schema = OperationSchema(handler.schema, view.operation_context, view.still_admitted)


class PersistedTransportWS(BaseGraphQLTransportWSHandler[Context, None]):
    """graphql-transport-ws with the same allow-list as HTTP: a `subscribe` message's
    `extensions.persistedQuery` names the document; PERSISTED_QUERIES_ONLY refuses plain text.
    Each operation gets a context of its own (`OperationSchema`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _per_operation(self)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        payload = message["payload"]
        try:
            document = _persisted_of(self.view).resolve(payload.get("query"), payload.get("extensions"))
        except PersistedQueryError as error:
            refusal = GraphQLError(error.message, extensions={"code": error.code})
            await self.send_message({"id": message["id"], "type": "error", "payload": [refusal.formatted]})
            return
        if document is None:
            await self.handle_invalid_message("Failed to parse message")  # no query, no hash
            return
        await super().handle_subscribe({**message, "payload": {**payload, "query": document}})

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        """A subscription the live planner compiles is served by the hub (`web.live`: one re-read
        per change for all who share it); any other operation, or one it hands back, as before."""
        view = self.view
        if isinstance(view, GraphQLApp):
            try:
                if await view.live.serve(operation, self.context.actor):
                    return
            except Exception as error:
                await self.handle_task_exception(error)
                with contextlib.suppress(Exception):
                    await operation.send_operation_message({"id": operation.id, "type": "complete"})
                self.operations.pop(operation.id, None)
                raise
        await super().run_operation(operation)


class PersistedWS(BaseGraphQLWSHandler[Context, None]):
    """The legacy graphql-ws protocol with the same allow-list (`start` messages)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        _per_operation(self)

    async def handle_start(self, message: StartMessage) -> None:
        payload: dict[str, Any] = dict(message["payload"])
        try:
            document = _persisted_of(self.view).resolve(payload.get("query"), payload.get("extensions"))
        except PersistedQueryError as error:
            refusal = GraphQLError(error.message, extensions={"code": error.code})
            await self.send_message(ErrorMessage(type="error", id=message["id"], payload=refusal.formatted))
            return
        if document is None:
            refusal = GraphQLError("Thiếu truy vấn.", extensions={"code": "BAD_REQUEST"})
            await self.send_message(ErrorMessage(type="error", id=message["id"], payload=refusal.formatted))
            return
        await super().handle_start({**message, "payload": {**message["payload"], "query": document}})


class BadCharacter(HTTPException):
    """A NUL in a decoded JSON value (400 `BAD_CHARACTER`)."""

    code = "BAD_CHARACTER"

    def __init__(self) -> None:
        super().__init__(400, NUL_MESSAGE)


class _Malformed(Refusal):
    """A request refused while parsing it: answered 400 with a GraphQL-shaped JSON error."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


NOT_AN_OBJECT = "Nội dung yêu cầu GraphQL (và `variables`, `extensions`) phải là một đối tượng JSON."
NO_BATCHING = "Không nhận danh sách JSON: mỗi yêu cầu gửi một thao tác GraphQL (không gửi theo lô)."
_CONTEXT = "dvc.context"  # the request's Context, in its ASGI scope, to close it on a refusal


class GraphQLApp(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = PersistedTransportWS
    graphql_ws_handler_class = PersistedWS

    def __init__(
        self,
        runtime_ref: RuntimeRef,
        graphql_schema: strawberry.Schema,
        graphiql: bool,
        init_timeout: float = 10.0,
        persisted: PersistedQueries | None = None,
        *,
        compiled_reads: bool = True,
        tracing: bool = False,
    ) -> None:
        super().__init__(
            graphql_schema,
            graphql_ide="graphiql" if graphiql else None,
            # a websocket that does not say who it is in time is closed (4408)
            connection_init_wait_timeout=timedelta(seconds=init_timeout),
        )
        self._runtime_ref = runtime_ref
        self.persisted = persisted or PersistedQueries({})  # the allow-list, HTTP and websockets
        self.compiled = CompiledReads(
            runtime_ref, graphql_schema._schema, self.persisted, enabled=compiled_reads, tracing=tracing
        )
        self.live = LiveHub(runtime_ref, self.compiled.planner, self.still_admitted, enabled=compiled_reads)

    async def render_graphql_ide(self, request: Request) -> Response:
        """Our own GraphiQL page (web.graphiql): every file from this server, no other host."""
        return graphiql_page()

    def should_render_graphql_ide(self, request: AsyncHTTPRequestAdapter) -> bool:  # type: ignore[override]
        # A GET with a persisted query's hash and no text is an operation, not a browser.
        return "extensions" not in request.query_params and super().should_render_graphql_ide(request)

    async def execute_operation(  # noqa: PLR0917 — strawberry's signature
        self,
        request: Request,
        request_adapter: AsyncHTTPRequestAdapter,
        request_data: GraphQLRequestData | list[GraphQLRequestData],
        context: Context,
        root_value: None,
        sub_response: Response,
    ) -> ExecutionResult | list[ExecutionResult] | SubscriptionExecutionResult:
        """Persisted queries over HTTP (single, batched or streamed): the document behind
        `extensions.persistedQuery.sha256Hash`, and the allow-list when it is required."""
        try:
            if isinstance(request_data, list):
                request_data = [self._persisted_document(item) for item in request_data]
            else:
                request_data = self._persisted_document(request_data)
        except PersistedQueryError as error:
            await context.db.finish(commit=False)  # authentication may have opened it
            return ExecutionResult(
                data=None, errors=[GraphQLError(error.message, extensions={"code": error.code})]
            )
        return await super().execute_operation(
            request, request_adapter, request_data, context, root_value, sub_response
        )

    def _persisted_document(self, data: GraphQLRequestData) -> GraphQLRequestData:
        query = self.persisted.resolve(data.query, data.extensions)
        return data if query is data.query else dataclasses.replace(data, query=query)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """A JSON POST the planner compiles is answered by one SQL statement (`web.compiled`); any
        other request, or one it hands back, by the executor. A request refused before execution
        — malformed (400), bad credentials (401, with a `WWW-Authenticate` challenge), an app over
        its rate (429, with `Retry-After`) — is answered with that status and a GraphQL error with
        a code in JSON (strawberry answers its own refusals in plain text, which GraphQL clients
        report as a transport failure, and crashed on a body that is JSON but not an object). A
        websocket refused at the handshake is already closed, the documented way (4403, 4429)."""
        try:
            if self.compiled.wants(scope):
                handoff = await self.compiled.answer(scope, receive, send)
                if handoff is None:
                    return
                receive = replay(handoff.body, receive)
            await super().__call__(scope, receive, send)
        except SocketRefused:
            return
        except Refusal as refusal:
            context = scope.get(_CONTEXT)
            if isinstance(context, Context):  # authentication may have opened a session
                await context.db.finish(commit=False)
            body = {"errors": [{"message": refusal.message, "extensions": refusal.extensions}]}
            answer = Response(
                orjson.dumps(body), refusal.status, headers=refusal.headers, media_type="application/json"
            )
            await answer(scope, receive, send)

    async def parse_http_body(
        self, request: AsyncHTTPRequestAdapter
    ) -> GraphQLRequestData | list[GraphQLRequestData]:
        try:
            return await super().parse_http_body(request)
        except HTTPException as error:
            if error.status_code != 400:
                raise
            raise _Malformed(error.reason, getattr(error, "code", "BAD_REQUEST")) from None
        except orjson.JSONDecodeError:
            raise _Malformed("Nội dung yêu cầu không phải JSON hợp lệ.", "BAD_REQUEST") from None

    def parse_json(self, data: str | bytes) -> Any:
        """The body of a POST (or a GET's `variables`, `extensions`): one JSON object; a list
        only when batching is on (it is off), and then of objects."""
        decoded = self.decode_json(data)
        if isinstance(decoded, dict):
            return decoded
        if isinstance(decoded, list):
            if self.schema.config.batching_config is None:
                raise _Malformed(NO_BATCHING, "BAD_REQUEST")
            if all(isinstance(item, dict) for item in decoded):
                return decoded
        raise _Malformed(NOT_AN_OBJECT, "BAD_REQUEST")

    def decode_json(self, data: str | bytes) -> object:
        decoded = orjson.loads(data)
        if contains_nul(decoded):  # PostgreSQL text cannot hold U+0000: refuse it up front
            raise BadCharacter
        return decoded

    def encode_json(self, data: object) -> str:
        # UTF-8 as is (Vietnamese text stays readable and smaller) and several times faster.
        # A str, not bytes: websocket frames must be text frames for graphql-ws clients.
        return orjson.dumps(data).decode()

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        rt = self._runtime_ref.runtime
        db = request.scope.pop(DB, None) or rt.request_db()
        meta = request_meta(request)
        try:
            actor = request.scope.pop(ACTOR, None) or await authenticate(
                rt, db, bearer(request.headers.get("authorization")), meta
            )
        except Refusal as refusal:
            await db.finish(commit=False)  # a refused request must not keep a connection
            if isinstance(request, WebSocket):  # the upgrade is done: close it, with the reason
                reason = "Forbidden" if isinstance(refusal, Unauthorized) else refusal.message
                await request.close(code=4429 if refusal.status == 429 else 4403, reason=reason)
                raise SocketRefused from None
            raise  # answered by __call__ in GraphQL's shape
        if isinstance(request, WebSocket):
            await db.finish(commit=False)  # a socket lives for hours: each operation opens its own
        context = await self._context(request, response, actor=actor, db=db, meta=meta)
        request.scope[_CONTEXT] = context
        return context

    async def still_admitted(self, claims: AccessClaims) -> bool:
        """Is the caller behind these claims still let in (web.authentication.still_admitted)?"""
        return await still_admitted(self._runtime_ref.runtime, claims)

    async def operation_context(self, base: Context) -> Context:
        """A websocket operation's own context: the socket's caller, a fresh unit of work and clock."""
        return await self._context(
            base.request,
            base.response,
            actor=base.actor,
            db=self._runtime_ref.runtime.request_db(),
            meta=base.meta,
            connection_params=base.connection_params,
        )

    async def _context(
        self,
        request: Request | WebSocket,
        response: Response | WebSocket | None,
        *,
        actor: Actor,
        db: RequestDb,
        meta: RequestMeta,
        connection_params: dict[str, object] | None = None,
    ) -> Context:
        rt = self._runtime_ref.runtime
        db.caller = caller_key(actor, meta.address)
        return Context(
            request=request,
            response=response,
            settings=rt.settings,
            actor=actor,
            db=db,
            loaders=Loaders(db),
            now=rt.clock.now(),
            session_factory=rt.session_factory,
            policy=rt.policy,
            meta=meta,
            calendar=await rt.calendar_at(rt.clock.now()),
            calendars=rt.calendars,
            store=rt.store,
            scanner=rt.scanner,
            broker=rt.broker,
            oidc=rt.oidc,
            lookups=rt.lookups,
            connection_params=connection_params,
        )

    async def on_ws_connect(self, context: Context) -> UnsetType | dict[str, object] | None:
        """Websocket clients may authenticate in `connection_init` ({"Authorization": "Bearer …"})."""
        params = context.connection_params or {}
        header = params.get("Authorization") or params.get("authorization")
        if header is None:
            return await super().on_ws_connect(context)
        rt = self._runtime_ref.runtime
        try:
            context.actor = await authenticate(rt, context.db, bearer(str(header)), context.meta)
        except Refusal:
            raise ConnectionRejectionError from None
        finally:
            await context.db.finish(commit=False)
        return await super().on_ws_connect(context)
