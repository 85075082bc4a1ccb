"""The pool without pre-ping: a connection the server closed is replaced at checkout, so the
next request works (no round trip is spent testing healthy connections)."""

from __future__ import annotations

import asyncio

from sqlalchemy import text

from core.db import make_engine
from tests.conftest import Servers


async def test_a_connection_closed_by_the_server_is_replaced(servers: Servers) -> None:
    engine = make_engine(servers.database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            first = await conn.scalar(text("SELECT pg_backend_pid()"))
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT pg_backend_pid()")) == first  # the pooled one
        killer = make_engine(servers.database_url, pool_size=1)
        async with killer.connect() as admin:
            await admin.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        await killer.dispose()
        await asyncio.sleep(0.3)  # the closed socket is noticed by the event loop
        async with engine.connect() as conn:
            again = await conn.scalar(text("SELECT pg_backend_pid()"))
        assert again != first
    finally:
        await engine.dispose()
