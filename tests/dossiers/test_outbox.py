"""The outbox delivered to real HTTP receivers: every event of a dossier, in order, signed, without
personal data; retries with growing backoff and nothing sent out of order meanwhile; duplicates
after a timeout (at least once); consumers independent of each other; inactive ones skipped; the
backlog; a replay; the dispatcher loop; the `dvc outbox` command.

The receivers are `http.server`s on 127.0.0.1 in threads. Assertions look at this test's dossier
only: the database may hold other dossiers' events."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import os
import subprocess
import sys
import threading
import uuid
from collections import deque
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core import migrate
from core.clock import FixedClock
from core.db import make_engine, make_session_factory
from devservers import find_free_port
from models.dossiers import ConsumerKind, Dossier, DossierEvent, EventConsumer, EventDelivery, SyncStatus
from models.statistics import DossierFact
from services.errors import NotFound
from services.outbox.delivery import deliver_once, ensure_deliveries
from services.outbox.dispatcher import run_dispatcher
from services.outbox.operations import backlog, replay
from services.outbox.signing import verify_signature
from services.outbox.webhook import WEBHOOK
from storage.s3 import ObjectStore
from tests.conftest import NOW, Servers, gql
from tests.dossiers.helpers import DRAFT_RESULT, Scene, act, scene, upload

SECRET = "consumer-secret-0123456789"
BODY_KEYS = {"id", "dossierId", "dossierCode", "action", "fromStatus", "toStatus", "at", "hash", "prevHash"}
FULL_PATH = [
    "SUBMIT",
    "REQUEST_COMPLETION",
    "RESUBMIT",
    "RECEIVE",
    "FORWARD",
    "REQUEST_SUPPLEMENT",
    "SUPPLEMENT",
    "FORWARD",
    "APPROVE",
    "RETURN",
]
SAVE = (
    """mutation($input: DossierDraftInput!, $id: ID) { r: dossierSaveDraft(input: $input, id: $id) { %s } }"""
    % DRAFT_RESULT
)


def at(local: str) -> datetime:
    """A moment given in Hà Nội time."""
    return datetime.fromisoformat(local + "+07:00").astimezone(UTC)


# Deliveries run after the whole path, whatever its own dates.
T = at("2026-12-10T09:00:00")


def later(seconds: float) -> datetime:
    return T + timedelta(seconds=seconds)


# --- a receiver -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stall:
    """Process the request, then answer 200 only after `seconds` (the sender has given up)."""

    seconds: float


Behaviour = int | Stall  # an int is the status to answer


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]  # lower-cased names
    body: bytes
    answered: int

    @property
    def event(self) -> dict[str, Any]:
        document: dict[str, Any] = json.loads(self.body)
        return document

    @property
    def id(self) -> int:
        return int(self.headers["x-dvc-event-id"])


class _Server(ThreadingHTTPServer):
    daemon_threads = False  # server_close() waits for stalled handlers

    def __init__(self, receiver: Receiver) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.receiver = receiver


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        assert isinstance(self.server, _Server)
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k.lower(): v for k, v in self.headers.items()}
        behaviour = self.server.receiver.take(headers, body)
        status = 200
        if isinstance(behaviour, Stall):
            threading.Event().wait(behaviour.seconds)
        else:
            status = behaviour
        with contextlib.suppress(OSError):  # the sender may have hung up
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


class Receiver:
    """Records every request; answers 200 unless told otherwise for a dossier's next requests."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._plans: dict[str, deque[Behaviour]] = {}
        self._lock = threading.Lock()
        self._server = _Server(self)
        self._thread = threading.Thread(target=self._server.serve_forever, name="receiver", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/dvc"

    def plan(self, dossier_id: str, *behaviours: Behaviour) -> None:
        with self._lock:
            self._plans.setdefault(dossier_id, deque()).extend(behaviours)

    def take(self, headers: dict[str, str], body: bytes) -> Behaviour:
        with self._lock:
            try:
                dossier = str(json.loads(body).get("dossierId"))
            except ValueError:
                dossier = ""
            plan = self._plans.get(dossier)
            behaviour: Behaviour = plan.popleft() if plan else 200
            self.requests.append(Received(headers, body, 200 if isinstance(behaviour, Stall) else behaviour))
            return behaviour

    def of(self, dossier_id: str) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if r.event.get("dossierId") == dossier_id]

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=10)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def receiver2() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as c:
        yield c


# --- a dossier's path -----------------------------------------------------------------------------


class Story:
    """One dossier walked over GraphQL, act by act (the events of `FULL_PATH`)."""

    def __init__(
        self, client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock
    ) -> None:
        self.client, self.session, self.store, self.clock = client, session, store, clock
        self.done = 0
        self.id = ""
        self.s: Scene | None = None

    @property
    def uuid(self) -> uuid.UUID:
        return uuid.UUID(self.id)

    async def walk(self, until: int = len(FULL_PATH)) -> Story:
        steps = [
            self._submit,
            self._request_completion,
            self._resubmit,
            self._receive,
            self._forward_to_tax,
            self._request_supplement,
            self._supplement,
            self._forward_to_leader,
            self._approve,
            self._return,
        ]
        while self.done < until:
            await steps[self.done]()
            self.done += 1
        return self

    async def _act(self, token: str, mutation: str, args: str = "", **variables: Any) -> None:
        result = await act(self.client, token, mutation, args, id=self.id, **variables)
        assert result["__typename"] == "DossierChanged", result

    @property
    def _s(self) -> Scene:
        assert self.s is not None
        return self.s

    async def _submit(self) -> None:
        self.s = s = await scene(self.client, self.session)
        form = await upload(self.session, self.store, s.citizen_id)
        self.clock.at = at("2026-11-26T09:00:00")
        draft = {
            "procedureCode": s.code,
            "receivingAgencyCode": "H44.99",
            "formData": {"hoTen": "Nguyễn Thị Lan"},
            "components": [{"componentId": s.components["Tờ khai theo mẫu"], "fileIds": [form]}],
            "deliveryMethod": "ONLINE",
        }
        saved = (await gql(self.client, SAVE, {"input": draft}, token=s.citizen))["data"]["r"]
        self.id = saved["dossier"]["id"]
        await self._act(s.citizen, "dossierSubmit")

    async def _request_completion(self) -> None:
        self.clock.at = at("2026-11-26T10:00:00")
        await self._act(
            self._s.reception,
            "dossierRequestCompletion",
            "items: $items",
            items=["Bản sao CCCD có chứng thực"],
        )

    async def _resubmit(self) -> None:
        copy = await upload(self.session, self.store, self._s.citizen_id, "cccd.pdf")
        self.clock.at = at("2026-11-26T17:10:00")
        component = self._s.components["Bản sao giấy tờ tùy thân"]
        await self._act(
            self._s.citizen,
            "dossierResubmit",
            "components: $components",
            components=[{"componentId": component, "fileIds": [copy]}],
        )

    async def _receive(self) -> None:
        self.clock.at = at("2026-11-27T08:00:00")
        await self._act(self._s.reception, "dossierReceive")

    async def _forward_to_tax(self) -> None:
        self.clock.at = at("2026-11-30T09:00:00")
        await self._act(self._s.specialist, "dossierForward", "comment: $comment", comment="Đủ điều kiện")

    async def _request_supplement(self) -> None:
        self.clock.at = at("2026-12-01T10:00:00")
        await self._act(self._s.tax, "dossierRequestSupplement", "items: $items", items=["Tờ khai thuế"])

    async def _supplement(self) -> None:
        tax_form = await upload(self.session, self.store, self._s.citizen_id, "to-khai-thue.pdf")
        self.clock.at = at("2026-12-03T10:00:00")
        component = self._s.components["Tờ khai theo mẫu"]
        await self._act(
            self._s.citizen,
            "dossierSupplement",
            "components: $components",
            components=[{"componentId": component, "fileIds": [tax_form]}],
        )

    async def _forward_to_leader(self) -> None:
        self.clock.at = at("2026-12-03T14:00:00")
        await self._act(self._s.tax, "dossierForward")

    async def _approve(self) -> None:
        result = await upload(self.session, self.store, None, "giay-phep.pdf")
        self.clock.at = at("2026-12-09T09:00:00")
        await self._act(self._s.leader, "dossierApprove", "resultFileIds: $files", files=[result])

    async def _return(self) -> None:
        self.clock.at = at("2026-12-09T10:00:00")
        await self._act(self._s.reception, "dossierReturn", "method: $method", method="ONLINE")


@pytest.fixture
def story(client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock) -> Story:
    return Story(client, session, store, clock)


# --- reading the database -------------------------------------------------------------------------


async def add_consumer(
    session: AsyncSession,
    name: str,
    url: str,
    *,
    active: bool = True,
    secret: str = SECRET,
    kind: ConsumerKind = ConsumerKind.WEBHOOK,
) -> uuid.UUID:
    """A consumer; one of kind NATIONAL_PORTAL is spoken to by the tests with the webhook
    transport (`PORTAL_AS_WEBHOOK`), at the test receiver."""
    consumer = EventConsumer(
        id=uuid.uuid4(), name=name, url=url, secret=secret, active=active, created_at=NOW, kind=kind
    )
    session.add(consumer)
    await session.commit()
    return consumer.id


async def seqs(session: AsyncSession, dossier: uuid.UUID) -> list[int]:
    return list(
        await session.scalars(
            select(DossierEvent.seq).where(DossierEvent.dossier_id == dossier).order_by(DossierEvent.seq)
        )
    )


@dataclass(frozen=True)
class Position:
    delivered_seq: int
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None


async def position(session: AsyncSession, consumer: uuid.UUID, dossier: uuid.UUID) -> Position | None:
    row = (
        await session.execute(
            select(
                EventDelivery.delivered_seq,
                EventDelivery.attempts,
                EventDelivery.next_attempt_at,
                EventDelivery.last_error,
            ).where(EventDelivery.consumer_id == consumer, EventDelivery.dossier_id == dossier)
        )
    ).one_or_none()
    return None if row is None else Position(*row)


async def sync_status(session: AsyncSession, dossier: uuid.UUID) -> SyncStatus:
    status: SyncStatus = (
        await session.execute(select(Dossier.sync_status).where(Dossier.id == dossier))
    ).scalar_one()
    return status


PORTAL_AS_WEBHOOK = {ConsumerKind.NATIONAL_PORTAL: WEBHOOK}


async def deliver(session: AsyncSession, http: httpx.AsyncClient, now: datetime) -> None:
    # A large batch: other dossiers in the database must not push this test's dossier out.
    await deliver_once(session, http, now=now, batch=10_000, transports=PORTAL_AS_WEBHOOK)


def ids(requests: list[Received]) -> list[int]:
    return [r.id for r in requests]


# --- the tests ------------------------------------------------------------------------------------


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


# --- two dispatchers ------------------------------------------------------------------------------


@pytest_asyncio.fixture
async def own_database(servers: Servers) -> AsyncIterator[str]:
    """A database of its own, with committed rows that two connections can fight over (the test
    transaction's rows are invisible to a second connection)."""
    admin = servers.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def on_server(statement: str) -> None:
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    await on_server("DROP DATABASE IF EXISTS outbox_locks WITH (FORCE)")
    await on_server("CREATE DATABASE outbox_locks")
    url = servers.database_url.replace("/postgres?", "/outbox_locks?", 1)
    await asyncio.to_thread(migrate.upgrade, url)
    yield url
    await on_server("DROP DATABASE IF EXISTS outbox_locks WITH (FORCE)")


async def seed_dossier(conn: asyncpg.Connection, events: int) -> str:
    """A bare dossier and its events (foreign keys to the catalog skipped: replica mode)."""
    dossier = str(uuid.uuid4())
    await conn.execute(
        "INSERT INTO dossiers (id, procedure_id, procedure_version_id, applicant_name, channel,"
        " receiving_agency_id, status, payment_status, delivery_status, sync_status, lookup_secret,"
        " version, apologised, completion_requested) VALUES ($1, gen_random_uuid(), gen_random_uuid(),"
        " 'Nguyễn Văn A', 'ONLINE', gen_random_uuid(), 'SUBMITTED', 'NOT_REQUIRED', 'NOT_READY',"
        " 'PENDING', 's', 1, false, false)",
        uuid.UUID(dossier),
    )
    for i in range(events):
        await conn.execute(
            "INSERT INTO dossier_events (dossier_id, at, action, actor_label, to_status, prev_hash, hash)"
            " VALUES ($1, $2, 'FORWARD', 'x', 'IN_PROGRESS', $3, $4)",
            uuid.UUID(dossier),
            NOW,
            f"{i:064d}",
            f"{i + 1:064d}",
        )
    return dossier


async def test_two_dispatchers_never_deliver_the_same_dossier_at_once(
    own_database: str, http: httpx.AsyncClient, receiver: Receiver
) -> None:
    conn = await asyncpg.connect(own_database.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute("SET session_replication_role = replica")
        first = await seed_dossier(conn, 3)
        second = await seed_dossier(conn, 2)
        await conn.execute(
            "INSERT INTO event_consumers (id, name, url, secret, active, created_at, kind)"
            " VALUES (gen_random_uuid(), 'portal', $1, $2, true, now(), 'NATIONAL_PORTAL')",
            receiver.url,
            SECRET,
        )
    finally:
        await conn.close()
    engine = make_engine(own_database, pool_size=2)
    factory = make_session_factory(engine)
    try:
        async with factory() as s:  # as run_dispatcher does: rows first, in a short transaction
            await ensure_deliveries(s)
            await s.commit()
        receiver.plan(first, Stall(1.5))  # the first dossier's first request takes a while
        async with factory() as one, factory() as two:
            busy = asyncio.create_task(deliver_once(one, http, now=T, batch=1, transports=PORTAL_AS_WEBHOOK))
            for _ in range(200):
                if receiver.of(first):
                    break
                await asyncio.sleep(0.01)
            # While the first dispatcher holds the first dossier, the second skips it, delivers the
            # other one, and does not wait.
            other = await deliver_once(two, http, now=T, batch=10, transports=PORTAL_AS_WEBHOOK)
            await two.commit()
            assert not busy.done()
            assert (other.dossiers, other.sent) == (1, 2)
            done = await busy
            await one.commit()
            assert (done.dossiers, done.sent) == (1, 3)
        async with factory() as s:
            again = await deliver_once(s, http, now=later(60), transports=PORTAL_AS_WEBHOOK)
            await s.commit()
            assert again.dossiers == 0
            synced = await s.scalars(select(Dossier.sync_status).where(Dossier.id.in_([first, second])))
            assert set(synced) == {SyncStatus.SYNCED}
    finally:
        await engine.dispose()
    assert len(ids(receiver.of(first))) == 3
    assert ids(receiver.of(first)) == sorted(set(ids(receiver.of(first))))
    assert len(ids(receiver.of(second))) == 2


# --- the command line -----------------------------------------------------------------------------


ROOT = Path(__file__).resolve().parent.parent.parent


def test_the_outbox_command(servers: Servers, tmp_path: Path) -> None:
    """`dvc outbox` on a database of its own: the backlog, a replay, an unknown consumer."""
    dsn = servers.database_url.replace("postgresql+asyncpg://", "postgresql://", 1)

    async def sql(statement: str, database: str = "outbox_cli") -> None:
        conn = await asyncpg.connect(dsn.replace("/postgres?", f"/{database}?", 1) if database else dsn)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(sql("DROP DATABASE IF EXISTS outbox_cli WITH (FORCE)", ""))
    asyncio.run(sql("CREATE DATABASE outbox_cli", ""))
    env = {
        **os.environ,
        "DATABASE_URL": servers.database_url.replace("/postgres?", "/outbox_cli?", 1),
        "S3_ENDPOINT": servers.s3.endpoint,
        "S3_ACCESS_KEY": servers.s3.access_key,
        "S3_SECRET_KEY": servers.s3.secret_key,
        "DATA_DIR": str(tmp_path / "var"),
        "JWT_SECRET": "cli-test-secret-0123456789abcdef0123456789",
    }

    def dvc(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "cli.main", "outbox", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    empty = dvc()
    assert empty.returncode == 0, empty.stderr
    asyncio.run(
        sql(
            "INSERT INTO event_consumers (id, name, url, secret, active, created_at) VALUES "
            f"('{uuid.uuid4()}', 'cong-quoc-gia', 'http://127.0.0.1:9/x', 's', true, now())"
        )
    )
    listed = dvc()
    assert listed.returncode == 0, listed.stderr
    assert "cong-quoc-gia" in listed.stdout
    replayed = dvc("--replay-consumer", "cong-quoc-gia", "--from-seq", "1")
    assert replayed.returncode == 0, replayed.stderr
    assert "cong-quoc-gia" in replayed.stdout
    unknown = dvc("--replay-consumer", "khong-co", "--from-seq", "1")
    assert unknown.returncode == 1
    half = dvc("--from-seq", "1")
    assert half.returncode == 2


async def test_delivery_rows_are_made_only_past_the_watermark_and_only_for_consumers(
    own_database: str,
) -> None:
    """Over millions of events the full scan takes seconds: with no active consumer nothing is
    scanned, and the dispatcher's watermark limits the scan to dossiers with newer events."""
    conn = await asyncpg.connect(own_database.replace("postgresql+asyncpg://", "postgresql://", 1))
    try:
        await conn.execute("SET session_replication_role = replica")
        await conn.execute("DELETE FROM event_deliveries")
        await conn.execute("UPDATE event_consumers SET active = false")
        older = uuid.UUID(str(await seed_dossier(conn, 2)))
        mark = int(await conn.fetchval("SELECT max(seq) FROM dossier_events"))
        newer = uuid.UUID(str(await seed_dossier(conn, 1)))
    finally:
        await conn.close()
    engine = make_engine(own_database, pool_size=1)
    factory = make_session_factory(engine)
    try:
        async with factory() as s:
            assert await ensure_deliveries(s) == 0  # no active consumer
            await s.execute(
                text(
                    "INSERT INTO event_consumers (id, name, url, secret, active, created_at)"
                    " VALUES (gen_random_uuid(), 'watermark', 'http://127.0.0.1:9/', 'k', true, now())"
                )
            )
            assert await ensure_deliveries(s, after_seq=mark) == 1
            made = set(await s.scalars(select(EventDelivery.dossier_id)))
            assert newer in made
            assert older not in made
            await ensure_deliveries(s)  # the full pass catches the rest
            assert {older, newer} <= set(await s.scalars(select(EventDelivery.dossier_id)))
            await s.rollback()
    finally:
        await engine.dispose()
