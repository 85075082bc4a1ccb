"""Shared steps for account tests: register, read the outbox, verify, sign in."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import passwords
from auth.tokens import issue_access
from models.accounts import (
    Account,
    AccountKind,
    AccountStatus,
    CitizenProfile,
    Notification,
    StaffAssignment,
    Vault,
)
from models.catalog import Agency
from tests.conftest import NOW, TOKENS, gql

REGISTER = """
mutation($input: CitizenRegisterInput!) { citizenRegister(input: $input) {
  __typename
  ... on Registered { verificationSentTo }
  ... on ValidationFailed { errors { field code message } }
  ... on Refused { code message }
} }"""

VERIFY = """
mutation($d: String!, $c: String!) { contactVerify(destination: $d, code: $c) {
  __typename ... on AccountSaved { account { status emailVerified phoneVerified } } ... on Refused { code message }
} }"""

SIGN_IN = """
mutation($i: String!, $p: String!) { signIn(identifier: $i, password: $p) {
  __typename
  ... on SignedIn { session { accessToken refreshToken accessTokenExpiresAt account { id displayName kind } } }
  ... on Refused { code message }
} }"""

REFRESH = """
mutation($t: String!) { tokenRefresh(refreshToken: $t) {
  __typename ... on SignedIn { session { accessToken refreshToken } } ... on Refused { code message }
} }"""

PASSWORD = "Mat-khau-an-toan-2026"


def citizen_input(n: int = 1, **overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "citizenId": f"0251900{n:05d}",
        "fullName": "Nguyễn Thị Lan",
        "birthDate": "1992-03-04",
        "password": PASSWORD,
        "email": f"lan{n}@example.vn",
        "phone": f"09123{n:05d}",
        "address": "Phường Việt Trì, tỉnh Phú Thọ",
    }
    data.update(overrides)
    return data


async def last_code(session: AsyncSession, destination: str) -> str:
    """The code in the newest message sent to `destination` (the outbox, as a test reads it)."""
    row = await session.scalar(
        select(Notification)
        .where(Notification.destination == destination)
        .order_by(Notification.seq.desc())
        .limit(1)
    )
    assert row is not None, f"nothing sent to {destination}"
    match = re.search(r"\b(\d{6})\b", row.body)
    assert match, row.body
    return match.group(1)


async def account_by_email(session: AsyncSession, email: str) -> Account:
    """The account registered with `email` (a registration answers nothing about the account)."""
    session.expire_all()
    account = await session.scalar(select(Account).where(Account.email == email))
    assert account is not None, f"no account with {email}"
    return account


async def messages_to(session: AsyncSession, destination: str) -> list[Notification]:
    return list(
        await session.scalars(
            select(Notification).where(Notification.destination == destination).order_by(Notification.seq)
        )
    )


async def register(client: httpx.AsyncClient, n: int = 1, **overrides: Any) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(client, REGISTER, {"input": citizen_input(n, **overrides)}))["data"][
        "citizenRegister"
    ]
    return result


async def active_citizen(client: httpx.AsyncClient, session: AsyncSession, n: int = 1) -> dict[str, Any]:
    """Registered and verified by e-mail; returns the registration result."""
    result = await register(client, n)
    assert result["__typename"] == "Registered", result
    email = citizen_input(n)["email"]
    verified = (await gql(client, VERIFY, {"d": email, "c": await last_code(session, email)}))["data"]
    assert verified["contactVerify"]["account"]["status"] == "ACTIVE"
    return result


async def sign_in(client: httpx.AsyncClient, identifier: str, password: str = PASSWORD) -> dict[str, Any]:
    result: dict[str, Any] = (await gql(client, SIGN_IN, {"i": identifier, "p": password}))["data"]["signIn"]
    return result


async def token_for(client: httpx.AsyncClient, session: AsyncSession, n: int = 1) -> str:
    await active_citizen(client, session, n)
    signed = await sign_in(client, citizen_input(n)["email"])
    token: str = signed["session"]["accessToken"]
    return token


async def add_citizen(
    session: AsyncSession, name: str, citizen_id: str, email: str, password: str = "x-y-z-1234"
) -> Account:
    """An active, verified citizen with their profile and vault (every account has one), added
    and flushed in `session`; the caller commits."""
    account = Account(
        id=uuid.uuid4(),
        kind=AccountKind.CITIZEN,
        status=AccountStatus.ACTIVE,
        display_name=name,
        email=email,
        email_verified_at=NOW,
        password_hash=passwords.hash_password(password),
        failed_sign_ins=0,
        token_version=1,
    )
    session.add(account)
    await session.flush()
    session.add(CitizenProfile(account_id=account.id, citizen_id=citizen_id, full_name=name))
    session.add(Vault(account_id=account.id, created_at=NOW))
    return account


async def make_staff(
    session: AsyncSession, email: str, *assignments: tuple[str, str | None, bool]
) -> tuple[uuid.UUID, str]:
    """An active staff account with (role, agency code, include sub-agencies) assignments,
    committed to the test's transaction; returns its id and an access token."""
    account = Account(
        id=uuid.uuid4(),
        kind=AccountKind.STAFF,
        status=AccountStatus.ACTIVE,
        display_name=f"Cán bộ {email.split('@', maxsplit=1)[0]}",
        email=email,
        email_verified_at=NOW,
        password_hash=passwords.hash_password(PASSWORD),
        failed_sign_ins=0,
        token_version=1,
    )
    session.add(account)
    await session.flush()
    for role, agency_code, sub in assignments:
        agency_id = (
            await session.scalar(select(Agency.id).where(Agency.code == agency_code)) if agency_code else None
        )
        session.add(
            StaffAssignment(
                account_id=account.id,
                agency_id=agency_id,
                role=role,
                include_sub_agencies=sub,
                created_at=NOW,
                created_by="test",
            )
        )
    await session.commit()
    return account.id, issue_access(TOKENS, account_id=account.id, token_version=1, now=NOW)
