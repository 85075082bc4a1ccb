"""One status per failure, on every endpoint that takes credentials (docs/security.md, "One
status per failure"): 401 for missing, invalid, revoked or expired credentials, 403 for valid
credentials without the scope, 429 for a rate limit — each in its protocol's body. Where a
protocol fixes the answer, the table says so: the payment gateway's IPN always reads HTTP 200 and
its own `RspCode`; GraphQL answers an operation the caller may not run with HTTP 200 and a
top-level error whose code names the same failure (`UNAUTHENTICATED`, `FORBIDDEN`), as
GraphQL over HTTP does once execution has begun.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from auth.tokens import issue_access
from core.settings import Settings
from services.outbox.signing import sign
from tests.accounts.test_apps import COUNTED, REVOKE_APP, app_token, registered_app
from tests.conftest import ADMIN_ID, NOW, TOKENS, admin_gql
from tests.feedback.test_open311 import REPORT
from tests.national_portal.portal import SIGNING_SECRET
from tests.payments.helpers import ipn

METRICS_TOKEN = "scrape-token-0123456789"
STAMP = str(int(NOW.timestamp()))
APP_RATE = "Ứng dụng đã vượt giới hạn số lượt gọi mỗi phút."


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"metrics_token": METRICS_TOKEN, "national_portal_signing_secret": SIGNING_SECRET}
    )


# -- the credentials of each failure ---------------------------------------------------------------


@dataclass
class App:
    client_id: str
    secret: str
    token: str


async def _app(client: httpx.AsyncClient, scopes: list[str], per_minute: int = 100) -> App:
    client_id, secret = await registered_app(client, scopes=scopes, rateLimitPerMinute=per_minute)
    return App(client_id, secret, await app_token(client, client_id, secret))


async def _revoked(client: httpx.AsyncClient) -> App:
    app = await _app(client, ["feedback:submit", "catalog:read"])
    revoked = (await admin_gql(client, REVOKE_APP, {"c": app.client_id}))["appRevoke"]
    assert revoked["__typename"] == "AppSaved"
    return app


EXPIRED = issue_access(TOKENS, account_id=ADMIN_ID, token_version=1, now=NOW - timedelta(hours=1))


# -- each endpoint, sending one credential ----------------------------------------------------------


def _bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


async def graphql(client: httpx.AsyncClient, token: str | None) -> httpx.Response:
    # A mutation that commits, so an app's call is counted (see tests/accounts/test_apps.py).
    return await client.post("/graphql", json={"query": COUNTED}, headers=_bearer(token))


async def graphql_person_only(client: httpx.AsyncClient, token: str | None) -> httpx.Response:
    """A mutation only a signed-in person may run."""
    return await client.post(
        "/graphql", json={"query": "mutation { signOutEverywhere { __typename } }"}, headers=_bearer(token)
    )


async def open311(client: httpx.AsyncClient, token: str | None) -> httpx.Response:
    data = {**REPORT, "api_key": token} if token else REPORT
    return await client.post("/open311/v2/requests.json", data=data)


async def open311_read(client: httpx.AsyncClient, token: str | None) -> httpx.Response:
    """Reading is public; a key sent anyway is checked."""
    return await client.get("/open311/v2/requests.json", params={"api_key": token} if token else {})


async def exports(client: httpx.AsyncClient, token: str | None) -> httpx.Response:
    """Public too; a bearer token sent anyway is checked."""
    params = {"from": "2026-11-01", "to": "2026-11-30"}
    return await client.get("/exports/statistics.csv", params=params, headers=_bearer(token))


async def metrics(client: httpx.AsyncClient, token: str | None) -> httpx.Response:
    return await client.get("/metrics", headers=_bearer(token))


async def sms(client: httpx.AsyncClient, key: str | None) -> httpx.Response:
    body = json.dumps({"from": "+84912000077", "text": "TRACUU 000.00.99.H44-261127-9999"}).encode()
    headers = {"Content-Type": "application/json"}
    if key is not None:
        headers["X-DVC-Signature"] = "sha256=" + hmac.new(key.encode(), body, hashlib.sha256).hexdigest()
    return await client.post("/sms/inbound", content=body, headers=headers)


async def portal(client: httpx.AsyncClient, stamp_and_secret: str | None) -> httpx.Response:
    body = b"{}"
    headers = {"Content-Type": "application/json"}
    if stamp_and_secret is not None:
        stamp, secret = stamp_and_secret.split(" ", 1)
        headers |= {"X-DVC-Timestamp": stamp, "X-DVC-Signature": sign(secret, stamp, body)}
    return await client.post("/national-portal/dossiers", content=body, headers=headers)


async def oauth(client: httpx.AsyncClient, pair: str | None) -> httpx.Response:
    data = {"grant_type": "client_credentials"}
    if pair is None:
        return await client.post("/oauth/token", data=data)
    client_id, secret = pair.split(" ", 1)
    return await client.post("/oauth/token", data=data, auth=httpx.BasicAuth(client_id, secret))


async def vnpay_ipn(client: httpx.AsyncClient, secret: str | None) -> httpx.Response:
    params = ipn("KHONG-CO", 50000, secret=secret or "x")
    if secret is None:
        params.pop("vnp_SecureHash")
    return await client.get("/payments/vnpay/ipn", params=params)


Send = Callable[[httpx.AsyncClient, str | None], Awaitable[httpx.Response]]
Credential = Callable[[httpx.AsyncClient], Awaitable[str | None]]


def fixed(value: str | None) -> Credential:
    async def credential(client: httpx.AsyncClient) -> str | None:
        return value

    return credential


async def revoked_token(client: httpx.AsyncClient) -> str:
    return (await _revoked(client)).token


async def revoked_client(client: httpx.AsyncClient) -> str:
    app = await _revoked(client)
    return f"{app.client_id} {app.secret}"


async def app_without_scope(client: httpx.AsyncClient) -> str:
    return (await _app(client, ["catalog:read"])).token


async def app_over_its_rate(client: httpx.AsyncClient) -> str:
    """An app allowed one call a minute that made it (through the endpoint under test)."""
    return (await _app(client, ["feedback:submit", "catalog:read"], per_minute=1)).token


# -- the answers, per protocol ---------------------------------------------------------------------


def graphql_error(code: str) -> Callable[[httpx.Response], None]:
    def check(response: httpx.Response) -> None:
        assert response.headers["content-type"] == "application/json"
        (error,) = response.json()["errors"]
        assert error["extensions"]["code"] == code
        assert error["message"]

    return check


def georeport(response: httpx.Response) -> None:
    assert response.json() == [
        {"code": response.status_code, "description": response.json()[0]["description"]}
    ]


def plain_text(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/plain")


def json_error(response: httpx.Response) -> None:
    assert response.json()["error"]


def csv_file(response: httpx.Response) -> None:
    assert response.headers["content-type"].startswith("text/csv")


def georeport_list(response: httpx.Response) -> None:
    assert isinstance(response.json(), list)


def export_error(response: httpx.Response) -> None:
    assert response.json()["code"] == "UNAUTHENTICATED"


def oauth_error(response: httpx.Response) -> None:
    assert response.json()["error"] == "invalid_client"


def vnpay_answer(response: httpx.Response) -> None:
    assert response.json()["RspCode"] == "97"  # invalid signature, in the gateway's protocol


@dataclass(frozen=True)
class Case:
    send: Send
    credential: Credential
    status: int
    body: Callable[[httpx.Response], None]
    header: tuple[str, str | None] | None = None  # a header the answer must carry (any value: None)
    warm_up: bool = False  # send once first (a rate limit's allowance)


CHALLENGE = ("www-authenticate", 'Bearer error="invalid_token"')
BEARER = ("www-authenticate", "Bearer")
SIGNED = ("www-authenticate", None)  # DVC-HMAC-SHA256 realm="…": callers sign, they send no token
RETRY = ("retry-after", None)  # any value: tests/hardening/test_retry_after.py checks the number

TABLE: dict[str, Case] = {
    # GraphQL
    "graphql, no token": Case(graphql_person_only, fixed(None), 200, graphql_error("UNAUTHENTICATED")),
    "graphql, invalid token": Case(
        graphql, fixed("not-a-token"), 401, graphql_error("UNAUTHENTICATED"), CHALLENGE
    ),
    "graphql, revoked token": Case(graphql, revoked_token, 401, graphql_error("UNAUTHENTICATED"), CHALLENGE),
    "graphql, expired token": Case(graphql, fixed(EXPIRED), 401, graphql_error("UNAUTHENTICATED"), CHALLENGE),
    "graphql, without the scope": Case(
        graphql_person_only, app_without_scope, 200, graphql_error("FORBIDDEN")
    ),
    "graphql, over the rate": Case(
        graphql, app_over_its_rate, 429, graphql_error("RATE_LIMITED"), RETRY, True
    ),
    # Open311 GeoReport v2
    "open311, no api_key": Case(open311, fixed(None), 401, georeport, BEARER),
    "open311, invalid api_key": Case(open311, fixed("not-a-token"), 401, georeport, CHALLENGE),
    "open311, revoked api_key": Case(open311, revoked_token, 401, georeport, CHALLENGE),
    "open311, expired api_key": Case(open311, fixed(EXPIRED), 401, georeport, CHALLENGE),
    "open311, without the scope": Case(open311, app_without_scope, 403, georeport),
    "open311, over the rate": Case(open311, app_over_its_rate, 429, georeport, RETRY, True),
    # Open311 reads: public, but a key sent anyway is checked
    "open311 read, no api_key": Case(open311_read, fixed(None), 200, georeport_list),
    "open311 read, invalid api_key": Case(open311_read, fixed("not-a-token"), 401, georeport, CHALLENGE),
    "open311 read, revoked api_key": Case(open311_read, revoked_token, 401, georeport, CHALLENGE),
    "open311 read, expired api_key": Case(open311_read, fixed(EXPIRED), 401, georeport, CHALLENGE),
    # statistics exports: public, but a token sent anyway is checked
    "exports, no token": Case(exports, fixed(None), 200, csv_file),
    "exports, invalid token": Case(exports, fixed("not-a-token"), 401, export_error, CHALLENGE),
    "exports, revoked token": Case(exports, revoked_token, 401, export_error, CHALLENGE),
    "exports, expired token": Case(exports, fixed(EXPIRED), 401, export_error, CHALLENGE),
    "exports, over the rate": Case(exports, app_over_its_rate, 429, lambda r: None, RETRY, True),
    # Prometheus scrape
    "metrics, no token": Case(metrics, fixed(None), 401, plain_text, BEARER),
    "metrics, wrong token": Case(metrics, fixed("wrong"), 401, plain_text, CHALLENGE),
    # SMS gateway (HMAC of the body)
    "sms, unsigned": Case(sms, fixed(None), 401, json_error, SIGNED),
    "sms, wrong key": Case(sms, fixed("another-key-0123456789"), 401, json_error, SIGNED),
    # national portal (HMAC of timestamp and body)
    "portal, unsigned": Case(portal, fixed(None), 401, json_error, SIGNED),
    "portal, wrong secret": Case(
        portal, fixed(f"{STAMP} another-secret-0123456789abcdef"), 401, json_error, SIGNED
    ),
    "portal, stale": Case(
        portal, fixed(f"{int(NOW.timestamp()) - 3600} {SIGNING_SECRET}"), 401, json_error, SIGNED
    ),
    # OAuth client credentials (RFC 6749 §5.2: invalid_client is 401)
    "oauth, no client": Case(oauth, fixed(None), 401, oauth_error, ("www-authenticate", 'Basic realm="dvc"')),
    "oauth, wrong secret": Case(oauth, fixed("nobody wrong"), 401, oauth_error),
    "oauth, revoked client": Case(oauth, revoked_client, 401, oauth_error),
    # VNPAY IPN: the gateway reads only HTTP 200 and its RspCode
    "vnpay ipn, unsigned": Case(vnpay_ipn, fixed(None), 200, vnpay_answer),
    "vnpay ipn, wrong secret": Case(vnpay_ipn, fixed("WRONG"), 200, vnpay_answer),
}


@pytest.mark.parametrize("name", list(TABLE))
async def test_each_failure_gets_its_status_on_each_endpoint(name: str, client: httpx.AsyncClient) -> None:
    case = TABLE[name]
    credential = await case.credential(client)
    if case.warm_up:
        first = await case.send(client, credential)
        assert first.status_code in (200, 201), first.text
    response = await case.send(client, credential)
    assert response.status_code == case.status, response.text
    case.body(response)
    if case.header is not None:
        header, value = case.header
        assert header in response.headers, response.headers
        if value is not None:
            assert response.headers[header] == value
    assert "Traceback" not in response.text
