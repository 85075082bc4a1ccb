"""Every `RATE_LIMITED` answer says when the caller may try again: the whole seconds until the
limiter's fixed window ends — `retryAfterSeconds` in a `Refused` result or in a top-level
error's `extensions`, and the `Retry-After` header with a 429.

The clock stands 25 seconds into every window (windows are aligned on the epoch and the test
clock's hour is), so each answer must be exactly the window's length less 25 seconds.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import create_app
from core.clock import FixedClock
from core.settings import Settings
from storage.s3 import ObjectStore
from tests.accounts.helpers import REGISTER, SIGN_IN, citizen_input
from tests.accounts.test_apps import COUNTED, app_token, call, registered_app
from tests.conftest import NOW, SMS_KEY, app_runtime, gql
from tests.feedback.test_open311 import REPORT

ELAPSED = 25
LATER = NOW + timedelta(seconds=ELAPSED)
WRONG = "Sai-mat-khau-9999"


@pytest.fixture
def clock() -> FixedClock:
    """The `client` fixture's clock: 25 seconds into every window."""
    return FixedClock(LATER)


@asynccontextmanager
async def tuned_client(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    store: ObjectStore | None = None,
    *,
    policy: dict[str, Any] | None = None,
    **changes: Any,
) -> AsyncIterator[httpx.AsyncClient]:
    """A client of an app with these settings and account-policy numbers, at `LATER`."""
    runtime = app_runtime(
        settings.model_copy(update=changes), session_factory, store, clock=FixedClock(LATER)
    )
    runtime.policy = dataclasses.replace(runtime.policy, **(policy or {}))
    transport = httpx.ASGITransport(app=create_app(runtime))
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def expected(window: timedelta) -> int:
    return int(window.total_seconds()) - ELAPSED


def assert_refused(result: dict[str, Any], window: timedelta) -> None:
    assert (result["__typename"], result["code"]) == ("Refused", "RATE_LIMITED"), result
    assert isinstance(result["retryAfterSeconds"], int)
    assert result["retryAfterSeconds"] == expected(window) > 0


def assert_429(response: httpx.Response, window: timedelta) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["retry-after"] == str(expected(window))


SIGN_IN_RETRY = SIGN_IN.replace(
    "... on Refused { code message }", "... on Refused { code message retryAfterSeconds }"
)


async def _sign_in(c: httpx.AsyncClient, identifier: str) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(c, SIGN_IN_RETRY, {"i": identifier, "p": WRONG}))["data"]["signIn"]
    return result


# -- typed results (Refused) -----------------------------------------------------------------------


async def test_sign_in_per_address(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with tuned_client(settings, session_factory, policy={"sign_in_per_address": 2}) as c:
        for n in range(2):
            assert (await _sign_in(c, f"ghost{n}@example.vn"))["code"] == "BAD_CREDENTIALS"
        assert_refused(await _sign_in(c, "someone-else@example.vn"), timedelta(minutes=15))


async def test_sign_in_per_identifier(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with tuned_client(
        settings,
        session_factory,
        policy={"sign_in_per_identifier": 2, "sign_in_window": timedelta(minutes=5)},
    ) as c:
        for _ in range(2):
            assert (await _sign_in(c, "ghost@example.vn"))["code"] == "BAD_CREDENTIALS"
        assert_refused(await _sign_in(c, "ghost@example.vn"), timedelta(minutes=5))


async def test_registration_per_address(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    register = REGISTER.replace(
        "... on Refused { code message }", "... on Refused { code message retryAfterSeconds }"
    )
    async with tuned_client(settings, session_factory, policy={"registration_per_address": 1}) as c:
        first = (await gql(c, register, {"input": citizen_input(1)}))["data"]["citizenRegister"]
        assert first["__typename"] == "Registered"
        refused = (await gql(c, register, {"input": citizen_input(2)}))["data"]["citizenRegister"]
        assert_refused(refused, timedelta(hours=1))


CODE_REQUESTS = {
    "passwordResetRequest": 'passwordResetRequest(destination: "ghost@example.vn")',
    "contactVerificationResend": 'contactVerificationResend(destination: "ghost@example.vn")',
    "accountUnlockCodeRequest": 'accountUnlockCodeRequest(identifier: "ghost@example.vn")',
}


@pytest.mark.parametrize("name", sorted(CODE_REQUESTS))
async def test_codes_per_destination(
    name: str, settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    mutation = (
        f"mutation {{ {CODE_REQUESTS[name]} {{ __typename ... on Refused {{ code retryAfterSeconds }} }} }}"
    )
    async with tuned_client(settings, session_factory, policy={"codes_per_destination": 1}) as c:
        assert (await gql(c, mutation))["data"][name]["__typename"] == "Done"
        assert_refused((await gql(c, mutation))["data"][name], timedelta(hours=1))


# -- top-level errors and HTTP 429 -----------------------------------------------------------------

STATUS = 'query { dossierStatus(code: "000.00.99.H44-261127-9999") { public { status } } }'
UNKNOWN_CODE = "000.00.99.H44-261127-9999"


async def test_public_lookup_top_level_error(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    async with tuned_client(
        settings, session_factory, lookup_rate_limit=1, lookup_rate_window_seconds=300
    ) as c:
        assert "errors" not in await gql(c, STATUS)
        body = await gql(c, STATUS, expect_errors=True)
    (error,) = body["errors"]
    assert error["extensions"] == {"code": "RATE_LIMITED", "retryAfterSeconds": 300 - ELAPSED}


async def test_lookup_page(settings: Settings, session_factory: async_sessionmaker[AsyncSession]) -> None:
    async with tuned_client(
        settings, session_factory, lookup_rate_limit=1, lookup_rate_window_seconds=600
    ) as c:
        assert (await c.get(f"/tra-cuu/{UNKNOWN_CODE}")).status_code == 404
        assert_429(await c.get(f"/tra-cuu/{UNKNOWN_CODE}"), timedelta(seconds=600))


async def test_sms_lookup(settings: Settings, session_factory: async_sessionmaker[AsyncSession]) -> None:
    body = json.dumps({"from": "+84912000009", "text": f"TRACUU {UNKNOWN_CODE}"}).encode()
    signature = "sha256=" + hmac.new(SMS_KEY.encode(), body, hashlib.sha256).hexdigest()
    headers = {"X-DVC-Signature": signature, "Content-Type": "application/json"}
    async with tuned_client(
        settings, session_factory, sms_lookup_rate_limit=1, sms_lookup_rate_window_seconds=3600
    ) as c:
        assert (await c.post("/sms/inbound", content=body, headers=headers)).status_code == 200
        refused = await c.post("/sms/inbound", content=body, headers=headers)
    assert_429(refused, timedelta(hours=1))
    assert refused.json()["retryAfterSeconds"] == 3600 - ELAPSED


async def test_app_calls_per_minute_on_graphql(client: httpx.AsyncClient) -> None:
    client_id, secret = await registered_app(client, rateLimitPerMinute=1)
    token = await app_token(client, client_id, secret)
    assert (await call(client, token, COUNTED)).status_code == 200
    refused = await call(client, token, COUNTED)
    assert_429(refused, timedelta(minutes=1))
    assert refused.headers["content-type"] == "application/json"
    assert refused.json() == {
        "errors": [
            {
                "message": "Ứng dụng đã vượt giới hạn số lượt gọi mỗi phút.",
                "extensions": {"code": "RATE_LIMITED", "retryAfterSeconds": 60 - ELAPSED},
            }
        ]
    }


async def test_app_calls_per_minute_on_open311(client: httpx.AsyncClient) -> None:
    client_id, secret = await registered_app(client, scopes=["feedback:submit"], rateLimitPerMinute=1)
    token = await app_token(client, client_id, secret)
    filed = await client.post("/open311/v2/requests.json", data={**REPORT, "api_key": token})
    assert filed.status_code == 201, filed.text
    refused = await client.post("/open311/v2/requests.json", data={**REPORT, "api_key": token})
    assert_429(refused, timedelta(minutes=1))
    assert refused.json() == [{"code": 429, "description": "Ứng dụng đã vượt giới hạn số lượt gọi mỗi phút."}]
