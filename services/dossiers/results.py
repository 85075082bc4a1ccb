"""The outcome of a dossier: approval with its electronic result, or refusal with its reasons
(the result goes back to the one-stop unit's return step); then trả kết quả — the result handed
over (ONLINE, POST or COUNTER), the dossier closed and judged on time or late.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.roles import StaffRole
from models.catalog import PaymentTiming, ProcedureVersion
from models.dossiers import (
    AttachmentKind,
    DeliveryStatus,
    Dossier,
    DossierAttachment,
    DossierStatus,
    FileStatus,
    PaymentStatus,
    StoredFile,
)
from services.dossiers.acts import Approve, Refuse, ReturnResult
from services.dossiers.eligibility import check_delivery
from services.dossiers.fees import ONLINE_CHANNELS
from services.dossiers.ontime import verdict
from services.dossiers.recording import settle
from services.dossiers.steps import current_step, finish_step, is_reception_step, start_step
from services.dossiers.transition import ActContext, require_listed, transition
from services.dossiers.workflow import Action
from services.errors import FieldIssue, InvalidTransition, ValidationFailed
from services.vault import copy_results


async def approve(session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: Approve) -> Dossier:
    return await _conclude(session, dossier_id, ctx, Action.APPROVE, act)


async def refuse(session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: Refuse) -> Dossier:
    require_listed(act.reasons, "reasons", "Nêu rõ lý do từ chối giải quyết.")
    return await _conclude(session, dossier_id, ctx, Action.REFUSE, act)


async def _conclude(
    session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, action: Action, act: Approve | Refuse
) -> Dossier:
    result_files = act.result_files if isinstance(act, Approve) else ()
    dossier, steps, previous = await transition(session, dossier_id, action, ctx)
    step = current_step(steps, dossier)
    punctuality = finish_step(step, ctx.now, ctx.calendar)
    files = list(await session.scalars(select(StoredFile).where(StoredFile.id.in_(result_files))))
    if action is Action.APPROVE and (len(files) != len(set(result_files)) or not files):
        raise ValidationFailed(
            [FieldIssue(("resultFileIds",), "REQUIRED", "Đính kèm kết quả giải quyết (bản điện tử).")]
        )
    _attach_results(session, dossier, files, ctx)
    dossier.result_at = ctx.now
    dossier.outcome_note = ctx.comment
    returning = next((s for s in steps if s.position > step.position and is_reception_step(s, dossier)), None)
    if returning is not None:
        await start_step(session, returning, ctx.now)
        dossier.current_step = returning.position
    dossier.delivery_status = DeliveryStatus.AWAITING_PICKUP
    await settle(
        session,
        dossier,
        action,
        ctx,
        from_status=previous,
        at=step,
        punctuality=punctuality,
        act=act,
        facts={"resultFiles": [str(f.id) for f in files]},
        steps=steps,
    )
    return dossier


def _attach_results(
    session: AsyncSession, dossier: Dossier, files: Sequence[StoredFile], ctx: ActContext
) -> None:
    """The electronic result files, each ready (scanned), attached as results."""
    for f in files:
        if f.status is not FileStatus.READY:
            raise ValidationFailed(
                [FieldIssue(("resultFileIds",), "NOT_READY", "Tệp kết quả chưa sẵn sàng.")]
            )
        session.add(
            DossierAttachment(
                dossier_id=dossier.id,
                component_id=None,
                kind=AttachmentKind.RESULT,
                file_id=f.id,
                added_at=ctx.now,
                added_by=ctx.actor.label,
            )
        )


async def return_result(
    session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: ReturnResult
) -> Dossier:
    """Trả kết quả and close. Punctuality is judged when the result was ready, against the deadline
    by law under the province's on-time policy (services/dossiers/ontime.py: the time waited for a
    supplement subtracted, or counted again from the start); an apology never turns late into on
    time."""
    dossier, steps, previous = await transition(session, dossier_id, Action.RETURN, ctx)
    method = act.method
    version = await session.get_one(ProcedureVersion, dossier.procedure_version_id)
    check_delivery(version, method)
    _check_paid(dossier, version, previous)
    step = next((s for s in steps if s.position == dossier.current_step), None)
    if step is not None and step.finished_at is None:
        finish_step(step, ctx.now, ctx.calendar)
    dossier.delivery_method = method
    dossier.delivery_status = DeliveryStatus.DELIVERED
    dossier.finished_at = ctx.now
    ready = dossier.result_at or ctx.now
    dossier.punctuality = verdict(
        ctx.on_time,
        ctx.calendar,
        ready_at=ready,
        deadline=dossier.deadline_at or dossier.appointment_at or ready,
        apologised=dossier.apologised,
        supplement_requests=dossier.supplement_requests,
    )
    dossier.current_step = None
    await copy_results(session, dossier, result_name=version.result_name, now=ctx.now)
    await settle(
        session,
        dossier,
        Action.RETURN,
        ctx,
        from_status=previous,
        role=StaffRole.RECEPTION_OFFICER.value,
        agency_id=dossier.receiving_agency_id,
        punctuality=dossier.punctuality,
        act=act,
        steps=steps,
    )
    return dossier


def _check_paid(dossier: Dossier, version: ProcedureVersion, previous: DossierStatus) -> None:
    """Fees due before the result, on an online dossier, are paid online first."""
    if (
        version.payment_timing is PaymentTiming.BEFORE_RESULT
        and dossier.channel in ONLINE_CHANNELS
        and dossier.payment_status is PaymentStatus.UNPAID
    ):
        raise InvalidTransition(
            previous.value,
            Action.RETURN.value,
            "Thủ tục này phải nộp phí, lệ phí trước khi nhận kết quả; người nộp chưa thanh toán trực tuyến.",
        )
