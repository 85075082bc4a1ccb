"""Hand-over (bàn giao): a departing staff member's roles and open dossier steps pass to a
successor, and the departing account locks.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from models.accounts import Account, AccountKind, AccountStatus, LockReason, StaffAssignment
from models.dossiers import DossierStep
from services.accounts.admin.reach import manageable, may_manage_assignment, require_admin
from services.accounts.journal import Journal, security_event
from services.accounts.locks import lock
from services.errors import FieldIssue, Forbidden, Issues, ValidationFailed


async def hand_over(
    session: AsyncSession,
    actor: Actor,
    from_id: uuid.UUID,
    to_id: uuid.UUID,
    *,
    journal: Journal,
    system_name: str,
) -> Account:
    """Bàn giao: a departing staff member's roles pass to a successor, the departing account
    hands its roles back and locks (no longer assigned).

    Open dossier steps held by the departing member pass to the successor too, so no dossier is
    left waiting on someone who has gone.
    """
    require_admin(actor)
    departing, successor = await _parties(session, actor, from_id, to_id)
    roles = await _roles_to_pass(session, actor, departing)
    await _pass_roles(session, actor, roles, successor, now=journal.now)
    moved = await _pass_open_steps(session, departing, successor)
    successor.token_version += 1
    session.add(
        security_event(
            "STAFF_HAND_OVER",
            "SUCCESS",
            actor=actor,
            now=journal.now,
            meta=journal.meta,
            subject_id=departing.id,
            detail={"to": str(successor.id), "roles": sorted(r.role for r in roles), "openSteps": moved},
        )
    )
    await session.flush()
    if departing.status is not AccountStatus.LOCKED:
        await lock(
            session,
            departing,
            LockReason.UNASSIGNED,
            actor=actor,
            now=journal.now,
            meta=journal.meta,
            system_name=system_name,
        )
    await session.flush()
    return successor


async def _parties(
    session: AsyncSession, actor: Actor, from_id: uuid.UUID, to_id: uuid.UUID
) -> tuple[Account, Account]:
    """The departing member and the successor: two staff accounts within the actor's reach, the
    successor active (or yet to set a password)."""
    if from_id == to_id:
        raise ValidationFailed(
            [FieldIssue(("toAccountId",), "SAME_ACCOUNT", "Không thể bàn giao cho chính mình.")]
        )
    departing = await manageable(session, actor, from_id)
    successor = await manageable(session, actor, to_id)
    issues = Issues()
    if departing.kind is not AccountKind.STAFF:
        issues.add(("fromAccountId",), "NOT_STAFF", "Chỉ bàn giao giữa các tài khoản cán bộ.")
    if successor.kind is not AccountKind.STAFF:
        issues.add(("toAccountId",), "NOT_STAFF", "Chỉ bàn giao giữa các tài khoản cán bộ.")
    elif successor.status not in (AccountStatus.ACTIVE, AccountStatus.PENDING):
        issues.add(("toAccountId",), "NOT_ACTIVE", "Cán bộ nhận bàn giao phải đang hoạt động.")
    issues.raise_if_any()
    return departing, successor


async def _roles_to_pass(session: AsyncSession, actor: Actor, departing: Account) -> list[StaffAssignment]:
    """The departing member's current roles, each one the actor's to hand over."""
    roles = list(
        await session.scalars(
            select(StaffAssignment)
            .where(StaffAssignment.account_id == departing.id, StaffAssignment.ended_at.is_(None))
            .with_for_update()
        )
    )
    if not all(may_manage_assignment(actor, row.agency_id) for row in roles):
        raise Forbidden("Bạn chỉ được bàn giao vai trò trong cơ quan mình quản trị.")
    return roles


async def _pass_roles(
    session: AsyncSession, actor: Actor, roles: list[StaffAssignment], successor: Account, *, now: datetime
) -> None:
    """Each role ends for the departing member and starts for the successor, unless already held."""
    held = {
        (a.role, a.agency_id)
        for a in await session.scalars(
            select(StaffAssignment).where(
                StaffAssignment.account_id == successor.id, StaffAssignment.ended_at.is_(None)
            )
        )
    }
    for row in roles:
        if (row.role, row.agency_id) not in held:
            session.add(
                StaffAssignment(
                    account_id=successor.id,
                    agency_id=row.agency_id,
                    role=row.role,
                    include_sub_agencies=row.include_sub_agencies,
                    created_at=now,
                    created_by=actor.label,
                )
            )
        row.ended_at = now


async def _pass_open_steps(session: AsyncSession, departing: Account, successor: Account) -> int:
    """The dossier steps the departing member had not finished pass to the successor; how many."""
    moved = (
        (
            await session.execute(
                update(DossierStep)
                .where(DossierStep.assignee_id == departing.id, DossierStep.finished_at.is_(None))
                .values(assignee_id=successor.id)
                .returning(DossierStep.dossier_id)
            )
        )
        .scalars()
        .all()
    )
    return len(moved)
