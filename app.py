"""The ASGI application: GraphQL (HTTP and websockets), health and readiness.

`create_app()` wires the process's long-lived parts (engine, object store, event broker)
in the lifespan; tests pass their own `Runtime` to bind the app to a per-test transaction.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass

import orjson
from cross_web import HTTPException
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket
from strawberry.asgi import GraphQL

from auth.bootstrap import InvalidCredentials, actor_from_authorization
from core.broker import Broker
from core.clock import Clock, SystemClock
from core.db import RequestDb, SessionFactory, make_engine, make_session_factory
from core.settings import Settings, get_settings
from resolvers.context import Context
from resolvers.loaders import Loaders
from schema import schema
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
    engine: AsyncEngine | None = None


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, runtime_ref: dict[str, Runtime], graphiql: bool) -> None:
        super().__init__(schema, graphql_ide="graphiql" if graphiql else None)
        self._runtime_ref = runtime_ref

    def encode_json(self, data: object) -> str:
        # UTF-8 as is (Vietnamese text stays readable and smaller) and several times faster.
        # A str, not bytes: websocket frames must be text frames for graphql-ws clients.
        return orjson.dumps(data).decode()

    async def get_context(self, request: Request | WebSocket, response: Response | WebSocket) -> Context:
        rt = self._runtime_ref["runtime"]
        try:
            actor = actor_from_authorization(
                request.headers.get("authorization"), rt.settings.bootstrap_admin_token
            )
        except InvalidCredentials:
            raise HTTPException(401, "Thông tin xác thực không hợp lệ hoặc đã hết hạn.") from None
        db = RequestDb(rt.session_factory)
        return Context(
            request=request,
            response=response,
            settings=rt.settings,
            actor=actor,
            db=db,
            loaders=Loaders(db),
            now=rt.clock.now(),
            session_factory=rt.session_factory,
            broker=rt.broker,
        )


def runtime_from_settings(settings: Settings) -> Runtime:
    if settings.database_url is None:
        raise RuntimeError(
            "DATABASE_URL is not set. Start the service with `make run` (or `dvc serve`), which "
            "starts the embedded PostgreSQL and S3 store, or set DATABASE_URL and S3_ENDPOINT."
        )
    engine = make_engine(settings.database_url, pool_size=settings.db_pool_size)
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
    return Runtime(
        settings=settings,
        session_factory=make_session_factory(engine),
        store=store,
        broker=Broker(dsn),
        clock=SystemClock(),
        engine=engine,
    )


def create_app(runtime: Runtime | None = None, settings: Settings | None = None) -> Starlette:
    settings = settings or (runtime.settings if runtime else get_settings())
    ref: dict[str, Runtime] = {}
    if runtime is not None:
        ref["runtime"] = runtime

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        owned = "runtime" not in ref
        if owned:
            ref["runtime"] = runtime_from_settings(settings)
        rt = ref["runtime"]
        if rt.store is not None:
            await rt.store.ensure_bucket()
        if rt.broker is not None:
            await rt.broker.start()
        try:
            yield
        finally:
            if rt.broker is not None:
                await rt.broker.stop()
            if owned and rt.engine is not None:
                await rt.engine.dispose()

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
        ready = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ready else "unavailable", "checks": checks},
            status_code=200 if ready else 503,
        )

    graphql = GraphQLApp(ref, graphiql=settings.graphiql)
    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["GET", "POST"]),
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
        ],
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
