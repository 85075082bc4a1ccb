"""A dossier's steps (các bước xử lý): reading them, which is the reception step, the current one,
starting one (assigned to the given officer, else to the least-loaded holder of its role) and
finishing one (judged on time or late against its deadline).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.roles import StaffRole
from models.accounts import Account, AccountStatus, StaffAssignment
from models.dossiers import Dossier, DossierStep, Punctuality
from services.calendar import WorkingCalendar


async def steps_of(session: AsyncSession, dossier_id: uuid.UUID) -> list[DossierStep]:
    return list(
        await session.scalars(
            select(DossierStep).where(DossierStep.dossier_id == dossier_id).order_by(DossierStep.position)
        )
    )


def is_reception_step(step: DossierStep, dossier: Dossier) -> bool:
    return step.role == StaffRole.RECEPTION_OFFICER.value and step.agency_id == dossier.receiving_agency_id


def current_step(steps: Sequence[DossierStep], dossier: Dossier) -> DossierStep:
    step = next((s for s in steps if s.position == dossier.current_step), None)
    assert step is not None, "an in-progress dossier has a current step"
    return step


async def auto_assignee(session: AsyncSession, agency_id: uuid.UUID, role: str) -> uuid.UUID | None:
    """The active staff member with that role at that agency who holds the fewest open steps."""
    load = (
        select(DossierStep.assignee_id, func.count().label("open"))
        .where(DossierStep.finished_at.is_(None), DossierStep.started_at.is_not(None))
        .group_by(DossierStep.assignee_id)
        .subquery()
    )
    row = await session.execute(
        select(StaffAssignment.account_id)
        .join(Account, Account.id == StaffAssignment.account_id)
        .outerjoin(load, load.c.assignee_id == StaffAssignment.account_id)
        .where(
            StaffAssignment.agency_id == agency_id,
            StaffAssignment.role == role,
            StaffAssignment.ended_at.is_(None),
            Account.status == AccountStatus.ACTIVE,
        )
        .order_by(func.coalesce(load.c.open, 0), StaffAssignment.created_at)
        .limit(1)
    )
    found = row.scalar_one_or_none()
    return found


async def start_step(
    session: AsyncSession, step: DossierStep, now: datetime, assignee: uuid.UUID | None = None
) -> None:
    step.started_at = now
    step.finished_at = None
    step.punctuality = None
    step.assignee_id = assignee or await auto_assignee(session, step.agency_id, step.role)


def finish_step(step: DossierStep, now: datetime, calendar: WorkingCalendar) -> Punctuality:
    step.finished_at = now
    due = step.due_at or now
    step.punctuality = Punctuality(calendar.punctuality(now, due).value)
    return step.punctuality
