"""Locks and unlocks (khoá, mở khoá tài khoản).

Trà Vinh rules art. 6–7, Kon Tum art. 7–8, 13: an account is locked after 5 consecutive wrong
passwords, after a year without signing in (the owner warned first), on request, on death or
declared disappearance (Trà Vinh art. 6.4.b) or dissolution, and (staff) when no longer
assigned; unlocking is an admin act — trying harder never unlocks — except that the owner may
lift a lock for wrong passwords (`self_unlock`). Every lock revokes the account's sessions and
tells its owner. A lock for death or disappearance seals the account's vault, and lifting it
unseals it (`services.accounts.estate`).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from models.accounts import Account, AccountStatus, CodePurpose, LockReason, OneTimeCode
from services.accounts import estate, messages
from services.accounts.journal import Journal, RequestMeta, security_event
from services.accounts.owners import own_account, tell_owner
from services.accounts.sessions import revoke_everything


async def lock(
    session: AsyncSession,
    account: Account,
    reason: LockReason,
    *,
    actor: Actor,
    now: datetime,
    meta: RequestMeta,
    system_name: str,
) -> None:
    """Lock, revoke every session, and tell the owner (the message signed `system_name`)."""
    account.status = AccountStatus.LOCKED
    account.lock_reason = reason
    account.locked_at = now
    await revoke_everything(session, account, now=now)
    session.add(
        security_event(
            "LOCK",
            "SUCCESS",
            actor=actor,
            now=now,
            meta=meta,
            subject_id=account.id,
            detail={"reason": reason.value},
        )
    )
    if reason in estate.SEALING:
        await estate.seal(session, account, reason, actor=actor, now=now, meta=meta)
    subject, body = messages.locked(reason.value, system=system_name)
    tell_owner(session, account, "account_locked", subject, body, now=now)
    await session.flush()


def lock_text(account: Account) -> str:
    return messages.LOCK_REASONS[account.lock_reason.value if account.lock_reason else "ADMIN"]


async def request_own_lock(
    session: AsyncSession, actor: Actor, *, journal: Journal, system_name: str
) -> Account:
    account = await own_account(session, actor)
    await lock(
        session,
        account,
        LockReason.OWNER_REQUEST,
        actor=actor,
        now=journal.now,
        meta=journal.meta,
        system_name=system_name,
    )
    return account


async def unlock(
    session: AsyncSession,
    account: Account,
    *,
    actor: Actor,
    now: datetime,
    meta: RequestMeta,
    system_name: str,
    via: str | None = None,
) -> None:
    account.status = (
        AccountStatus.ACTIVE
        if (account.email_verified_at or account.phone_verified_at)
        else AccountStatus.PENDING
    )
    previous = account.lock_reason
    account.lock_reason = None
    account.locked_at = None
    account.failed_sign_ins = 0
    account.inactivity_warned_at = None
    account.last_sign_in_at = account.last_sign_in_at and max(account.last_sign_in_at, now)
    session.add(
        security_event(
            "UNLOCK",
            "SUCCESS",
            actor=actor,
            now=now,
            meta=meta,
            subject_id=account.id,
            detail={"previousReason": previous.value if previous else None} | ({"via": via} if via else {}),
        )
    )
    await session.execute(  # codes asked for this lock are spent with it
        update(OneTimeCode)
        .where(
            OneTimeCode.account_id == account.id,
            OneTimeCode.purpose == CodePurpose.UNLOCK_ACCOUNT,
            OneTimeCode.used_at.is_(None),
        )
        .values(used_at=now)
    )
    if previous in estate.SEALING:
        await estate.unseal(session, account, previous, actor=actor, now=now, meta=meta)
    subject, body = messages.unlocked(system=system_name)
    tell_owner(session, account, "account_unlocked", subject, body, now=now)
    await session.flush()
