"""Phiếu xin lỗi và hẹn lại ngày trả kết quả (Circular 01/2018 form 04): a later appointment when
the dossier will be late; it still counts as late against the appointment on the receipt.
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from models.dossiers import Dossier
from services.dossiers.acts import Apologize
from services.dossiers.recording import settle
from services.dossiers.steps import current_step
from services.dossiers.transition import ActContext, transition
from services.dossiers.workflow import Action
from services.errors import FieldIssue, ValidationFailed


async def apologize(session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext, act: Apologize) -> Dossier:
    """Phiếu xin lỗi và hẹn lại ngày trả kết quả (form 04): a later date; the dossier still counts
    as late against the appointment on the receipt."""
    if not act.reason.strip():
        raise ValidationFailed([FieldIssue(("reason",), "REQUIRED", "Nêu lý do chậm trễ.")])
    new_appointment = act.new_appointment
    dossier, steps, previous = await transition(session, dossier_id, Action.APOLOGIZE, ctx)
    if dossier.due_at is not None and new_appointment <= dossier.due_at:
        raise ValidationFailed(
            [FieldIssue(("newAppointment",), "NOT_LATER", "Ngày hẹn mới phải sau ngày hẹn hiện tại.")]
        )
    dossier.due_at = new_appointment
    dossier.apologised = True
    step = current_step(steps, dossier)
    await settle(session, dossier, Action.APOLOGIZE, ctx, from_status=previous, at=step, act=act, steps=steps)
    return dossier
