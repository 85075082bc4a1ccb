"""Admin locks and unlocks (quản trị khoá, mở khoá): for death, declared disappearance (Trà Vinh
art. 6.4.b), dissolution or by decision; only a system admin lifts a lock for death, disappearance
or dissolution.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from models.accounts import VAULT_SEALING_LOCKS, Account, AccountKind, AccountStatus, LockReason
from services.accounts.admin.reach import manageable, require_admin
from services.accounts.journal import Journal
from services.accounts.locks import lock, unlock
from services.errors import FieldIssue, Forbidden, ValidationFailed

ADMIN_LOCK_REASONS = frozenset(
    {LockReason.DECEASED, LockReason.MISSING, LockReason.DISSOLVED, LockReason.ADMIN}
)
SYSTEM_ADMIN_UNLOCKS = frozenset({LockReason.DECEASED, LockReason.MISSING, LockReason.DISSOLVED})


async def admin_lock(
    session: AsyncSession,
    actor: Actor,
    account_id: uuid.UUID,
    reason: LockReason,
    *,
    journal: Journal,
    system_name: str,
) -> Account:
    require_admin(actor)
    if reason not in ADMIN_LOCK_REASONS:
        raise ValidationFailed(
            [FieldIssue(("reason",), "NOT_ADMIN_REASON", "Lý do này do hệ thống tự áp dụng.")]
        )
    account = await manageable(session, actor, account_id)
    if reason in (LockReason.DECEASED, LockReason.MISSING) and account.kind is not AccountKind.CITIZEN:
        raise ValidationFailed([FieldIssue(("reason",), "WRONG_KIND", "Chỉ áp dụng cho tài khoản công dân.")])
    if reason is LockReason.DISSOLVED and account.kind is not AccountKind.ORGANISATION:
        raise ValidationFailed([FieldIssue(("reason",), "WRONG_KIND", "Chỉ áp dụng cho tài khoản tổ chức.")])
    if account.status is AccountStatus.LOCKED and not (
        reason in VAULT_SEALING_LOCKS and account.lock_reason is not reason
    ):
        return account
    # A death or disappearance recorded on an account already locked for another reason (a year
    # without signing in, say) replaces that reason, so that the vault is sealed.
    await lock(
        session, account, reason, actor=actor, now=journal.now, meta=journal.meta, system_name=system_name
    )
    return account


async def admin_unlock(
    session: AsyncSession, actor: Actor, account_id: uuid.UUID, *, journal: Journal, system_name: str
) -> Account:
    require_admin(actor)
    account = await manageable(session, actor, account_id)
    if account.status is not AccountStatus.LOCKED:
        return account
    if account.lock_reason in SYSTEM_ADMIN_UNLOCKS and not actor.is_system_admin:
        raise Forbidden("Chỉ quản trị hệ thống được mở khoá tài khoản này.")
    await unlock(session, account, actor=actor, now=journal.now, meta=journal.meta, system_name=system_name)
    return account
