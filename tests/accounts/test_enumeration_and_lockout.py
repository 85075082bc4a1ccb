"""Attacks on accounts from outside: learning who has an account by registering, locking someone
out with wrong passwords, and being rate-limited for signing in correctly."""

from __future__ import annotations

from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts import Account, AccountStatus, LockReason, SecurityEvent
from tests.accounts.helpers import (
    PASSWORD,
    REGISTER,
    active_citizen,
    citizen_input,
    last_code,
    messages_to,
    sign_in,
)
from tests.conftest import admin_gql, gql

WRONG = "Sai-mat-khau-123"

REQUEST_CODE = """mutation($i: String!) { accountUnlockCodeRequest(identifier: $i) {
  __typename ... on Done { ok } ... on Refused { code message } } }"""

UNLOCK = """mutation($i: String!, $c: String!) { accountUnlockWithCode(identifier: $i, code: $c) {
  __typename ... on Done { ok } ... on Refused { code message } } }"""


def _shape(value: Any) -> Any:
    """The structure of a GraphQL answer: keys and value types, the type names kept."""
    if isinstance(value, dict):
        return {k: (v if k == "__typename" else _shape(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v) for v in value]
    return type(value).__name__


async def _register(client: httpx.AsyncClient, data: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = (await gql(client, REGISTER, {"input": data}))["data"]["citizenRegister"]
    return answer


async def _accounts(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Account)) or 0)


async def test_registering_a_taken_citizen_id_answers_like_a_new_registration(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await active_citizen(client, session)  # the owner of 025190000001, e-mail lan1@ verified
    new = await _register(client, citizen_input(2))
    before = await _accounts(session)
    taken = await _register(client, citizen_input(3, citizenId=citizen_input(1)["citizenId"]))
    assert taken["__typename"] == new["__typename"] == "Registered", taken
    assert _shape(taken) == _shape(new)
    assert taken["verificationSentTo"] == ["la***@example.vn", "+8491***03"]  # what was typed, masked
    # Nothing was created, and nothing went to the contacts the registrant typed.
    assert await _accounts(session) == before
    assert await messages_to(session, citizen_input(3)["email"]) == []
    # The real owner is told.
    told = await messages_to(session, citizen_input(1)["email"])
    assert told[-1].template == "registration_attempt"
    assert "số định danh" in told[-1].body


async def test_registering_a_taken_e_mail_or_phone_answers_like_a_new_registration(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await active_citizen(client, session)
    new = await _register(client, citizen_input(2))
    before = await _accounts(session)
    taken = await _register(client, citizen_input(3, email="LAN1@example.vn", phone=None))
    assert _shape(taken) == _shape({**new, "verificationSentTo": ["x"]})  # one contact typed: one entry
    assert taken["__typename"] == "Registered"
    assert await _accounts(session) == before
    assert (await messages_to(session, "lan1@example.vn"))[-1].template == "registration_attempt"
    phone_taken = await _register(client, citizen_input(4, email=None, phone=citizen_input(1)["phone"]))
    assert phone_taken["__typename"] == "Registered"
    assert await _accounts(session) == before


async def test_organisation_with_a_taken_tax_code_answers_like_a_new_one(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    mutation = """mutation($input: OrganisationRegisterInput!) { organisationRegister(input: $input) {
        __typename ... on Registered { verificationSentTo } ... on ValidationFailed { errors { field code } } } }"""
    data = {
        "taxCode": "2600123456",
        "name": "Công ty TNHH Chè Phú Thọ",
        "representativeName": "Trần Văn Bình",
        "password": "Doanh-nghiep-2026",
        "email": "info@chephutho.vn",
    }
    first = (await gql(client, mutation, {"input": data}))["data"]["organisationRegister"]
    again = (await gql(client, mutation, {"input": {**data, "email": "other@chephutho.vn"}}))["data"][
        "organisationRegister"
    ]
    assert _shape(again) == _shape(first)
    assert again == {"__typename": "Registered", "verificationSentTo": ["ot***@chephutho.vn"]}
    count = select(func.count()).select_from(Account).where(Account.display_name == data["name"])
    assert await session.scalar(count) == 1


async def test_a_locked_out_owner_unlocks_with_a_code_and_signs_in(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await active_citizen(client, session)
    for _ in range(5):
        assert (await sign_in(client, "025190000001", WRONG))["code"] == "BAD_CREDENTIALS"
    assert (await sign_in(client, "lan1@example.vn"))["code"] == "ACCOUNT_LOCKED"  # the regulation's lock
    # Asking for a code answers alike for the locked account, an unknown one and garbage.
    answers = [
        (await gql(client, REQUEST_CODE, {"i": i}))["data"]["accountUnlockCodeRequest"]
        for i in ("025190000099", "nobody@example.vn", "???", "025190000001")
    ]
    assert answers == [{"__typename": "Done", "ok": True}] * 4
    code = await last_code(session, "lan1@example.vn")
    sent = (await messages_to(session, "lan1@example.vn"))[-1]
    assert sent.template == "unlock_account"
    # A wrong code, or the right code for another identifier, does nothing.
    wrong = "000000" if code != "000000" else "111111"
    bad = (await gql(client, UNLOCK, {"i": "025190000001", "c": wrong}))["data"]["accountUnlockWithCode"]
    assert bad["code"] == "BAD_CODE"
    other = (await gql(client, UNLOCK, {"i": "nobody@example.vn", "c": code}))["data"][
        "accountUnlockWithCode"
    ]
    assert other["code"] == "BAD_CODE"
    assert (await sign_in(client, "lan1@example.vn"))["code"] == "ACCOUNT_LOCKED"
    done = (await gql(client, UNLOCK, {"i": "0912300001", "c": code}))["data"]["accountUnlockWithCode"]
    assert done == {"__typename": "Done", "ok": True}
    assert (await sign_in(client, "lan1@example.vn"))["__typename"] == "SignedIn"
    # Single use; the unlock is audited and the owner told.
    again = (await gql(client, UNLOCK, {"i": "0912300001", "c": code}))["data"]["accountUnlockWithCode"]
    assert again["code"] == "BAD_CODE"
    account = await session.scalar(select(Account).where(Account.email == "lan1@example.vn"))
    assert account is not None
    unlocks = list(
        await session.scalars(
            select(SecurityEvent).where(
                SecurityEvent.subject_id == account.id, SecurityEvent.event == "UNLOCK"
            )
        )
    )
    assert [(e.outcome, e.detail) for e in unlocks] == [
        ("SUCCESS", {"previousReason": "FAILED_SIGN_INS", "via": "code"})
    ]
    assert (await messages_to(session, "lan1@example.vn"))[-1].template == "account_unlocked"


async def test_a_code_does_not_undo_an_admin_lock(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await active_citizen(client, session)
    account = await session.scalar(select(Account).where(Account.email == "lan1@example.vn"))
    assert account is not None
    lock = """mutation($id: ID!) { accountLock(accountId: $id, reason: DECEASED) { __typename } }"""
    assert (await admin_gql(client, lock, {"id": str(account.id)}))["accountLock"][
        "__typename"
    ] == "AccountSaved"
    before = len(await messages_to(session, "lan1@example.vn"))
    answer = (await gql(client, REQUEST_CODE, {"i": "lan1@example.vn"}))["data"]["accountUnlockCodeRequest"]
    assert answer == {"__typename": "Done", "ok": True}
    assert len(await messages_to(session, "lan1@example.vn")) == before  # no code for this lock
    account_id = account.id
    session.expire_all()
    locked = await session.get_one(Account, account_id)
    assert (locked.status, locked.lock_reason) == (AccountStatus.LOCKED, LockReason.DECEASED)


async def test_unlock_codes_are_rate_limited_per_identifier(client: httpx.AsyncClient) -> None:
    for _ in range(5):
        answer = (await gql(client, REQUEST_CODE, {"i": "ghost@example.vn"}))["data"]
        assert answer["accountUnlockCodeRequest"]["__typename"] == "Done"
    limited = (await gql(client, REQUEST_CODE, {"i": "ghost@example.vn"}))["data"]["accountUnlockCodeRequest"]
    assert limited["code"] == "RATE_LIMITED"


async def test_successful_sign_ins_never_count_toward_the_limits(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await active_citizen(client, session)
    for n in range(32):  # more than the per-identifier (10) and per-address (30) limits
        result = await sign_in(client, "lan1@example.vn", PASSWORD)
        assert result["__typename"] == "SignedIn", (n, result)
    # Failures still count.
    for _ in range(4):
        assert (await sign_in(client, "lan1@example.vn", WRONG))["code"] == "BAD_CREDENTIALS"
    assert (await sign_in(client, "lan1@example.vn"))["__typename"] == "SignedIn"
