"""Sign-in with a password (đăng nhập).

Trà Vinh rules art. 6–7, Kon Tum art. 7–8, 13: an account is locked after 5 consecutive wrong
passwords. Attempts are limited per address and per identifier; a failure never says whether the
account exists.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession

from auth import passwords
from auth.actor import Actor, ActorKind
from models.accounts import Account, AccountStatus, LockReason
from services.accounts import messages
from services.accounts.journal import Journal, security_event
from services.accounts.locks import lock, lock_text
from services.accounts.owners import find_by_identifier, person
from services.accounts.policy import AccountPolicy
from services.accounts.sessions import Session, start_session
from services.errors import RateLimited, Refused

GENERIC_SIGN_IN_FAILURE = "Thông tin đăng nhập không đúng."


async def _record_failure(
    session: AsyncSession, journal: Journal, policy: AccountPolicy, account: Account | None, identifier: str
) -> None:
    """Count a wrong password; the fifth in a row locks the account (and tells its owner)."""
    anonymous = Actor(ActorKind.ANONYMOUS)
    if account is None:
        session.add(
            security_event(
                "SIGN_IN",
                "FAILURE",
                actor=anonymous,
                now=journal.now,
                meta=journal.meta,
                detail={"identifier": identifier[:100]},
            )
        )
        return
    failures = (
        await session.execute(
            update(Account)
            .where(Account.id == account.id)
            .values(failed_sign_ins=Account.failed_sign_ins + 1)
            .returning(Account.failed_sign_ins)
        )
    ).scalar_one()
    session.add(
        security_event(
            "SIGN_IN",
            "FAILURE",
            actor=anonymous,
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
            detail={"consecutiveFailures": failures},
        )
    )
    await session.refresh(account, with_for_update=True)
    if failures >= policy.lock_after_failures and account.status is AccountStatus.ACTIVE:
        await lock(
            session,
            account,
            LockReason.FAILED_SIGN_INS,
            actor=anonymous,
            now=journal.now,
            meta=journal.meta,
            system_name=policy.system_name,
        )


def _denied(session: AsyncSession, journal: Journal, account: Account | None, reason: str) -> None:
    actor = person(account) if account else Actor(ActorKind.ANONYMOUS)
    session.add(
        security_event(
            "SIGN_IN",
            "DENIED",
            actor=actor,
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id if account else None,
            detail={"reason": reason},
        )
    )


async def sign_in(
    session: AsyncSession, identifier: str, password: str, *, journal: Journal, policy: AccountPolicy
) -> Session:
    # Each attempt takes a place in both windows at once (so parallel guesses cannot overrun
    # them) and a successful sign-in gives its places back: only failures count.
    window = policy.sign_in_window
    by_address = f"signin:addr:{journal.meta.address or '-'}"
    if wait := await journal.over_limit(by_address, window=window, limit=policy.sign_in_per_address):
        _denied(session, journal, None, "rate")
        raise RateLimited(
            "Quá nhiều lần đăng nhập từ địa chỉ này, vui lòng thử lại sau.",
            retry_after=wait,
            keep_writes=True,
        )
    by_identifier = f"signin:id:{identifier.strip().lower()[:100]}"
    if wait := await journal.over_limit(by_identifier, window=window, limit=policy.sign_in_per_identifier):
        _denied(session, journal, None, "rate")
        raise RateLimited(
            "Quá nhiều lần đăng nhập vào tài khoản này, vui lòng thử lại sau.",
            retry_after=wait,
            keep_writes=True,
        )
    account = await find_by_identifier(session, identifier)
    if not passwords.verify_password(account.password_hash if account else None, password) or account is None:
        await _record_failure(session, journal, policy, account, identifier)
        raise Refused("BAD_CREDENTIALS", GENERIC_SIGN_IN_FAILURE, keep_writes=True)
    await session.refresh(account, with_for_update=True)
    if account.status is AccountStatus.LOCKED:
        _denied(session, journal, account, "locked")
        raise Refused(
            "ACCOUNT_LOCKED",
            f"Tài khoản đã bị khoá do {lock_text(account)}. "
            + (
                messages.SELF_UNLOCK
                if account.lock_reason is LockReason.FAILED_SIGN_INS
                else "Vui lòng liên hệ quản trị hệ thống để mở khoá."
            ),
            keep_writes=True,
        )
    if account.status is AccountStatus.PENDING:
        raise Refused(
            "NOT_VERIFIED", "Tài khoản chưa được xác thực; nhập mã đã gửi tới thư điện tử hoặc điện thoại."
        )
    await journal.give_back(by_address, by_identifier, window=policy.sign_in_window)
    account.failed_sign_ins = 0
    account.last_sign_in_at = journal.now
    account.inactivity_warned_at = None
    if account.password_hash and passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)
    session.add(
        security_event(
            "SIGN_IN",
            "SUCCESS",
            actor=person(account),
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
        )
    )
    return await start_session(session, account, policy=policy, journal=journal)
