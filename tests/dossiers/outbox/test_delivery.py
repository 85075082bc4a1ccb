"""The outbox delivered to real HTTP receivers: every event of a dossier, in order, signed, without
personal data; retries with growing backoff and nothing sent out of order meanwhile; duplicates
after a timeout (at least once); consumers independent of each other; inactive ones skipped; the
backlog; a replay; the dispatcher loop.

Assertions look at this test's dossier only: the database may hold other dossiers' events."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FixedClock
from devservers import find_free_port
from models.dossiers import ConsumerKind, Dossier, DossierEvent, EventConsumer, SyncStatus
from models.statistics import DossierFact
from services.errors import NotFound
from services.outbox.delivery import deliver_once
from services.outbox.dispatcher import run_dispatcher
from services.outbox.operations import backlog, replay
from services.outbox.signing import verify_signature
from tests.dossiers.outbox.support import (
    BODY_KEYS,
    FULL_PATH,
    PORTAL_AS_WEBHOOK,
    SECRET,
    Position,
    Received,
    Receiver,
    Stall,
    Story,
    T,
    add_consumer,
    deliver,
    ids,
    later,
    position,
    seqs,
    sync_status,
)


async def test_every_event_arrives_in_order_signed_and_without_personal_data(
    story: Story, session: AsyncSession, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await story.walk()
    consumer = await add_consumer(session, "cong-dvc-quoc-gia", receiver.url)
    events = await seqs(session, story.uuid)
    assert len(events) == len(FULL_PATH)
    assert await sync_status(session, story.uuid) is SyncStatus.PENDING

    run = await deliver_once(session, http, now=T, batch=10_000)
    assert run.failed == 0
    assert run.sent >= len(events)

    got = receiver.of(story.id)
    assert ids(got) == events  # each once, in seq order
    assert [r.event["action"] for r in got] == FULL_PATH
    dossier = (await session.execute(select(Dossier).where(Dossier.id == story.uuid))).scalar_one()
    previous_status, previous_hash = "DRAFT", "0" * 64
    for r in got:
        event = r.event
        assert set(event) == BODY_KEYS
        assert r.headers["x-dvc-event-id"] == str(event["id"])
        assert r.headers["x-dvc-timestamp"] == str(int(T.timestamp()))
        assert r.headers["content-type"] == "application/json"
        # The signature, checked the way a consumer would: HMAC-SHA256 of "<timestamp>.<body>".
        expected = hmac.new(
            SECRET.encode(), f"{r.headers['x-dvc-timestamp']}.".encode() + r.body, hashlib.sha256
        ).hexdigest()
        assert r.headers["x-dvc-signature"] == f"sha256={expected}"
        assert verify_signature(SECRET, r.headers["x-dvc-timestamp"], r.body, r.headers["x-dvc-signature"])
        assert not verify_signature(
            "another secret", r.headers["x-dvc-timestamp"], r.body, r.headers["x-dvc-signature"]
        )
        assert event["dossierId"] == story.id
        assert dossier.code is not None
        assert event["dossierCode"] == dossier.code  # the current code, also on events before reception
        assert event["fromStatus"] == previous_status
        assert event["prevHash"] == previous_hash
        previous_status, previous_hash = event["toStatus"], event["hash"]
        # No personal data: not the applicant's name, ID number, phone, e-mail or address.
        text = r.body.decode()
        for personal in (
            dossier.applicant_name,
            dossier.applicant_id_number,
            dossier.applicant_phone,
            dossier.applicant_email,
            dossier.applicant_address,
            "Nguyễn Thị Lan",
        ):
            assert personal
            assert personal not in text
    assert previous_status == "CLOSED"
    assert previous_hash == dossier.trail_head

    assert await position(session, consumer, story.uuid) == Position(events[-1], 0, None, None)
    # A webhook's 200 is no synchronisation with the national portal (see the 766 test below).
    assert await sync_status(session, story.uuid) is SyncStatus.PENDING

    # Acknowledged events are not sent again.
    await deliver(session, http, later(3600))
    assert ids(receiver.of(story.id)) == events


async def test_a_failing_receiver_blocks_only_what_follows_and_backs_off(
    story: Story, session: AsyncSession, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await story.walk(until=4)  # … RECEIVE
    consumer = await add_consumer(session, "portal", receiver.url, kind=ConsumerKind.NATIONAL_PORTAL)
    await deliver(session, http, T)
    first = await seqs(session, story.uuid)
    assert ids(receiver.of(story.id)) == first

    await story.walk()  # six more events while the receiver is about to go down
    events = await seqs(session, story.uuid)
    assert len(events) == 10
    head = events[4]
    receiver.plan(story.id, 503, 503, 503)

    def sent() -> list[int]:
        return ids(receiver.of(story.id))[len(first) :]

    # 1st failure: only the next event was tried; it waits 2 s.
    await deliver(session, http, T)
    assert sent() == [head]
    assert await position(session, consumer, story.uuid) == Position(events[3], 1, later(2), "HTTP 503")
    assert await sync_status(session, story.uuid) is SyncStatus.PENDING
    # Not due yet: nothing is sent.
    await deliver(session, http, later(1.999))
    assert sent() == [head]
    # 2nd failure at +2 s: waits 4 s more.
    await deliver(session, http, later(2))
    assert sent() == [head, head]
    assert await position(session, consumer, story.uuid) == Position(events[3], 2, later(6), "HTTP 503")
    await deliver(session, http, later(5))
    assert sent() == [head, head]
    # 3rd failure at +6 s: waits 8 s more.
    await deliver(session, http, later(6))
    assert sent() == [head, head, head]
    after_three = await position(session, consumer, story.uuid)
    assert after_three == Position(events[3], 3, later(14), "HTTP 503")
    await deliver(session, http, later(13))
    assert sent() == [head, head, head]

    # Recovered: the rest, in order, nothing lost; the retry state is cleared.
    await deliver(session, http, later(14))
    assert sent() == [head, head, head, *events[4:]]
    accepted = [r.id for r in receiver.of(story.id) if r.answered == 200]
    assert accepted == events
    assert await position(session, consumer, story.uuid) == Position(events[-1], 0, None, None)
    assert await sync_status(session, story.uuid) is SyncStatus.SYNCED


async def test_a_failure_after_progress_keeps_the_progress(
    story: Story, session: AsyncSession, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await story.walk(until=4)
    consumer = await add_consumer(session, "webhook", receiver.url)
    events = await seqs(session, story.uuid)
    receiver.plan(story.id, 200, 200, 500)
    await deliver(session, http, T)
    assert ids(receiver.of(story.id)) == events[:3]
    assert await position(session, consumer, story.uuid) == Position(events[1], 1, later(2), "HTTP 500")
    await deliver(session, http, later(2))
    assert ids(receiver.of(story.id)) == [*events[:3], *events[2:]]
    assert await position(session, consumer, story.uuid) == Position(events[-1], 0, None, None)


async def test_a_timeout_the_receiver_processed_means_a_duplicate_never_a_gap(
    story: Story, session: AsyncSession, receiver: Receiver
) -> None:
    await story.walk()
    consumer = await add_consumer(session, "cham", receiver.url)
    events = await seqs(session, story.uuid)
    receiver.plan(story.id, 200, 200, Stall(1.5))
    async with httpx.AsyncClient(timeout=0.4) as impatient:
        await deliver(session, impatient, T)
        got = ids(receiver.of(story.id))
        assert got == events[:3]  # the third was processed, but too late for the sender
        state = await position(session, consumer, story.uuid)
        assert state is not None
        assert (state.delivered_seq, state.attempts, state.next_attempt_at) == (events[1], 1, later(2))
        assert state.last_error is not None
        assert "Timeout" in state.last_error
        await deliver(session, impatient, later(2))

    got = ids(receiver.of(story.id))
    assert got == [*events[:3], *events[2:]]  # the third twice
    assert got == sorted(got)  # nondecreasing
    assert set(got) == set(events)  # every event at least once
    # The receiver deduplicates by X-DVC-Event-Id.
    first_seen: dict[str, Received] = {}
    for r in receiver.of(story.id):
        first_seen.setdefault(r.headers["x-dvc-event-id"], r)
    assert [int(k) for k in first_seen] == events
    assert await position(session, consumer, story.uuid) == Position(events[-1], 0, None, None)


async def test_consumers_progress_independently(
    story: Story, session: AsyncSession, http: httpx.AsyncClient, receiver: Receiver, receiver2: Receiver
) -> None:
    await story.walk(until=4)
    events = await seqs(session, story.uuid)
    # "a-…" is down (nothing listens on its port) and comes first: it must not hold "b-…" back.
    down = await add_consumer(session, "a-he-thong-tinh", f"http://127.0.0.1:{find_free_port()}/hook")
    up = await add_consumer(session, "b-cong-quoc-gia", receiver.url, kind=ConsumerKind.NATIONAL_PORTAL)

    run = await deliver_once(session, http, now=T, batch=10_000, transports=PORTAL_AS_WEBHOOK)
    assert run.failed >= 1
    assert ids(receiver.of(story.id)) == events
    assert await position(session, up, story.uuid) == Position(events[-1], 0, None, None)
    stuck = await position(session, down, story.uuid)
    assert stuck is not None
    assert (stuck.delivered_seq, stuck.attempts, stuck.next_attempt_at) == (0, 1, later(2))
    assert stuck.last_error is not None
    assert "Connect" in stuck.last_error
    # The national portal has it: synchronised, whatever the webhook that is down.
    assert await sync_status(session, story.uuid) is SyncStatus.SYNCED

    # The down one comes back (at a new address); it catches up, the other gets nothing twice.
    await session.execute(update(EventConsumer).where(EventConsumer.id == down).values(url=receiver2.url))
    await session.commit()
    await story.walk(until=5)
    events = await seqs(session, story.uuid)
    await deliver(session, http, later(2))
    assert ids(receiver2.of(story.id)) == events
    assert ids(receiver.of(story.id)) == events
    assert await position(session, down, story.uuid) == Position(events[-1], 0, None, None)
    assert await sync_status(session, story.uuid) is SyncStatus.SYNCED


async def test_an_inactive_consumer_gets_nothing(
    story: Story, session: AsyncSession, http: httpx.AsyncClient, receiver: Receiver, receiver2: Receiver
) -> None:
    await story.walk(until=2)
    events = await seqs(session, story.uuid)
    active = await add_consumer(session, "dang-dung", receiver.url)
    inactive = await add_consumer(
        session, "tam-dung", receiver2.url, active=False, kind=ConsumerKind.NATIONAL_PORTAL
    )
    await deliver(session, http, T)
    assert ids(receiver.of(story.id)) == events
    assert receiver2.requests == []
    assert await position(session, inactive, story.uuid) is None
    assert await position(session, active, story.uuid) == Position(events[-1], 0, None, None)
    # The national portal's consumer, paused, does not have it: not synchronised.
    assert await sync_status(session, story.uuid) is SyncStatus.PENDING


async def test_decision_766_indicator_1_4_counts_only_the_national_portal_delivery(
    story: Story, session: AsyncSession, http: httpx.AsyncClient, receiver: Receiver, receiver2: Receiver
) -> None:
    """Decision 766 index as the national portal scores it (DESIGN.md, "The law since 2025"):
    "dossiers synchronised to the national portal 6". A webhook that answers 200 to every event
    synchronises nothing; the national portal's consumer having every event does — and the
    statistics facts (`synced`) follow in the same transaction."""
    await story.walk(until=4)
    await add_consumer(session, "he-thong-khac", receiver.url)
    await deliver(session, http, T)
    assert ids(receiver.of(story.id)) == await seqs(session, story.uuid)
    assert await sync_status(session, story.uuid) is SyncStatus.PENDING
    synced = select(DossierFact.synced).where(DossierFact.dossier_id == story.uuid)
    assert await session.scalar(synced) is False

    await add_consumer(session, "cong-dvc-quoc-gia", receiver2.url, kind=ConsumerKind.NATIONAL_PORTAL)
    await deliver(session, http, T)
    await session.commit()
    assert await sync_status(session, story.uuid) is SyncStatus.SYNCED
    assert await session.scalar(synced) is True
    # A new act: pending again until the portal has that event too.
    await story.walk(until=5)
    assert await sync_status(session, story.uuid) is SyncStatus.PENDING
    assert await session.scalar(synced) is False


async def test_backlog_counts_what_is_still_to_deliver(
    story: Story, session: AsyncSession, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await story.walk(until=4)
    events = await seqs(session, story.uuid)
    times = list(
        await session.scalars(
            select(DossierEvent.at).where(DossierEvent.dossier_id == story.uuid).order_by(DossierEvent.seq)
        )
    )
    await add_consumer(session, "b-webhook", receiver.url)
    await add_consumer(session, "a-paused", receiver.url, active=False)
    total, dossiers, oldest = (
        await session.execute(
            select(
                func.count(), func.count(func.distinct(DossierEvent.dossier_id)), func.min(DossierEvent.at)
            )
        )
    ).one()

    before = {b.name: b for b in await backlog(session)}
    for name, is_active in (("a-paused", False), ("b-webhook", True)):
        b = before[name]
        assert b.active is is_active
        assert (b.pending_events, b.pending_dossiers, b.oldest_pending_at, b.retrying_dossiers) == (
            total,
            dossiers,
            oldest,
            0,
        )
    names = list(before)  # ordered by name
    assert names.index("a-paused") < names.index("b-webhook")

    receiver.plan(story.id, 200, 200, 503)
    await deliver(session, http, T)
    after = {b.name: b for b in await backlog(session)}
    webhook = after["b-webhook"]
    # Everything else was delivered; of this dossier, the third and fourth events wait.
    assert (webhook.pending_events, webhook.pending_dossiers, webhook.retrying_dossiers) == (2, 1, 1)
    assert webhook.oldest_pending_at == times[2]
    assert after["a-paused"].pending_events == total  # an inactive consumer's backlog stays

    await deliver(session, http, later(2))
    webhook = {b.name: b for b in await backlog(session)}["b-webhook"]
    assert (webhook.pending_events, webhook.pending_dossiers, webhook.oldest_pending_at) == (0, 0, None)
    assert webhook.retrying_dossiers == 0
    assert ids(receiver.of(story.id)) == [*events[:3], *events[2:]]


async def test_replay_sends_again_from_a_sequence_number(
    story: Story, session: AsyncSession, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    await story.walk(until=4)
    events = await seqs(session, story.uuid)
    consumer = await add_consumer(session, "portal", receiver.url, kind=ConsumerKind.NATIONAL_PORTAL)
    await deliver(session, http, T)
    assert await sync_status(session, story.uuid) is SyncStatus.SYNCED

    assert await replay(session, "portal", events[2]) == 1  # this dossier's position, moved back
    assert await position(session, consumer, story.uuid) == Position(events[1], 0, None, None)
    assert await sync_status(session, story.uuid) is SyncStatus.PENDING
    await deliver(session, http, T)
    assert ids(receiver.of(story.id)) == [*events, *events[2:]]
    assert await sync_status(session, story.uuid) is SyncStatus.SYNCED

    with pytest.raises(NotFound):
        await replay(session, "no-such-consumer", 1)


async def test_the_dispatcher_loop_delivers_and_survives_a_failed_round(
    story: Story,
    session: AsyncSession,
    session_factory: async_sessionmaker[AsyncSession],
    http: httpx.AsyncClient,
    receiver: Receiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await story.walk(until=3)
    events = await seqs(session, story.uuid)
    consumer = await add_consumer(session, "portal", receiver.url)
    calls = 0

    def sessions() -> AsyncSession:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("the database went away")
        return session_factory()

    stop = asyncio.Event()
    # The loop shares the test's connection: the test keeps off the database while it runs.
    with caplog.at_level(logging.ERROR, logger="services.outbox"):
        task = asyncio.create_task(run_dispatcher(sessions, http, FixedClock(T), interval=0.05, stop=stop))
        for _ in range(200):
            if len(receiver.of(story.id)) >= len(events):
                break
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.wait_for(task, timeout=10)
    assert "delivery round failed" in caplog.text
    assert ids(receiver.of(story.id)) == events
    assert await position(session, consumer, story.uuid) == Position(events[-1], 0, None, None)
