"""Sessions (phiên đăng nhập): the tokens a sign-in hands the client, their rotation, signing
out, and revoking every session of an account.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth import tokens
from auth.actor import Actor, ActorKind
from models.accounts import Account, AccountStatus, RefreshToken
from services.accounts.journal import Journal, security_event
from services.accounts.owners import own_account
from services.accounts.policy import AccountPolicy
from services.errors import Refused


@dataclass(frozen=True)
class Session:
    """What a successful sign-in (or refresh) hands the client."""

    account: Account
    access_token: str
    refresh_token: str
    access_expires_at: datetime


async def start_session(
    session: AsyncSession,
    account: Account,
    *,
    policy: AccountPolicy,
    journal: Journal,
    family: uuid.UUID | None = None,
) -> Session:
    now = journal.now
    raw, digest = tokens.new_refresh_token()
    row_id = uuid.uuid4()
    session.add(
        RefreshToken(
            id=row_id,
            account_id=account.id,
            family_id=family or uuid.uuid4(),
            token_hash=digest,
            created_at=now,
            expires_at=now + policy.tokens.refresh_ttl,
            user_agent=(journal.meta.user_agent or "")[:300] or None,
            address=journal.meta.address,
        )
    )
    access = tokens.issue_access(
        policy.tokens, account_id=account.id, token_version=account.token_version, now=now, session_id=row_id
    )
    await session.flush()
    return Session(account, access, raw, now + policy.tokens.access_ttl)


async def refresh(session: AsyncSession, token: str, *, journal: Journal, policy: AccountPolicy) -> Session:
    """Rotate: the presented token is spent and a new one issued. A spent token presented again
    means it was copied: the whole session family is revoked."""
    invalid = Refused("INVALID_REFRESH_TOKEN", "Phiên đăng nhập đã hết hạn, vui lòng đăng nhập lại.")
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == tokens.hash_token(token)).with_for_update()
    )
    if row is None:
        raise invalid
    if row.rotated_at is not None or row.revoked_at is not None:
        await revoke_family(session, row.family_id, now=journal.now)
        session.add(
            security_event(
                "REFRESH_TOKEN_REUSE",
                "DENIED",
                actor=Actor(ActorKind.ANONYMOUS),
                now=journal.now,
                meta=journal.meta,
                subject_id=row.account_id,
            )
        )
        raise Refused(invalid.code, invalid.message, keep_writes=True)
    if row.expires_at <= journal.now:
        raise invalid
    account = await session.get_one(Account, row.account_id)
    if account.status is not AccountStatus.ACTIVE:
        raise invalid
    row.rotated_at = journal.now
    return await start_session(session, account, policy=policy, journal=journal, family=row.family_id)


async def sign_out(session: AsyncSession, token: str, *, journal: Journal) -> None:
    row = await session.scalar(
        select(RefreshToken).where(RefreshToken.token_hash == tokens.hash_token(token))
    )
    if row is None:
        return
    await revoke_family(session, row.family_id, now=journal.now)
    session.add(
        security_event(
            "SIGN_OUT",
            "SUCCESS",
            actor=Actor(ActorKind.ANONYMOUS),
            now=journal.now,
            meta=journal.meta,
            subject_id=row.account_id,
        )
    )


async def revoke_family(session: AsyncSession, family_id: uuid.UUID, *, now: datetime) -> None:
    """Every refresh token of one sign-in (its rotations share a family) revoked."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )


async def revoke_everything(session: AsyncSession, account: Account, *, now: datetime) -> None:
    """Every refresh token revoked and every access token invalidated (token version bump)."""
    await session.execute(
        update(RefreshToken)
        .where(RefreshToken.account_id == account.id, RefreshToken.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    account.token_version += 1


async def sign_out_everywhere(session: AsyncSession, actor: Actor, *, journal: Journal) -> None:
    account = await own_account(session, actor)
    await revoke_everything(session, account, now=journal.now)
    session.add(
        security_event(
            "SIGN_OUT_EVERYWHERE",
            "SUCCESS",
            actor=actor,
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
        )
    )
