"""Sign-in, `me`, rotating refresh tokens, sign-out, passwords."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from tests.accounts.helpers import (
    PASSWORD,
    REFRESH,
    REGISTER,
    active_citizen,
    citizen_input,
    last_code,
    sign_in,
)
from tests.conftest import gql

ME = "{ me { id displayName kind status emailVerified citizen { citizenId } vault { id } } }"


async def _me(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/graphql", json={"query": ME}, headers={"Authorization": f"Bearer {token}"})


async def test_sign_in_with_any_identifier_and_see_me(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await active_citizen(client, session)
    for identifier in ("lan1@example.vn", "LAN1@Example.vn", "0912300001", "+84912300001", "025190000001"):
        result = await sign_in(client, identifier)
        assert result["__typename"] == "SignedIn", identifier
    token = result["session"]["accessToken"]
    me = (await _me(client, token)).json()["data"]["me"]
    assert me["kind"] == "CITIZEN"
    assert me["citizen"] == {"citizenId": "025190000001"}
    assert me["vault"]["id"]
    assert (await gql(client, ME))["data"]["me"] is None  # anonymous


async def test_wrong_password_and_unknown_account_look_the_same(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await active_citizen(client, session)
    wrong = await sign_in(client, "lan1@example.vn", "Sai-mat-khau-123")
    unknown = await sign_in(client, "nobody@example.vn", "Sai-mat-khau-123")
    assert (
        wrong
        == unknown
        == {"__typename": "Refused", "code": "BAD_CREDENTIALS", "message": "Thông tin đăng nhập không đúng."}
    )


async def test_pending_account_must_verify_first(client: httpx.AsyncClient) -> None:
    await gql(client, REGISTER, {"input": citizen_input()})
    result = await sign_in(client, "lan1@example.vn")
    assert result["code"] == "NOT_VERIFIED"


async def test_refresh_rotates_and_reuse_revokes_the_session(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await active_citizen(client, session)
    first = (await sign_in(client, "lan1@example.vn"))["session"]
    second = (await gql(client, REFRESH, {"t": first["refreshToken"]}))["data"]["tokenRefresh"]["session"]
    assert second["refreshToken"] != first["refreshToken"]
    # The spent token comes back: someone copied it. The whole session family dies.
    reuse = (await gql(client, REFRESH, {"t": first["refreshToken"]}))["data"]["tokenRefresh"]
    assert reuse["code"] == "INVALID_REFRESH_TOKEN"
    after = (await gql(client, REFRESH, {"t": second["refreshToken"]}))["data"]["tokenRefresh"]
    assert after["code"] == "INVALID_REFRESH_TOKEN"
    # Another session of the same person is untouched.
    other = (await sign_in(client, "lan1@example.vn"))["session"]
    assert (await gql(client, REFRESH, {"t": other["refreshToken"]}))["data"]["tokenRefresh"][
        "__typename"
    ] == "SignedIn"


async def test_garbage_refresh_token(client: httpx.AsyncClient) -> None:
    result = (await gql(client, REFRESH, {"t": "garbage"}))["data"]["tokenRefresh"]
    assert result["code"] == "INVALID_REFRESH_TOKEN"


async def test_sign_out_and_sign_out_everywhere(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await active_citizen(client, session)
    a = (await sign_in(client, "lan1@example.vn"))["session"]
    b = (await sign_in(client, "lan1@example.vn"))["session"]
    out = "mutation($t: String!) { signOut(refreshToken: $t) { __typename } }"
    await gql(client, out, {"t": a["refreshToken"]})
    assert (await gql(client, REFRESH, {"t": a["refreshToken"]}))["data"]["tokenRefresh"][
        "code"
    ] == "INVALID_REFRESH_TOKEN"
    assert (await _me(client, b["accessToken"])).status_code == 200
    everywhere = "mutation { signOutEverywhere { __typename } }"
    await gql(client, everywhere, token=b["accessToken"])
    assert (await _me(client, b["accessToken"])).status_code == 401  # access tokens die at once
    assert (await gql(client, REFRESH, {"t": b["refreshToken"]}))["data"]["tokenRefresh"][
        "code"
    ] == "INVALID_REFRESH_TOKEN"


async def test_password_change(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await active_citizen(client, session)
    old = (await sign_in(client, "lan1@example.vn"))["session"]
    change = """mutation($c: String!, $n: String!) { passwordChange(currentPassword: $c, newPassword: $n) {
        __typename ... on SignedIn { session { accessToken } } ... on ValidationFailed { errors { field code } } } }"""
    wrong = await gql(
        client, change, {"c": "nope-nope-nope", "n": "Mat-khau-moi-2026"}, token=old["accessToken"]
    )
    assert wrong["data"]["passwordChange"]["errors"] == [
        {"field": ["currentPassword"], "code": "WRONG_PASSWORD"}
    ]
    weak = await gql(client, change, {"c": PASSWORD, "n": "short"}, token=old["accessToken"])
    assert weak["data"]["passwordChange"]["errors"] == [{"field": ["newPassword"], "code": "TOO_SHORT"}]
    done = await gql(client, change, {"c": PASSWORD, "n": "Mat-khau-moi-2026"}, token=old["accessToken"])
    new_token = done["data"]["passwordChange"]["session"]["accessToken"]
    assert (await _me(client, old["accessToken"])).status_code == 401
    assert (await _me(client, new_token)).status_code == 200
    assert (await sign_in(client, "lan1@example.vn", "Mat-khau-moi-2026"))["__typename"] == "SignedIn"
    assert (await sign_in(client, "lan1@example.vn"))["code"] == "BAD_CREDENTIALS"


async def test_password_reset_by_code(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await active_citizen(client, session)
    request = "mutation($d: String!) { passwordResetRequest(destination: $d) { __typename } }"
    assert (await gql(client, request, {"d": "lan1@example.vn"}))["data"]["passwordResetRequest"][
        "__typename"
    ] == "Done"
    code = await last_code(session, "lan1@example.vn")
    reset = """mutation($d: String!, $c: String!, $n: String!) { passwordReset(destination: $d, code: $c, newPassword: $n) {
        __typename ... on Refused { code } } }"""
    assert (
        await gql(
            client,
            reset,
            {
                "d": "lan1@example.vn",
                "c": "999999" if code != "999999" else "111111",
                "n": "Mat-khau-moi-2026",
            },
        )
    )["data"]["passwordReset"]["code"] == "BAD_CODE"
    ok = await gql(client, reset, {"d": "lan1@example.vn", "c": code, "n": "Mat-khau-moi-2026"})
    assert ok["data"]["passwordReset"]["__typename"] == "AccountSaved"
    assert (await sign_in(client, "lan1@example.vn", "Mat-khau-moi-2026"))["__typename"] == "SignedIn"


async def test_reset_is_not_sent_to_unverified_contacts(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await active_citizen(client, session)  # verified by e-mail only
    request = "mutation($d: String!) { passwordResetRequest(destination: $d) { __typename } }"
    await gql(client, request, {"d": "0912300001"})
    from tests.accounts.helpers import messages_to

    assert [m.template for m in await messages_to(session, "+84912300001")] == ["verify_contact"]
