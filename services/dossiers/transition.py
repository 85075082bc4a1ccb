"""The start of every dossier act: who acts, when, on which calendar (`ActContext`); the dossier row
lock; the workflow guard's view of the dossier (`situation`); and `transition` — lock, check the
version the caller saw (optimistic concurrency), ask the guard and move the status. The end of
every act is `services.dossiers.recording.settle`.
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
from models.dossiers import Dossier, DossierStatus, DossierStep
from services.calendar import WorkingCalendar
from services.dossiers.ontime import OnTimePolicy
from services.dossiers.steps import is_reception_step, steps_of
from services.dossiers.workflow import Action, Situation, check
from services.errors import Conflict, FieldIssue, NotFound, ValidationFailed


@dataclass(frozen=True)
class ActContext:
    actor: Actor
    now: datetime
    calendar: WorkingCalendar
    expected_version: int | None = None
    comment: str | None = None
    # The province's on-time policy (setting ON_TIME_POLICY; services/dossiers/ontime.py).
    on_time: OnTimePolicy = OnTimePolicy.DECISION_766


async def lock(session: AsyncSession, dossier_id: uuid.UUID) -> Dossier:
    """The dossier, its row locked for the act (also for acts that are not the workflow's)."""
    # FOR NO KEY UPDATE: acts stay serialised, but rows merely referencing the dossier (outbox
    # deliveries) can still be inserted meanwhile. populate_existing: the row may already be in the
    # session (the access check read it before the lock was ours); what another act committed while
    # we waited for the lock must overwrite it, or the version check would compare a stale value.
    dossier = await session.scalar(
        select(Dossier)
        .where(Dossier.id == dossier_id)
        .with_for_update(key_share=True)
        .execution_options(populate_existing=True)
    )
    if dossier is None:
        raise NotFound("hồ sơ", str(dossier_id))
    return dossier


async def situation(
    session: AsyncSession, dossier: Dossier, steps: Sequence[DossierStep] | None = None
) -> Situation:
    steps = list(steps) if steps is not None else await steps_of(session, dossier.id)
    current = next((s for s in steps if s.position == dossier.current_step), None)
    work = [s.position for s in steps if not is_reception_step(s, dossier)]
    position = dossier.current_step
    return Situation(
        status=dossier.status,
        applicant_id=dossier.applicant_account_id,
        receiving_agency_id=dossier.receiving_agency_id,
        step_agency_id=current.agency_id if current else None,
        step_role=StaffRole(current.role) if current else None,
        step_assignee_id=current.assignee_id if current else None,
        completion_requested=dossier.completion_requested,
        can_forward=position is not None and any(p > position for p in work),
        can_send_back=position is not None and any(p < position for p in work),
        at_last_step=position is not None and bool(work) and position == max(work),
    )


async def transition(
    session: AsyncSession, dossier_id: uuid.UUID, action: Action, ctx: ActContext
) -> tuple[Dossier, list[DossierStep], DossierStatus]:
    """Lock, check the caller's version, ask the guard, move the status. Returns the dossier,
    its steps and the status it had."""
    dossier = await lock(session, dossier_id)
    steps = await steps_of(session, dossier.id)
    if ctx.expected_version is not None and ctx.expected_version != dossier.version:
        raise Conflict("Hồ sơ vừa được người khác xử lý; vui lòng tải lại rồi thao tác.")
    target = check(ctx.actor, action, await situation(session, dossier, steps))
    previous = dossier.status
    dossier.status = target
    dossier.version += 1
    return dossier, steps, previous


def require_listed(values: Sequence[str], field_name: str, message: str) -> None:
    """An act's list (items to complete, reasons) is given and has no empty entry."""
    if not values or not all(isinstance(v, str) and v.strip() for v in values):
        raise ValidationFailed([FieldIssue((field_name,), "REQUIRED", message)])
