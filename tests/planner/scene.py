"""A seeded scene for comparing the two read paths, built through the real
acts over GraphQL (once per test session): drafts, submissions, receptions, steps forwarded across agencies, a pause for
documents, an approval with a result file, a payment started — and every kind of caller.

The scene lives in a database of its own (`scene_database`), built once per test session;
both apps (compiled reads on, and off: the executor) run over it, so they read the same snapshot.
The clock is moved while the scene is built (timestamps with and without fractions of a second)
and then stands at `SCENE_NOW`, when some dossiers are overdue.

Callers (`Scene.tokens`): anonymous, two citizens (A owns most dossiers, B one), officers of the
agencies on A's workflow (one-stop desk H44.99, specialist and leader of H44.19, tax office
H44.96), an officer of an agency A's dossiers never pass (H44.07, every role but system admin:
`tests.authz_scene.ALL_ROLES_BUT_SYSTEM`), an agency administrator of H44.19, the system
administrator, and two third-party apps (with and without `dossier-status:read`).
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app import create_app
from core import migrate
from core.clock import FixedClock
from core.db import make_engine
from core.settings import Settings
from services.pagination import encode_key, encode_offset
from storage.s3 import ObjectStore
from tests.accounts.helpers import make_staff
from tests.accounts.test_apps import app_token, registered_app
from tests.authz_scene import ALL_ROLES_BUT_SYSTEM, citizen
from tests.conftest import ADMIN_TOKEN, JWT_SECRET, NOW, SMS_KEY, Servers, app_runtime, gql, seed_demo_site
from tests.dossiers import helpers
from tests.dossiers.helpers import act, long_token, upload
from tests.planner.conftest import Paths
from web.runtime import Runtime

SAVE = """mutation($input: DossierDraftInput!) { r: dossierSaveDraft(input: $input) {
  __typename ... on DossierChanged { dossier { id } } } }"""
PAY = "mutation($id: ID!) { r: dossierPay(id: $id) { __typename ... on PaymentStarted { reference } } }"
INBOX_CURSORS = "query($after: String) { inbox(first: 2, after: $after) { edges { cursor } } }"


def at(local: str) -> datetime:
    """A moment in Hà Nội time."""
    return datetime.fromisoformat(local + "+07:00").astimezone(UTC)


SCENE_NOW = at("2026-12-09T10:15:30.250000")  # past some due dates: `overdue` is true for some

# Who may read dossiers in the inbox (the officers of A's agencies) and who may not.
CALLERS = (
    "anonymous",
    "citizen_a",
    "citizen_b",
    "reception",
    "specialist",
    "tax",
    "leader",
    "other_agency",
    "agency_admin",
    "system_admin",
    "app",
    "app_unscoped",
    "forged",  # a token that is no token: refused (401) on both paths
)


@dataclass
class Scene:
    paths: Paths
    clock: FixedClock
    tokens: dict[str, str | None]
    engine: AsyncEngine
    runtime: Runtime  # the apps' (both)
    dossiers: dict[str, str] = field(default_factory=dict)  # label -> id
    codes: dict[str, str] = field(default_factory=dict)  # label -> code (received ones)
    secrets: dict[str, str] = field(default_factory=dict)  # label -> lookup secret
    id_numbers: dict[str, str] = field(default_factory=dict)  # label -> applicant's id number
    cursors: list[str] = field(default_factory=list)  # real cursors of the inbox, and offsets

    async def both(
        self, caller: str, query: str, variables: dict[str, Any] | None = None, operation: str | None = None
    ) -> tuple[Any, Any, bool]:
        return await self.paths.both(query, variables, token=self.tokens[caller], operation_name=operation)

    async def compare(
        self, caller: str, query: str, variables: dict[str, Any] | None = None, operation: str | None = None
    ) -> tuple[str, str, bool]:
        """Both answers as JSON text (keys in their order), and whether the compiled path
        answered itself."""
        compiled, executed, planned = await self.both(caller, query, variables, operation)
        return json.dumps(compiled), json.dumps(executed), planned

    async def executor(self, caller: str, query: str, variables: dict[str, Any] | None = None) -> Any:
        token = self.tokens[caller]
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = await self.paths.executor.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )
        return answer.json()


DATABASE = "planner_scene"


@pytest.fixture(scope="session")
def scene_database(servers: Servers) -> str:
    """A database of the scene's own, migrated: its writes are committed (the executor resolves
    root fields concurrently, each on a connection of its own, which one shared test transaction
    cannot give), and nothing else writes to it while the paths are compared."""
    dsn = servers.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def recreate() -> None:
        conn = await asyncpg.connect(dsn)
        await conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {DATABASE}")
        await conn.close()

    asyncio.run(recreate())
    url = servers.database_url.replace("/postgres?", f"/{DATABASE}?", 1)
    assert url != servers.database_url, url
    migrate.upgrade(url)
    return url


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def scene(scene_database: str, servers: Servers, store: ObjectStore) -> AsyncIterator[Scene]:
    engine = make_engine(scene_database, pool_size=5)
    try:
        factory = async_sessionmaker(bind=engine, expire_on_commit=False, autoflush=False)
        async with factory() as session:
            await seed_demo_site(session)
        clock = FixedClock(NOW)
        settings = _settings(servers).model_copy(update={"database_url": scene_database})
        runtime = app_runtime(settings, factory, store, clock=clock)
        compiled = create_app(runtime)
        executor = create_app(runtime, settings=settings.model_copy(update={"compiled_reads": False}))
        async with (
            httpx.AsyncClient(transport=httpx.ASGITransport(app=compiled), base_url="http://test") as c,
            httpx.AsyncClient(transport=httpx.ASGITransport(app=executor), base_url="http://test") as e,
            factory() as session,
        ):
            built = Scene(Paths(c, e, settings), clock, {"anonymous": None}, engine, runtime)
            await _build(built, session, store)
            clock.at = SCENE_NOW
            yield built
    finally:
        await engine.dispose()


def _settings(servers: Servers) -> Settings:
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
        lookup_rate_limit=1_000_000,  # the lookups compared here are not a flood
    )


async def _build(scene: Scene, session: AsyncSession, store: ObjectStore) -> None:
    client = scene.paths.compiled  # the deployed app: its mutations go through the executor
    s = await helpers.scene(client, session)
    b = await citizen(session, "Trần Văn Bình", "025190000222", "binh.planner@example.vn")
    other, _ = await make_staff(
        session, "congthuong@phutho.gov.vn", *((role, "H44.07", False) for role in ALL_ROLES_BUT_SYSTEM)
    )
    admin, _ = await make_staff(session, "quantri@phutho.gov.vn", ("AGENCY_ADMIN", "H44.19", True))
    await session.commit()
    scene.tokens.update(
        citizen_a=s.citizen,
        citizen_b=long_token(b),
        reception=s.reception,
        specialist=s.specialist,
        tax=s.tax,
        leader=s.leader,
        other_agency=long_token(other),
        agency_admin=long_token(admin),
        system_admin=ADMIN_TOKEN,
    )
    await _dossiers(scene, s, b, session, store)
    scene.clock.at = SCENE_NOW  # the apps' tokens are short-lived: issued at the scene's now
    app_id, app_secret = await registered_app(
        client, scopes=["catalog:read", "dossier-status:read"], rateLimitPerMinute=100_000
    )
    unscoped_id, unscoped_secret = await registered_app(
        client, name="Ứng dụng danh mục", scopes=["catalog:read"], rateLimitPerMinute=100_000
    )
    scene.tokens["app"] = await app_token(client, app_id, app_secret)
    scene.tokens["app_unscoped"] = await app_token(client, unscoped_id, unscoped_secret)
    scene.tokens["forged"] = "eyJhbGciOiJub25lIn0.e30."
    await _cursors(scene)


async def _draft(
    scene: Scene, s: helpers.Scene, owner: uuid.UUID, token: str, session: AsyncSession, store: ObjectStore
) -> str:
    form = await upload(session, store, owner)
    draft_input = {
        "procedureCode": s.code,
        "receivingAgencyCode": "H44.99",
        "formData": {"hoTen": "Nguyễn Thị Lan"},
        "components": [{"componentId": s.components["Tờ khai theo mẫu"], "fileIds": [form]}],
        "deliveryMethod": "ONLINE",
    }
    saved = (await gql(client_of(scene), SAVE, {"input": draft_input}, token=token))["data"]["r"]
    assert saved["__typename"] == "DossierChanged", saved
    return str(saved["dossier"]["id"])


def client_of(scene: Scene) -> httpx.AsyncClient:
    return scene.paths.compiled


async def _step(
    scene: Scene, token: str, mutation: str, dossier: str, args: str = "", **variables: Any
) -> None:
    done = await act(client_of(scene), token, mutation, args, id=dossier, **variables)
    assert done["__typename"] == "DossierChanged", (mutation, done)


async def _dossiers(
    scene: Scene, s: helpers.Scene, b: uuid.UUID, session: AsyncSession, store: ObjectStore
) -> None:
    """A's dossiers: ready with a result (and a payment), paused at the tax office, at the
    specialist, submitted, a draft; B's: at the specialist, received late in the day."""
    a, tb = s.citizen_id, scene.tokens["citizen_b"]
    assert tb is not None
    clock = scene.clock
    clock.at = at("2026-11-26T09:00:00")  # no fraction of a second
    labels = {"ready": (a, s.citizen), "paused": (a, s.citizen), "at_specialist": (a, s.citizen)}
    labels |= {"submitted": (a, s.citizen), "draft": (a, s.citizen), "b_received": (b, tb)}
    for label, (owner, token) in labels.items():
        scene.dossiers[label] = await _draft(scene, s, owner, token, session, store)
    for label, (_, token) in labels.items():
        if label != "draft":
            await _step(scene, token, "dossierSubmit", scene.dossiers[label])
    clock.at = at("2026-11-26T10:00:00.950000")  # a fraction PostgreSQL would print short
    for label in ("ready", "paused", "at_specialist", "b_received"):
        await _step(scene, s.reception, "dossierReceive", scene.dossiers[label])
    clock.at = at("2026-11-27T08:30:00.123456")
    paid = await gql(client_of(scene), PAY, {"id": scene.dossiers["ready"]}, token=s.citizen)
    assert paid["data"]["r"]["__typename"] == "PaymentStarted", paid
    for label in ("ready", "paused"):
        await _step(
            scene, s.specialist, "dossierForward", scene.dossiers[label], "comment: $comment", comment="Đủ"
        )
    clock.at = at("2026-11-30T14:00:00.000001")
    await _step(
        scene,
        s.tax,
        "dossierRequestSupplement",
        scene.dossiers["paused"],
        "items: $items",
        items=["Tờ khai thuế"],
    )
    await _step(scene, s.tax, "dossierForward", scene.dossiers["ready"])
    result = await upload(session, store, None, "giay-phep.pdf")
    clock.at = at("2026-12-01T16:59:59.999999")
    await _step(
        scene, s.leader, "dossierApprove", scene.dossiers["ready"], "resultFileIds: $files", files=[result]
    )
    await _known(scene)


async def _known(scene: Scene) -> None:
    """Codes, lookup secrets and id numbers of the dossiers, as their owners read them."""
    for label, dossier in scene.dossiers.items():
        owner = "citizen_b" if label.startswith("b_") else "citizen_a"
        found = await scene.executor(
            owner,
            "query($id: ID!) { dossier(id: $id) { code lookupSecret applicant { idNumber } } }",
            {"id": dossier},
        )
        row = found["data"]["dossier"]
        if row["code"]:
            scene.codes[label] = row["code"]
        scene.secrets[label] = row["lookupSecret"]
        if row["applicant"]["idNumber"]:
            scene.id_numbers[label] = row["applicant"]["idNumber"]


async def _cursors(scene: Scene) -> None:
    """Cursors the inbox gave its readers (page by page), and a few offsets beyond the end."""
    seen: list[str] = []
    for caller in ("reception", "specialist", "tax", "leader"):
        after = None
        for _ in range(4):
            page = await scene.executor(caller, INBOX_CURSORS, {"after": after})
            edges = page["data"]["inbox"]["edges"]
            if not edges:
                break
            after = edges[-1]["cursor"]
            seen.extend(e["cursor"] for e in edges)
    # and cursors of other shapes: an offset past the end, a key cursor (the search's)
    scene.cursors = [*sorted(set(seen)), encode_offset(0), encode_offset(50), encode_key("2026-12-01")]
