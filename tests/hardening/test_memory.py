"""Issue 18, finding 10: memory that grew without bound under the catalog list.

Each request leaves reference cycles that only Python's cyclic collector frees (every ORM
instance it loads, graphql-core's execution context). The process used to raise the collector's
thresholds after start-up (20,000 / 50 / 100), which let those cycles survive into the oldest
generation and pile up between rare full collections: under wrk at 32 connections the process
grew by several kB per catalog list, with no plateau. The process's collector policy
(`web.runtime.settle_heap`) now only freezes the start-up heap.

The test drives the catalog list with nested fees and components through the app, sixteen
requests at a time over a real connection pool, under the process's own collector policy, and
counts the objects the collector tracks. With the old thresholds the count rose by about 500
objects per request over 512 requests (43,000 → 264,000); now it stays at what the requests in
flight hold.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from app import create_app
from core.settings import Settings
from tests.conftest import app_runtime, gql
from web.runtime import settle_heap

CATALOG_LIST = (
    "query($s: String!) { procedures(search: $s, first: 10) { totalCount edges { node {"
    " code name fees { name amount } components { name required } } } } }"
)
AT_ONCE = 16
BATCHES_PER_ROUND = 4
ROUNDS = 8


@pytest.fixture
def process_collector_policy() -> Iterator[None]:
    """The collector as the serving process sets it after start-up; put back afterwards."""
    thresholds = gc.get_threshold()
    settle_heap()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


async def test_request_garbage_does_not_pile_up(
    engine: AsyncEngine, settings: Settings, demo_catalog: dict[str, Any], process_collector_policy: None
) -> None:
    factory = async_sessionmaker(engine, expire_on_commit=False)
    app = create_app(app_runtime(settings, factory))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        for _ in range(2):  # warm-up: caches, prepared statements, the pool's connections
            await asyncio.gather(*(gql(client, CATALOG_LIST, {"s": "khai sinh"}) for _ in range(AT_ONCE)))
        peaks = [await _round(client) for _ in range(ROUNDS)]
    first, last = max(peaks[:3]), max(peaks[-3:])
    # What sixteen requests in flight hold is tens of thousands of objects; a pile-up adds about
    # 30,000 a round. Allow the noise of when collections happen to fall, not a trend.
    assert last < first * 1.5, f"objects tracked by the collector, peak per round: {peaks}"


async def _round(client: httpx.AsyncClient) -> int:
    """The most objects the collector tracks at any answer in one round of requests."""
    peak = 0

    async def one() -> None:
        nonlocal peak
        body = await gql(client, CATALOG_LIST, {"s": "khai sinh"})
        assert body["data"]["procedures"]["edges"]
        peak = max(peak, len(gc.get_objects()))

    for _ in range(BATCHES_PER_ROUND):
        await asyncio.gather(*(one() for _ in range(AT_ONCE)))
    return peak
