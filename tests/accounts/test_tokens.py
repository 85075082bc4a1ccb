"""Access tokens cannot be forged or misused: every variant below gets HTTP 401."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import OctKey, RSAKey
from sqlalchemy.ext.asyncio import AsyncSession

from auth.tokens import AUDIENCE, InvalidToken, TokenConfig, issue_access, verify_access
from tests.accounts.helpers import REFRESH, citizen_input, sign_in, token_for
from tests.conftest import JWT_SECRET, NOW, gql


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(subject: str, **overrides: Any) -> dict[str, Any]:
    claims = {
        "sub": subject,
        "typ": "access",
        "ver": 1,
        "iss": "dvc",
        "aud": AUDIENCE,
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(minutes=15)).timestamp()),
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def _hs256(claims: dict[str, Any], secret: str = JWT_SECRET) -> str:
    return jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(secret.encode()), algorithms=["HS256"])


async def _status(client: httpx.AsyncClient, token: str) -> int:
    response = await client.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": f"Bearer {token}"}
    )
    return response.status_code


@pytest.fixture
async def subject(client: httpx.AsyncClient, session: AsyncSession) -> str:
    token = await token_for(client, session)
    me = (await gql(client, "{ me { id } }", token=token))["data"]["me"]
    assert me is not None
    assert await _status(client, _hs256(_claims(me["id"]))) == 200  # the honest token works
    subject: str = me["id"]
    return subject


FORGERIES: dict[str, Callable[[str], str]] = {
    "alg none": lambda s: f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(_claims(s))}.",
    "wrong key": lambda s: _hs256(_claims(s), "another-secret-0123456789abcdef0123456789"),
    "wrong audience": lambda s: _hs256(_claims(s, aud="other-api")),
    "wrong issuer": lambda s: _hs256(_claims(s, iss="evil")),
    "expired": lambda s: _hs256(_claims(s, exp=int((NOW - timedelta(seconds=1)).timestamp()))),
    "no expiry": lambda s: _hs256(_claims(s, exp=None)),
    "not yet valid": lambda s: _hs256(_claims(s, nbf=int((NOW + timedelta(minutes=5)).timestamp()))),
    "wrong type": lambda s: _hs256(_claims(s, typ="refresh")),
    "stale version": lambda s: _hs256(_claims(s, ver=0)),
    "unknown account": lambda s: _hs256(_claims(str(uuid.uuid4()))),
    "garbage subject": lambda s: _hs256(_claims("not-a-uuid")),
    "garbage session": lambda s: _hs256(_claims(s, sid="not-a-uuid")),
    "unknown session": lambda s: _hs256(_claims(s, sid=str(uuid.uuid4()))),
    "tampered payload": lambda s: ".".join(
        [
            _hs256(_claims(s)).split(".")[0],
            _b64(_claims(s, ver=1, sub=str(uuid.uuid4()))),
            _hs256(_claims(s)).split(".")[2],
        ]
    ),
    "not a jwt": lambda s: "abc.def",
}


@pytest.mark.parametrize("name", sorted(FORGERIES))
async def test_forgeries_are_refused(name: str, client: httpx.AsyncClient, subject: str) -> None:
    assert await _status(client, FORGERIES[name](subject)) == 401


async def test_rs256_signed_with_an_attackers_key_is_refused(client: httpx.AsyncClient, subject: str) -> None:
    key = RSAKey.generate_key(2048)
    token = jwt.encode({"alg": "RS256"}, _claims(subject), key, algorithms=["RS256"])
    assert await _status(client, token) == 401


@pytest.mark.parametrize("header", ["Token abc", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz"])
async def test_malformed_authorization_headers(header: str, client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": header}
    )
    assert response.status_code == 401


def test_verify_refuses_every_algorithm_but_hs256() -> None:
    config = TokenConfig(JWT_SECRET)
    good = issue_access(config, account_id=uuid.uuid4(), token_version=1, now=NOW)
    assert verify_access(config, good, now=NOW).typ == "access"
    header = _b64({"alg": "HS512", "typ": "JWT"})
    with pytest.raises(InvalidToken, match=r"not allowed"):
        verify_access(config, f"{header}.{good.split('.')[1]}.{good.split('.')[2]}", now=NOW)


async def test_a_locked_accounts_token_dies(client: httpx.AsyncClient, session: AsyncSession) -> None:
    token = await token_for(client, session)
    assert await _status(client, token) == 200
    await gql(client, "mutation { accountLockRequest { __typename } }", token=token)
    assert await _status(client, token) == 401
    assert (await sign_in(client, citizen_input()["email"]))["code"] == "ACCOUNT_LOCKED"


async def test_access_tokens_of_a_stolen_refresh_chain_die_at_once(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    """Refresh-token reuse revokes the chain; the access tokens issued from it stop working too
    (not only when they expire). Other sessions of the same person keep working."""
    await token_for(client, session)
    first = (await sign_in(client, citizen_input()["email"]))["session"]
    other = (await sign_in(client, citizen_input()["email"]))["session"]
    second = (await gql(client, REFRESH, {"t": first["refreshToken"]}))["data"]["tokenRefresh"]["session"]
    assert await _status(client, second["accessToken"]) == 200
    assert await _status(client, first["accessToken"]) == 200
    reuse = (await gql(client, REFRESH, {"t": first["refreshToken"]}))["data"]["tokenRefresh"]
    assert reuse["code"] == "INVALID_REFRESH_TOKEN"

    async def refusal(token: str) -> tuple[int, bytes]:
        response = await client.post(
            "/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": f"Bearer {token}"}
        )
        return response.status_code, response.content

    forged = await refusal(first["accessToken"][:-4] + "AAAA")
    assert forged[0] == 401
    assert await refusal(second["accessToken"]) == forged  # the same answer as any dead token
    assert await refusal(first["accessToken"]) == forged
    assert await _status(client, other["accessToken"]) == 200


async def test_signing_out_kills_that_sessions_access_token(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await token_for(client, session)
    a = (await sign_in(client, citizen_input()["email"]))["session"]
    b = (await sign_in(client, citizen_input()["email"]))["session"]
    await gql(
        client, "mutation($t: String!) { signOut(refreshToken: $t) { __typename } }", {"t": a["refreshToken"]}
    )
    assert await _status(client, a["accessToken"]) == 401
    assert await _status(client, b["accessToken"]) == 200
