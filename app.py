"""The ASGI application: GraphQL (HTTP and websockets), OAuth token endpoint, health, readiness.

`create_app()` wires the process's long-lived parts (engine, object store, event broker, token
keys, identity provider client) in the lifespan; tests pass their own `Runtime` to bind the app
to a per-test transaction and a fixed clock.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import dataclasses
import gc
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import unquote

import httpx
import orjson
import strawberry
from cross_web import AsyncHTTPRequestAdapter, HTTPException
from graphql import GraphQLError
from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http import GraphQLRequestData
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import BaseGraphQLTransportWSHandler
from strawberry.subscriptions.protocols.graphql_transport_ws.types import SubscribeMessage
from strawberry.subscriptions.protocols.graphql_ws.handlers import BaseGraphQLWSHandler
from strawberry.subscriptions.protocols.graphql_ws.types import ErrorMessage, StartMessage
from strawberry.types import ExecutionResult, SubscriptionExecutionResult
from strawberry.types.unset import UnsetType

from auth.actor import ANONYMOUS, Actor
from auth.oidc import OidcClient, OidcConfig
from auth.tokens import InvalidToken, TokenConfig, verify_access
from core.broker import Broker
from core.clock import Clock, SystemClock
from core.db import RequestDb, SessionFactory, make_engine, make_session_factory
from core.http import NUL_MESSAGE, BodyLimit, DatabaseUnavailable, RefuseNul, SecurityHeaders
from core.observability import ObservabilityMiddleware, Receive, Scope, Send, configure_logging
from core.settings import Settings, get_settings
from core.tracing import configure_tracing, shutdown_tracing
from models.dossiers import ConsumerKind
from resolvers.context import Context
from resolvers.exports import statistics_export
from resolvers.loaders import Loaders
from resolvers.metrics import metrics
from resolvers.national_portal import handle_portal_dossier
from resolvers.open311 import handler as open311_handler
from resolvers.pages import lookup_page, verification_page
from resolvers.payment_gateway import handle_ipn
from resolvers.sms import inbound
from schema import build_schema, schema
from schema.extensions import contains_nul
from schema.persisted import PersistedQueries, PersistedQueryError
from services.accounts import admin as account_admin
from services.accounts.actors import actor_for
from services.accounts.journal import Journal, RequestMeta
from services.accounts.policy import AccountPolicy
from services.accounts.service import run_inactivity
from services.calendar import WorkingCalendar
from services.feedback import Deadlines
from services.holidays import CalendarCache
from services.lookup_limits import LookupLimiter, RateLimit
from services.national_portal.feed import (
    PortalClient,
    PortalTransport,
    ensure_portal_consumer,
    portal_config,
)
from services.national_portal.reconcile import reconcile
from services.notifications import HttpSmsSender, SmsConfig, SmtpConfig, SmtpMailer, run_sender
from services.outbox import Transport, run_dispatcher
from services.payments.settlement import run_configured as settle_payments
from services.uploads import Scanner, clean_expired, sweep_staging, verify_stored
from storage import signatures
from storage.clamav import ClamAV
from storage.s3 import ObjectStore, S3Config

log = logging.getLogger("dvc")


@dataclass
class Runtime:
    """What lives as long as the process: shared by every request."""

    settings: Settings
    session_factory: SessionFactory
    store: ObjectStore | None
    broker: Broker | None
    clock: Clock
    policy: AccountPolicy
    calendar: WorkingCalendar
    calendars: CalendarCache | None = None  # production: rebuilt when admins change the overrides
    scanner: Scanner | None = None
    oidc: OidcClient | None = None
    engine: AsyncEngine | None = None
    # This process's leases on the shared lookup rate counters (services.lookup_limits).
    lookups: LookupLimiter = field(default_factory=LookupLimiter)


class Unauthorized(Exception):
    pass


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized
    return token.strip()


def _meta(request: Request | WebSocket) -> RequestMeta:
    return RequestMeta(
        address=request.client.host if request.client else None,
        user_agent=request.headers.get("user-agent"),
    )


async def authenticate(rt: Runtime, db: RequestDb, token: str | None, meta: RequestMeta) -> Actor:
    """The actor behind a bearer token; a presented but bad token is refused, never anonymous."""
    if token is None:
        return ANONYMOUS
    now = rt.clock.now()
    try:
        claims = verify_access(rt.policy.tokens, token, now=now)
        async with db.session() as session:
            actor, per_minute = await actor_for(session, claims)
    except InvalidToken:
        raise Unauthorized from None
    if per_minute:
        used = await Journal(rt.session_factory, meta, now).hit(
            f"app:{actor.client_id}", window=timedelta(minutes=1)
        )
        if used > per_minute:
            raise HTTPException(429, "Ứng dụng đã vượt giới hạn số lượt gọi mỗi phút.")
    return actor


def _persisted_of(view: object) -> PersistedQueries:
    return view.persisted if isinstance(view, GraphQLApp) else PersistedQueries({})


class SocketRefused(Exception):
    """A websocket whose handshake carried a bad token: already closed (4403) right after the
    upgrade; nothing more to do with it."""


Fork = Callable[[Context], Awaitable[Context]]


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

    def __init__(self, schema: strawberry.Schema, fork: Fork) -> None:
        self._schema, self._fork = schema, fork

    def __getattr__(self, name: str) -> Any:
        return getattr(self._schema, name)

    async def stream(self, query: str | None, **kwargs: Any) -> Any:
        ctx = kwargs["context_value"] = await self._fork(kwargs["context_value"])
        source = await self._schema.stream(query, **kwargs)
        return _finishing(source, ctx)

    async def subscribe(self, query: str | None, **kwargs: Any) -> Any:
        ctx = kwargs["context_value"] = await self._fork(kwargs["context_value"])
        source = await self._schema.subscribe(query, **kwargs)
        if not hasattr(source, "__aiter__"):  # an error before execution: nothing to stream
            await ctx.db.finish(commit=False)
            return source
        return _finishing(source, ctx)


def _per_operation(handler: Any) -> None:
    view = handler.view
    if isinstance(view, GraphQLApp):
        handler.schema = OperationSchema(handler.schema, view.operation_context)


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


class _Malformed(Exception):
    """A request refused while parsing it: answered 400 with a GraphQL-shaped JSON error."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


NOT_AN_OBJECT = "Nội dung yêu cầu GraphQL (và `variables`, `extensions`) phải là một đối tượng JSON."
NO_BATCHING = "Không nhận danh sách JSON: mỗi yêu cầu gửi một thao tác GraphQL (không gửi theo lô)."
_CONTEXT = "dvc.context"  # the request's Context, in its ASGI scope, to close it on a refusal


class GraphQLApp(GraphQL[Context, None]):
    graphql_transport_ws_handler_class = PersistedTransportWS
    graphql_ws_handler_class = PersistedWS

    def __init__(
        self,
        runtime_ref: dict[str, Runtime],
        graphiql: bool,
        init_timeout: float = 10.0,
        graphql_schema: strawberry.Schema | None = None,
        persisted: PersistedQueries | None = None,
    ) -> None:
        super().__init__(
            graphql_schema or schema,
            graphql_ide="graphiql" if graphiql else None,
            # a websocket that does not say who it is in time is closed (4408)
            connection_init_wait_timeout=timedelta(seconds=init_timeout),
        )
        self._runtime_ref = runtime_ref
        self.persisted = persisted or PersistedQueries({})  # the allow-list, HTTP and websockets

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
        """A malformed request is a 400 with a GraphQL error and a code (strawberry answers its
        own refusals in plain text, and crashed on a body that is JSON but not an object). A
        websocket refused at the handshake is already closed, the documented way (4403)."""
        try:
            await super().__call__(scope, receive, send)
        except SocketRefused:
            return
        except _Malformed as error:
            context = scope.get(_CONTEXT)
            if isinstance(context, Context):  # authentication may have opened a session
                await context.db.finish(commit=False)
            body = {"errors": [{"message": error.message, "extensions": {"code": error.code}}]}
            await Response(orjson.dumps(body), 400, media_type="application/json")(scope, receive, send)

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
        rt = self._runtime_ref["runtime"]
        db = RequestDb(rt.session_factory)
        meta = _meta(request)
        try:
            actor = await authenticate(rt, db, _bearer(request.headers.get("authorization")), meta)
        except Unauthorized:
            await db.finish(commit=False)
            if isinstance(request, WebSocket):
                await request.close(code=4403, reason="Forbidden")
                raise SocketRefused from None
            raise HTTPException(401, "Thông tin xác thực không hợp lệ hoặc đã hết hạn.") from None
        except HTTPException as error:
            await db.finish(commit=False)  # a refused request must not keep a connection
            if isinstance(request, WebSocket):  # the upgrade is done: close it, with the reason
                await request.close(code=4429 if error.status_code == 429 else 4403, reason=str(error.reason))
                raise SocketRefused from None
            raise
        if isinstance(request, WebSocket):
            await db.finish(commit=False)  # a socket lives for hours: each operation opens its own
        context = await self._context(request, response, actor=actor, db=db, meta=meta)
        request.scope[_CONTEXT] = context
        return context

    async def operation_context(self, base: Context) -> Context:
        """A websocket operation's own context: the socket's caller, a fresh unit of work and clock."""
        return await self._context(
            base.request,
            base.response,
            actor=base.actor,
            db=RequestDb(base.session_factory),
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
        rt = self._runtime_ref["runtime"]
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
            calendar=await rt.calendars.get(rt.clock.now()) if rt.calendars else rt.calendar,
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
        rt = self._runtime_ref["runtime"]
        try:
            context.actor = await authenticate(rt, context.db, _bearer(str(header)), context.meta)
        except (Unauthorized, HTTPException):
            raise ConnectionRejectionError from None
        finally:
            await context.db.finish(commit=False)
        return await super().on_ws_connect(context)


def runtime_from_settings(settings: Settings) -> Runtime:
    if settings.database_url is None or settings.jwt_secret is None:
        raise RuntimeError(
            "DATABASE_URL and JWT_SECRET are not set. Start the service with `make run` (or `dvc serve`), "
            "which starts the embedded PostgreSQL and S3 store and generates a key, or set them."
        )
    engine = make_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        pre_ping=settings.db_pool_pre_ping,
        statement_timeout_ms=settings.db_statement_timeout_ms,
    )
    store = None
    if settings.s3_endpoint:
        store = ObjectStore(
            S3Config(
                endpoint=settings.s3_endpoint,
                access_key=settings.s3_access_key or "",
                secret_key=settings.s3_secret_key or "",
                bucket=settings.s3_bucket,
                secure=settings.s3_secure,
                region=settings.s3_region,
            )
        )
    dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    factory = make_session_factory(engine)
    return Runtime(
        settings=settings,
        session_factory=factory,
        store=store,
        broker=Broker(dsn),
        calendars=CalendarCache(settings.zone, factory),
        clock=SystemClock(),
        policy=policy_from_settings(settings),
        calendar=default_calendar(settings),
        oidc=oidc_from_settings(settings),
        scanner=ClamAV(settings.clamd_socket) if settings.clamd_socket else None,
        engine=engine,
    )


def default_calendar(settings: Settings, overrides: Iterable[tuple[date, bool]] = ()) -> WorkingCalendar:
    """Vietnam's public holidays around now, corrected by the admins' overrides."""
    year = datetime.now(settings.zone).year
    days = list(overrides)
    return WorkingCalendar.vietnam(
        range(year - 3, year + 3),
        zone=settings.zone,
        extra_days_off=[d for d, working in days if not working],
        extra_working_days=[d for d, working in days if working],
    )


def policy_from_settings(settings: Settings) -> AccountPolicy:
    assert settings.jwt_secret is not None
    return AccountPolicy(
        tokens=TokenConfig(
            secret=settings.jwt_secret,
            issuer=settings.jwt_issuer,
            access_ttl=timedelta(minutes=settings.access_token_minutes),
            refresh_ttl=timedelta(days=settings.refresh_token_days),
        )
    )


def oidc_from_settings(settings: Settings) -> OidcClient | None:
    if not settings.national_id_issuer:
        return None
    return OidcClient(
        OidcConfig(
            issuer=settings.national_id_issuer,
            client_id=settings.national_id_client_id or "",
            client_secret=settings.national_id_client_secret or "",
            redirect_uri=settings.national_id_redirect_uri or "",
            citizen_id_claim=settings.national_id_citizen_id_claim,
        )
    )


def _client_auth(request: Request, form: dict[str, str]) -> tuple[str, str] | None:
    """client_secret_basic (preferred) or client_secret_post (RFC 6749 §2.3.1)."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            raw = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        client_id, sep, secret = raw.partition(":")
        return (unquote(client_id), unquote(secret)) if sep else None
    if "client_id" in form and "client_secret" in form:
        return form["client_id"], form["client_secret"]
    return None


def _oauth_error(error: str, description: str, status: int = 400) -> Response:
    headers = {"Cache-Control": "no-store"}
    if status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="dvc"'
    return JSONResponse(
        {"error": error, "error_description": description}, status_code=status, headers=headers
    )


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


def create_app(runtime: Runtime | None = None, settings: Settings | None = None) -> Starlette:
    settings = settings or (runtime.settings if runtime else get_settings())
    ref: dict[str, Runtime] = {}
    if runtime is not None:
        ref["runtime"] = runtime

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        owned = "runtime" not in ref
        if owned:
            configure_logging(settings.log_level, settings.log_format)
            ref["runtime"] = runtime_from_settings(settings)
        rt = ref["runtime"]
        if rt.store is not None:
            await rt.store.ensure_bucket()
        if rt.broker is not None:
            await rt.broker.start()
        tasks = []
        if owned and rt.settings.jobs_interval_minutes:
            tasks.append(asyncio.create_task(jobs_loop()))
        if owned and rt.settings.clamav_mirror_url and isinstance(rt.scanner, ClamAV):
            tasks.append(asyncio.create_task(signatures_loop(rt.scanner), name="clamav-signatures"))
        if owned and rt.settings.payment_jobs_interval_seconds and rt.settings.vnpay_pay_url:
            tasks.append(asyncio.create_task(payments_loop(), name="payment-settlement"))
        outbox_stop = asyncio.Event()
        outbox_http = httpx.AsyncClient(timeout=10.0) if owned else None
        transports: dict[ConsumerKind, Transport] = {}
        portal = portal_config(rt.settings)
        if owned and portal is not None:
            portal_client = PortalClient(portal, rt.clock)
            transports[ConsumerKind.NATIONAL_PORTAL] = PortalTransport(portal_client)
            async with rt.session_factory() as session:
                await ensure_portal_consumer(session, portal, now=rt.clock.now())
                await session.commit()
        outbox = (
            asyncio.create_task(
                run_dispatcher(
                    rt.session_factory,
                    outbox_http,
                    rt.clock,
                    interval=1.0,
                    stop=outbox_stop,
                    broker=rt.broker,
                    transports=transports,
                ),
                name="outbox-dispatcher",
            )
            if outbox_http is not None
            else None
        )
        if rt.broker is not None and rt.calendars is not None:
            tasks.append(asyncio.create_task(calendar_watch(rt.broker, rt.calendars)))
        s = rt.settings
        notify_stop = asyncio.Event()
        notify_http: httpx.AsyncClient | None = None
        notifier: asyncio.Task[None] | None = None
        if owned and (s.smtp_host or s.sms_gateway_url):
            mailer = None
            if s.smtp_host and s.smtp_sender:
                mailer = SmtpMailer(
                    SmtpConfig(
                        host=s.smtp_host,
                        port=s.smtp_port,
                        sender=s.smtp_sender,
                        username=s.smtp_username,
                        password=s.smtp_password,
                        starttls=s.smtp_starttls,
                        use_tls=s.smtp_tls,
                    )
                )
            sms = None
            if s.sms_gateway_url and s.sms_gateway_key:
                notify_http = httpx.AsyncClient(timeout=15.0)
                sms = HttpSmsSender(
                    SmsConfig(url=s.sms_gateway_url, api_key=s.sms_gateway_key, sender=s.sms_sender),
                    notify_http,
                )
            notifier = asyncio.create_task(
                run_sender(
                    rt.session_factory,
                    mailer,
                    sms,
                    rt.clock,
                    interval=s.notifications_interval_seconds,
                    stop=notify_stop,
                ),
                name="notification-sender",
            )
        if owned:
            # Everything alive now (the schema, the ORM mappers, the modules) lives as long as the
            # process: move it out of the collector's reach, so that the full collections a busy
            # process runs do not rescan it (they took tenths of a second under load).
            gc.collect()
            gc.freeze()
            # A request allocates thousands of short-lived objects: collect young ones less often.
            gc.set_threshold(20_000, 50, 100)
        try:
            yield
        finally:
            if owned:
                shutdown_tracing()  # flush the last spans
            if notifier is not None:
                notify_stop.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(notifier, timeout=30)
            if notify_http is not None:
                await notify_http.aclose()
            if outbox is not None and outbox_http is not None:
                # first, before the broker and engine go: an unfinished round is simply redelivered
                outbox_stop.set()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(outbox, timeout=15)
                await outbox_http.aclose()
            for task in tasks:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            if rt.broker is not None:
                await rt.broker.stop()
            if owned and rt.engine is not None:
                await rt.engine.dispose()

    async def jobs_loop() -> None:
        """Scheduled jobs (the one-year inactivity rule, abandoned uploads, the stored files'
        integrity check, the portal reconciliation) in every process; advisory locks let only one
        of them work at a time, and the jobs themselves are idempotent."""
        rt = ref["runtime"]
        interval = rt.settings.jobs_interval_minutes * 60
        while True:
            try:
                async with rt.session_factory() as session:
                    if await session.scalar(text("SELECT pg_try_advisory_xact_lock(4242001)")):
                        result = await run_inactivity(session, now=rt.clock.now(), policy=rt.policy)
                        cleaned = (
                            await clean_expired(session, rt.store, now=rt.clock.now()) if rt.store else 0
                        )
                        await session.commit()
                        log.info(
                            "jobs: %s warned, %s locked, %s abandoned uploads removed",
                            result.warned,
                            result.locked,
                            cleaned,
                        )
                await check_files(rt)
                await reconcile_yesterday(rt)
            except Exception:  # a failed run is retried at the next interval
                log.exception("scheduled jobs failed")
            await asyncio.sleep(interval)

    async def payments_loop() -> None:
        """Payment reconciliation and refunds, often (a pending payment should not wait a day)."""
        rt = ref["runtime"]
        while True:
            try:
                now = rt.clock.now()
                calendar = await rt.calendars.get(now) if rt.calendars else rt.calendar
                run = await settle_payments(rt.session_factory, rt.settings, calendar, now)
                if run is not None and (run.paid or run.failed or run.expired or run.refunded or run.errors):
                    log.info("payments: %s", run.summary())
            except Exception:  # a failed run is retried at the next interval
                log.exception("payment settlement failed")
            await asyncio.sleep(rt.settings.payment_jobs_interval_seconds)

    async def signatures_loop(scanner: ClamAV) -> None:
        """freshclam against CLAMAV_MIRROR_URL, then a clamd reload, every
        CLAMAV_UPDATE_INTERVAL_SECONDS; one process at a time (the others skip that run)."""
        rt = ref["runtime"]
        while True:
            try:
                async with rt.session_factory() as session:
                    # Held for the run (freshclam may take minutes; read committed keeps no
                    # snapshot between statements) and gone with the connection if it is lost.
                    if await session.scalar(text("SELECT pg_try_advisory_xact_lock(4242003)")):
                        result = await signatures.update(rt.settings, scanner)
                        if result.ok:
                            log.info("clamav signatures: freshclam done, changed=%s", result.changed)
                found = await signatures.age(scanner, signatures.signature_folder(rt.settings))
                if signatures.stale(rt.settings, found, rt.clock.now()):
                    log.warning("clamav signatures are stale: built %s", found.built_at)
            except Exception:  # retried at the next interval
                log.exception("clamav signature update failed")
            await asyncio.sleep(rt.settings.clamav_update_interval_seconds)

    async def check_files(rt: Runtime) -> None:
        """Staging objects left by forms POSTed again removed; a batch of stored files re-read and
        compared with their rows (one process at a time, in its own transaction)."""
        if rt.store is None:
            return
        try:
            async with rt.session_factory() as session:
                if not await session.scalar(text("SELECT pg_try_advisory_xact_lock(4242004)")):
                    return
                swept = await sweep_staging(session, rt.store)
                checked = await verify_stored(
                    session, rt.store, now=rt.clock.now(), limit=rt.settings.file_verify_batch
                )
                await session.commit()
            log.info(
                "files: %s stale staging objects removed; %s re-read, %s damaged, %s restored",
                swept,
                checked.checked,
                len(checked.damaged),
                len(checked.restored),
            )
        except Exception:  # retried at the next interval
            log.exception("stored file checks failed")

    async def reconcile_yesterday(rt: Runtime) -> None:
        """The daily reconciliation with the national portal (each run redoes yesterday: harmless,
        only differences are re-queued)."""
        config = portal_config(rt.settings)
        if config is None:
            return
        now = rt.clock.now()
        day = (now.astimezone(config.zone) - timedelta(days=1)).date()
        try:
            async with httpx.AsyncClient(timeout=30.0) as http, rt.session_factory() as session:
                # One process at a time (the others skip it this run).
                if not await session.scalar(text("SELECT pg_try_advisory_xact_lock(4242002)")):
                    return
                report = await reconcile(session, http, PortalClient(config, rt.clock), day=day, now=now)
                await session.commit()
            log.info(
                "national portal reconciliation %s: %s checked, %s differ, %s re-queued",
                day,
                report.checked,
                len(report.differences),
                report.requeued,
            )
        except Exception:  # retried at the next interval
            log.exception("national portal reconciliation failed")

    async def calendar_watch(broker: Broker, calendars: CalendarCache) -> None:
        async with broker.subscribe("calendar", "overrides") as queue:
            while True:
                await queue.get()
                calendars.invalidate()

    async def metrics_route(request: Request) -> Response:
        rt = ref["runtime"]
        scanner = rt.scanner if isinstance(rt.scanner, ClamAV) else None
        return await metrics(
            request,
            rt.session_factory,
            rt.engine,
            rt.clock.now(),
            rt.settings.metrics_token,
            signature_age=(
                (lambda: signatures.age(scanner, signatures.signature_folder(rt.settings)))
                if scanner is not None
                else None
            ),
        )

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        rt = ref["runtime"]
        checks: dict[str, bool] = {}
        try:
            async with rt.session_factory() as session:
                await session.execute(text("SELECT 1"))
            checks["database"] = True
        except Exception:
            log.warning("readiness: database unreachable", exc_info=True)
            checks["database"] = False
        checks["objectStore"] = await rt.store.ping() if rt.store is not None else False
        body: dict[str, object] = {"checks": checks}
        if rt.scanner is not None:
            checks["malwareScanner"] = await rt.scanner.ping()
            if checks["malwareScanner"] and isinstance(rt.scanner, ClamAV):
                # Reported, not a readiness condition: old signatures still catch known malware.
                found = await signatures.age(rt.scanner, signatures.signature_folder(rt.settings))
                now = rt.clock.now()
                age = found.age_seconds(now)
                body["signatures"] = {
                    "version": found.version,
                    "builtAt": found.built_at.isoformat() if found.built_at else None,
                    "ageHours": round(age / 3600, 2) if age is not None else None,
                    "datedBy": found.dated_by,
                    "stale": signatures.stale(rt.settings, found, now),
                    "updates": bool(rt.settings.clamav_mirror_url),
                }
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", **body},
            status_code=200 if ready else 503,
        )

    async def oauth_token(request: Request) -> Response:
        """RFC 6749 §4.4 client credentials grant for registered third-party applications."""
        rt = ref["runtime"]
        form = {k: str(v) for k, v in (await request.form()).items()}
        if form.get("grant_type") != "client_credentials":
            return _oauth_error("unsupported_grant_type", "Only client_credentials is supported.")
        credentials = _client_auth(request, form)
        if any("\x00" in value for value in (*form.keys(), *form.values(), *(credentials or ()))):
            return _oauth_error("invalid_request", "A parameter holds a NUL character (U+0000).")
        if credentials is None:
            return _oauth_error("invalid_client", "Client authentication is required.", 401)
        scopes = form["scope"].split() if form.get("scope") else None
        journal = Journal(rt.session_factory, _meta(request), rt.clock.now())
        async with rt.session_factory() as session:
            try:
                token = await account_admin.client_credentials(
                    session, credentials[0], credentials[1], scopes, journal=journal, policy=rt.policy
                )
            except account_admin.OAuthError as error:
                return _oauth_error(error.error, error.description, error.status)
        return JSONResponse(
            {
                "access_token": token.access_token,
                "token_type": "Bearer",
                "expires_in": token.expires_in,
                "scope": " ".join(token.scopes),
            },
            headers={"Cache-Control": "no-store", "Pragma": "no-cache"},
        )

    async def lookup_route(request: Request) -> Response:
        rt = ref["runtime"]
        s = rt.settings
        rate = RateLimit(s.lookup_rate_limit, timedelta(seconds=s.lookup_rate_window_seconds))
        handler = lookup_page(rt.session_factory, s.zone, rate, rt.clock.now(), rt.lookups)
        response: Response = await handler(request)
        return response

    async def verification_route(request: Request) -> Response:
        rt = ref["runtime"]
        handler = verification_page(rt.session_factory, rt.settings.zone)
        response: Response = await handler(request)
        return response

    async def sms_route(request: Request) -> Response:
        rt = ref["runtime"]
        s = rt.settings
        rate = RateLimit(s.sms_lookup_rate_limit, timedelta(seconds=s.sms_lookup_rate_window_seconds))
        handler = inbound(rt.session_factory, s.sms_gateway_key, s.zone, rate, rt.clock.now(), rt.lookups)
        return await handler(request)

    async def national_portal_route(request: Request) -> Response:
        rt = ref["runtime"]
        now = rt.clock.now()
        calendar = await rt.calendars.get(now) if rt.calendars else rt.calendar
        return await handle_portal_dossier(
            request, rt.session_factory, rt.settings, rt.store, rt.scanner, calendar, now
        )

    async def statistics_export_route(request: Request) -> Response:
        rt = ref["runtime"]
        return await statistics_export(rt.session_factory, rt.settings.zone, rt.clock.now)(request)

    async def payment_ipn_route(request: Request) -> Response:
        rt = ref["runtime"]
        now = rt.clock.now()
        calendar = await rt.calendars.get(now) if rt.calendars else rt.calendar
        return await handle_ipn(request, rt.session_factory, rt.settings, calendar, now)

    async def open311_route(request: Request) -> Response:
        rt = ref["runtime"]
        meta = _meta(request)

        async def who(token: str | None) -> Actor:
            db = RequestDb(rt.session_factory)
            try:
                return await authenticate(rt, db, token, meta)
            finally:
                await db.finish(commit=True)

        async def when() -> tuple[datetime, WorkingCalendar]:
            now = rt.clock.now()
            return now, (await rt.calendars.get(now) if rt.calendars else rt.calendar)

        deadlines = Deadlines(rt.settings.feedback_answer_days, rt.settings.feedback_focal_agency)
        handle = open311_handler(rt.session_factory, who, deadlines, rt.settings.public_base_url, when)
        return await handle(request)

    tracing = configure_tracing(settings.otel_exporter_otlp_endpoint, settings.otel_service_name)
    persisted = PersistedQueries.load(settings.persisted_queries, only=settings.persisted_queries_only)
    graphql = GraphQLApp(
        ref,
        graphiql=settings.graphiql,
        init_timeout=settings.ws_connection_init_timeout_seconds,
        graphql_schema=build_schema(tracing=True) if tracing else None,
        persisted=persisted,
    )
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/oauth/token", oauth_token, methods=["POST"]),
            Route("/tra-cuu/{code}", lookup_route),
            Route("/xac-minh/{code}", verification_route),
            Route("/sms/inbound", sms_route, methods=["POST"]),
            Route("/payments/vnpay/ipn", payment_ipn_route, methods=["GET"]),
            Route("/open311/v2/{resource:path}.{format}", open311_route, methods=["GET", "POST"]),
            Route("/national-portal/dossiers", national_portal_route, methods=["POST"]),
            Route("/exports/statistics.{kind}", statistics_export_route, methods=["GET"]),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/metrics", metrics_route),
        ],
        middleware=http_middleware(settings, tracing=tracing is not None),
        lifespan=lifespan,
    )


def __getattr__(name: str) -> Starlette:
    # `uvicorn app:app` builds the app from the environment on first access, not at import,
    # so importing this module (tests, tools) never needs a configured environment.
    if name == "app":
        application = create_app()
        globals()["app"] = application
        return application
    raise AttributeError(name)
