"""Odd requests get a 400 with a machine code, never a 500 (security probe: a JSON body that is
not an object answered 500 and dropped the connection; a NUL in a REST path or parameter
answered 500 with asyncpg's message in the log).

The client here does not re-raise the app's exceptions, so it sees what a real client sees.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import create_app
from core.settings import Settings
from models.feedback import Inquiry
from tests.accounts.test_apps import app_token, registered_app
from tests.conftest import ADMIN_TOKEN
from tests.hardening.helpers import runtime


@pytest_asyncio.fixture
async def outside(
    settings: Settings, session_factory: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(runtime(settings, session_factory, None))
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


def _refusal(response: httpx.Response, code: str) -> str:
    assert response.status_code == 400, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/json"), response.headers
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == code, error
    assert "Traceback" not in response.text
    assert "asyncpg" not in response.text
    message: str = error["message"]
    return message


@pytest.mark.parametrize(
    "body",
    [b'"just a string"', b"[]", b"null", b"42", b"true", b"[1]", b'[{"query": "{ __typename }"}]'],
    ids=["string", "empty-list", "null", "number", "boolean", "list-of-number", "batch"],
)
@pytest.mark.parametrize("token", [None, ADMIN_TOKEN], ids=["anonymous", "signed-in"])
async def test_a_graphql_body_that_is_not_an_object_is_a_bad_request(
    outside: httpx.AsyncClient, body: bytes, token: str | None
) -> None:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    response = await outside.post("/graphql", content=body, headers=headers)
    assert _refusal(response, "BAD_REQUEST")
    assert response.headers.get("connection") != "close"
    # the connection (and, signed in, the request's database session) is fine for the next one
    after = await outside.post("/graphql", json={"query": "{ __typename }"}, headers=headers)
    assert after.json() == {"data": {"__typename": "Query"}}


async def test_malformed_json_is_a_bad_request_too(outside: httpx.AsyncClient) -> None:
    response = await outside.post("/graphql", content=b"{", headers={"content-type": "application/json"})
    _refusal(response, "BAD_REQUEST")


NUL_URLS = [
    ("GET", "/tra-cuu/a%00b"),
    ("GET", "/xac-minh/a%00b"),
    ("GET", "/open311/v2/requests/%00.json"),
    ("GET", "/open311/v2/requests.json?service_request_id=%00"),
    ("GET", "/open311/v2/requests.json?service_code=%00"),
    ("POST", "/open311/v2/requests.json?api_key=%00"),
    ("GET", "/exports/statistics.csv?from=2026-01-01&to=2026-02-01&agencyCode=a%00b"),
    ("GET", "/exports/statistics.csv?from=2026-01-01&to=2026-02-01&procedureCode=%00"),
    ("GET", "/payments/vnpay/ipn?vnp_TxnRef=%00"),
    ("POST", "/sms/inbound?x=%00"),
    ("POST", "/national-portal/dossiers?%00"),
    ("GET", "/graphql?query=%7B__typename%7D&operationName=%00"),
    ("GET", "/a%00b"),
]


@pytest.mark.parametrize(("method", "url"), NUL_URLS, ids=[u for _, u in NUL_URLS])
async def test_a_nul_in_a_path_or_parameter_is_a_bad_request(
    outside: httpx.AsyncClient, caplog: pytest.LogCaptureFixture, method: str, url: str
) -> None:
    with caplog.at_level(logging.ERROR):
        response = await outside.request(method, url)
    assert "NUL" in _refusal(response, "BAD_CHARACTER")
    assert [r for r in caplog.records if r.levelno >= logging.ERROR] == []


async def test_a_nul_in_the_oauth_token_form_is_a_bad_request(outside: httpx.AsyncClient) -> None:
    form = {"grant_type": "client_credentials", "client_id": "a\x00", "client_secret": "x"}
    in_form = await outside.post("/oauth/token", data=form)
    basic = await outside.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("a\x00", "x"))
    for response in (in_form, basic):
        assert response.status_code == 400, response.text
        assert response.json()["error"] == "invalid_request"
        assert "NUL" in response.json()["error_description"]


async def test_a_nul_in_an_open311_form_is_a_bad_request(
    outside: httpx.AsyncClient, session: AsyncSession
) -> None:
    client_id, secret = await registered_app(outside, scopes=["feedback:submit"])
    token = await app_token(outside, client_id, secret)
    report = {
        "service_code": "XAYDUNG",
        "description": "Công trình lấn chiếm vỉa hè\x00 tại số 12 đường Hùng Vương.",
        "first_name": "Lê",
        "last_name": "Minh",
        "email": "minh@example.vn",
        "api_key": token,
    }
    response = await outside.post("/open311/v2/requests.json", data=report)
    assert response.status_code == 400, response.text
    (error,) = response.json()
    assert error["code"] == 400
    assert "NUL" in error["description"]
    assert not list(await session.scalars(select(Inquiry)))
