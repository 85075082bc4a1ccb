"""The outbox tests' fixtures: two receivers, an HTTP client for the deliveries, a dossier's story."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FixedClock
from storage.s3 import ObjectStore
from tests.dossiers.outbox.support import Receiver, Story


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest.fixture
def receiver2() -> Iterator[Receiver]:
    with Receiver() as r:
        yield r


@pytest_asyncio.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as c:
        yield c


@pytest.fixture
def story(client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore, clock: FixedClock) -> Story:
    return Story(client, session, store, clock)
