"""What the Open311 GeoReport v2 endpoint (web/endpoints/open311.py) reads: feedback (not
questions) by tracking code or by filter, the catalog's fields as services, and the names those
rows point to."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.catalog import Agency, Field
from models.feedback import Inquiry, InquiryKind, InquiryStatus
from services.feedback import queries

MAX_LIST = 200
CLOSED = (InquiryStatus.PUBLISHED, InquiryStatus.DECLINED)


@dataclass(frozen=True)
class RequestFilter:
    """Either tracking codes, or a reception window with an optional status and services."""

    codes: list[str] | None = None
    start: datetime | None = None
    end: datetime | None = None
    closed: bool | None = None  # None: open and closed
    field_codes: list[str] | None = None  # the services asked for
    general: bool = False  # the general service (feedback without a field) is among them


@dataclass(frozen=True)
class Requests:
    """Feedback rows with their fields' (code, name) and their agencies' names."""

    rows: list[Inquiry]
    fields: dict[uuid.UUID, tuple[str, str]]
    agencies: dict[uuid.UUID, str]


async def fields(session: AsyncSession) -> list[Field]:
    """Every field of the catalog, by code."""
    return list(await session.scalars(select(Field).order_by(Field.code)))


async def field_exists(session: AsyncSession, code: str) -> bool:
    return await session.scalar(select(Field.id).where(Field.code == code)) is not None


async def find(session: AsyncSession, wanted: RequestFilter) -> Requests:
    """At most MAX_LIST feedback rows, newest first."""
    stmt = select(Inquiry).where(Inquiry.kind == InquiryKind.FEEDBACK)
    if wanted.codes is not None:
        stmt = stmt.where(Inquiry.code.in_(wanted.codes))
    else:
        stmt = stmt.where(Inquiry.received_at >= wanted.start, Inquiry.received_at <= wanted.end)
        if wanted.closed is False:
            stmt = stmt.where(Inquiry.status.not_in(CLOSED))
        elif wanted.closed is True:
            stmt = stmt.where(Inquiry.status.in_(CLOSED))
        if wanted.field_codes is not None:
            field_ids = select(Field.id).where(Field.code.in_(wanted.field_codes))
            if wanted.general:
                stmt = stmt.where(Inquiry.field_id.in_(field_ids) | Inquiry.field_id.is_(None))
            else:
                stmt = stmt.where(Inquiry.field_id.in_(field_ids))
    rows = list(await session.scalars(stmt.order_by(Inquiry.received_at.desc()).limit(MAX_LIST)))
    return await _named(session, rows)


async def by_code(session: AsyncSession, code: str) -> Requests | None:
    """One feedback by its tracking code; None for a question or an unknown code."""
    row = await queries.by_code(session, code)
    if row is None or row.kind is not InquiryKind.FEEDBACK:
        return None
    return await _named(session, [row])


async def _named(session: AsyncSession, rows: list[Inquiry]) -> Requests:
    names = {f.id: (f.code, f.name) for f in await session.scalars(select(Field))}
    ids = {a for r in rows for a in (r.competent_agency_id, r.focal_agency_id) if a}
    agencies = {a.id: a.name for a in await session.scalars(select(Agency).where(Agency.id.in_(ids)))}
    return Requests(rows, names, agencies)
