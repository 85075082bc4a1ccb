"""Watching and steering the outbox: `backlog` reports, per consumer, the events and dossiers
still to deliver and the time of the oldest pending event (`dvc outbox` prints it, and the
`outboxBacklog` query and /metrics read it); `replay` moves a consumer back so that it receives
again every event from a `seq` on, and `replay_dossiers` every event of some dossiers.

At least once means duplicates, and a replay sends events again on purpose: consumers deduplicate
by `X-DVC-Event-Id` (ids only grow within a dossier).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, distinct, func, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from models.dossiers import ConsumerKind, Dossier, DossierEvent, EventConsumer, EventDelivery, SyncStatus
from services.errors import NotFound


@dataclass(frozen=True)
class ConsumerBacklog:
    name: str
    active: bool
    pending_events: int
    pending_dossiers: int
    oldest_pending_at: datetime | None
    retrying_dossiers: int  # dossiers whose next event has failed at least once


async def backlog(session: AsyncSession, *, name: str | None = None) -> list[ConsumerBacklog]:
    """Per consumer (active or not; only `name` when given): events and dossiers not yet
    acknowledged, the time of the oldest such event, and how many dossiers are waiting for a
    retry."""
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
        .where(true() if name is None else EventConsumer.name == name)
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
    if moved and consumer.kind is ConsumerKind.NATIONAL_PORTAL:
        await _mark_pending(session, moved)
    return len(moved)


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
        await _mark_pending(session, moved)
    return len(moved)


async def _mark_pending(session: AsyncSession, dossier_ids: list[uuid.UUID]) -> None:
    """Dossiers marked SYNCED that the national portal must now receive again are PENDING once more (a
    delivery is no change of the dossier: its updated_at stays)."""
    await session.execute(
        update(Dossier)
        .where(Dossier.id.in_(dossier_ids), Dossier.sync_status == SyncStatus.SYNCED)
        .values(sync_status=SyncStatus.PENDING, updated_at=Dossier.updated_at)
        .execution_options(synchronize_session=False)
    )
