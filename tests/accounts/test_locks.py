"""The lock rules (Trà Vinh art. 7; Kon Tum art. 8), exactly: five wrong passwords, a year
without signing in (warned first), the owner's request, death or dissolution, staff no longer
assigned — the owner told each time; unlocking is an admin act; trying harder never unlocks."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app import policy_from_settings
from core.settings import Settings
from models.accounts import Account, AccountStatus, LockReason, SecurityEvent
from services.accounts.inactivity import InactivityRun, run_inactivity
from services.accounts.policy import AccountPolicy
from tests.accounts.helpers import PASSWORD, active_citizen, messages_to, sign_in
from tests.conftest import NOW, admin_gql, gql

WRONG = "Sai-mat-khau-123"


async def _account(session: AsyncSession, email: str = "lan1@example.vn") -> Account:
    session.expire_all()
    account = await session.scalar(select(Account).where(Account.email == email))
    assert account is not None
    return account


async def test_five_consecutive_wrong_passwords_lock(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await active_citizen(client, session)
    for _ in range(5):
        assert (await sign_in(client, "lan1@example.vn", WRONG))["code"] == "BAD_CREDENTIALS"
    account = await _account(session)
    assert (account.status, account.lock_reason) == (AccountStatus.LOCKED, LockReason.FAILED_SIGN_INS)
    sent = [m.template for m in await messages_to(session, "lan1@example.vn")]
    assert sent[-1] == "account_locked"
    # The right password no longer opens it, however often it is tried.
    for _ in range(3):
        refused = await sign_in(client, "lan1@example.vn", PASSWORD)
        assert refused["code"] == "ACCOUNT_LOCKED"
        assert "sai mật khẩu 5 lần" in refused["message"]
    # A password reset does not unlock either.
    await gql(client, 'mutation { passwordResetRequest(destination: "lan1@example.vn") { __typename } }')
    assert (await _account(session)).status is AccountStatus.LOCKED
    # The admin unlocks; the owner is told; signing in works again.
    unlock = (
        "mutation($id: ID!) { accountUnlock(accountId: $id) { ... on AccountSaved { account { status } } } }"
    )
    result = await admin_gql(client, unlock, {"id": str(account.id)})
    assert result["accountUnlock"]["account"]["status"] == "ACTIVE"
    assert (await messages_to(session, "lan1@example.vn"))[-1].template == "account_unlocked"
    assert (await sign_in(client, "lan1@example.vn"))["__typename"] == "SignedIn"


async def test_a_success_resets_the_count(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await active_citizen(client, session)
    for _ in range(4):
        await sign_in(client, "lan1@example.vn", WRONG)
    assert (await sign_in(client, "lan1@example.vn"))["__typename"] == "SignedIn"
    for _ in range(4):
        await sign_in(client, "lan1@example.vn", WRONG)
    assert (await _account(session)).status is AccountStatus.ACTIVE


async def test_failures_are_audited_with_the_address(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await active_citizen(client, session)
    await sign_in(client, "lan1@example.vn", WRONG)
    account = await _account(session)
    event = await session.scalar(
        select(SecurityEvent).where(SecurityEvent.subject_id == account.id, SecurityEvent.event == "SIGN_IN")
    )
    assert event is not None
    assert (event.outcome, str(event.address), event.detail) == (
        "FAILURE",
        "127.0.0.1",
        {"consecutiveFailures": 1},
    )


async def test_sign_in_is_rate_limited_per_account_identifier(client: httpx.AsyncClient) -> None:
    for _ in range(10):
        assert (await sign_in(client, "ghost@example.vn", WRONG))["code"] == "BAD_CREDENTIALS"
    assert (await sign_in(client, "ghost@example.vn", WRONG))["code"] == "RATE_LIMITED"


async def test_sign_in_is_rate_limited_per_address(client: httpx.AsyncClient) -> None:
    for n in range(30):
        assert (await sign_in(client, f"ghost{n}@example.vn", WRONG))["code"] == "BAD_CREDENTIALS"
    assert (await sign_in(client, "someone-else@example.vn", WRONG))["code"] == "RATE_LIMITED"


@pytest.fixture
def policy(settings: Settings) -> AccountPolicy:
    return policy_from_settings(settings)


async def _last_seen(session: AsyncSession, days: int) -> Account:
    account = await _account(session)
    await session.execute(
        update(Account).where(Account.id == account.id).values(last_sign_in_at=NOW - timedelta(days=days))
    )
    await session.commit()
    return account


async def test_inactivity_warns_first_then_locks(
    client: httpx.AsyncClient, session: AsyncSession, policy: AccountPolicy
) -> None:
    await active_citizen(client, session)
    await _last_seen(session, 340)
    first = await run_inactivity(session, now=NOW, policy=policy)
    assert first == InactivityRun(warned=1, locked=0)
    account = await _account(session)
    assert account.status is AccountStatus.ACTIVE
    assert account.inactivity_warned_at == NOW
    assert (await messages_to(session, "lan1@example.vn"))[-1].template == "inactivity_warning"
    # 26 days later the year is over and the warning is old enough: locked.
    later = NOW + timedelta(days=26)
    assert await run_inactivity(session, now=later, policy=policy) == InactivityRun(warned=0, locked=1)
    account = await _account(session)
    assert (account.status, account.lock_reason) == (AccountStatus.LOCKED, LockReason.INACTIVITY)
    assert (await messages_to(session, "lan1@example.vn"))[-1].template == "account_locked"


async def test_never_locked_without_a_warning_a_week_earlier(
    client: httpx.AsyncClient,
    session: AsyncSession,
    policy: AccountPolicy,
) -> None:
    await active_citizen(client, session)
    await _last_seen(session, 400)  # long past the year, but never warned (the job did not run)
    await run_inactivity(session, now=NOW, policy=policy)
    assert (await _account(session)).status is AccountStatus.ACTIVE  # warned only
    await run_inactivity(session, now=NOW + timedelta(days=3), policy=policy)
    assert (await _account(session)).status is AccountStatus.ACTIVE  # warning too recent
    await run_inactivity(session, now=NOW + timedelta(days=7), policy=policy)
    assert (await _account(session)).lock_reason is LockReason.INACTIVITY


async def test_signing_in_after_the_warning_keeps_the_account(
    client: httpx.AsyncClient,
    session: AsyncSession,
    policy: AccountPolicy,
) -> None:
    await active_citizen(client, session)
    await _last_seen(session, 340)
    await run_inactivity(session, now=NOW, policy=policy)
    assert (await sign_in(client, "lan1@example.vn"))["__typename"] == "SignedIn"  # at NOW: a fresh sign-in
    await run_inactivity(session, now=NOW + timedelta(days=30), policy=policy)
    account = await _account(session)
    assert (account.status, account.inactivity_warned_at) == (AccountStatus.ACTIVE, None)


async def test_owner_may_ask_for_a_lock(client: httpx.AsyncClient, session: AsyncSession) -> None:
    await active_citizen(client, session)
    token = (await sign_in(client, "lan1@example.vn"))["session"]["accessToken"]
    result = await gql(
        client,
        "mutation { accountLockRequest { ... on AccountSaved { account { status lockReason } } } }",
        token=token,
    )
    assert result["data"]["accountLockRequest"]["account"] == {
        "status": "LOCKED",
        "lockReason": "OWNER_REQUEST",
    }
    response = await client.post(
        "/graphql", json={"query": "{ me { id } }"}, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 401
    assert (await sign_in(client, "lan1@example.vn"))["code"] == "ACCOUNT_LOCKED"


LOCK = """mutation($id: ID!, $r: LockReason!) { accountLock(accountId: $id, reason: $r) {
  __typename ... on AccountSaved { account { status lockReason } } ... on ValidationFailed { errors { field code } } } }"""


async def test_admin_locks_on_death_not_for_the_wrong_kind(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await active_citizen(client, session)
    account = await _account(session)
    wrong = await admin_gql(client, LOCK, {"id": str(account.id), "r": "DISSOLVED"})
    assert wrong["accountLock"]["errors"] == [{"field": ["reason"], "code": "WRONG_KIND"}]
    automatic = await admin_gql(client, LOCK, {"id": str(account.id), "r": "FAILED_SIGN_INS"})
    assert automatic["accountLock"]["errors"] == [{"field": ["reason"], "code": "NOT_ADMIN_REASON"}]
    done = await admin_gql(client, LOCK, {"id": str(account.id), "r": "DECEASED"})
    assert done["accountLock"]["account"] == {"status": "LOCKED", "lockReason": "DECEASED"}
    assert (await messages_to(session, "lan1@example.vn"))[-1].template == "account_locked"


async def test_false_account_is_deleted_but_its_trail_kept(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    await active_citizen(client, session)
    account = await _account(session)
    delete = """mutation($id: ID!) { accountDelete(accountId: $id, reason: "Giả mạo giấy tờ") {
        ... on AccountSaved { account { status displayName email phone citizen { citizenId fullName } } } } }"""
    result = (await admin_gql(client, delete, {"id": str(account.id)}))["accountDelete"]["account"]
    assert result == {
        "status": "DELETED",
        "displayName": "(tài khoản đã xoá)",
        "email": None,
        "phone": None,
        "citizen": {"citizenId": None, "fullName": "(đã xoá)"},
    }
    events = [
        e.event
        for e in await session.scalars(select(SecurityEvent).where(SecurityEvent.subject_id == account.id))
    ]
    assert {"REGISTER", "CONTACT_VERIFIED", "ACCOUNT_DELETE"} <= set(events)
    assert (await sign_in(client, "lan1@example.vn"))["code"] == "BAD_CREDENTIALS"
    # The citizen ID may register again (with true data).
    from tests.accounts.helpers import register

    assert (await register(client, 1))["__typename"] == "Registered"
