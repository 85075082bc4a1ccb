"""One delivery round of the outbox — `deliver_once(session, client, now=…)`, inside the caller's
transaction:

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
5. Dossiers whose events the national portal now holds are marked `sync_status = SYNCED` —
   synchronised **with the national portal** (Cổng DVC quốc gia), what indicator 1.4 of the
   Decision 766 index scores: only a delivery by a `NATIONAL_PORTAL` consumer sets it, a webhook
   answering 2xx never does, and with no national-portal consumer nothing is SYNCED. Best
   effort: their rows are locked `FOR NO KEY UPDATE SKIP LOCKED` (a dossier being acted on is
   left for a later round) and re-checked in a fresh statement, so a dossier is never marked
   SYNCED while one of its committed events is still undelivered. Acts set it back to PENDING.

A consumer may take only some actions (`actions`; the others are acknowledged in order without a
request). A kind without a transport fails its deliveries (retried) rather than skipping them.

Why order per dossier holds with a per-dossier watermark: acts lock the dossier row (`SELECT …
FOR UPDATE`) before appending its event and keep the lock until commit, so a dossier's events
become visible in `seq` order; a smaller `seq` of the same dossier never appears after a greater
one has been delivered. (Across dossiers `seq` order and commit order may differ; that is fine.)

`deliver_once` never commits and reads no clock (`now` is passed in). The row locks are held
during the HTTP requests of the round, which is what keeps concurrent dispatchers apart.
Consequence: keep `batch` and the client's timeout modest (a round lasts at most about
`batch / concurrency × timeout` per consumer).

Cost: finding due work scans `dossier_events` against `event_deliveries` each round (hash
anti-join, index probes on `dossier_events.dossier_id`); comfortable up to a few million events
with a round every second or so. Beyond that, keep a per-consumer watermark.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import Exists, and_, exists, func, literal, or_, select, true, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

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
from services.outbox.transport import REQUEST_TIMEOUT, EventFacts, Outgoing, Target, Transport, failure
from services.outbox.webhook import WEBHOOK, webhook_body
from services.retry import Backoff

log = logging.getLogger(__name__)

CONCURRENCY = 8  # requests in flight per consumer, each for a different dossier
backoff = Backoff(first=timedelta(seconds=2), cap=timedelta(hours=1))  # no max: never given up


@dataclass
class DeliveryRun:
    """What one round did."""

    sent: int = 0  # events acknowledged (2xx)
    failed: int = 0  # dossiers whose next event failed this round (retried after a backoff)
    dossiers: int = 0  # (consumer, dossier) pairs worked on
    synced: int = 0  # dossiers marked SYNCED
    more: bool = False  # some consumer had at least `batch` due dossiers: run again soon


@dataclass
class _EventChain:
    """One dossier's pending events for one consumer, and how far this round got."""

    target: Target
    actions: frozenset[str] | None
    dossier_id: uuid.UUID
    delivered_seq: int
    attempts: int
    events: list[Outgoing]
    limit: asyncio.Semaphore  # requests in flight for this consumer, shared by its chains
    sent: int = 0
    error: str | None = None


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
        pending.setdefault(r.dossier_id, []).append(_outgoing(r))
    return pending


def _outgoing(r: Any) -> Outgoing:
    """One row of `_pending_events` as it is sent: the webhook's body and every transport's facts."""
    body = webhook_body(
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
    return Outgoing(int(r.seq), body, facts, r.request_id)


async def _post(
    client: httpx.AsyncClient,
    chain: _EventChain,
    event: Outgoing,
    timestamp: str,
    transport: Transport | None,
) -> str | None:
    if transport is None:
        return f"no transport configured for {chain.target.kind.value}"
    try:
        async with asyncio.timeout(REQUEST_TIMEOUT * 2):
            return await transport.post(client, chain.target, event, timestamp)
    except Exception as error:  # noqa: BLE001 — a transport that raises is a failed delivery
        return failure(error)


async def _send(
    client: httpx.AsyncClient, chain: _EventChain, timestamp: str, transport: Transport | None
) -> None:
    """Send one dossier's pending events in order, stopping at the first failure."""
    async with chain.limit:
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


async def _save_progress(session: AsyncSession, chain: _EventChain, now: datetime) -> None:
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
    """Some national-portal consumer (active or paused) has not acknowledged some event of the
    dossier (correlated to the enclosing statement's `dossiers`). Webhooks do not count: SYNCED
    means synchronised with the national portal."""
    return (
        select(literal(1))
        .select_from(DossierEvent)
        .join(EventConsumer, EventConsumer.kind == ConsumerKind.NATIONAL_PORTAL)
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


async def mark_synced(session: AsyncSession, dossier_ids: set[uuid.UUID]) -> int:
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
    portal = exists().where(EventConsumer.kind == ConsumerKind.NATIONAL_PORTAL)
    result = await session.execute(
        update(Dossier)
        .where(Dossier.id.in_(locked), portal, ~_undelivered())
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
    chains: list[_EventChain] = []
    for consumer in await session.scalars(
        select(EventConsumer).where(EventConsumer.active.is_(True)).order_by(EventConsumer.name)
    ):
        due = await _due(session, consumer.id, now=now, batch=batch)
        if len(due) >= batch:
            run.more = True
        if due:
            chains.extend(await _chains(session, consumer, due, now=now, concurrency=concurrency))
    if not chains:
        return run
    timestamp = str(int(now.timestamp()))
    async with asyncio.TaskGroup() as tasks:
        for chain in chains:
            tasks.create_task(_send(client, chain, timestamp, known.get(chain.target.kind)))
    complete = await _save_round(session, chains, run, now)
    run.synced = await mark_synced(session, complete)
    return run


async def _chains(
    session: AsyncSession,
    consumer: EventConsumer,
    due: Sequence[tuple[uuid.UUID, int, int]],
    *,
    now: datetime,
    concurrency: int,
) -> list[_EventChain]:
    """The due dossiers of one consumer with their pending events, sharing one limit on the
    requests in flight."""
    events = await _pending_events(session, consumer.id, [d for d, _, _ in due])
    limit = asyncio.Semaphore(max(concurrency, 1))
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
    return [
        _EventChain(target, actions, dossier_id, delivered, attempts, pending, limit)
        for dossier_id, delivered, attempts in due
        if (pending := events.get(dossier_id))
    ]


async def _save_round(
    session: AsyncSession, chains: Sequence[_EventChain], run: DeliveryRun, now: datetime
) -> set[uuid.UUID]:
    """Write each chain's progress and count it in `run`; the dossiers that were sent everything
    pending (candidates for SYNCED)."""
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
        elif chain.sent and chain.target.kind is ConsumerKind.NATIONAL_PORTAL:
            complete.add(chain.dossier_id)
    return complete
