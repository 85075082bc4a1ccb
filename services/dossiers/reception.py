"""Tiếp nhận hồ sơ at the one-stop unit: the receipt (form 01) with the dossier's code and
appointment, the workflow's steps with their deadlines; or the refusal of receipt (form 03).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from auth.roles import StaffRole
from models.catalog import Agency, ProcedureVersion, StepAgencyRef, WorkflowStep
from models.dossiers import Dossier, DossierCodeCounter, DossierStep, Punctuality
from services.catalog.rules import online_shares
from services.dossiers.acts import RefuseReceipt
from services.dossiers.fees import ONLINE_CHANNELS
from services.dossiers.ontime import processing_days
from services.dossiers.recording import settle
from services.dossiers.routing import competent_agency_id
from services.dossiers.steps import is_reception_step, start_step
from services.dossiers.transition import ActContext, require_listed, transition
from services.dossiers.workflow import Action


async def next_code(session: AsyncSession, agency: Agency, local_day: datetime) -> str:
    """`<electronic id>-YYMMDD-XXXX` (Circular 01/2018 art. 19): a per-agency daily sequence
    taken with an atomic upsert, so concurrent receptions never share a number."""
    day = local_day.date()
    stmt = (
        insert(DossierCodeCounter)
        .values(agency_id=agency.id, day=day, last=1)
        .on_conflict_do_update(
            index_elements=[DossierCodeCounter.agency_id, DossierCodeCounter.day],
            set_={"last": DossierCodeCounter.last + 1},
        )
        .returning(DossierCodeCounter.last)
    )
    number = int((await session.execute(stmt)).scalar_one())
    prefix = agency.electronic_id or agency.code
    return f"{prefix}-{day:%y%m%d}-{number:04d}"


async def receive(session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext) -> Dossier:
    """Tiếp nhận: the code, the appointment (receipt form 01), the steps with their deadlines."""
    dossier, _, previous = await transition(session, dossier_id, Action.RECEIVE, ctx)
    version = await session.get_one(ProcedureVersion, dossier.procedure_version_id)
    agency = await session.get_one(Agency, dossier.receiving_agency_id)
    start = dossier.counts_from or ctx.calendar.counts_from(ctx.now)
    days = processing_days(dossier.channel, version)
    dossier.code = await next_code(session, agency, ctx.now.astimezone(ctx.calendar.zone))
    dossier.received_at = ctx.now
    dossier.received_by = ctx.actor.id
    dossier.appointment_at = dossier.due_at = dossier.deadline_at = ctx.calendar.add_time_limit(
        start, days, version.time_limit_unit
    )
    created = await _planned_steps(session, dossier, version, ctx, start=start, days=days)
    session.add_all(created)
    await _begin_processing(session, dossier, created, ctx)
    await session.flush()
    await settle(
        session,
        dossier,
        Action.RECEIVE,
        ctx,
        from_status=previous,
        role=StaffRole.RECEPTION_OFFICER.value,
        agency_id=agency.id,
        facts={"code": dossier.code, "appointment": dossier.appointment_at.isoformat()},
        steps=created,
    )
    return dossier


async def _planned_steps(
    session: AsyncSession,
    dossier: Dossier,
    version: ProcedureVersion,
    ctx: ActContext,
    *,
    start: datetime,
    days: Decimal,
) -> list[DossierStep]:
    """The dossier's steps from the procedure's workflow, each due when the shares so far are spent
    (never after the appointment)."""
    workflow = list(
        await session.scalars(
            select(WorkflowStep).where(WorkflowStep.version_id == version.id).order_by(WorkflowStep.position)
        )
    )
    elapsed = Decimal(0)
    created: list[DossierStep] = []
    shares = _shares(dossier, version, workflow)
    for position, (wf, share) in enumerate(zip(workflow, shares, strict=True), start=1):
        elapsed += share
        created.append(
            DossierStep(
                dossier_id=dossier.id,
                position=position,
                name=wf.name,
                agency_id=_step_agency(wf, version, dossier),
                role=wf.role,
                days=str(share),
                due_at=ctx.calendar.add_time_limit(start, min(elapsed, days), version.time_limit_unit),
            )
        )
    return created


def _step_agency(step: WorkflowStep, version: ProcedureVersion, dossier: Dossier) -> uuid.UUID:
    if step.agency_ref is StepAgencyRef.RECEIVING:
        return dossier.receiving_agency_id
    if step.agency_ref is StepAgencyRef.COMPETENT:
        # The agency the dossier was routed to (Decree 118/2025: received anywhere in the province).
        return competent_agency_id(dossier, version)
    assert step.agency_id is not None
    return step.agency_id


def _shares(
    dossier: Dossier, version: ProcedureVersion, workflow: Sequence[WorkflowStep]
) -> tuple[Decimal, ...]:
    """The steps' shares; online dossiers (from this portal or the national one) with a reduced time
    share the online time alike (the catalog refuses a plan whose shares cannot fit in it)."""
    days = tuple(wf.days for wf in workflow)
    if dossier.channel in ONLINE_CHANNELS and version.online_processing_days is not None:
        return online_shares(days, version.processing_days, version.online_processing_days)
    return days


async def _begin_processing(
    session: AsyncSession, dossier: Dossier, created: Sequence[DossierStep], ctx: ActContext
) -> None:
    """The reception step(s) at the head of the workflow are done by this very act; the first
    step of work starts."""
    first_work = next((s for s in created if not is_reception_step(s, dossier)), None)
    for step in created:
        if first_work is not None and step.position >= first_work.position:
            break
        step.assignee_id, step.started_at, step.finished_at = ctx.actor.id, ctx.now, ctx.now
        step.punctuality = Punctuality.ON_TIME
    if first_work is not None:
        await start_step(session, first_work, ctx.now)
        dossier.current_step = first_work.position


async def refuse_receipt(
    session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: RefuseReceipt
) -> Dossier:
    """Phiếu từ chối tiếp nhận (form 03), with reasons."""
    require_listed(act.reasons, "reasons", "Nêu rõ lý do từ chối tiếp nhận.")
    dossier, steps, previous = await transition(session, dossier_id, Action.REFUSE_RECEIPT, ctx)
    dossier.finished_at = ctx.now
    await settle(
        session,
        dossier,
        Action.REFUSE_RECEIPT,
        ctx,
        from_status=previous,
        role=StaffRole.RECEPTION_OFFICER.value,
        agency_id=dossier.receiving_agency_id,
        act=act,
        steps=steps,
    )
    return dossier
