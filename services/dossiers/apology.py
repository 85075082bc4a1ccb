"""Xin lỗi và hẹn lại ngày trả kết quả — under Circular 03/2025 "văn bản xin lỗi và đề nghị gia
hạn thời gian giải quyết" (form 04 of either set): a later date when the dossier will be late; it
still counts as late against the appointment on the receipt.

The rules (Decree 61/2018 art. 19 as it stood; whether Decree 118/2025 keeps each is unverified,
so each is a setting — `ApologyPolicy`, built from `Settings` by `policy_from`):

- the apology comes **at the latest one working day before the deadline** (`due_at`, moved by
  the time stopped so far while the dossier waits for a supplement): later, it is refused with
  the field error ``APOLOGY_TOO_LATE`` (`lead_working_days`, default 1);
- the result date moves **at most once** ("không quá một lần"): a second apology is refused with
  ``APPOINTMENT_ALREADY_MOVED`` (`max_moves`, default 1);
- the letter names the reason and the new date, and is signed by a leader of the agency that
  caused the delay — the agency holding the late step (`signer`, default
  ``LATE_AGENCY_LEADER``; ``RECEIVING_AGENCY_LEADER`` or ``ACTING_OFFICER`` instead). The
  signer is decided here and kept on the trail line (`data.signer`), so the letter printed later
  names who signed when it was issued.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.roles import StaffRole
from models.catalog import Agency
from models.dossiers import Dossier, DossierEvent, DossierStep
from services.calendar import WorkingCalendar
from services.dossiers.acts import Apologize
from services.dossiers.recording import settle
from services.dossiers.steps import current_step
from services.dossiers.transition import ActContext, transition
from services.dossiers.workflow import Action
from services.errors import FieldIssue, ValidationFailed


class ApologySigner(enum.Enum):
    """Who signs the apology (form 04)."""

    LATE_AGENCY_LEADER = "LATE_AGENCY_LEADER"  # a leader of the agency holding the late step
    RECEIVING_AGENCY_LEADER = "RECEIVING_AGENCY_LEADER"  # a leader of the receiving one-stop unit
    ACTING_OFFICER = "ACTING_OFFICER"  # whoever records the apology


@dataclass(frozen=True)
class ApologyPolicy:
    lead_working_days: Decimal = Decimal(1)
    max_moves: int = 1
    signer: ApologySigner = ApologySigner.LATE_AGENCY_LEADER


def policy_from(settings: Any) -> ApologyPolicy:
    """The policy of `core.settings.Settings` (`APOLOGY_*`)."""
    return ApologyPolicy(
        lead_working_days=Decimal(str(settings.apology_lead_working_days)),
        max_moves=settings.apology_max_moves,
        signer=ApologySigner(settings.apology_signer),
    )


def _issue(code: str, message: str) -> ValidationFailed:
    return ValidationFailed([FieldIssue(("newAppointment",), code, message)])


def too_late(calendar: WorkingCalendar, now: datetime, due_at: datetime, lead_working_days: Decimal) -> bool:
    """Whether `now` is less than `lead_working_days` working days before `due_at` (the apology
    "chậm nhất 01 ngày trước ngày hết hạn", counted in session time of the calendar)."""
    needed = int(lead_working_days * calendar.minutes_per_day())
    return calendar.working_minutes_between(now, due_at) < needed


def current_deadline(calendar: WorkingCalendar, dossier: Dossier, now: datetime) -> datetime | None:
    """The dossier's deadline as it stands at `now`: `due_at`, moved by the working time the clock
    has been stopped so far when it waits for the applicant's supplement."""
    if dossier.due_at is None or dossier.paused_at is None:
        return dossier.due_at
    return calendar.add_working_minutes(
        dossier.due_at, calendar.working_minutes_between(dossier.paused_at, now)
    )


def late_step(steps: Sequence[DossierStep], dossier: Dossier, now: datetime) -> DossierStep:
    """The step that causes the delay: the first that ran late (finished late, or open and past its
    own deadline), else the current one."""
    for step in sorted(steps, key=lambda s: s.position):
        finished_late = (
            step.finished_at is not None and step.punctuality is not None and step.punctuality.value == "LATE"
        )
        open_late = step.finished_at is None and step.due_at is not None and step.due_at < now
        if finished_late or (open_late and step.started_at is not None):
            return step
    return current_step(steps, dossier)


async def _signer(
    session: AsyncSession, policy: ApologyPolicy, ctx: ActContext, dossier: Dossier, step: DossierStep
) -> dict[str, Any]:
    """Who signs, as kept on the trail line: the agency, the title and the name (None: signed
    by hand by the agency's leader)."""
    actor = ctx.actor
    if policy.signer is ApologySigner.ACTING_OFFICER:
        agency_id = step.agency_id
        name: str | None = actor.name or actor.label
        title = "NGƯỜI LẬP PHIẾU"
    else:
        agency_id = (
            step.agency_id
            if policy.signer is ApologySigner.LATE_AGENCY_LEADER
            else dossier.receiving_agency_id
        )
        is_leader = actor.has_role(StaffRole.LEADER, agency_id)
        name = (actor.name or actor.label) if is_leader else None
        title = "THỦ TRƯỞNG CƠ QUAN, ĐƠN VỊ"
    agency = await session.get_one(Agency, agency_id)
    return {"agencyId": str(agency.id), "agency": agency.name, "title": title, "name": name}


async def apologize(
    session: AsyncSession,
    dossier_id: uuid.UUID,
    ctx: ActContext,
    act: Apologize,
    policy: ApologyPolicy = ApologyPolicy(),
) -> Dossier:
    """Xin lỗi và hẹn lại ngày trả kết quả (form 04): a later date, at most `policy.max_moves`
    times, at the latest `policy.lead_working_days` before the deadline; the dossier still counts
    as late against the appointment on the receipt."""
    if not act.reason.strip():
        raise ValidationFailed([FieldIssue(("reason",), "REQUIRED", "Nêu lý do chậm trễ.")])
    new_appointment = act.new_appointment
    dossier, steps, previous = await transition(session, dossier_id, Action.APOLOGIZE, ctx)
    moved = await session.scalar(
        select(func.count())
        .select_from(DossierEvent)
        .where(DossierEvent.dossier_id == dossier.id, DossierEvent.action == Action.APOLOGIZE.value)
    )
    if (moved or 0) >= policy.max_moves:
        times = "một lần" if policy.max_moves == 1 else f"{policy.max_moves} lần"
        raise _issue(
            "APPOINTMENT_ALREADY_MOVED",
            f"Ngày hẹn trả kết quả đã được hẹn lại; không được hẹn lại quá {times}.",
        )
    deadline = current_deadline(ctx.calendar, dossier, ctx.now)
    if deadline is not None and too_late(ctx.calendar, ctx.now, deadline, policy.lead_working_days):
        days = f"{policy.lead_working_days.normalize():f}".replace(".", ",")
        raise _issue(
            "APOLOGY_TOO_LATE",
            f"Đã quá thời hạn xin lỗi và hẹn lại: chậm nhất {days.zfill(2)} ngày làm việc trước ngày hết hạn "
            "giải quyết.",
        )
    if dossier.due_at is not None and new_appointment <= dossier.due_at:
        raise _issue("NOT_LATER", "Ngày hẹn mới phải sau ngày hẹn hiện tại.")
    step = current_step(steps, dossier)
    signer = await _signer(session, policy, ctx, dossier, late_step(steps, dossier, ctx.now))
    dossier.due_at = new_appointment
    dossier.apologised = True
    await settle(
        session,
        dossier,
        Action.APOLOGIZE,
        ctx,
        from_status=previous,
        at=step,
        act=act,
        facts={"signer": signer},
        steps=steps,
    )
    return dossier
