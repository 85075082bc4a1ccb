"""Citizens and organisations register, verify a contact by one-time code, and get a vault."""

from __future__ import annotations

from datetime import date

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts import (
    Account,
    AccountKind,
    AccountStatus,
    CitizenProfile,
    OrganisationProfile,
    Vault,
)
from tests.accounts.helpers import (
    VERIFY,
    account_by_email,
    citizen_input,
    last_code,
    messages_to,
    register,
)
from tests.conftest import gql


async def test_citizen_registers_gets_a_vault_and_codes(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    result = await register(client)
    assert result == {"__typename": "Registered", "verificationSentTo": ["la***@example.vn", "+8491***01"]}
    account = await account_by_email(session, "lan1@example.vn")
    assert (account.status, account.kind, account.email_verified_at) == (
        AccountStatus.PENDING,
        AccountKind.CITIZEN,
        None,
    )
    assert account.phone == "+84912300001"
    profile = await session.get_one(CitizenProfile, account.id)
    assert (profile.citizen_id, profile.full_name, profile.birth_date) == (
        "025190000001",
        "Nguyễn Thị Lan",
        date(1992, 3, 4),
    )
    assert [m.channel for m in await messages_to(session, "lan1@example.vn")] == ["EMAIL"]
    assert [m.channel for m in await messages_to(session, "+84912300001")] == ["SMS"]
    vault = await session.scalar(
        select(Vault).join(Account, Account.id == Vault.account_id).where(Account.email == "lan1@example.vn")
    )
    assert vault is not None


async def test_verification_activates(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await register(client)
    code = await last_code(session, "+84912300001")
    result = (await gql(client, VERIFY, {"d": "0912 300 001", "c": code}))["data"]["contactVerify"]
    assert result["account"] == {"status": "ACTIVE", "emailVerified": False, "phoneVerified": True}
    again = (await gql(client, VERIFY, {"d": "0912300001", "c": code}))["data"]["contactVerify"]
    assert again["code"] == "BAD_CODE"  # a code is used once


async def test_wrong_codes_exhaust_the_code(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await register(client)
    code = await last_code(session, "lan1@example.vn")
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(5):
        result = (await gql(client, VERIFY, {"d": "lan1@example.vn", "c": wrong}))["data"]["contactVerify"]
        assert result["code"] == "BAD_CODE"
    result = (await gql(client, VERIFY, {"d": "lan1@example.vn", "c": code}))["data"]["contactVerify"]
    assert result["code"] == "BAD_CODE"  # the right code no longer works after five wrong guesses


async def test_validation_errors_are_per_field(client: httpx.AsyncClient) -> None:
    result = await register(
        client,
        citizenId="12345",
        fullName="Lan 2",
        birthDate="2099-01-01",
        password="12345678",
        email="not-an-email",
        phone="12345",
    )
    assert {tuple(e["field"]): e["code"] for e in result["errors"]} == {
        ("citizenId",): "BAD_FORMAT",
        ("fullName",): "BAD_FORMAT",
        ("birthDate",): "IN_FUTURE",
        ("password",): "TOO_WEAK",
        ("email",): "BAD_FORMAT",
        ("phone",): "BAD_FORMAT",
    }
    assert all(e["message"] for e in result["errors"])


async def test_a_contact_is_required(client: httpx.AsyncClient) -> None:
    result = await register(client, email=None, phone=None)
    assert result["errors"][0]["code"] == "REQUIRED"


async def test_password_may_not_contain_the_citizen_id(client: httpx.AsyncClient) -> None:
    result = await register(client, password="abc025190000001")
    assert result["errors"] == [
        {"field": ["password"], "code": "TOO_WEAK", "message": result["errors"][0]["message"]}
    ]


async def test_duplicates_create_nothing(client: httpx.AsyncClient, session: AsyncSession) -> None:
    """A taken citizen ID, e-mail or phone is not a field error (that would tell anyone who has an
    account): the answer is the usual one and nothing is created."""
    await register(client)
    result = await register(
        client, 2, citizenId="025190000001", email="LAN1@example.vn", phone="+84912300001"
    )
    assert result == {"__typename": "Registered", "verificationSentTo": ["la***@example.vn", "+8491***01"]}
    assert (
        await session.scalar(
            select(func.count()).select_from(Account).where(Account.email == "lan1@example.vn")
        )
        == 1
    )


async def test_failed_registration_leaves_nothing(client: httpx.AsyncClient, session: AsyncSession) -> None:
    before = await session.scalar(select(func.count()).select_from(Account))
    await register(client, citizenId="bad")
    assert await session.scalar(select(func.count()).select_from(Account)) == before
    assert await messages_to(session, "lan1@example.vn") == []


async def test_registration_is_rate_limited_per_address(client: httpx.AsyncClient) -> None:
    for n in range(10):
        assert (await register(client, 100 + n))["__typename"] == "Registered"
    result = await register(client, 200)
    assert (result["__typename"], result["code"]) == ("Refused", "RATE_LIMITED")


async def test_organisation_registers(client: httpx.AsyncClient, session: AsyncSession) -> None:
    mutation = """mutation($input: OrganisationRegisterInput!) { organisationRegister(input: $input) {
        __typename ... on Registered { verificationSentTo } ... on ValidationFailed { errors { field code } } } }"""
    data = {
        "taxCode": "2600123456",
        "name": "Công ty TNHH Chè Phú Thọ",
        "representativeName": "Trần Văn Bình",
        "password": "Doanh-nghiep-2026",
        "email": "info@chephutho.vn",
    }
    result = (await gql(client, mutation, {"input": data}))["data"]["organisationRegister"]
    assert result == {"__typename": "Registered", "verificationSentTo": ["in***@chephutho.vn"]}
    account = await account_by_email(session, "info@chephutho.vn")
    assert (account.kind, account.status) == (AccountKind.ORGANISATION, AccountStatus.PENDING)
    profile = await session.get_one(OrganisationProfile, account.id)
    assert (profile.tax_code, profile.name, profile.representative_name) == (
        "2600123456",
        "Công ty TNHH Chè Phú Thọ",
        "Trần Văn Bình",
    )
    assert await session.scalar(select(Vault).where(Vault.account_id == account.id)) is not None
    again = await gql(
        client, mutation, {"input": {**data, "email": "other@chephutho.vn", "taxCode": "26001234"}}
    )
    assert again["data"]["organisationRegister"]["errors"] == [{"field": ["taxCode"], "code": "BAD_FORMAT"}]
    dup = (await gql(client, mutation, {"input": {**data, "email": "other@chephutho.vn"}}))["data"][
        "organisationRegister"
    ]
    assert dup == {"__typename": "Registered", "verificationSentTo": ["ot***@chephutho.vn"]}
    assert await session.scalar(select(Account).where(Account.email == "other@chephutho.vn")) is None


async def test_resend_does_not_reveal_accounts(client: httpx.AsyncClient, session: AsyncSession) -> None:
    resend = "mutation($d: String!) { contactVerificationResend(destination: $d) { __typename ... on Done { ok } } }"
    unknown = (await gql(client, resend, {"d": "nobody@example.vn"}))["data"]["contactVerificationResend"]
    await register(client)
    known = (await gql(client, resend, {"d": "lan1@example.vn"}))["data"]["contactVerificationResend"]
    assert unknown == known == {"__typename": "Done", "ok": True}
    assert len(await messages_to(session, "lan1@example.vn")) == 2
    assert citizen_input()["email"] == "lan1@example.vn"
