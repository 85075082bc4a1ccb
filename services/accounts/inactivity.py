"""The inactivity run (khoá tài khoản không sử dụng), a scheduled job.

Trà Vinh rules art. 6–7, Kon Tum art. 7–8, 13: an account is locked after a year without
signing in, its owner warned a month before.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import SYSTEM
from models.accounts import Account, AccountStatus, LockReason
from services.accounts import messages
from services.accounts.journal import security_event
from services.accounts.locks import lock
from services.accounts.owners import tell_owner
from services.accounts.policy import AccountPolicy
from services.system import SYSTEM_META


@dataclass(frozen=True)
class InactivityRun:
    warned: int
    locked: int


async def run_inactivity(session: AsyncSession, *, now: datetime, policy: AccountPolicy) -> InactivityRun:
    """The scheduled job: warn owners a month before the one-year lock, then lock — never
    without a warning given at least `min_warning_notice` earlier."""
    last_seen = Account.last_sign_in_at
    seen = select(Account).where(Account.status == AccountStatus.ACTIVE)
    warn_before = now - (policy.inactivity - policy.warn_before_inactivity_lock)
    to_warn = (
        await session.scalars(
            seen.where(
                Account.inactivity_warned_at.is_(None),
                or_(last_seen < warn_before, (last_seen.is_(None)) & (Account.created_at < warn_before)),
            ).with_for_update(skip_locked=True)
        )
    ).all()
    for account in to_warn:
        reference = account.last_sign_in_at or account.created_at
        lock_on = (reference + policy.inactivity).date()
        subject, body = messages.inactivity_warning(
            max(lock_on, (now + policy.min_warning_notice).date()), system=policy.system_name
        )
        tell_owner(session, account, "inactivity_warning", subject, body, now=now)
        account.inactivity_warned_at = now
        session.add(
            security_event(
                "INACTIVITY_WARNING",
                "SUCCESS",
                actor=SYSTEM,
                now=now,
                meta=SYSTEM_META,
                subject_id=account.id,
            )
        )
    lock_before = now - policy.inactivity
    to_lock = (
        await session.scalars(
            seen.where(
                Account.inactivity_warned_at.is_not(None),
                Account.inactivity_warned_at <= now - policy.min_warning_notice,
                or_(last_seen < lock_before, (last_seen.is_(None)) & (Account.created_at < lock_before)),
            ).with_for_update(skip_locked=True)
        )
    ).all()
    for account in to_lock:
        await lock(
            session,
            account,
            LockReason.INACTIVITY,
            actor=SYSTEM,
            now=now,
            meta=SYSTEM_META,
            system_name=policy.system_name,
        )
    await session.flush()
    return InactivityRun(len(to_warn), len(to_lock))
