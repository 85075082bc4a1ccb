"""The end of every dossier act (`settle`): its hash-chained trail line (phiếu kiểm soát quá trình,
also the outbox row), the applicant told, the change announced (delivered by PostgreSQL only
after commit) and a flush. Also the payment and refund lines, acts outside the workflow.
Nothing here commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.observability import request_id as current_request_id
from models.dossiers import (
    Dossier,
    DossierEvent,
    DossierStatus,
    DossierStep,
    PaymentStatus,
    Punctuality,
    SyncStatus,
)
from services.dossiers import acts, trail
from services.dossiers.acts import Act
from services.dossiers.notices import tell_applicant
from services.dossiers.transition import ActContext
from services.dossiers.workflow import Action
from services.events import announce


def _record(
    session: AsyncSession,
    dossier: Dossier,
    action: Action | str,
    ctx: ActContext,
    *,
    from_status: DossierStatus | None,
    from_step: int | None = None,
    punctuality: Punctuality | None = None,
    role: str | None = None,
    agency_id: uuid.UUID | None = None,
    act: Act | None = None,
    facts: dict[str, Any] | None = None,
) -> DossierEvent:
    """The act's trail line: what it carried (`acts.payload`) and what the command decided
    (`facts`)."""
    event = DossierEvent(
        dossier_id=dossier.id,
        at=ctx.now,
        action=action.value if isinstance(action, Action) else action,
        actor_id=ctx.actor.id,
        actor_label=ctx.actor.label,
        actor_role=role,
        agency_id=agency_id,
        from_status=from_status.value if from_status else None,
        to_status=dossier.status.value,
        from_step=from_step,
        to_step=dossier.current_step,
        comment=acts.comment(act, ctx.comment),
        punctuality=punctuality.value if punctuality else None,
        data={**acts.payload(act), **(facts or {})},
        prev_hash=dossier.trail_head or trail.GENESIS,
        request_id=current_request_id.get(),
    )
    event.hash = trail.event_hash(event)
    dossier.trail_head = event.hash
    dossier.sync_status = SyncStatus.PENDING
    session.add(event)
    return event


async def settle(
    session: AsyncSession,
    dossier: Dossier,
    action: Action | str,
    ctx: ActContext,
    *,
    from_status: DossierStatus | None,
    at: DossierStep | None = None,
    punctuality: Punctuality | None = None,
    role: str | None = None,
    agency_id: uuid.UUID | None = None,
    act: Act | None = None,
    facts: dict[str, Any] | None = None,
    steps: Sequence[DossierStep] | None = None,
) -> None:
    """The end of every act: its trail line, the applicant told, the announcement (sent only if
    the transaction commits), and a flush so constraint violations surface inside the command.
    `at`: the step the act was done at (its position, role and agency go on the trail line).
    `steps`: the dossier's steps when the command holds them (else they are read)."""
    _record(
        session,
        dossier,
        action,
        ctx,
        from_status=from_status,
        from_step=at.position if at else None,
        punctuality=punctuality,
        role=at.role if at else role,
        agency_id=at.agency_id if at else agency_id,
        act=act,
        facts=facts,
    )
    if isinstance(action, Action):
        await tell_applicant(session, dossier, action, act, now=ctx.now, zone=ctx.calendar.zone)
    await _announce(session, dossier, steps)
    await session.flush()


async def _announce(session: AsyncSession, dossier: Dossier, steps: Sequence[DossierStep] | None) -> None:
    await announce(session, "dossier", str(dossier.id))
    await announce(session, "inbox", str(dossier.receiving_agency_id), ref=str(dossier.id))
    if steps is None:
        step = await session.scalar(
            select(DossierStep.agency_id).where(
                DossierStep.dossier_id == dossier.id, DossierStep.position == dossier.current_step
            )
        )
    else:
        step = next((s.agency_id for s in steps if s.position == dossier.current_step), None)
    if step is not None and step != dossier.receiving_agency_id:
        await announce(session, "inbox", str(step), ref=str(dossier.id))


async def record_payment(
    session: AsyncSession, dossier: Dossier, ctx: ActContext, data: dict[str, Any]
) -> None:
    """A confirmed online payment on the dossier's trail (the dossier is locked by the caller)."""
    dossier.payment_status = PaymentStatus.PAID
    dossier.version += 1
    await settle(session, dossier, "PAY", ctx, from_status=dossier.status, facts=data)


async def record_refund(
    session: AsyncSession, dossier: Dossier, ctx: ActContext, data: dict[str, Any], *, of_the_fees: bool
) -> None:
    """A refund done by the gateway on the dossier's trail (the dossier is locked by the caller);
    `of_the_fees`: the payment that paid the dossier (not a duplicate) is the one given back."""
    if of_the_fees:
        dossier.payment_status = PaymentStatus.REFUNDED
    dossier.version += 1
    await settle(session, dossier, "REFUND", ctx, from_status=dossier.status, facts=data)
