"""One-time codes (mã xác thực): six digits sent to a contact to verify it, reset a password or
lift a lock for wrong passwords; a fresh code replaces the earlier one, and a wrong guess costs
one of few attempts.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth import tokens
from models.accounts import Account, CodePurpose, OneTimeCode
from services.accounts import messages, rules
from services.accounts.journal import Journal, notification
from services.accounts.policy import AccountPolicy
from services.errors import Refused


def code_hash(account_id: uuid.UUID, code: str) -> str:
    return tokens.hash_token(f"{account_id}:{code}")


async def issue_code(
    session: AsyncSession,
    account: Account,
    purpose: CodePurpose,
    channel: str,
    destination: str,
    *,
    now: datetime,
    policy: AccountPolicy,
    ttl: timedelta | None = None,
    welcome: bool = False,
) -> None:
    """A fresh 6-digit code replaces any earlier one for the same purpose and destination."""
    ttl = ttl or policy.code_ttl
    await session.execute(
        update(OneTimeCode)
        .where(
            OneTimeCode.account_id == account.id,
            OneTimeCode.purpose == purpose,
            OneTimeCode.destination == destination,
            OneTimeCode.used_at.is_(None),
        )
        .values(used_at=now)
    )
    code = f"{secrets.randbelow(10**6):06d}"
    session.add(
        OneTimeCode(
            account_id=account.id,
            purpose=purpose,
            channel=channel,
            destination=destination,
            code_hash=code_hash(account.id, code),
            created_at=now,
            expires_at=now + ttl,
            attempts=0,
        )
    )
    minutes = int(ttl.total_seconds() // 60)
    if welcome:
        subject, body = messages.staff_welcome(code, minutes, system=policy.system_name)
    elif purpose is CodePurpose.VERIFY_CONTACT:
        subject, body = messages.verification_code(code, minutes, system=policy.system_name)
    elif purpose is CodePurpose.UNLOCK_ACCOUNT:
        subject, body = messages.unlock_code(code, minutes, system=policy.system_name)
    else:
        subject, body = messages.reset_code(code, minutes, system=policy.system_name)
    session.add(
        notification(
            account_id=account.id,
            channel=channel,
            destination=destination,
            template=f"{purpose.value.lower()}{'_welcome' if welcome else ''}",
            subject=subject,
            body=body,
            now=now,
        )
    )


def normalise_destination(value: str) -> str:
    return rules.normalise_phone(value) or rules.normalise_email(value)


async def use_code(
    session: AsyncSession,
    destination: str,
    code: str,
    purpose: CodePurpose,
    *,
    journal: Journal,
    policy: AccountPolicy,
) -> OneTimeCode:
    """The matching live code, marked used. A wrong guess costs one of few attempts, and that
    cost is kept (the refusal commits it)."""
    row = await session.scalar(
        select(OneTimeCode)
        .where(
            OneTimeCode.destination == destination,
            OneTimeCode.purpose == purpose,
            OneTimeCode.used_at.is_(None),
            OneTimeCode.expires_at > journal.now,
        )
        .order_by(OneTimeCode.created_at.desc())
        .limit(1)
        .with_for_update()
    )
    if row is None or row.attempts >= policy.code_attempts:
        raise Refused("BAD_CODE", "Mã xác thực không đúng hoặc đã hết hạn.")
    if not secrets.compare_digest(row.code_hash, code_hash(row.account_id, code.strip())):
        row.attempts += 1
        await session.flush()
        raise Refused("BAD_CODE", "Mã xác thực không đúng hoặc đã hết hạn.", keep_writes=True)
    row.used_at = journal.now
    return row
