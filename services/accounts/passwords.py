"""Passwords (mật khẩu): the owner changes theirs, or sets a new one with a code sent to a
verified contact. Trà Vinh rules art. 6–7, Kon Tum art. 7–8, 13: a reset leaves a locked account
locked — unlocking is an admin act.
"""

from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth import passwords
from auth.actor import Actor
from models.accounts import Account, AccountStatus, CodePurpose
from services.accounts import rules
from services.accounts.codes import issue_code, normalise_destination, use_code
from services.accounts.journal import Journal, security_event
from services.accounts.owners import own_account, person
from services.accounts.policy import AccountPolicy
from services.accounts.sessions import Session, revoke_everything, start_session
from services.errors import FieldIssue, Issues, RateLimited, ValidationFailed


async def change_password(
    session: AsyncSession, actor: Actor, current: str, new: str, *, journal: Journal, policy: AccountPolicy
) -> Session:
    account = await own_account(session, actor)
    if not passwords.verify_password(account.password_hash, current):
        raise ValidationFailed(
            [FieldIssue(("currentPassword",), "WRONG_PASSWORD", "Mật khẩu hiện tại không đúng.")]
        )
    issues = Issues()
    rules.check_password(issues, ("newPassword",), new, personal=(account.email or "", account.phone or ""))
    issues.raise_if_any()
    account.password_hash = passwords.hash_password(new)
    await revoke_everything(session, account, now=journal.now)
    session.add(
        security_event(
            "PASSWORD_CHANGE",
            "SUCCESS",
            actor=actor,
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
        )
    )
    return await start_session(session, account, policy=policy, journal=journal)


async def request_password_reset(
    session: AsyncSession, destination: str, *, journal: Journal, policy: AccountPolicy
) -> None:
    """Send a reset code to a verified contact. The answer never says whether it exists."""
    dest = normalise_destination(destination)
    if wait := await journal.over_limit(
        f"code:{dest}", window=policy.code_window, limit=policy.codes_per_destination
    ):
        raise RateLimited("Đã gửi quá nhiều mã tới địa chỉ này, vui lòng thử lại sau.", retry_after=wait)
    account = await session.scalar(
        select(Account).where(
            or_(Account.email == dest, Account.phone == dest), Account.status != AccountStatus.DELETED
        )
    )
    if account is None:
        return
    verified = (account.email == dest and account.email_verified_at) or (
        account.phone == dest and account.phone_verified_at
    )
    if verified:
        channel = "SMS" if dest.startswith("+") else "EMAIL"
        await issue_code(
            session, account, CodePurpose.RESET_PASSWORD, channel, dest, now=journal.now, policy=policy
        )


async def reset_password(
    session: AsyncSession, destination: str, code: str, new: str, *, journal: Journal, policy: AccountPolicy
) -> Account:
    """Set a new password with a code. A locked account stays locked: unlocking is an admin act."""
    dest = normalise_destination(destination)
    issues = Issues()
    rules.check_password(issues, ("newPassword",), new, personal=(dest,))
    issues.raise_if_any()
    row = await use_code(session, dest, code, CodePurpose.RESET_PASSWORD, journal=journal, policy=policy)
    account = await session.get_one(Account, row.account_id, with_for_update=True)
    account.password_hash = passwords.hash_password(new)
    if row.channel == "EMAIL" and account.email_verified_at is None:
        account.email_verified_at = journal.now  # a staff member setting a first password
    if account.status is AccountStatus.PENDING:
        account.status = AccountStatus.ACTIVE
    await revoke_everything(session, account, now=journal.now)
    session.add(
        security_event(
            "PASSWORD_RESET",
            "SUCCESS",
            actor=person(account),
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
        )
    )
    await session.flush()
    return account
