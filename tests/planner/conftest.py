"""Both read paths over one runtime: the compiled path (the planner) and the executor, in the
same test transaction (one snapshot, nothing else writing), so that their answers can be compared
byte for byte."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import create_app
from core.clock import FixedClock
from core.observability import PLANNED_OPERATIONS
from core.settings import Settings
from storage.s3 import ObjectStore
from tests.conftest import app_runtime


def _decoded(response: httpx.Response) -> Any:
    """The JSON answer, or the text of a refusal that is not JSON (a 400 in plain text)."""
    if response.headers.get("content-type", "").startswith("application/json"):
        return json.loads(response.content)
    return response.text


@dataclass
class Paths:
    compiled: httpx.AsyncClient
    executor: httpx.AsyncClient
    settings: Settings  # the compiled app's (its runtime's) settings

    async def both(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        operation_name: str | None = None,
    ) -> tuple[Any, Any, bool]:
        """The two answers (decoded) and whether the compiled path answered it itself."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        body: dict[str, Any] = {"query": query, "variables": variables or {}}
        if operation_name is not None:
            body["operationName"] = operation_name
        before = PLANNED_OPERATIONS.labels("compiled")._value.get()
        compiled = await self.compiled.post("/graphql", json=body, headers=headers)
        planned = PLANNED_OPERATIONS.labels("compiled")._value.get() > before
        executed = await self.executor.post("/graphql", json=body, headers=headers)
        assert compiled.status_code == executed.status_code
        return _decoded(compiled), _decoded(executed), planned

    async def same(
        self, query: str, variables: dict[str, Any] | None = None, *, token: str | None = None
    ) -> Any:
        """Asks both paths; the compiled path must have answered, and exactly as the executor:
        the same keys in the same order, the same values and nulls."""
        compiled, executed, planned = await self.both(query, variables, token=token)
        assert planned, f"not compiled: {query}"
        assert json.dumps(compiled) == json.dumps(executed)
        return compiled


@pytest_asyncio.fixture
async def paths(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    clock: FixedClock,
) -> AsyncIterator[Paths]:
    runtime = app_runtime(settings, session_factory, store, clock=clock)
    compiled = create_app(runtime)
    executor = create_app(runtime, settings=settings.model_copy(update={"compiled_reads": False}))
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=compiled), base_url="http://test") as c,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=executor), base_url="http://test") as e,
    ):
        yield Paths(c, e, settings)


# The seeded scene (a database of its own, once per session): tests/planner/scene.py.
from tests.planner.scene import scene, scene_database  # noqa: E402

__all__ = ["Paths", "paths", "scene", "scene_database"]
