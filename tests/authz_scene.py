"""The scene of the authorisation matrix, built once per module on a live site of its own.

One app process (uvicorn) over a database of its own — and a second one with compiled reads off,
so that every read of the matrix is asked of both paths and must get the same answer —, so that every write is committed and the
matrix can compare the real tables before and after each foreign call. Citizen A owns everything
the matrix aims at: a dossier received at the one-stop desk H44.99 and now at the specialist step
of H44.19, a payment started for it, files, a vault document and a grant, a question at the
feedback focal agency H44.99. Around A: another citizen B, staff of another agency (H44.07) with
every role there, staff of the right agencies with the wrong role, and two third-party apps.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from core import migrate
from models.accounts import StaffAssignment
from models.catalog import Agency, Field, Procedure, ProcedureComponent
from services.files import store_bytes
from storage.s3 import ObjectStore
from tests.accounts.helpers import add_citizen, make_staff
from tests.catalog.factories import CREATE, PUBLISH, procedure_input
from tests.conftest import ADMIN_TOKEN, NOW, Servers, seed_demo_site
from tests.dossiers.helpers import PDF, long_token
from tests.live.conftest import app_process

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "authz_check"
SECRET = "GATEWAYSECRET0123456789"
APP_ENV = {
    "FEEDBACK_FOCAL_AGENCY": "H44.99",
    "VNPAY_PAY_URL": "http://127.0.0.1:9/pay",
    "VNPAY_RETURN_URL": "http://127.0.0.1:8000/payments/return",
    "VNPAY_MERCHANTS": f"H44.19=PTHO0001:{SECRET}",
    # No scheduled work in the background: the tables change only through the calls under test.
    "JOBS_INTERVAL_MINUTES": "0",
    "PAYMENT_JOBS_INTERVAL_SECONDS": "0",
    # Every case is sent to both read paths: the public lookups from this one address must not
    # run into their rate limit (tested in tests/hardening), or the scope test reads a refusal.
    "LOOKUP_RATE_LIMIT": "100000",
}
ALL_ROLES_BUT_SYSTEM = (
    "RECEPTION_OFFICER",
    "SPECIALIST",
    "LEADER",
    "POSTAL_STAFF",
    "FEEDBACK_FOCAL_POINT",
    "AGENCY_ADMIN",
    "STATISTICS_VIEWER",
)
# Rate-limit buckets count every attempt (also refused ones) by design; everything else must stay.
NOT_DIGESTED = frozenset({"rate_counters", "alembic_version"})


@dataclass(frozen=True)
class LiveSite:
    database_url: str
    dsn: str
    base: str  # the app as deployed: compiled reads on
    executor_base: str  # the same app with COMPILED_READS=false: every operation through the executor


@dataclass
class Scene:
    """Identifiers of A's things (`target`), the callers' tokens, and A's private strings."""

    site: LiveSite
    tokens: dict[str, str | None]  # caller kind -> bearer token (None: anonymous)
    target: dict[str, str]
    secrets: set[str] = field(default_factory=set)


def live_site(servers: Servers, logs: Path) -> Iterator[LiveSite]:
    dsn = servers.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def recreate() -> None:
        conn = await asyncpg.connect(dsn)
        await conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {DATABASE}")
        await conn.close()

    asyncio.run(recreate())
    url = servers.database_url.replace("/postgres?", f"/{DATABASE}?", 1)
    migrate.upgrade(url)

    async def seed() -> None:
        engine = create_async_engine(url)
        async with AsyncSession(engine) as session:
            await seed_demo_site(session)
        await engine.dispose()

    asyncio.run(seed())
    with (
        app_process(servers, logs / "app.log", url, APP_ENV) as base,
        app_process(servers, logs / "executor.log", url, {**APP_ENV, "COMPILED_READS": "false"}) as executor,
    ):
        yield LiveSite(url, dsn.replace("/postgres?", f"/{DATABASE}?", 1), base, executor)


async def post(
    base: str, token: str | None, query: str, variables: dict[str, Any] | None = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        return await client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=headers
        )


async def data(base: str, token: str | None, query: str, variables: dict[str, Any] | None = None) -> Any:
    response = await post(base, token, query, variables)
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


TABLES = "SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1"


def _digest_sql(tables: list[str]) -> str:
    return " UNION ALL ".join(
        f"SELECT '{t}' AS t, count(*) AS n, md5(coalesce(string_agg(r::text, '|' ORDER BY r::text), '')) AS h "
        f'FROM "{t}" r'
        for t in tables
        if t not in NOT_DIGESTED
    )


async def digest(conn: asyncpg.Connection) -> dict[str, tuple[int, str]]:
    """Row count and a hash of the rows of every table (but the rate-limit buckets)."""
    tables = [r["tablename"] for r in await conn.fetch(TABLES)]
    return {r["t"]: (r["n"], r["h"]) for r in await conn.fetch(_digest_sql(tables))}


async def digest_session(session: AsyncSession) -> dict[str, tuple[int, str]]:
    """`digest` through a session (its transaction ends, so the next one sees fresh commits)."""
    tables = [t for (t,) in await session.execute(text(TABLES))]
    rows = (await session.execute(text(_digest_sql(tables)))).all()
    await session.rollback()
    return {t: (int(n), str(h)) for t, n, h in rows}


def changed(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> list[str]:
    return sorted(t for t in before.keys() | after.keys() if before.get(t) != after.get(t))


SAVE = """mutation($input: DossierDraftInput!) { r: dossierSaveDraft(input: $input) {
  __typename ... on DossierChanged { dossier { id code lookupSecret } } } }"""
ACT = """mutation($id: ID!) { r: %s(id: $id) { __typename ... on DossierChanged { dossier { status } }
  ... on UserError { code message } } }"""


async def citizen(session: AsyncSession, name: str, number: str, email: str) -> uuid.UUID:
    account = await add_citizen(session, name, number, email)
    await session.commit()
    return account.id


async def app_token(base: str, scopes: list[str], name: str) -> tuple[str, str]:
    registered = await data(
        base,
        ADMIN_TOKEN,
        """mutation($input: AppRegisterInput!) { appRegister(input: $input) {
          __typename ... on AppRegistered { clientSecret app { clientId } } } }""",
        {
            "input": {
                "name": name,
                "contactEmail": "app@example.vn",
                "scopes": scopes,
                "rateLimitPerMinute": 100000,
            }
        },
    )
    result = registered["appRegister"]
    assert result["__typename"] == "AppRegistered", result
    client_id, secret = result["app"]["clientId"], result["clientSecret"]
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        response = await client.post(
            "/oauth/token", data={"grant_type": "client_credentials"}, auth=httpx.BasicAuth(client_id, secret)
        )
    assert response.status_code == 200, response.text
    return client_id, response.json()["access_token"]


async def build(site: LiveSite, store: ObjectStore) -> Scene:
    base = site.base
    created = await data(base, ADMIN_TOKEN, CREATE, {"input": procedure_input()})
    assert created["procedureCreate"]["__typename"] == "ProcedureSaved", created
    await data(base, ADMIN_TOKEN, PUBLISH, {"code": "9.999001", "number": "1/QĐ-UBND", "date": "2026-11-01"})

    engine = create_async_engine(site.database_url)
    tokens: dict[str, str | None] = {"anonymous": None}
    target: dict[str, str] = {}
    async with AsyncSession(engine, expire_on_commit=False) as session:
        a = await citizen(session, "Nguyễn Thị Lan", "025190000001", "lan.authz@example.vn")
        b = await citizen(session, "Trần Văn Bình", "025190000002", "binh.authz@example.vn")
        tokens["owner"] = long_token(a)
        tokens["citizen_b"] = long_token(b)
        staff = {
            "reception": ("motcua@phutho.gov.vn", [("RECEPTION_OFFICER", "H44.99")]),
            "specialist": ("chuyenvien@phutho.gov.vn", [("SPECIALIST", "H44.19")]),
            "tax": ("thue@phutho.gov.vn", [("SPECIALIST", "H44.96")]),
            "leader": ("lanhdao@phutho.gov.vn", [("LEADER", "H44.19")]),
            "focal": ("daumoi@phutho.gov.vn", [("FEEDBACK_FOCAL_POINT", "H44.99")]),
            "other_agency": (
                "congthuong@phutho.gov.vn",
                [(role, "H44.07") for role in ALL_ROLES_BUT_SYSTEM],
            ),
            "wrong_role": (
                "thongke@phutho.gov.vn",
                [("STATISTICS_VIEWER", code) for code in ("H44.99", "H44.19", "H44.96")],
            ),
        }
        for name, (email, roles) in staff.items():
            staff_id, _ = await make_staff(session, email, *((role, code, False) for role, code in roles))
            tokens[name] = long_token(staff_id)
            target[f"{name}_id"] = str(staff_id)
        await session.commit()
        target["assignment"] = str(
            await session.scalar(
                select(StaffAssignment.id).where(
                    StaffAssignment.account_id == uuid.UUID(target["specialist_id"])
                )
            )
        )
        target["agency_x"] = str(await session.scalar(select(Agency.id).where(Agency.code == "H44.99")))
        target["field"] = str(await session.scalar(select(Field.id).where(Field.code == "HOTICH")))
        procedure = await session.scalar(select(Procedure).where(Procedure.code == "9.999001"))
        assert procedure is not None
        components = {
            c.name: str(c.id)
            for c in await session.scalars(
                select(ProcedureComponent).where(
                    ProcedureComponent.version_id == procedure.published_version_id
                )
            )
        }
        files = []
        for name in ("to-khai-lan.pdf", "cccd-lan.pdf", "giay-to-lan.pdf"):
            row = await store_bytes(
                session, store, owner_id=a, filename=name, content_type="application/pdf", data=PDF, now=NOW
            )
            files.append(str(row.id))
        await session.commit()
    await engine.dispose()
    owner = tokens["owner"]
    target["component"] = components["Tờ khai theo mẫu"]
    target.update(citizen=str(a), file=files[2], form_file=files[0], vault_file=files[1])

    draft = (
        await data(
            base,
            owner,
            SAVE,
            {
                "input": {
                    "procedureCode": "9.999001",
                    "receivingAgencyCode": "H44.99",
                    "formData": {"hoTen": "Nguyễn Thị Lan"},
                    "components": [{"componentId": components["Tờ khai theo mẫu"], "fileIds": [files[0]]}],
                    "deliveryMethod": "ONLINE",
                }
            },
        )
    )["r"]
    assert draft["__typename"] == "DossierChanged", draft
    dossier_id = draft["dossier"]["id"]
    for token, mutation in ((owner, "dossierSubmit"), (tokens["reception"], "dossierReceive")):
        done = (await data(base, token, ACT % mutation, {"id": dossier_id}))["r"]
        assert done["__typename"] == "DossierChanged", done
    known = (
        await data(
            base, owner, "query($id: ID!) { dossier(id: $id) { code lookupSecret } }", {"id": dossier_id}
        )
    )["dossier"]
    target.update(dossier=dossier_id, dossier_code=known["code"], lookup_secret=known["lookupSecret"])

    paid = await data(
        base,
        owner,
        "mutation($id: ID!) { r: dossierPay(id: $id) { __typename ... on PaymentStarted { reference } } }",
        {"id": dossier_id},
    )
    assert paid["r"]["__typename"] == "PaymentStarted", paid
    target["payment_reference"] = paid["r"]["reference"]

    added = await data(
        base,
        owner,
        """mutation($f: ID!) { r: vaultDocumentAdd(fileId: $f, title: "Căn cước của Lan") {
          __typename ... on VaultDocumentSaved { document { id } } } }""",
        {"f": files[1]},
    )
    assert added["r"]["__typename"] == "VaultDocumentSaved", added
    target["vault_document"] = added["r"]["document"]["id"]
    granted = await data(
        base,
        owner,
        """mutation { r: vaultGrantCreate(agencyCode: "H44.19", purpose: "Cấp phép của Lan",
          expiresAt: "2030-01-01T00:00:00+00:00") { __typename ... on VaultGrantSaved { grant { id } } } }""",
    )
    assert granted["r"]["__typename"] == "VaultGrantSaved", granted
    target["grant"] = granted["r"]["grant"]["id"]

    asked = await data(
        base,
        owner,
        """mutation($i: InquiryInput!) { r: inquirySubmit(input: $i) {
          __typename ... on InquiryChanged { inquiry { id code } } } }""",
        {
            "i": {
                "kind": "QUESTION",
                "title": "Hỏi về cấp phép của Lan",
                "content": "Tôi là Nguyễn Thị Lan, hồ sơ cấp phép của tôi cần bổ sung giấy tờ gì?",
            }
        },
    )
    assert asked["r"]["__typename"] == "InquiryChanged", asked
    target.update(inquiry=asked["r"]["inquiry"]["id"], inquiry_code=asked["r"]["inquiry"]["code"])

    target["app"], tokens["app_unscoped"] = await app_token(base, ["catalog:read"], "Ứng dụng danh mục")
    _, tokens["app_scoped"] = await app_token(
        base, ["catalog:read", "dossier-status:read", "feedback:submit"], "Ứng dụng đủ phạm vi"
    )
    consumer = await data(
        base,
        ADMIN_TOKEN,
        'mutation { r: eventConsumerRegister(name: "he-thong-lan", url: "http://127.0.0.1:9/hook") { __typename } }',
    )
    assert consumer["r"]["__typename"] == "EventConsumerRegistered", consumer
    # Inactive, so that the outbox dispatcher leaves the deliveries alone while the matrix runs.
    await data(
        base,
        ADMIN_TOKEN,
        'mutation { r: eventConsumerSetActive(name: "he-thong-lan", active: false) { __typename } }',
    )
    target["consumer"] = "he-thong-lan"
    holiday = await data(
        base,
        ADMIN_TOKEN,
        'mutation { r: holidayOverrideSet(day: "2026-12-07", isWorkingDay: false, name: "Nghỉ bù") { __typename } }',
    )
    assert holiday["r"]["__typename"] == "CalendarChanged", holiday

    secrets = {
        "Nguyễn Thị Lan",
        "025190000001",
        "lan.authz@example.vn",
        str(a),
        dossier_id,
        known["code"],
        known["lookupSecret"],
        paid["r"]["reference"],
        target["vault_document"],
        "Căn cước của Lan",
        target["grant"],
        "Cấp phép của Lan",
        target["inquiry"],
        target["inquiry_code"],
        "Hỏi về cấp phép của Lan",
        *files,
        "to-khai-lan.pdf",
        "cccd-lan.pdf",
        "giay-to-lan.pdf",
    }
    await _notifications_delivered(site)
    return Scene(site, tokens, target, {s for s in secrets if s})


DELIVERY_WAIT_SECONDS = 120


async def _notifications_delivered(site: LiveSite) -> None:
    """The app processes deliver the scene's notifications in the background (caught in
    development): wait until none is left, or the first case would see the outbox change under it."""
    conn = await asyncpg.connect(site.dsn)
    try:
        for _ in range(DELIVERY_WAIT_SECONDS * 10):
            if not await conn.fetchval("SELECT count(*) FROM notification_outbox WHERE sent_at IS NULL"):
                return
            await asyncio.sleep(0.1)
        pending = await conn.fetch(
            "SELECT template, attempts, last_error FROM notification_outbox WHERE sent_at IS NULL"
        )
        raise AssertionError(f"notifications undelivered after {DELIVERY_WAIT_SECONDS} s: {pending}")
    finally:
        await conn.close()
