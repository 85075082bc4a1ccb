"""Administering the receivers of dossier events over GraphQL: the list (never a secret), pausing
(the events wait, resuming delivers them in order), removal (its positions go, the events stay in
the trail, a retried removal is applied once), typed errors, and nobody but a system
administrator (the other callers are in tests/test_permission_matrix.py and
tests/test_authorization_matrix.py)."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.dossiers import ConsumerKind, DossierEvent, EventConsumer, EventDelivery, SyncStatus
from tests.conftest import ADMIN_TOKEN, NOW, admin_gql, gql
from tests.dossiers.helpers import scene
from tests.dossiers.outbox.support import (
    Position,
    Receiver,
    Story,
    T,
    add_consumer,
    deliver,
    ids,
    position,
    seqs,
    sync_status,
)

LIST = """{ eventConsumers { name url kind active state actions previousSecretUntil createdAt
    backlog { pendingEvents pendingDossiers oldestPendingAt retryingDossiers } } }"""
REGISTER = """mutation($n: String!, $u: String!) { r: eventConsumerRegister(name: $n, url: $u) {
    __typename ... on EventConsumerRegistered { secret consumer { state backlog { pendingEvents } } } } }"""
PAUSE = """mutation($n: String!, $a: Boolean!) { r: eventConsumerSetActive(name: $n, active: $a) {
    __typename ... on EventConsumerSaved { consumer { name active state } } } }"""
REMOVE = """mutation($n: String!, $k: String) { r: eventConsumerRemove(name: $n, idempotencyKey: $k) {
    __typename
    ... on EventConsumerRemoved { name undeliveredEvents syncedDossiers replayed }
    ... on ValidationFailed { errors { field code } }
    ... on NotFound { code } } }"""


def _named(rows: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (row,) = [r for r in rows if r["name"] == name]
    return row


async def test_the_list_shows_each_consumer_without_its_secret(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    secrets = []
    for name in ("b-hook", "a-hook"):
        made = await admin_gql(client, REGISTER, {"n": name, "u": f"https://{name}.example/dvc"})
        secrets.append(made["r"]["secret"])
        # Its queue, read in the same request: every event of the database is still to send.
        assert made["r"]["consumer"]["state"] == "ACTIVE"
        assert made["r"]["consumer"]["backlog"]["pendingEvents"] == await session.scalar(
            select(func.count()).select_from(DossierEvent)
        )
    filtered = """mutation { eventConsumerSetActions(name: "a-hook", actions: ["RETURN", "RECEIVE"]) {
        __typename } }"""
    assert (await admin_gql(client, filtered))["eventConsumerSetActions"][
        "__typename"
    ] == "EventConsumerSaved"
    await admin_gql(client, PAUSE, {"n": "b-hook", "a": False})

    response = await client.post(
        "/graphql", json={"query": LIST}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    for secret in secrets:
        assert secret not in response.text
    rows = response.json()["data"]["eventConsumers"]
    names = [r["name"] for r in rows]
    assert names == sorted(names)
    # A new consumer has every event of the database still to receive.
    events, dossiers = (
        await session.execute(select(func.count(), func.count(func.distinct(DossierEvent.dossier_id))))
    ).one()
    a = _named(rows, "a-hook")
    assert a | {"createdAt": None, "backlog": None} == {
        "name": "a-hook",
        "url": "https://a-hook.example/dvc",
        "kind": "WEBHOOK",
        "active": True,
        "state": "ACTIVE",
        "actions": ["RECEIVE", "RETURN"],
        "previousSecretUntil": None,
        "createdAt": None,
        "backlog": None,
    }
    queue = a["backlog"]
    assert (queue["pendingEvents"], queue["pendingDossiers"], queue["retryingDossiers"]) == (
        events,
        dossiers,
        0,
    )
    assert (_named(rows, "b-hook")["active"], _named(rows, "b-hook")["state"]) == (False, "PAUSED")

    # The type has no field that could ever show a secret.
    fields = await gql(client, '{ __type(name: "EventConsumer") { fields { name } } }')
    field_names = {f["name"] for f in fields["data"]["__type"]["fields"]}
    assert "previousSecretUntil" in field_names
    assert not {"secret", "previousSecret"} & field_names


def _admin() -> dict[str, str]:
    from tests.conftest import ADMIN_TOKEN

    return {"Authorization": f"Bearer {ADMIN_TOKEN}"}


async def _all_events(client: httpx.AsyncClient) -> tuple[int, int]:
    """Events and dossiers in the database, seen through the backlog of a fresh consumer."""
    rows = (await admin_gql(client, "{ outboxBacklog { name pendingEvents pendingDossiers } }"))[
        "outboxBacklog"
    ]
    fresh = _named(rows, "a-hook")
    return fresh["pendingEvents"], fresh["pendingDossiers"]


async def test_a_citizen_is_refused_the_list_and_the_removal(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await admin_gql(client, REGISTER, {"n": "giu-lai", "u": "https://giu-lai.example/dvc"})
    s = await scene(client, session)
    for document, variables in ((LIST, None), (REMOVE, {"n": "giu-lai", "k": None})):
        body = await gql(client, document, variables, token=s.citizen, expect_errors=True)
        assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"], body
    assert await session.scalar(select(EventConsumer.id).where(EventConsumer.name == "giu-lai"))


async def test_a_paused_consumer_keeps_its_events_and_gets_them_in_order_on_resuming(
    story: Story,
    session: AsyncSession,
    http: httpx.AsyncClient,
    receiver: Receiver,
    client: httpx.AsyncClient,
) -> None:
    await story.walk(until=2)
    consumer = await add_consumer(session, "tam-dung", receiver.url, kind=ConsumerKind.NATIONAL_PORTAL)
    await deliver(session, http, T)
    first = await seqs(session, story.uuid)
    assert ids(receiver.of(story.id)) == first

    paused = await admin_gql(client, PAUSE, {"n": "tam-dung", "a": False})
    assert paused["r"]["consumer"] == {"name": "tam-dung", "active": False, "state": "PAUSED"}
    await story.walk(until=6)
    every = await seqs(session, story.uuid)
    await deliver(session, http, T)
    assert ids(receiver.of(story.id)) == first  # nothing sent while paused
    assert await position(session, consumer, story.uuid) == Position(first[-1], 0, None, None)

    resumed = await admin_gql(client, PAUSE, {"n": "tam-dung", "a": True})
    assert resumed["r"]["consumer"]["state"] == "ACTIVE"
    assert await sync_status(session, story.uuid) is SyncStatus.PENDING  # it waits again
    await deliver(session, http, T)
    assert ids(receiver.of(story.id)) == every  # what waited, once each, in order
    assert await sync_status(session, story.uuid) is SyncStatus.SYNCED


async def test_resuming_creates_the_positions_of_dossiers_it_never_had(
    story: Story, session: AsyncSession, client: httpx.AsyncClient
) -> None:
    consumer = await add_consumer(session, "moi-tam-dung", "https://x.example/dvc", active=False)
    await story.walk(until=2)
    assert await position(session, consumer, story.uuid) is None
    await admin_gql(client, PAUSE, {"n": "moi-tam-dung", "a": True})
    # At once: the dispatcher's watermark would otherwise find it only at its next full pass.
    assert await position(session, consumer, story.uuid) == Position(0, 0, None, None)


async def test_removal_drops_the_positions_keeps_the_trail_and_is_applied_once(
    story: Story,
    session: AsyncSession,
    http: httpx.AsyncClient,
    receiver: Receiver,
    client: httpx.AsyncClient,
) -> None:
    await story.walk(until=3)
    events = await seqs(session, story.uuid)
    consumer = await add_consumer(session, "bo-di", receiver.url)
    receiver.plan(story.id, 200, 503)  # the second event fails: the dossier waits for it
    await deliver(session, http, T)
    assert await sync_status(session, story.uuid) is SyncStatus.PENDING
    (waiting,) = [
        b
        for b in (await admin_gql(client, "{ outboxBacklog { name pendingEvents } }"))["outboxBacklog"]
        if b["name"] == "bo-di"
    ]

    removed = (await admin_gql(client, REMOVE, {"n": "bo-di", "k": "xoa-bo-di-0001"}))["r"]
    assert removed == {
        "__typename": "EventConsumerRemoved",
        "name": "bo-di",
        "undeliveredEvents": waiting["pendingEvents"],
        "syncedDossiers": removed["syncedDossiers"],
        "replayed": False,
    }
    assert waiting["pendingEvents"] >= len(events) - 1
    # A webhook never held SYNCED back: that is the national portal's delivery alone (Decision 766).
    assert removed["syncedDossiers"] == 0
    assert await sync_status(session, story.uuid) is SyncStatus.PENDING
    assert await session.scalar(select(func.count()).where(EventDelivery.consumer_id == consumer)) == 0
    assert await seqs(session, story.uuid) == events  # the trail stays whole
    assert "bo-di" not in [r["name"] for r in (await admin_gql(client, LIST))["eventConsumers"]]

    again = (await admin_gql(client, REMOVE, {"n": "bo-di", "k": "xoa-bo-di-0001"}))["r"]
    assert again == {**removed, "replayed": True}
    # Registered again under the name, it is a new consumer; the earlier key does not remove it.
    await admin_gql(client, REGISTER, {"n": "bo-di", "u": receiver.url})
    assert (await admin_gql(client, REMOVE, {"n": "bo-di", "k": "xoa-bo-di-0001"}))["r"]["replayed"] is True
    assert await session.scalar(select(EventConsumer.id).where(EventConsumer.name == "bo-di"))

    gone = (await admin_gql(client, REMOVE, {"n": "khong-co", "k": None}))["r"]
    assert gone == {"__typename": "NotFound", "code": "NOT_FOUND"}


async def test_removal_refuses_the_national_portal_and_a_bad_key(
    session: AsyncSession, client: httpx.AsyncClient
) -> None:
    session.add(
        EventConsumer(
            name="cong-quoc-gia",
            kind=ConsumerKind.NATIONAL_PORTAL,
            url="https://x",
            secret="",
            active=True,
            created_at=NOW,
        )
    )
    await session.commit()
    portal = (await admin_gql(client, REMOVE, {"n": "cong-quoc-gia", "k": None}))["r"]
    assert portal == {
        "__typename": "ValidationFailed",
        "errors": [{"field": ["name"], "code": "NOT_WEBHOOK"}],
    }
    await admin_gql(client, REGISTER, {"n": "ngan-khoa", "u": "https://x.example"})
    short = (await admin_gql(client, REMOVE, {"n": "ngan-khoa", "k": "ngan"}))["r"]
    assert short == {
        "__typename": "ValidationFailed",
        "errors": [{"field": ["idempotencyKey"], "code": "BAD_FORMAT"}],
    }
    assert await session.scalar(select(EventConsumer.id).where(EventConsumer.name == "ngan-khoa"))
