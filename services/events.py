"""Announce a committed change to every app process (see `core.broker`)."""

from __future__ import annotations

import json

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.broker import CHANNEL


async def announce(session: AsyncSession, topic: str, key: str, ref: str | None = None) -> None:
    """Queue a notification in the current transaction: delivered only if it commits. Ids only:
    `key` routes it (a dossier, an agency's inbox), `ref` names what changed."""
    payload = json.dumps({"topic": topic, "key": key, "ref": ref})
    await session.execute(select(func.pg_notify(CHANNEL, payload)))
