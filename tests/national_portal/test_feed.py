"""The national portal feed against a local server that speaks the portal's API: every event of a
dossier arrives signed, authorised and in order, mapped to the portal's fields; an expired token
is refreshed on 401 without losing the event; downtime and timeouts lose nothing and duplicate
nothing the portal would show (same event id); the daily reconciliation finds what the portal
lacks or holds wrongly and sends it again; webhooks filter actions and rotate their keys."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import date, timedelta

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FixedClock
from core.settings import Settings
from models.dossiers import ConsumerKind, EventConsumer
from services.national_portal.feed import (
    CONSUMER_NAME,
    PortalClient,
    PortalConfig,
    PortalTransport,
    ensure_portal_consumer,
    portal_config,
)
from services.national_portal.reconcile import reconcile
from services.outbox.delivery import deliver_once
from services.outbox.signing import verify_signature
from services.outbox.transport import Transport
from storage.s3 import ObjectStore
from tests.conftest import admin_gql
from tests.dossiers.outbox.support import (
    FULL_PATH,
    SECRET,
    Receiver,
    Story,
    T,
    add_consumer,
    later,
    position,
    seqs,
)
from tests.national_portal.portal import CLIENT_ID, CLIENT_SECRET, SIGNING_SECRET, Portal, Stall

# TrangThaiHoSo after each act of FULL_PATH.
STATUSES = [1, 5, 1, 4, 4, 5, 4, 4, 9, 10]


@pytest.fixture
def portal() -> Iterator[Portal]:
    with Portal() as p:
        yield p


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=1.0) as c:
        yield c


@pytest.fixture
def story(client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock) -> Story:
    return Story(client, session, store, clock)


@pytest.fixture
def feed_clock() -> FixedClock:
    return FixedClock(T)


@pytest.fixture
def config(portal: Portal, settings: Settings) -> PortalConfig:
    configured = Settings(
        **{
            **settings.model_dump(),
            "national_portal_url": portal.base + "/",
            "national_portal_token_url": portal.token_url,
            "national_portal_client_id": CLIENT_ID,
            "national_portal_client_secret": CLIENT_SECRET,
            "national_portal_signing_secret": SIGNING_SECRET,
        }
    )
    result = portal_config(configured)
    assert result is not None
    return result


@pytest.fixture
def portal_client(config: PortalConfig, feed_clock: FixedClock) -> PortalClient:
    return PortalClient(config, feed_clock)


@pytest.fixture
def transports(portal_client: PortalClient) -> dict[ConsumerKind, Transport]:
    return {ConsumerKind.NATIONAL_PORTAL: PortalTransport(portal_client)}


async def consumer(session: AsyncSession, config: PortalConfig) -> EventConsumer:
    await ensure_portal_consumer(session, config, now=T)
    await session.commit()
    row = await session.scalar(select(EventConsumer).where(EventConsumer.name == CONSUMER_NAME))
    assert row is not None
    return row


def event_ids(portal: Portal, dossier: str) -> list[int]:
    return [c.json["MaSuKien"] for c in portal.syncs(dossier) if c.answered == 200]


async def test_events_reach_the_portal_signed_authorised_in_order_and_mapped(
    story: Story,
    session: AsyncSession,
    http: httpx.AsyncClient,
    portal: Portal,
    config: PortalConfig,
    transports: dict[ConsumerKind, Transport],
) -> None:
    await story.walk()
    row = await consumer(session, config)
    assert row.kind is ConsumerKind.NATIONAL_PORTAL
    assert row.url == portal.base + "/hoso/dongbo"
    assert row.secret == ""  # the credentials stay in settings

    run = await deliver_once(session, http, now=T, batch=10_000, transports=transports)
    assert run.failed == 0

    events = await seqs(session, story.uuid)
    calls = portal.syncs(story.id)
    assert [c.json["MaSuKien"] for c in calls] == events  # each once, in order
    assert [c.json["HanhDong"] for c in calls] == FULL_PATH
    assert [c.json["TrangThaiHoSo"] for c in calls] == STATUSES
    assert portal.tokens_issued == 1  # cached across the whole round
    for c in calls:
        assert c.headers["authorization"] == "Bearer token-1"
        assert c.headers["x-dvc-event-id"] == str(c.json["MaSuKien"])
        assert verify_signature(
            SIGNING_SECRET, c.headers["x-dvc-timestamp"], c.body, c.headers["x-dvc-signature"]
        )
    last = calls[-1].json
    assert last["MaTTHC"] == "9.999001"
    assert last["MaHoSo"] is not None
    assert last["MaHoSo"].split("-")[1] == "261127"  # received on 27 November
    assert last["NgayTiepNhan"] == "20261127080000"  # local time, yyyyMMddHHmmss
    assert last["NgayHenTra"] is not None
    assert last["KetQuaXuLy"] == "CO_KET_QUA"
    assert last["ChuHoSo"]
    assert last["KenhThucHien"] == 2
    assert portal.held[story.id] == {"TrangThaiHoSo": 10, "MaSuKien": events[-1]}


async def test_a_refused_token_is_renewed_and_the_event_still_goes_first(
    story: Story,
    session: AsyncSession,
    http: httpx.AsyncClient,
    portal: Portal,
    config: PortalConfig,
    transports: dict[ConsumerKind, Transport],
    portal_client: PortalClient,
) -> None:
    await story.walk(until=4)
    await consumer(session, config)
    await deliver_once(session, http, now=T, batch=10_000, transports=transports)
    portal.revoke_tokens()  # the portal restarted, or the token was revoked before its expiry
    await story.walk()
    run = await deliver_once(session, http, now=later(1), batch=10_000, transports=transports)
    assert run.failed == 0
    assert portal.tokens_issued == 2
    assert portal_client.tokens_fetched == 2
    refused = [c for c in portal.syncs(story.id) if c.answered == 401]
    assert len(refused) == 1
    assert event_ids(portal, story.id) == await seqs(session, story.uuid)


async def test_downtime_and_timeouts_lose_nothing_and_duplicate_nothing_visible(
    story: Story,
    session: AsyncSession,
    http: httpx.AsyncClient,
    portal: Portal,
    config: PortalConfig,
    transports: dict[ConsumerKind, Transport],
) -> None:
    await story.walk()
    await consumer(session, config)
    events = await seqs(session, story.uuid)
    # First event accepted, then the portal is down twice, then it processes an event but the
    # answer comes too late (the sender gives up and will send the same event again).
    portal.plan(story.id, 200, 500, 503, Stall(2.0))
    await deliver_once(session, http, now=T, batch=10_000, transports=transports)
    assert event_ids(portal, story.id) == events[:1]
    await deliver_once(session, http, now=later(1), batch=10_000, transports=transports)  # not due yet
    assert len(portal.syncs(story.id)) == 2
    await deliver_once(session, http, now=later(3), batch=10_000, transports=transports)  # 503
    await deliver_once(session, http, now=later(10), batch=10_000, transports=transports)  # stall
    run = await deliver_once(session, http, now=later(30), batch=10_000, transports=transports)
    assert run.failed == 0
    ok = event_ids(portal, story.id)
    assert ok[0] == events[0]
    assert sorted(set(ok)) == events  # nothing lost
    assert ok.count(events[1]) == 2  # the timed-out one came again, with the same event id
    assert sorted(ok) == ok  # never out of order
    assert portal.held[story.id]["MaSuKien"] == events[-1]


async def test_an_unconfigured_portal_keeps_the_events_waiting(
    story: Story, session: AsyncSession, http: httpx.AsyncClient, config: PortalConfig
) -> None:
    await story.walk(until=1)
    row = await consumer(session, config)
    run = await deliver_once(session, http, now=T, batch=10_000)  # no transport for the portal
    assert run.failed >= 1
    held = await position(session, row.id, story.uuid)
    assert held is not None
    assert held.delivered_seq == 0
    assert held.last_error == "no transport configured for NATIONAL_PORTAL"


async def test_reconciliation_finds_what_the_portal_lacks_and_sends_it_again(
    story: Story,
    session: AsyncSession,
    http: httpx.AsyncClient,
    portal: Portal,
    config: PortalConfig,
    transports: dict[ConsumerKind, Transport],
    portal_client: PortalClient,
) -> None:
    await story.walk()
    await consumer(session, config)
    await deliver_once(session, http, now=T, batch=10_000, transports=transports)
    day = date(2026, 12, 9)  # approved and returned that day

    clean = await reconcile(session, http, portal_client, day=day, now=T)
    assert story.uuid not in {d.dossier_id for d in clean.differences}
    assert clean.checked >= 1

    portal.forget(story.id)  # the portal lost it
    report = await reconcile(session, http, portal_client, day=day, now=later(60))
    mine = [d for d in report.differences if d.dossier_id == story.uuid]
    assert [(d.reason, d.ours, d.theirs) for d in mine] == [("MISSING", 10, None)]
    assert report.requeued >= 1
    before = len(portal.syncs(story.id))
    await deliver_once(session, http, now=later(61), batch=10_000, transports=transports)
    again = portal.syncs(story.id)[before:]
    assert [c.json["MaSuKien"] for c in again] == await seqs(session, story.uuid)  # all, in order
    assert portal.held[story.id]["TrangThaiHoSo"] == 10

    portal.held[story.id]["TrangThaiHoSo"] = 4  # the portal holds a wrong status
    report = await reconcile(session, http, portal_client, day=day, now=later(120), requeue=False)
    assert [d.reason for d in report.differences if d.dossier_id == story.uuid] == ["STATUS"]
    assert report.requeued == 0

    other_day = await reconcile(session, http, portal_client, day=day + timedelta(days=30), now=later(121))
    assert story.uuid not in {d.dossier_id for d in other_day.differences}


async def test_a_webhook_receives_only_its_actions_and_both_keys_sign_during_a_rotation(
    story: Story,
    client: httpx.AsyncClient,
    session: AsyncSession,
    http: httpx.AsyncClient,
    receiver: Receiver,
) -> None:
    await story.walk()
    await add_consumer(session, "bao-cao", receiver.url)
    filtered = await admin_gql(
        client,
        'mutation { r: eventConsumerSetActions(name: "bao-cao", actions: ["RETURN", "RECEIVE"]) '
        "{ __typename ... on EventConsumerSaved { consumer { actions kind } } } }",
    )
    assert filtered["r"]["consumer"] == {"actions": ["RECEIVE", "RETURN"], "kind": "WEBHOOK"}
    rotated = await admin_gql(
        client,
        'mutation { r: eventConsumerRotateSecret(name: "bao-cao", graceHours: 48) { __typename '
        "... on EventConsumerSecretRotated { secret consumer { previousSecretUntil } } } }",
    )
    new_secret = rotated["r"]["secret"]
    assert new_secret != SECRET
    assert rotated["r"]["consumer"]["previousSecretUntil"] is not None
    await deliver_once(session, http, now=T, batch=10_000)
    got = receiver.of(story.id)
    assert [r.event["action"] for r in got] == ["RECEIVE", "RETURN"]
    for r in got:
        stamp = r.headers["x-dvc-timestamp"]
        assert verify_signature(new_secret, stamp, r.body, r.headers["x-dvc-signature"])
        assert verify_signature(SECRET, stamp, r.body, r.headers["x-dvc-signature-previous"])
    row = await session.scalar(select(EventConsumer.id).where(EventConsumer.name == "bao-cao"))
    assert row is not None
    held = await position(session, row, story.uuid)
    assert held is not None
    assert held.delivered_seq == (await seqs(session, story.uuid))[-1]  # skipped ones acknowledged

    bad = await admin_gql(
        client,
        'mutation { r: eventConsumerSetActions(name: "bao-cao", actions: ["nope"]) { __typename '
        "... on ValidationFailed { errors { field code } } } }",
    )
    assert bad["r"]["errors"] == [{"field": ["actions", "0"], "code": "BAD_FORMAT"}]
    missing = await admin_gql(
        client, 'mutation { r: eventConsumerRotateSecret(name: "khong-co") { __typename } }'
    )
    assert missing["r"]["__typename"] == "NotFound"
