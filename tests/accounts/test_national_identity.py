"""Sign-in with the national e-identity over GraphQL, against a real local OpenID Connect provider.

The app is built with an `OidcClient` pointing at `tests.oidc_provider`; the provider's clock is
set to the app's fixed `NOW`, so the ID tokens it issues are valid at the app's "now".
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app import create_app
from auth.actor import SYSTEM
from auth.oidc import OidcClient, OidcConfig
from core.clock import FixedClock
from core.settings import DEFAULT_PROVINCE, Settings, system_name
from models.accounts import Account, AccountStatus, CitizenProfile, LockReason, OidcLogin, SecurityEvent
from services.accounts.journal import RequestMeta
from services.accounts.locks import lock
from storage.s3 import ObjectStore
from tests.accounts.helpers import account_by_email, citizen_input, last_code, register, sign_in
from tests.conftest import NOW, app_runtime, gql
from tests.oidc_provider import DEFAULT_USER, Misbehaviour, Provider, oidc_provider_fixture  # noqa: F401

START = """mutation { nationalIdentitySignInStart {
  __typename ... on NationalIdentityRedirect { url } ... on Refused { code message } } }"""

COMPLETE = """
mutation($s: String!, $c: String!) { nationalIdentitySignInComplete(state: $s, code: $c) {
  __typename
  ... on SignedIn { session { accessToken refreshToken accessTokenExpiresAt
      account { id displayName kind status } } }
  ... on ValidationFailed { errors { field code } }
  ... on Refused { code message }
} }"""

ME = """{ me { id kind status displayName emailVerified
  citizen { citizenId fullName birthDate linkedToNationalIdentity } vault { id } } }"""

CITIZEN_ID = str(DEFAULT_USER["citizen_id"])
SUBJECT = str(DEFAULT_USER["sub"])

SYSTEM_NAME = system_name(DEFAULT_PROVINCE)


@pytest.fixture
def provider(oidc_provider: Provider) -> Provider:
    oidc_provider.now = NOW  # tokens issued "now" for the app's fixed clock
    return oidc_provider


@pytest_asyncio.fixture
async def oidc_client(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    store: ObjectStore,
    clock: FixedClock,
    provider: Provider,
) -> AsyncIterator[httpx.AsyncClient]:
    """Like conftest's `client`, with national e-identity sign-in configured."""
    runtime = app_runtime(
        settings,
        session_factory,
        store,
        clock=clock,
        oidc=OidcClient(
            OidcConfig(
                issuer=provider.issuer,
                client_id=provider.client_id,
                client_secret=provider.client_secret,
                redirect_uri=provider.redirect_uri,
            )
        ),
    )
    app = create_app(runtime)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as c:
        yield c


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[httpx.AsyncClient]:
    """Plays the citizen's browser at the provider; never follows redirects."""
    async with httpx.AsyncClient(follow_redirects=False) as c:
        yield c


async def start(client: httpx.AsyncClient) -> str:
    result = (await gql(client, START))["data"]["nationalIdentitySignInStart"]
    assert result["__typename"] == "NationalIdentityRedirect", result
    url: str = result["url"]
    return url


async def authorize(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, provider: Provider
) -> tuple[str, str]:
    """Start over GraphQL, follow the URL at the provider, return (state, code) from the redirect."""
    url = await start(client)
    response = await browser.get(url)
    assert response.status_code == 302, response.text
    location = httpx.URL(response.headers["location"])
    assert str(location.copy_with(query=None)) == provider.redirect_uri
    params = dict(location.params)
    assert "error" not in params, params
    assert params["state"] == dict(httpx.URL(url).params)["state"]
    return params["state"], params["code"]


async def complete(client: httpx.AsyncClient, state: str, code: str) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(client, COMPLETE, {"s": state, "c": code}))["data"][
        "nationalIdentitySignInComplete"
    ]
    return result


async def national_sign_in(
    client: httpx.AsyncClient, browser: httpx.AsyncClient, provider: Provider
) -> dict[str, Any]:
    state, code = await authorize(client, browser, provider)
    return await complete(client, state, code)


async def me(client: httpx.AsyncClient, token: str) -> dict[str, Any]:
    data: dict[str, Any] = (await gql(client, ME, token=token))["data"]["me"]
    return data


async def count(session: AsyncSession, *where: Any) -> int:
    return int(await session.scalar(select(func.count()).select_from(CitizenProfile).where(*where)) or 0)


async def events(session: AsyncSession, event: str, outcome: str) -> list[SecurityEvent]:
    return list(
        await session.scalars(
            select(SecurityEvent)
            .where(SecurityEvent.event == event, SecurityEvent.outcome == outcome)
            .order_by(SecurityEvent.seq)
        )
    )


# -- the happy path ------------------------------------------------------------------------------


async def test_full_flow_creates_a_verified_citizen_with_a_vault(
    oidc_client: httpx.AsyncClient, browser: httpx.AsyncClient, provider: Provider, session: AsyncSession
) -> None:
    url = await start(oidc_client)
    parsed = httpx.URL(url)
    assert str(parsed.copy_with(query=None)) == f"{provider.issuer}/authorize"
    params = dict(parsed.params)
    assert params["client_id"] == provider.client_id
    assert params["redirect_uri"] == provider.redirect_uri
    assert params["code_challenge_method"] == "S256"
    assert "code_verifier" not in params  # the verifier stays with the server
    # The login's secrets are kept server-side, under the state sent to the provider.
    login = await session.get(OidcLogin, params["state"])
    assert login is not None
    assert login.nonce == params["nonce"]
    assert login.expires_at == NOW + timedelta(minutes=10)

    response = await browser.get(url)
    assert response.status_code == 302, response.text
    back = dict(httpx.URL(response.headers["location"]).params)
    assert back["state"] == params["state"]

    result = await complete(oidc_client, back["state"], back["code"])
    assert result["__typename"] == "SignedIn", result
    signed = result["session"]
    assert signed["accessToken"]
    assert signed["refreshToken"]
    assert signed["account"]["kind"] == "CITIZEN"
    assert signed["account"]["status"] == "ACTIVE"
    assert signed["account"]["displayName"] == DEFAULT_USER["name"]

    mine = await me(oidc_client, signed["accessToken"])
    assert mine["id"] == signed["account"]["id"]
    assert mine["kind"] == "CITIZEN"
    assert mine["status"] == "ACTIVE"
    assert mine["citizen"] == {
        "citizenId": CITIZEN_ID,
        "fullName": DEFAULT_USER["name"],
        "birthDate": DEFAULT_USER["birthdate"],
        "linkedToNationalIdentity": True,
    }
    assert mine["vault"] is not None
    assert mine["vault"]["id"]

    assert await count(session, CitizenProfile.national_identity_subject == SUBJECT) == 1
    assert await session.get(OidcLogin, params["state"], populate_existing=True) is None  # spent
    success = await events(session, "NATIONAL_ID_SIGN_IN", "SUCCESS")
    assert [str(e.subject_id) for e in success] == [signed["account"]["id"]]
    created = await events(session, "REGISTER", "SUCCESS")
    assert [(str(e.subject_id), e.detail) for e in created] == [
        (signed["account"]["id"], {"via": "national-identity"})
    ]


async def test_existing_registered_citizen_is_linked_not_duplicated(
    oidc_client: httpx.AsyncClient, browser: httpx.AsyncClient, provider: Provider, session: AsyncSession
) -> None:
    registered = await register(oidc_client, 1, citizenId=CITIZEN_ID)
    assert registered["__typename"] == "Registered", registered
    registered_account = await account_by_email(session, citizen_input(1)["email"])
    assert registered_account.status is AccountStatus.PENDING
    account_id = str(registered_account.id)
    assert await count(session, CitizenProfile.citizen_id == CITIZEN_ID) == 1

    result = await national_sign_in(oidc_client, browser, provider)
    assert result["__typename"] == "SignedIn", result
    assert result["session"]["account"]["id"] == account_id
    assert result["session"]["account"]["status"] == "ACTIVE"

    assert await count(session, CitizenProfile.citizen_id == CITIZEN_ID) == 1
    mine = await me(oidc_client, result["session"]["accessToken"])
    assert mine["id"] == account_id
    assert mine["status"] == "ACTIVE"
    assert mine["citizen"]["citizenId"] == CITIZEN_ID
    assert mine["citizen"]["linkedToNationalIdentity"] is True
    profile = await session.scalar(
        select(CitizenProfile)
        .where(CitizenProfile.citizen_id == CITIZEN_ID)
        .execution_options(populate_existing=True)
    )
    assert profile is not None
    assert profile.national_identity_subject == SUBJECT
    linked = await events(session, "NATIONAL_ID_LINK", "SUCCESS")
    assert [str(e.subject_id) for e in linked] == [account_id]


async def test_a_registrant_who_claimed_someone_elses_id_loses_access_on_first_link(
    oidc_client: httpx.AsyncClient, browser: httpx.AsyncClient, provider: Provider, session: AsyncSession
) -> None:
    """Self-registration only claims a citizen ID; the identity provider proves it. Whoever
    registered with that ID (and verified their own e-mail) must not keep a way in."""
    registered = await register(oidc_client, 1, citizenId=CITIZEN_ID, fullName="Kẻ Mạo Danh")
    assert registered["__typename"] == "Registered", registered
    email = citizen_input(1)["email"]
    verify = "mutation($d: String!, $c: String!) { contactVerify(destination: $d, code: $c) { __typename } }"
    await oidc_client.post(
        "/graphql", json={"query": verify, "variables": {"d": email, "c": await last_code(session, email)}}
    )
    before = await sign_in(oidc_client, email)
    assert before["__typename"] == "SignedIn"

    result = await national_sign_in(oidc_client, browser, provider)
    assert result["__typename"] == "SignedIn", result
    mine = await me(oidc_client, result["session"]["accessToken"])
    assert mine["citizen"]["fullName"] != "Kẻ Mạo Danh"  # the provider's name wins
    assert mine["emailVerified"] is False
    assert (await sign_in(oidc_client, email))[
        "code"
    ] == "BAD_CREDENTIALS"  # the registrant's password is gone
    refreshed = await oidc_client.post(
        "/graphql",
        json={
            "query": "mutation($t: String!) { tokenRefresh(refreshToken: $t) { __typename ... on Refused { code } } }",
            "variables": {"t": before["session"]["refreshToken"]},
        },
    )
    assert refreshed.json()["data"]["tokenRefresh"]["code"] == "INVALID_REFRESH_TOKEN"


async def test_second_sign_in_with_the_same_subject_finds_the_same_account(
    oidc_client: httpx.AsyncClient, browser: httpx.AsyncClient, provider: Provider, session: AsyncSession
) -> None:
    first = await national_sign_in(oidc_client, browser, provider)
    assert first["__typename"] == "SignedIn", first
    second = await national_sign_in(oidc_client, browser, provider)
    assert second["__typename"] == "SignedIn", second
    assert second["session"]["account"]["id"] == first["session"]["account"]["id"]
    assert second["session"]["refreshToken"] != first["session"]["refreshToken"]  # a new session
    assert await count(session, CitizenProfile.national_identity_subject == SUBJECT) == 1
    assert await count(session, CitizenProfile.citizen_id == CITIZEN_ID) == 1
    assert len(await events(session, "REGISTER", "SUCCESS")) == 1
    assert len(await events(session, "NATIONAL_ID_SIGN_IN", "SUCCESS")) == 2
    # Both sessions are good.
    for signed in (first, second):
        assert (await me(oidc_client, signed["session"]["accessToken"]))["id"] == first["session"]["account"][
            "id"
        ]


# -- refusals ------------------------------------------------------------------------------------


async def test_a_state_is_good_for_one_attempt_only(
    oidc_client: httpx.AsyncClient, browser: httpx.AsyncClient, provider: Provider, session: AsyncSession
) -> None:
    state, code = await authorize(oidc_client, browser, provider)
    assert (await complete(oidc_client, state, code))["__typename"] == "SignedIn"
    replay = await complete(oidc_client, state, code)
    assert replay["__typename"] == "Refused", replay
    assert replay["code"] == "BAD_STATE"
    # A fresh login whose state is spent by a failed attempt cannot be retried either.
    state, code = await authorize(oidc_client, browser, provider)
    provider.misbehave(nonce="not-the-nonce-of-this-login")
    assert (await complete(oidc_client, state, code))["code"] == "IDENTITY_REJECTED"
    provider.reset()
    provider.now = NOW
    assert (await complete(oidc_client, state, code))["code"] == "BAD_STATE"
    assert await session.get(OidcLogin, state, populate_existing=True) is None


async def test_an_unknown_state_is_refused(
    oidc_client: httpx.AsyncClient, browser: httpx.AsyncClient, provider: Provider, session: AsyncSession
) -> None:
    state, code = await authorize(oidc_client, browser, provider)
    result = await complete(oidc_client, state + "x", code)
    assert result["__typename"] == "Refused", result
    assert result["code"] == "BAD_STATE"
    assert await count(session, CitizenProfile.national_identity_subject == SUBJECT) == 0
    # The real login is still waiting and still works.
    assert (await complete(oidc_client, state, code))["__typename"] == "SignedIn"


async def test_an_expired_state_is_refused(
    oidc_client: httpx.AsyncClient, browser: httpx.AsyncClient, provider: Provider, session: AsyncSession
) -> None:
    state, code = await authorize(oidc_client, browser, provider)
    await session.execute(update(OidcLogin).where(OidcLogin.state == state).values(expires_at=NOW))
    await session.commit()
    result = await complete(oidc_client, state, code)
    assert result["__typename"] == "Refused", result
    assert result["code"] == "BAD_STATE"
    assert await count(session, CitizenProfile.national_identity_subject == SUBJECT) == 0


@pytest.mark.parametrize(
    ("misbehaviour", "error"),
    [
        ({"nonce": "not-the-nonce-of-this-login"}, "NONCE_MISMATCH"),
        ({"wrong_key": True, "forge_kid": True}, "INVALID_ID_TOKEN"),
        ({"expired": True}, "INVALID_ID_TOKEN"),
        ({"omit_citizen_id": True}, "MISSING_CITIZEN_ID"),
    ],
    ids=["wrong-nonce", "forged-signature", "expired-id-token", "no-citizen-id"],
)
async def test_provider_misbehaviour_is_rejected_and_recorded(
    oidc_client: httpx.AsyncClient,
    browser: httpx.AsyncClient,
    provider: Provider,
    session: AsyncSession,
    misbehaviour: Misbehaviour,
    error: str,
) -> None:
    state, code = await authorize(oidc_client, browser, provider)
    provider.misbehave(**misbehaviour)
    result = await complete(oidc_client, state, code)
    assert result["__typename"] == "Refused", result
    assert result["code"] == "IDENTITY_REJECTED"
    assert await count(session, CitizenProfile.national_identity_subject == SUBJECT) == 0
    assert await count(session, CitizenProfile.citizen_id == CITIZEN_ID) == 0
    failures = await events(session, "NATIONAL_ID_SIGN_IN", "FAILURE")
    assert [(e.detail, e.subject_id, e.actor_label, e.at) for e in failures] == [
        ({"error": error}, None, "anonymous", NOW)
    ]
    assert await events(session, "NATIONAL_ID_SIGN_IN", "SUCCESS") == []


async def test_a_locked_account_is_refused(
    oidc_client: httpx.AsyncClient, browser: httpx.AsyncClient, provider: Provider, session: AsyncSession
) -> None:
    first = await national_sign_in(oidc_client, browser, provider)
    assert first["__typename"] == "SignedIn", first
    account = await session.get_one(Account, uuid.UUID(first["session"]["account"]["id"]))
    await lock(
        session, account, LockReason.ADMIN, actor=SYSTEM, now=NOW, meta=RequestMeta(), system_name=SYSTEM_NAME
    )
    await session.commit()

    result = await national_sign_in(oidc_client, browser, provider)
    assert result["__typename"] == "Refused", result
    assert result["code"] == "ACCOUNT_LOCKED"
    await session.refresh(account)
    assert account.status is AccountStatus.LOCKED
    assert len(await events(session, "NATIONAL_ID_SIGN_IN", "SUCCESS")) == 1  # the first one only


async def test_a_locked_registered_account_is_refused_and_not_linked(
    oidc_client: httpx.AsyncClient, browser: httpx.AsyncClient, provider: Provider, session: AsyncSession
) -> None:
    registered = await register(oidc_client, 1, citizenId=CITIZEN_ID)
    assert registered["__typename"] == "Registered", registered
    account = await account_by_email(session, citizen_input(1)["email"])
    await lock(
        session,
        account,
        LockReason.DECEASED,
        actor=SYSTEM,
        now=NOW,
        meta=RequestMeta(),
        system_name=SYSTEM_NAME,
    )
    await session.commit()

    result = await national_sign_in(oidc_client, browser, provider)
    assert result["__typename"] == "Refused", result
    assert result["code"] == "ACCOUNT_LOCKED"
    profile = await session.scalar(
        select(CitizenProfile)
        .where(CitizenProfile.citizen_id == CITIZEN_ID)
        .execution_options(populate_existing=True)
    )
    assert profile is not None
    assert profile.national_identity_subject is None
    assert (await sign_in(oidc_client, "lan1@example.vn"))["code"] == "ACCOUNT_LOCKED"  # still locked


async def test_without_oidc_configured_start_and_complete_are_not_configured(
    client: httpx.AsyncClient,
) -> None:
    for query, variables in ((START, {}), (COMPLETE, {"s": "state", "c": "code"})):
        body = await gql(client, query, variables, expect_errors=True)
        assert body["data"] is None, body
        assert [e["extensions"]["code"] for e in body["errors"]] == ["NOT_CONFIGURED"], body
