"""Security records: the audit trail, rate counters and outgoing notifications.

A success is recorded in the same transaction as the change it describes (no record of a change
that was rolled back). A refusal that must leave a trace (a wrong password counts, a spent
code stays spent) writes only that trace and raises `Refused(keep_writes=True)`, so the request
commits it. Rate counters are counted by the `Journal` in a short transaction of their own.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from auth.actor import Actor
from core.observability import request_id as current_request_id
from models.accounts import Notification, RateCounter, SecurityEvent

T = TypeVar("T")


@dataclass(frozen=True)
class RequestMeta:
    """Where a request came from, for the audit trail and per-address limits."""

    address: str | None = None
    user_agent: str | None = None


def security_event(
    event: str,
    outcome: str,
    *,
    actor: Actor,
    now: datetime,
    meta: RequestMeta,
    subject_id: uuid.UUID | None = None,
    detail: dict[str, Any] | None = None,
) -> SecurityEvent:
    return SecurityEvent(
        at=now,
        event=event,
        outcome=outcome,
        actor_id=actor.id,
        actor_label=actor.label,
        subject_id=subject_id,
        address=meta.address,
        user_agent=(meta.user_agent or "")[:300] or None,
        detail=detail or {},
    )


def notification(
    *,
    account_id: uuid.UUID | None,
    channel: str,
    destination: str,
    template: str,
    subject: str,
    body: str,
    now: datetime,
    dossier_id: uuid.UUID | None = None,
) -> Notification:
    return Notification(
        dossier_id=dossier_id,
        account_id=account_id,
        channel=channel,
        destination=destination,
        template=template,
        subject=subject,
        body=body,
        created_at=now,
        request_id=current_request_id.get(),
    )


def window_start(now: datetime, window: timedelta) -> datetime:
    """The start of the fixed window `now` falls in (windows are aligned on the epoch)."""
    seconds = int(window.total_seconds())
    return datetime.fromtimestamp(int(now.timestamp()) // seconds * seconds, tz=now.tzinfo)


def seconds_left(now: datetime, window: timedelta) -> int:
    """Whole seconds until the fixed window `now` falls in ends (at least 1): when a caller
    refused in this window may try again (`Retry-After`, `retryAfterSeconds`)."""
    end = window_start(now, window) + window
    return max(1, math.ceil((end - now).total_seconds()))


async def hit(session: AsyncSession, key: str, *, window: timedelta, now: datetime, amount: int = 1) -> int:
    """Count `amount` more events for `key` in the current fixed window; returns the new count."""
    new = insert(RateCounter).values(key=key, window_start=window_start(now, window), count=amount)
    stmt = new.on_conflict_do_update(
        index_elements=[RateCounter.key, RateCounter.window_start],
        set_={"count": RateCounter.count + new.excluded.count},
    ).returning(RateCounter.count)
    return int((await session.execute(stmt)).scalar_one())


class Journal:
    """Writes that must outlive the request's transaction."""

    def __init__(self, factory: async_sessionmaker[AsyncSession], meta: RequestMeta, now: datetime) -> None:
        self._factory = factory
        self.meta = meta
        self.now = now

    async def run(self, work: Callable[[AsyncSession], Awaitable[T]]) -> T:
        async with self._factory() as session:
            result = await work(session)
            await session.commit()
            return result

    async def hit(self, key: str, *, window: timedelta) -> int:
        async def work(session: AsyncSession) -> int:
            return await hit(session, key, window=window, now=self.now)

        return await self.run(work)

    async def over_limit(self, key: str, *, window: timedelta, limit: int) -> int | None:
        """Count one more event under `key`: None while the window holds at most `limit`, else
        the seconds until the window ends (when the caller may try again)."""
        if await self.hit(key, window=window) <= limit:
            return None
        return seconds_left(self.now, window)

    async def give_back(self, *keys: str, window: timedelta) -> None:
        """Undo this request's `hit` on each key (the event turned out not to count)."""

        async def work(session: AsyncSession) -> None:
            for key in keys:
                await hit(session, key, window=window, now=self.now, amount=-1)

        await self.run(work)
