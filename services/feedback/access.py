"""Who may see and act on a feedback or question: the submitter; focal points of the focal agency
(đầu mối tiếp nhận); staff of the competent agency; the officer who entered it; admins.
"""

from __future__ import annotations

import uuid

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor, ActorKind
from auth.roles import StaffRole
from models.feedback import Inquiry

ANSWER_ROLES = (StaffRole.SPECIALIST, StaffRole.LEADER, StaffRole.FEEDBACK_FOCAL_POINT)


def _focal_of(actor: Actor) -> ColumnElement[bool]:
    agencies = actor.agencies_with(StaffRole.FEEDBACK_FOCAL_POINT)
    if agencies is None:
        return Inquiry.focal_agency_id.is_not(None)
    return Inquiry.focal_agency_id.in_(agencies) if agencies else false()


def _answerer_of(actor: Actor) -> ColumnElement[bool]:
    everywhere = False
    agencies: set[uuid.UUID] = set()
    for role in ANSWER_ROLES:
        held = actor.agencies_with(role)
        if held is None:
            everywhere = True
        else:
            agencies |= held
    if everywhere:
        return Inquiry.competent_agency_id.is_not(None)
    return Inquiry.competent_agency_id.in_(agencies) if agencies else false()


def readable(actor: Actor) -> ColumnElement[bool]:
    """The submitter; focal points of the focal agency; staff of the competent agency; the officer
    who entered it; admins."""
    if actor.kind is ActorKind.SYSTEM or actor.is_system_admin:
        return Inquiry.id.is_not(None)
    conditions: list[ColumnElement[bool]] = []
    if actor.id is not None and actor.kind in (ActorKind.CITIZEN, ActorKind.ORGANISATION):
        conditions.append(Inquiry.submitter_account_id == actor.id)
    if actor.kind is ActorKind.STAFF:
        conditions += [_focal_of(actor), _answerer_of(actor)]
        if actor.id is not None:
            conditions.append(Inquiry.entered_by_id == actor.id)  # the officer who entered a letter
    return or_(*conditions) if conditions else false()


async def inquiry_for(session: AsyncSession, actor: Actor, ident: uuid.UUID) -> Inquiry | None:
    return await session.scalar(select(Inquiry).where(Inquiry.id == ident, readable(actor)))


def is_focal(actor: Actor, row: Inquiry) -> bool:
    return actor.is_system_admin or actor.has_role(StaffRole.FEEDBACK_FOCAL_POINT, row.focal_agency_id)


def is_answerer(actor: Actor, row: Inquiry) -> bool:
    return row.competent_agency_id is not None and (
        actor.is_system_admin or any(actor.has_role(r, row.competent_agency_id) for r in ANSWER_ROLES)
    )
