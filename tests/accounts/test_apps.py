"""Third-party applications: registration by the system admin, OAuth 2 client credentials at
`/oauth/token`, app tokens on the GraphQL API (rate limit, revocation, not a person)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

import web.runtime as runtime_module
from core.db import RequestDb, SessionFactory
from core.replicas import ReadReplicas
from models.accounts import OAuthClient, SecurityEvent
from storage.s3 import ObjectStore
from tests.conftest import ADMIN_ID, ADMIN_TOKEN, NOW, admin_gql, gql
from tests.dossiers.helpers import act
from tests.dossiers.test_access_and_integrity import submitted

REGISTER_APP = """
mutation($input: AppRegisterInput!) { appRegister(input: $input) {
  __typename
  ... on AppRegistered { clientSecret app { clientId name contactEmail scopes rateLimitPerMinute
      createdAt revokedAt } }
  ... on ValidationFailed { code errors { field code } }
} }"""

REVOKE_APP = """
mutation($c: String!) { appRevoke(clientId: $c) {
  __typename ... on AppSaved { app { clientId revokedAt } } ... on NotFound { code } } }"""

APPS = "{ apps { clientId name contactEmail scopes rateLimitPerMinute createdAt revokedAt } }"
PUBLIC = "{ fields { code } }"
SCOPES = ["catalog:read", "dossier-status:read"]


def app_input(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": "Cổng thông tin tỉnh",
        "contactEmail": "Lien.He@Example.vn",
        "scopes": SCOPES,
        "rateLimitPerMinute": 3,
    }
    data.update(overrides)
    return data


async def register_app(client: httpx.AsyncClient, **overrides: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await admin_gql(client, REGISTER_APP, {"input": app_input(**overrides)}))[
        "appRegister"
    ]
    return result


async def registered_app(client: httpx.AsyncClient, **overrides: Any) -> tuple[str, str]:
    """(client_id, client_secret) of a newly registered app."""
    result = await register_app(client, **overrides)
    assert result["__typename"] == "AppRegistered", result
    return result["app"]["clientId"], result["clientSecret"]


async def token_request(
    client: httpx.AsyncClient,
    data: dict[str, str],
    auth: tuple[str, str] | None = None,
) -> httpx.Response:
    if auth is None:
        return await client.post("/oauth/token", data=data)
    return await client.post("/oauth/token", data=data, auth=httpx.BasicAuth(*auth))


async def app_token(client: httpx.AsyncClient, client_id: str, secret: str) -> str:
    response = await token_request(client, {"grant_type": "client_credentials"}, (client_id, secret))
    assert response.status_code == 200, response.text
    token: str = response.json()["access_token"]
    return token


async def call(client: httpx.AsyncClient, token: str, query: str = PUBLIC) -> httpx.Response:
    return await client.post("/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"})


def assert_oauth_error(response: httpx.Response, status: int, error: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"] == error, body
    assert body["error_description"], body
    assert response.headers["cache-control"] == "no-store"


# -- registration ----------------------------------------------------------------------------------


async def test_admin_registers_an_app_and_sees_the_secret_once(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    result = await register_app(client)
    assert result["__typename"] == "AppRegistered", result
    app = result["app"]
    assert app["clientId"].startswith("app_")
    assert app["name"] == "Cổng thông tin tỉnh"
    assert app["contactEmail"] == "lien.he@example.vn"  # normalised
    assert app["scopes"] == SCOPES
    assert app["rateLimitPerMinute"] == 3
    assert app["revokedAt"] is None
    secret = result["clientSecret"]
    assert len(secret) >= 32

    # Stored hashed: the row holds an argon2id hash, never the secret.
    row = await session.scalar(select(OAuthClient).where(OAuthClient.client_id == app["clientId"]))
    assert row is not None
    assert secret not in row.secret_hash
    assert row.secret_hash.startswith("$argon2id$")
    assert row.created_by == f"staff:{ADMIN_ID}"

    # The list shows the app and nothing secret: no field for it, and the secret nowhere in the answer.
    listed = await client.post(
        "/graphql", json={"query": APPS}, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    assert listed.status_code == 200
    assert secret not in listed.text
    assert row.secret_hash not in listed.text
    apps = listed.json()["data"]["apps"]
    assert [a for a in apps if a["clientId"] == app["clientId"]] == [app]
    fields = (await gql(client, '{ __type(name: "OAuthApp") { fields { name } } }'))["data"]["__type"][
        "fields"
    ]
    names = {f["name"] for f in fields}
    assert "clientId" in names
    assert not {n for n in names if "secret" in n.lower() or "hash" in n.lower()}

    # The audit trail records the registration.
    events = list(
        await session.scalars(
            select(SecurityEvent).where(
                SecurityEvent.event == "APP_REGISTER", SecurityEvent.outcome == "SUCCESS"
            )
        )
    )
    assert [(e.detail, e.actor_id, e.at) for e in events] == [({"clientId": app["clientId"]}, ADMIN_ID, NOW)]


async def test_app_register_validation(client: httpx.AsyncClient, session: AsyncSession) -> None:
    before = len(list(await session.scalars(select(OAuthClient.id))))
    unknown = await register_app(client, scopes=["feedback:submit", "everything"])
    assert unknown["__typename"] == "ValidationFailed", unknown
    assert unknown["errors"] == [{"field": ["scopes", "1"], "code": "UNKNOWN"}]
    first = await register_app(client, scopes=["nope"])
    assert first["errors"] == [{"field": ["scopes", "0"], "code": "UNKNOWN"}]
    bad_email = await register_app(client, contactEmail="not-an-address")
    assert bad_email["__typename"] == "ValidationFailed", bad_email
    assert bad_email["errors"] == [{"field": ["contactEmail"], "code": "BAD_FORMAT"}]
    several = await register_app(client, name="  ", scopes=[], rateLimitPerMinute=0)
    assert sorted((tuple(e["field"]), e["code"]) for e in several["errors"]) == [
        (("name",), "REQUIRED"),
        (("rateLimitPerMinute",), "OUT_OF_RANGE"),
        (("scopes",), "REQUIRED"),
    ]
    assert len(list(await session.scalars(select(OAuthClient.id)))) == before  # nothing stored
    assert (
        await session.scalar(select(SecurityEvent.seq).where(SecurityEvent.event == "APP_REGISTER"))
    ) is None


async def test_only_the_system_admin_registers_apps(client: httpx.AsyncClient) -> None:
    anonymous = await gql(client, REGISTER_APP, {"input": app_input()}, expect_errors=True)
    assert anonymous["data"] is None
    assert [e["extensions"]["code"] for e in anonymous["errors"]] == ["UNAUTHENTICATED"]
    client_id, secret = await registered_app(client)
    token = await app_token(client, client_id, secret)
    by_app = (await call(client, token, APPS)).json()
    assert by_app["data"] is None
    assert [e["extensions"]["code"] for e in by_app["errors"]] == ["FORBIDDEN"]


# -- the token endpoint ----------------------------------------------------------------------------


async def test_client_credentials_with_basic_auth(client: httpx.AsyncClient) -> None:
    client_id, secret = await registered_app(client)
    response = await token_request(client, {"grant_type": "client_credentials"}, (client_id, secret))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"access_token", "token_type", "expires_in", "scope"}
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 15 * 60
    assert body["scope"] == "catalog:read dossier-status:read"  # everything granted, by default

    answer = await call(client, body["access_token"])
    assert answer.status_code == 200, answer.text
    data = answer.json()
    assert "errors" not in data, data
    assert data["data"]["fields"], data  # the demo catalog's fields


async def test_client_credentials_with_client_secret_post_and_a_narrower_scope(
    client: httpx.AsyncClient,
) -> None:
    client_id, secret = await registered_app(client)
    response = await token_request(
        client,
        {
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": secret,
            "scope": "catalog:read",
        },
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["scope"] == "catalog:read"
    assert (await call(client, body["access_token"])).status_code == 200


async def test_a_scope_not_granted_is_invalid_scope(client: httpx.AsyncClient) -> None:
    client_id, secret = await registered_app(client)
    for scope in ("feedback:submit", "catalog:read feedback:submit"):
        response = await token_request(
            client, {"grant_type": "client_credentials", "scope": scope}, (client_id, secret)
        )
        assert_oauth_error(response, 400, "invalid_scope")
        assert "access_token" not in response.json()


async def test_wrong_or_missing_client_credentials_are_invalid_client(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    client_id, secret = await registered_app(client)
    attempts: list[tuple[dict[str, str], tuple[str, str] | None]] = [
        ({"grant_type": "client_credentials"}, (client_id, secret + "x")),
        ({"grant_type": "client_credentials"}, ("app_unknown", secret)),
        ({"grant_type": "client_credentials", "client_id": client_id, "client_secret": "wrong"}, None),
    ]
    for data, auth in attempts:
        response = await token_request(client, data, auth)
        assert_oauth_error(response, 401, "invalid_client")
        assert response.headers["www-authenticate"].lower().startswith("basic")
    missing = await token_request(client, {"grant_type": "client_credentials"})
    assert_oauth_error(missing, 401, "invalid_client")
    assert "www-authenticate" in missing.headers
    # Failed authentications are on record (the endpoint commits them).
    failures = list(
        await session.scalars(
            select(SecurityEvent.actor_label).where(
                SecurityEvent.event == "APP_TOKEN", SecurityEvent.outcome == "FAILURE"
            )
        )
    )
    assert sorted(failures) == sorted([f"app:{client_id}", "app:app_unknown", f"app:{client_id}"])


async def test_only_the_client_credentials_grant_is_supported(client: httpx.AsyncClient) -> None:
    client_id, secret = await registered_app(client)
    for data in (
        {"grant_type": "password", "username": "admin@test.dvc.local", "password": "Admin-pass-123"},
        {},
    ):
        response = await token_request(client, data, (client_id, secret))
        assert_oauth_error(response, 400, "unsupported_grant_type")


# -- app tokens on the API -------------------------------------------------------------------------


# Rate counters are written by the `Journal` in a transaction of their own. Under the test harness
# every session shares one connection (nested savepoints), so a counter written while a request's
# read-only session is open is undone when that session rolls back at the end of a query; in
# production the journal has its own connection and commits independently. The requests counted
# here are therefore a mutation that succeeds (and commits) without changing anything.
COUNTED = 'mutation { signOut(refreshToken: "not-a-refresh-token") { __typename } }'


async def test_rate_limit_per_app_per_minute(client: httpx.AsyncClient) -> None:
    client_id, secret = await registered_app(client, rateLimitPerMinute=3)
    token = await app_token(client, client_id, secret)
    other_id, other_secret = await registered_app(client, name="Ứng dụng khác", rateLimitPerMinute=3)
    other = await app_token(client, other_id, other_secret)
    # The app clock stands still: every request falls in the same one-minute window.
    for i in range(3):
        response = await call(client, token, COUNTED)
        assert response.status_code == 200, (i, response.text)
        assert response.json() == {"data": {"signOut": {"__typename": "Done"}}}
    limited = await call(client, token, COUNTED)
    assert limited.status_code == 429, limited.text
    assert "giới hạn" in limited.text
    assert (await call(client, token)).status_code == 429  # any request, query or mutation
    # The limit is per app: another app and anonymous callers are unaffected.
    assert (await call(client, other, COUNTED)).status_code == 200
    assert (await client.post("/graphql", json={"query": PUBLIC})).status_code == 200


async def test_a_rate_limited_request_releases_its_database_session(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[RequestDb] = []

    class Recorded(RequestDb):
        def __init__(self, factory: SessionFactory, replicas: ReadReplicas | None = None) -> None:
            super().__init__(factory, replicas)
            made.append(self)

    monkeypatch.setattr(runtime_module, "RequestDb", Recorded)  # Runtime.request_db makes them
    client_id, secret = await registered_app(client, rateLimitPerMinute=1)
    token = await app_token(client, client_id, secret)
    assert (await call(client, token, COUNTED)).status_code == 200
    refused = await call(client, token, COUNTED)
    assert refused.status_code == 429, refused.text
    assert made, "the app made no RequestDb"
    assert made[-1].opened is False, (
        "PRODUCTION BUG (web.graphql.GraphQLApp.get_context): when authenticate() answers 429 for an app over "
        "its rate limit, the request's session (opened by actor_for) is never finished: no "
        "db.finish() on the HTTPException path, unlike the 401 path. In production it keeps a pooled "
        "connection checked out, inside an open transaction, until garbage collection."
    )
    assert not [db for db in made if db.opened]


async def test_revoking_an_app_kills_its_tokens_and_credentials(client: httpx.AsyncClient) -> None:
    client_id, secret = await registered_app(client, rateLimitPerMinute=100)
    token = await app_token(client, client_id, secret)
    assert (await call(client, token)).status_code == 200

    revoked = (await admin_gql(client, REVOKE_APP, {"c": client_id}))["appRevoke"]
    # NOW (02:00 UTC) as the wire prints every instant: the province's offset, six fraction digits
    revoked_at = "2026-11-26T09:00:00.000000+07:00"
    assert revoked == {"__typename": "AppSaved", "app": {"clientId": client_id, "revokedAt": revoked_at}}

    assert (await call(client, token)).status_code == 401
    again = await token_request(client, {"grant_type": "client_credentials"}, (client_id, secret))
    assert_oauth_error(again, 401, "invalid_client")
    listed = (await admin_gql(client, APPS))["apps"]
    assert [a["revokedAt"] for a in listed if a["clientId"] == client_id] == [revoked_at]
    unknown = (await admin_gql(client, REVOKE_APP, {"c": "app_unknown"}))["appRevoke"]
    assert unknown == {"__typename": "NotFound", "code": "NOT_FOUND"}


async def test_an_app_token_does_not_act_as_a_person(client: httpx.AsyncClient) -> None:
    client_id, secret = await registered_app(client, rateLimitPerMinute=100)
    token = await app_token(client, client_id, secret)
    me = await call(client, token, "{ me { id } }")
    assert me.status_code == 200
    assert me.json() == {"data": {"me": None}}
    out = await call(client, token, "mutation { signOutEverywhere { __typename } }")
    assert out.status_code == 200
    body = out.json()
    assert body["data"] is None, body
    assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"], body


# -- scopes ----------------------------------------------------------------------------------------

STATUS = """query($c: String!, $n: String) { dossierStatus(code: $c, idNumber: $n) {
  public { code status } dossier { applicant { name } } } }"""


async def test_dossier_status_needs_the_dossier_status_scope(
    client: httpx.AsyncClient, session: AsyncSession, store: ObjectStore
) -> None:
    """An app granted only `catalog:read` is refused the status lookup (FORBIDDEN, as for a scope
    it lacks elsewhere); with `dossier-status:read` it is answered; anonymous still looks up."""
    s, dossier_id = await submitted(client, session, store)
    received = await act(client, s.reception, "dossierReceive", id=dossier_id)
    code = received["dossier"]["code"]
    catalog_only = await app_token(
        client, *await registered_app(client, scopes=["catalog:read"], rateLimitPerMinute=100)
    )
    with_status = await app_token(
        client, *await registered_app(client, scopes=["dossier-status:read"], rateLimitPerMinute=100)
    )

    for variables in ({"c": code}, {"c": code, "n": "025190000001"}, {"c": "000.00.99.H44-261127-9999"}):
        refused = await gql(client, STATUS, variables, token=catalog_only, expect_errors=True)
        assert refused["data"] in (None, {"dossierStatus": None}), refused
        assert [e["extensions"]["code"] for e in refused["errors"]] == ["FORBIDDEN"], refused
        assert "Lan" not in json.dumps(refused)

    answered = (await gql(client, STATUS, {"c": code}, token=with_status))["data"]["dossierStatus"]
    assert answered == {"public": {"code": code, "status": "IN_PROGRESS"}, "dossier": None}
    anonymous = (await gql(client, STATUS, {"c": code}))["data"]["dossierStatus"]
    assert anonymous == answered
