"""SQL statements per GraphQL request, for the list benchmarks (bench/inbox.py, bench/catalog.py):
a list whose statements grow with its page size has an N+1 somewhere. The app runs in this
process, over httpx's ASGI transport, with a statement counter on its engine and on the compiled
reads' connections (`core.db.ReadsPool`: the planner's one statement per operation)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Iterable
from typing import Any

from bench.servers import app_env


def count_statements(
    database_url: str,
    query: str,
    variables: Callable[[int], dict[str, Any]],
    pages: Iterable[int],
    *,
    field: str,
    headers: dict[str, str] | None = None,
) -> dict[int, tuple[int, int]]:
    """For each page size: (statements, edges answered) of `query` with `variables(first)`, whose
    root field `field` is a connection."""
    import httpx
    from sqlalchemy import event

    os.environ.update(app_env(database_url))
    from app import create_app, runtime_from_settings
    from core.settings import get_settings

    runtime = runtime_from_settings(get_settings())
    app = create_app(runtime)
    engine = runtime.engine
    assert engine is not None
    counted: list[str] = []

    def listener(*args: Any) -> None:
        counted.append(str(args[2])[:80])

    from core.db import ReadsPool

    planned = ReadsPool.fetchval

    async def fetchval(pool: ReadsPool, sql: str, *args: Any, timeout: float | None = None) -> Any:
        counted.append(sql[:80])
        return await planned(pool, sql, *args, timeout=timeout)

    ReadsPool.fetchval = fetchval  # type: ignore[method-assign,assignment]  # counted, then run as it is

    async def request(client: httpx.AsyncClient, first: int) -> dict[str, Any]:
        answer = await client.post(
            "/graphql", json={"query": query, "variables": variables(first)}, headers=headers or {}
        )
        body: dict[str, Any] = answer.json()
        assert "errors" not in body, body
        return body

    async def run() -> dict[int, tuple[int, int]]:
        out = {}
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=60) as client:
                # Once first: the process's first request also loads what it caches (the calendar).
                await request(client, 1)
                event.listen(engine.sync_engine, "before_cursor_execute", listener)
                for first in pages:
                    counted.clear()
                    body = await request(client, first)
                    out[first] = (len(counted), len(body["data"][field]["edges"]))
                event.remove(engine.sync_engine, "before_cursor_execute", listener)
        await engine.dispose()
        return out

    try:
        return asyncio.run(run())
    finally:
        ReadsPool.fetchval = planned  # type: ignore[method-assign]
