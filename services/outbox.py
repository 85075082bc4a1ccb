"""Delivering dossier events to registered consumers: the transactional outbox, drained.

`dossier_events` is both the process control trail and the outbox: every act appends its event in
the same transaction as the change. Here those events are pushed to each active `EventConsumer`
(the national portal adapter, webhooks) **at least once, in `seq` order per dossier**, with
retries and exponential backoff. `event_deliveries` holds, per (consumer, dossier), the last
`seq` the consumer acknowledged, how many times the next one has failed in a row, when to try
again and the last error.

One round — `deliver_once(session, client, now=…)`, inside the caller's transaction:

1. Missing `event_deliveries` rows (a dossier with events that an active consumer has no row
   for) are created with `delivered_seq = 0` (`INSERT … SELECT … ON CONFLICT DO NOTHING`).
2. Per active consumer, up to `batch` rows that are due (`next_attempt_at` null or <= now) and
   behind (an event with a greater `seq` exists) are locked with `SELECT … FOR UPDATE SKIP
   LOCKED`, oldest pending event first. The lock is held until the caller commits, so two
   dispatcher processes never deliver the same dossier to the same consumer at once; each takes
   the rows the other has not.
3. The pending events of those dossiers are read (in `seq` order) and POSTed, **one request per
   event**, concurrently across dossiers (at most `concurrency` requests in flight per consumer)
   but strictly one after the other within a dossier. The first failure — a non-2xx status, a
   timeout, a connection error, anything — stops that dossier for this round: a later event of a
   dossier is never sent before an earlier one has been acknowledged. Other dossiers and other
   consumers carry on.
4. Each worked row is updated: a 2xx moves `delivered_seq` to that event; a failure sets
   `attempts` (consecutive failures of the dossier's next event: reset to 0 on success, restarted
   at 1 when the round made progress before failing), `next_attempt_at = now + backoff(attempts)`
   (2, 4, 8 … seconds, at most one hour, no jitter) and `last_error`.
5. Dossiers whose events every active consumer now holds are marked `sync_status = SYNCED` —
   best effort: their rows are locked `FOR NO KEY UPDATE SKIP LOCKED` (a dossier being acted on
   is left for a later round) and re-checked in a fresh statement, so a dossier is never marked
   SYNCED while one of its committed events is still undelivered. Acts set it back to PENDING.

The request: `POST <consumer url>` with a compact JSON object

    {"id": seq, "dossierId": "…", "dossierCode": "…" | null, "action": "RECEIVE",
     "fromStatus": "SUBMITTED" | null, "toStatus": "IN_PROGRESS", "at": "<ISO 8601>",
     "hash": "<this event's trail hash>", "prevHash": "<the previous event's hash>"}

and headers `X-DVC-Event-Id: <seq>`, `X-DVC-Timestamp: <unix seconds of the round's now>`,
`X-DVC-Signature: sha256=<hex HMAC-SHA256 over "<timestamp>.<body bytes>" keyed with the
consumer's secret>` (see `sign` / `verify_signature`). No personal data travels: no applicant
name, ID number or contact, no comment, actor or form data — a consumer re-reads what it needs
through the API. `prevHash` lets a consumer see that it holds an unbroken chain.

Consumers have a kind. A `WEBHOOK` gets the request above (`Webhook`); another kind gets its
own request from a `Transport` passed to `deliver_once` (the national portal's, in
`services.national_portal.feed`) — same rounds, locks, order and retries; a kind without a
transport fails its deliveries (retried) rather than skipping them. A consumer may take only some
actions (`actions`; the others are acknowledged in order without a request), and after
`rotate_secret` the old key signs too (`X-DVC-Signature-Previous`) until `previous_secret_until`.

At least once means duplicates: a request that timed out after the consumer processed it is sent
again. Consumers deduplicate by `X-DVC-Event-Id` (ids only grow within a dossier).

Why order per dossier holds with a per-dossier watermark: acts lock the dossier row (`SELECT …
FOR UPDATE`) before appending its event and keep the lock until commit, so a dossier's events
become visible in `seq` order; a smaller `seq` of the same dossier never appears after a greater
one has been delivered. (Across dossiers `seq` order and commit order may differ; that is fine.)

Time is passed in (`now`); nothing here reads a clock except `run_dispatcher`, through the one
it is given. `deliver_once` never commits: `run_dispatcher` runs each round in its own session
and commits it; the row locks are therefore held during the HTTP requests of the round, which
is what keeps concurrent dispatchers apart. Consequence: keep `batch` and the client's timeout
modest (a round lasts at most about `batch / concurrency × timeout` per consumer).

`backlog(session)` reports, per consumer, the events and dossiers still to deliver and the time
of the oldest pending event (`dvc outbox` prints it). `replay(session, name, from_seq)` moves a
consumer back so that it receives again every event with `seq >= from_seq`.

Cost: finding due work scans `dossier_events` against `event_deliveries` each round (hash
anti-join, index probes on `dossier_events.dossier_id`); comfortable up to a few million events
with a round every second or so. Beyond that, keep a per-consumer watermark.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import re
import secrets
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import httpx
from sqlalchemy import Exists, and_, distinct, exists, func, literal, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from core.broker import Broker
from core.clock import Clock
from core.observability import request_id as current_request_id
from models.catalog import Agency, Procedure
from models.dossiers import (
    ConsumerKind,
    Dossier,
    DossierEvent,
    EventConsumer,
    EventDelivery,
    PortalSubmission,
    SyncStatus,
)
from services.errors import Forbidden, Issues, NotFound

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)
CONCURRENCY = 8  # requests in flight per consumer, each for a different dossier
REQUEST_TIMEOUT = 30.0  # hard cap per request (seconds), whatever the client's own timeouts
ERROR_LENGTH = 500
USER_AGENT = "dvc-outbox/1"
SETTLE = 60.0  # seconds after which an event seq seen is taken as committed (the watermark)
FULL_PASS = 600.0  # seconds between full scans for deliveries to create (whatever the watermark)


# --- the wire -----------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """The wait after the `attempts`-th consecutive failure: 2, 4, 8 … seconds, at most an hour."""
    return min(timedelta(seconds=2 ** min(max(attempts, 0), 12)), MAX_BACKOFF)


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, the `X-DVC-Signature` header."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """What a consumer does with the headers (constant-time comparison)."""
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


@dataclass(frozen=True)
class Outgoing:
    """One event as it is sent to a webhook (`body`), with the facts other transports map from."""

    seq: int
    body: bytes
    facts: EventFacts | None = None
    request_id: str | None = None  # of the request that made the event: on the delivery's log lines


@dataclass(frozen=True)
class EventFacts:
    """An event and the dossier it belongs to as they are when it is sent — what the national
    portal's payload is built from (webhooks get `Outgoing.body`, with no personal data)."""

    seq: int
    dossier_id: uuid.UUID
    action: str
    from_status: str | None
    to_status: str
    at: datetime
    hash: str
    prev_hash: str
    code: str | None
    channel: str
    procedure_code: str | None
    agency_code: str | None
    applicant_name: str
    applicant_id_number: str | None
    submitted_at: datetime | None
    received_at: datetime | None
    appointment_at: datetime | None
    result_at: datetime | None
    finished_at: datetime | None
    portal_dossier_id: str | None = None  # MaHoSoQG, for dossiers submitted on the national portal


@dataclass(frozen=True)
class Target:
    """A consumer as a transport sees it."""

    id: uuid.UUID
    name: str
    kind: ConsumerKind
    url: str
    secret: str
    previous_secret: str | None  # still valid for the consumer: sent as a second signature


class Transport(Protocol):
    """How one event reaches one kind of consumer: None when acknowledged, else why not.
    It must never raise (a failure is a reason string) and never read the clock."""

    async def post(
        self, client: httpx.AsyncClient, target: Target, event: Outgoing, timestamp: str
    ) -> str | None: ...


def _body(
    *,
    seq: int,
    dossier_id: uuid.UUID,
    code: str | None,
    action: str,
    from_status: str | None,
    to_status: str,
    at: datetime,
    hash_: str,
    prev_hash: str,
) -> bytes:
    document = {
        "id": seq,
        "dossierId": str(dossier_id),
        "dossierCode": code,
        "action": action,
        "fromStatus": from_status,
        "toStatus": to_status,
        "at": at.isoformat(),
        "hash": hash_,
        "prevHash": prev_hash,
    }
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()


# --- results ------------------------------------------------------------------------------------


@dataclass
class DeliveryRun:
    """What one round did."""

    sent: int = 0  # events acknowledged (2xx)
    failed: int = 0  # dossiers whose next event failed this round (retried after a backoff)
    dossiers: int = 0  # (consumer, dossier) pairs worked on
    synced: int = 0  # dossiers marked SYNCED
    more: bool = False  # some consumer had at least `batch` due dossiers: run again soon


@dataclass(frozen=True)
class ConsumerBacklog:
    name: str
    active: bool
    pending_events: int
    pending_dossiers: int
    oldest_pending_at: datetime | None
    retrying_dossiers: int  # dossiers whose next event has failed at least once


@dataclass
class _Chain:
    """One dossier's pending events for one consumer, and how far this round got."""

    target: Target
    actions: frozenset[str] | None
    dossier_id: uuid.UUID
    delivered_seq: int
    attempts: int
    events: list[Outgoing]
    sent: int = 0
    error: str | None = None


# --- one round ----------------------------------------------------------------------------------


async def ensure_deliveries(session: AsyncSession, *, after_seq: int = 0) -> int:
    """Create the missing (active consumer, dossier with events) rows at `delivered_seq = 0`.

    `deliver_once` does this itself; `run_dispatcher` also does it in a short transaction of its
    own first, so the long delivery transaction rarely inserts (an insert takes a KEY SHARE lock
    on the dossier row for the FK check, which an act's `FOR UPDATE` would have to wait for).

    Only dossiers with an event after `after_seq` are looked at: over millions of events the
    whole scan takes seconds, so the dispatcher passes a watermark (see `run_dispatcher`). With
    no active consumer there is nothing to do, and nothing is scanned."""
    if not await session.scalar(select(exists().where(EventConsumer.active.is_(True)))):
        return 0
    dossiers = select(DossierEvent.dossier_id).where(DossierEvent.seq > after_seq).distinct().subquery()
    missing = (
        select(EventConsumer.id, dossiers.c.dossier_id, literal(0), literal(0))
        .select_from(EventConsumer)
        .join(dossiers, true())
        .where(
            EventConsumer.active.is_(True),
            ~exists().where(
                EventDelivery.consumer_id == EventConsumer.id,
                EventDelivery.dossier_id == dossiers.c.dossier_id,
            ),
        )
    )
    stmt = (
        insert(EventDelivery)
        .from_select(
            [
                EventDelivery.consumer_id,
                EventDelivery.dossier_id,
                EventDelivery.delivered_seq,
                EventDelivery.attempts,
            ],
            missing,
        )
        .on_conflict_do_nothing()
    )
    result = await session.execute(stmt)
    return int(getattr(result, "rowcount", 0) or 0)


async def _due(
    session: AsyncSession, consumer_id: uuid.UUID, *, now: datetime, batch: int
) -> list[tuple[uuid.UUID, int, int]]:
    """Lock up to `batch` rows of this consumer that are due and behind, oldest pending first."""
    behind = exists().where(
        DossierEvent.dossier_id == EventDelivery.dossier_id, DossierEvent.seq > EventDelivery.delivered_seq
    )
    first_pending = (
        select(func.min(DossierEvent.seq))
        .where(
            DossierEvent.dossier_id == EventDelivery.dossier_id,
            DossierEvent.seq > EventDelivery.delivered_seq,
        )
        .scalar_subquery()
    )
    stmt = (
        select(EventDelivery.dossier_id, EventDelivery.delivered_seq, EventDelivery.attempts)
        .where(
            EventDelivery.consumer_id == consumer_id,
            or_(EventDelivery.next_attempt_at.is_(None), EventDelivery.next_attempt_at <= now),
            behind,
        )
        .order_by(first_pending)
        .limit(batch)
        .with_for_update(of=EventDelivery, skip_locked=True)
    )
    return [(r.dossier_id, int(r.delivered_seq), int(r.attempts)) for r in await session.execute(stmt)]


async def _pending_events(
    session: AsyncSession, consumer_id: uuid.UUID, dossier_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, list[Outgoing]]:
    stmt = (
        select(
            DossierEvent.seq,
            DossierEvent.dossier_id,
            Dossier.code,
            DossierEvent.action,
            DossierEvent.from_status,
            DossierEvent.to_status,
            DossierEvent.at,
            DossierEvent.hash,
            DossierEvent.prev_hash,
            Dossier.channel,
            Procedure.code.label("procedure_code"),
            func.coalesce(Agency.electronic_id, Agency.code).label("agency_code"),
            Dossier.applicant_name,
            Dossier.applicant_id_number,
            Dossier.submitted_at,
            Dossier.received_at,
            Dossier.appointment_at,
            Dossier.result_at,
            Dossier.finished_at,
            PortalSubmission.portal_dossier_id,
            DossierEvent.request_id,
        )
        .join(
            EventDelivery,
            and_(
                EventDelivery.dossier_id == DossierEvent.dossier_id,
                EventDelivery.consumer_id == consumer_id,
            ),
        )
        .join(Dossier, Dossier.id == DossierEvent.dossier_id)
        # Outer joins: an event is never held back by what only some transports need.
        .outerjoin(Procedure, Procedure.id == Dossier.procedure_id)
        .outerjoin(Agency, Agency.id == Dossier.receiving_agency_id)
        .outerjoin(PortalSubmission, PortalSubmission.dossier_id == Dossier.id)
        .where(DossierEvent.dossier_id.in_(dossier_ids), DossierEvent.seq > EventDelivery.delivered_seq)
        .order_by(DossierEvent.seq)
    )
    pending: dict[uuid.UUID, list[Outgoing]] = {}
    for r in await session.execute(stmt):
        body = _body(
            seq=r.seq,
            dossier_id=r.dossier_id,
            code=r.code,
            action=r.action,
            from_status=r.from_status,
            to_status=r.to_status,
            at=r.at,
            hash_=r.hash,
            prev_hash=r.prev_hash,
        )
        facts = EventFacts(
            seq=int(r.seq),
            dossier_id=r.dossier_id,
            action=r.action,
            from_status=r.from_status,
            to_status=r.to_status,
            at=r.at,
            hash=r.hash,
            prev_hash=r.prev_hash,
            code=r.code,
            channel=r.channel.value,
            procedure_code=r.procedure_code,
            agency_code=r.agency_code,
            applicant_name=r.applicant_name,
            applicant_id_number=r.applicant_id_number,
            submitted_at=r.submitted_at,
            received_at=r.received_at,
            appointment_at=r.appointment_at,
            result_at=r.result_at,
            finished_at=r.finished_at,
            portal_dossier_id=r.portal_dossier_id,
        )
        pending.setdefault(r.dossier_id, []).append(Outgoing(int(r.seq), body, facts, r.request_id))
    return pending


def failure(error: BaseException) -> str:
    """A transport error as `last_error` keeps it."""
    return (f"{type(error).__name__}: {error}".rstrip(": "))[:ERROR_LENGTH]


def signed_headers(target: Target, event_id: str, timestamp: str, body: bytes) -> dict[str, str]:
    """The X-DVC-* headers; during a secret rotation the old key signs too."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-DVC-Event-Id": event_id,
        "X-DVC-Timestamp": timestamp,
        "X-DVC-Signature": sign(target.secret, timestamp, body),
    }
    if target.previous_secret:
        headers["X-DVC-Signature-Previous"] = sign(target.previous_secret, timestamp, body)
    return headers


class Webhook:
    """The generic signed webhook: our JSON body, HMAC-signed with the consumer's secret."""

    async def post(
        self, client: httpx.AsyncClient, target: Target, event: Outgoing, timestamp: str
    ) -> str | None:
        headers = signed_headers(target, str(event.seq), timestamp, event.body)
        try:
            async with (
                asyncio.timeout(REQUEST_TIMEOUT),
                client.stream("POST", target.url, content=event.body, headers=headers) as response,
            ):
                # The response body is never read.
                if 200 <= response.status_code < 300:
                    return None
                return f"HTTP {response.status_code}"
        except Exception as error:  # noqa: BLE001 — any failure is the consumer's to be retried
            return failure(error)


WEBHOOK = Webhook()


async def _post(
    client: httpx.AsyncClient, chain: _Chain, event: Outgoing, timestamp: str, transport: Transport | None
) -> str | None:
    if transport is None:
        return f"no transport configured for {chain.target.kind.value}"
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT * 2):
            return await transport.post(client, chain.target, event, timestamp)
    except Exception as error:  # noqa: BLE001 — a transport that raises is a failed delivery
        return failure(error)


async def _send(
    client: httpx.AsyncClient,
    chain: _Chain,
    limit: asyncio.Semaphore,
    timestamp: str,
    transport: Transport | None,
) -> None:
    async with limit:
        for event in chain.events:
            action = event.facts.action if event.facts else None
            if chain.actions is not None and action not in chain.actions:
                error = None  # filtered out: acknowledged without a request, order kept
            else:
                token = current_request_id.set(event.request_id)  # this delivery's log lines
                try:
                    error = await _post(client, chain, event, timestamp, transport)
                finally:
                    current_request_id.reset(token)
                if error is not None:
                    log.info("event %s to %s not delivered: %s", event.seq, chain.target.name, error)
            if error is not None:
                chain.error = error
                return
            chain.delivered_seq = event.seq
            chain.sent += 1


async def _save_progress(session: AsyncSession, chain: _Chain, now: datetime) -> None:
    if chain.error is None:
        values: dict[str, object] = {
            "delivered_seq": chain.delivered_seq,
            "attempts": 0,
            "next_attempt_at": None,
            "last_error": None,
        }
    else:
        attempts = 1 if chain.sent else chain.attempts + 1
        values = {
            "delivered_seq": chain.delivered_seq,
            "attempts": attempts,
            "next_attempt_at": now + backoff(attempts),
            "last_error": chain.error,
        }
    await session.execute(
        update(EventDelivery)
        .where(EventDelivery.consumer_id == chain.target.id, EventDelivery.dossier_id == chain.dossier_id)
        .values(**values)
    )


def _undelivered() -> Exists:
    """Some active consumer has not acknowledged some event of the dossier (correlated to the
    enclosing statement's `dossiers`)."""
    return (
        select(literal(1))
        .select_from(DossierEvent)
        .join(EventConsumer, EventConsumer.active.is_(True))
        .outerjoin(
            EventDelivery,
            and_(
                EventDelivery.consumer_id == EventConsumer.id,
                EventDelivery.dossier_id == DossierEvent.dossier_id,
            ),
        )
        .where(
            DossierEvent.dossier_id == Dossier.id,
            DossierEvent.seq > func.coalesce(EventDelivery.delivered_seq, 0),
        )
        .exists()
    )


async def _mark_synced(session: AsyncSession, dossier_ids: set[uuid.UUID]) -> int:
    if not dossier_ids:
        return 0
    # Lock first (never waiting: a dossier being acted on is left for later), then look again in
    # a new statement — under READ COMMITTED it sees every event committed before the lock.
    locked = list(
        await session.scalars(
            select(Dossier.id)
            .where(Dossier.id.in_(sorted(dossier_ids)), Dossier.sync_status == SyncStatus.PENDING)
            .order_by(Dossier.id)
            .with_for_update(key_share=True, skip_locked=True)
        )
    )
    if not locked:
        return 0
    result = await session.execute(
        update(Dossier)
        .where(Dossier.id.in_(locked), ~_undelivered())
        # A delivery is no change of the dossier: its updated_at stays.
        .values(sync_status=SyncStatus.SYNCED, updated_at=Dossier.updated_at)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)


async def deliver_once(
    session: AsyncSession,
    client: httpx.AsyncClient,
    *,
    now: datetime,
    batch: int = 100,
    concurrency: int = CONCURRENCY,
    transports: Mapping[ConsumerKind, Transport] | None = None,
    after_seq: int = 0,
) -> DeliveryRun:
    """One delivery round (see the module docstring). Never commits; the caller does.

    `transports` says how each kind of consumer is spoken to; webhooks default to `WEBHOOK`. A
    consumer whose kind has no transport (the national portal when it is not configured) fails
    its deliveries like an unreachable one: they wait, with backoff, and are never skipped."""
    run = DeliveryRun()
    known: dict[ConsumerKind, Transport] = {ConsumerKind.WEBHOOK: WEBHOOK, **(transports or {})}
    await ensure_deliveries(session, after_seq=after_seq)
    consumers = (
        await session.scalars(
            select(EventConsumer).where(EventConsumer.active.is_(True)).order_by(EventConsumer.name)
        )
    ).all()
    chains: list[_Chain] = []
    limits: dict[uuid.UUID, asyncio.Semaphore] = {}
    for consumer in consumers:
        due = await _due(session, consumer.id, now=now, batch=batch)
        if len(due) >= batch:
            run.more = True
        if not due:
            continue
        events = await _pending_events(session, consumer.id, [d for d, _, _ in due])
        limits[consumer.id] = asyncio.Semaphore(max(concurrency, 1))
        rotating = consumer.previous_secret_until is not None and consumer.previous_secret_until > now
        target = Target(
            id=consumer.id,
            name=consumer.name,
            kind=consumer.kind,
            url=consumer.url,
            secret=consumer.secret,
            previous_secret=consumer.previous_secret if rotating else None,
        )
        actions = frozenset(consumer.actions) if consumer.actions is not None else None
        chains.extend(
            _Chain(target, actions, dossier_id, delivered, attempts, pending)
            for dossier_id, delivered, attempts in due
            if (pending := events.get(dossier_id))
        )
    if not chains:
        return run
    timestamp = str(int(now.timestamp()))
    async with asyncio.TaskGroup() as tasks:
        for chain in chains:
            tasks.create_task(
                _send(client, chain, limits[chain.target.id], timestamp, known.get(chain.target.kind))
            )
    complete: set[uuid.UUID] = set()
    for chain in chains:
        await _save_progress(session, chain, now)
        run.dossiers += 1
        run.sent += chain.sent
        if chain.error is not None:
            run.failed += 1
            log.warning(
                "outbox: dossier %s, event after seq %s not delivered to %s: %s",
                chain.dossier_id,
                chain.delivered_seq,
                chain.target.name,
                chain.error,
            )
        elif chain.sent:
            complete.add(chain.dossier_id)
    run.synced = await _mark_synced(session, complete)
    return run


# --- the loop -----------------------------------------------------------------------------------


async def run_dispatcher(
    session_factory: Callable[[], AsyncSession],
    client: httpx.AsyncClient,
    clock: Clock,
    *,
    interval: float,
    stop: asyncio.Event,
    batch: int = 100,
    broker: Broker | None = None,
    transports: Mapping[ConsumerKind, Transport] | None = None,
) -> None:
    """Deliver until `stop` is set: a round, a commit, then a sleep of `interval` seconds — cut
    short by `stop`, or (with a `broker`) by a dossier notification; no sleep at all when the last
    round had more work than `batch`. A failed round is logged and the loop goes on."""
    wake = asyncio.Event()
    # The watermark for `ensure_deliveries`: the greatest event seq seen at least SETTLE seconds
    # ago (an event's seq is taken at insert, its transaction may commit a little later), with a
    # full pass every FULL_PASS seconds for a transaction slower than that.
    seen: list[tuple[float, int]] = []
    full_pass_at = 0.0

    def watermark() -> int:
        nonlocal full_pass_at
        moment = time.monotonic()
        if moment >= full_pass_at:
            full_pass_at = moment + FULL_PASS
            seen.clear()
            return 0
        settled = [seq for at, seq in seen if at <= moment - SETTLE]
        return max(settled, default=0)

    async def listen(queue: asyncio.Queue[dict[str, object]]) -> None:
        while True:
            await queue.get()
            wake.set()

    async with contextlib.AsyncExitStack() as stack:
        if broker is not None:
            queue = await stack.enter_async_context(broker.subscribe("dossier"))
            listener = asyncio.create_task(listen(queue), name="outbox-wake")
            stack.push_async_callback(_cancel, listener)
        while not stop.is_set():
            wake.clear()
            more = False
            try:
                after_seq = watermark()
                async with session_factory() as session:
                    top = await session.scalar(select(func.max(DossierEvent.seq)))
                    await ensure_deliveries(session, after_seq=after_seq)
                    await session.commit()
                seen.append((time.monotonic(), int(top or 0)))
                del seen[: max(len(seen) - 1000, 0)]
                async with session_factory() as session:
                    run = await deliver_once(
                        session,
                        client,
                        now=clock.now(),
                        batch=batch,
                        transports=transports,
                        after_seq=after_seq,
                    )
                    await session.commit()
                more = run.more
                if run.dossiers:
                    log.info(
                        "outbox: %s events delivered, %s dossiers to retry, %s synced",
                        run.sent,
                        run.failed,
                        run.synced,
                    )
            except Exception:
                log.exception("outbox: delivery round failed")
            if more:
                await asyncio.sleep(0)
                continue
            await _sleep(interval, stop, wake)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _sleep(seconds: float, *events: asyncio.Event) -> None:
    waiters = [asyncio.create_task(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)


# --- monitoring and operations ------------------------------------------------------------------


async def backlog(session: AsyncSession) -> list[ConsumerBacklog]:
    """Per consumer (active or not): events and dossiers not yet acknowledged, the time of the
    oldest such event, and how many dossiers are waiting for a retry."""
    pending = (
        select(
            func.count(DossierEvent.seq).label("events"),
            func.count(distinct(DossierEvent.dossier_id)).label("dossiers"),
            func.min(DossierEvent.at).label("oldest"),
        )
        .select_from(DossierEvent)
        .outerjoin(
            EventDelivery,
            and_(
                EventDelivery.dossier_id == DossierEvent.dossier_id,
                EventDelivery.consumer_id == EventConsumer.id,
            ),
        )
        .where(DossierEvent.seq > func.coalesce(EventDelivery.delivered_seq, 0))
        .correlate(EventConsumer)
        .lateral("pending")
    )
    retrying = (
        select(func.count())
        .select_from(EventDelivery)
        .where(EventDelivery.consumer_id == EventConsumer.id, EventDelivery.attempts > 0)
        .correlate(EventConsumer)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(
            EventConsumer.name,
            EventConsumer.active,
            pending.c.events,
            pending.c.dossiers,
            pending.c.oldest,
            retrying.label("retrying"),
        )
        .select_from(EventConsumer)
        .join(pending, true())
        .order_by(EventConsumer.name)
    )
    return [
        ConsumerBacklog(
            name=r.name,
            active=r.active,
            pending_events=int(r.events),
            pending_dossiers=int(r.dossiers),
            oldest_pending_at=r.oldest,
            retrying_dossiers=int(r.retrying),
        )
        for r in rows
    ]


async def replay(session: AsyncSession, consumer_name: str, from_seq: int) -> int:
    """Have a consumer receive again every event with `seq >= from_seq` (each dossier's from its
    first such event, in order), retrying at once. Returns the number of dossiers moved back."""
    if from_seq < 1:
        raise ValueError("from_seq starts at 1")
    consumer = await session.scalar(select(EventConsumer).where(EventConsumer.name == consumer_name))
    if consumer is None:
        raise NotFound("bên nhận sự kiện", consumer_name)
    moved = list(
        await session.scalars(
            update(EventDelivery)
            .where(EventDelivery.consumer_id == consumer.id, EventDelivery.delivered_seq >= from_seq)
            .values(delivered_seq=from_seq - 1, attempts=0, next_attempt_at=None, last_error=None)
            .returning(EventDelivery.dossier_id)
        )
    )
    if moved and consumer.active:
        await session.execute(
            update(Dossier)
            .where(Dossier.id.in_(moved), Dossier.sync_status == SyncStatus.SYNCED)
            .values(sync_status=SyncStatus.PENDING, updated_at=Dossier.updated_at)
            .execution_options(synchronize_session=False)
        )
    return len(moved)


async def register_consumer(
    session: AsyncSession, actor: Actor, name: str, url: str, *, now: datetime
) -> tuple[EventConsumer, str]:
    """A new receiver of dossier events; its signing secret is returned once."""
    if not actor.is_system_admin:
        raise Forbidden("Chỉ quản trị hệ thống được đăng ký nơi nhận sự kiện.")
    issues = Issues()
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{1,99}", name):
        issues.add(("name",), "BAD_FORMAT", "Tên gồm chữ thường, số và “-” (2–100 ký tự).")
    if not url.startswith(("https://", "http://")) or len(url) > 1000:
        issues.add(("url",), "BAD_FORMAT", "Địa chỉ nhận phải là URL http(s).")
    if await session.scalar(select(EventConsumer.id).where(EventConsumer.name == name)):
        issues.add(("name",), "DUPLICATE", "Tên này đã được dùng.")
    issues.raise_if_any()
    secret = secrets.token_urlsafe(32)
    consumer = EventConsumer(name=name, url=url, secret=secret, active=True, created_at=now)
    session.add(consumer)
    await session.flush()
    return consumer, secret


async def set_active(session: AsyncSession, actor: Actor, name: str, active: bool) -> EventConsumer:
    if not actor.is_system_admin:
        raise Forbidden("Chỉ quản trị hệ thống được thay đổi nơi nhận sự kiện.")
    consumer = await session.scalar(select(EventConsumer).where(EventConsumer.name == name).with_for_update())
    if consumer is None:
        raise NotFound("nơi nhận sự kiện", name)
    consumer.active = active
    await session.flush()
    return consumer


async def replay_dossiers(
    session: AsyncSession, consumer_id: uuid.UUID, dossier_ids: Sequence[uuid.UUID]
) -> int:
    """Have a consumer receive again every event of these dossiers, in order, at once (the daily
    reconciliation with the national portal uses it for the dossiers the portal holds wrongly)."""
    if not dossier_ids:
        return 0
    moved = list(
        await session.scalars(
            update(EventDelivery)
            .where(EventDelivery.consumer_id == consumer_id, EventDelivery.dossier_id.in_(list(dossier_ids)))
            .values(delivered_seq=0, attempts=0, next_attempt_at=None, last_error=None)
            .returning(EventDelivery.dossier_id)
        )
    )
    if moved:
        await session.execute(
            update(Dossier)
            .where(Dossier.id.in_(moved), Dossier.sync_status == SyncStatus.SYNCED)
            .values(sync_status=SyncStatus.PENDING, updated_at=Dossier.updated_at)
            .execution_options(synchronize_session=False)
        )
    return len(moved)


ROTATION_GRACE_MAX = timedelta(days=30)


async def _admin_consumer(session: AsyncSession, actor: Actor, name: str) -> EventConsumer:
    if not actor.is_system_admin:
        raise Forbidden("Chỉ quản trị hệ thống được thay đổi nơi nhận sự kiện.")
    consumer = await session.scalar(select(EventConsumer).where(EventConsumer.name == name).with_for_update())
    if consumer is None:
        raise NotFound("nơi nhận sự kiện", name)
    return consumer


async def rotate_secret(
    session: AsyncSession, actor: Actor, name: str, *, grace: timedelta, now: datetime
) -> tuple[EventConsumer, str]:
    """A new signing key for a webhook, returned once. For `grace` the old key still signs every
    request too (`X-DVC-Signature-Previous`), so the consumer can switch without losing any."""
    consumer = await _admin_consumer(session, actor, name)
    issues = Issues()
    if consumer.kind is not ConsumerKind.WEBHOOK:
        issues.add(
            ("name",), "NOT_WEBHOOK", "Khoá của Cổng Dịch vụ công quốc gia được cấu hình trong thiết lập."
        )
    if not timedelta(0) <= grace <= ROTATION_GRACE_MAX:
        issues.add(("graceHours",), "OUT_OF_RANGE", "Thời gian dùng song song khoá cũ từ 0 đến 720 giờ.")
    issues.raise_if_any()
    secret = secrets.token_urlsafe(32)
    consumer.previous_secret = consumer.secret if grace > timedelta(0) else None
    consumer.previous_secret_until = now + grace if grace > timedelta(0) else None
    consumer.secret = secret
    await session.flush()
    return consumer, secret


async def set_actions(
    session: AsyncSession, actor: Actor, name: str, actions: Sequence[str] | None
) -> EventConsumer:
    """Send this consumer only these actions (None: all). Events filtered out are acknowledged in
    order without a request, so a consumer never waits on what it did not ask for."""
    consumer = await _admin_consumer(session, actor, name)
    if actions is not None:
        issues = Issues()
        for i, action in enumerate(actions):
            if not re.fullmatch(r"[A-Z][A-Z_]{1,39}", action):
                issues.add(("actions", i), "BAD_FORMAT", "Tên thao tác gồm chữ in hoa và “_”.")
        issues.raise_if_any()
        actions = sorted(set(actions))
    consumer.actions = list(actions) if actions is not None else None
    await session.flush()
    return consumer


async def ensure_consumer(
    session: AsyncSession, *, name: str, kind: ConsumerKind, url: str, now: datetime
) -> EventConsumer:
    """The consumer of a built-in adapter (the national portal), created or pointed at `url`.
    Its credentials stay in settings; `secret` is left empty."""
    consumer = await session.scalar(select(EventConsumer).where(EventConsumer.name == name).with_for_update())
    if consumer is None:
        consumer = EventConsumer(name=name, kind=kind, url=url, secret="", active=True, created_at=now)
        session.add(consumer)
    else:
        consumer.kind = kind
        consumer.url = url
    await session.flush()
    return consumer
