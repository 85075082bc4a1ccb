"""What lives as long as the process (`Runtime`, shared by every request) and how it is built
from the settings."""

from __future__ import annotations

import gc
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from auth.actor import Actor
from auth.oidc import OidcClient, OidcConfig
from auth.tokens import TokenConfig
from core.broker import WRITER_TOPIC, Broker
from core.clock import Clock, SystemClock
from core.db import ReadsPool, RequestDb, SessionFactory, make_engine, make_session_factory
from core.replicas import ReadReplicas
from core.settings import Settings
from services.accounts.policy import AccountPolicy
from services.calendar import WorkingCalendar
from services.holidays import CalendarCache, province_hours
from services.lookup_limits import LookupLimiter
from services.uploads import Scanner
from storage.clamav import ClamAV
from storage.s3 import ObjectStore, S3Config


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
    # The compiled reads' own connections (web.compiled), when the process has an engine of its
    # own (tests share their transaction's connection instead).
    reads: ReadsPool | None = None
    # This process's leases on the shared lookup rate counters (services.lookup_limits).
    lookups: LookupLimiter = field(default_factory=LookupLimiter)
    # The read replicas (DATABASE_READ_URLS) for the reads that tolerate a little lag.
    replicas: ReadReplicas | None = None

    def request_db(self) -> RequestDb:
        """A request's unit of work: the primary's session, and a replica's for lag-tolerant reads."""
        return RequestDb(self.session_factory, self.replicas)

    async def read_factory(self, caller: str | None) -> SessionFactory:
        """Sessions for a lag-tolerant read outside GraphQL (exports, public pages): a usable
        replica's for this caller, else the primary's."""
        replica = await self.replicas.pick(caller) if self.replicas is not None else None
        return replica.factory if replica is not None else self.session_factory

    async def calendar_at(self, now: datetime) -> WorkingCalendar:
        """The working calendar in force at `now` (the admins' overrides included)."""
        return await self.calendars.get(now) if self.calendars else self.calendar


class RuntimeRef:
    """The runtime an app serves with: given by a test, or built in the lifespan."""

    def __init__(self, runtime: Runtime | None = None) -> None:
        self.current = runtime

    @property
    def runtime(self) -> Runtime:
        if self.current is None:
            raise LookupError("the runtime is not started")
        return self.current


async def open_runtime(rt: Runtime) -> None:
    """The object store's bucket made sure of; the event broker listening."""
    if rt.store is not None:
        await rt.store.ensure_bucket()
    if rt.broker is not None:
        if rt.replicas is not None:  # read-your-writes for callers who wrote through another host
            rt.broker.on(WRITER_TOPIC, rt.replicas.heard)
        await rt.broker.start()


async def close_runtime(rt: Runtime, *, owned: bool) -> None:
    """The broker stopped; the engine's connections closed when this process built them."""
    if rt.broker is not None:
        await rt.broker.stop()
    if owned and rt.reads is not None:
        await rt.reads.close()
    if owned and rt.replicas is not None:
        await rt.replicas.close()
    if owned and rt.engine is not None:
        await rt.engine.dispose()


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
        store = ObjectStore(S3Config.of(settings))
    dsn = settings.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)
    factory = make_session_factory(engine)
    return Runtime(
        settings=settings,
        session_factory=factory,
        store=store,
        broker=Broker(dsn),
        calendars=CalendarCache(settings.zone, factory, hours=province_hours(settings)),
        clock=SystemClock(),
        policy=policy_from_settings(settings),
        calendar=default_calendar(settings),
        oidc=oidc_from_settings(settings),
        scanner=ClamAV(settings.clamd_socket) if settings.clamd_socket else None,
        engine=engine,
        reads=ReadsPool(
            settings.database_url,
            size=settings.db_pool_size,
            statement_timeout_ms=settings.db_statement_timeout_ms,
        )
        if settings.compiled_reads
        else None,
        replicas=replicas_from_settings(settings),
    )


def replicas_from_settings(settings: Settings) -> ReadReplicas | None:
    if not settings.database_read_urls:
        return None
    return ReadReplicas.from_urls(
        settings.database_read_urls.split(","),
        pool_size=settings.db_pool_size,
        statement_timeout_ms=settings.db_statement_timeout_ms,
        max_lag_seconds=settings.database_read_max_lag_seconds,
        check_seconds=settings.database_read_check_seconds,
        own_writes_seconds=settings.database_read_own_writes_seconds,
    )


def caller_key(actor: Actor, address: str | None) -> str | None:
    """Whose writes a read must see (read-your-writes): the account or app, else the address."""
    if actor.client_id or actor.id:
        return actor.label
    return f"address:{address}" if address else None


def default_calendar(settings: Settings, overrides: Iterable[tuple[date, bool]] = ()) -> WorkingCalendar:
    """Vietnam's public holidays around now, corrected by the admins' overrides, with the
    province's office hours."""
    year = datetime.now(settings.zone).year
    days = list(overrides)
    return WorkingCalendar.vietnam(
        range(year - 3, year + 3),
        zone=settings.zone,
        hours=province_hours(settings),
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
        ),
        system_name=settings.system_name,
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


def settle_heap() -> None:
    """Once the process has started: move everything alive now (the schema, the ORM mappers, the
    modules) out of the collector's reach, so that its full collections do not rescan it (under
    load they took tenths of a second).

    The collector's thresholds stay at Python's defaults on purpose. Every request leaves
    reference cycles that only the cyclic collector frees: each ORM instance it loads
    (SQLAlchemy's `InstanceState` holds a weak reference whose callback is its own method) and
    graphql-core's execution context. Raised thresholds (they were 20,000 / 50 / 100) let those
    cycles survive into the oldest generation and pile up there between rare full collections:
    under 32 concurrent catalog lists the process grew by several kB per request, with no
    plateau (issue 18, finding 10; `tests/hardening/test_memory.py`, `python -m bench soak`)."""
    gc.collect()
    gc.freeze()
