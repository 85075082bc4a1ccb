"""Rút hồ sơ: the applicant withdraws the dossier; every open step ends with it."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from models.dossiers import Dossier
from services.dossiers.recording import settle
from services.dossiers.transition import ActContext, transition
from services.dossiers.workflow import Action


async def withdraw(session: AsyncSession, dossier_id: uuid.UUID, ctx: ActContext) -> Dossier:
    dossier, steps, previous = await transition(session, dossier_id, Action.WITHDRAW, ctx)
    for step in steps:
        if step.started_at is not None and step.finished_at is None:
            step.finished_at = ctx.now
    dossier.finished_at = ctx.now
    dossier.current_step = None
    await settle(session, dossier, Action.WITHDRAW, ctx, from_status=previous, steps=steps)
    return dossier
