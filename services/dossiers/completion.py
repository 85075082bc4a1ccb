"""Bổ sung hồ sơ: asking the applicant for more and receiving it. At reception, a request for
completion (form 02, once, with complete instructions) and the resubmission, which counts from
anew; during processing, a request for supplements, which stops the clock until the documents
arrive and every open deadline moves by the working time paused.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from auth.roles import StaffRole
from models.catalog import ProcedureVersion
from models.dossiers import AttachmentKind, Dossier
from services.dossiers import ontime
from services.dossiers.acts import RequestCompletion, RequestSupplement, Resubmit, Supplement
from services.dossiers.components import attach, check_complete
from services.dossiers.notices import tell_new_appointment
from services.dossiers.recording import settle
from services.dossiers.steps import current_step
from services.dossiers.transition import ActContext, require_listed, transition
from services.dossiers.workflow import Action
from services.errors import FieldIssue, ValidationFailed

SECOND_SUPPLEMENT_WARNING = (
    "Hồ sơ đã được yêu cầu bổ sung một lần. Theo Quyết định 766/QĐ-TTg, hồ sơ yêu cầu bổ sung từ lần "
    "thứ hai bị tính là trễ hạn. Xác nhận (confirmLate) nếu vẫn gửi yêu cầu này."
)


async def request_completion(
    session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: RequestCompletion
) -> Dossier:
    """Phiếu yêu cầu bổ sung, hoàn thiện hồ sơ (form 02): once, with complete instructions."""
    require_listed(act.items, "items", "Liệt kê đầy đủ từng nội dung cần bổ sung, hoàn thiện.")
    dossier, steps, previous = await transition(session, dossier_id, Action.REQUEST_COMPLETION, ctx)
    dossier.completion_requested = True
    await settle(
        session,
        dossier,
        Action.REQUEST_COMPLETION,
        ctx,
        from_status=previous,
        role=StaffRole.RECEPTION_OFFICER.value,
        agency_id=dossier.receiving_agency_id,
        act=act,
        steps=steps,
    )
    return dossier


async def resubmit(session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: Resubmit) -> Dossier:
    """The applicant completes the dossier as asked; it counts from the new submission."""
    dossier, steps, previous = await transition(session, dossier_id, Action.RESUBMIT, ctx)
    version = await session.get_one(ProcedureVersion, dossier.procedure_version_id)
    if act.form_data is not None:
        dossier.form_data = act.form_data
    await attach(
        session,
        dossier,
        version,
        act.components,
        actor=ctx.actor,
        owner_id=dossier.applicant_account_id,
        now=ctx.now,
    )
    await session.flush()
    await check_complete(session, dossier, version)
    dossier.submitted_at = ctx.now
    dossier.counts_from = ctx.calendar.counts_from(ctx.now)
    await settle(session, dossier, Action.RESUBMIT, ctx, from_status=previous, act=act, steps=steps)
    return dossier


async def request_supplement(
    session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: RequestSupplement
) -> Dossier:
    """The competent agency asks for more documents; the clock stops until they arrive. The 766
    index counts a dossier asked more than once as late: a second request is refused unless the
    officer, so warned, confirms it."""
    require_listed(act.items, "items", "Liệt kê đầy đủ tài liệu cần bổ sung.")
    dossier, steps, previous = await transition(session, dossier_id, Action.REQUEST_SUPPLEMENT, ctx)
    if dossier.supplement_requests >= 1 and not act.confirm_late:
        raise ValidationFailed(
            [FieldIssue(("confirmLate",), "SECOND_SUPPLEMENT_LATE", SECOND_SUPPLEMENT_WARNING)]
        )
    step = current_step(steps, dossier)
    dossier.paused_at = ctx.now
    dossier.supplement_requests += 1
    await settle(
        session, dossier, Action.REQUEST_SUPPLEMENT, ctx, from_status=previous, at=step, act=act, steps=steps
    )
    return dossier


async def supplement(
    session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: Supplement
) -> Dossier:
    """Documents arrive: the clock resumes, every open deadline moves by the working time paused."""
    if not act.components:
        raise ValidationFailed([FieldIssue(("components",), "REQUIRED", "Đính kèm tài liệu bổ sung.")])
    dossier, steps, previous = await transition(session, dossier_id, Action.SUPPLEMENT, ctx)
    version = await session.get_one(ProcedureVersion, dossier.procedure_version_id)
    await attach(
        session,
        dossier,
        version,
        act.components,
        actor=ctx.actor,
        owner_id=dossier.applicant_account_id,
        now=ctx.now,
        kind=AttachmentKind.SUPPLEMENT,
    )
    resumed = _resume(dossier, version, ctx)
    moved = ctx.calendar.working_minutes_between(dossier.deadline_at or resumed.deadline, resumed.deadline)
    for step in steps:
        if step.finished_at is None and step.due_at is not None:
            step.due_at = ctx.calendar.add_working_minutes(step.due_at, moved)
    if dossier.due_at is not None:
        # An apology's date moves with the clock; else the date shown is the deadline by law.
        moved_due = ctx.calendar.add_working_minutes(dossier.due_at, moved)
        dossier.due_at = moved_due if dossier.apologised else resumed.deadline
    dossier.deadline_at = resumed.deadline
    if resumed.restarted:
        dossier.appointment_at = resumed.deadline
    dossier.paused_at = None
    facts: dict[str, object] = {"pausedWorkingMinutes": resumed.paused_minutes}
    if resumed.restarted:
        facts["restarted"] = True
        facts["appointment"] = resumed.deadline.isoformat()
    await settle(
        session, dossier, Action.SUPPLEMENT, ctx, from_status=previous, act=act, facts=facts, steps=steps
    )
    if resumed.restarted:
        await tell_new_appointment(session, dossier, now=ctx.now, zone=ctx.calendar.zone)
    return dossier


def _resume(dossier: Dossier, version: ProcedureVersion, ctx: ActContext) -> ontime.Resumed:
    """The deadline by law once the supplement arrives, under the province's on-time policy."""
    resumed_at = ctx.calendar.counts_from(ctx.now)
    start = dossier.counts_from or dossier.received_at
    assert start is not None
    return ontime.after_supplement(
        ctx.on_time,
        ctx.calendar,
        deadline=dossier.deadline_at or dossier.due_at or resumed_at,
        counts_from=ctx.calendar.counts_from(start),
        days=ontime.processing_days(dossier.channel, version),
        requested_at=dossier.paused_at or resumed_at,
        arrived_at=ctx.now,
        first_request=dossier.supplement_requests == 1,
        unit=version.time_limit_unit,
    )
