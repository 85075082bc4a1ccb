"""Who may administer whom (phạm vi quản trị).

Who may act on whom is a query (`manageable_accounts`), used for reads and writes alike: a
system admin manages every account; an agency admin manages staff of the agencies where they
hold that role. An account outside the actor's reach is "not found".
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from auth.roles import StaffRole
from models.accounts import Account, AccountKind, AccountStatus, StaffAssignment
from services.errors import Forbidden, NotFound


def manageable_accounts(actor: Actor) -> Select[Account]:
    """The accounts `actor` may administer, as a query."""
    stmt = select(Account).where(Account.status != AccountStatus.DELETED)
    if actor.is_system_admin:
        return stmt
    agencies = actor.agencies_with(StaffRole.AGENCY_ADMIN)
    if not agencies:
        return stmt.where(Account.id.is_(None))  # nothing
    return stmt.where(
        Account.kind == AccountKind.STAFF,
        exists().where(
            StaffAssignment.account_id == Account.id,
            StaffAssignment.ended_at.is_(None),
            StaffAssignment.agency_id.in_(agencies),
        ),
    )


async def manageable(
    session: AsyncSession, actor: Actor, account_id: uuid.UUID, *, lock_row: bool = True
) -> Account:
    stmt = manageable_accounts(actor).where(Account.id == account_id)
    if lock_row:
        stmt = stmt.with_for_update(of=Account)
    account = await session.scalar(stmt)
    if account is None:
        raise NotFound("tài khoản", str(account_id))
    return account


def require_admin(actor: Actor) -> None:
    if not (actor.is_system_admin or actor.agencies_with(StaffRole.AGENCY_ADMIN)):
        raise Forbidden()


def may_manage_assignment(actor: Actor, agency_id: uuid.UUID | None) -> bool:
    """A system admin acts on any role assignment; an agency admin on those at the agencies where
    they hold that role (never on one without an agency)."""
    if actor.is_system_admin:
        return True
    managed = actor.agencies_with(StaffRole.AGENCY_ADMIN)
    return agency_id is not None and (managed is None or agency_id in managed)
