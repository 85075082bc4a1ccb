"""Giải quyết hồ sơ through the workflow's steps: assigning the current step's officer (phân
công), forwarding to the next step (chuyển bước) and sending back to an earlier one (trả về bước
trước). Each step finished is judged on time or late against its own deadline.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.accounts import Account, AccountStatus, StaffAssignment
from models.dossiers import Dossier, DossierStatus, DossierStep
from services.dossiers.acts import Assign, Forward, SendBack
from services.dossiers.recording import settle
from services.dossiers.steps import current_step, finish_step, is_reception_step, start_step
from services.dossiers.transition import ActContext, transition
from services.dossiers.workflow import Action
from services.errors import FieldIssue, ValidationFailed


async def assign(session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: Assign) -> Dossier:
    dossier, steps, previous = await transition(session, dossier_id, Action.ASSIGN, ctx)
    step = current_step(steps, dossier)
    assignee_id = act.assignee_id
    holder = await session.scalar(
        select(StaffAssignment.account_id)
        .join(Account, Account.id == StaffAssignment.account_id)
        .where(
            StaffAssignment.account_id == assignee_id,
            StaffAssignment.agency_id == step.agency_id,
            StaffAssignment.role == step.role,
            StaffAssignment.ended_at.is_(None),
            Account.status == AccountStatus.ACTIVE,
        )
    )
    if holder is None:
        raise ValidationFailed(
            [
                FieldIssue(
                    ("assigneeId",), "NOT_ELIGIBLE", "Người được phân công không giữ vai trò của bước này."
                )
            ]
        )
    step.assignee_id = assignee_id
    await settle(session, dossier, Action.ASSIGN, ctx, from_status=previous, at=step, act=act, steps=steps)
    return dossier


async def forward(session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: Forward) -> Dossier:
    dossier, steps, previous = await transition(session, dossier_id, Action.FORWARD, ctx)
    step = current_step(steps, dossier)
    following = next(s for s in steps if s.position > step.position and not is_reception_step(s, dossier))
    await _move(session, dossier, steps, ctx, previous, act, to=following, assignee=act.assignee_id)
    return dossier


async def send_back(session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: SendBack) -> Dossier:
    dossier, steps, previous = await transition(session, dossier_id, Action.SEND_BACK, ctx)
    step = current_step(steps, dossier)
    to_position = act.to_position
    earlier = [s for s in steps if s.position < step.position and not is_reception_step(s, dossier)]
    target = next((s for s in earlier if s.position == to_position), None) if to_position else earlier[-1]
    if target is None:
        raise ValidationFailed([FieldIssue(("toStep",), "UNKNOWN", "Bước trả về không hợp lệ.")])
    await _move(session, dossier, steps, ctx, previous, act, to=target, assignee=target.assignee_id)
    return dossier


async def _move(  # noqa: PLR0917 — the act's state, in the order transition returns it
    session: AsyncSession,
    dossier: Dossier,
    steps: Sequence[DossierStep],
    ctx: ActContext,
    previous: DossierStatus,
    act: Forward | SendBack,
    *,
    to: DossierStep,
    assignee: uuid.UUID | None,
) -> None:
    """The current step finished (judged against its deadline), `to` started and made current."""
    step = current_step(steps, dossier)
    punctuality = finish_step(step, ctx.now, ctx.calendar)
    await start_step(session, to, ctx.now, assignee)
    dossier.current_step = to.position
    action = Action.FORWARD if isinstance(act, Forward) else Action.SEND_BACK
    await settle(
        session,
        dossier,
        action,
        ctx,
        from_status=previous,
        at=step,
        punctuality=punctuality,
        act=act,
        steps=steps,
    )
