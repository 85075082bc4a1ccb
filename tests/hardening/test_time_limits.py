"""The request time limit and the database statement timeout, against a real lock held by another
connection: the operation is cancelled with a clear error, and nothing it wrote is committed.

These tests give the app its own engine (not the test's transaction), so a commit would be real:
that is what they check does not happen.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest_asyncio
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from app import create_app
from core.db import make_engine, make_session_factory
from core.settings import Settings
from models.catalog import Field
from tests.conftest import ADMIN_TOKEN, Servers, gql
from tests.hardening.helpers import error_codes, runtime

RENAME = """mutation($id: ID!, $code: String!) {
  fieldUpdate(id: $id, input: {code: $code, name: "Đổi tên khi đang bị khoá"}) { __typename } }"""


@pytest_asyncio.fixture
async def locked_field(engine: AsyncEngine, demo_catalog: object) -> AsyncIterator[Field]:
    """A committed field row locked FOR UPDATE by another connection for the test's duration."""
    async with engine.connect() as locker:
        row = (
            await locker.execute(select(Field.id, Field.code, Field.name).order_by(Field.code).limit(1))
        ).one()
        await locker.execute(text("SELECT 1 FROM fields WHERE id = :id FOR UPDATE"), {"id": row.id})
        yield Field(id=row.id, code=row.code, name=row.name)
        await locker.rollback()


async def _rename(
    servers: Servers, settings: Settings, field: Field, **changes: object
) -> tuple[dict[str, Any], float, int]:
    statement_ms = int(changes.pop("db_statement_timeout_ms", 30_000))  # type: ignore[call-overload]
    engine = make_engine(servers.database_url, pool_size=2, statement_timeout_ms=statement_ms)
    try:
        app = create_app(runtime(settings, make_session_factory(engine), None, **changes))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as c:
            started = time.perf_counter()
            body = await gql(
                c, RENAME, {"id": str(field.id), "code": field.code}, token=ADMIN_TOKEN, expect_errors=True
            )
            elapsed = time.perf_counter() - started
        return body, elapsed, engine.pool.checkedout()  # type: ignore[attr-defined]
    finally:
        await engine.dispose()


async def _name_now(engine: AsyncEngine, field: Field) -> str:
    async with engine.connect() as c:
        return str((await c.execute(select(Field.name).where(Field.id == field.id))).scalar_one())


async def test_an_operation_over_the_time_limit_is_cancelled_and_rolled_back(
    servers: Servers, settings: Settings, engine: AsyncEngine, locked_field: Field
) -> None:
    body, elapsed, in_use = await _rename(servers, settings, locked_field, request_timeout_seconds=0.5)
    assert error_codes(body) == ["REQUEST_TIMEOUT"]
    assert body["errors"][0]["message"].startswith(
        "Yêu cầu xử lý quá thời gian cho phép (0.5 giây) nên đã bị huỷ"
    )
    assert body.get("data") is None
    assert elapsed < 5
    assert in_use == 0  # the request's connection went back to the pool


async def test_a_statement_over_the_database_timeout_is_cancelled_by_postgresql(
    servers: Servers, settings: Settings, engine: AsyncEngine, locked_field: Field
) -> None:
    body, elapsed, in_use = await _rename(servers, settings, locked_field, db_statement_timeout_ms=300)
    # The database's own error is an internal one: masked, no stack trace, no SQL, no driver name.
    assert body["errors"] == [
        {
            "message": "Lỗi hệ thống, vui lòng thử lại sau.",
            "locations": [{"line": 2, "column": 3}],
            "path": ["fieldUpdate"],
        }
    ]
    for leak in ("Traceback", "statement timeout", "asyncpg", "sqlalchemy", "UPDATE"):
        assert leak not in str(body)
    assert 0.3 <= elapsed < 5
    assert in_use == 0


async def test_nothing_was_committed_after_the_locks_are_released(
    servers: Servers, settings: Settings, engine: AsyncEngine, demo_catalog: object
) -> None:
    # Run both refusals again, then check with the lock gone that the name never changed.
    async with engine.connect() as locker:
        row = (
            await locker.execute(select(Field.id, Field.code, Field.name).order_by(Field.code).limit(1))
        ).one()
        await locker.execute(text("SELECT 1 FROM fields WHERE id = :id FOR UPDATE"), {"id": row.id})
        field = Field(id=row.id, code=row.code, name=row.name)
        first, _, _ = await _rename(servers, settings, field, request_timeout_seconds=0.3)
        second, _, _ = await _rename(servers, settings, field, db_statement_timeout_ms=200)
        await locker.rollback()
    assert error_codes(first) == ["REQUEST_TIMEOUT"]
    assert second["errors"][0]["message"] == "Lỗi hệ thống, vui lòng thử lại sau."
    assert await _name_now(engine, field) == row.name
