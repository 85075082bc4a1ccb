"""The dossier path across real processes: every act is sent to one app process while a
websocket subscriber on the other sees every committed change, in order; two officers acting at
once on one dossier → exactly one wins; concurrent receptions never share a code."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest_asyncio
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from models.catalog import Procedure, ProcedureComponent
from services.files import store_bytes
from storage.s3 import ObjectStore
from tests.accounts.helpers import add_citizen, make_staff
from tests.catalog.factories import CREATE, PUBLISH, procedure_input
from tests.conftest import ADMIN_TOKEN, NOW
from tests.dossiers.helpers import PDF, long_token
from tests.live.conftest import LiveSite
from web.live import READMIT_EVERY_SECONDS

STATUS = "subscription($id: ID!) { dossierStatusChanged(id: $id) { status version currentStep code } }"


async def post(base: str, token: str, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        response = await client.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {token}"},
        )
    body: dict[str, Any] = response.json()
    assert "errors" not in body, body
    data: dict[str, Any] = body["data"]
    return data


async def act(
    base: str, token: str, mutation: str, dossier_id: str, args: str = "", **variables: Any
) -> dict[str, Any]:
    types = {
        "v": "Int",
        "items": "[String!]!",
        "components": "[ComponentFilesInput!]!",
        "files": "[ID!]!",
        "when": "DateTime!",
        "reason": "String!",
        "method": "DeliveryMethod!",
    }
    declared = "".join(f", ${k}: {types[k]}" for k in variables)
    query = (
        f"mutation($id: ID!{declared}) {{ r: {mutation}(id: $id{', ' + args if args else ''}) {{ __typename "
        "... on DossierChanged { dossier { version status code dueAt } } ... on UserError { code message } } }"
    )
    result: dict[str, Any] = (await post(base, token, query, {"id": dossier_id, **variables}))["r"]
    return result


@contextlib.asynccontextmanager
async def subscription(base: str, token: str, dossier_id: str) -> AsyncIterator[AsyncWebSocketSession]:
    async with httpx.AsyncClient(timeout=20) as client:
        connect: Any = aconnect_ws
        ws: AsyncWebSocketSession
        async with connect(f"{base}/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
            assert json.loads(await ws.receive_text())["type"] == "connection_ack"
            await ws.send_json(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": STATUS, "variables": {"id": dossier_id}},
                }
            )
            yield ws


async def next_state(ws: AsyncWebSocketSession) -> dict[str, Any]:
    message = json.loads(await asyncio.wait_for(ws.receive_text(), timeout=15))
    assert message["type"] == "next", message
    state: dict[str, Any] = message["payload"]["data"]["dossierStatusChanged"]
    return state


class World:
    def __init__(
        self, site: LiveSite, tokens: dict[str, str], components: dict[str, str], files: list[str]
    ) -> None:
        self.site, self.tokens, self.components, self.files = site, tokens, components, files


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def world(live_site: LiveSite, store: ObjectStore) -> World:
    """The factory procedure published on the live site, a verified citizen, staff, files."""
    writer = live_site.bases[0]
    assert (await post(writer, ADMIN_TOKEN, CREATE, {"input": procedure_input()}))["procedureCreate"][
        "__typename"
    ] == "ProcedureSaved"
    await post(
        writer, ADMIN_TOKEN, PUBLISH, {"code": "9.999001", "number": "1/QĐ-UBND", "date": "2026-11-01"}
    )
    engine = create_async_engine(live_site.database_url)
    tokens: dict[str, str] = {}
    async with AsyncSession(engine, expire_on_commit=False) as session:
        citizen = await add_citizen(session, "Nguyễn Thị Lan", "025190000001", "lan@example.vn")
        await session.commit()
        tokens["citizen"] = long_token(citizen.id)
        for name, email, role, agency in (
            ("reception", "motcua@phutho.gov.vn", "RECEPTION_OFFICER", "H44.99"),
            ("reception2", "motcua2@phutho.gov.vn", "RECEPTION_OFFICER", "H44.99"),
            ("specialist", "chuyenvien@phutho.gov.vn", "SPECIALIST", "H44.19"),
            ("tax", "thue@phutho.gov.vn", "SPECIALIST", "H44.96"),
            ("leader", "lanhdao@phutho.gov.vn", "LEADER", "H44.19"),
        ):
            staff_id, _ = await make_staff(session, email, (role, agency, False))
            tokens[name] = long_token(staff_id)
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
        for i in range(16):
            owner = citizen.id if i < 15 else None
            row = await store_bytes(
                session,
                store,
                owner_id=owner,
                filename=f"f{i}.pdf",
                content_type="application/pdf",
                data=PDF,
                now=NOW,
            )
            files.append(str(row.id))
        await session.commit()
    await engine.dispose()
    return World(live_site, tokens, components, files)


async def new_submitted(w: World, file_index: int) -> str:
    save = """mutation($input: DossierDraftInput!) { dossierSaveDraft(input: $input) {
        ... on DossierChanged { dossier { id } } } }"""
    draft = await post(
        w.site.bases[0],
        w.tokens["citizen"],
        save,
        {
            "input": {
                "procedureCode": "9.999001",
                "receivingAgencyCode": "H44.99",
                "formData": {"hoTen": "Nguyễn Thị Lan"},
                "components": [
                    {"componentId": w.components["Tờ khai theo mẫu"], "fileIds": [w.files[file_index]]}
                ],
            }
        },
    )
    dossier_id: str = draft["dossierSaveDraft"]["dossier"]["id"]
    assert (await act(w.site.bases[0], w.tokens["citizen"], "dossierSubmit", dossier_id))[
        "__typename"
    ] == "DossierChanged"
    return dossier_id


async def test_a_subscriber_on_another_process_sees_every_change(world: World) -> None:
    w = world
    writer, reader = w.site.bases
    save = """mutation($input: DossierDraftInput!) { dossierSaveDraft(input: $input) {
        ... on DossierChanged { dossier { id version } } } }"""
    draft = await post(
        writer,
        w.tokens["citizen"],
        save,
        {
            "input": {
                "procedureCode": "9.999001",
                "receivingAgencyCode": "H44.99",
                "formData": {"hoTen": "Nguyễn Thị Lan"},
                "components": [{"componentId": w.components["Tờ khai theo mẫu"], "fileIds": [w.files[0]]}],
            }
        },
    )
    dossier_id = draft["dossierSaveDraft"]["dossier"]["id"]
    seen: list[tuple[str, int]] = []
    async with subscription(reader, w.tokens["citizen"], dossier_id) as ws:
        first = await next_state(ws)
        seen.append((first["status"], first["version"]))
        steps: list[tuple[str, str, str, dict[str, Any]]] = [
            ("citizen", "dossierSubmit", "", {}),
            ("reception", "dossierRequestCompletion", "items: $items", {"items": ["Bổ sung bản sao"]}),
            (
                "citizen",
                "dossierResubmit",
                "components: $components",
                {
                    "components": [
                        {"componentId": w.components["Bản sao giấy tờ tùy thân"], "fileIds": [w.files[1]]}
                    ]
                },
            ),
            ("reception", "dossierReceive", "", {}),
            ("specialist", "dossierForward", "", {}),
            ("tax", "dossierRequestSupplement", "items: $items", {"items": ["Tờ khai thuế"]}),
            (
                "citizen",
                "dossierSupplement",
                "components: $components",
                {"components": [{"componentId": w.components["Tờ khai theo mẫu"], "fileIds": [w.files[2]]}]},
            ),
            ("tax", "dossierForward", "", {}),
            (
                "leader",
                "dossierApologize",
                "newAppointment: $when, reason: $reason",
                {"when": (datetime.now(UTC) + timedelta(days=30)).isoformat(), "reason": "Chờ ý kiến"},
            ),
            ("leader", "dossierApprove", "resultFileIds: $files", {"files": [w.files[15]]}),
            ("reception", "dossierReturn", "method: $method", {"method": "ONLINE"}),
        ]
        for who, mutation, args, variables in steps:
            result = await act(writer, w.tokens[who], mutation, dossier_id, args, **variables)
            assert result["__typename"] == "DossierChanged", (mutation, result)
            state = await next_state(ws)
            seen.append((state["status"], state["version"]))
            assert state["version"] == result["dossier"]["version"]
    statuses = [s for s, _ in seen]
    assert statuses == [
        "DRAFT",
        "SUBMITTED",
        "AWAITING_COMPLETION",
        "SUBMITTED",
        "IN_PROGRESS",
        "IN_PROGRESS",
        "SUPPLEMENT_REQUESTED",
        "IN_PROGRESS",
        "IN_PROGRESS",
        "IN_PROGRESS",
        "RESULT_READY",
        "CLOSED",
    ]
    versions = [v for _, v in seen]
    assert versions == list(range(versions[0], versions[0] + len(versions)))  # nothing missed


async def test_idle_subscribers_hold_no_database_connection(world: World) -> None:
    """More subscribers than the pool has connections (20 + 20 overflow by default), all idle on
    one process: that process still answers at once, and each of them sees the next change."""
    w = world
    reader = w.site.bases[1]
    dossier_id = await new_submitted(w, 3)
    async with contextlib.AsyncExitStack() as stack:
        watchers = [
            await stack.enter_async_context(subscription(reader, w.tokens["citizen"], dossier_id))
            for _ in range(45)
        ]
        for ws in watchers:
            assert (await next_state(ws))["status"] == "SUBMITTED"
        async with asyncio.timeout(10):  # the pool waits 30 s before giving up
            result = await act(reader, w.tokens["reception"], "dossierReceive", dossier_id)
        assert result["__typename"] == "DossierChanged", result
        for ws in watchers:
            assert (await next_state(ws))["version"] == result["dossier"]["version"]


async def test_two_officers_at_once_exactly_one_wins(world: World) -> None:
    w = world
    dossier_id = await new_submitted(w, 3)
    version_query = "query($id: ID!) { dossier(id: $id) { version } }"
    version = (await post(w.site.bases[0], w.tokens["reception"], version_query, {"id": dossier_id}))[
        "dossier"
    ]["version"]
    results = await asyncio.gather(
        act(
            w.site.bases[0],
            w.tokens["reception"],
            "dossierReceive",
            dossier_id,
            "expectedVersion: $v",
            v=version,
        ),
        act(
            w.site.bases[1],
            w.tokens["reception2"],
            "dossierReceive",
            dossier_id,
            "expectedVersion: $v",
            v=version,
        ),
    )
    kinds = sorted(r["__typename"] for r in results)
    assert kinds == ["Conflict", "DossierChanged"], results
    loser = next(r for r in results if r["__typename"] == "Conflict")
    assert loser["code"] == "CHANGED_BY_SOMEONE_ELSE"


async def test_concurrent_receptions_never_share_a_code(world: World) -> None:
    w = world
    ids = [await new_submitted(w, 4 + i) for i in range(10)]
    results = await asyncio.gather(
        *(
            act(
                w.site.bases[i % 2],
                w.tokens["reception" if i % 2 else "reception2"],
                "dossierReceive",
                dossier_id,
            )
            for i, dossier_id in enumerate(ids)
        )
    )
    codes = [r["dossier"]["code"] for r in results]
    assert len(set(codes)) == 10
    prefixes = {c.rsplit("-", 1)[0] for c in codes}
    assert len(prefixes) == 1
    numbers = sorted(int(c.rsplit("-", 1)[1]) for c in codes)
    assert numbers == list(range(numbers[0], numbers[0] + 10))  # a gapless daily sequence


async def test_a_revoked_session_stops_receiving_changes(world: World) -> None:
    """A websocket authenticates once, at `connection_init`; what it may see must still end when the
    account is signed out everywhere (a stolen session), locked or revoked: before the next event
    the subscription asks again, answers one UNAUTHENTICATED error instead of the change, and ends."""
    w = world
    writer, reader = w.site.bases
    engine = create_async_engine(w.site.database_url)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        officer_id, _ = await make_staff(
            session, "truc.motcua@phutho.gov.vn", ("RECEPTION_OFFICER", "H44.99", False)
        )
        await session.commit()
    await engine.dispose()
    officer = long_token(officer_id)
    dossier_id = await new_submitted(w, 4)
    async with subscription(reader, officer, dossier_id) as ws:
        assert (await next_state(ws))["status"] == "SUBMITTED"  # admitted while the session holds
        signed_out = await post(writer, officer, "mutation { r: signOutEverywhere { __typename } }")
        assert signed_out["r"]["__typename"] == "Done"
        await asyncio.sleep(READMIT_EVERY_SECONDS + 0.5)  # past the last answer's validity
        received = await act(writer, w.tokens["reception"], "dossierReceive", dossier_id)
        assert received["__typename"] == "DossierChanged", received
        message = json.loads(await asyncio.wait_for(ws.receive_text(), timeout=15))
        assert message["type"] == "next", message
        assert message["payload"].get("data") is None, message  # nothing of the change
        assert [e["extensions"]["code"] for e in message["payload"]["errors"]] == ["UNAUTHENTICATED"]
        ended = json.loads(await asyncio.wait_for(ws.receive_text(), timeout=15))
        assert ended == {"id": "1", "type": "complete"}
