"""Self-unlock by code (tự mở khoá): the owner may lift a lock for wrong passwords — which
anyone can cause — with a code sent to a verified contact; every other lock is an admin's to
lift.
"""

from __future__ import annotations

import secrets

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts import Account, AccountStatus, CodePurpose, LockReason, OneTimeCode
from services.accounts import rules
from services.accounts.codes import code_hash, issue_code
from services.accounts.journal import Journal
from services.accounts.locks import unlock
from services.accounts.owners import find_by_identifier, person
from services.accounts.policy import AccountPolicy
from services.errors import RateLimited, Refused


def _self_unlockable(account: Account | None) -> bool:
    """Only the lock for wrong passwords (the one anyone can cause) is the owner's to lift."""
    return (
        account is not None
        and account.status is AccountStatus.LOCKED
        and account.lock_reason is LockReason.FAILED_SIGN_INS
    )


async def request_unlock_code(
    session: AsyncSession, identifier: str, *, journal: Journal, policy: AccountPolicy
) -> None:
    """Send an unlock code to each verified contact of an account locked for wrong passwords.
    The answer is the same whether the identifier has an account, is locked, or not."""
    ident = identifier.strip()
    key = f"code:unlock:{(rules.normalise_phone(ident) or ident.lower())[:100]}"
    if wait := await journal.over_limit(key, window=policy.code_window, limit=policy.codes_per_destination):
        raise RateLimited("Đã gửi quá nhiều mã cho tài khoản này, vui lòng thử lại sau.", retry_after=wait)
    account = await find_by_identifier(session, ident)
    if account is None or not _self_unlockable(account):
        return
    for channel, destination, verified in (
        ("EMAIL", account.email, account.email_verified_at),
        ("SMS", account.phone, account.phone_verified_at),
    ):
        if not (destination and verified):
            continue
        # The same per-destination budget as every other code: several identifiers of one
        # account cannot multiply the messages its owner gets.
        if await journal.hit(f"code:{destination}", window=policy.code_window) > policy.codes_per_destination:
            continue
        await issue_code(
            session, account, CodePurpose.UNLOCK_ACCOUNT, channel, destination, now=journal.now, policy=policy
        )


async def unlock_with_code(
    session: AsyncSession, identifier: str, code: str, *, journal: Journal, policy: AccountPolicy
) -> None:
    """The owner lifts a lock for wrong passwords with a code sent to a verified contact. A wrong
    code costs an attempt of every live code of the account (few each), and that cost is kept."""
    bad = Refused("BAD_CODE", "Mã xác thực không đúng hoặc đã hết hạn.")
    account = await find_by_identifier(session, identifier)
    if account is None:
        raise bad
    rows = (
        await session.scalars(
            select(OneTimeCode)
            .where(
                OneTimeCode.account_id == account.id,
                OneTimeCode.purpose == CodePurpose.UNLOCK_ACCOUNT,
                OneTimeCode.used_at.is_(None),
                OneTimeCode.expires_at > journal.now,
                OneTimeCode.attempts < policy.code_attempts,
            )
            .with_for_update()
        )
    ).all()
    digest = code_hash(account.id, code.strip())
    if not any(secrets.compare_digest(row.code_hash, digest) for row in rows):
        for row in rows:
            row.attempts += 1
        await session.flush()
        raise Refused(bad.code, bad.message, keep_writes=bool(rows))
    await session.refresh(account, with_for_update=True)
    if not _self_unlockable(account):
        raise bad
    await unlock(
        session,
        account,
        actor=person(account),
        now=journal.now,
        meta=journal.meta,
        system_name=policy.system_name,
        via="code",
    )
