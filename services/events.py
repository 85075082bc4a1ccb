"""Announce a committed change to every app process (see `core.broker`)."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.broker import CHANNEL


async def announce(session: AsyncSession, topic: str, key: str) -> None:
    """Queue a notification in the current transaction: delivered only if it commits."""
    payload = json.dumps({"topic": topic, "key": key})
    await session.execute(select(func.pg_notify(CHANNEL, payload)))
