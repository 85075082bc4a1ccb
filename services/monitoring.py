"""Figures operators watch that live in the database: outbox backlogs, the overdue dossiers and
the rows waiting in a DEFAULT partition.

Read when `/metrics` is scraped (a few aggregate statements; the overdue count uses the partial
index of open dossiers by due time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts import Notification
from models.catalog import Agency
from models.dossiers import Dossier
from services.dossiers.queries import OPEN
from services.notifications import MAX_ATTEMPTS
from services.outbox.operations import backlog
from services.partitions import default_rows


@dataclass(frozen=True)
class Figures:
    # consumer -> (pending events, seconds since the oldest pending event or 0)
    outbox: dict[str, tuple[int, float]]
    notifications_pending: int
    notifications_oldest_seconds: float
    overdue_by_agency: dict[str, int]
    partition_default_rows: dict[str, int]  # table -> rows in its DEFAULT partition (migration 0033)


async def figures(session: AsyncSession, now: datetime) -> Figures:
    consumers = {
        b.name: (
            b.pending_events,
            (now - b.oldest_pending_at).total_seconds() if b.oldest_pending_at else 0.0,
        )
        for b in await backlog(session)
        if b.active
    }
    waiting = and_(Notification.sent_at.is_(None), Notification.attempts < MAX_ATTEMPTS)
    count, oldest = (
        await session.execute(select(func.count(), func.min(Notification.created_at)).where(waiting))
    ).one()
    overdue = await session.execute(
        select(Agency.code, func.count())
        .join(Dossier, Dossier.receiving_agency_id == Agency.id)
        .where(Dossier.status.in_(OPEN), Dossier.paused_at.is_(None), Dossier.due_at < now)
        .group_by(Agency.code)
    )
    return Figures(
        outbox=consumers,
        notifications_pending=int(count),
        notifications_oldest_seconds=(now - oldest).total_seconds() if oldest else 0.0,
        overdue_by_agency={code: int(n) for code, n in overdue},
        partition_default_rows=await default_rows(session),
    )
