"""Test fixtures: real PostgreSQL and real S3, started once per test session.

The servers are the same embedded ones `make run` uses (or external ones when TEST_DATABASE_URL
and TEST_S3_ENDPOINT… are set). Migrations are applied by Alembic and the demo catalog is
loaded once; each test then runs inside a transaction that is rolled back at its end, with
the app's sessions joining it through savepoints — so a test sees the demo catalog, its own
writes, and nothing of any other test.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from app import Runtime, create_app, policy_from_settings
from auth.tokens import TokenConfig, issue_access
from core import migrate
from core.clock import Clock, FixedClock
from core.db import make_engine
from core.settings import Settings
from devservers import EmbeddedClamd, EmbeddedServices, clamd_binary, start_clamd
from services.calendar import WorkingCalendar
from storage.clamav import ClamAV
from storage.s3 import ObjectStore, S3Config

# A fixed "now": Thursday 2026-11-26 09:00 in Hà Nội.
NOW = datetime(2026, 11, 26, 2, 0, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent
CALENDAR = WorkingCalendar.vietnam(range(2024, 2030))
JWT_SECRET = "test-jwt-secret-0123456789abcdef0123456789"
SMS_KEY = "test-sms-gateway-key-0123456789"
TOKENS = TokenConfig(JWT_SECRET)
# The session's system administrator (created with the demo catalog) and a long-lived token for
# it, valid under the fixed test clock and under the real clock of the live app processes.
ADMIN_ID = uuid.UUID("00000000-0000-4000-8000-00000000a001")
ADMIN_TOKEN = issue_access(
    TokenConfig(JWT_SECRET, access_ttl=timedelta(days=3650)), account_id=ADMIN_ID, token_version=1, now=NOW
)


def app_runtime(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    store: ObjectStore | None = None,
    *,
    clock: Clock | None = None,
    **parts: Any,
) -> Runtime:
    """The app's runtime over the test's transaction: these settings (the account policy derived
    from them), the fixed test clock unless another is given, the tests' working calendar, no
    broker; `parts` are any other `Runtime` fields (scanner, oidc, …)."""
    return Runtime(
        settings=settings,
        session_factory=session_factory,
        store=store,
        broker=None,
        clock=clock or FixedClock(NOW),
        policy=policy_from_settings(settings),
        calendar=CALENDAR,
        **parts,
    )


@dataclass(frozen=True)
class Servers:
    database_url: str
    s3: S3Config


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    external_db = os.environ.get("TEST_DATABASE_URL")
    external_s3 = os.environ.get("TEST_S3_ENDPOINT")
    with (
        tempfile.TemporaryDirectory(prefix="dvc-test-") as tmp,
        EmbeddedServices(Path(tmp), postgres=external_db is None, s3=external_s3 is None) as embedded,
    ):
        if embedded.postgres is not None:
            url = embedded.postgres.database_url
        else:
            assert external_db is not None
            url = external_db
        if embedded.s3 is not None:
            s3 = S3Config(embedded.s3.endpoint, embedded.s3.access_key, embedded.s3.secret_key, "dvc-test")
        else:
            s3 = S3Config(
                os.environ["TEST_S3_ENDPOINT"],
                os.environ["TEST_S3_ACCESS_KEY"],
                os.environ["TEST_S3_SECRET_KEY"],
                os.environ.get("TEST_S3_BUCKET", "dvc-test"),
                secure=os.environ.get("TEST_S3_SECURE", "false") == "true",
            )
        migrate.upgrade(url)
        yield Servers(url, s3)


@pytest.fixture(scope="session")
def clamd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedClamd]:
    """A real clamd with the project's test signature (EICAR), installed from the distribution's
    packages by the project's own script when missing."""
    if clamd_binary() is None:
        subprocess.run(["bash", str(ROOT / "scripts" / "install-clamav.sh")], check=True)
    handle = start_clamd(tmp_path_factory.mktemp("clamd"), signatures=ROOT / "assets" / "clamav")
    yield handle
    handle.stop()


@pytest_asyncio.fixture(scope="session")
async def engine(servers: Servers) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(servers.database_url, pool_size=5)
    yield engine
    await engine.dispose()


def demo_document() -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((ROOT / "seed" / "demo_catalog.json").read_text(encoding="utf-8"))
    return doc


async def seed_demo_site(session: AsyncSession, *, actor: str = "test:demo") -> dict[str, Any]:
    """The demo catalog and the tests' system admin (ADMIN_ID, signed by ADMIN_TOKEN), committed:
    what every database a test starts from holds."""
    from auth.actor import SYSTEM
    from services.accounts.admin.staff import create_system_admin
    from services.catalog.importer import load_document

    doc = demo_document()
    await load_document(session, doc, actor=actor, now=NOW, today=NOW.date())
    admin = await create_system_admin(
        session,
        email="admin@test.dvc.local",
        full_name="Quản trị Kiểm thử",
        password="Admin-pass-123",
        now=NOW,
        actor=SYSTEM,
        account_id=ADMIN_ID,
    )
    assert admin.id == ADMIN_ID
    await session.commit()
    return doc


@pytest_asyncio.fixture(scope="session")
async def demo_catalog(engine: AsyncEngine) -> dict[str, Any]:
    """The demo catalog, loaded (committed) once for the whole session."""
    from services.catalog.importer import catalog_is_empty

    async with AsyncSession(engine) as session:
        if await catalog_is_empty(session):
            return await seed_demo_site(session)
    return demo_document()


@pytest_asyncio.fixture(scope="session")
async def store(servers: Servers) -> ObjectStore:
    store = ObjectStore(servers.s3)
    await store.ensure_bucket()
    return store


@pytest_asyncio.fixture
async def connection(engine: AsyncEngine, demo_catalog: dict[str, Any]) -> AsyncIterator[AsyncConnection]:
    async with engine.connect() as conn:
        transaction = await conn.begin()
        try:
            yield conn
        finally:
            await transaction.rollback()


@pytest.fixture
def session_factory(connection: AsyncConnection) -> async_sessionmaker[AsyncSession]:
    # Sessions "commit" to a savepoint of the test's transaction, which is rolled back at the end.
    return async_sessionmaker(
        bind=connection, expire_on_commit=False, autoflush=False, join_transaction_mode="create_savepoint"
    )


@pytest_asyncio.fixture
async def session(session_factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with session_factory() as s:
        yield s


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def settings(servers: Servers) -> Settings:
    return Settings(
        database_url=servers.database_url,
        s3_endpoint=servers.s3.endpoint,
        s3_access_key=servers.s3.access_key,
        s3_secret_key=servers.s3.secret_key,
        s3_bucket=servers.s3.bucket,
        jwt_secret=JWT_SECRET,
        sms_gateway_key=SMS_KEY,
        vnpay_pay_url="http://127.0.0.1:9/pay",
        vnpay_return_url="http://127.0.0.1:8000/payments/return",
        vnpay_merchants="H44.19=PTHO0001:GATEWAYSECRET0123456789",
        load_demo_data=False,
        feedback_focal_agency="H44.99",
    )


@pytest_asyncio.fixture
async def client(
    clamd: EmbeddedClamd,
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    clock: FixedClock,
) -> AsyncIterator[httpx.AsyncClient]:
    runtime = app_runtime(settings, session_factory, store, clock=clock, scanner=ClamAV(clamd.socket_path))
    app = create_app(runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0
        self.statements: list[str] = []

    def __call__(self, *args: Any) -> None:
        self.count += 1
        self.statements.append(str(args[2])[:200])


@pytest.fixture
def statements(connection: AsyncConnection) -> Iterator[StatementCounter]:
    counter = StatementCounter()
    target = connection.sync_connection
    assert target is not None
    event.listen(target, "before_cursor_execute", counter)
    yield counter
    event.remove(target, "before_cursor_execute", counter)


async def gql(
    client: httpx.AsyncClient,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    expect_errors: bool = False,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    response = await client.post(
        "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    if not expect_errors:
        assert "errors" not in body, body.get("errors")
    return body


async def admin_gql(
    client: httpx.AsyncClient, query: str, variables: dict[str, Any] | None = None
) -> dict[str, Any]:
    data: dict[str, Any] = (await gql(client, query, variables, token=ADMIN_TOKEN))["data"]
    return data
