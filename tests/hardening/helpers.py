"""An app with its own settings (limits lowered, features turned off) over the test's transaction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import Runtime, create_app
from core.settings import Settings
from storage.s3 import ObjectStore
from tests.conftest import app_runtime


def runtime(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    store: ObjectStore | None,
    **changes: Any,
) -> Runtime:
    tuned = settings.model_copy(update=changes)
    return app_runtime(tuned, session_factory, store)


@asynccontextmanager
async def client_with(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    store: ObjectStore | None = None,
    **changes: Any,
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime(settings, session_factory, store, **changes))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
        yield c


def error_codes(body: dict[str, Any]) -> list[str]:
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]
