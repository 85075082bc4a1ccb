"""Staff role assignments (phân công vai trò): granting and ending a role at an agency. An agency
admin grants roles only within their agencies, and never the admin roles; a staff member left
with no role is no longer assigned and locks.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from auth.roles import StaffRole
from models.accounts import Account, AccountKind, AccountStatus, LockReason, StaffAssignment
from models.catalog import Agency
from services.accounts.admin.reach import manageable, may_manage_assignment, require_admin
from services.accounts.journal import Journal, security_event
from services.accounts.locks import lock
from services.errors import FieldIssue, Forbidden, Issues, NotFound, ValidationFailed

# Roles an agency admin may grant within their agencies.
AGENCY_GRANTABLE = frozenset(StaffRole) - {StaffRole.SYSTEM_ADMIN, StaffRole.AGENCY_ADMIN}


@dataclass(frozen=True)
class AssignmentData:
    role: StaffRole
    agency_code: str | None
    include_sub_agencies: bool = False


async def check_assignments(
    session: AsyncSession, actor: Actor, assignments: Sequence[AssignmentData], issues: Issues, path: str
) -> dict[str, uuid.UUID]:
    codes = [a.agency_code for a in assignments if a.agency_code]
    agencies = dict(
        (await session.execute(select(Agency.code, Agency.id).where(Agency.code.in_(codes)))).all()
    )
    managed = actor.agencies_with(StaffRole.AGENCY_ADMIN)
    for i, a in enumerate(assignments):
        where = (path, i)
        if a.agency_code is None:
            if a.role is not StaffRole.SYSTEM_ADMIN:
                issues.add((*where, "agencyCode"), "REQUIRED", "Vai trò này phải gắn với một cơ quan.")
        elif a.agency_code not in agencies:
            issues.add((*where, "agencyCode"), "UNKNOWN", f"Cơ quan “{a.agency_code}” không tồn tại.")
        if actor.is_system_admin:
            continue
        if a.role not in AGENCY_GRANTABLE:
            raise Forbidden("Quản trị cơ quan không được cấp vai trò này.")
        agency_id = agencies.get(a.agency_code or "")
        if agency_id is not None and (managed is not None and agency_id not in managed):
            raise Forbidden("Bạn chỉ được phân công cán bộ trong cơ quan mình quản trị.")
    return agencies


def new_assignment(
    account_id: uuid.UUID, a: AssignmentData, agencies: dict[str, uuid.UUID], actor: Actor, now: datetime
) -> StaffAssignment:
    return StaffAssignment(
        account_id=account_id,
        agency_id=agencies[a.agency_code] if a.agency_code else None,
        role=a.role.value,
        include_sub_agencies=a.include_sub_agencies,
        created_at=now,
        created_by=actor.label,
    )


async def assign_role(
    session: AsyncSession, actor: Actor, account_id: uuid.UUID, data: AssignmentData, *, journal: Journal
) -> StaffAssignment:
    require_admin(actor)
    account = await manageable(session, actor, account_id)
    if account.kind is not AccountKind.STAFF:
        raise ValidationFailed(
            [FieldIssue(("accountId",), "NOT_STAFF", "Chỉ phân công vai trò cho tài khoản cán bộ.")]
        )
    issues = Issues()
    agencies = await check_assignments(session, actor, [data], issues, "assignment")
    issues.raise_if_any()
    agency_id = agencies[data.agency_code] if data.agency_code else None
    existing = await session.scalar(
        select(StaffAssignment).where(
            StaffAssignment.account_id == account.id,
            StaffAssignment.role == data.role.value,
            StaffAssignment.agency_id.is_(None)
            if agency_id is None
            else StaffAssignment.agency_id == agency_id,
            StaffAssignment.ended_at.is_(None),
        )
    )
    if existing is not None:
        return existing  # assigning twice is applied once
    row = new_assignment(account.id, data, agencies, actor, journal.now)
    session.add(row)
    session.add(
        security_event(
            "ROLE_GRANT",
            "SUCCESS",
            actor=actor,
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
            detail={"role": data.role.value, "agency": data.agency_code},
        )
    )
    await session.flush()
    return row


async def end_assignment(
    session: AsyncSession, actor: Actor, assignment_id: uuid.UUID, *, journal: Journal, system_name: str
) -> Account:
    """End a role. A staff member left with no role is no longer assigned: the account locks."""
    require_admin(actor)
    row = await session.scalar(
        select(StaffAssignment).where(StaffAssignment.id == assignment_id).with_for_update()
    )
    if row is None or row.ended_at is not None:
        raise NotFound("phân công", str(assignment_id))
    account = await manageable(session, actor, row.account_id)
    if not may_manage_assignment(actor, row.agency_id):
        raise Forbidden("Bạn chỉ được thu hồi phân công trong cơ quan mình quản trị.")
    row.ended_at = journal.now
    session.add(
        security_event(
            "ROLE_REVOKE",
            "SUCCESS",
            actor=actor,
            now=journal.now,
            meta=journal.meta,
            subject_id=account.id,
            detail={"role": row.role},
        )
    )
    await session.flush()
    remaining = await session.scalar(
        select(StaffAssignment.id)
        .where(StaffAssignment.account_id == account.id, StaffAssignment.ended_at.is_(None))
        .limit(1)
    )
    if remaining is None and account.status is not AccountStatus.LOCKED:
        await lock(
            session,
            account,
            LockReason.UNASSIGNED,
            actor=actor,
            now=journal.now,
            meta=journal.meta,
            system_name=system_name,
        )
    else:
        account.token_version += 1  # the old roles must not live on in issued tokens
    await session.flush()
    return account
