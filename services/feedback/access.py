"""Who may act on a feedback or question. Who may read one is `services.visibility.inquiries`
(the submitter; focal points of the focal agency, đầu mối tiếp nhận; staff of the competent
agency; the officer who entered it; admins); acting starts from a row read through it.
"""

from __future__ import annotations

import uuid

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from auth.actor import Actor
from auth.roles import StaffRole
from models.feedback import Inquiry
from services import visibility


def inquiry_rows(
    actor: Actor, ident: visibility.Bound[uuid.UUID] | None, me: visibility.AccountKey = None
) -> Select[Inquiry]:
    """The inquiry `ident` when the actor reads it (`me`: `visibility.AccountKey`); no row for a
    missing id."""
    return select(Inquiry).where(Inquiry.id == ident, visibility.inquiries(actor, me))


async def inquiry_for(session: AsyncSession, actor: Actor, ident: uuid.UUID) -> Inquiry | None:
    return await session.scalar(inquiry_rows(actor, ident))


def is_focal(actor: Actor, row: Inquiry) -> bool:
    return actor.is_system_admin or actor.has_role(StaffRole.FEEDBACK_FOCAL_POINT, row.focal_agency_id)


def is_answerer(actor: Actor, row: Inquiry) -> bool:
    return row.competent_agency_id is not None and (
        actor.is_system_admin
        or any(actor.has_role(r, row.competent_agency_id) for r in visibility.ANSWER_ROLES)
    )
