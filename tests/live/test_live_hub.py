"""The live hub (web.live) across real processes: many subscribers of one dossier on one process
share ONE re-read per change (`dvc_live_reads`), all receive the same bytes, in order, equal to
what the old path (the executor) answers; another citizen receives nothing; a selection the
planner does not compile is served as before; a burst loses nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
from httpx_ws import AsyncWebSocketSession, aconnect_ws
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, create_async_engine

from models.dossiers import Dossier as DossierRow
from tests.accounts.helpers import add_citizen
from tests.dossiers.helpers import long_token
from tests.live.test_live_dossiers import World, act, new_submitted, post, world  # noqa: F401 — a fixture

FIELDS = "code status version currentStep submittedAt receivedAt dueAt appointmentAt"
HUB = f"subscription($id: ID!) {{ dossierStatusChanged(id: $id) {{ {FIELDS} }} }}"
# `feesDue` has no SQL declaration: the old path (the executor) serves this one.
OLD = f"subscription($id: ID!) {{ dossierStatusChanged(id: $id) {{ {FIELDS} feesDue {{ total }} }} }}"
CHANGE_READS = re.compile(r'^dvc_live_reads_total\{cause="change"\} (\S+)$', re.MULTILINE)


@contextlib.asynccontextmanager
async def subscribed(
    base: str, token: str, query: str, dossier_id: str
) -> AsyncIterator[AsyncWebSocketSession]:
    async with httpx.AsyncClient(timeout=20) as client:
        connect: Any = aconnect_ws
        ws: AsyncWebSocketSession
        async with connect(f"{base}/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
            assert json.loads(await ws.receive_text())["type"] == "connection_ack"
            payload = {"query": query, "variables": {"id": dossier_id}}
            await ws.send_json({"id": "1", "type": "subscribe", "payload": payload})
            yield ws


async def receive(ws: AsyncWebSocketSession) -> tuple[str, dict[str, Any]]:
    """The next message's text as it came, and its `next` payload's state."""
    text = await asyncio.wait_for(ws.receive_text(), timeout=15)
    message = json.loads(text)
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message
    state: dict[str, Any] = message["payload"]["data"]["dossierStatusChanged"]
    return text, state


async def change_reads(base: str) -> float:
    async with httpx.AsyncClient(base_url=base, timeout=20) as client:
        found = CHANGE_READS.search((await client.get("/metrics")).text)
    return float(found.group(1)) if found else 0.0


async def test_one_read_per_group_and_the_same_bytes_for_all(world: World) -> None:  # noqa: F811
    w = world
    writer, reader = w.site.bases
    dossier_id = await new_submitted(w, 5)
    async with contextlib.AsyncExitStack() as stack:
        citizens = [
            await stack.enter_async_context(subscribed(reader, w.tokens["citizen"], HUB, dossier_id))
            for _ in range(20)
        ]
        officer = await stack.enter_async_context(subscribed(reader, w.tokens["reception"], HUB, dossier_id))
        old = await stack.enter_async_context(subscribed(reader, w.tokens["citizen"], OLD, dossier_id))
        for ws in [*citizens, officer, old]:
            assert (await receive(ws))[1]["status"] == "SUBMITTED"
        before = await change_reads(reader)
        result = await act(writer, w.tokens["reception"], "dossierReceive", dossier_id)
        assert result["__typename"] == "DossierChanged", result
        texts = [await receive(ws) for ws in citizens]
        _officer_text, officer_state = await receive(officer)
        old_text, executed = await receive(old)
        after = await change_reads(reader)
    assert len({text for text, _ in texts}) == 1  # the same bytes for the whole group
    state = texts[0][1]
    assert state["version"] == result["dossier"]["version"]
    assert state["status"] == "IN_PROGRESS"
    assert state["code"] == result["dossier"]["code"]
    assert state["dueAt"] == result["dossier"]["dueAt"]
    assert officer_state == state  # another group (the officer's visibility), the same dossier
    assert {k: v for k, v in executed.items() if k != "feesDue"} == state  # as the executor answers
    assert list(state) == FIELDS.split()  # keys in selection order
    assert json.loads(texts[0][0]).keys() == json.loads(old_text).keys()
    assert json.loads(texts[0][0])["payload"].keys() == json.loads(old_text)["payload"].keys() == {"data"}
    assert after - before == 2  # one statement per group (the citizen's, the officer's)


async def another_citizen(w: World) -> str:
    engine = create_async_engine(w.site.database_url)
    async with AsyncSession(engine, expire_on_commit=False) as session:
        citizen = await add_citizen(session, "Trần Văn Nam", "025190000002", "nam@example.vn", "x-y-z-5678")
        await session.commit()
    await engine.dispose()
    return long_token(citizen.id)


async def test_another_citizen_gets_a_refusal_and_nothing_after(world: World) -> None:  # noqa: F811
    w = world
    writer, reader = w.site.bases
    dossier_id = await new_submitted(w, 6)
    stranger = await another_citizen(w)
    async with (
        subscribed(reader, stranger, HUB, dossier_id) as foreign,
        subscribed(reader, w.tokens["citizen"], HUB, dossier_id) as owner,
    ):
        refused = json.loads(await asyncio.wait_for(foreign.receive_text(), timeout=15))
        assert [e["extensions"]["code"] for e in _errors(refused)] == ["NOT_FOUND"], refused
        assert not (refused.get("payload") or {}).get("data") if refused["type"] == "next" else True
        assert (await receive(owner))[1]["status"] == "SUBMITTED"
        result = await act(writer, w.tokens["reception"], "dossierReceive", dossier_id)
        assert (await receive(owner))[1]["version"] == result["dossier"]["version"]
        with contextlib.suppress(TimeoutError):  # the operation ended: at most its `complete`
            while True:
                message = json.loads(await asyncio.wait_for(foreign.receive_text(), timeout=1.5))
                assert message == {"id": "1", "type": "complete"}, message


def _errors(message: dict[str, Any]) -> list[dict[str, Any]]:
    payload = message.get("payload")
    if isinstance(payload, list):  # graphql-transport-ws `error`
        return payload
    return list((payload or {}).get("errors") or [])


async def test_a_burst_of_changes_loses_nothing(world: World) -> None:  # noqa: F811
    w = world
    writer, reader = w.site.bases
    dossier_id = await new_submitted(w, 7)
    received = await act(writer, w.tokens["reception"], "dossierReceive", dossier_id)
    assert received["__typename"] == "DossierChanged", received
    async with contextlib.AsyncExitStack() as stack:
        watchers = [
            await stack.enter_async_context(subscribed(reader, w.tokens["citizen"], HUB, dossier_id))
            for _ in range(10)
        ]
        for ws in watchers:
            assert (await receive(ws))[1]["version"] == received["dossier"]["version"]
        before = await change_reads(reader)
        last = received
        for _ in range(3):  # six changes, each act sent as soon as the one before is answered
            last = await act(writer, w.tokens["specialist"], "dossierForward", dossier_id)
            assert last["__typename"] == "DossierChanged", last
            last = await act(writer, w.tokens["tax"], "dossierSendBack", dossier_id, 'comment: "Bổ sung"')
            assert last["__typename"] == "DossierChanged", last
        final = last["dossier"]["version"]
        seen: list[list[str]] = []
        for ws in watchers:
            texts: list[str] = []
            while True:
                text, state = await receive(ws)
                texts.append(text)
                if state["version"] == final:
                    break
            seen.append(texts)
        reads = await change_reads(reader) - before
    versions = [json.loads(t)["payload"]["data"]["dossierStatusChanged"]["version"] for t in seen[0]]
    assert versions == sorted(set(versions)), versions  # in order, never twice
    assert all(texts == seen[0] for texts in seen)  # every subscriber the same sequence of bytes
    assert reads == len(seen[0])  # one statement per delivery to the whole group


BY_CODE = (
    "subscription($code: String!, $secret: String, $idNumber: String) {"
    f" dossierStatusChanged(code: $code, secret: $secret, idNumber: $idNumber) {{ {FIELDS} }} }}"
)


@contextlib.asynccontextmanager
async def anonymous(base: str, variables: dict[str, Any]) -> AsyncIterator[AsyncWebSocketSession]:
    async with httpx.AsyncClient(timeout=20) as client:
        connect: Any = aconnect_ws
        ws: AsyncWebSocketSession
        async with connect(f"{base}/graphql", client, subprotocols=["graphql-transport-ws"]) as ws:
            await ws.send_json({"type": "connection_init", "payload": {}})
            assert json.loads(await ws.receive_text())["type"] == "connection_ack"
            await ws.send_json(
                {"id": "1", "type": "subscribe", "payload": {"query": BY_CODE, "variables": variables}}
            )
            yield ws


async def test_by_code_a_group_per_second_factor_and_a_wrong_one_refused(world: World) -> None:  # noqa: F811
    w = world
    writer, reader = w.site.bases
    dossier_id = await new_submitted(w, 8)
    received = await act(writer, w.tokens["reception"], "dossierReceive", dossier_id)
    code = received["dossier"]["code"]
    engine = create_async_engine(w.site.database_url)
    async with AsyncSession(engine) as session:
        row = (
            await session.execute(
                select(DossierRow.lookup_secret, DossierRow.applicant_id_number).where(
                    DossierRow.id == uuid.UUID(dossier_id)
                )
            )
        ).one()
    await engine.dispose()
    secret, id_number = row
    assert id_number
    async with contextlib.AsyncExitStack() as stack:
        by_secret = [
            await stack.enter_async_context(anonymous(reader, {"code": code.lower(), "secret": secret}))
            for _ in range(5)
        ]
        by_number = [
            await stack.enter_async_context(anonymous(reader, {"code": code, "idNumber": f" {id_number} "}))
            for _ in range(3)
        ]
        wrong = await stack.enter_async_context(
            anonymous(reader, {"code": code, "secret": secret[:-1] + "x"})
        )
        refused = json.loads(await asyncio.wait_for(wrong.receive_text(), timeout=15))
        assert [e["extensions"]["code"] for e in _errors(refused)] == ["NOT_FOUND"], refused
        for ws in [*by_secret, *by_number]:
            assert (await receive(ws))[1]["version"] == received["dossier"]["version"]
        before = await change_reads(reader)
        forwarded = await act(writer, w.tokens["specialist"], "dossierForward", dossier_id)
        assert forwarded["__typename"] == "DossierChanged", forwarded
        secret_texts = {(await receive(ws))[0] for ws in by_secret}
        number_texts = {(await receive(ws))[0] for ws in by_number}
        after = await change_reads(reader)
    assert len(secret_texts) == 1
    assert len(number_texts) == 1
    state = json.loads(secret_texts.pop())["payload"]["data"]["dossierStatusChanged"]
    assert state == json.loads(number_texts.pop())["payload"]["data"]["dossierStatusChanged"]
    assert state["version"] == forwarded["dossier"]["version"]
    assert state["code"] == code
    assert after - before == 2  # the secret's group, the ID number's group
